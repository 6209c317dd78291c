"""The text generator as an MLflow pyfunc model.

    model = mlflow.pyfunc.load_model("models:/product-text-generator@challenger")
    model.predict(df)   # df: Listing columns (title, brand, category_path, price, currency, attributes);
                        # missing columns are fine. Returns a DataFrame with `description` and `tags`.

Decoding options go in ``params`` (``strategy``, ``max_new_tokens``, ``batch_size``, and
``complete``: false for the model's own text without the facts it leaves out).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import mlflow.pyfunc
import pandas as pd
from mlflow.models import ModelSignature
from mlflow.types.schema import AnyType, Array, ColSpec, ParamSchema, ParamSpec, Schema

from labelops.textgen.generate import GenerationOptions, TextGenerator

DEFAULTS = GenerationOptions()
# The Listing fields the generator reads (labelops.textgen.serialize.serialize_input), each optional.
# category_path (a list of strings) and attributes (a dict of strings) are "any": MLflow's array and
# map types refuse the NaN that pandas puts in a row that lacks them.
INPUT_FIELDS = ("title", "brand", "category_path", "price", "currency", "attributes")
SIGNATURE = ModelSignature(
    inputs=Schema([
        ColSpec("string", "title", required=False),
        ColSpec("string", "brand", required=False),
        ColSpec(AnyType(), "category_path", required=False),
        ColSpec("string", "price", required=False),  # a plain decimal string, "1299.00"
        ColSpec("string", "currency", required=False),  # ISO 4217
        ColSpec(AnyType(), "attributes", required=False),
    ]),
    outputs=Schema([
        ColSpec("string", "description"),
        ColSpec(Array("string"), "tags"),
        ColSpec("string", "source"),
    ]),
    params=ParamSchema([
        ParamSpec("strategy", "string", DEFAULTS.strategy),
        ParamSpec("max_new_tokens", "long", DEFAULTS.max_new_tokens),
        ParamSpec("batch_size", "long", DEFAULTS.batch_size),
        ParamSpec("complete", "boolean", DEFAULTS.complete),
        ParamSpec("candidates", "long", DEFAULTS.candidates),
    ]),
)


def input_example(rows: Sequence[Mapping[str, Any]]) -> pd.DataFrame:
    """The model's input example: ``rows`` (listings) cut to the fields the generator reads."""
    return pd.DataFrame([{name: row.get(name) for name in INPUT_FIELDS} for row in rows])


def _present(value: Any) -> Any:
    """DataFrame cells: NaN and None mean "missing"."""
    return None if value is None or (isinstance(value, float) and math.isnan(value)) else value


class TextGeneratorModel(mlflow.pyfunc.PythonModel):
    """Loads the generator folder logged as the ``model`` artifact (:class:`TextGenerator`)."""

    def load_context(self, context: mlflow.pyfunc.PythonModelContext) -> None:
        self.generator = TextGenerator.load(context.artifacts["model"])

    def predict(self, context: Any, model_input: pd.DataFrame, params: dict[str, Any] | None = None) -> pd.DataFrame:
        if isinstance(model_input, dict):
            model_input = pd.DataFrame([model_input])
        params = params or {}
        options = GenerationOptions(
            strategy=params.get("strategy", DEFAULTS.strategy),
            max_new_tokens=int(params.get("max_new_tokens", DEFAULTS.max_new_tokens)),
            batch_size=int(params.get("batch_size", DEFAULTS.batch_size)),
            complete=bool(params.get("complete", DEFAULTS.complete)),
            candidates=int(params.get("candidates", DEFAULTS.candidates)),
        )
        rows = [{k: _present(v) for k, v in row.items()} for row in model_input.to_dict("records")]
        generated = self.generator.generate(rows, options)
        return pd.DataFrame({"description": [g.description for g in generated], "tags": [g.tags for g in generated],
                             "source": [g.source for g in generated]})
