"""deployments/prefect.yaml, checked without any server: what `prefect deploy` and `labelops serve` would register."""

from __future__ import annotations

import inspect
from uuid import uuid4

import pytest

from app.deployments import DeploymentsError, available_specs, load_specs, render_prefect_yaml, runner_deployments
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
    assert specs["train"].parameters["num_nodes"] == 1  # so is the number of machines


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


def test_each_role_has_its_own_pool_in_the_yaml_training_on_the_gpu_pool(settings):
    """The yaml's pools by role: ingest, labelling and feedback on the CPU pool, training on the GPU
    pool; --train-pool alone moves training and leaves the others on their yaml pools."""
    flows = _by_flow(render_prefect_yaml(settings=settings, keep=False))
    assert {flow: entry["work_pool"]["name"] for flow, entry in flows.items()} == {
        "ingest": "labelops-process", "generate": "labelops-process", "feedback": "labelops-process",
        "train": "labelops-process-gpu"}
    flows = _by_flow(render_prefect_yaml(settings=settings, keep=False, train_pool="kubernetes-gpu"))
    assert flows["train"]["work_pool"]["name"] == "labelops-kubernetes-gpu" and flows["train"]["pull"]
    assert flows["ingest"]["work_pool"]["name"] == "labelops-process" and "pull" not in flows["ingest"]


def test_a_deployment_on_a_pool_the_yaml_does_not_define_is_refused(settings, tmp_path):
    import yaml

    from app.deployments import PREFECT_YAML

    document = yaml.safe_load(PREFECT_YAML.read_text(encoding="utf-8"))
    document["deployments"][0]["work_pool"] = {"name": "somebody-elses-pool"}
    path = tmp_path / "prefect.yaml"
    path.write_text(yaml.safe_dump(document), encoding="utf-8")
    with pytest.raises(DeploymentsError, match="'somebody-elses-pool' is none of definitions.work_pools"):
        render_prefect_yaml(settings=settings, path=path, keep=False)


def test_the_work_pool_is_chosen_when_deploying(settings):
    process = render_prefect_yaml("process", settings, keep=False)
    assert {d["work_pool"]["name"] for d in process["deployments"]} == {"labelops-process"}
    assert all("pull" not in d for d in process["deployments"])  # prefect deploy records the project folder
    docker = render_prefect_yaml("docker", settings, keep=False)
    assert {d["work_pool"]["name"] for d in docker["deployments"]} == {"labelops-docker"}
    assert all(d["work_pool"]["job_variables"]["image"] and d["pull"] for d in docker["deployments"])
    with pytest.raises(DeploymentsError, match="unknown work pool"):
        render_prefect_yaml("slurm", settings)
    with pytest.raises(DeploymentsError, match="unknown work pool"):
        render_prefect_yaml("process", settings, train_pool="slurm")


# ----------------------------------------------------------------------------- pools, GPUs, environment
SECRET = "s3cr3t-never-in-a-deployment"


@pytest.fixture
def remote_settings(monkeypatch, settings) -> Settings:
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SECRET)  # in the deploying process: must not reach the specs
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", SECRET)
    return Settings(data="s3://bucket/labelops", mlflow_uri="http://mlflow.internal:5000")


def _by_flow(document: dict) -> dict[str, dict]:
    return {d["entrypoint"].rsplit(":", 1)[1]: d for d in document["deployments"]}


@pytest.mark.parametrize(("pool", "train_pool", "gpu_variable"), [
    ("kubernetes", "kubernetes-gpu", "gpus"),
    ("docker", "docker-gpu", "container_create_kwargs"),
])
def test_training_gets_its_own_gpu_pool_and_every_run_the_data_root_mlflow_and_credential_references(
        remote_settings, pool, train_pool, gpu_variable):
    import yaml

    from app.deployments import PREFECT_REFERENCE

    document = render_prefect_yaml(pool, remote_settings, keep=False, train_pool=train_pool)
    flows = _by_flow(document)
    assert flows["train"]["work_pool"]["name"] == f"labelops-{train_pool}"
    assert {flows[f]["work_pool"]["name"] for f in ("ingest", "generate", "feedback")} == {f"labelops-{pool}"}
    train_variables = flows["train"]["work_pool"]["job_variables"]
    assert train_variables["image"] == "labelops:cuda"
    if gpu_variable == "gpus":
        assert train_variables["gpus"] >= 1
    else:
        (request,) = train_variables["container_create_kwargs"]["device_requests"]
        assert request["capabilities"] == [["gpu"]] and request["count"] == -1
    for flow, entry in flows.items():
        variables = entry["work_pool"]["job_variables"]
        assert flow == "train" or gpu_variable not in variables  # only training asks for GPUs
        env = variables["env"]
        assert env["LABELOPS_DATA"] == "s3://bucket/labelops"
        assert env["LABELOPS_MLFLOW_URI"] == "http://mlflow.internal:5000"
        for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
            assert PREFECT_REFERENCE.search(env[name]) and "prefect.blocks.secret." in env[name]
        assert entry["pull"]  # the code inside the image
    assert SECRET not in yaml.safe_dump(document)


def test_the_process_pool_passes_no_credentials_and_a_local_data_root_as_an_absolute_path(settings, tmp_path):
    document = render_prefect_yaml("process", Settings(data=str(tmp_path / "data")), keep=False,
                                   train_pool="process-gpu")
    flows = _by_flow(document)
    assert flows["train"]["work_pool"]["name"] == "labelops-process-gpu"
    for entry in flows.values():
        env = entry["work_pool"]["job_variables"]["env"]
        assert env == {"LABELOPS_DATA": str(tmp_path / "data"),
                       "LABELOPS_MLFLOW_URI": f"sqlite:///{tmp_path / 'data' / 'mlflow.db'}"}


def test_a_credential_written_as_a_value_is_refused(settings, tmp_path):
    import yaml

    from app.deployments import PREFECT_YAML

    document = yaml.safe_load(PREFECT_YAML.read_text(encoding="utf-8"))
    document["definitions"]["container_env"]["AWS_SECRET_ACCESS_KEY"] = SECRET
    path = tmp_path / "prefect.yaml"
    path.write_text(yaml.safe_dump(document), encoding="utf-8")
    with pytest.raises(DeploymentsError, match="AWS_SECRET_ACCESS_KEY must be a Prefect reference"):
        render_prefect_yaml("docker", settings, path=path, keep=False)


def test_prefect_deploy_never_sees_the_references_and_they_are_set_unresolved_afterwards(remote_settings):
    from app.deployments import split_references

    document = render_prefect_yaml("kubernetes", remote_settings, keep=False, train_pool="kubernetes-gpu")
    to_deploy, held = split_references(document)
    assert set(held) == {d["name"] for d in document["deployments"]}
    for entry in to_deploy["deployments"]:
        env = entry["work_pool"]["job_variables"]["env"]
        assert "{{" not in str(env) and env["LABELOPS_DATA"] == "s3://bucket/labelops"
        assert held[entry["name"]] == _by_name(document)[entry["name"]]["work_pool"]["job_variables"]


def _by_name(document: dict) -> dict[str, dict]:
    return {d["name"]: d for d in document["deployments"]}


def _default_template(kind: str) -> dict:
    """The default base job template Prefect's server ships for a worker type (what
    `prefect work-pool get-default-base-job-template --type KIND` prints offline)."""
    import json
    from importlib.resources import files

    data = json.loads(files("prefect.server.api").joinpath(
        "collections_data/views/aggregate-worker-metadata.json").read_text(encoding="utf-8"))
    return next(workers[kind]["default_base_job_configuration"] for workers in data.values() if kind in workers)


def test_the_gpu_pools_base_job_templates_take_the_yamls_gpu_job_variables(remote_settings):
    from prefect.utilities.templating import apply_values

    from app.deployments import gpu_base_job_template

    train = {kind: _by_flow(render_prefect_yaml(kind.removesuffix("-gpu"), remote_settings, keep=False,
                                                train_pool=kind))["train"]
             for kind in ("kubernetes-gpu", "docker-gpu")}

    template = gpu_base_job_template("kubernetes-gpu", _default_template("kubernetes"))
    values = {name: spec.get("default") for name, spec in template["variables"]["properties"].items()}
    job = apply_values(template["job_configuration"],
                       {**values, **train["kubernetes-gpu"]["work_pool"]["job_variables"]})
    (container,) = job["job_manifest"]["spec"]["template"]["spec"]["containers"]
    assert container["resources"]["limits"]["nvidia.com/gpu"] == 1
    assert container["resources"]["requests"]["nvidia.com/gpu"] == 1
    assert container["image"] == "labelops:cuda"
    assert container["env"]["LABELOPS_MLFLOW_URI"] == "http://mlflow.internal:5000"

    template = gpu_base_job_template("docker-gpu", _default_template("docker"))
    values = {name: spec.get("default") for name, spec in template["variables"]["properties"].items()}
    job = apply_values(template["job_configuration"], {**values, **train["docker-gpu"]["work_pool"]["job_variables"]})
    assert job["container_create_kwargs"]["device_requests"][0]["driver"] == "nvidia"
    assert job["env"]["LABELOPS_DATA"] == "s3://bucket/labelops"


# ----------------------------------------------------------------------------- the forms
def _flows(settings):
    from prefect.flows import load_flow_from_entrypoint

    from app.deployments import PROJECT_ROOT

    flows = {spec.full_name: load_flow_from_entrypoint(str(PROJECT_ROOT / spec.entrypoint))
             for spec in available_specs(load_specs(settings))[0]}
    flows["demo"] = load_flow_from_entrypoint(str(PROJECT_ROOT / "flows/demo.py:demo"))
    return flows


def test_every_parameter_of_every_deployed_flow_has_a_description_in_its_form(settings):
    from prefect.utilities.callables import parameter_schema

    flows = _flows(settings)
    assert set(flows) == EXPECTED | {"demo"}
    for name, flow in flows.items():
        properties = parameter_schema(flow).model_dump()["properties"]
        assert set(properties) == set(inspect.signature(flow.fn).parameters), name
        undescribed = [p for p, schema in properties.items() if not schema.get("description", "").strip()]
        assert not undescribed, f"{name}: no description for {undescribed}"


def test_fixed_choices_are_enums_in_the_form(settings):
    from prefect.utilities.callables import parameter_schema

    from labelops.models import TRAINABLE

    flows = _flows(settings)
    train = parameter_schema(flows["train/labelops-train"]).model_dump()
    assert train["properties"]["models"]["items"]["enum"] == list(TRAINABLE)  # the Literal follows the models
    sizes = [branch for branch in train["properties"]["image_size"]["anyOf"] if "enum" in branch]
    assert sizes and {32, 64, 128} <= set(sizes[0]["enum"])
    assert parameter_schema(flows["demo"]).model_dump()["properties"]["models"]["items"]["enum"] == ["text", "gan"]
    # the text generator's other settings are a form, not a JSON box
    text_config = train["properties"]["text_config"]["anyOf"][0]["$ref"].rsplit("/", 1)[1]
    fields = train["definitions"][text_config]["properties"]
    assert {"n_layer", "n_embd", "batch_size", "lr", "pretrain_steps"} <= set(fields)
    assert all(field.get("description") for field in fields.values())
    assert train["properties"]["fit_timeout_minutes"]["default"] == 180


def test_text_config_takes_the_form_or_a_plain_dict_as_before(settings):
    from prefect.exceptions import ParameterTypeError

    from labelops.models import TextOptions, training_configs

    train = _flows(settings)["train/labelops-train"]
    as_dict = train.validate_parameters({"text_config": {"n_layer": 2, "n_embd": 64}})["text_config"]
    assert isinstance(as_dict, TextOptions)
    for given in (as_dict, {"n_layer": 2, "n_embd": 64}):
        config = training_configs("snap", ["text"], text_config=given)["text"]
        assert (config.n_layer, config.n_embd, config.n_head) == (2, 64, 4)  # unset fields keep their defaults
    with pytest.raises(ParameterTypeError):
        train.validate_parameters({"text_config": {"n_layers": 2}})
    with pytest.raises(ParameterTypeError):
        train.validate_parameters({"models": ["text", "video"]})


# ----------------------------------------------------------------------------- the ingest schedule
def test_the_nightly_ingest_is_off_until_a_team_sets_its_start_urls(settings):
    specs = {spec.flow_name: spec for spec in load_specs(settings)}
    assert specs["ingest"].parameters["start_urls"] == ["http://127.0.0.1:8765/"]  # the demo shop
    assert [s.active for s in specs["ingest"].schedules] == [False]
    assert all(s.active for name in ("train", "feedback") for s in specs[name].schedules)
    built = {d.name: d for d in runner_deployments(settings)}
    assert [s.active for s in built["labelops-ingest"].schedules] == [False]
    rendered = {d["name"]: d for d in render_prefect_yaml("process", settings, keep=False)["deployments"]}
    assert rendered["labelops-ingest"]["schedules"][0]["active"] is False


def test_a_redeploy_keeps_the_servers_parameters_and_adds_new_ones(settings):
    from app.deployments import ExistingDeployment, keep_existing

    spec = {s.flow_name: s for s in load_specs(settings)}["ingest"]
    existing = ExistingDeployment(parameters={"start_urls": ["https://shop.example/"], "max_pages": 500,
                                              "gone": 1}, active={"0 2 * * *": True})
    parameters, active = keep_existing(spec, existing, {"start_urls", "max_pages", "sitemap_urls", "obey_robots"})
    assert parameters == {"start_urls": ["https://shop.example/"], "max_pages": 500, "sitemap_urls": [],
                          "obey_robots": True}
    assert active == {"0 2 * * *": True}


# ----------------------------------------------------------------------------- the chain
def _generate_trigger(settings):
    (generate,) = [d for d in runner_deployments(settings) if d.name == "labelops-generate"]
    assert len(generate.triggers) == 1
    return generate.triggers[0]


def test_serve_gives_the_generate_deployment_the_yamls_trigger(settings):
    from prefect.events.schemas.deployment_triggers import DeploymentEventTrigger

    trigger = _generate_trigger(settings)
    assert isinstance(trigger, DeploymentEventTrigger)
    assert trigger.name == "labelops-generate__automation_1"  # as `prefect deploy` names it
    assert trigger.expect == {"prefect.flow-run.Completed"} and trigger.posture == "Reactive"
    assert trigger.match.model_dump() == {"prefect.resource.id": "prefect.flow-run.*"}
    related = trigger.match_related
    related = related[0] if isinstance(related, list) else related
    assert related.model_dump() == {"prefect.resource.role": "deployment", "prefect.resource.name": "labelops-train"}
    others = {d.name: d for d in runner_deployments(settings) if d.name != "labelops-generate"}
    assert all(not d.triggers for d in others.values())  # nothing else chains


def test_the_trigger_passes_the_trained_snapshot(settings):
    """The parameters render as the server's RunDeployment action renders them (hydrate, with the
    triggering flow run in the Jinja context)."""
    from prefect.client.schemas.objects import FlowRun
    from prefect.utilities.schema_tools.hydration import HydrationContext, hydrate

    from flows.chaining import SNAPSHOT_LABEL, SNAPSHOT_TEMPLATE

    trigger = _generate_trigger(settings)
    assert trigger.parameters["snapshot_id"]["value"]["template"] == SNAPSHOT_TEMPLATE

    def rendered(labels: dict, parameters: dict):  # noqa: ANN202
        run = FlowRun(flow_id=uuid4(), labels=labels, parameters=parameters)
        return hydrate(trigger.parameters, HydrationContext(render_jinja=True, raise_on_error=True,
                                                             jinja_context={"flow_run": run}))

    assert rendered({SNAPSHOT_LABEL: "snap-trained"}, {"snapshot_id": None}) == {"snapshot_id": "snap-trained"}
    assert rendered({}, {"snapshot_id": "snap-given"}) == {"snapshot_id": "snap-given"}
    assert rendered({}, {"snapshot_id": None}) == {"snapshot_id": None}  # generate: the latest
    assert rendered({}, {}) == {"snapshot_id": None}


def test_the_train_flow_has_no_chaining_hook_left():
    from flows.train import train

    assert not train.on_completion_hooks  # the chain is the generate deployment's trigger
