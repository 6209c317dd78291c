"""Tags and categories read from a product's words: the tag classifier beside the simple methods.

    LABELOPS_SHARED_DATA=../shared/data python benchmarks/tag_quality.py [--datasets demo flipkart books advertisegen]

Five-fold cross-validation over each data set's products (every choice of the classifier, its
threshold included, is made inside the training folds); each held-out product is judged against
its own facts (:func:`labelops.textgen.baselines.listing_tags`: category path and attribute values).

1. **Words only**: the listing's facts hidden, tags from its title and description alone, by the
   tag classifier (:class:`labelops.textgen.tagging.TagClassifier`) and by the nearest training
   product by the same words (its fact tags: the simple method). Precision with its bootstrap 95%
   interval over products, recall of the product's fact tags, tags per product; the top-level
   category read from the words beside the neighbour's and the most common category.
2. **As labels**: half of each held-out listing's attributes dropped (seeded), and its category
   path one time in two, the tags labelling adds for facts the listing lacks (:meth:`TagClassifier.missing_facts`): how many are right,
   and how many of the dropped facts they recover. Labels' fact tags are the listing's own and
   not counted.

Prints one table.
"""

from __future__ import annotations

import argparse
import random
import sys
from collections import Counter
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def bootstrap_precision(right: list[int], made: list[int], draws: int = 1000, seed: int = 0) -> tuple[float, float]:
    """95% bootstrap interval (over products) of sum(right) / sum(made)."""
    right_a, made_a = np.asarray(right, dtype=float), np.asarray(made, dtype=float)
    rng = np.random.default_rng(seed)
    values = []
    for _ in range(draws):
        pick = rng.integers(0, len(right_a), len(right_a))
        total = made_a[pick].sum()
        values.append(right_a[pick].sum() / total if total else 1.0)
    return float(np.percentile(values, 2.5)), float(np.percentile(values, 97.5))


def neighbour_predictions(train: list[dict], held: list[dict]) -> tuple[list[list[str]], list[str | None]]:
    """The nearest training product by words (TF-IDF, character 2–4-grams, cosine): its fact tags
    and its top-level category."""
    from sklearn.feature_extraction.text import TfidfVectorizer

    from labelops.textgen.baselines import listing_tags
    from labelops.textgen.tagging import product_words, top_category

    vectorizer = TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 4), sublinear_tf=True, max_features=8192)
    matrix = vectorizer.fit_transform([product_words(r) for r in train])
    nearest = (vectorizer.transform([product_words(r) for r in held]) @ matrix.T).toarray().argmax(axis=1)
    return [listing_tags(train[i]) for i in nearest], [top_category(train[i]) for i in nearest]


def drop_half(row: dict, rng: random.Random) -> dict:
    """The row with a random half of its attributes, and, one time in two, no category path."""
    keys = sorted(row.get("attributes") or {})
    kept = set(rng.sample(keys, len(keys) - len(keys) // 2)) if keys else set()
    return {**row, "attributes": {k: v for k, v in (row.get("attributes") or {}).items() if k in kept},
            "category_path": row.get("category_path") if rng.random() < 0.5 else []}


def evaluate(name: str, folds: int = 5) -> list[tuple[str, str, dict]]:
    from sklearn.model_selection import KFold

    from labelops.textgen.baselines import listing_tags
    from labelops.textgen.tagging import TagClassifier, product_words, top_category
    from tests.helpers.real_data import dataset_rows

    rows = [r for r in dataset_rows(name) if product_words(r)]
    rng = random.Random(0)
    stats: dict[str, dict[str, list]] = {s: {"right": [], "made": [], "facts": [], "category": []}
                                         for s in ("classifier", "neighbour", "labels")}
    majority: list[bool] = []
    for train_index, held_index in KFold(folds, shuffle=True, random_state=0).split(rows):
        train, held = [rows[i] for i in train_index], [rows[i] for i in held_index]
        tagger = TagClassifier().fit(train)
        truth = [set(listing_tags(r)) for r in held]
        words_only = [{"title": r.get("title"), "description": r.get("description")} for r in held]
        systems = {"classifier": (tagger.tags(words_only), [c for c, _ in tagger.category(words_only)])}
        systems["neighbour"] = neighbour_predictions(train, held)
        for system, (tags, categories) in systems.items():
            for predicted, facts, category, row in zip(tags, truth, categories, held):
                stats[system]["right"].append(sum(t in facts for t in predicted))
                stats[system]["made"].append(len(predicted))
                stats[system]["facts"].append((len(facts & set(predicted)), len(facts)))
                if top_category(row) is not None:
                    stats[system]["category"].append(category == top_category(row))
        common = Counter(top_category(r) for r in train if top_category(r)).most_common(1)
        majority += [common[0][0] == top_category(r) for r in held if top_category(r)] if common else []
        # as labels: half the attributes dropped, the guesses for what the listing lacks
        dropped = [drop_half(r, rng) for r in held]
        for guessed, full, part in zip(tagger.missing_facts(dropped), truth, dropped):
            lost = full - set(listing_tags(part))
            stats["labels"]["right"].append(sum(t in full for t in guessed))
            stats["labels"]["made"].append(len(guessed))
            stats["labels"]["facts"].append((len(lost & set(guessed)), len(lost)))
    results = []
    for system, label in (("classifier", "words only: tag classifier"), ("neighbour", "words only: nearest neighbour"),
                          ("labels", "as labels, half the facts dropped: guessed tags")):
        s = stats[system]
        made, right = sum(s["made"]), sum(s["right"])
        low, high = bootstrap_precision(s["right"], s["made"])
        found, facts = (sum(c[i] for c in s["facts"]) for i in (0, 1))
        metrics = {"precision": right / made if made else float("nan"), "interval": f"[{low:.3f}, {high:.3f}]",
                   "recall": found / facts if facts else float("nan"), "per_product": made / len(rows),
                   "category": float(np.mean(s["category"])) if s["category"] else float("nan")}
        results.append((name, label, metrics))
    results.append((name, "most common category", {"category": float(np.mean(majority)) if majority else float("nan")}))
    for _, system, metrics in results:
        print(f"{name} | {system} | {metrics}", file=sys.stderr, flush=True)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--datasets", nargs="+", default=["demo", "flipkart", "books", "advertisegen"])
    parser.add_argument("--folds", type=int, default=5)
    args = parser.parse_args()
    results = [r for name in args.datasets for r in evaluate(name, args.folds)]

    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"tags read from words, {args.folds}-fold cross-validated (judged against each product's facts)")
    for column in ("dataset", "system", "tag precision", "95% interval", "recall of facts", "tags/product",
                   "category accuracy"):
        table.add_column(column, justify="left" if column in ("dataset", "system") else "right")

    def number(metrics: dict, key: str) -> str:
        value = metrics.get(key)
        return "" if value is None or value != value else f"{value:.3f}"

    for dataset, system, metrics in results:
        table.add_row(dataset, system, number(metrics, "precision"), metrics.get("interval", ""),
                      number(metrics, "recall"), number(metrics, "per_product"), number(metrics, "category"))
    Console(width=200).print(table)


if __name__ == "__main__":
    main()
