"""The feedback flow: reviewers' verdicts in, and a new training when they call for one.

    labelops feedback [FILE ...]

Collect the inbox (and FILE) → validate → store → decide whether to retrain → trigger. With a
Prefect API that has the training deployment (``LABELOPS_TRAIN_DEPLOYMENT``), the trigger is a
run of that deployment (its chained generation run gates the new challenger); in the embedded
default, training and generation run here as subflows. Either way the new model must pass the gate.
"""

from __future__ import annotations

from prefect import flow, get_run_logger
from prefect.artifacts import create_markdown_artifact

from flows.generate import generate
from flows.train import train
from labelops.feedback import collection_lock
from labelops.settings import get_settings
from labelops.storage import DataRoot
from tasks.feedback import collect, decide, run_training_deployment, store, training_deployment, validate


@flow(name="feedback", log_prints=True)
def feedback(path: str | None = None, trigger: bool = True, max_steps: int | None = None) -> dict:
    """Collect reviewers' feedback from the inbox (and ``path``: a JSON-lines file, local or any
    fsspec URL), store what is valid, quarantine the rest, and decide whether to retrain.

    Args:
        path: a JSON-lines file of verdicts to collect besides the inbox (a local path or any fsspec
            URL; empty: the inbox only)
        trigger: start a training when the retraining rule says so (false: decide and report only)
        max_steps: text generator's optimizer steps of a triggered training (empty: its default)
    """
    logger = get_run_logger()
    with collection_lock(DataRoot(get_settings().data)):  # one collection at a time, across machines
        batch = store(validate(collect([path] if path else [])))
    create_markdown_artifact(key="feedback-batch", markdown=batch.to_markdown(), description="Feedback collected")
    decision = decide(record=trigger)
    create_markdown_artifact(key="retraining-decision", markdown=decision.to_markdown(),
                             description="Whether reviewers' feedback calls for a new training")
    logger.info(decision.summary)
    result = {"batch": batch.model_dump(), "decision": decision.model_dump(mode="json"), "training": None,
              "deployment_run": None, "labels": None}
    if not decision.trigger:
        return result
    parameters = {"snapshot_id": decision.snapshot_id, "models": decision.models,
                  **({"max_steps": max_steps} if max_steps else {})}
    deployment = training_deployment()
    if deployment:
        result["deployment_run"] = run_training_deployment(deployment, parameters)
        logger.info("started a run of deployment %s: flow run %s", deployment, result["deployment_run"])
        return result
    logger.info("no training deployment reachable: training here, then the gate")
    result["training"] = train(**parameters)
    labels = generate(snapshot_id=decision.snapshot_id)
    result["labels"] = labels.model_dump()
    return result
