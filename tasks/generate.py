"""Tasks of the generation flow: evaluate and gate each model, then label with the champions."""

from __future__ import annotations

from prefect import task

from labelops import gate as gating
from labelops import labelling
from labelops.evaluation import EvaluationSet
from labelops.settings import get_settings
from labelops.storage import DataRoot


@task(name="freeze test split", cache_policy=None)
def freeze_test_split(snapshot_id: str) -> EvaluationSet:
    return EvaluationSet.of_snapshot(DataRoot(get_settings().data), snapshot_id)


@task(name="evaluate and gate", cache_policy=None, task_run_name="gate {model_name}")
def gate_model(model_name: str, evaluation: EvaluationSet) -> gating.GateResult:
    """Challenger vs champion on the same rows → decision (an MLflow run) → promotion or not."""
    return gating.run_gate(model_name, evaluation)


@task(name="label products", cache_policy=None)
def label_products(snapshot_id: str, gates: list[gating.GateResult]) -> labelling.LabelRun:
    """Generate, validate and store labels for every listing, and write the report."""
    return labelling.label_snapshot(snapshot_id, gates)
