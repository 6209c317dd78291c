"""The training flow: it trains the models asked for, and only those, and registers them."""

from __future__ import annotations

import time

import pytest

from labelops.registry import IMAGE_MODEL, TEXT_MODEL, configure_mlflow, version_by_alias
from labelops.settings import get_settings
from labelops.storage import DataRoot
from tests.helpers.listings import publish_demo_snapshot


def test_train_flow_registers_the_gan_alone(prefect_backend, data_root):
    from flows.train import train

    snapshot_id = publish_demo_snapshot(DataRoot(str(data_root)), 40, images=True)
    results = train(models=["gan"], gan_steps=4, image_size=16, gan_width=8)
    assert set(results) == {"gan"}
    assert results["gan"]["model_name"] == IMAGE_MODEL and results["gan"]["version"] == "1"
    configure_mlflow(get_settings())
    version = version_by_alias(IMAGE_MODEL, "challenger")
    assert version is not None and version.tags["snapshot_id"] == snapshot_id
    assert version_by_alias(TEXT_MODEL, "challenger") is None  # text was not asked for
    # the training's MLflow run names the flow run, and the flow run has an artifact that opens it
    from mlflow import MlflowClient
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterKey

    flow_run_id = MlflowClient().get_run(results["gan"]["run_id"]).data.tags["prefect.flow_run_id"]
    with get_client(sync_client=True) as client:
        artifacts = client.read_artifacts(artifact_filter=ArtifactFilter(key=ArtifactFilterKey(any_=["training-run-gan"])))
    assert any(a.flow_run_id and str(a.flow_run_id) == flow_run_id and results["gan"]["run_id"] in a.data
               for a in artifacts)


def test_the_fits_log_and_progress_lines_reach_the_fit_task_runs_log(prefect_backend, data_root):
    from prefect import flow
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import LogFilter, LogFilterTaskRunId

    from flows.train import train

    publish_demo_snapshot(DataRoot(str(data_root)), 40, images=True)

    @flow
    def parent():  # noqa: ANN202 - the training's run id, to find its task runs
        state = train(models=["gan"], gan_steps=4, image_size=16, gan_width=8, return_state=True)
        return state.state_details.flow_run_id

    run_id = parent()
    with get_client(sync_client=True) as client:
        from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId

        (fit,) = [t for t in client.read_task_runs(flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[run_id])))
                  if t.name.startswith("fit")]
        deadline = time.monotonic() + 30
        messages: list[str] = []
        while time.monotonic() < deadline and not any("progress: step 4/4" in m for m in messages):
            time.sleep(1)  # logs reach the API in batches
            messages = [log.message for log in client.read_logs(LogFilter(task_run_id=LogFilterTaskRunId(any_=[fit.id])))]
    assert any(m.startswith("training: ") and "labelops.imagegen.train" in m for m in messages)
    assert any("progress: step 4/4 (100%)" in m and "loss" in m for m in messages), messages[-20:]


def test_train_flow_rejects_unknown_models(prefect_backend, data_root):
    from flows.train import KNOWN_MODELS, train

    assert KNOWN_MODELS == ("text", "gan")
    from prefect.exceptions import ParameterTypeError

    with pytest.raises(ParameterTypeError, match="models"):  # the parameter is an enum of the known models
        train(models=["gan", "video"])
