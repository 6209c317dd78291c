"""The conditional GAN as an MLflow pyfunc model: product images by category, and an image tagger.

    model = mlflow.pyfunc.load_model("models:/product-image-gan@challenger")
    model.predict(pd.DataFrame({"category": ["Clothing > T-Shirts", "Electronics > Watches"]}))
        # -> category, image (base64 PNG), one generated image per row; params={"seed": 3}
    model.predict(pd.DataFrame({"category": ["Clothing > T-Shirts"], "colour": ["red"]}))
        # -> the same, in a colour of the model's vocabulary (empty or unknown: any colour)
    model.predict(pd.DataFrame({"category": ["Clothing", "Electronics"]}), params={"task": "grid", "per_category": 8})
        # -> one row: categories, image (base64 PNG grid, one row per category)
    model.predict(pd.DataFrame({"image": [png_bytes_or_base64_or_path]}))
        # -> category, confidence (the discriminator's classifier)

The task is ``params["task"]`` ("generate", "grid", "tag"), else "tag" when the input has an
``image`` column and "generate" otherwise. ``model.unwrap_python_model().gan`` is the plain
:class:`TrainedGan`.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import mlflow.pyfunc
import pandas as pd
import torch
from mlflow.models import ModelSignature
from mlflow.types.schema import AnyType, Array, ColSpec, ParamSchema, ParamSpec, Schema
from PIL import Image

from labelops.imagegen.data import (denormalise, grid_image, normalise, open_image, pil_to_uint8, png_bytes, to_square,
                                    uint8_to_pil)
from labelops.imagegen.model import ARCHITECTURES

SIGNATURE = ModelSignature(
    inputs=Schema([
        ColSpec("string", "category", required=False),  # generate, grid: one of the model's categories
        ColSpec("string", "colour", required=False),  # generate, grid: a colour of the model's (else any colour)
        ColSpec(AnyType(), "image", required=False),  # tag: PNG/JPEG bytes, base64 or a path
    ]),
    outputs=Schema([  # generate: category, image; grid: categories, image; tag: category, confidence
        ColSpec("string", "category", required=False),
        ColSpec("string", "image", required=False),  # base64 PNG
        ColSpec(Array("string"), "categories", required=False),
        ColSpec("double", "confidence", required=False),
    ]),
    params=ParamSchema([
        ParamSpec("task", "string", "auto"),
        ParamSpec("per_category", "long", 8),
        ParamSpec("seed", "long", 0),
    ]),
)


def input_example(classes: Sequence[str], seed: int = 0) -> tuple[pd.DataFrame, dict[str, Any]]:
    """The model's input example: a request for one image of each of (at most two of) its
    categories, with the seed."""
    return pd.DataFrame({"category": list(classes[:2])}), {"seed": seed}


class TrainedGan:
    """The EMA generator and the discriminator of a training's ``final/`` folder, on CPU, in eval mode.

    ``classes``: the categories it draws ("Clothing > T-Shirts"); ``colours``: the colours it can be
    asked for (empty for a model trained before colours)."""

    def __init__(self, generator: torch.nn.Module, discriminator: torch.nn.Module, classes: list[str],
                 colours: Sequence[str] = ()):
        self.generator, self.discriminator, self.classes = generator.eval(), discriminator.eval(), classes
        self.colours = list(colours)
        self._index = {c.casefold(): i for i, c in enumerate(classes)}
        self._colour_index = {c.casefold(): i for i, c in enumerate(self.colours)}

    @classmethod
    def load(cls, folder: str | Path) -> TrainedGan:
        folder = Path(folder)
        meta = json.loads((folder / "meta.json").read_text())
        colours = list(meta.get("colours", []))
        generator_class, discriminator_class = ARCHITECTURES[meta.get("arch", "dcgan")]
        generator = generator_class(len(meta["classes"]), meta["image_size"], meta["z_dim"], meta["g_width"],
                                    len(colours), meta.get("prior_size", 0))
        generator.load_state_dict(torch.load(folder / "generator.pt", map_location="cpu", weights_only=True))
        discriminator = discriminator_class(len(meta["classes"]), meta["image_size"], meta["d_width"], len(colours))
        discriminator.load_state_dict(torch.load(folder / "discriminator.pt", map_location="cpu", weights_only=True))
        return cls(generator, discriminator, meta["classes"], colours)

    @property
    def image_size(self) -> int:
        return self.generator.image_size

    def class_ids(self, categories: Sequence[str]) -> torch.Tensor:
        unknown = sorted({c for c in categories if str(c).casefold() not in self._index})
        if unknown:
            raise ValueError(f"unknown categor{'y' if len(unknown) == 1 else 'ies'} {unknown}; known: {self.classes}")
        return torch.tensor([self._index[str(c).casefold()] for c in categories], dtype=torch.long)

    def colour_ids(self, colours: Sequence[str | None] | None, n: int) -> torch.Tensor | None:
        """Colour labels (-1: any colour: None, empty, or not one of :attr:`colours`); None for a
        model without colours or when no colour is asked for."""
        if not self.colours or colours is None:
            return None
        if len(colours) != n:
            raise ValueError(f"{len(colours)} colours for {n} categories")
        return torch.tensor([self._colour_index.get(_colour_key(c), -1) for c in colours], dtype=torch.long)

    @torch.no_grad()
    def generate(self, categories: Sequence[str], seed: int = 0,
                 colours: Sequence[str | None] | None = None) -> torch.Tensor:
        """One image per requested category (in the requested colour, where it is one the model
        knows; else any colour): N×3×S×S uint8."""
        colour_labels = self.colour_ids(colours, len(categories))
        return denormalise(self.generator.sample(self.class_ids(categories), torch.Generator().manual_seed(seed),
                                                 colour_labels))

    def grid(self, categories: Sequence[str], per_category: int = 8, seed: int = 0,
             colours: Sequence[str | None] | None = None) -> Image.Image:
        """One row of ``per_category`` images for each category (and colour, when given)."""
        repeated = [c for c in categories for _ in range(per_category)]
        colours = None if colours is None else [c for c in colours for _ in range(per_category)]
        return grid_image(self.generate(repeated, seed, colours), per_category)

    @torch.no_grad()
    def tag(self, images: Sequence[Any]) -> list[tuple[str, float]]:
        """(category, confidence) of each image (bytes, base64, path or PIL), from the discriminator's classifier."""
        if not images:
            return []
        pixels = torch.stack([pil_to_uint8(to_square(open_image(image), self.image_size)) for image in images])
        probabilities = torch.softmax(self.discriminator.classify(normalise(pixels)), dim=1)
        confidence, index = probabilities.max(dim=1)
        return [(self.classes[i], float(c)) for i, c in zip(index.tolist(), confidence)]


def _colour_key(value: Any) -> str:
    if value is None or (isinstance(value, float) and value != value):  # None, NaN
        return ""
    return " ".join(str(value).split()).casefold()


def _b64_png(image: Image.Image) -> str:
    return base64.b64encode(png_bytes(image)).decode("ascii")


def decode_image(value: str) -> Image.Image:
    """The PIL image of a base64 PNG that :class:`ImageGanModel` returned."""
    return open_image(value)


class ImageGanModel(mlflow.pyfunc.PythonModel):
    """Loads the ``model`` artifact (a training's ``final/`` folder)."""

    def load_context(self, context: mlflow.pyfunc.PythonModelContext) -> None:
        self.gan = TrainedGan.load(context.artifacts["model"])

    def predict(self, context: Any, model_input: pd.DataFrame, params: dict[str, Any] | None = None) -> pd.DataFrame:
        if isinstance(model_input, dict):
            model_input = pd.DataFrame([model_input])
        params = params or {}
        task = params.get("task", "auto")
        if task == "auto":
            task = "tag" if "image" in model_input.columns else "generate"
        seed = int(params.get("seed", 0))
        if task == "tag":
            tags = self.gan.tag(list(model_input["image"]))
            return pd.DataFrame({"category": [c for c, _ in tags], "confidence": [p for _, p in tags]})
        if "category" not in model_input.columns:
            raise ValueError(f"task {task!r} needs a `category` column; known categories: {self.gan.classes}")
        categories = [str(c) for c in model_input["category"]]
        colours = [_colour_key(c) or None for c in model_input["colour"]] if "colour" in model_input.columns else None
        if task == "grid":
            grid = self.gan.grid(categories, int(params.get("per_category", 8)), seed, colours)
            return pd.DataFrame({"categories": [categories], "image": [_b64_png(grid)]})
        if task == "generate":
            images = self.gan.generate(categories, seed, colours)
            return pd.DataFrame({"category": categories, "image": [_b64_png(uint8_to_pil(p)) for p in images]})
        raise ValueError(f"unknown task {task!r}: generate, grid or tag")
