"""Tags and a top-level category read from a product's words: a multi-label classifier.

A product's facts give most of its tags (:func:`~labelops.textgen.baselines.listing_tags`: its
category path and attribute values). :class:`TagClassifier` learns, from the snapshot's training
rows, which of those tags a product's *words* (its title and description) imply, so that

- a product whose listing lacks some facts (no category path, no "material" attribute) still gets
  the tags products described like it have, and
- the category a label's text reads as (title + the generated description) is read from the
  text, not copied from the input, and can disagree with the photo's (:mod:`labelops.labels`).

The model is TF-IDF over character 2–4-grams (Chinese needs no segmenter) and one logistic
regression per tag, for the ``max_labels`` most frequent fact tags seen on at least
``min_support`` training products; a multinomial logistic regression gives the top-level
category. A tag is predicted when its probability reaches ``threshold``, chosen by 3-fold
cross-validation inside the training rows for the job it does: the lowest at which the guesses
labelling would make, were half of each held-out listing's attributes missing, are
``target_precision`` correct (a tag is correct when that product's facts give it). Guesses for
the facts a listing lacks are harder than the average tag: chosen over all tags, the same
threshold let through guesses 0.86–0.88 correct (``benchmarks/tag_quality.py``). The
cross-validated precision, recall and category accuracy are kept in :attr:`report` (labelling logs them to its MLflow run).
Tags with a digit ("10 cm", "1 year warranty") are not learned: a number guessed from words is
no fact. Labelling fits it on the snapshot's training rows, as it builds the fact checker.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np

from labelops.textgen.baselines import listing_tag_kinds
from labelops.textgen.facts import attribute_items, category_items, get_field, text_value
from labelops.textgen.serialize import CATEGORY_KIND, MAX_TAGS

log = logging.getLogger(__name__)

TEXT_CHARS = 1000  # the title and the start of the description: enough to tell products apart
THRESHOLDS = tuple(round(t, 2) for t in np.arange(0.3, 0.96, 0.05))


def product_words(row: Any) -> str:
    """What the classifier reads of a product: its title and the start of its description."""
    text = f"{text_value(get_field(row, 'title'))} {text_value(get_field(row, 'description'))}"
    return " ".join(text.split())[:TEXT_CHARS]


def top_category(row: Any) -> str | None:
    """The first level of a product's category path (casefolded), if it has one."""
    path = category_items(row)
    return path[0].casefold() if path else None


class TagClassifier:
    """Fact tags and a top-level category predicted from a product's words (module docstring)."""

    def __init__(self, *, min_support: int = 3, max_labels: int = 256, max_features: int = 8192,
                 target_precision: float = 0.9, c: float = 4.0, seed: int = 0, max_rows: int = 20_000) -> None:
        self.min_support = min_support
        self.max_rows = max_rows
        self.max_labels = max_labels
        self.max_features = max_features
        self.target_precision = target_precision
        self.c = c
        self.seed = seed
        self.labels: list[str] = []
        self.kinds: list[str] = []  # the kind of fact each label is (CATEGORY_KIND or an attribute key)
        self.threshold = 1.0
        self.categories: list[str] = []
        self.report: dict[str, float] = {}
        self._vectorizer: Any = None
        self._coef = np.zeros((0, 0), dtype=np.float32)
        self._intercept = np.zeros(0, dtype=np.float32)
        self._category_coef = np.zeros((0, 0), dtype=np.float32)
        self._category_intercept = np.zeros(0, dtype=np.float32)

    # ------------------------------------------------------------------------------- fitting
    def fit(self, rows: Iterable[Mapping[str, Any]]) -> TagClassifier:
        """Learn from training rows (Listing fields); rows without words are skipped. Past ``max_rows``
        rows it learns from a sample of that many (the same rows for the same input): one regression
        per tag, cross-validated, over a whole large snapshot took the driver over ten minutes at
        100,000 products, and the tags' frequencies are plain at 20,000."""
        rows = [r for r in rows if product_words(r)]
        if self.max_rows and len(rows) > self.max_rows:
            keep = np.sort(np.random.default_rng(self.seed).choice(len(rows), self.max_rows, replace=False))
            log.info("tag classifier: learning from a sample of %d of %d products", self.max_rows, len(rows))
            rows = [rows[i] for i in keep]
        with_kinds = [listing_tag_kinds(r) for r in rows]
        tags = [{t for t, _ in pairs} for pairs in with_kinds]
        counts = Counter(t for row_tags in tags for t in row_tags)
        kinds = Counter(pair for pairs in with_kinds for pair in pairs)
        # a tag every product has tells nothing apart (and leaves its regression one class)
        frequent = [t for t, n in counts.most_common()
                    if self.min_support <= n < len(rows) and not any(ch.isdigit() for ch in t)]
        self.labels = sorted(frequent[: self.max_labels])
        self.kinds = [max((n, kind) for (tag, kind), n in kinds.items() if tag == label)[1] for label in self.labels]
        texts = [product_words(r) for r in rows]
        categories = [top_category(r) for r in rows]
        kept = Counter(c for c in categories if c is not None)
        self.categories = sorted(c for c, n in kept.items() if n >= self.min_support)
        if not rows or (not self.labels and len(self.categories) < 2):
            log.info("tag classifier: too few products or tags to learn from (%d rows)", len(rows))
            return self
        targets = np.array([[label in row_tags for label in self.labels] for row_tags in tags], dtype=bool)
        guessable = self._guessable([[key.casefold() for key, _ in attribute_items(r)] for r in rows])
        self.threshold, self.report = self._choose_threshold(texts, targets, guessable, tags, categories)
        self._fit_all(texts, targets, categories)
        log.info("tag classifier: %d tags, %d categories, threshold %.2f, cross-validated %s", len(self.labels),
                 len(self.categories), self.threshold, {k: round(v, 3) for k, v in self.report.items()})
        return self

    def _fit_all(self, texts: list[str], targets: np.ndarray, categories: list[str | None]) -> None:
        from sklearn.feature_extraction.text import TfidfVectorizer

        self._vectorizer = TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 4), sublinear_tf=True,
                                           max_features=self.max_features, dtype=np.float32)
        features = self._vectorizer.fit_transform(texts)
        self._coef, self._intercept = self._fit_tags(features, targets)
        self._category_coef, self._category_intercept = self._fit_categories(features, categories)

    def _fit_tags(self, features: Any, targets: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        from sklearn.linear_model import LogisticRegression

        coef = np.zeros((len(self.labels), features.shape[1]), dtype=np.float32)
        intercept = np.full(len(self.labels), -30.0, dtype=np.float32)  # a tag no training row has: never
        for j in range(len(self.labels)):
            y = targets[:, j]
            if y.all() or not y.any():
                intercept[j] = 30.0 if y.all() else -30.0
                continue
            model = LogisticRegression(C=self.c, solver="liblinear", random_state=self.seed).fit(features, y)
            coef[j], intercept[j] = model.coef_[0], model.intercept_[0]
        return coef, intercept

    def _fit_categories(self, features: Any, categories: list[str | None]) -> tuple[np.ndarray, np.ndarray]:
        from sklearn.linear_model import LogisticRegression

        known = [i for i, c in enumerate(categories) if c in self.categories]
        present = sorted({categories[i] for i in known})
        if len(present) < 2:
            return np.zeros((0, features.shape[1]), dtype=np.float32), np.zeros(0, dtype=np.float32)
        model = LogisticRegression(C=self.c, max_iter=1000, random_state=self.seed)
        model.fit(features[known], [categories[i] for i in known])
        self.categories = [str(c) for c in model.classes_]
        if len(self.categories) == 2:  # sklearn's binary form: one row for the second class
            return (np.vstack([-model.coef_[0], model.coef_[0]]).astype(np.float32) / 2,
                    np.array([-model.intercept_[0], model.intercept_[0]], dtype=np.float32) / 2)
        return model.coef_.astype(np.float32), model.intercept_.astype(np.float32)

    def _guessable(self, keys: list[list[str]]) -> np.ndarray:
        """Which labels each product's listing would be guessed for in labelling, were half of its
        attributes missing (a seeded random half), and its category path for every other product:
        values of the attributes it would lack, levels of the category path it would lack."""
        rng = np.random.default_rng(self.seed)
        mask = np.zeros((len(keys), len(self.labels)), dtype=bool)
        for i, row_keys in enumerate(keys):
            kept = set(rng.permutation(sorted(set(row_keys)))[: (len(set(row_keys)) + 1) // 2])
            if i % 2:
                kept.add(CATEGORY_KIND)
            mask[i] = [kind not in kept for kind in self.kinds]
        return mask

    def _choose_threshold(self, texts: list[str], targets: np.ndarray, guessable: np.ndarray, tags: list[set[str]],
                          categories: list[str | None]) -> tuple[float, dict[str, float]]:
        """Out-of-fold probabilities (3 folds) → the lowest threshold at which the guesses labelling
        would make (:meth:`_guessable`) are ``target_precision`` right, with the precision and
        recall (of all the product's fact tags) of every tag at that threshold."""
        from sklearn.model_selection import KFold

        folds = min(3, len(texts))
        if folds < 2:
            return 1.0, {}
        scores = np.zeros(targets.shape, dtype=np.float32)
        predicted: list[str | None] = [None] * len(texts)
        for train, held in KFold(folds, shuffle=True, random_state=self.seed).split(texts):
            part = TagClassifier(min_support=self.min_support, max_labels=self.max_labels,
                                 max_features=self.max_features, c=self.c, seed=self.seed)
            part.labels, part.kinds, part.categories = self.labels, self.kinds, self.categories
            part._fit_all([texts[i] for i in train], targets[train], [categories[i] for i in train])
            scores[held] = part._tag_probabilities([texts[i] for i in held])
            for i, (category, _) in zip(held, part._category_scores([texts[i] for i in held])):
                predicted[i] = category
        every = sum(len(t) for t in tags)
        report: dict[str, float] = {}
        chosen = 1.0
        for threshold in THRESHOLDS:
            hits = scores >= threshold
            guesses = hits & guessable
            guessed = int(guesses.sum())
            if guessed and (guesses & targets).sum() / guessed < self.target_precision:
                continue
            made, right = int(hits.sum()), int((hits & targets).sum())
            chosen = threshold
            report = {"cv_guess_precision": (guesses & targets).sum() / guessed if guessed else 1.0,
                      "cv_tag_precision": right / made if made else 1.0,
                      "cv_tag_recall": right / every if every else 0.0, "cv_tags_per_product": made / len(texts)}
            break
        judged = [(p, c) for p, c in zip(predicted, categories) if c is not None]
        if judged and self.categories:
            report["cv_category_accuracy"] = sum(p == c for p, c in judged) / len(judged)
            report["category_majority_share"] = Counter(c for _, c in judged).most_common(1)[0][1] / len(judged)
        return chosen, report

    # ---------------------------------------------------------------------------- predicting
    def _tag_probabilities(self, texts: Sequence[str]) -> np.ndarray:
        if self._vectorizer is None or not self.labels:
            return np.zeros((len(texts), len(self.labels)), dtype=np.float32)
        logits = self._vectorizer.transform(list(texts)) @ self._coef.T + self._intercept
        return 1.0 / (1.0 + np.exp(-np.clip(logits, -30, 30)))

    def _category_scores(self, texts: Sequence[str]) -> list[tuple[str | None, float]]:
        if self._vectorizer is None or not len(self._category_intercept):
            return [(None, 0.0)] * len(texts)
        logits = self._vectorizer.transform(list(texts)) @ self._category_coef.T + self._category_intercept
        logits = logits - logits.max(axis=1, keepdims=True)
        probabilities = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
        best = probabilities.argmax(axis=1)
        return [(self.categories[b], float(probabilities[i, b])) for i, b in enumerate(best)]

    def tags(self, rows: Sequence[Mapping[str, Any]]) -> list[list[str]]:
        """Each row's predicted tags, most probable first (those at or above :attr:`threshold`)."""
        probabilities = self._tag_probabilities([product_words(r) for r in rows])
        result = []
        for scores in probabilities:
            order = np.argsort(-scores, kind="stable")
            result.append([self.labels[j] for j in order if scores[j] >= self.threshold])
        return result

    def missing_facts(self, rows: Sequence[Mapping[str, Any]]) -> list[list[str]]:
        """Each row's predicted tags of the kinds of fact its listing lacks (a category when it
        has no category path, a value of an attribute it does not have): the product's own facts
        always win over a guess from its words."""
        kind_of = dict(zip(self.labels, self.kinds))
        result = []
        for row, predicted in zip(rows, self.tags(rows)):
            keys = {key.casefold() for key, _ in attribute_items(row)}
            has_category = bool(category_items(row))
            result.append([t for t in predicted
                           if not (has_category if kind_of[t] == CATEGORY_KIND else kind_of[t] in keys)])
        return result

    def category(self, rows: Sequence[Mapping[str, Any]]) -> list[tuple[str | None, float]]:
        """Each row's top-level category as its words read, with its probability (``None``
        when the classifier knows fewer than two categories)."""
        return self._category_scores([product_words(r) for r in rows])


def merge_tags(tags: Sequence[str], added: Sequence[str], row: Mapping[str, Any]) -> list[str]:
    """A label's tags with a classifier's: the product's fact tags first, then ``added`` (the
    classifier's tags for facts the listing lacks), then the writer's other tags, at most
    ``MAX_TAGS``, without repeats."""
    facts = [t for t, _ in listing_tag_kinds(row)]
    return list(dict.fromkeys([*facts, *added, *tags]))[:MAX_TAGS]
