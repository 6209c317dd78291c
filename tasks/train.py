"""Tasks of the training flow, one model at a time (:data:`labelops.models.TRAINABLE`): prepare
in-process, fit in a subprocess, register in-process."""

from __future__ import annotations

from pathlib import Path

from prefect import task

from labelops.models import TRAINABLE
from labelops.training import TrainConfig, TrainedModel


@task(name="prepare training", cache_policy=None, task_run_name="prepare {model} training")
def prepare_training(model: str, config: TrainConfig) -> Path:
    return TRAINABLE[model].prepare(config)


@task(name="fit", cache_policy=None, retries=1, retry_delay_seconds=5, task_run_name="fit {model}")
def fit_model(model: str, work: Path) -> Path:
    """Lightning in a fresh process (DDP when devices > 1); a retry resumes from the last checkpoint."""
    TRAINABLE[model].fit(work)
    return work


@task(name="register", cache_policy=None, task_run_name="register {model}")
def register_model(model: str, work: Path) -> TrainedModel:
    """Register the trained model (the GAN is evaluated first) as ``challenger``."""
    return TRAINABLE[model].register(work)
