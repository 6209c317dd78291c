"""Quality of the conditional GAN beside its baselines, on the demo shop and on real data.

    python benchmarks/gan_quality.py [--datasets demo flipkart books] [--steps 1500] [--image-size 32] [--width 16]

Datasets (real ones need LABELOPS_SHARED_DATA, e.g. ../shared/data):
  demo      the demo catalog (500 products, drawn photos), 4 top-level categories
  flipkart  the Flipkart sample: 1,050 products with a photo each, 7 top-level categories × 150.
            Read directly from products.csv with labelops.shop.real.load_flipkart_csv (the
            loader `labelops shop render` uses), photos copied to images/<sha1>.jpg: the same
            listings and pixels a render + ingest gives, without spending the CPU budget on a crawl.
  books     the books.toscrape.com mirror, served on 127.0.0.1 and ingested (Scrapy downloads
            the covers). Every book is under "Books", so the class is the genre (category level
            1, found automatically); the --books-classes most frequent genres are kept.

For each: a snapshot in a temporary data root, the GAN trained on its train split (``--steps``
iterations on the CPU), and its registration's evaluation (labelops.imagegen.evaluation, the
gate's: the evaluator trained on real training images only; conditional accuracy and KID against
real held-out images) for the generator and the baselines the gate compares it with (class-mean
images, noise), the image tagger's accuracy on real held-out images, and the shipped gate's
verdict were it the first challenger. Prints one table; the sample grid of each run is listed below it.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.text_quality import ingest_site, shared  # noqa: E402


def flipkart_snapshot(root) -> str:  # noqa: ANN001
    from labelops.contracts import Listing
    from labelops.normalize import listing_id, listings_to_arrow
    from labelops.shop.real import load_flipkart_csv
    from labelops.snapshot import publish_table

    listings = []
    for product in load_flipkart_csv(shared() / "flipkart" / "products.csv"):
        url = f"https://flipkart.example/product/{product.slug}"
        images = []
        if product.image_source is not None and Path(product.image_source).exists():
            images.append(f"images/{hashlib.sha1(url.encode()).hexdigest()}.jpg")  # noqa: S324 - a name
            root.makedirs("images")
            shutil.copyfile(product.image_source, root.path(images[0]))
        listings.append(Listing(
            listing_id=listing_id(url), url=url, source="flipkart", crawled_at=datetime(2016, 4, 30, tzinfo=timezone.utc),
            title=product.title, description=product.description, price=product.price, currency=product.currency,
            brand=product.brand, category_path=list(product.category_path), attributes=product.attributes,
            images=images, raw_hash=product.slug))
    return publish_table(root, listings_to_arrow(listings), {"source": "flipkart"})


def make_snapshot(name: str, root) -> str:  # noqa: ANN001
    if name == "demo":
        from tests.helpers.listings import publish_demo_snapshot

        return publish_demo_snapshot(root, 500, images=True)
    if name == "flipkart":
        return flipkart_snapshot(root)
    if name == "books":
        return ingest_site(shared() / "books-toscrape" / "site", "catalogue/frankenstein_20/index.html", root)
    raise SystemExit(f"unknown dataset {name}")


def evaluate(name: str, args: argparse.Namespace) -> dict:
    from labelops.imagegen.train import GanTrainConfig, prepare, train_gan
    from labelops.settings import get_settings
    from labelops.storage import DataRoot

    data = tempfile.mkdtemp(prefix=f"labelops-gan-quality-{name}-")
    os.environ["LABELOPS_DATA"] = data
    get_settings.cache_clear()
    root = DataRoot(data)
    snapshot_id = make_snapshot(name, root)
    config = GanTrainConfig(snapshot_id=snapshot_id, image_size=args.image_size, g_width=args.width,
                            d_width=args.width, batch_size=args.batch_size, max_steps=args.steps,
                            sample_every_steps=max(1, args.steps // 5), checkpoint_every_steps=max(1, args.steps // 5),
                            max_classes=args.books_classes if name == "books" else 16,
                            min_class_images=10)
    work = prepare(config)
    started = time.perf_counter()
    trained = train_gan(config)
    seconds = time.perf_counter() - started
    evaluation = json.loads((work / "evaluation.json").read_text())
    counts = json.loads((work / "prepared.json").read_text())
    from labelops.evaluation import EvaluationSet, Scores
    from labelops.gate import GatePolicy, decide
    from labelops.imagegen.evaluation import evaluate_gan, image_baselines
    from labelops.imagegen.pyfunc import TrainedGan
    from labelops.registry import IMAGE_MODEL

    gan = TrainedGan.load(work / "final")
    heldout = EvaluationSet.of_snapshot(root, snapshot_id)
    model: Scores = evaluate_gan(gan, heldout)
    policy = GatePolicy.load()
    decision = decide(IMAGE_MODEL, policy.for_model(IMAGE_MODEL), model, None, image_baselines(gan, heldout), policy)
    evaluation["gate"] = decision.summary()
    fit = json.loads((work / "trained.json").read_text())
    print(f"{name}: {counts}, fit {fit['seconds']:.0f} s, total {seconds:.0f} s", file=sys.stderr)
    return {"dataset": name, "counts": counts, "evaluation": evaluation, "fit_seconds": fit["seconds"],
            "total_seconds": seconds, "grid": str(work / "samples" / "final.png"), "config": config.model_dump(),
            "version": trained.version}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--datasets", nargs="+", default=["demo", "flipkart", "books"])
    parser.add_argument("--steps", type=int, default=1500, help="GAN iterations (one D and one G update each)")
    parser.add_argument("--image-size", type=int, default=32)
    parser.add_argument("--width", type=int, default=16, help="generator and discriminator width")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--evaluator-steps", type=int, default=400)
    parser.add_argument("--books-classes", type=int, default=6, help="most frequent book genres kept")
    parser.add_argument("--json", type=Path, default=None, help="also write the results here")
    args = parser.parse_args()
    os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
    os.environ["LABELOPS_IMAGE_EVALUATOR_STEPS"] = str(args.evaluator_steps)
    results = [evaluate(name, args) for name in args.datasets]
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))

    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"conditional GAN vs baselines on real held-out images (val + test split); "
                        f"{args.image_size} px, width {args.width}, {args.steps} iterations × batch {args.batch_size}, "
                        f"CPU (2 shared cores)")
    for column in ("dataset", "classes", "train / held-out", "system", "cond. acc", "÷ evaluator", "KID (±std)",
                   "tagger acc", "fit min", "gate"):
        table.add_column(column, justify="left" if column in ("dataset", "system") else "right")
    for result in results:
        metrics, counts = result["evaluation"]["metrics"], result["counts"]
        ceiling = metrics["evaluator_accuracy"]
        for i, system in enumerate(result["evaluation"]["systems"]):
            first = i == 0
            generator = system["system"] == "model"
            table.add_row(
                result["dataset"] if first else "", str(counts["classes"]) if first else "",
                f"{counts['images_train']} / {counts['images_val'] + counts['images_test']}" if first else "",
                system["system"], f"{system['conditional_accuracy']:.3f}",
                f"{system['conditional_accuracy'] / max(ceiling, 1e-9):.2f}",
                f"{system['kid']:.3f} ±{system['kid_std']:.3f}",
                f"{metrics['tagger_accuracy']:.3f} (evaluator {ceiling:.3f})" if generator else "",
                f"{result['fit_seconds'] / 60:.1f}" if generator else "",
                result["evaluation"]["gate"] if generator else "")
    Console(width=200).print(table)
    for result in results:
        print(f"sample grid ({result['dataset']}): {result['grid']}")


if __name__ == "__main__":
    main()
