"""The deployments as a Prefect server stores them (the test harness's server, with its event and
automation services): the chain is an automation, it fires on a completed run of the train
deployment with that run's snapshot, and a second ``serve``/``deploy`` keeps what the UI changed."""

from __future__ import annotations

import time

import pytest

from app.deployments import render_prefect_yaml, runner_deployments
from flows.chaining import SNAPSHOT_LABEL
from labelops.settings import Settings


@pytest.fixture
def settings(monkeypatch) -> Settings:
    for name in ("LABELOPS_SCHEDULE_TIMEZONE", "LABELOPS_INGEST_CRON", "LABELOPS_TRAIN_CRON", "LABELOPS_FEEDBACK_CRON"):
        monkeypatch.delenv(name, raising=False)
    return Settings()


@pytest.fixture
def applied(prefect_backend, settings):
    """The yaml's deployments applied to the server as ``labelops serve`` applies them: name → id.
    Removed afterwards, automations too: the server is the whole session's, and a train deployment
    left on it would make the feedback flow's tests hand their retraining to a worker that never comes."""
    from prefect.client.orchestration import get_client

    ids = {deployment.name: deployment.apply() for deployment in runner_deployments(settings, keep=True)}
    yield ids
    with get_client(sync_client=True) as client:
        for deployment_id in ids.values():
            client.delete_resource_owned_automations(f"prefect.deployment.{deployment_id}")
            client.delete_deployment(deployment_id)


def test_the_generate_deployment_carries_the_trigger_as_the_server_stores_it(applied):
    from prefect.client.orchestration import get_client

    with get_client(sync_client=True) as client:
        automations = client.read_resource_related_automations(f"prefect.deployment.{applied['labelops-generate']}")
        others = [a for name in ("labelops-train", "labelops-ingest", "labelops-feedback")
                  for a in client.read_resource_related_automations(f"prefect.deployment.{applied[name]}")]
    assert [a.name for a in automations] == ["labelops-generate__automation_1"] and not others
    automation = automations[0]
    assert automation.enabled
    trigger = automation.trigger
    assert trigger.expect == {"prefect.flow-run.Completed"} and trigger.posture == "Reactive"
    related = trigger.match_related[0] if isinstance(trigger.match_related, list) else trigger.match_related
    assert related.model_dump() == {"prefect.resource.role": "deployment", "prefect.resource.name": "labelops-train"}
    (action,) = automation.actions
    assert action.type == "run-deployment" and action.deployment_id == applied["labelops-generate"]
    assert action.parameters["snapshot_id"]["value"]["__prefect_kind"] == "jinja"


def _runs_of(client, deployment_id):  # noqa: ANN001, ANN202
    from prefect.client.schemas.filters import DeploymentFilter, DeploymentFilterId

    return client.read_flow_runs(deployment_filter=DeploymentFilter(id=DeploymentFilterId(any_=[deployment_id])))


def _complete(client, run_id) -> None:  # noqa: ANN001
    from prefect.states import Completed, Running

    client.set_flow_run_state(run_id, Running(), force=True)
    client.set_flow_run_state(run_id, Completed(), force=True)


@pytest.mark.timeout(300)
def test_a_completed_training_deployment_run_starts_generate_on_its_snapshot_and_an_embedded_one_does_not(
        applied):
    from prefect import flow
    from prefect.client.orchestration import get_client

    generate_id = applied["labelops-generate"]
    with get_client(sync_client=True) as client:
        # a run of the train deployment that trained the latest snapshot, which it labelled (flows/train.py)
        run = client.create_flow_run_from_deployment(applied["labelops-train"], parameters={"snapshot_id": None})
        client.update_flow_run_labels(run.id, {SNAPSHOT_LABEL: "snap-trained"})
        _complete(client, run.id)
        deadline = time.monotonic() + 120
        triggered = []
        while not triggered and time.monotonic() < deadline:
            triggered = _runs_of(client, generate_id)
            time.sleep(1)
        assert [r.parameters for r in triggered] == [{"snapshot_id": "snap-trained"}]

        @flow(name="train")  # an embedded training (labelops train, the demo): the same flow, no deployment
        def train() -> None:
            return None

        train()
        time.sleep(8)  # the triggers service would have acted on it by now (it took ~1-3 s above)
        assert len(_runs_of(client, generate_id)) == 1


def test_a_second_serve_or_deploy_keeps_parameters_and_schedules_edited_in_the_ui(applied, settings):
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.actions import DeploymentUpdate

    ours = ["https://shop.example/"]
    with get_client(sync_client=True) as client:
        ingest = client.read_deployment_by_name("ingest/labelops-ingest")
        assert [s.active for s in ingest.schedules] == [False]  # off until a team sets its shops
        client.update_deployment(ingest.id, DeploymentUpdate(parameters={**ingest.parameters, "start_urls": ours}))
        client.update_deployment_schedule(ingest.id, ingest.schedules[0].id, active=True)

    again = {d.name: d for d in runner_deployments(settings, keep=True)}
    assert again["labelops-ingest"].parameters["start_urls"] == ours
    assert [s.active for s in again["labelops-ingest"].schedules] == [True]
    rendered = {d["name"]: d for d in render_prefect_yaml("process", settings, keep=True)["deployments"]}
    assert rendered["labelops-ingest"]["parameters"]["start_urls"] == ours
    assert rendered["labelops-ingest"]["schedules"][0]["active"] is True
    assert rendered["labelops-train"]["parameters"]["models"] == ["text", "gan"]

    again["labelops-ingest"].apply()  # what `labelops serve` does with it
    with get_client(sync_client=True) as client:
        ingest = client.read_deployment_by_name("ingest/labelops-ingest")
    assert ingest.parameters["start_urls"] == ours and [s.active for s in ingest.schedules] == [True]


def test_credential_references_are_stored_unresolved_and_resolved_when_a_run_starts(applied, prefect_backend):
    """`labelops deploy` sets the job variables after `prefect deploy` (which would resolve the
    references into the deployment); the worker resolves them from the server at run time."""
    import asyncio

    from prefect.blocks.system import Secret
    from prefect.client.orchestration import get_client
    from prefect.workers.process import ProcessJobConfiguration, ProcessWorker

    from app.deployments import set_job_variables, split_references

    document = render_prefect_yaml("docker", Settings(data="s3://bucket/labelops", mlflow_uri="http://mlflow:5000"),
                                   keep=False, train_pool="docker-gpu")
    _, held = split_references(document)
    flows = {d["name"]: d["entrypoint"].rsplit(":", 1)[1] for d in document["deployments"]}
    set_job_variables({"labelops-train": held["labelops-train"]}, flows)
    with get_client(sync_client=True) as client:
        stored = client.read_deployment_by_name("train/labelops-train").job_variables
    assert stored["env"]["AWS_SECRET_ACCESS_KEY"] == "{{ prefect.blocks.secret.labelops-s3-secret-access-key }}"
    assert stored["container_create_kwargs"]["device_requests"][0]["driver"] == "nvidia"

    Secret(value="the-key").save("labelops-s3-secret-access-key", overwrite=True)
    Secret(value="the-key-id").save("labelops-s3-access-key-id", overwrite=True)
    configuration = asyncio.run(ProcessJobConfiguration.from_template_and_values(
        base_job_template=ProcessWorker.get_default_base_job_template(), values={"env": stored["env"]}))
    assert configuration.env["AWS_SECRET_ACCESS_KEY"] == "the-key"
    assert configuration.env["LABELOPS_DATA"] == "s3://bucket/labelops"
