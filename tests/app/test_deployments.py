"""deployments/prefect.yaml, checked without any server: what `prefect deploy` and `labelops serve` would register."""

from __future__ import annotations

import inspect
from types import SimpleNamespace
from uuid import uuid4

import pytest

from app.deployments import DeploymentsError, available_specs, load_specs, render_prefect_yaml, runner_deployments
from flows.chaining import chain_generate, should_chain_generate
from labelops.settings import Settings

EXPECTED = {"ingest/labelops-ingest", "train/labelops-train", "generate/labelops-generate",
            "feedback/labelops-feedback"}


@pytest.fixture
def settings(monkeypatch) -> Settings:
    for name in ("LABELOPS_SCHEDULE_TIMEZONE", "LABELOPS_INGEST_CRON", "LABELOPS_TRAIN_CRON", "LABELOPS_FEEDBACK_CRON"):
        monkeypatch.delenv(name, raising=False)
    return Settings()


def test_a_deployment_per_flow_with_the_agreed_names(settings):
    specs = load_specs(settings)
    assert {spec.full_name for spec in specs} == EXPECTED
    assert all(spec.description and "labelops" in spec.tags for spec in specs)


def test_every_entrypoint_loads_and_every_parameter_fits_the_flow_signature(settings):
    from prefect.flows import load_flow_from_entrypoint

    from app.deployments import PROJECT_ROOT

    present, missing = available_specs(load_specs(settings))
    assert not missing
    for spec in present:
        flow = load_flow_from_entrypoint(str(PROJECT_ROOT / spec.entrypoint))
        assert flow.name == spec.flow_name
        signature = inspect.signature(flow.fn).parameters
        assert set(spec.parameters) <= set(signature), f"{spec.full_name}: not in the flow's signature"
        required = {name for name, p in signature.items() if p.default is inspect.Parameter.empty}
        assert required <= set(spec.parameters), f"{spec.full_name}: a scheduled run would miss {required}"
        flow.validate_parameters(spec.parameters)  # raises ParameterTypeError on a wrong type


def test_a_parameter_of_the_wrong_type_is_caught(settings):
    from prefect.exceptions import ParameterTypeError
    from prefect.flows import load_flow_from_entrypoint

    from app.deployments import PROJECT_ROOT

    train = load_flow_from_entrypoint(str(PROJECT_ROOT / "flows/train.py:train"))
    with pytest.raises(ParameterTypeError):
        train.validate_parameters({"devices": "two"})


def test_schedules_nightly_ingest_weekly_training_hourly_feedback(settings):
    from prefect.client.schemas.schedules import CronSchedule

    specs = {spec.flow_name: spec for spec in load_specs(settings)}
    crons = {name: [CronSchedule(cron=s.cron, timezone=s.timezone) for s in spec.schedules] for name, spec in specs.items()}
    assert crons["generate"] == []  # runs after a training, not on a clock
    ingest, train, feedback = crons["ingest"][0], crons["train"][0], crons["feedback"][0]
    assert ingest.cron.split()[2:] == ["*", "*", "*"]          # every day
    assert train.cron.split()[2:4] == ["*", "*"] and train.cron.split()[4] != "*"   # one day a week
    assert feedback.cron.split()[1:] == ["*", "*", "*", "*"]   # every hour


def test_cron_and_timezone_come_from_the_settings(monkeypatch):
    monkeypatch.setenv("LABELOPS_TRAIN_CRON", "30 3 * * 6")
    monkeypatch.setenv("LABELOPS_SCHEDULE_TIMEZONE", "Asia/Shanghai")
    specs = {spec.flow_name: spec for spec in load_specs(Settings())}
    assert [(s.cron, s.timezone) for s in specs["train"].schedules] == [("30 3 * * 6", "Asia/Shanghai")]
    assert specs["ingest"].schedules[0].timezone == "Asia/Shanghai"
    rendered = {d["name"]: d for d in render_prefect_yaml("process", Settings())["deployments"]}
    assert rendered["labelops-train"]["schedules"][0]["cron"] == "30 3 * * 6"

    monkeypatch.setenv("LABELOPS_TRAIN_CRON", "every sunday")
    with pytest.raises(DeploymentsError, match="every sunday"):
        load_specs(Settings())
    monkeypatch.setenv("LABELOPS_TRAIN_CRON", "0 4 * * 0")
    monkeypatch.setenv("LABELOPS_SCHEDULE_TIMEZONE", "Mars/Olympus")
    with pytest.raises(DeploymentsError, match="Mars/Olympus"):
        load_specs(Settings())


def test_one_training_and_one_gate_at_a_time(settings):
    specs = {spec.flow_name: spec for spec in load_specs(settings)}
    assert specs["train"].concurrency_limit.limit == 1
    assert specs["train"].concurrency_limit.collision_strategy == "CANCEL_NEW"
    assert specs["generate"].concurrency_limit.limit == 1
    assert specs["generate"].concurrency_limit.collision_strategy == "ENQUEUE"
    assert specs["train"].parameters["devices"] == 1  # the GPU count is a parameter of the form


def test_serve_builds_the_same_deployments_as_the_yaml_and_skips_a_missing_flow(settings, caplog):
    specs = {spec.name: spec for spec in load_specs(settings)}
    present, missing = available_specs(list(specs.values()))
    built = {d.name: d for d in runner_deployments(settings)}
    assert set(built) == {spec.name for spec in present}
    for name, deployment in built.items():
        spec = specs[name]
        assert deployment.flow_name == spec.flow_name and deployment.parameters == spec.parameters
        assert deployment.description == spec.description and deployment.tags == spec.tags
        assert [(s.schedule.cron, s.schedule.timezone) for s in deployment.schedules] == \
            [(s.cron, s.timezone) for s in spec.schedules]
        limit = deployment.concurrency_limit
        if spec.concurrency_limit:
            assert (limit, deployment.concurrency_options.collision_strategy.value) == \
                (spec.concurrency_limit.limit, spec.concurrency_limit.collision_strategy)
        else:
            assert limit is None
    for spec in missing:
        assert f"skipping deployment {spec.full_name}" in caplog.text


def test_the_work_pool_is_chosen_when_deploying(settings):
    process = render_prefect_yaml("process", settings)
    assert {d["work_pool"]["name"] for d in process["deployments"]} == {"labelops-process"}
    assert all("pull" not in d for d in process["deployments"])  # prefect deploy records the project folder
    docker = render_prefect_yaml("docker", settings)
    assert {d["work_pool"]["name"] for d in docker["deployments"]} == {"labelops-docker"}
    assert all(d["work_pool"]["job_variables"]["image"] and d["pull"] for d in docker["deployments"])
    with pytest.raises(DeploymentsError, match="unknown work pool"):
        render_prefect_yaml("slurm", settings)


# ----------------------------------------------------------------------------- chaining rule
def _state(completed: bool = True) -> SimpleNamespace:
    return SimpleNamespace(is_completed=lambda: completed, result=lambda raise_on_failure=False: {
        "text": {"model_name": "product-text-generator", "snapshot_id": "snap-from-result"}})


def test_only_a_completed_deployment_run_of_training_chains_the_gate():
    deployment_run = SimpleNamespace(id=uuid4(), name="x", deployment_id=uuid4(), parameters={})
    embedded_run = SimpleNamespace(id=uuid4(), name="y", deployment_id=None, parameters={})  # labelops train, demo
    assert should_chain_generate(deployment_run, _state())
    assert not should_chain_generate(embedded_run, _state())
    assert not should_chain_generate(deployment_run, _state(completed=False))


def test_the_hook_runs_the_generate_deployment_on_the_trained_snapshot(monkeypatch):
    import prefect.deployments

    from labelops.settings import get_settings

    calls = []
    monkeypatch.setattr(prefect.deployments, "run_deployment",
                        lambda name, **kwargs: calls.append((name, kwargs)) or SimpleNamespace(id="run"))
    monkeypatch.setenv("LABELOPS_GENERATE_DEPLOYMENT", "generate/custom-gate")
    get_settings.cache_clear()
    try:
        chain_generate(None, SimpleNamespace(id=uuid4(), name="y", deployment_id=None, parameters={}), _state())
        assert calls == []  # embedded: `labelops train` and the demo never double-run generate
        run = SimpleNamespace(id=uuid4(), name="x", deployment_id=uuid4(), parameters={"snapshot_id": None})
        chain_generate(None, run, _state())
        chain_generate(None, SimpleNamespace(**{**vars(run), "parameters": {"snapshot_id": "snap-given"}}), _state())
    finally:
        get_settings.cache_clear()
    assert [(name, kwargs["parameters"]["snapshot_id"], kwargs["timeout"]) for name, kwargs in calls] == [
        ("generate/custom-gate", "snap-from-result", 0), ("generate/custom-gate", "snap-given", 0)]


def test_the_train_flow_carries_the_hook():
    from flows.train import train

    assert chain_generate in train.on_completion_hooks


def test_a_missing_generate_deployment_is_reported_not_raised(monkeypatch, caplog):
    import prefect.deployments
    from prefect.exceptions import ObjectNotFound

    def missing(name, **kwargs):
        raise ObjectNotFound(None)

    monkeypatch.setattr(prefect.deployments, "run_deployment", missing)
    run = SimpleNamespace(id=uuid4(), name="x", deployment_id=uuid4(), parameters={"snapshot_id": "s"})
    chain_generate(None, run, _state())
    assert "generate/labelops-generate does not exist" in caplog.text
