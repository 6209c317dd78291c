"""The deployments, read from ``deployments/prefect.yaml``: one source for ``prefect deploy`` and ``labelops serve``.

* :func:`load_specs` parses the yaml (one :class:`DeploymentSpec` per flow) and applies the
  schedule settings (``LABELOPS_INGEST_CRON``, ``LABELOPS_TRAIN_CRON``, ``LABELOPS_FEEDBACK_CRON``,
  ``LABELOPS_SCHEDULE_TIMEZONE``).
* :func:`runner_deployments` turns them into Prefect ``RunnerDeployment`` objects for ``serve``;
  a flow whose module is not there (yet) is skipped with a warning.
* :func:`render_prefect_yaml` writes the yaml back with the settings applied, the chosen work
  pools (one for all, another for training if asked: a GPU pool) and each run's environment
  (``LABELOPS_DATA``, ``LABELOPS_MLFLOW_URI``; on container pools the credentials as Prefect
  references), for ``labelops deploy`` (which runs ``prefect deploy`` on it). GPU pools get a base
  job template with a GPU setting (:func:`gpu_base_job_template`). Prefect references in job
  variables stay references (:func:`split_references`): the worker resolves them at run time.
* A deployment that already exists on the Prefect server keeps its parameters (edited in the UI or
  not) and whether each of its schedules is active (:func:`keep_existing`): ``prefect deploy`` and
  ``serve`` would otherwise overwrite them with the yaml's. The yaml's parameters are the defaults
  of a new deployment; a parameter the yaml has and the server's deployment lacks is added.
* The generate deployment's ``triggers:`` (the chain after a training, flows/chaining.py) reach the
  server as automations both ways: ``prefect deploy`` reads them from the yaml, ``serve`` gets them
  as ``DeploymentEventTrigger`` objects (:func:`deployment_triggers`).
"""

from __future__ import annotations

import copy
import logging
import os
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import yaml
from pydantic import BaseModel, Field

from labelops.settings import Settings, get_settings

if TYPE_CHECKING:  # Prefect is imported lazily: labelops stays importable without it
    from prefect.deployments.runner import RunnerDeployment

log = logging.getLogger(__name__)

PROJECT_ROOT = Path(__file__).resolve().parent.parent
PREFECT_YAML = PROJECT_ROOT / "deployments" / "prefect.yaml"
POOLS = ("process", "docker", "kubernetes", "process-gpu", "docker-gpu", "kubernetes-gpu")
"""Work pool kinds of ``definitions.work_pools``; a ``-gpu`` one is a pool of the same type whose runs get GPUs."""
CONTAINER_POOLS = ("docker", "kubernetes")
TRAIN_FLOW = "train"
"""The flow ``--train-pool`` moves."""
PREFECT_REFERENCE = re.compile(r"\{\{\s*prefect\.(blocks|variables)\.")
"""A value Prefect resolves from the server: ``{{ prefect.blocks.secret.NAME }}``, ``{{ prefect.variables.NAME }}``."""


def pool_type(kind: str) -> str:
    """The Prefect worker type of a pool kind (``kubernetes-gpu`` → ``kubernetes``)."""
    return kind.removesuffix("-gpu")


class DeploymentsError(ValueError):
    """The deployments file is wrong, or a setting does not fit it."""


class ScheduleSpec(BaseModel):
    cron: str
    timezone: str = "UTC"
    active: bool = True


class ConcurrencySpec(BaseModel):
    limit: int = Field(ge=1)
    collision_strategy: Literal["ENQUEUE", "CANCEL_NEW"] = "ENQUEUE"


class DeploymentSpec(BaseModel):
    """One deployment of ``prefect.yaml``."""

    name: str
    entrypoint: str
    description: str = ""
    tags: list[str] = Field(default_factory=list)
    parameters: dict[str, Any] = Field(default_factory=dict)
    schedules: list[ScheduleSpec] = Field(default_factory=list)
    concurrency_limit: ConcurrencySpec | None = None
    work_pool: dict[str, Any] = Field(default_factory=dict)
    triggers: list[dict[str, Any]] = Field(default_factory=list)

    @property
    def flow_name(self) -> str:
        """The flow's name: the function the entrypoint names (every labelops flow is named after its function)."""
        return self.entrypoint.rsplit(":", 1)[1]

    @property
    def full_name(self) -> str:
        """``<flow>/<deployment>``, as ``run_deployment`` and ``prefect deployment run`` take it."""
        return f"{self.flow_name}/{self.name}"

    @property
    def module(self) -> str:
        """The entrypoint's file as a module name (``flows/train.py`` → ``flows.train``)."""
        return self.entrypoint.rsplit(":", 1)[0].removesuffix(".py").replace("/", ".")

    @property
    def path(self) -> Path:
        return PROJECT_ROOT / self.entrypoint.rsplit(":", 1)[0]


def read_yaml(path: Path | None = None) -> dict[str, Any]:
    path = Path(path or PREFECT_YAML)
    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError as error:
        raise DeploymentsError(f"no deployments file at {path}") from error
    if not isinstance(document, dict) or not isinstance(document.get("deployments"), list):
        raise DeploymentsError(f"{path}: expected a top-level `deployments:` list")
    return document


def cron_overrides(settings: Settings) -> dict[str, str]:
    """Flow name → cron, from the settings that are set."""
    given = {"ingest": settings.ingest_cron, "train": settings.train_cron, "feedback": settings.feedback_cron}
    return {flow: cron for flow, cron in given.items() if cron}


def _apply_schedule_settings(entry: dict[str, Any], flow_name: str, settings: Settings) -> dict[str, Any]:
    """A copy of one yaml deployment with the cron and timezone settings applied."""
    entry = copy.deepcopy(entry)
    cron = cron_overrides(settings).get(flow_name)
    schedules = entry.get("schedules") or []
    if cron and not schedules:
        schedules = [{"cron": cron}]
    for schedule in schedules:
        if cron:
            schedule["cron"] = cron
        if settings.schedule_timezone:
            schedule["timezone"] = settings.schedule_timezone
    if schedules:
        entry["schedules"] = schedules
    return entry


def load_specs(settings: Settings | None = None, path: Path | None = None) -> list[DeploymentSpec]:
    """Every deployment of the yaml, schedule settings applied; cron strings and timezones checked."""
    settings = settings or get_settings()
    specs = []
    for entry in read_yaml(path)["deployments"]:
        flow_name = str(entry.get("entrypoint", ":")).rsplit(":", 1)[-1]
        spec = DeploymentSpec.model_validate(_apply_schedule_settings(entry, flow_name, settings))
        for schedule in spec.schedules:
            check_schedule(schedule, spec.full_name)
        specs.append(spec)
    return specs


def check_schedule(schedule: ScheduleSpec, where: str) -> None:
    """Raise :class:`DeploymentsError` for a cron string or timezone Prefect would not accept."""
    from prefect.client.schemas.schedules import CronSchedule

    try:
        CronSchedule(cron=schedule.cron, timezone=schedule.timezone)
    except ValueError as error:
        raise DeploymentsError(f"{where}: bad schedule {schedule.cron!r} ({schedule.timezone}): {error}") from error


def run_env(settings: Settings) -> dict[str, str]:
    """What every flow run is told of the data root and MLflow: this process's settings (a local
    data root as an absolute path)."""
    data = str(settings.local_data_path) if settings.data_is_local else settings.data
    return {"LABELOPS_DATA": data, "LABELOPS_MLFLOW_URI": settings.tracking_uri}


def _work_pool(definitions: dict[str, Any], kind: str, where: Path | None) -> dict[str, Any]:
    if kind not in POOLS:
        raise DeploymentsError(f"unknown work pool {kind!r}; choose one of {list(POOLS)}")
    try:
        return copy.deepcopy(definitions["work_pools"][kind])
    except KeyError as error:
        raise DeploymentsError(f"{where or PREFECT_YAML}: no definitions.work_pools.{kind}") from error


def render_prefect_yaml(pool: str | None = None, settings: Settings | None = None, path: Path | None = None,
                        keep: bool | None = None, train_pool: str | None = None) -> dict:
    """The yaml document with the schedule settings applied, each deployment on its role's work pool
    as the yaml names it (or every deployment on work pool ``pool`` when given; the train deployment
    on ``train_pool`` when given) and each run's environment in the job
    variable ``env``: :func:`run_env`, plus ``definitions.container_env`` (Prefect references to
    the credentials) on the docker and kubernetes pools.

    ``keep``: a deployment that exists on the Prefect server keeps its parameters and schedules'
    on/off (:func:`keep_existing`); default: when ``PREFECT_API_URL`` is set (a server's UI to edit them in).
    """
    settings = settings or get_settings()
    document = copy.deepcopy(read_yaml(path))
    definitions = document.get("definitions") or {}
    kind_by_name = {spec["name"]: kind for kind, spec in (definitions.get("work_pools") or {}).items()}
    container_env = definitions.get("container_env") or {}
    for name, value in container_env.items():
        if not PREFECT_REFERENCE.search(str(value)):
            raise DeploymentsError(f"{path or PREFECT_YAML}: definitions.container_env.{name} must be a Prefect "
                                   "reference ({{ prefect.blocks.secret.NAME }} or {{ prefect.variables.NAME }}), "
                                   "never a value")
    deployments = []
    for entry in document["deployments"]:
        flow_name = str(entry.get("entrypoint", ":")).rsplit(":", 1)[-1]
        entry = _apply_schedule_settings(entry, flow_name, settings)
        kind = (train_pool if flow_name == TRAIN_FLOW else None) or pool
        if kind is None:  # the role's pool the yaml names
            named = (entry.get("work_pool") or {}).get("name")
            if named not in kind_by_name:
                raise DeploymentsError(f"{path or PREFECT_YAML}: deployment {entry.get('name')}'s work pool "
                                       f"{named!r} is none of definitions.work_pools ({sorted(kind_by_name)})")
            kind = kind_by_name[named]
        entry["work_pool"] = work_pool = _work_pool(definitions, kind, path)
        job_variables = work_pool.setdefault("job_variables", {})
        env = run_env(settings)
        if pool_type(kind) in CONTAINER_POOLS:
            env.update(container_env)
            if definitions.get("container_pull"):
                entry["pull"] = copy.deepcopy(definitions["container_pull"])
        job_variables["env"] = {**env, **(job_variables.get("env") or {})}
        deployments.append(entry)
    document["deployments"] = deployments
    document.pop("definitions", None)  # anchors are resolved already
    specs = load_specs(settings, path)  # the same checks as serve: cron strings and timezones
    if keep is None:
        keep = bool(os.environ.get("PREFECT_API_URL"))
    if keep:
        present = {spec.name: spec for spec in available_specs(specs)[0]}
        existing = existing_deployments([spec.full_name for spec in present.values()])
        for entry in deployments:
            spec = present.get(entry["name"])
            if spec is not None and spec.full_name in existing:
                entry["parameters"], active = keep_existing(spec, existing[spec.full_name],
                                                            flow_parameters(spec))
                for schedule in entry.get("schedules") or []:
                    schedule["active"] = active.get(schedule["cron"], schedule.get("active", True))
    return document


def work_pools_of(document: dict) -> dict[str, str]:
    """Work pool name → pool kind (``docker-gpu``, …) of a rendered document's deployments."""
    definitions = read_yaml().get("definitions") or {}
    by_name = {pool["name"]: kind for kind, pool in (definitions.get("work_pools") or {}).items()}
    return {entry["work_pool"]["name"]: by_name.get(entry["work_pool"]["name"], "process")
            for entry in document["deployments"]}


def gpu_base_job_template(kind: str, template: dict[str, Any]) -> dict[str, Any]:
    """The default base job template of a pool type (``prefect work-pool get-default-base-job-template
    --type T``) with a GPU setting, for the ``-gpu`` pools:

    * kubernetes: variable ``gpus`` (integer, default 1), the container's ``nvidia.com/gpu``
      request and limit;
    * docker: variable ``container_create_kwargs`` (docker-py ``containers.create`` arguments, where
      ``device_requests`` asks for GPUs), which the default template does not pass on;
    * process: unchanged (the worker's machine has the GPUs).
    """
    template = copy.deepcopy(template)
    variables = template.setdefault("variables", {}).setdefault("properties", {})
    configuration = template.setdefault("job_configuration", {})
    kind = pool_type(kind)
    if kind == "kubernetes":
        container = configuration["job_manifest"]["spec"]["template"]["spec"]["containers"][0]
        resources = container.setdefault("resources", {})
        for side in ("limits", "requests"):
            resources.setdefault(side, {})["nvidia.com/gpu"] = "{{ gpus }}"
        variables["gpus"] = {"title": "GPUs", "type": "integer", "minimum": 1, "default": 1,
                             "description": "NVIDIA GPUs of the job's container (nvidia.com/gpu request and "
                                            "limit); train with devices set to this number"}
    elif kind == "docker":
        configuration["container_create_kwargs"] = "{{ container_create_kwargs }}"
        variables["container_create_kwargs"] = {
            "title": "Container Configuration", "type": "object",
            "description": "docker-py containers.create arguments, e.g. device_requests: "
                           "[{driver: nvidia, count: -1, capabilities: [[gpu]]}] for every GPU"}
    return template


def split_references(document: dict) -> tuple[dict, dict[str, dict[str, Any]]]:
    """(the document without the job variables that hold Prefect references, deployment name → its
    whole job variables). ``prefect deploy`` resolves ``{{ prefect.blocks… }}`` and
    ``{{ prefect.variables… }}`` when it deploys, which would store the secrets in the deployment;
    ``labelops deploy`` deploys without them and then sets the job variables as they are
    (:func:`set_job_variables`), for the worker to resolve when a run starts."""
    document = copy.deepcopy(document)
    held: dict[str, dict[str, Any]] = {}
    for entry in document["deployments"]:
        job_variables = (entry.get("work_pool") or {}).get("job_variables") or {}
        env = job_variables.get("env") or {}
        references = {name for name, value in env.items() if PREFECT_REFERENCE.search(str(value))}
        if references:
            held[entry["name"]] = copy.deepcopy(job_variables)
            job_variables["env"] = {name: value for name, value in env.items() if name not in references}
    return document, held


def set_job_variables(held: dict[str, dict[str, Any]], flow_names: dict[str, str]) -> None:
    """Set the job variables of deployments (name → job variables; ``flow_names``: name → flow) on
    the server, unresolved."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.actions import DeploymentUpdate

    with get_client(sync_client=True) as client:
        for name, job_variables in held.items():
            deployment = client.read_deployment_by_name(f"{flow_names[name]}/{name}")
            client.update_deployment(deployment.id, DeploymentUpdate(job_variables=job_variables))


class ExistingDeployment(BaseModel):
    """What the server holds of a deployment that a new ``deploy`` or ``serve`` would overwrite."""

    parameters: dict[str, Any] = Field(default_factory=dict)
    active: dict[str, bool] = Field(default_factory=dict, description="cron → whether that schedule is on")


def existing_deployments(full_names: list[str]) -> dict[str, ExistingDeployment]:
    """The deployments (``<flow>/<deployment>``) that exist on the Prefect server, with their
    parameters and schedules; {} with a warning when the server cannot be read."""
    from prefect.client.orchestration import get_client
    from prefect.exceptions import ObjectNotFound

    found: dict[str, ExistingDeployment] = {}
    try:
        with get_client(sync_client=True) as client:
            for name in full_names:
                try:
                    deployment = client.read_deployment_by_name(name)
                except ObjectNotFound:
                    continue
                active = {getattr(s.schedule, "cron", None): s.active for s in deployment.schedules or []}
                found[name] = ExistingDeployment(parameters=dict(deployment.parameters or {}),
                                                 active={cron: on for cron, on in active.items() if cron})
    except Exception as error:  # noqa: BLE001 - no server to ask: the yaml's values, as before
        log.warning("could not read the existing deployments from the Prefect server, so the yaml's parameters "
                    "and schedules replace theirs: %s", error)
        return {}
    return found


def keep_existing(spec: DeploymentSpec, existing: ExistingDeployment,
                  parameters_of_the_flow: set[str]) -> tuple[dict[str, Any], dict[str, bool]]:
    """(the parameters to deploy: the server's, plus the yaml's that the server lacks, less any the
    flow no longer has; cron → whether that schedule stays on)."""
    merged = {**spec.parameters, **existing.parameters}
    merged = {name: value for name, value in merged.items() if name in parameters_of_the_flow}
    dropped = sorted(set(existing.parameters) - parameters_of_the_flow)
    if dropped:
        log.warning("%s: dropping parameter(s) %s the flow no longer has", spec.full_name, dropped)
    kept = {k: v for k, v in existing.parameters.items() if k in merged and spec.parameters.get(k, v) != v}
    if kept:
        log.info("%s: keeping the server's parameter(s) %s (not the yaml's)", spec.full_name, sorted(kept))
    return merged, existing.active


def flow_parameters(spec: DeploymentSpec) -> set[str]:
    """The names of the parameters of the spec's flow."""
    import importlib
    import inspect

    flow = getattr(importlib.import_module(spec.module), spec.flow_name)
    return set(inspect.signature(flow.fn).parameters)


def deployment_triggers(spec: DeploymentSpec) -> list:
    """The spec's ``triggers:`` as Prefect deployment triggers, named as ``prefect deploy`` names
    them (``<deployment>__automation_<n>``), so both ways register the same automation."""
    from prefect.events.schemas.deployment_triggers import DeploymentTriggerTypes
    from pydantic import TypeAdapter

    adapter = TypeAdapter(DeploymentTriggerTypes)
    triggers = []
    for number, entry in enumerate(spec.triggers, start=1):
        trigger = adapter.validate_python(entry)
        trigger.name = trigger.name or f"{spec.name}__automation_{number}"
        triggers.append(trigger)
    return triggers


def available_specs(specs: list[DeploymentSpec]) -> tuple[list[DeploymentSpec], list[DeploymentSpec]]:
    """(specs whose flow file exists, specs whose flow file is missing)."""
    present = [spec for spec in specs if spec.path.exists()]
    return present, [spec for spec in specs if not spec.path.exists()]


def runner_deployments(settings: Settings | None = None, path: Path | None = None,
                       specs: list[DeploymentSpec] | None = None, keep: bool = False) -> list[RunnerDeployment]:
    """The yaml's deployments (or ``specs``) as RunnerDeployments for ``serve``; flows whose module
    is missing are skipped with a warning. ``keep``: those that exist on the Prefect server keep
    their parameters and schedules' on/off (:func:`keep_existing`)."""
    import importlib
    import inspect

    from prefect.client.schemas.objects import (
        ConcurrencyLimitConfig,
        ConcurrencyLimitStrategy,
    )
    from prefect.schedules import Cron

    present, missing = available_specs(load_specs(settings, path) if specs is None else specs)
    for spec in missing:
        log.warning("skipping deployment %s: %s does not exist", spec.full_name, spec.entrypoint)
    existing = existing_deployments([spec.full_name for spec in present]) if keep else {}
    deployments = []
    for spec in present:
        module_name, function = spec.module, spec.flow_name
        flow = getattr(importlib.import_module(module_name), function)
        if flow.name != spec.flow_name:
            raise DeploymentsError(f"{spec.entrypoint} is flow {flow.name!r}, expected {spec.flow_name!r}")
        limit = None
        if spec.concurrency_limit:
            limit = ConcurrencyLimitConfig(
                limit=spec.concurrency_limit.limit,
                collision_strategy=ConcurrencyLimitStrategy(spec.concurrency_limit.collision_strategy))
        parameters, active = spec.parameters, {}
        if spec.full_name in existing:
            parameters, active = keep_existing(spec, existing[spec.full_name], set(inspect.signature(flow.fn).parameters))
        deployments.append(flow.to_deployment(
            name=spec.name, description=spec.description, tags=spec.tags, parameters=parameters,
            schedules=[Cron(s.cron, timezone=s.timezone, active=active.get(s.cron, s.active)) for s in spec.schedules],
            concurrency_limit=limit, triggers=deployment_triggers(spec),
        ))
    return deployments


def serve_all(limit: int | None = None, settings: Settings | None = None,
              specs: list[DeploymentSpec] | None = None) -> None:
    """Serve every deployment (or ``specs``) with its schedule from this process (blocks until interrupted)."""
    from prefect import serve

    deployments = runner_deployments(settings, specs=specs, keep=True)
    if not deployments:
        raise DeploymentsError("no deployment to serve")
    serve(*deployments, limit=limit)
