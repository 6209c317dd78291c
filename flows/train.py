"""The training flow: train the models on a snapshot and register them as challengers.

    labelops train [--snapshot ID] [--models text,gan] [--devices N] [--max-steps N] [--gan-steps N]
"""

from __future__ import annotations

from typing import Any

from prefect import flow, get_run_logger
from prefect.artifacts import create_markdown_artifact

from flows.chaining import chain_generate
from labelops.feedback_training import latest_received
from labelops.models import TRAINABLE, check_models, training_configs, training_summary
from labelops.settings import get_settings
from labelops.snapshot import snapshot_or_latest
from labelops.storage import DataRoot
from tasks.train import fit_model, prepare_training, register_model

KNOWN_MODELS = tuple(TRAINABLE)


# Run as a deployment, a completed training runs the generate deployment (the gate) on its snapshot;
# `labelops train` and the demo do not (flows.chaining.should_chain_generate).
@flow(name="train", log_prints=True, on_completion=[chain_generate])
def train(
    snapshot_id: str | None = None,
    models: list[str] = ["text", "gan"],  # noqa: B006 - Prefect shows the default in the UI form
    devices: int = 1,
    max_steps: int | None = None,
    base_model: str | None = None,
    gan_steps: int | None = None,
    image_size: int | None = None,
    gan_width: int | None = None,
    text_config: dict[str, Any] | None = None,
    use_feedback: bool = True,
) -> dict[str, dict]:
    """Train ``models`` on ``snapshot_id`` (default: the latest snapshot) and register each as ``challenger``.

    ``devices`` > 1 trains with DDP. Text: ``max_steps``, and ``base_model`` (hub name or local
    path) fine-tunes a pretrained causal LM instead of training a small GPT-2 from scratch. GAN:
    ``gan_steps`` iterations, ``image_size`` (32, 64, 128) and ``gan_width`` (generator and
    discriminator width); the GAN config's defaults where not given. ``text_config``: any other
    fields of the text generator's TextTrainConfig (e.g. ``{"n_layer": 2, "n_embd": 64}``).
    ``use_feedback``: reviewers' edits (and accepted labels of products without a description)
    join the text generator's training data (labelops.feedback_training.apply_to_training).
    """
    logger = get_run_logger()
    check_models(models)
    root = DataRoot(get_settings().data)
    snapshot_id = snapshot_or_latest(root, snapshot_id, "train on")
    configs = training_configs(snapshot_id, models, devices, max_steps=max_steps, base_model=base_model,
                               gan_steps=gan_steps, image_size=image_size, gan_width=gan_width, text_config=text_config,
                               feedback_until=lambda: latest_received(root) if use_feedback else None)
    results: dict[str, dict] = {}
    for model, config in configs.items():
        work = prepare_training(model, config)
        fit_model(model, work)
        results[model] = {**register_model(model, work).model_dump(), "snapshot_id": snapshot_id}
    create_markdown_artifact(key="training-summary", markdown=training_summary(snapshot_id, results),
                             description="Models trained")
    logger.info("trained %s on snapshot %s", ", ".join(results), snapshot_id)
    return results
