"""The generation flow: promote a model only after it passes evaluation, then label every product.

    labelops generate [--snapshot ID] [--cluster tcp://HOST:8786 | --cluster local:N]
"""

from __future__ import annotations

from prefect import flow, get_run_logger
from prefect.artifacts import create_markdown_artifact

from labelops.evaluation import EVALUATORS
from labelops.gate import decisions_markdown
from labelops.labelling import LabelRun
from labelops.settings import get_settings
from labelops.snapshot import snapshot_or_latest
from labelops.storage import DataRoot
from tasks.generate import (freeze_test_split, gate_model, gate_table_artifact, label_counts_artifact, label_products,
                            labels_report_artifact)


@flow(name="generate", log_prints=True)
def generate(snapshot_id: str | None = None, cluster: str | None = None) -> LabelRun:
    """Evaluate → gate → promote (or not) → generate labels → validate → report, on ``snapshot_id``
    (default: the latest snapshot). The gate also decides who writes: the champion when it beats
    the baselines on the held-out rows, otherwise the best baseline (and the artifacts say so).

    Args:
        snapshot_id: the snapshot to gate on and label (empty: the latest one)
        cluster: where labels are computed: a Dask scheduler (tcp://host:8786) or local:N worker
            processes; empty: the LABELOPS_LABEL_CLUSTER setting (itself empty: in this process)
    """
    logger = get_run_logger()
    snapshot_id = snapshot_or_latest(DataRoot(get_settings().data), snapshot_id, "label")
    evaluation = freeze_test_split(snapshot_id)
    gates = [gate_model(model_name, evaluation) for model_name in EVALUATORS]
    for gate in gates:
        if gate.promoted:
            logger.info("%s: version %s promoted to champion (%s)", gate.model_name, gate.challenger_version, gate.summary)
        else:
            logger.warning("%s: gate did not promote; champion stays %s (%s)", gate.model_name,
                           gate.champion_after or "none", gate.summary)
        if gate.writer and gate.writer.system != "model":
            logger.warning("%s: labels are written by %s: %s", gate.model_name, gate.writer, gate.writer.reason)
    create_markdown_artifact(key="gate-decision", markdown=decisions_markdown(snapshot_id, gates),
                             description="The gate's decisions, who writes the labels, every system's metrics")
    gate_table_artifact(gates)
    run = label_products(snapshot_id, gates, cluster or None)
    create_markdown_artifact(key="labels-summary", markdown=run.to_markdown(), description="Labels written")
    label_counts_artifact(run)
    labels_report_artifact(run)
    logger.info("labels: %s; report: %s", run.labels, run.report)
    return run
