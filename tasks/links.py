"""Prefect ↔ MLflow: the tags that name the Prefect run on an MLflow run, the artifacts that open
an MLflow run from the Prefect UI, and the global concurrency limits that hold across workers.

The library never imports Prefect: tasks read the run's ids here and hand them to it as plain tags.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from prefect.artifacts import create_link_artifact, create_markdown_artifact
from prefect.client.orchestration import get_client
from prefect.concurrency.sync import concurrency
from prefect.exceptions import ObjectAlreadyExists, ObjectNotFound

from labelops.registry import run_page, tag_run
from labelops.settings import get_settings

FLOW_RUN_ID = "prefect.flow_run_id"
FLOW_RUN_NAME = "prefect.flow_run_name"
FLOW_RUN_URL = "prefect.flow_run_url"
TASK_RUN_ID = "prefect.task_run_id"


def flow_run_url(flow_run_id: str) -> str | None:
    """The flow run's page in the Prefect UI (Prefect's own ``url_for``: ``PREFECT_UI_URL``, else the
    API URL without its ``/api``); None when neither is known, e.g. the ephemeral server a process
    starts for itself."""
    from prefect.utilities.urls import url_for

    return url_for("flow-run", obj_id=flow_run_id)


def prefect_run_tags() -> dict[str, str]:
    """MLflow tags naming the Prefect flow run (and task run) this code runs in; empty outside Prefect."""
    from prefect.runtime import flow_run, task_run

    tags: dict[str, str] = {}
    if flow_run.id:
        tags[FLOW_RUN_ID] = str(flow_run.id)
        if flow_run.name:
            tags[FLOW_RUN_NAME] = str(flow_run.name)
        if url := flow_run_url(str(flow_run.id)):
            tags[FLOW_RUN_URL] = url
    if task_run.id:
        tags[TASK_RUN_ID] = str(task_run.id)
    return tags


def link_mlflow_run(run_id: str, key: str, description: str, tag: bool = False) -> str:
    """An artifact ``key`` that opens the MLflow run ``run_id``: a link to its page when the tracking
    URI is an http(s) server, else markdown with the run id, the experiment and the ``mlflow ui``
    command. ``tag``: also tag the run with :func:`prefect_run_tags` (for runs the library started
    without them). Returns the artifact's URL or markdown."""
    settings = get_settings()
    if tag:
        tag_run(run_id, prefect_run_tags(), settings)
    page = run_page(run_id, settings)
    if page.url:
        create_link_artifact(key=key, link=page.url, link_text=f"MLflow run {page.run_name or run_id}",
                             description=description)
        return page.url
    markdown = page.to_markdown()
    create_markdown_artifact(key=key, markdown=markdown, description=description)
    return markdown


# ------------------------------------------------------------------------- across workers and machines
def ensure_concurrency_limit(name: str, limit: int = 1) -> None:
    """Create the global concurrency limit ``name`` (``limit`` slots) unless it exists; an existing
    one is left as it is (an operator may have changed it with ``prefect gcl update``)."""
    from prefect.client.schemas.actions import GlobalConcurrencyLimitCreate

    with get_client(sync_client=True) as client:
        try:
            client.read_global_concurrency_limit_by_name(name)
        except ObjectNotFound:
            try:
                client.create_global_concurrency_limit(GlobalConcurrencyLimitCreate(name=name, limit=limit))
            except ObjectAlreadyExists:  # another worker created it a moment ago
                pass


@contextmanager
def one_at_a_time(name: str, timeout_seconds: float | None = None) -> Iterator[None]:
    """Hold one slot of the Prefect global concurrency limit ``name`` (created with one slot on first
    use): one holder at a time among every worker that talks to this Prefect API."""
    ensure_concurrency_limit(name, 1)
    with concurrency(name, occupy=1, timeout_seconds=timeout_seconds, strict=True):
        yield


def gate_limit_name(model_name: str) -> str:
    return f"labelops-gate-{model_name}"


RETRAIN_TRIGGER_LIMIT = "labelops-retrain-trigger"
"""The global concurrency limit of the retraining decision: one decision (and its trigger) at a time."""
