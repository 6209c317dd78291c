"""docker/: the compose stack and the images, checked without a container engine.

No Docker runs on the machines that run these tests, so nothing here builds an image or starts a
container. What can be checked is: the compose file is consistent with itself and with
``docker/.env.example``, its published ports stay on 127.0.0.1, images are pinned, the commands the
containers run exist in this environment (with the options the stack passes), and the Dockerfiles
are multi-stage, non-root, pinned, and install the torch that pyproject.toml pins.
"""

from __future__ import annotations

import importlib
import os
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
import yaml

PROJECT = Path(__file__).resolve().parent.parent
DOCKER = PROJECT / "docker"
COMPOSE = DOCKER / "compose.yaml"

# ${VAR}, ${VAR:-default}, ${VAR-default}, ${VAR:?error}, ${VAR?error}, $VAR; "$$" is a literal "$".
_VARIABLE = re.compile(r"\$(?:\{(?P<braced>[A-Za-z_][A-Za-z0-9_]*)(?P<op>:?[-?+])?(?P<arg>[^}]*)\}"
                       r"|(?P<plain>[A-Za-z_][A-Za-z0-9_]*)|(?P<dollar>\$))")


def read_env_file(path: Path) -> dict[str, str]:
    values = {}
    for line in path.read_text().splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            name, sep, value = line.partition("=")
            assert sep, f"{path.name}: not NAME=value: {line!r}"
            values[name.strip()] = value.strip()
    return values


def interpolate(text: str, env: dict[str, str]) -> str:
    """Compose's variable substitution (the subset the spec defines), failing like compose does."""
    def substitute(match: re.Match) -> str:
        if match["dollar"]:
            return "$"
        name = match["braced"] or match["plain"]
        op, arg = match["op"] or "", match["arg"] or ""
        value = env.get(name)
        if op in (":-", "-"):
            return value if (value if op == ":-" else value is not None) else arg
        if op in (":?", "?"):
            if value is None or (op == ":?" and not value):
                raise KeyError(f"{name}: {arg}")
            return value
        if op:
            raise ValueError(f"unsupported ${{{name}{op}...}}")
        return value or ""
    return _VARIABLE.sub(substitute, text)


def variables_used(text: str) -> set[str]:
    return {m["braced"] or m["plain"] for m in _VARIABLE.finditer(text) if not m["dollar"]}


@pytest.fixture(scope="module")
def env_example() -> dict[str, str]:
    return read_env_file(DOCKER / ".env.example")


@pytest.fixture(scope="module")
def compose(env_example: dict[str, str]) -> dict:
    """docker/compose.yaml as ``docker compose --env-file docker/.env.example config`` would see it."""
    return yaml.safe_load(interpolate(COMPOSE.read_text(), env_example))


# -- compose ----------------------------------------------------------------------------------------
def test_every_variable_of_the_compose_files_is_in_env_example_and_none_is_stale(env_example):
    used = variables_used(COMPOSE.read_text()) | variables_used((DOCKER / "compose.gpu.yaml").read_text())
    assert used - env_example.keys() == set(), "variables missing from docker/.env.example"
    assert env_example.keys() - used == set(), "variables in docker/.env.example that no compose file uses"
    # passwords are placeholders, never real-looking values
    for name, value in env_example.items():
        if any(word in name for word in ("PASSWORD", "SECRET")):
            assert value.startswith("change-me"), name


def test_required_secrets_fail_with_a_clear_message_when_unset(env_example):
    env = {k: v for k, v in env_example.items() if k != "POSTGRES_PASSWORD"}
    with pytest.raises(KeyError, match="POSTGRES_PASSWORD: set POSTGRES_PASSWORD in docker/.env"):
        interpolate(COMPOSE.read_text(), env)


def test_the_stack_has_the_services_of_the_design(compose):
    assert set(compose["services"]) == {"postgres", "minio", "minio-init", "prefect-server", "mlflow", "worker",
                                        "train-worker"}


def test_every_service_is_health_checked_or_waits_on_conditions(compose):
    services = compose["services"]
    for name, service in services.items():
        depends = service.get("depends_on", {})
        assert isinstance(depends, dict), f"{name}: depends_on without conditions"
        assert "healthcheck" in service or depends, f"{name}: neither a healthcheck nor depends_on"
        for other, spec in depends.items():
            condition = spec.get("condition")
            assert condition in ("service_healthy", "service_completed_successfully"), (name, other, condition)
            if condition == "service_healthy":
                assert "healthcheck" in services[other], f"{name} waits for {other}, which has no healthcheck"
            else:
                assert services[other].get("restart") == "no", f"{other} is waited on to finish but restarts"
    assert "healthcheck" not in services["minio-init"]  # one shot: its success is what others wait for


def test_published_ports_are_bound_to_localhost_only(compose):
    published = 0
    for name, service in compose["services"].items():
        for port in service.get("ports", []):
            published += 1
            if isinstance(port, dict):
                assert port.get("host_ip") == "127.0.0.1", (name, port)
            else:
                assert str(port).startswith("127.0.0.1:"), (name, port)
        assert "network_mode" not in service, f"{name}: host networking would bypass the binding"
    assert published >= 3  # the Prefect UI, the MLflow UI, MinIO
    assert "ports" not in compose["services"]["postgres"]


def test_images_are_pinned(compose):
    for name, service in compose["services"].items():
        image = service["image"]
        repository, _, tag = image.rpartition(":")
        assert repository and tag and tag != "latest", f"{name}: {image} is not pinned"
        if "build" not in service:  # our own images are built here; others must name a version
            assert re.search(r"\d", tag), f"{name}: {image} names no version"


def test_files_the_stack_mounts_and_builds_exist(compose):
    for name, service in compose["services"].items():
        if "build" in service:
            context = (DOCKER / service["build"]["context"]).resolve()
            assert (context / service["build"]["dockerfile"]).is_file(), name
        for volume in service.get("volumes", []):
            source = volume.split(":", 1)[0]
            if source.startswith("."):
                assert (DOCKER / source).exists(), (name, volume)
            else:
                assert source in compose["volumes"], (name, volume)


def test_worker_runs_labelops_on_the_s3_data_root_and_the_stacks_servers(compose, env_example):
    services = compose["services"]
    worker = services["worker"]
    env = worker["environment"]
    assert worker["command"][:3] == ["prefect", "worker", "start"]
    assert worker["command"][worker["command"].index("--pool") + 1] == "labelops-process"
    assert worker["command"][worker["command"].index("--type") + 1] == "process"
    assert env["LABELOPS_DATA"] == "s3://labelops/data"
    assert env["LABELOPS_MLFLOW_URI"] == "http://mlflow:5000"
    assert env["PREFECT_API_URL"] == "http://prefect-server:4200/api"
    # s3fs finds MinIO through AWS_ENDPOINT_URL (tests/test_s3_storage.py runs the real code that way)
    assert env["AWS_ENDPOINT_URL"] == "http://minio:9000"
    assert env["AWS_ACCESS_KEY_ID"] == env_example["LABELOPS_S3_ACCESS_KEY"]
    assert env["AWS_SECRET_ACCESS_KEY"] == env_example["LABELOPS_S3_SECRET_KEY"]
    assert worker["image"] == "labelops:cpu" and worker["build"]["dockerfile"] == "docker/Dockerfile"
    # the buckets the stack uses are the ones minio-init creates
    init = services["minio-init"]["environment"]
    assert env["LABELOPS_DATA"].startswith(f"s3://{init['LABELOPS_BUCKET']}/")
    mlflow = services["mlflow"]["command"]
    assert f"--artifacts-destination=s3://{init['MLFLOW_BUCKET']}/artifacts" in mlflow
    assert services["mlflow"]["environment"]["MLFLOW_S3_ENDPOINT_URL"] == "http://minio:9000"
    backend = next(arg for arg in mlflow if arg.startswith("--backend-store-uri="))
    assert backend.startswith("--backend-store-uri=postgresql+psycopg2://") and backend.endswith("@postgres:5432/mlflow")
    prefect_db = services["prefect-server"]["environment"]["PREFECT_API_DATABASE_CONNECTION_URL"]
    assert prefect_db.startswith("postgresql+asyncpg://") and prefect_db.endswith("@postgres:5432/prefect")


def test_gpu_override_only_adds_a_device_to_known_services(compose):
    override = yaml.safe_load((DOCKER / "compose.gpu.yaml").read_text())
    assert set(override["services"]) <= set(compose["services"])
    assert set(override["services"]) == {"train-worker"}  # only training gets GPUs
    devices = override["services"]["train-worker"]["deploy"]["resources"]["reservations"]["devices"]
    assert devices[0]["capabilities"] == ["gpu"]


def test_each_role_has_a_worker_on_its_yamls_pool_and_training_keeps_its_work_on_a_volume(compose):
    """The compose workers serve the pools deployments/prefect.yaml gives each role, and the training
    worker's LABELOPS_WORK_DIR is a named volume (a restarted container resumes from its checkpoint)."""
    from app.deployments import render_prefect_yaml
    from labelops.settings import Settings

    pools = {entry["work_pool"]["name"]
             for entry in render_prefect_yaml(settings=Settings(data="s3://labelops/data", mlflow_uri="http://mlflow:5000"),
                                                     keep=False)["deployments"]}
    served = {service["command"][service["command"].index("--pool") + 1]
              for service in compose["services"].values() if "--pool" in service.get("command", [])}
    assert pools == served == {"labelops-process", "labelops-process-gpu"}
    train = compose["services"]["train-worker"]
    work = train["environment"]["LABELOPS_WORK_DIR"]
    assert any(v.split(":")[0] in compose["volumes"] and v.split(":")[1] == work for v in train["volumes"])


def _help(home: Path, *args: str) -> str:
    """``python -m <args> --help`` in a fresh process (its Prefect home in ``home``, not the user's)."""
    env = {**os.environ, "PREFECT_HOME": str(home), "MLFLOW_DISABLE_TELEMETRY": "true"}
    result = subprocess.run([sys.executable, "-m", *args, "--help"], capture_output=True, text=True, timeout=120,
                            cwd=PROJECT, env=env)
    assert result.returncode == 0, result.stderr[-2000:]
    return result.stdout


def test_the_worker_command_exists_with_the_options_the_stack_passes(compose, tmp_path: Path):
    command = compose["services"]["worker"]["command"]
    assert command[0] == "prefect"
    text = _help(tmp_path, "prefect", *command[1:3])
    for option in (arg for arg in command if arg.startswith("--")):
        assert option in text, f"prefect worker start has no {option}"


def test_the_mlflow_command_exists_with_the_options_the_stack_passes(compose, tmp_path: Path):
    command = compose["services"]["mlflow"]["command"]
    assert command[:4] == ["python", "-m", "mlflow", "server"]
    text = _help(tmp_path, "mlflow", "server")
    for option in (arg.split("=", 1)[0] for arg in command if arg.startswith("--")):
        assert option in text, f"mlflow server has no {option}"


# -- what the images run ----------------------------------------------------------------------------
ENTRY_MODULES = ["app.cli", "prefect.workers.process", "prefect.cli"] + sorted(
    f"flows.{path.stem}" for path in (PROJECT / "flows").glob("*.py") if path.stem != "__init__")


@pytest.mark.parametrize("module", ENTRY_MODULES)
def test_entry_points_of_the_images_import(module: str):
    importlib.import_module(module)


def test_the_console_script_the_image_runs_is_app_cli():
    scripts = tomllib.loads((PROJECT / "pyproject.toml").read_text())["project"]["scripts"]
    assert scripts["labelops"] == "app.cli:app"
    from typer.testing import CliRunner

    from app.cli import app

    result = CliRunner().invoke(app, ["--help"])
    assert result.exit_code == 0 and "ingest" in result.output


# -- Dockerfiles ------------------------------------------------------------------------------------
def instructions(dockerfile: Path) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs, continuation lines joined, comments dropped."""
    logical, pending = [], ""
    for line in dockerfile.read_text().splitlines():
        if not pending and (not line.strip() or line.lstrip().startswith("#")):
            continue
        if pending and line.lstrip().startswith("#"):
            continue
        if line.rstrip().endswith("\\"):
            pending += line.rstrip()[:-1] + " "
            continue
        logical.append(pending + line)
        pending = ""
    return [(text.split(None, 1)[0].upper(), text.split(None, 1)[1].strip()) for text in logical]


def stages(dockerfile: Path) -> list[dict]:
    """Per stage: its base image (ARG defaults substituted), name and instructions."""
    steps = instructions(dockerfile)
    defaults = {}
    for keyword, args in steps:
        if keyword == "FROM":
            break
        if keyword == "ARG" and "=" in args:
            name, value = args.split("=", 1)
            defaults[name] = value
    result = []
    for keyword, args in steps:
        if keyword == "FROM":
            parts = args.split()
            base = re.sub(r"\$\{(\w+)\}", lambda m: defaults[m[1]], parts[0])
            result.append({"base": base, "name": parts[2] if len(parts) > 2 else None, "steps": []})
        elif result:
            result[-1]["steps"].append((keyword, args))
    return result


def assert_pinned(image: str) -> None:
    repository, _, tag = image.rpartition(":")
    assert repository and re.search(r"\d", tag) and tag != "latest", f"base image {image} is not pinned to a version"


def _arg_default(stage: dict, name: str) -> str:
    return next(args.split("=", 1)[1] for keyword, args in stage["steps"] if keyword == "ARG" and args.startswith(name + "="))


@pytest.mark.parametrize("name", ["Dockerfile", "mlflow.Dockerfile"])
def test_dockerfiles_are_multi_stage_pinned_and_end_as_a_non_root_user(name: str):
    found = stages(DOCKER / name)
    assert len(found) >= 2, "not multi-stage"
    names = {stage["name"] for stage in found}
    for stage in found:
        if stage["base"] not in names:  # FROM <earlier stage> needs no tag
            assert_pinned(stage["base"])
    users = [args for keyword, args in found[-1]["steps"] if keyword == "USER"]
    assert users, "the final stage sets no USER (it would run as root)"
    assert users[-1].split(":")[0] not in ("root", "0"), users[-1]
    assert found[-1]["steps"][-1][0] == "CMD" or any(k in ("CMD", "ENTRYPOINT") for k, _ in found[-1]["steps"])


def test_the_labelops_image_installs_the_pinned_torch_from_the_cpu_index():
    dependencies = tomllib.loads((PROJECT / "pyproject.toml").read_text())["project"]["dependencies"]
    assert not [d for d in dependencies if d.replace(" ", "").startswith("torch==")]  # a range; the pin is below
    constraints = [line.split("#")[0].strip() for line in (PROJECT / "constraints.txt").read_text().splitlines()]
    pin = next(line for line in constraints if line.replace(" ", "").startswith("torch=="))
    assert pin == "torch==2.13.0"
    build = next(stage for stage in stages(DOCKER / "Dockerfile") if stage["name"] == "build")
    assert _arg_default(build, "TORCH_VERSION") == pin.split("==")[1]
    assert _arg_default(build, "TORCH_INDEX_URL") == "https://download.pytorch.org/whl/cpu"
    runs = " ".join(args for keyword, args in build["steps"] if keyword == "RUN")
    assert '"torch==${TORCH_VERSION}" --index-url "${TORCH_INDEX_URL}"' in runs
    assert "-c constraints.txt" in runs  # the dependencies resolve with the same pins as `make install`
    final = stages(DOCKER / "Dockerfile")[-1]
    assert final["steps"][-1] == ("CMD", '["labelops", "--help"]')


def test_the_cuda_variant_pairs_a_cuda_12_base_with_the_matching_torch_wheels(env_example):
    text = (DOCKER / ".env.example").read_text() + (DOCKER / "Dockerfile").read_text()
    bases = set(re.findall(r"nvidia/cuda:(12\.\d+)\.\d+-[\w-]+", text))
    indexes = set(re.findall(r"download\.pytorch\.org/whl/cu(12\d)", text))
    assert bases and indexes
    assert {b.replace(".", "") for b in bases} == indexes, (bases, indexes)
    assert_pinned(env_example["LABELOPS_BASE_IMAGE"])
    assert env_example["LABELOPS_BASE_IMAGE"] == stages(DOCKER / "Dockerfile")[0]["base"]


def test_the_build_context_allowlist_names_what_the_image_needs():
    allowed = {line.strip().lstrip("!").rstrip("/") for line in (DOCKER / "Dockerfile.dockerignore").read_text().splitlines()
               if line.strip().startswith("!")}
    for needed in ("pyproject.toml", "constraints.txt", "LICENSE", "README.md", "scrapy.cfg", "labelops", "flows", "tasks",
                   "spiders", "expectations"):
        assert needed in allowed and (PROJECT / needed).exists(), needed
    # setuptools' package list and the allowlist agree: every installed package is in the image
    packages = tomllib.loads((PROJECT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"]["find"]["include"]
    assert {p.rstrip("*") for p in packages} <= allowed


def test_the_podman_stack_script_parses_and_serves_the_yamls_pools():
    """docker/podman-stack.sh (the image built and the core services run here with podman) is valid
    bash and starts a worker on each pool the yaml gives a role."""
    script = DOCKER / "podman-stack.sh"
    assert subprocess.run(["bash", "-n", str(script)], capture_output=True).returncode == 0
    from app.deployments import render_prefect_yaml
    from labelops.settings import Settings

    pools = {entry["work_pool"]["name"] for entry in render_prefect_yaml(
        settings=Settings(data="s3://labelops/data", mlflow_uri="http://mlflow:5000"), keep=False)["deployments"]}
    assert set(re.findall(r"prefect worker start --pool (\S+)", script.read_text())) == pools
