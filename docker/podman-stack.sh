#!/usr/bin/env bash
# Build the labelops image and run the stack's core services from it, then one
# ingest -> train -> generate through Prefect workers in containers, with podman (or docker).
#
# For a machine that reaches no image registry: the base image is made locally with debootstrap
# (Debian bookworm, its Python 3.11), torch comes from a local wheel folder when one is given.
# Where registries are reachable, `docker compose -f docker/compose.yaml up` is the real stack;
# this script runs its core in containers of the labelops image alone:
#
#   prefect server  |  MLflow server (SQLite + artifacts on the shared volume)  |  the demo shop
#   worker (pool labelops-process: ingest, generate, feedback)
#   train-worker (pool labelops-process-gpu: train; LABELOPS_WORK_DIR on its own volume)
#
# every container on the host's network, every server on 127.0.0.1, and checks that the gate ran
# and the labels were written. PostgreSQL and MinIO are left out (their images come from
# registries); the data root is a folder shared by the workers, as on one machine.
#
#   sudo docker/podman-stack.sh                 # build (cached) and run; prints what it checked
#
# Environment:
#   ENGINE              podman (default) or docker
#   ENGINE_FLAGS        global flags, e.g. "--runtime /usr/sbin/runc" where crun cannot run
#   RUN_FLAGS           flags for every container, e.g. "--ulimit nofile=4096:4096 --ulimit nproc=4096:4096"
#   BASE_IMAGE          a Python 3.11 image to build on (default: made here with debootstrap)
#   WHEELS              a folder of wheels (e.g. torch-2.13.0+cpu) the build may take from
#   PIP_CA              a CA bundle for pip inside the build (behind a TLS-re-signing proxy)
#   WORK                scratch folder (default /tmp/labelops-podman-stack)
#   KEEP=1              leave the containers running at the end (inspect the UIs on 127.0.0.1)
set -euo pipefail
cd "$(dirname "$0")/.."

ENGINE=${ENGINE:-podman}
read -r -a ENGINE_ARGS <<< "${ENGINE_FLAGS:-}"
read -r -a RUN_ARGS <<< "${RUN_FLAGS:-}"
engine() { "$ENGINE" "${ENGINE_ARGS[@]}" "$@"; }
WORK=${WORK:-/tmp/labelops-podman-stack}
IMAGE=${IMAGE:-localhost/labelops:cpu}
NAME=labelops-stack
PREFECT_PORT=${PREFECT_PORT:-14200}
MLFLOW_PORT=${MLFLOW_PORT:-15000}
SHOP_PORT=${SHOP_PORT:-18765}
UID_IN_IMAGE=10001
mkdir -p "$WORK"
started=$(date +%s)
say() { printf '[%4ds] %s\n' "$(( $(date +%s) - started ))" "$*"; }

# ---- the base image ---------------------------------------------------------------------------
if [ -z "${BASE_IMAGE:-}" ]; then
  BASE_IMAGE=localhost/labelops-base:bookworm
  if ! engine image inspect "$BASE_IMAGE" > /dev/null 2>&1; then
    say "making the base image $BASE_IMAGE with debootstrap (Debian bookworm, python3, python3-venv)"
    rm -rf "$WORK/rootfs"
    debootstrap --variant=minbase --include=python3,python3-venv,ca-certificates bookworm "$WORK/rootfs" \
      http://deb.debian.org/debian > "$WORK/debootstrap.log"
    tar -C "$WORK/rootfs" -c . | engine import - "$BASE_IMAGE" > /dev/null
    rm -rf "$WORK/rootfs"
  fi
fi

# ---- the labelops image -----------------------------------------------------------------------
build=(build --network host -f docker/Dockerfile --build-arg "BASE_IMAGE=$BASE_IMAGE"
       --build-arg "GIT_COMMIT=$(git rev-parse HEAD 2>/dev/null || echo unknown)" -t "$IMAGE")
if [ "$ENGINE" = podman ]; then
  build+=(--ignorefile docker/Dockerfile.dockerignore "${RUN_ARGS[@]}")
fi
if [ -n "${WHEELS:-}" ]; then
  build+=(--volume "$WHEELS:/opt/wheels:ro" --build-arg PIP_FIND_LINKS=/opt/wheels
          --build-arg TORCH_INDEX_URL=https://pypi.org/simple)
fi
if [ -n "${PIP_CA:-}" ]; then
  build+=(--volume "$PIP_CA:/etc/ssl/host-ca.crt:ro" --build-arg PIP_CERT=/etc/ssl/host-ca.crt)
fi
say "building $IMAGE"
engine "${build[@]}" . > "$WORK/build.log" 2>&1 || { tail -30 "$WORK/build.log"; exit 1; }
say "built $IMAGE: $(engine image inspect "$IMAGE" --format '{{.Size}}') bytes"

# ---- the core services ------------------------------------------------------------------------
cleanup() {
  [ "${KEEP:-0}" = 1 ] && { say "containers left running (KEEP=1): $ENGINE ps"; return; }
  engine rm -f "$NAME-prefect" "$NAME-mlflow" "$NAME-shop" "$NAME-worker" "$NAME-train-worker" > /dev/null 2>&1 || true
}
trap cleanup EXIT
cleanup
rm -rf "$WORK/data" "$WORK/work" "$WORK/shop"
mkdir -p "$WORK/data" "$WORK/work" "$WORK/shop"
chown "$UID_IN_IMAGE:$UID_IN_IMAGE" "$WORK/data" "$WORK/work" "$WORK/shop"
chmod 0700 "$WORK/work"
cat > "$WORK/gate.toml" <<'EOF'
version = 2
[models.product-text-generator]
primary = { metric = "chrf", higher_is_better = true }
floors.chrf = { min = 0.0 }
[models.product-image-gan]
primary = { metric = "conditional_accuracy" }
EOF
chmod 0644 "$WORK/gate.toml"

run() {  # run NAME [FLAG...] -- COMMAND...: a detached container of the image on the host's network
  local name=$1 flags=(); shift
  while [ "$1" != -- ]; do flags+=("$1"); shift; done; shift
  engine run -d --name "$NAME-$name" --network host "${RUN_ARGS[@]}" \
    -e PREFECT_API_URL="http://127.0.0.1:$PREFECT_PORT/api" -e NO_PROXY=127.0.0.1,localhost \
    -e LABELOPS_DATA=/data/root -e LABELOPS_MLFLOW_URI="http://127.0.0.1:$MLFLOW_PORT" \
    -e LABELOPS_GATE_POLICY=/etc/labelops/gate.toml -e PREFECT_WORKER_QUERY_SECONDS=2 \
    -v "$WORK/data:/data" -v "$WORK/gate.toml:/etc/labelops/gate.toml:ro" "${flags[@]}" "$IMAGE" "$@" > /dev/null
}
wait_http() {  # wait_http URL WHAT
  for _ in $(seq 1 120); do
    if python3 -c "import urllib.request,sys; urllib.request.urlopen(sys.argv[1], timeout=2)" "$1" 2>/dev/null; then
      return 0
    fi
    sleep 1
  done
  say "$2 did not answer at $1"; engine logs "$NAME-$2" 2>&1 | tail -20; exit 1
}
in_worker() { engine exec -i "$NAME-worker" "$@"; }

say "starting the Prefect server, the MLflow server and the demo shop"
run prefect -- prefect server start --host 127.0.0.1 --port "$PREFECT_PORT"
run mlflow -- mlflow server --host 127.0.0.1 --port "$MLFLOW_PORT" --workers 1 \
  --backend-store-uri sqlite:////data/mlflow.db --artifacts-destination /data/mlartifacts
run shop -v "$WORK/shop:/shop" -- sh -c "labelops shop demo /shop/site -n 60 && labelops shop serve /shop/site --port $SHOP_PORT"
wait_http "http://127.0.0.1:$PREFECT_PORT/api/health" prefect
wait_http "http://127.0.0.1:$MLFLOW_PORT/health" mlflow
wait_http "http://127.0.0.1:$SHOP_PORT/robots.txt" shop

say "starting the workers: labelops-process (CPU roles) and labelops-process-gpu (training)"
run worker -- prefect worker start --pool labelops-process --type process
run train-worker -v "$WORK/work:/var/lib/labelops/work" -e LABELOPS_WORK_DIR=/var/lib/labelops/work -- \
  prefect worker start --pool labelops-process-gpu --type process

say "registering the deployments from inside the worker (labelops deploy: each role on its pool)"
in_worker labelops deploy > "$WORK/deploy.log" 2>&1 || { tail -30 "$WORK/deploy.log"; exit 1; }

watch() {  # watch DEPLOYMENT PARAM...: run it and wait for its end; fail unless it completed
  local deployment=$1; shift
  local params=()
  for p in "$@"; do params+=(--param "$p"); done
  say "running $deployment"
  in_worker prefect deployment run "$deployment" "${params[@]}" --watch --watch-interval 3 \
    > "$WORK/$(basename "$deployment").log" 2>&1 || { tail -40 "$WORK/$(basename "$deployment").log"; exit 1; }
  grep -q "Completed" "$WORK/$(basename "$deployment").log" || { tail -40 "$WORK/$(basename "$deployment").log"; exit 1; }
  say "$deployment: completed"
}
watch ingest/labelops-ingest "start_urls=[\"http://127.0.0.1:$SHOP_PORT/\"]" \
  "sitemap_urls=[\"http://127.0.0.1:$SHOP_PORT/sitemap.xml\"]"
watch train/labelops-train 'models=["text"]' max_steps=40 \
  'text_config={"vocab_size": 800, "n_embd": 64, "n_layer": 2, "n_head": 2, "n_positions": 384, "batch_size": 8, "max_length": 256, "warmup_steps": 2, "val_every_steps": 50, "log_every_steps": 5, "samples": 2, "checkpoint_every_steps": 1000}'

say "waiting for the generate run the training's completion triggers (the deployment's automation)"
verdict=""
for _ in $(seq 1 200); do
  verdict=$(in_worker python - <<'EOF' 2>/dev/null || true
import asyncio
from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import DeploymentFilter, DeploymentFilterName

async def main():
    async with get_client() as client:
        runs = await client.read_flow_runs(deployment_filter=DeploymentFilter(name=DeploymentFilterName(any_=["labelops-generate"])))
        print(",".join(r.state.type.value for r in runs if r.state))

asyncio.run(main())
EOF
)
  case "$verdict" in *COMPLETED*|*FAILED*|*CRASHED*) break ;; esac
  sleep 3
done
[ "$verdict" = COMPLETED ] || { say "generate: ${verdict:-never started}"; engine logs "$NAME-worker" 2>&1 | tail -40; exit 1; }
say "generate/labelops-generate: completed (started by the training's trigger)"

say "checking: where each flow ran, the champion, the labels"
in_worker python - <<'EOF'
from pathlib import Path

from mlflow import MlflowClient
from mlflow.exceptions import MlflowException

from labelops.settings import get_settings

client = MlflowClient(get_settings().tracking_uri)
versions = client.search_model_versions("name='product-text-generator'")
try:
    champion = client.get_model_version_by_alias("product-text-generator", "champion").version
except MlflowException:
    champion = "none (a baseline writes)"
labels = sorted(Path("/data/root/labels").glob("*/labels.parquet"))
trained = sorted(Path("/data/root/training").glob("*/*/trained.json"))
print(f"text model versions: {len(versions)}, champion: {champion}")
print(f"training work folders with a trained model (written by the train worker): {len(trained)}")
print(f"labels runs: {len(labels)}; {labels[-1] if labels else '-'}")
assert versions and labels and trained, "no model registered, no training folder or no labels written"
EOF
in_worker labelops status 2>&1 | tail -20 || true
say "done: image built, core services up, ingest -> train -> generate ran through the workers"
