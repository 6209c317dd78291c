"""MLflow conventions: tracking URI, experiments, lineage tags, aliases.

Aliases only, never stages: ``challenger`` is set by training, ``champion`` only by the gate.
A training registers at most one version: versions carry a ``training_key`` tag, and
:func:`find_version` finds the one a training already registered.
"""

from __future__ import annotations

import os
import shlex
import subprocess
from collections.abc import Mapping
from pathlib import Path

import mlflow
from mlflow import MlflowClient
from mlflow.entities.model_registry import ModelVersion
from pydantic import BaseModel

from labelops import catalog
from labelops.markdown import table
from labelops.settings import Settings

TEXT_MODEL = "product-text-generator"
IMAGE_MODEL = "product-image-gan"
PROJECT_ROOT = Path(__file__).resolve().parent.parent


def configure_mlflow(settings: Settings) -> str:
    """Point MLflow at the project's tracking URI (``LABELOPS_MLFLOW_URI`` or SQLite under the data root)."""
    os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
    uri = settings.tracking_uri
    if uri.startswith("sqlite:///"):
        Path(uri.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    mlflow.set_tracking_uri(uri)
    mlflow.set_registry_uri(uri)
    return uri


def artifact_location(settings: Settings) -> str | None:
    """Artifacts under the data root (MLflow would otherwise put them relative to the working directory)."""
    if settings.tracking_uri.startswith(("http://", "https://")):
        return None  # a tracking server decides (its --artifacts-destination), so workers on other machines see them
    if settings.data_is_local:
        return (settings.local_data_path / catalog.MLFLOW_ARTIFACTS).as_uri()
    return f"{settings.data.rstrip('/')}/{catalog.MLFLOW_ARTIFACTS}"


def ensure_experiment(name: str, settings: Settings) -> str:
    """The id of experiment ``name``, created with artifacts under the data root when new."""
    client = MlflowClient()
    experiment = client.get_experiment_by_name(name)
    if experiment is not None:
        return experiment.experiment_id
    try:
        return client.create_experiment(name, artifact_location=artifact_location(settings))
    except mlflow.exceptions.MlflowException:
        experiment = client.get_experiment_by_name(name)  # another process created it a moment ago
        if experiment is None:
            raise
        return experiment.experiment_id


def git_commit() -> str:
    """The project's git commit: ``LABELOPS_GIT_COMMIT`` when set (container images have no .git;
    docker/Dockerfile bakes it in from the build arg), else ``git rev-parse HEAD``, else "unknown"."""
    if baked := Settings().git_commit:
        return baked
    try:
        out = subprocess.run(["git", "rev-parse", "HEAD"], cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=10)
        return out.stdout.strip() or "unknown"
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def find_version(model_name: str, training_key: str) -> ModelVersion | None:
    """The version a training (by its key) already registered, if any."""
    client = MlflowClient()
    for version in client.search_model_versions(f"name = '{model_name}'"):
        if version.tags.get("training_key") == training_key:
            return version
    return None


def version_by_alias(model_name: str, alias: str) -> ModelVersion | None:
    """The version ``alias`` points at; ``None`` only when the registry says there is no such
    alias (or no such model). Any other error (a locked database, a server that does not answer)
    is raised: reading it as "no champion" would let a gate promote on the floors alone."""
    client = MlflowClient()
    try:
        return client.get_model_version_by_alias(model_name, alias)
    except mlflow.exceptions.MlflowException as error:
        if not is_not_found(error):
            raise
        if error.error_code == "RESOURCE_DOES_NOT_EXIST":
            return None
    # "alias not found" comes back as INVALID_PARAMETER_VALUE: make sure, from the model's aliases
    try:
        aliases = client.get_registered_model(model_name).aliases
    except mlflow.exceptions.MlflowException as error:
        if error.error_code == "RESOURCE_DOES_NOT_EXIST":
            return None
        raise
    if alias in aliases:  # it exists after all (set a moment ago): read it again
        return client.get_model_version(model_name, aliases[alias])
    return None


def registered_models(settings: Settings) -> list[tuple[str, str, str, str]]:
    """``(model, champion, challenger, latest version)`` of every registered model, "none" for an
    unset alias; empty before the first training (a missing SQLite database is not created)."""
    uri = settings.tracking_uri
    if uri.startswith("sqlite:///") and not Path(uri.removeprefix("sqlite:///")).exists():
        return []
    configure_mlflow(settings)
    rows = []
    for model in MlflowClient().search_registered_models():
        aliases = {alias: str(version) for alias, version in (model.aliases or {}).items()}
        latest = max((int(v.version) for v in model.latest_versions or []), default=None)
        rows.append((model.name, aliases.get("champion", "none"), aliases.get("challenger", "none"),
                     "" if latest is None else str(latest)))
    return sorted(rows)


def is_not_found(error: mlflow.exceptions.MlflowException) -> bool:
    """Whether MLflow's error says a model, version or alias does not exist (not that it failed)."""
    if error.error_code == "RESOURCE_DOES_NOT_EXIST":
        return True
    message = str(error.message).casefold()
    return error.error_code == "INVALID_PARAMETER_VALUE" and "alias" in message and "not found" in message


def log_snapshot_input(run_id: str, settings: Settings, snapshot_id: str, context: str = "training",
                       columns: list[str] | None = None) -> None:
    """Log the snapshot as the run's MLflow dataset input: its listings (schema and row count),
    the snapshot id as digest and the parquet file's URI as source."""
    import warnings

    from mlflow.data.dataset_source_registry import resolve_dataset_source
    from mlflow.entities import DatasetInput, InputTag
    from mlflow.utils.mlflow_tags import MLFLOW_DATASET_CONTEXT

    from labelops.snapshot import read_snapshot
    from labelops.storage import DataRoot

    root = DataRoot(settings.data)
    relative = catalog.snapshot_listings(snapshot_id)
    uri = Path(root.path(relative)).resolve().as_uri() if root.is_local else root.uri(relative)
    frame = read_snapshot(root, snapshot_id, columns=columns).to_pandas(maps_as_pydicts="strict")
    with warnings.catch_warnings():  # a local file reads as several kinds of source; MLflow picks one and says so
        warnings.simplefilter("ignore")
        source = resolve_dataset_source(uri)
    dataset = mlflow.data.from_pandas(frame, source=source, name=f"snapshot-{snapshot_id}", digest=snapshot_id)
    MlflowClient().log_inputs(run_id, datasets=[DatasetInput(dataset._to_mlflow_entity(),
                                                             tags=[InputTag(MLFLOW_DATASET_CONTEXT, context)])])


def describe_version(model_name: str, version: str, about: str, snapshot_id: str, run_id: str,
                     metrics: dict[str, float]) -> str:
    """Set the registered model's description (``about``: what it is) and the version's (``about``,
    the snapshot it was trained on, its held-out metrics); returns the version's."""
    client = MlflowClient()
    shown = sorted(metrics.items())
    lines = [about, "", f"Trained on snapshot `{snapshot_id}` (run `{run_id}`).", "",
             "Held-out metrics (the snapshot's val and test rows, as the gate measures them):", "",
             "| metric | value |", "|---|---|", *(f"| {k} | {v:.4f} |" for k, v in shown)]
    description = "\n".join(lines)
    client.update_registered_model(model_name, description=about)
    client.update_model_version(model_name, version, description=description)
    return description


# ------------------------------------------------------------------------- runs, seen from outside
class RunPage(BaseModel):
    """Where a person opens an MLflow run: its page on a tracking server (``url``), or, with a
    SQLite tracking URI, the ``mlflow ui`` command that serves it."""

    run_id: str
    run_name: str = ""
    experiment_id: str
    experiment_name: str
    tracking_uri: str
    url: str | None = None

    def artifact_url(self, path: str) -> str | None:
        """The MLflow UI showing the run's artifact ``path`` (None without a tracking server)."""
        return f"{self.url}/artifactPath/{path}" if self.url else None

    @property
    def ui_command(self) -> str:
        return f"mlflow ui --backend-store-uri {shlex.quote(self.tracking_uri)}"

    def to_markdown(self) -> str:
        """The run's identity and how to open it (an artifact where no link can be given)."""
        lines = [f"# MLflow run {self.run_name or self.run_id}", "",
                 *table(["", ""], [["run id", f"`{self.run_id}`"],
                                   ["experiment", f"{self.experiment_name} (id `{self.experiment_id}`)"],
                                   ["tracking URI", f"`{self.tracking_uri}`"]]), ""]
        if self.url:
            return "\n".join([*lines, f"[open the run]({self.url})"])
        return "\n".join([*lines, "Open it with the MLflow UI, then the experiment and the run id above:", "",
                          "```", self.ui_command, "```",
                          "", f"(then http://127.0.0.1:5000/#/experiments/{self.experiment_id}/runs/{self.run_id})"])


def run_page(run_id: str, settings: Settings) -> RunPage:
    """Where MLflow shows ``run_id`` (a URL when the tracking URI is an http(s) server)."""
    uri = configure_mlflow(settings)
    client = MlflowClient()
    run = client.get_run(run_id)
    experiment = client.get_experiment(run.info.experiment_id)
    url = None
    if uri.startswith(("http://", "https://")):
        url = f"{uri.rstrip('/')}/#/experiments/{run.info.experiment_id}/runs/{run_id}"
    return RunPage(run_id=run_id, run_name=run.info.run_name or "", experiment_id=run.info.experiment_id,
                   experiment_name=experiment.name, tracking_uri=uri, url=url)


def tag_run(run_id: str, tags: Mapping[str, str], settings: Settings) -> None:
    """Add ``tags`` to the run ``run_id`` (links from whatever started it, e.g. the orchestrator's run)."""
    if not tags:
        return
    configure_mlflow(settings)
    client = MlflowClient()
    for name, value in tags.items():
        client.set_tag(run_id, name, str(value)[:5000])
