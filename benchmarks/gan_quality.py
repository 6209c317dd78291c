"""Quality of the conditional GAN beside its baselines and real photos, on the demo shop and on real data.

    python benchmarks/gan_quality.py [--datasets demo flipkart books] [--steps 1500] [--image-size 32] [--width 16]
                                     [--set FIELD=VALUE ...]

Datasets (real ones need LABELOPS_SHARED_DATA, e.g. ../shared/data):
  demo      the demo catalog (500 products, drawn photos)
  flipkart  the Flipkart sample: 1,050 products with a photo each. Read directly from products.csv
            with labelops.shop.real.load_flipkart_csv (the loader `labelops shop render` uses),
            photos copied to images/<sha1>.jpg: the same listings and pixels a render + ingest
            gives, without spending the CPU budget on a crawl.
  books     the books.toscrape.com mirror, served on 127.0.0.1 and ingested (Scrapy downloads
            the covers). Every book is under "Books", so the class is the genre; the
            --books-classes most frequent genres are kept.

For each: a snapshot in a temporary data root, the GAN trained on its train split (``--steps``
iterations on the CPU; ``--set`` sets any other GanTrainConfig field, e.g. ``--set
category_level=1``), and the gate's evaluation (labelops.imagegen.evaluation: the evaluator
trained on real training photos only, with a colour head where colours are known) of the
generator, the baselines (class-mean images, class-and-colour-mean images, noise) and the real
reference (the evaluator on real held-out photos; KID, precision and recall of real training
photos against held-out ones). One row per system: conditional accuracy with its 95% interval,
colour accuracy, KID ± std, precision, recall; then the issue's targets, each with pass/fail:

  demo      cond. acc >= class-mean's (and class+colour means', where colours are known) and
            >= 0.70 x the evaluator's accuracy on real held-out photos;
            KID <= 2 x KID(real train vs real held-out) + spread (1.96 x combined std)
  flipkart  cond. acc >= class-mean's

and the shipped gate's verdict were it the first challenger. Each generator row also says how fast it
trained (images/s: iterations × batch ÷ fit seconds) and its peak memory (the CUDA allocator's peak
on a GPU, else the training process's peak resident memory); the title names the device and
precision. The trainer picks a GPU where there is one (bf16-mixed), so the same command measures
both, e.g. ``--image-size 128 --width 16 --steps 4000`` on a GPU. The labelled sample grid (a row per
class, generated beside real photos) of each run is written beside the data and listed below.
"""

from __future__ import annotations

import argparse
import base64
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
    fields = dict(snapshot_id=snapshot_id, image_size=args.image_size, g_width=args.width, d_width=args.width,
                  batch_size=args.batch_size, max_steps=args.steps, sample_every_steps=max(1, args.steps // 5),
                  checkpoint_every_steps=max(1, args.steps // 5),
                  max_classes=args.books_classes if name == "books" else 16, min_class_images=10)
    fields.update(dict(item.split("=", 1) for item in args.set))
    config = GanTrainConfig.model_validate(fields)
    work = prepare(config)
    started = time.perf_counter()
    trained = train_gan(config)
    seconds = time.perf_counter() - started
    counts = json.loads((work / "prepared.json").read_text())
    from labelops.evaluation import EvaluationSet
    from labelops.gate import GatePolicy, decide
    from labelops.imagegen.evaluation import evaluate_gan, image_baselines
    from labelops.imagegen.pyfunc import TrainedGan
    from labelops.registry import IMAGE_MODEL

    gan = TrainedGan.load(work / "final")
    heldout = EvaluationSet.of_snapshot(root, snapshot_id)
    measured = time.process_time()
    model = evaluate_gan(gan, heldout)
    systems = image_baselines(gan, heldout)
    measured = time.process_time() - measured
    policy = GatePolicy.load()
    decision = decide(IMAGE_MODEL, policy.for_model(IMAGE_MODEL), model, None, systems, policy)
    grid = work / "samples" / "evaluation.png"
    grid.parent.mkdir(exist_ok=True)
    grid.write_bytes(base64.b64decode(model.samples[0]["grid_png"]))
    fit = json.loads((work / "trained.json").read_text())
    print(f"{name}: {counts}, fit {fit['seconds']:.0f} s on {fit.get('device')}, total {seconds:.0f} s, "
          f"evaluation {measured:.0f} CPU s", file=sys.stderr)
    return {"dataset": name, "counts": counts, "fit_seconds": fit["seconds"], "total_seconds": seconds,
            "device": fit.get("device", "?"), "fit_precision": fit.get("precision", "?"),
            "images_per_s": fit["metrics"].get("train/images_per_s"),
            "peak_memory_mib": fit["metrics"].get("train/peak_memory_mib"),
            "systems": {"model": model.metrics, **{n: s.metrics for n, s in systems.items()}},
            "floors": {c.metric: {"passed": c.passed, "reason": c.reason} for c in decision.checks if c.kind == "floor"},
            "gate": decision.summary(), "grid": str(grid), "config": config.model_dump(), "version": trained.version}


def targets(result: dict) -> list[tuple[str, bool | None, str]]:
    """The issue's targets for this data set: (target, met, the numbers)."""
    systems, floors = result["systems"], result["floors"]
    model, class_mean = systems["model"]["conditional_accuracy"], systems["class_mean"]["conditional_accuracy"]
    rows = [("cond. acc >= class-mean", model >= class_mean, f"{model:.3f} vs {class_mean:.3f}")]
    if "colour_accuracy" in systems["model"] and "class_colour_mean" in systems:  # the baseline that knows the colours too
        both = systems["class_colour_mean"]["conditional_accuracy"]
        rows.append(("cond. acc >= class+colour means", model >= both, f"{model:.3f} vs {both:.3f}"))
    if result["dataset"] == "demo":
        for metric, target in (("conditional_accuracy", "cond. acc >= 0.70 x evaluator on real photos"),
                               ("kid", "KID <= 2 x KID(real train vs held-out) + spread")):
            floor = floors.get(metric)
            rows.append((target, None if floor is None else floor["passed"], "" if floor is None else floor["reason"]))
    return rows


def interval(metrics: dict, name: str) -> str:
    value = metrics.get(name)
    if value is None or value != value:
        return "-"
    low, high = metrics.get(f"{name}_low"), metrics.get(f"{name}_high")
    return f"{value:.3f} [{low:.2f}, {high:.2f}]" if low is not None else f"{value:.3f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--datasets", nargs="+", default=["demo", "flipkart", "books"])
    parser.add_argument("--steps", type=int, default=1500, help="GAN iterations (one D and one G update each)")
    parser.add_argument("--image-size", type=int, default=32)
    parser.add_argument("--width", type=int, default=16, help="generator and discriminator width")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--evaluator-steps", type=int, default=400)
    parser.add_argument("--books-classes", type=int, default=6, help="most frequent book genres kept")
    parser.add_argument("--set", nargs="*", default=[], metavar="FIELD=VALUE", help="any other GanTrainConfig field")
    parser.add_argument("--json", type=Path, default=None, help="also write the results here")
    args = parser.parse_args()
    os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
    os.environ["LABELOPS_IMAGE_EVALUATOR_STEPS"] = str(args.evaluator_steps)
    results = [evaluate(name, args) for name in args.datasets]
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))

    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"conditional GAN vs baselines and real photos on held-out images (val + test split); "
                        f"{args.image_size} px, width {args.width}, {args.steps} iterations × batch {args.batch_size}; "
                        f"[95% interval]; training on {', '.join(sorted({r['device'] for r in results}))} "
                        f"({', '.join(sorted({r['fit_precision'] for r in results}))})")
    for column in ("dataset", "classes", "train / held-out", "system", "cond. acc [95%]", "colour acc [95%]",
                   "KID ± std", "precision", "recall", "tagger acc", "fit min", "images/s", "peak MiB"):
        table.add_column(column, justify="left" if column in ("dataset", "system") else "right")
    labels = {"model": "generator", "class_mean": "class-mean images", "class_colour_mean": "class+colour means",
              "noise": "noise", "real": "real photos (reference)"}
    for result in results:
        counts = result["counts"]
        for i, (system, metrics) in enumerate(result["systems"].items()):
            first, generator = i == 0, system == "model"
            table.add_row(
                result["dataset"] if first else "", str(counts["classes"]) if first else "",
                f"{counts['images_train']} / {counts['images_val'] + counts['images_test']}" if first else "",
                labels.get(system, system), interval(metrics, "conditional_accuracy"),
                interval(metrics, "colour_accuracy"), f"{metrics['kid']:.3f} ±{metrics['kid_std']:.3f}",
                f"{metrics['precision']:.3f}", f"{metrics['recall']:.3f}",
                f"{metrics['tagger_accuracy']:.3f}" if generator else "",
                f"{result['fit_seconds'] / 60:.1f}" if generator else "",
                f"{result['images_per_s']:.0f}" if generator and result["images_per_s"] else "",
                f"{result['peak_memory_mib']:.0f}" if generator and result["peak_memory_mib"] else "")
    console = Console(width=220)
    console.print(table)
    for result in results:
        print(f"{result['dataset']}: the issue's targets")
        for target, met, numbers in targets(result):
            print(f"  {'PASS' if met else 'FAIL' if met is not None else '  - '}  {target}: {numbers}")
        print(f"  gate (as a first challenger): {result['gate']}")
        print(f"  sample grid: {result['grid']}")


if __name__ == "__main__":
    main()
