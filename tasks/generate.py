"""Tasks of the generation flow: evaluate and gate each model, then label with the champions.

Each MLflow run they start carries the Prefect run's ids (:func:`tasks.links.prefect_run_tags`), and
each task leaves an artifact that opens its MLflow run. The gate of a model holds the Prefect global
concurrency limit ``labelops-gate-<model>`` (one slot) besides the library's lock per model.
"""

from __future__ import annotations

from prefect import task
from prefect.artifacts import create_link_artifact, create_table_artifact

from labelops import gate as gating
from labelops import labelling
from labelops.evaluation import EvaluationSet
from labelops.registry import run_page
from labelops.settings import get_settings
from labelops.storage import DataRoot
from tasks.links import gate_limit_name, link_mlflow_run, one_at_a_time, prefect_run_tags


@task(name="freeze test split", cache_policy=None)
def freeze_test_split(snapshot_id: str) -> EvaluationSet:
    return EvaluationSet.of_snapshot(DataRoot(get_settings().data), snapshot_id)


def _artifact_key(*parts: str) -> str:
    """Artifact keys: lowercase letters, digits and dashes."""
    return "-".join("".join(c if c.isalnum() else "-" for c in part.lower()) for part in parts)


@task(name="evaluate and gate", cache_policy=None, task_run_name="gate {model_name}")
def gate_model(model_name: str, evaluation: EvaluationSet) -> gating.GateResult:
    """Challenger vs champion on the same rows → decision (an MLflow run) → promotion or not."""
    with one_at_a_time(gate_limit_name(model_name)):
        result = gating.run_gate(model_name, evaluation, tags=prefect_run_tags())
    if result.run_id:
        link_mlflow_run(result.run_id, _artifact_key("gate-run", model_name),
                        f"The MLflow run of {model_name}'s gate decision")
    return result


@task(name="label products", cache_policy=None)
def label_products(snapshot_id: str, gates: list[gating.GateResult], cluster: str | None = None) -> labelling.LabelRun:
    """Generate, validate and store labels for every listing, and write the report; on the Dask
    ``cluster`` (a scheduler address or ``local:N``; None: the ``LABELOPS_LABEL_CLUSTER`` setting,
    empty: this process)."""
    run = labelling.label_snapshot(snapshot_id, gates, tags=prefect_run_tags(), cluster=cluster)
    link_mlflow_run(run.run_id, "labels-run", "The MLflow run of these labels (report.html, summary, metrics)")
    return run


def gate_table_artifact(gates: list[gating.GateResult]) -> None:
    """The gate's checks as a table: one row per check of every model."""
    create_table_artifact(key="gate-checks", table=gating.decision_rows(gates),
                          description="Each check of the gate: challenger, what it was compared with, gain, "
                                      "interval, verdict")


def label_counts_artifact(run: labelling.LabelRun) -> None:
    create_table_artifact(key="labels-counts", table=[{"what": what, "count": n} for what, n in run.count_rows()],
                          description="What the labels run counted")


def labels_report_artifact(run: labelling.LabelRun) -> str:
    """A link to the labels report a browser opens: an http(s) report as it is; with an MLflow
    tracking server, the run's ``report.html`` in the MLflow UI (the run keeps a copy); else the
    file itself (``file://``, on this machine). Returns the link."""
    link = run.report
    if not link.startswith(("http://", "https://")) and get_settings().tracking_uri.startswith(("http://", "https://")):
        link = run_page(run.run_id, get_settings()).artifact_url("report.html") or link
    if "://" not in link:
        link = f"file://{link}"
    create_link_artifact(key="labels-report", link=link, link_text="labels report",
                         description="The labels report of this run")
    return link
