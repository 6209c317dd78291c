"""Measure registered model versions on a snapshot's frozen test split (the gate's evidence).

The test split is a pure function of ``listing_id`` (:func:`labelops.textgen.data.split_of`),
so a challenger and a champion are always measured on the same rows of a snapshot, whatever
snapshot each was trained on. Hallucinations are judged against the vocabulary of the snapshot's
training rows, the same for both.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from labelops.registry import IMAGE_MODEL, TEXT_MODEL
from labelops.snapshot import read_snapshot
from labelops.storage import DataRoot
from labelops.textgen.data import split_of
from labelops.textgen.metrics import HallucinationVocabulary, evaluate_text
from labelops.textgen.serialize import clean_description, reference_tags

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class EvaluationSet:
    """The rows a gate measures on: a snapshot's frozen test split, and its training rows' vocabulary."""

    snapshot_id: str
    test_rows: list[dict[str, Any]]
    vocabulary: HallucinationVocabulary

    @property
    def listing_ids(self) -> list[str]:
        return [r["listing_id"] for r in self.test_rows]

    @classmethod
    def of_snapshot(cls, root: DataRoot, snapshot_id: str) -> EvaluationSet:
        rows = read_snapshot(root, snapshot_id).to_pylist()
        test = sorted((r for r in rows if split_of(r["listing_id"]) == "test" and clean_description(r.get("description"))),
                      key=lambda r: r["listing_id"])
        if not test:
            raise ValueError(f"snapshot {snapshot_id} has no test rows with a description to measure on")
        train = [r for r in rows if split_of(r["listing_id"]) == "train"]
        return cls(snapshot_id, test, HallucinationVocabulary.from_listings(train))


def load_text_generator(version: str):  # noqa: ANN201 - labelops.textgen.generate.TextGenerator
    """The generator registered as ``product-text-generator`` version ``version``."""
    import mlflow

    return mlflow.pyfunc.load_model(f"models:/{TEXT_MODEL}/{version}").unwrap_python_model().generator


def text_metrics(generator, evaluation: EvaluationSet) -> dict[str, float]:  # noqa: ANN001
    """chrF, BLEU, ROUGE-L, coverage, hallucination rate, tag F1, distinct-2 of ``generator``."""
    rows = evaluation.test_rows
    generated = generator.generate(rows)
    metrics = evaluate_text(
        [g.description for g in generated], [clean_description(r.get("description")) for r in rows], rows,
        vocabulary=evaluation.vocabulary, predicted_tags=[g.tags for g in generated],
        reference_tags=[reference_tags(r) for r in rows])
    return {k: float(v) for k, v in metrics.items()}


# model name → (load a version, measure it)
Evaluator = Callable[[str, EvaluationSet], dict[str, float]]


def evaluate_text_version(version: str, evaluation: EvaluationSet) -> dict[str, float]:
    return text_metrics(load_text_generator(version), evaluation)


def evaluate_image_version(version: str, evaluation: EvaluationSet) -> dict[str, float]:
    from labelops.imagegen.evaluation import evaluate_image_version as evaluate

    return evaluate(version, evaluation)


EVALUATORS: dict[str, Evaluator] = {TEXT_MODEL: evaluate_text_version, IMAGE_MODEL: evaluate_image_version}


def evaluate_versions(model_name: str, versions: Sequence[str | None], evaluation: EvaluationSet,
                      evaluators: Mapping[str, Evaluator] | None = None) -> list[dict[str, float] | None]:
    """Metrics of each version (``None`` for a missing version), all on the same rows."""
    evaluate = (evaluators or EVALUATORS)[model_name]
    results = []
    for version in versions:
        if version is None:
            results.append(None)
            continue
        log.info("evaluating %s version %s on %d test rows of snapshot %s", model_name, version,
                 len(evaluation.test_rows), evaluation.snapshot_id)
        results.append(evaluate(version, evaluation))
    return results
