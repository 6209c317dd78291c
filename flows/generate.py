"""The generation flow: promote a model only after it passes evaluation, then label every product.

    labelops generate [--snapshot ID]
"""

from __future__ import annotations

from prefect import flow, get_run_logger
from prefect.artifacts import create_link_artifact, create_markdown_artifact

from labelops.evaluation import EVALUATORS
from labelops.gate import GateResult
from labelops.labelling import LabelRun
from labelops.settings import get_settings
from labelops.snapshot import latest_snapshot_id
from labelops.storage import DataRoot
from tasks.generate import freeze_test_split, gate_model, label_products


def decision_markdown(snapshot_id: str, gates: list[GateResult]) -> str:
    """The gate's decisions as a markdown table per model (the flow's artifact)."""
    lines = ["# Gate", "", f"snapshot `{snapshot_id}`", ""]
    for gate in gates:
        verdict = f"**promoted** version {gate.challenger_version}" if gate.promoted else \
            f"champion unchanged (version {gate.champion_after or 'none'})"
        lines += [f"## {gate.model_name}: {verdict}", "", gate.summary, ""]
        if gate.decision:
            champion = gate.decision.champion or {}
            lines += [f"| metric | challenger v{gate.challenger_version} | champion "
                      f"{'v' + gate.champion_before if gate.champion_before else '(none)'} |", "|---|---:|---:|"]
            lines += [f"| {m} | {v:.4f} | {champion[m]:.4f} |" if m in champion else f"| {m} | {v:.4f} | |"
                      for m, v in gate.decision.challenger.items()]
            lines += ["", *[f"- {'✔' if c.passed else '✘'} {c.reason}" for c in gate.decision.checks], ""]
    return "\n".join(lines)


@flow(name="generate", log_prints=True)
def generate(snapshot_id: str | None = None) -> LabelRun:
    """Evaluate → gate → promote (or not) → generate labels → validate → report, on ``snapshot_id``
    (default: the latest snapshot). If the gate refuses, labels are still written with the
    unchanged champion; with no champion at all, the run fails saying so."""
    logger = get_run_logger()
    snapshot_id = snapshot_id or latest_snapshot_id(DataRoot(get_settings().data))
    if snapshot_id is None:
        raise ValueError("no snapshot to label: run `labelops ingest` first")
    evaluation = freeze_test_split(snapshot_id)
    gates = [gate_model(model_name, evaluation) for model_name in EVALUATORS]
    for gate in gates:
        if gate.promoted:
            logger.info("%s: version %s promoted to champion (%s)", gate.model_name, gate.challenger_version, gate.summary)
        else:
            logger.warning("%s: gate did not promote; champion stays %s (%s)", gate.model_name,
                           gate.champion_after or "none", gate.summary)
    create_markdown_artifact(key="gate-decision", markdown=decision_markdown(snapshot_id, gates),
                             description="The gate's decision and both models' metrics")
    run = label_products(snapshot_id, gates)
    create_markdown_artifact(key="labels-summary", description="Labels written", markdown="\n".join([
        "# Labels", "", f"run `{run.run_id}` on snapshot `{snapshot_id}`", "",
        "| | |", "|---|---|", f"| valid labels | {run.counts.valid} |", f"| quarantined | {run.counts.quarantined} |",
        f"| flagged hallucinated | {run.counts.hallucinated} |", f"| generated images | {run.counts.generated_images} |",
        f"| text model | {run.text_model_version} |", f"| image model | {run.image_model_version or 'none'} |",
        f"| labels | `{run.labels}` |", f"| report | `{run.report}` |"]))
    create_link_artifact(key="labels-report", link=run.report if "://" in run.report else f"file://{run.report}",
                         link_text="labels report", description="The labels report of this run")
    logger.info("labels: %s; report: %s", run.labels, run.report)
    return run
