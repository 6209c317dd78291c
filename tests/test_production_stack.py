"""The production stack for real: PostgreSQL, a Prefect server, an MLflow server, the deployments and a worker.

`labelops deploy` registers the deployments of deployments/prefect.yaml with the Prefect server, a
process worker runs them: ingest of the demo shop → training (as a deployment) → the generate
deployment, chained by the generate deployment's trigger → the gate promotes the text model on the MLflow server.
Everything runs on 127.0.0.1 and is stopped at the end, also on failure.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from app.deployments import PROJECT_ROOT
from labelops.registry import TEXT_MODEL
from labelops.snapshot import latest_snapshot_id
from labelops.storage import DataRoot
from tests.helpers.servers import (ServerUnavailable, create_database, enter_together, free_port, mlflow_server,
                                   postgres_bin, postgres_server, prefect_server, start, stop)
from tests.helpers.training import SMALL

pytestmark = pytest.mark.server

FINAL = {"COMPLETED", "FAILED", "CRASHED", "CANCELLED"}
LENIENT_GATE = f"""version = 2
[models.{TEXT_MODEL}]
primary = {{ metric = "chrf", higher_is_better = true }}
floors.chrf = {{ min = 0.0 }}
[models.product-image-gan]
primary = {{ metric = "conditional_accuracy" }}
"""


def _tail(path: Path, chars: int = 4000) -> str:
    return path.read_text(errors="replace")[-chars:] if path.exists() else "<no log>"


def wait_for_run(client, flow_run_id, deadline: float, worker_log: Path):  # noqa: ANN001, ANN201
    while time.monotonic() < deadline:
        run = client.read_flow_run(flow_run_id)
        if run.state and run.state.type.value in FINAL:
            return run
        time.sleep(1)
    raise AssertionError(f"flow run {flow_run_id} not finished in time; worker log:\n{_tail(worker_log)}")


def runs_of(client, deployment_name: str) -> list:  # noqa: ANN001
    from prefect.client.schemas.filters import DeploymentFilter, DeploymentFilterId

    deployment = client.read_deployment_by_name(deployment_name)
    return client.read_flow_runs(deployment_filter=DeploymentFilter(id=DeploymentFilterId(any_=[deployment.id])))


@pytest.mark.timeout(900)
def test_a_scheduled_style_retrain_ends_in_a_gated_promotion_on_real_servers(tmp_path):
    try:
        postgres_bin()
    except ServerUnavailable as error:
        pytest.skip(str(error))
    from mlflow import MlflowClient
    from prefect.client.orchestration import get_client
    from prefect.deployments import run_deployment
    from prefect.settings import PREFECT_API_URL, temporary_settings

    from labelops.shop import generate_demo_shop, serve_folder

    started = time.monotonic()
    deadline = started + 600
    data = tmp_path / "data"
    gate = tmp_path / "gate.toml"
    gate.write_text(LENIENT_GATE)
    shop = tmp_path / "shop"
    generate_demo_shop(shop, 60, 0)
    worker_log = tmp_path / "worker.log"

    with contextlib.ExitStack() as stack:
        dsn = stack.enter_context(postgres_server(tmp_path / "pg"))
        prefect_db, mlflow_db = create_database(dsn, "prefect", "asyncpg"), create_database(dsn, "mlflow", "psycopg2")
        api_url, mlflow_url = enter_together(stack, prefect_server(tmp_path / "prefect-server", database_url=prefect_db),
                                             mlflow_server(mlflow_db, tmp_path / "mlartifacts"))
        env = {**os.environ, "PREFECT_API_URL": api_url, "PREFECT_HOME": str(tmp_path / "prefect-client"),
               "LABELOPS_MLFLOW_URI": mlflow_url, "LABELOPS_DATA": str(data), "LABELOPS_GATE_POLICY": str(gate),
               "PREFECT_WORKER_QUERY_SECONDS": "1", "PREFECT_LOGGING_LEVEL": "INFO",
               "NO_PROXY": "127.0.0.1,localhost", "no_proxy": "127.0.0.1,localhost",
               "PYTHONPATH": os.pathsep.join(filter(None, [str(PROJECT_ROOT), os.environ.get("PYTHONPATH")]))}
        for name in ("LABELOPS_SCHEDULE_TIMEZONE", "LABELOPS_INGEST_CRON", "LABELOPS_TRAIN_CRON",
                     "LABELOPS_FEEDBACK_CRON"):
            env.pop(name, None)

        deployed = subprocess.run([sys.executable, "-m", "app.cli", "deploy", "--pool", "process"], env=env,
                                  cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=240)
        assert deployed.returncode == 0, deployed.stdout[-3000:] + deployed.stderr[-3000:]
        worker = start([sys.executable, "-m", "prefect", "worker", "start", "--pool", "labelops-process",
                        "--type", "process"], worker_log, env=env, cwd=PROJECT_ROOT)
        stack.callback(stop, worker)

        with temporary_settings(updates={PREFECT_API_URL: api_url}), get_client(sync_client=True) as client:
            names = {d.name for d in client.read_deployments()}
            assert {"labelops-ingest", "labelops-train", "labelops-generate"} <= names
            for name, strategy in (("train/labelops-train", "CANCEL_NEW"), ("generate/labelops-generate", "ENQUEUE")):
                deployment = client.read_deployment_by_name(name)  # the yaml's concurrency reached the server
                assert deployment.global_concurrency_limit.limit == 1
                assert deployment.concurrency_options.collision_strategy.value == strategy
            assert client.read_deployment_by_name("train/labelops-train").schedules

            with serve_folder(shop, port=free_port()) as base_url:
                ingest = run_deployment("ingest/labelops-ingest", timeout=0, parameters={
                    "start_urls": [f"{base_url}/"], "sitemap_urls": [f"{base_url}/sitemap.xml"]})
                ingest = wait_for_run(client, ingest.id, deadline, worker_log)
            assert ingest.state.type.value == "COMPLETED", ingest.state.message
            snapshot = latest_snapshot_id(DataRoot(str(data)))
            assert snapshot

            train = run_deployment("train/labelops-train", timeout=0, parameters={
                "models": ["text"], "max_steps": 40, "text_config": SMALL})
            train = wait_for_run(client, train.id, deadline, worker_log)
            assert train.state.type.value == "COMPLETED", f"{train.state.message}\n{_tail(worker_log)}"

            # nobody starts generate: the generate deployment's trigger (an automation) did
            generate = []
            while not generate and time.monotonic() < deadline:
                generate = runs_of(client, "generate/labelops-generate")
                time.sleep(1)
            assert len(generate) == 1, f"the training did not chain the gate:\n{_tail(worker_log)}"
            assert generate[0].parameters["snapshot_id"] == snapshot  # the training's snapshot (its run's label)
            generate = wait_for_run(client, generate[0].id, deadline, worker_log)
            assert generate.state.type.value == "COMPLETED", f"{generate.state.message}\n{_tail(worker_log)}"

        # the gate moved the champion on the MLflow server; the model's files went to the server's artifact store
        registry = MlflowClient(tracking_uri=mlflow_url, registry_uri=mlflow_url)
        champion = registry.get_model_version_by_alias(TEXT_MODEL, "champion")
        assert champion.tags["snapshot_id"] == snapshot
        assert any((tmp_path / "mlartifacts").rglob("MLmodel"))
        assert not (data / "mlartifacts").exists()
        assert list(data.glob("labels/*/labels.parquet"))

        # both servers kept their state in PostgreSQL
        import psycopg2

        with contextlib.closing(psycopg2.connect(prefect_db.replace("+asyncpg", ""))) as connection, \
                connection.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM flow_run WHERE state_type = 'COMPLETED'")
            assert cursor.fetchone()[0] >= 3
        with contextlib.closing(psycopg2.connect(mlflow_db.replace("+psycopg2", ""))) as connection, \
                connection.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM registered_model_aliases WHERE alias = 'champion'")
            assert cursor.fetchone()[0] == 1
    print(f"production stack test: {time.monotonic() - started:.0f} s")
