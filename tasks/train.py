"""Tasks of the training flow: prepare in-process, fit in a subprocess, register in-process."""

from __future__ import annotations

from pathlib import Path

from prefect import task

from labelops.imagegen import train as gan_training
from labelops.textgen import train as text_training
from labelops.training import TrainedModel


@task(name="prepare text training", cache_policy=None)
def prepare_text_training(config: text_training.TextTrainConfig) -> Path:
    return text_training.prepare(config)


@task(name="fit text generator", cache_policy=None, retries=1, retry_delay_seconds=5)
def fit_text_generator(work: Path) -> Path:
    """Lightning in a fresh process (DDP when devices > 1); a retry resumes from the last checkpoint."""
    if not (work / "trained.json").exists():
        text_training.launch(work)
    return work


@task(name="register text generator", cache_policy=None)
def register_text_generator(work: Path) -> TrainedModel:
    return text_training.register(work)


@task(name="prepare GAN training", cache_policy=None)
def prepare_gan_training(config: gan_training.GanTrainConfig) -> Path:
    return gan_training.prepare(config)


@task(name="fit image GAN", cache_policy=None, retries=1, retry_delay_seconds=5)
def fit_image_gan(work: Path) -> Path:
    """Lightning in a fresh process (DDP when devices > 1); a retry resumes from the last checkpoint."""
    if not (work / "trained.json").exists():
        gan_training.launch(work)
    return work


@task(name="evaluate and register image GAN", cache_policy=None)
def register_image_gan(work: Path) -> TrainedModel:
    return gan_training.register(work)
