"""The text–image scorer (labelops.textimage) beside the simple method, on held-out real pairs.

    python benchmarks/text_image.py [--datasets demo flipkart] [--steps 400]

Datasets (flipkart needs LABELOPS_SHARED_DATA, e.g. ../shared/data):
  demo      the demo catalog (500 products, drawn photos)
  flipkart  the Flipkart sample: 1,050 real products with a photo each (benchmarks/gan_quality.py's snapshot)

For each: a snapshot in a temporary data root, the scorer trained on its training split (CPU,
one thread; CPU seconds measured), and on the held-out split (val + test) retrieval@1 of 10 both
ways (photo → the right description among 10, description → the right photo among 10), each with
a 95% bootstrap interval, for the model and for the simple method (the photo's 5 nearest training
photos in pixels, their descriptions' TF-IDF cosine to the candidate), on the same rows and the
same candidates, and the model's gain over it (paired bootstrap over the rows). Also: the disagreement threshold, the share of true and of mismatched held-out
pairs below it, and whether the scorer is trusted. Prints one table.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def snapshot(name: str, root) -> str:  # noqa: ANN001
    if name == "demo":
        from tests.helpers.listings import publish_demo_snapshot

        return publish_demo_snapshot(root, 500, images=True)
    from benchmarks.gan_quality import flipkart_snapshot

    return flipkart_snapshot(root)


def cell(found: dict) -> str:
    return f"{found['mean']:.3f} [{found['low']:.3f}, {found['high']:.3f}]"


def gain(interval: dict) -> str:
    return f"{interval['gain']:+.3f} [{interval['low']:+.3f}, {interval['high']:+.3f}]"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--datasets", nargs="+", default=["demo", "flipkart"])
    parser.add_argument("--steps", type=int, default=400)
    args = parser.parse_args()
    import torch

    torch.set_num_threads(1)
    from labelops.settings import Settings
    from labelops.storage import DataRoot
    from labelops.textimage import text_image_scorer

    rows = []
    for name in args.datasets:
        if name == "flipkart" and not os.environ.get("LABELOPS_SHARED_DATA"):
            print("flipkart: skipped (LABELOPS_SHARED_DATA is not set)")
            continue
        with tempfile.TemporaryDirectory() as folder:
            settings = Settings(data=folder, text_image_steps=args.steps)
            snapshot_id = snapshot(name, DataRoot(folder))
            scorer = text_image_scorer(snapshot_id, settings)
            if scorer is None:
                print(f"{name}: no scorer (too few photo-text pairs)")
                continue
            m = scorer.metrics
            rows.append([name, f"{m['train_pairs']}/{m['heldout_pairs']}", f"{m['train_cpu_seconds']:.0f}",
                         cell(m["model_image_to_text"]), cell(m["neighbours_image_to_text"]),
                         gain(m["gain_image_to_text"]),
                         cell(m["model_text_to_image"]), cell(m["neighbours_text_to_image"]),
                         gain(m["gain_text_to_image"]),
                         f"{scorer.threshold:.3f}", f"{m['true_pairs_flagged']:.3f}",
                         f"{m['mismatched_pairs_flagged']:.3f}", "yes" if scorer.trusted else "no"])
    headers = ["data", "train/held-out pairs", "train CPU s", "photo→text model", "photo→text neighbours", "gain",
               "text→photo model", "text→photo neighbours", "gain", "threshold", "true flagged", "mismatched flagged",
               "trusted"]
    print("retrieval@1 of 10 on held-out real pairs (chance 0.100), 95% bootstrap intervals")
    print("| " + " | ".join(headers) + " |")
    print("|" + "---|" * len(headers))
    for row in rows:
        print("| " + " | ".join(row) + " |")


if __name__ == "__main__":
    main()
