"""The models labelops trains, by name (``text``, ``gan``): each one's config and its three steps,
prepare → fit in a fresh process → register (:mod:`labelops.training`). The training flow loops over them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Literal, Optional

from pydantic import BaseModel, ConfigDict, Field, create_model

from labelops.imagegen import train as gan_training
from labelops.markdown import table
from labelops.registry import IMAGE_MODEL, TEXT_MODEL
from labelops.textgen import train as text_training
from labelops.training import LogSink, TrainConfig, TrainedModel


@dataclass(frozen=True)
class Trainable:
    """One model's training: what its config is and how each step runs."""

    model_name: str
    config: type[TrainConfig]
    prepare: Callable[[Any], Path]
    launch: Callable[..., None]  # (work, timeout seconds or None, logger or None)
    register: Callable[[Path], TrainedModel]

    def fit(self, work: Path, timeout: float | None = None, logger: LogSink | None = None) -> None:
        """Lightning in a fresh process (DDP when devices > 1), unless an earlier fit finished; its
        output goes to ``logger``, and it is stopped after ``timeout`` seconds (None: no limit),
        raising :class:`labelops.training.FitTimeout` (:func:`labelops.training.launch`)."""
        if not (work / "trained.json").exists():
            self.launch(work, timeout, logger)


TRAINABLE: dict[str, Trainable] = {
    "text": Trainable(TEXT_MODEL, text_training.TextTrainConfig, text_training.prepare, text_training.launch,
                      text_training.register),
    "gan": Trainable(IMAGE_MODEL, gan_training.GanTrainConfig, gan_training.prepare, gan_training.launch,
                     gan_training.register),
}


ModelName = Literal["text", "gan"]  # the keys of TRAINABLE, as a type: forms show a choice

# Flow parameters that set these TextTrainConfig fields themselves (not part of TextOptions)
_SET_BY_THE_FLOW = ("snapshot_id", "devices", "num_nodes", "max_steps", "base_model", "feedback_until")


def _text_options() -> type[BaseModel]:
    fields: dict[str, Any] = {}
    for name, field in text_training.TextTrainConfig.model_fields.items():
        if name in _SET_BY_THE_FLOW:
            continue
        default = field.default
        about = field.description or name.replace("_", " ")
        fields[name] = (Optional[field.annotation], Field(None, description=f"{about} (default {default!r})"))  # noqa: UP045
    return create_model("TextOptions", __config__=ConfigDict(extra="forbid"),
                        __doc__="Other fields of the text generator's training config; empty: its default.", **fields)


TextOptions = _text_options()
"""The text generator's other training settings (every field of TextTrainConfig the train flow's own
parameters do not set), each optional: a form in the Prefect UI instead of a raw JSON box."""


def text_overrides(options: BaseModel | dict[str, Any] | None) -> dict[str, Any]:
    """The fields ``options`` sets (a :data:`TextOptions` or, as callers passed before, a plain dict)."""
    if options is None:
        return {}
    if isinstance(options, BaseModel):
        return options.model_dump(exclude_none=True)
    return dict(options)


def check_models(models: Iterable[str]) -> None:
    """Raise ``ValueError`` for a model name labelops does not train."""
    unknown = sorted(set(models) - set(TRAINABLE))
    if unknown:
        raise ValueError(f"unknown model(s) {unknown}; known: {list(TRAINABLE)}")


def training_configs(snapshot_id: str, models: Iterable[str], devices: int = 1, *, num_nodes: int = 1,
                     max_steps: int | None = None,
                     base_model: str | None = None, gan_steps: int | None = None, image_size: int | None = None,
                     gan_width: int | None = None, gan_prior: str | None = None,
                     text_config: BaseModel | dict[str, Any] | None = None,
                     feedback_until: Callable[[], datetime | None] = lambda: None) -> dict[str, TrainConfig]:
    """The config of each model asked for, in training order; each model's defaults where a value is
    not given. ``text_config``: any other fields of the text generator's config; ``feedback_until``
    (asked only when the text generator trains): use reviewers' feedback received up to then."""
    models = set(models)
    check_models(models)
    configs: dict[str, TrainConfig] = {}
    if "text" in models:
        overrides = {"max_steps": max_steps} if max_steps else {}
        extra = text_overrides(text_config)
        unknown_fields = sorted(set(extra) - set(text_training.TextTrainConfig.model_fields))
        if unknown_fields:
            raise ValueError(f"text_config: unknown field(s) {unknown_fields}")
        configs["text"] = text_training.TextTrainConfig(**{
            **extra, "snapshot_id": snapshot_id, "devices": devices, "num_nodes": num_nodes, "base_model": base_model,
            "feedback_until": feedback_until(), **overrides})
    if "gan" in models:
        given = {"max_steps": gan_steps, "image_size": image_size, "g_width": gan_width, "d_width": gan_width,
                 "prior": gan_prior}
        configs["gan"] = gan_training.GanTrainConfig(snapshot_id=snapshot_id, devices=devices, num_nodes=num_nodes,
                                                     **{k: v for k, v in given.items() if v})
    return configs


def training_summary(snapshot_id: str, results: dict[str, dict]) -> str:
    """Markdown: the models a training registered, with their versions, runs and metrics."""
    rows = [[result["model_name"], result["version"], f"`{result['run_id']}`",
             ", ".join(f"{k} {v:.3f}" for k, v in sorted(result["metrics"].items()))] for result in results.values()]
    return "\n".join(["# Training", "", f"snapshot `{snapshot_id}`", "",
                      *table(["model", "version", "run", "metrics"], rows)])
