"""The feedback flow against a real Prefect server: it triggers the training deployment, once."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from app.deployments import PROJECT_ROOT
from labelops.feedback import write_inbox
from labelops.storage import DataRoot
from tests.helpers.feedback import write_labels
from tests.helpers.servers import prefect_server

pytestmark = pytest.mark.server

POLICY = """version = 1
[edits]
min_since_training = 3
[trigger]
cooldown_hours = 24
models = ["text"]
"""


def run_cli(env: dict, *args: str) -> str:
    done = subprocess.run([sys.executable, "-m", "app.cli", *args], env=env, cwd=PROJECT_ROOT,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return done.stdout


def drop_edits(root: DataRoot, name: str, labels, start: int) -> None:
    write_inbox(root, [{"feedback_id": f"{name}-{start + i}", "label_id": label.label_id, "verdict": "edit",
                        "edited_description": f"A reviewer's description number {start + i}.", "reviewer": "ana"}
                       for i, label in enumerate(labels)], name)


@pytest.mark.timeout(600)
def test_feedback_triggers_the_training_deployment_and_the_run_is_in_the_api(tmp_path):
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import DeploymentFilter, DeploymentFilterId, FlowFilter, FlowFilterName
    from prefect.settings import PREFECT_API_URL, temporary_settings

    data = tmp_path / "data"
    root = DataRoot(str(data))
    labels = write_labels(root, "run-a", 8)
    (tmp_path / "retrain.toml").write_text(POLICY)
    with prefect_server(tmp_path / "prefect-server") as api_url:
        env = {**os.environ, "PREFECT_API_URL": api_url, "PREFECT_HOME": str(tmp_path / "prefect-client"),
               "LABELOPS_DATA": str(data), "LABELOPS_MLFLOW_URI": f"sqlite:///{tmp_path / 'mlflow.db'}",
               "LABELOPS_RETRAIN_POLICY": str(tmp_path / "retrain.toml"),
               "NO_PROXY": "127.0.0.1,localhost", "no_proxy": "127.0.0.1,localhost",
               "PYTHONPATH": os.pathsep.join(filter(None, [str(PROJECT_ROOT), os.environ.get("PYTHONPATH")]))}
        env.pop("LABELOPS_TRAIN_DEPLOYMENT", None)
        run_cli(env, "deploy", "--pool", "process")  # no worker: the triggered run waits, visible in the API

        drop_edits(root, "back-office-1", labels[:4], 0)
        out = run_cli(env, "feedback")
        assert "retraining triggered" in out and "training deployment run:" in out
        drop_edits(root, "back-office-2", labels[4:], 4)  # more edits at once: the cooldown holds them back
        assert "held back by the cooldown" in run_cli(env, "feedback")

        with temporary_settings(updates={PREFECT_API_URL: api_url}), get_client(sync_client=True) as client:
            deployment = client.read_deployment_by_name("train/labelops-train")
            runs = client.read_flow_runs(deployment_filter=DeploymentFilter(id=DeploymentFilterId(any_=[deployment.id])))
            triggered = [r for r in runs if "auto-scheduled" not in r.tags]  # the weekly schedule's runs aside
            assert len(triggered) == 1  # two feedback runs, one training
            (training,) = triggered
            assert training.state.type.value == "SCHEDULED" and training.parameters["models"] == ["text"]
            assert training.parent_task_run_id is not None  # started by, and linked to, the feedback run
            feedback_runs = client.read_flow_runs(flow_filter=FlowFilter(name=FlowFilterName(any_=["feedback"])))
            by_hand = [r for r in feedback_runs if "auto-scheduled" not in r.tags]
            assert sorted(r.state.type.value for r in by_hand) == ["COMPLETED", "COMPLETED"]
    assert len(root.listdir("feedback/triggers")) == 1
