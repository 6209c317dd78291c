"""Train the learned chooser (``chooser.py``) on a benchmark folder, and measure it by
leave-one-shop-out cross-validation.

    python -m labelops.extraction.train_chooser ../shared/data/extraction-benchmark-dev

Pages are grouped into *shop families* by their address (:func:`shop_family`: the registrable
name without its public suffix, so a shop's country sites and subdomains are one family). For
each family a chooser is trained on every other family's pages and scores the held-out pages;
the fields the held-out pages get are those predictions (every learned choice, scaling and
threshold included, is made without that shop). Every field's model is shipped (``chooser.json``);
one becomes the default only when its leave-one-shop-out F1 beats the evidence weights' F1 on the
same pages by :data:`MIN_GAIN`; the evidence weights were written by hand while looking at these pages, so their
figure is a fit, not a cross-validated one (this comparison favours them).
"""

from __future__ import annotations

import argparse
import json
from dataclasses import dataclass
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from labelops.extraction.chooser import LEARNED_FIELDS, MODEL_PATH, Chooser, FieldModel, groups
from labelops.extraction.extract import Gathered, finish, gather
from labelops.extraction.pages import find_pages, page_id, prediction, read_page
from labelops.extraction.scoring import FIELDS, MATCHERS, Score, score_all

_SECOND_LEVEL = frozenset({"co", "com", "net", "org", "ac", "gov", "edu", "ne", "or", "gob", "gv"})
MIN_GAIN = 0.01
"""A field's model is shipped only when its leave-one-shop-out F1 beats the evidence weights' F1 by
this much (about one page of the 69: a smaller difference is one page's luck)."""
THRESHOLDS = tuple(i / 20 for i in range(0, 15))
"""Abstention thresholds tried on the training pages (the one with the best F1 is kept)."""
C = 0.05
"""Inverse regularisation strength of the logistic regressions (picked among 0.01-4 by leave-one-shop-out
F1 on the dev pages: one hyperparameter chosen with every shop, a small optimistic bias)."""


def shop_family(url: str) -> str:
    """The shop a page belongs to, from its address: the registrable name without the public
    suffix ("www.shop.co.uk" → "shop", "de.shop.com" → "shop", "kids.shop.by" → "shop")."""
    host = (urlsplit(url).hostname or url or "").lower().strip(".")
    labels = [label for label in host.split(".") if label]
    if len(labels) >= 2:
        labels.pop()  # the top-level domain
        if len(labels) >= 2 and labels[-1] in _SECOND_LEVEL:
            labels.pop()  # "co" of "co.uk", "com" of "com.tw"
    return labels[-1] if labels else host


def page_url(truth: Mapping[str, Any], gathered: Gathered | None) -> str:
    """The page's address: the ground truth's ``url``, else the page's canonical/og:url."""
    if truth.get("url"):
        return str(truth["url"])
    urls = gathered.page.page_urls if gathered is not None else []
    return urls[0] if urls else ""


# --------------------------------------------------------------------------------- training


def examples(gathered: Gathered, truth: Mapping[str, Any]) -> dict[str, list[tuple[dict[str, float], int]]]:
    """Per learned field, each candidate group's features and whether its value is a true one."""
    found: dict[str, list[tuple[dict[str, float], int]]] = {}
    page = gathered.page
    for field, found_groups in groups(gathered.candidates, page.visible_tokens, gathered.titles).items():
        true = truth.get(field) or []
        true = true if isinstance(true, list) else [true]
        found[field] = [(g.features, int(bool(true) and MATCHERS[field](true, g.value))) for g in found_groups]
    return found


def _page_outcomes(model: FieldModel, pages: Iterable[tuple[list[tuple[dict[str, float], int]], bool]]) -> list[tuple[float, int, bool]]:
    """Per page: the best group's probability, whether it is right, whether a truth exists."""
    outcomes = []
    for found, has_truth in pages:
        if not found:
            outcomes.append((-1.0, 0, has_truth))
            continue
        probability, label = max(((model.probability(f), y) for f, y in found), key=lambda item: item[0])
        outcomes.append((probability, label, has_truth))
    return outcomes


def _best_threshold(outcomes: list[tuple[float, int, bool]]) -> float:
    best, best_f1 = THRESHOLDS[0], -1.0
    for threshold in THRESHOLDS:
        tp = sum(1 for p, y, _ in outcomes if p >= threshold and y)
        fp = sum(1 for p, y, _ in outcomes if p >= threshold and not y)
        fn = sum(1 for p, y, t in outcomes if t and not (p >= threshold and y))
        f1 = 2 * tp / (2 * tp + fp + fn) if tp else 0.0
        if f1 > best_f1 + 1e-9:
            best, best_f1 = threshold, f1
    return best


def fit_field(pages: list[tuple[list[tuple[dict[str, float], int]], bool]]) -> FieldModel | None:
    """A logistic regression over the groups of the given pages (``None`` without both classes)."""
    import numpy as np
    from sklearn.linear_model import LogisticRegression

    rows = [(f, y) for found, _ in pages for f, y in found]
    if len({y for _, y in rows}) < 2:
        return None
    names = tuple(sorted({name for f, _ in rows for name in f}))
    x = np.array([[f.get(name, 0.0) for name in names] for f, _ in rows], dtype=float)
    y = np.array([label for _, label in rows])
    mean = x.mean(axis=0)
    scale = x.std(axis=0)
    scale[scale == 0] = 1.0
    regression = LogisticRegression(C=C, max_iter=2000)
    regression.fit((x - mean) / scale, y)
    model = FieldModel(names, tuple(mean.tolist()), tuple(scale.tolist()), tuple(regression.coef_[0].tolist()),
                       float(regression.intercept_[0]), 0.0)
    threshold = _best_threshold(_page_outcomes(model, pages))
    return FieldModel(model.names, model.mean, model.scale, model.coef, model.intercept, threshold)


def fit(training: Iterable[tuple[Gathered, Mapping[str, Any]]], fields: Iterable[str] = LEARNED_FIELDS) -> Chooser:
    """A chooser trained on ``(gathered page, its truth)`` pairs."""
    per_field: dict[str, list] = {field: [] for field in fields}
    for gathered, truth in training:
        found = examples(gathered, truth)
        for field in per_field:
            per_field[field].append((found.get(field, []), bool(truth.get(field))))
    models = {field: model for field, pages in per_field.items() if (model := fit_field(pages)) is not None}
    return Chooser(models)


# ------------------------------------------------------------------------------- evaluation


def gather_folder(folder: Path) -> tuple[dict[str, dict], dict[str, Gathered | None]]:
    """``(truth, gathered page by id)`` of a benchmark folder."""
    truth = json.loads((folder / "ground-truth.json").read_text(encoding="utf-8"))
    paths = {page_id(path): path for path in find_pages([folder / "html"])}
    return truth, gather_pages({key: read_page(paths[key]) for key in truth if key in paths})


def gather_pages(pages: Mapping[str, bytes]) -> dict[str, Gathered | None]:
    """Each page's candidates, gathered once (training and every fold reuse them)."""
    return {key: gather(body) for key, body in pages.items()}


@dataclass
class CrossValidation:
    """Scores of one benchmark: the evidence weights (fit), the chooser trained on every page
    (fit) and trained without each page's shop (leave-one-shop-out), with the predictions."""

    families: int
    evidence_fit: dict[str, Score]
    learned_fit: dict[str, Score]
    learned_loso: dict[str, Score]
    loso_predictions: dict[str, dict]


def cross_validate(truth: Mapping[str, Mapping[str, Any]], gathered: Mapping[str, Gathered | None],
                   fields: Iterable[str] = FIELDS) -> CrossValidation:
    fields = tuple(fields)
    loso = leave_one_shop_out(truth, gathered)
    chooser = fit([(g, truth[key]) for key, g in gathered.items() if g is not None])
    families = len({shop_family(page_url(truth[key], g)) for key, g in gathered.items()})
    return CrossValidation(families, score_all(truth, predict(gathered, None), fields),
                           score_all(truth, predict(gathered, chooser), fields), score_all(truth, loso, fields), loso)


def predict(gathered: Mapping[str, Gathered | None], chooser: Chooser | None) -> dict[str, dict]:
    """``labelops extract`` output of gathered pages with this chooser (``None``: evidence weights)."""
    return {key: prediction(finish(g, chooser)) if g is not None and g.is_product else {} for key, g in gathered.items()}


def leave_one_shop_out(truth: Mapping[str, Mapping[str, Any]], gathered: Mapping[str, Gathered | None],
                       extra: Iterable[tuple[Gathered, Mapping[str, Any]]] = (),
                       trainer: Callable[..., Chooser] = fit) -> dict[str, dict]:
    """Predictions of every page by a chooser trained without the page's shop family (plus the
    ``extra`` training pages, e.g. synthetic ones, in every fold)."""
    extra = list(extra)
    family = {key: shop_family(page_url(truth[key], g)) for key, g in gathered.items()}
    predictions: dict[str, dict] = {}
    for held_out in sorted(set(family.values())):
        training = [(g, truth[key]) for key, g in gathered.items() if family[key] != held_out and g is not None]
        chooser = trainer(training + extra)
        test = {key: g for key, g in gathered.items() if family[key] == held_out}
        predictions.update(predict(test, chooser))
    return predictions


def synthetic_training(count: int, seed: int = 0) -> list[tuple[Gathered, dict]]:
    """``count`` synthetic pages (``synthetic.py``), gathered, with their truth."""
    from labelops.extraction.synthetic import synthetic_pages

    pages = [(gather(html, url), truth) for html, url, truth in synthetic_pages(count, seed)] if count > 0 else []
    return [(g, truth) for g, truth in pages if g is not None]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("folder", type=Path, help="benchmark folder: html/, ground-truth.json")
    parser.add_argument("--out", type=Path, default=MODEL_PATH, help="where the chooser is written")
    parser.add_argument("--synthetic", type=int, default=0,
                        help="also train on this many synthetic pages (labelops.extraction.synthetic), in every fold")
    args = parser.parse_args(argv)
    truth, gathered = gather_folder(args.folder)
    extra = synthetic_training(args.synthetic)
    hand = score_all(truth, predict(gathered, None), LEARNED_FIELDS)
    loso = score_all(truth, leave_one_shop_out(truth, gathered, extra), LEARNED_FIELDS)
    chooser = fit([(g, truth[key]) for key, g in gathered.items() if g is not None] + extra)
    kept = {field: model for field, model in chooser.models.items() if loso[field].f1 >= hand[field].f1 + MIN_GAIN}
    info = {
        "default_fields": sorted(kept),
        "trained_on": f"{args.folder.name}: {len(gathered)} pages, "
                      f"{len({shop_family(page_url(truth[k], g)) for k, g in gathered.items()})} shop families"
                      + (f", {len(extra)} synthetic pages" if extra else ""),
        "loso_f1": {field: round(loso[field].f1, 3) for field in LEARNED_FIELDS},
        "evidence_weights_fit_f1": {field: round(hand[field].f1, 3) for field in LEARNED_FIELDS},
    }
    Chooser(chooser.models, info).save(args.out)
    for field in LEARNED_FIELDS:
        mark = "learned chooser by default" if field in kept else "evidence weights by default"
        print(f"{field:13} leave-one-shop-out {loso[field].f1:.3f}   evidence weights (fit) {hand[field].f1:.3f}   {mark}")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
