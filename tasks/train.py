"""Tasks of the training flow, one model at a time (:data:`labelops.models.TRAINABLE`): prepare
in-process, fit in a subprocess, register in-process."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from prefect import get_run_logger, task

from labelops.models import TRAINABLE
from labelops.settings import get_settings
from labelops.training import FitTimeout, TrainConfig, TrainedModel, await_preparation, prepared_run_id
from tasks.links import link_mlflow_run


@task(name="prepare training", cache_policy=None, task_run_name="prepare {model} training")
def prepare_training(model: str, config: TrainConfig) -> Path:
    """Prepare the work folder and the MLflow run; the run gets the Prefect run's ids as tags, and
    this task an artifact that opens the run."""
    work = TRAINABLE[model].prepare(config)
    link_mlflow_run(prepared_run_id(work), f"training-run-{model}", f"The MLflow run of the {model} training",
                    tag=True)
    return work


@task(name="wait for node 0", cache_policy=None, task_run_name="wait for node 0's {model} training")
def wait_for_node_zero(model: str, config: TrainConfig) -> Path:
    """On a node other than node 0 of a multi-node training: the work folder, once node 0 has prepared
    it (at most LABELOPS_NODE_WAIT_MINUTES; the nodes must share the work folders)."""
    return await_preparation(model, config, get_settings())


def _not_after_a_timeout(task: Any, task_run: Any, state: Any) -> bool:
    """Retry a crashed fit (it resumes from its last checkpoint), never one that ran out of time."""
    try:
        error = state.result(raise_on_failure=False)
    except Exception:  # noqa: BLE001 - an unreadable result: retry as before
        return True
    return not isinstance(error, FitTimeout)


@task(name="fit", cache_policy=None, retries=1, retry_delay_seconds=5, retry_condition_fn=_not_after_a_timeout,
      task_run_name="fit {model}")
def fit_model(model: str, work: Path, timeout_minutes: float = 0) -> Path:
    """Lightning in a fresh process (DDP when devices > 1); its log and progress lines go to this task
    run's log. After ``timeout_minutes`` (0: no limit) every process of the fit is stopped and the task
    fails, naming the checkpoint a rerun resumes from; a crash is retried once (resuming from it; on
    several nodes, a retry waits up to LABELOPS_DDP_TIMEOUT_MINUTES for the lost node to come back)."""
    TRAINABLE[model].fit(work, timeout=timeout_minutes * 60 or None, logger=get_run_logger())
    return work


@task(name="register", cache_policy=None, task_run_name="register {model}")
def register_model(model: str, work: Path) -> TrainedModel:
    """Register the trained model (the GAN is evaluated first) as ``challenger``."""
    return TRAINABLE[model].register(work)
