"""Chaining: a training that ran *as a deployment* runs the generate deployment (the gate) when it
completes; an embedded one (``labelops train``, the demo) does not.

:func:`chain_generate` is the train flow's ``on_completion`` hook; :func:`should_chain_generate` is the rule.
"""

from __future__ import annotations

import logging
from typing import Any

from labelops.settings import get_settings

log = logging.getLogger(__name__)


def should_chain_generate(flow_run: Any, state: Any) -> bool:
    """The chaining rule: chain the gate after a *completed* training that ran as a deployment.

    A deployment run (schedule, feedback trigger, UI, ``prefect deployment run``) has a
    ``deployment_id``; ``labelops train`` and the demo's training subflow have none, and the
    demo runs generate itself, so they never chain.
    """
    return bool(state.is_completed()) and getattr(flow_run, "deployment_id", None) is not None


def chain_generate(flow: Any, flow_run: Any, state: Any) -> None:
    """``on_completion`` hook of the train flow: run the generate deployment on the same snapshot.

    Does not wait for it (``timeout=0``): the gate is its own run, limited to one at a time.
    """
    if not should_chain_generate(flow_run, state):
        return
    from prefect.deployments import run_deployment
    from prefect.exceptions import ObjectNotFound
    from prefect.logging.loggers import flow_run_logger

    settings = get_settings()
    parameters = {"snapshot_id": trained_snapshot(flow_run, state)}
    logger = flow_run_logger(flow_run, flow) if flow is not None else log  # shows in the run's logs in the UI
    try:
        run = run_deployment(settings.generate_deployment, parameters=parameters, timeout=0, as_subflow=False,
                             tags=["chained"], idempotency_key=f"chained-from-{flow_run.id}")
    except ObjectNotFound:
        logger.error("training completed but deployment %s does not exist, so no gate runs: register it "
                     "(`labelops deploy` or `labelops serve`) or set LABELOPS_GENERATE_DEPLOYMENT",
                     settings.generate_deployment)
        return
    logger.info("training %s completed: started %s (flow run %s) on snapshot %s", flow_run.name,
             settings.generate_deployment, run.id, parameters["snapshot_id"] or "latest")


def trained_snapshot(flow_run: Any, state: Any) -> str | None:
    """The snapshot the training used: its ``snapshot_id`` parameter, else the one its result names."""
    snapshot = (flow_run.parameters or {}).get("snapshot_id")
    if snapshot:
        return snapshot
    try:
        result = state.result(raise_on_failure=False)
    except Exception:  # noqa: BLE001 - a result that cannot be read: fall back to the latest snapshot
        return None
    if isinstance(result, dict):
        for model in result.values():
            if isinstance(model, dict) and model.get("snapshot_id"):
                return model["snapshot_id"]
    return None
