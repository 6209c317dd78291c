"""The training flow: train the models on a snapshot and register them as challengers.

    labelops train [--snapshot ID] [--models text,gan] [--devices N] [--max-steps N] [--gan-steps N]
"""

from __future__ import annotations

from typing import Literal

from prefect import flow, get_run_logger
from prefect.artifacts import create_markdown_artifact

from flows.chaining import label_trained_snapshot
from labelops.feedback_training import latest_received
from labelops.models import TRAINABLE, ModelName, TextOptions, check_models, training_configs, training_summary
from labelops.settings import get_settings
from labelops.snapshot import snapshot_or_latest
from labelops.storage import DataRoot
from tasks.train import fit_model, prepare_training, register_model

KNOWN_MODELS = tuple(TRAINABLE)


ImageSize = Literal[16, 32, 64, 128]  # powers of two the GAN builds (labelops.imagegen.model); 16 is for tests


# Run as the train deployment, a completed training starts the generate deployment (the gate) on its
# snapshot through the generate deployment's event trigger (deployments/prefect.yaml); `labelops train`
# and the demo are no deployment runs, so they do not (the trigger matches the train deployment).
@flow(name="train", log_prints=True)
def train(
    snapshot_id: str | None = None,
    models: list[ModelName] = ["text", "gan"],  # noqa: B006 - Prefect shows the default in the UI form
    devices: int = 1,
    max_steps: int | None = None,
    base_model: str | None = None,
    gan_steps: int | None = None,
    image_size: ImageSize | None = None,
    gan_width: int | None = None,
    text_config: TextOptions | None = None,  # a plain dict of the same fields is accepted too
    use_feedback: bool = True,
    fit_timeout_minutes: float = 180,
) -> dict[str, dict]:
    """Train ``models`` on ``snapshot_id`` (default: the latest snapshot) and register each as ``challenger``.

    Args:
        snapshot_id: the snapshot to train on (empty: the latest one)
        models: which models to train: "text" (the product description generator) and/or "gan"
            (the conditional image GAN)
        devices: devices per model (GPUs, or CPU processes); more than 1 trains with Lightning DDP
        max_steps: text generator: optimizer steps (empty: 400)
        base_model: text generator: fine-tune this pretrained causal LM (hub name or local path)
            instead of training a small GPT-2 from scratch
        gan_steps: GAN: training iterations (empty: 1500)
        image_size: GAN: image side in pixels (empty: 64)
        gan_width: GAN: generator and discriminator width (empty: 16)
        text_config: text generator: any other training settings (model size, batch size, learning
            rate, pretraining steps, …); empty fields keep their defaults
        use_feedback: reviewers' edits (and accepted labels of products without a description) join
            the text generator's training data
        fit_timeout_minutes: stop a model's fit (all its processes) after this many minutes and fail
            the run; a rerun resumes from the fit's last checkpoint (0: no limit)
    """
    logger = get_run_logger()
    check_models(models)
    root = DataRoot(get_settings().data)
    snapshot_id = snapshot_or_latest(root, snapshot_id, "train on")
    label_trained_snapshot(snapshot_id)
    configs = training_configs(snapshot_id, models, devices, max_steps=max_steps, base_model=base_model,
                               gan_steps=gan_steps, image_size=image_size, gan_width=gan_width, text_config=text_config,
                               feedback_until=lambda: latest_received(root) if use_feedback else None)
    results: dict[str, dict] = {}
    for model, config in configs.items():
        work = prepare_training(model, config)
        fit_model(model, work, fit_timeout_minutes)
        results[model] = {**register_model(model, work).model_dump(), "snapshot_id": snapshot_id}
    create_markdown_artifact(key="training-summary", markdown=training_summary(snapshot_id, results),
                             description="Models trained")
    logger.info("trained %s on snapshot %s", ", ".join(results), snapshot_id)
    return results
