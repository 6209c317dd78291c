"""Quality of the text generator beside its two baselines, on the demo shop and on real data.

    python benchmarks/text_quality.py [--datasets demo books flipkart advertisegen] [--steps 300]

Datasets (real ones need LABELOPS_SHARED_DATA, e.g. ../shared/data):
  demo          the demo catalog (500 products)
  books         the books.toscrape.com mirror, served on 127.0.0.1 and ingested
  flipkart      the Flipkart sample, rendered with `labelops shop render`, served and ingested
  advertisegen  Chinese AdvertiseGen products: attributes → ad copy (the seed's market)

For each: a snapshot in a temporary data root, the generator trained on its train split
(``--steps``, CPU), and on the same held-out rows (val + test) the model and every baseline
(template, retrieve-and-fill, nearest neighbour), each scored by labelops.evaluation, the
function registration and the gate use: the model's own text (what the gate decides on), and the
same text as labels state it (grounded, completed; never gated). Beside each system: its chrF gain
over retrieve-and-fill with the paired-bootstrap 95% interval, the fact checker's findings rate,
and the shipped gate's verdict were the model the first challenger. The model is shown twice: as
it writes (a text with findings replaced by its best clean sampled candidate, else by the best
baseline's text: ``fallback_rate``), and its first text alone. ``tag_precision`` is the share of
tags the product's facts state; ``written_auc`` how well TF-IDF + logistic regression
(cross-validated) tells the system's texts from the shop's own (0.5: it cannot; lower is better).
Prints one table.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

METRICS = ("chrf", "bleu", "rouge_l", "attribute_coverage", "findings_rate", "tag_f1", "tag_precision", "distinct_2",
           "fallback_rate", "written_auc")


def shared() -> Path:
    value = os.environ.get("LABELOPS_SHARED_DATA")
    if not value:
        raise SystemExit("LABELOPS_SHARED_DATA must point at the shared data for real datasets")
    return Path(value)


# real sites are served on one fixed loopback port: listing ids hash the URL, so every run of the
# benchmark has the same test split and runs compare on the same products
PORT = int(os.environ.get("LABELOPS_BENCH_PORT", "47613"))


def ingest_site(site: Path, start: str, root) -> str:  # noqa: ANN001
    from spiders.runner import crawl
    from labelops.ingest import normalize_crawl, publish_snapshot, validate_crawl
    from labelops.settings import CrawlSettings
    from labelops.shop import serve_folder

    with serve_folder(site, port=PORT) as base_url:
        crawl([f"{base_url}/{start}"], root, CrawlSettings(), crawl_id="bench", log_level="ERROR")
    normalize_crawl(root, "bench")
    return publish_snapshot(root, validate_crawl(root, "bench", data_docs=False), max_invalid_share=0.5).snapshot_id


def advertisegen_table(path: Path, limit: int):
    from labelops.contracts import Listing
    from labelops.normalize import listings_to_arrow
    from tests.helpers.real_data import advertisegen_attributes

    listings = []
    for line in path.read_text(encoding="utf-8").splitlines()[:limit]:
        record = json.loads(line)
        attributes = advertisegen_attributes(record["content"])
        digest = hashlib.sha256(record["content"].encode()).hexdigest()
        listings.append(Listing(listing_id=digest[:16], url=f"https://advertisegen.example/{digest[:16]}",
                                source="advertisegen", crawled_at=datetime(2019, 1, 1, tzinfo=timezone.utc),
                                title=attributes.get("类型"), description=record["summary"],
                                attributes=attributes, raw_hash=digest))
    return listings_to_arrow(listings)


def make_snapshot(name: str, root) -> str:  # noqa: ANN001
    from labelops.normalize import listings_to_arrow
    from labelops.shop import render_catalog
    from labelops.snapshot import publish_table
    from tests.helpers.listings import demo_listings

    if name == "demo":
        return publish_table(root, listings_to_arrow(demo_listings(500)))
    if name == "books":
        return ingest_site(shared() / "books-toscrape" / "site", "catalogue/frankenstein_20/index.html", root)
    if name == "flipkart":
        site = Path(tempfile.mkdtemp(prefix="flipkart-site-"))
        render_catalog(shared() / "flipkart" / "products.csv", site / "shop")
        return ingest_site(site / "shop", "", root)
    if name == "advertisegen":
        return publish_table(root, advertisegen_table(shared() / "zh" / "advertisegen-dev.jsonl", 1070))
    raise SystemExit(f"unknown dataset {name}")


def evaluate(name: str, steps: int, dump: Path | None = None, pretrain_steps: int = 0,
             exemplars: bool = True) -> list[tuple[str, str, dict, float]]:
    from labelops.evaluation import EvaluationSet, evaluate_text_generator, text_baseline_scores
    from labelops.gate import GatePolicy, decide
    from labelops.registry import TEXT_MODEL
    from labelops.settings import get_settings
    from labelops.significance import paired_bootstrap
    from labelops.storage import DataRoot
    from labelops.textgen.generate import TextGenerator
    from labelops.textgen.train import TextTrainConfig, train_text

    data = tempfile.mkdtemp(prefix=f"labelops-quality-{name}-")
    os.environ["LABELOPS_DATA"] = data
    get_settings.cache_clear()
    root = DataRoot(data)
    snapshot_id = make_snapshot(name, root)
    started = time.perf_counter()
    trained = train_text(TextTrainConfig(snapshot_id=snapshot_id, max_steps=steps, pretrain_steps=pretrain_steps,
                                         exemplars=exemplars))
    train_seconds = time.perf_counter() - started
    evaluation = EvaluationSet.of_snapshot(root, snapshot_id)
    everything = len(evaluation.rows)
    generator = TextGenerator.load(Path(trained.work_dir) / "final")
    model = evaluate_text_generator(generator, evaluation, samples=everything)
    first = evaluate_text_generator(FirstText(generator), evaluation, samples=everything)
    baselines = text_baseline_scores(evaluation, ("template", "retrieve_fill", "nearest_neighbour"), samples=everything)
    if dump is not None:  # every held-out row: its facts, the shop's text, the model's and retrieve-and-fill's
        dump.mkdir(parents=True, exist_ok=True)
        with open(dump / f"{name}.jsonl", "w", encoding="utf-8") as out:
            for row, reference, own, fill in zip(evaluation.rows, evaluation.references, model.samples,
                                                 baselines["retrieve_fill"].samples):
                out.write(json.dumps({"title": row.get("title"), "attributes": row.get("attributes"),
                                      "reference": reference, "model": own["text"], "model_findings": own["findings"],
                                      "retrieve_fill": fill["text"], "retrieve_fill_findings": fill["findings"]},
                                     ensure_ascii=False, default=str) + "\n")
    policy = GatePolicy.load()
    decision = decide(TEXT_MODEL, policy.for_model(TEXT_MODEL), model, None,
                      {k: v for k, v in baselines.items() if k != "nearest_neighbour"}, policy)
    reference = baselines["retrieve_fill"]

    def gain(scores) -> str:  # noqa: ANN001
        if scores is reference or scores.system == "as labels":
            return ""  # the labels' text is reported, not compared: its per-row statistics are the own text's
        interval = paired_bootstrap(scores.row_metric("chrf"), reference.row_metric("chrf"), evaluation_rows)
        return f"{interval.gain:+.2f} [{interval.low:+.2f}, {interval.high:+.2f}]"

    evaluation_rows = len(evaluation.rows)
    trained_for = (f"{steps} steps" + (f", {pretrain_steps} pretraining" if pretrain_steps else "")
                   + ("" if exemplars else ", no exemplar"))
    results = [(name, f"model ({trained_for}), own text: gate {decision.verdict}", model, train_seconds),
               (name, "  model, first text (no candidates, no fallback)", first, 0.0),
               (name, "  model, as labels (grounded, completed)",
                model.model_copy(update={"metrics": model.label_metrics, "system": "as labels"}), 0.0)]
    results += [(name, f"{label} baseline", scores, 0.0) for label, scores in baselines.items()]
    references = evaluation.references
    rows = [(dataset, system, {**scores.metrics, "gain": gain(scores),
                               "written_auc": written_auc([x["text"] for x in scores.samples], references)
                               if scores.system != "as labels" else float("nan")}, seconds)
            for dataset, system, scores, seconds in results]
    print(f"{name}: {evaluation_rows} held-out rows, {len(evaluation.train_rows)} training rows; gate: "
          f"{decision.summary()}", file=sys.stderr)
    for _, system, metrics, _ in rows:  # as soon as a dataset is done, in case a later one fails
        print(f"{name} | {system} | " + " | ".join(f"{m} {metrics.get(m, float('nan')):.3f}" for m in METRICS)
              + f" | chrF vs retrieve_fill {metrics['gain']}", file=sys.stderr, flush=True)
    for sample in model.samples[:3]:
        print(f"  sample: {sample['title']}: {sample['text']} {sample['findings']}", file=sys.stderr)
    return rows


class FirstText:
    """A generator's first text for each row, as it wrote it: no sampled candidates, no fallback."""

    def __init__(self, generator) -> None:  # noqa: ANN001
        self.generator = generator

    def generate(self, rows, options=None):  # noqa: ANN001, ANN201
        from dataclasses import replace

        from labelops.textgen.generate import GenerationOptions

        return self.generator.generate(rows, replace(options or GenerationOptions(), choose=False))


def written_auc(generated: list[str], written: list[str], folds: int = 5) -> float:
    """How well TF-IDF (word and character n-grams) + logistic regression, cross-validated, tells
    ``generated`` texts from shop-``written`` ones: ROC AUC, 0.5 = indistinguishable (lower is better)."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import roc_auc_score
    from sklearn.model_selection import StratifiedKFold, cross_val_predict
    from sklearn.pipeline import make_pipeline

    texts = [t or "" for t in generated] + [t or "" for t in written]
    labels = [1] * len(generated) + [0] * len(written)
    classifier = make_pipeline(TfidfVectorizer(analyzer="char_wb", ngram_range=(1, 3), min_df=2, sublinear_tf=True),
                               LogisticRegression(max_iter=2000))
    splits = StratifiedKFold(n_splits=folds, shuffle=True, random_state=0)
    scores = cross_val_predict(classifier, texts, labels, cv=splits, method="predict_proba")[:, 1]
    return float(roc_auc_score(labels, scores))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--datasets", nargs="+", default=["demo", "books", "flipkart", "advertisegen"])
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument("--pretrain-steps", type=int, default=0,
                        help="language modelling on the snapshot's product text first (0: none)")
    parser.add_argument("--no-exemplars", dest="exemplars", action="store_false",
                        help="train without the nearest training product's description in the prompt")
    parser.add_argument("--dump", type=Path, default=None, help="write every held-out text and its findings here")
    args = parser.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    rows = [row for name in args.datasets for row in evaluate(name, args.steps, args.dump, args.pretrain_steps,
                                                                     args.exemplars)]

    from rich.console import Console
    from rich.table import Table

    table = Table(title="text generator vs baselines on each dataset's held-out rows (CPU, 2 cores)")
    for column in ("dataset", "system", *METRICS, "chrF vs retrieve-fill (95%)", "train s"):
        table.add_column(column, justify="left" if column in ("dataset", "system") else "right")
    for dataset, system, metrics, seconds in rows:
        table.add_row(dataset, system, *(f"{metrics.get(m, float('nan')):.3f}" for m in METRICS), metrics["gain"],
                      f"{seconds:.0f}" if seconds else "")
    Console(width=200).print(table)


if __name__ == "__main__":
    main()
