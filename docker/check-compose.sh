#!/usr/bin/env bash
# Validate docker/compose.yaml (+ compose.gpu.yaml) with docker-compose's own schema and interpolation,
# on a machine without Docker: `docker-compose config` needs no daemon.
#
#   bash docker/check-compose.sh            # prints the resolved stack; exit 1 if compose rejects it
#
# It installs docker-compose 1.29.2 (the last Python release, from PyPI) into a throwaway virtualenv
# (.check-compose-venv under $TMPDIR, never the project's): 1.29.2 pins PyYAML<6, whose 5.4.1 sdist
# only builds on Python 3.11 with Cython<3, so that is installed first. 1.29.2 predates the Compose
# spec's top-level `name:`; the check runs on a copy without that line (Compose v2 accepts it).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
venv="${TMPDIR:-/tmp}/.check-compose-venv"
python="${PYTHON:-python3}"
if [ ! -x "$venv/bin/docker-compose" ]; then
  "$python" -m venv "$venv"
  "$venv/bin/pip" install --quiet "cython<3" wheel setuptools
  "$venv/bin/pip" install --quiet --no-build-isolation "pyyaml==5.4.1"
  "$venv/bin/pip" install --quiet "docker-compose==1.29.2"
fi
copy="$(mktemp "$here/.compose-check-XXXXXX.yaml")"
trap 'rm -f "$copy"' EXIT
grep -v '^name: ' "$here/compose.yaml" > "$copy"
env_file="${ENV_FILE:-$here/.env.example}"
"$venv/bin/docker-compose" -f "$copy" --env-file "$env_file" config --quiet
"$venv/bin/docker-compose" -f "$copy" -f "$here/compose.gpu.yaml" --env-file "$env_file" config --quiet
echo "docker-compose 1.29.2: docker/compose.yaml and docker/compose.gpu.yaml are valid with $(basename "$env_file")"
