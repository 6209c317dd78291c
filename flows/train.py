"""The training flow: train the models on a snapshot and register them as challengers.

    labelops train [--snapshot ID] [--models text,gan] [--devices N] [--max-steps N] [--gan-steps N]
"""

from __future__ import annotations

from typing import Any

from prefect import flow, get_run_logger
from prefect.artifacts import create_markdown_artifact

from flows.chaining import chain_generate
from labelops.feedback_training import latest_received
from labelops.imagegen.train import GanTrainConfig
from labelops.settings import get_settings
from labelops.snapshot import latest_snapshot_id
from labelops.storage import DataRoot
from labelops.textgen.train import TextTrainConfig
from tasks.train import (fit_image_gan, fit_text_generator, prepare_gan_training, prepare_text_training,
                         register_image_gan, register_text_generator)

KNOWN_MODELS = ("text", "gan")


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
    unknown = sorted(set(models) - set(KNOWN_MODELS))
    if unknown:
        raise ValueError(f"unknown model(s) {unknown}; known: {list(KNOWN_MODELS)}")
    snapshot_id = snapshot_id or latest_snapshot_id(DataRoot(get_settings().data))
    if snapshot_id is None:
        raise ValueError("no snapshot to train on: run `labelops ingest` first")
    results: dict[str, dict] = {}
    if "text" in models:
        overrides = {"max_steps": max_steps} if max_steps else {}
        extra = dict(text_config or {})
        unknown_fields = sorted(set(extra) - set(TextTrainConfig.model_fields))
        if unknown_fields:
            raise ValueError(f"text_config: unknown field(s) {unknown_fields}")
        feedback_until = latest_received(DataRoot(get_settings().data)) if use_feedback else None
        config = TextTrainConfig(**{**extra, "snapshot_id": snapshot_id, "devices": devices, "base_model": base_model,
                                    "feedback_until": feedback_until, **overrides})
        work = prepare_text_training(config)
        fit_text_generator(work)
        results["text"] = {**register_text_generator(work).model_dump(), "snapshot_id": snapshot_id}
    if "gan" in models:
        given = {"max_steps": gan_steps, "image_size": image_size, "g_width": gan_width, "d_width": gan_width}
        config = GanTrainConfig(snapshot_id=snapshot_id, devices=devices, **{k: v for k, v in given.items() if v})
        work = prepare_gan_training(config)
        fit_image_gan(work)
        results["gan"] = {**register_image_gan(work).model_dump(), "snapshot_id": snapshot_id}
    lines = ["# Training", "", f"snapshot `{snapshot_id}`", "", "| model | version | run | metrics |", "|---|---|---|---|"]
    for result in results.values():
        metrics = ", ".join(f"{k} {v:.3f}" for k, v in sorted(result["metrics"].items()))
        lines.append(f"| {result['model_name']} | {result['version']} | `{result['run_id']}` | {metrics} |")
    create_markdown_artifact(key="training-summary", markdown="\n".join(lines), description="Models trained")
    logger.info("trained %s on snapshot %s", ", ".join(results), snapshot_id)
    return results
