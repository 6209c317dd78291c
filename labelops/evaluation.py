"""One evaluation per model: the numbers registration logs, the gate decides on, the demo prints
and the benchmarks report are computed here, by the same functions, on the same rows.

- :class:`EvaluationSet`: a snapshot's held-out rows (its val and test splits, a pure function
  of ``listing_id``: :func:`labelops.snapshot.split_of`), its training rows (what the
  baselines learn from) and its :class:`~labelops.factcheck.FactChecker` (built from the training
  rows). A challenger, a champion and the baselines are always measured on the same rows.
- :class:`Scores`: one system's metrics on those rows, and the per-row statistics that the gate's
  paired bootstrap resamples (:mod:`labelops.significance`).
- Text (:func:`evaluate_text_generator`): the model's *own* text (before grounding and completion)
  is what is measured: chrF, BLEU, ROUGE-L, distinct-2, attribute coverage, tag F1 and the fact
  checker's findings rate (share of texts with at least one finding) with a rate per kind. The
  same text as labels state it (grounded and completed) is measured too and reported beside
  (``label_metrics``), never decided on: completion states every fact by construction.
  ``text_image_agreement``: how well each description fits the product's real photo, by the
  snapshot's text-image scorer (:mod:`labelops.textimage`; NaN for a row without a photo), only
  when that scorer is trusted; otherwise the metric is absent and ``notes`` says why (the gate
  then skips its checks, saying so).
- Text baselines (:func:`text_baseline_scores`): the template and retrieve-and-fill
  (:mod:`labelops.textgen.baselines`), fitted on the training rows, scored the same way.
- Images (:mod:`labelops.imagegen.evaluation`): conditional accuracy, KID and the tagger's
  accuracy, beside class-mean images and noise.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from functools import lru_cache
from typing import Any

import numpy as np
from pydantic import BaseModel, Field

from labelops.factcheck import FINDING_KINDS, FactChecker, finding_rates
from labelops.registry import IMAGE_MODEL, TEXT_MODEL
from labelops.significance import RowMetric
from labelops.snapshot import read_snapshot
from labelops.storage import DataRoot
from labelops.snapshot import split_of
from labelops.textgen.metrics import attribute_coverage_per_row, evaluate_text, f1_from_counts, tag_counts
from labelops.textgen.serialize import clean_description, reference_tags

log = logging.getLogger(__name__)

HELDOUT_SPLITS = ("val", "test")  # nothing is tuned on val: it only reports a validation loss


@dataclass(frozen=True)
class EvaluationSet:
    """The rows models are measured on (held-out rows with a description), and what judges them."""

    snapshot_id: str
    rows: list[dict[str, Any]]
    train_rows: list[dict[str, Any]]
    checker: FactChecker

    @property
    def listing_ids(self) -> list[str]:
        return [r["listing_id"] for r in self.rows]

    @property
    def references(self) -> list[str]:
        return [clean_description(r.get("description")) for r in self.rows]

    @classmethod
    def of_rows(cls, snapshot_id: str, rows: Sequence[Mapping[str, Any]]) -> EvaluationSet:
        rows = [dict(r) for r in rows]
        heldout = sorted((r for r in rows if split_of(r["listing_id"]) in HELDOUT_SPLITS
                          and clean_description(r.get("description"))), key=lambda r: r["listing_id"])
        if not heldout:
            raise ValueError(f"snapshot {snapshot_id} has no held-out rows with a description to measure on")
        train = [r for r in rows if split_of(r["listing_id"]) == "train"]
        return cls(snapshot_id, heldout, train, FactChecker.from_listings(train))

    @classmethod
    def of_snapshot(cls, root: DataRoot, snapshot_id: str) -> EvaluationSet:
        return cls.of_rows(snapshot_id, read_snapshot(root, snapshot_id).to_pylist())


class Scores(BaseModel):
    """One system's metrics on an :class:`EvaluationSet`, with the per-row statistics behind them.

    ``rows`` holds, per held-out row: ``chrf_stats`` (sacreBLEU's chrF statistics), ``findings``
    (1 when the text has a finding) and ``findings.<kind>``, ``tags`` (true positives, predicted,
    reference tags), ``coverage`` (NaN for a product without attribute values) for text;
    ``correct`` and ``tagged`` (0/1) for images. ``findings`` lists each text's findings in words
    (the first held-out rows', for reading).
    """

    system: str
    kind: str  # "text" or "image"
    metrics: dict[str, float]
    rows: dict[str, list] = Field(default_factory=dict)
    label_metrics: dict[str, float] = Field(default_factory=dict)
    samples: list[dict[str, Any]] = Field(default_factory=list)
    notes: dict[str, str] = Field(default_factory=dict, description="why a metric was not measured, by name "
                                  "(the gate skips a check whose metric neither side has, and says why)")

    @property
    def n(self) -> int:
        return int(self.metrics.get("n", 0))

    def row_metric(self, name: str) -> RowMetric | None:
        """``name`` computed on a subset of rows (for the bootstrap), or None when it is not per-row."""
        return _row_metric(self, name)


# ------------------------------------------------------------------------------ per-row metrics
@lru_cache(maxsize=1)
def _chrf_metric():  # noqa: ANN202 - sacrebleu.metrics.CHRF
    from sacrebleu.metrics import CHRF

    return CHRF()


def _chrf_from_stats(stats: np.ndarray) -> float:
    return float(_chrf_metric()._compute_score_from_stats(stats.tolist()).score)


def _row_metric(scores: Scores, name: str) -> RowMetric | None:
    rows = scores.rows
    if name == "chrf" and "chrf_stats" in rows:
        stats = np.asarray(rows["chrf_stats"], dtype=np.float64)
        return lambda idx: _chrf_from_stats(stats[idx].sum(0))
    if name == "tag_f1" and "tags" in rows:
        counts = np.asarray(rows["tags"], dtype=np.float64)
        return lambda idx: f1_from_counts(*counts[idx].sum(0))
    if name == TEXT_IMAGE_AGREEMENT and name in rows:
        values = np.asarray(rows[name], dtype=np.float64)
        return lambda idx: float(np.nanmean(values[idx])) if np.isfinite(values[idx]).any() else 0.0
    if name == "attribute_coverage" and "coverage" in rows:
        values = np.asarray(rows["coverage"], dtype=np.float64)
        return lambda idx: float(np.nanmean(values[idx])) if np.isfinite(values[idx]).any() else 0.0
    column = {"findings_rate": "findings", "conditional_accuracy": "correct", "tagger_accuracy": "tagged"}.get(name, name)
    if column in rows:
        values = np.asarray(rows[column], dtype=np.float64)
        return lambda idx: float(values[idx].mean()) if len(idx) else 0.0
    return None


# ------------------------------------------------------------------------------------- text
def score_texts(system: str, descriptions: Sequence[str], tags: Sequence[Sequence[str]],
                evaluation: EvaluationSet, samples: int = 8) -> Scores:
    """Every text metric of ``descriptions`` (and ``tags``) for the held-out rows, with per-row statistics."""
    rows, references = evaluation.rows, evaluation.references
    descriptions = [d or "" for d in descriptions]
    reference_tag_lists = [reference_tags(r) for r in rows]
    metrics = evaluate_text(descriptions, references, rows, predicted_tags=tags, reference_tags=reference_tag_lists)
    findings = [evaluation.checker.check(d, r) for d, r in zip(descriptions, rows)]
    metrics.update(finding_rates(findings))
    stats = _chrf_metric()._extract_corpus_statistics(descriptions, [references])
    per_row: dict[str, list] = {
        "chrf_stats": [list(map(float, s)) for s in stats],
        "findings": [float(bool(f)) for f in findings],
        "tags": [list(map(float, tag_counts(p, r))) for p, r in zip(tags, reference_tag_lists)],
        "coverage": [math.nan if c is None else c for c in attribute_coverage_per_row(descriptions, rows)],
    }
    for kind in FINDING_KINDS:
        per_row[f"findings.{kind}"] = [float(any(x.kind == kind for x in f)) for f in findings]
    agreement, note = text_image_agreement(descriptions, evaluation)
    notes = {}
    if agreement is None:
        notes[TEXT_IMAGE_AGREEMENT] = note
    else:
        per_row[TEXT_IMAGE_AGREEMENT] = agreement
        finite = [v for v in agreement if not math.isnan(v)]
        metrics[TEXT_IMAGE_AGREEMENT] = sum(finite) / len(finite) if finite else math.nan
    shown = [{"listing_id": r["listing_id"], "title": r.get("title"), "text": d, "tags": list(t),
              "findings": [str(x) for x in f]} for r, d, t, f in zip(rows, descriptions, tags, findings)][:samples]
    return Scores(system=system, kind="text", metrics={k: float(v) for k, v in metrics.items()}, rows=per_row,
                  samples=shown, notes=notes)


TEXT_IMAGE_AGREEMENT = "text_image_agreement"


def text_image_agreement(descriptions: Sequence[str], evaluation: EvaluationSet) -> tuple[list[float] | None, str]:
    """Per held-out row, the text-image score of its description against the product's first
    photo (NaN without one), by the snapshot's scorer when it is trusted; else None and why."""
    from labelops.imagegen.data import load_pixels
    from labelops.settings import get_settings
    from labelops.textimage import text_of, trusted_scorer

    settings = get_settings()
    scorer, reason = trusted_scorer(evaluation.snapshot_id, settings)
    if scorer is None:
        return None, reason
    root = DataRoot(settings.data)
    firsts = [next((p for p in (r.get("images") or []) if p), None) for r in evaluation.rows]
    pixels = [load_pixels(root, first, scorer.net.image_size)[0] if first else None for first in firsts]
    shown = [i for i, p in enumerate(pixels) if p is not None]
    scores = [math.nan] * len(pixels)
    if shown:
        import torch

        values = scorer.score(torch.stack([pixels[i] for i in shown]), [text_of(descriptions[i]) for i in shown])
        for i, value in zip(shown, values):
            scores[i] = value
    return scores, ""


def evaluate_text_generator(generator, evaluation: EvaluationSet, system: str = "model",  # noqa: ANN001
                            samples: int = 8) -> Scores:
    """A text generator (anything with ``generate(rows, options)``) on the held-out rows: its own
    text decides; the labels' text (grounded, completed) is reported in ``label_metrics``; the
    first ``samples`` texts are kept with their findings, for reading."""
    from labelops.textgen.generate import GenerationOptions

    generated = generator.generate(evaluation.rows, GenerationOptions())
    own_tags = [g.own_tags or g.tags for g in generated]
    scores = score_texts(system, [g.own_description for g in generated], own_tags, evaluation, samples)
    scores.label_metrics = score_texts(system, [g.description for g in generated], [g.tags for g in generated],
                                       evaluation).metrics
    # the share of rows whose own text another writer wrote (a model's fallback to a baseline)
    own = getattr(generator, "source", "model")
    scores.metrics["fallback_rate"] = sum(g.source != own for g in generated) / len(generated)
    return scores


class BaselineWriter:
    """A text baseline with a generator's interface: ``generate(rows, options)``; its text is the
    baseline's own, grounded and completed as options say (as a model's is for labels)."""

    def __init__(self, name: str, train_rows: Sequence[Mapping[str, Any]], checker: FactChecker | None = None):
        from labelops.textgen.baselines import BASELINES

        if name not in BASELINES:
            raise KeyError(f"unknown text baseline {name!r}; known: {sorted(BASELINES)}")
        rows = [{**r, "description": clean_description(r.get("description"))} for r in train_rows]
        self.name, self.checker = name, checker
        self.baseline = BASELINES[name]().fit([r for r in rows if r["description"]] or rows)

    def generate(self, rows: Sequence[Mapping[str, Any]], options=None) -> list:  # noqa: ANN001
        from labelops.textgen.generate import GenerationOptions, finish

        options = options or GenerationOptions()
        return [replace(finish(p["description"], p["tags"], row, options, self.checker), source=self.source)
                for p, row in zip(self.baseline.predict(rows), rows)]

    @property
    def source(self) -> str:
        return f"baseline:{self.name}"


def text_baseline_scores(evaluation: EvaluationSet, names: Sequence[str] = ("template", "retrieve_fill"),
                         samples: int = 8) -> dict[str, Scores]:
    """Each text baseline, fitted on the training rows, scored like a model."""
    return {name: evaluate_text_generator(BaselineWriter(name, evaluation.train_rows, evaluation.checker),
                                          evaluation, system=name, samples=samples) for name in names}


# ------------------------------------------------------------------------------- versions
def load_text_generator(version: str):  # noqa: ANN201 - labelops.textgen.generate.TextGenerator
    """The generator registered as ``product-text-generator`` version ``version``."""
    import mlflow

    return mlflow.pyfunc.load_model(f"models:/{TEXT_MODEL}/{version}").unwrap_python_model().generator


def evaluate_text_version(version: str, evaluation: EvaluationSet) -> Scores:
    return evaluate_text_generator(load_text_generator(version), evaluation, system=f"version {version}")


def evaluate_image_version(version: str, evaluation: EvaluationSet) -> Scores:
    from labelops.imagegen.evaluation import evaluate_gan, load_gan

    return evaluate_gan(load_gan(version), evaluation, system=f"version {version}")


def image_baseline_scores(evaluation: EvaluationSet, names: Sequence[str] = ("class_mean", "noise"),
                          like_version: str | None = None) -> dict[str, Scores]:
    from labelops.imagegen.evaluation import image_baselines, load_gan

    if like_version is None:
        return {}
    return image_baselines(load_gan(like_version), evaluation, names)


# model name → (measure a version, measure the baselines like a version)
Evaluator = Callable[[str, EvaluationSet], Scores]
EVALUATORS: dict[str, Evaluator] = {TEXT_MODEL: evaluate_text_version, IMAGE_MODEL: evaluate_image_version}
BaselineEvaluator = Callable[[EvaluationSet, Sequence[str], str | None], dict[str, Scores]]
BASELINE_EVALUATORS: dict[str, BaselineEvaluator] = {
    TEXT_MODEL: lambda evaluation, names, _version: text_baseline_scores(evaluation, names),
    IMAGE_MODEL: lambda evaluation, names, version: image_baseline_scores(evaluation, names, version),
}


def evaluate_versions(model_name: str, versions: Sequence[str | None], evaluation: EvaluationSet,
                      evaluators: Mapping[str, Evaluator] | None = None) -> list[Scores | None]:
    """Scores of each version (``None`` for a missing version), all on the same rows."""
    evaluate = (evaluators or EVALUATORS)[model_name]
    results: list[Scores | None] = []
    for version in versions:
        if version is None:
            results.append(None)
            continue
        log.info("evaluating %s version %s on %d held-out rows of snapshot %s", model_name, version,
                 len(evaluation.rows), evaluation.snapshot_id)
        results.append(evaluate(version, evaluation))
    return results
