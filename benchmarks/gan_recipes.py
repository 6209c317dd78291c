"""Conditional GAN recipes (architecture, width, batch) at equal CPU time, on the demo shop and on Flipkart.

    python benchmarks/gan_recipes.py [--datasets demo flipkart] [--recipes dcgan-w16 fastgan-w8 ...]
                                     [--cpu-seconds 150] [--image-size 64] [--out DIR] [--json FILE]

Each recipe trains from scratch on the snapshot's training split (its classes and colours as
``labelops.imagegen.train.prepare`` builds them) with the training step the pipeline uses
(``GanModule.adversarial_step`` and the EMA), in this process with ONE torch thread, until the
process has spent ``--cpu-seconds`` of CPU time training (``time.process_time``: the work done,
whatever else loads the machine). Then it is judged as registration judges it
(``labelops.imagegen.evaluation.heldout_images`` / ``score_images``: the snapshot's evaluator,
trained on real training images only, on the real held-out images), beside the class-mean images
and noise on the same rows, with a paired bootstrap interval of each system's conditional accuracy
minus the class-mean's. *colour acc*: for held-out images with a colour of the vocabulary, an image
asked for in that colour is drawn; it counts when its foreground's mean RGB is nearest to that
colour's mean foreground in the training photos (class-mean row: the class × colour mean image;
"real" row: the held-out photos themselves, the ceiling). Prints one table and writes one sample
grid per recipe (one row per class, any colour) and one colour grid (rows: the most frequent
colours of the largest class) under ``--out``. The last three columns judge as the gate does:
each held-out row drawn in its own colour where the model knows it (class-mean row: the
class-and-colour means), conditional accuracy, KID and recall.

Demo: the demo catalog (``--products`` products with drawn photos), 8 sub-categories. Flipkart:
needs LABELOPS_SHARED_DATA (``benchmarks/gan_quality.py``'s snapshot, the photos' real pixels).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

RECIPES: dict[str, dict] = {
    # name: GanModule arguments (besides classes, colours, image size) and the batch size
    "dcgan-w16": {"arch": "dcgan", "g_width": 16, "d_width": 16, "batch_size": 32},
    "dcgan-w16-b16": {"arch": "dcgan", "g_width": 16, "d_width": 16, "batch_size": 16},
    "dcgan-w32": {"arch": "dcgan", "g_width": 32, "d_width": 32, "batch_size": 32},
    "fastgan-w8": {"arch": "fastgan", "g_width": 8, "d_width": 8, "batch_size": 32},
    "fastgan-w16": {"arch": "fastgan", "g_width": 16, "d_width": 16, "batch_size": 32},
    "fastgan-w8-norecon": {"arch": "fastgan", "g_width": 8, "d_width": 8, "batch_size": 32, "recon_weight": 0.0},
    "dcgan-w16-nocolour": {"arch": "dcgan", "g_width": 16, "d_width": 16, "batch_size": 32, "colours": False},
    "fastgan-w8-b16": {"arch": "fastgan", "g_width": 8, "d_width": 8, "batch_size": 16},
    "dcgan-w16-b16-lr5": {"arch": "dcgan", "g_width": 16, "d_width": 16, "batch_size": 16, "lr_g": 5e-4, "lr_d": 5e-4},
    "dcgan-w16-ac3": {"arch": "dcgan", "g_width": 16, "d_width": 16, "batch_size": 32, "ac_weight": 3.0},
    "dcgan-w16-translation": {"arch": "dcgan", "g_width": 16, "d_width": 16, "batch_size": 32, "augment": "translation"},
    "dcgan-w16-ttur": {"arch": "dcgan", "g_width": 16, "d_width": 16, "batch_size": 32, "lr_g": 1e-4, "lr_d": 4e-4},
    "dcgan-w8": {"arch": "dcgan", "g_width": 8, "d_width": 8, "batch_size": 32},
    "fastgan-w8-b16-lr5": {"arch": "fastgan", "g_width": 8, "d_width": 8, "batch_size": 16, "lr_g": 5e-4, "lr_d": 5e-4},
    # the generator starts from the class-and-colour mean photo (model.ClassColourPrior), 64 px templates
    "dcgan-w8-prior": {"arch": "dcgan", "g_width": 8, "d_width": 8, "batch_size": 32, "prior_size": 64},
    "dcgan-w16-prior": {"arch": "dcgan", "g_width": 16, "d_width": 16, "batch_size": 32, "prior_size": 64},
    "fastgan-w8-prior": {"arch": "fastgan", "g_width": 8, "d_width": 8, "batch_size": 32, "prior_size": 64},
    # without DiffAugment's cutout (the grey squares it pastes into real photos let specks through)
    "dcgan-w8-prior-nocut": {"arch": "dcgan", "g_width": 8, "d_width": 8, "batch_size": 32, "prior_size": 64,
                             "augment": "color,translation"},
    "dcgan-w16-prior-nocut": {"arch": "dcgan", "g_width": 16, "d_width": 16, "batch_size": 32, "prior_size": 64,
                              "augment": "color,translation"},
}
# StyleGAN2's lazy R1 penalty on real images (every 16 discriminator updates), weight γ, on the no-cutout recipes
RECIPES.update({f"{name}-r1-{gamma:g}": {**RECIPES[name], "r1_gamma": gamma}
                for name in ("dcgan-w8-prior-nocut", "dcgan-w16-prior-nocut") for gamma in (0.1, 1.0)})


def snapshot_of(name: str, root, products: int) -> str:  # noqa: ANN001
    if name == "demo":
        from tests.helpers.listings import publish_demo_snapshot

        return publish_demo_snapshot(root, products, images=True)
    if name == "flipkart":
        from benchmarks.gan_quality import flipkart_snapshot

        return flipkart_snapshot(root)
    raise SystemExit(f"unknown dataset {name}")


def foreground_rgb(pixels: torch.Tensor) -> torch.Tensor:
    """N×3 mean RGB (0-255) of each image's foreground: the pixels farther than 40 from the median
    of its border pixels (the background); the whole image where nothing stands out."""
    x = pixels.float()
    border = torch.cat([x[:, :, 0, :], x[:, :, -1, :], x[:, :, :, 0], x[:, :, :, -1]], dim=2)
    background = border.median(dim=2).values[:, :, None, None]
    mask = ((x - background).norm(dim=1, keepdim=True) > 40).float()
    weight = mask.sum(dim=(2, 3))
    fore = (x * mask).sum(dim=(2, 3)) / weight.clamp(min=1)
    return torch.where(weight > 0, fore, x.mean(dim=(2, 3)))


def colour_hits(images: torch.Tensor, wanted: torch.Tensor, prototypes: torch.Tensor) -> torch.Tensor:
    """1 where an image's foreground colour is nearest the prototype of the colour it was asked for."""
    distance = torch.cdist(foreground_rgb(images), prototypes)
    return (distance.argmin(dim=1) == wanted).float()


def train_recipe(recipe: dict, image_set, image_size: int, cpu_seconds: float, seed: int = 0):  # noqa: ANN001, ANN201
    """(TrainedGan, iterations, CPU s, wall s) after ``cpu_seconds`` of process CPU time."""
    from labelops.imagegen.data import normalise, prior_templates
    from labelops.imagegen.model import GanModule
    from labelops.imagegen.pyfunc import TrainedGan
    from labelops.imagegen.train import GanTrainConfig

    torch.manual_seed(seed)
    colours = image_set.colours if recipe.get("colours", True) else []
    arguments = {k: v for k, v in recipe.items() if k not in ("batch_size", "colours")}
    if arguments.get("prior_size"):  # at most the image side, as GanTrainConfig.prior_side
        arguments["prior_size"] = min(arguments["prior_size"], image_size)
    module = GanModule(len(image_set.classes), image_size=image_size, num_colours=len(colours), log_every=10**9,
                       seed=seed, **arguments)
    pixels, labels, colour_labels = image_set.subset_with_colours("train")
    if recipe.get("prior_size"):  # as labelops.imagegen.train.fit fills it
        module.fill_prior(prior_templates(pixels, labels, colour_labels, len(image_set.classes), len(colours),
                                          GanTrainConfig.model_fields["prior_min_images"].default))
    opt_g, opt_d = module.configure_optimizers()
    module.train()
    if not colours:
        colour_labels = None
    batch = recipe["batch_size"]
    generator = torch.Generator().manual_seed(seed)
    iterations, cpu_started, wall_started = 0, time.process_time(), time.perf_counter()
    while time.process_time() - cpu_started < cpu_seconds:
        order = torch.randperm(len(labels), generator=generator)
        for start in range(0, len(order) - batch + 1, batch):
            index = order[start:start + batch]
            module.adversarial_step(normalise(pixels[index]), labels[index], opt_g, opt_d, lambda loss: loss.backward(),
                                    None if colour_labels is None else colour_labels[index])
            iterations += 1
            module.update_ema(iterations)
            if time.process_time() - cpu_started >= cpu_seconds:
                break
    cpu, wall = time.process_time() - cpu_started, time.perf_counter() - wall_started
    gan = TrainedGan(copy_eval(module.generator_ema), copy_eval(module.discriminator), list(image_set.classes), colours)
    return gan, iterations, cpu, wall


def copy_eval(network):  # noqa: ANN001, ANN201
    import copy

    return copy.deepcopy(network).eval()


def run_dataset(name: str, args: argparse.Namespace) -> list[dict]:
    from labelops.evaluation import Scores
    from labelops.imagegen.data import build_image_set, normalise
    from labelops.imagegen.evaluation import SEED, draw, heldout_images, score_images
    from labelops.imagegen.evaluator import class_mean_sampler, noise_sampler
    from labelops.settings import get_settings
    from labelops.significance import paired_bootstrap
    from labelops.snapshot import read_snapshot
    from labelops.storage import DataRoot

    data = str(args.data / name) if args.data else tempfile.mkdtemp(prefix=f"labelops-gan-recipes-{name}-")
    os.environ["LABELOPS_DATA"] = data
    get_settings.cache_clear()
    root = DataRoot(data)
    snapshot_id = snapshot_of(name, root, args.products)
    rows = read_snapshot(root, snapshot_id).to_pylist()
    image_set = build_image_set(rows, root, args.image_size)
    started = time.process_time()
    held = heldout_images(snapshot_id, args.image_size, image_set.classes)
    print(f"{name}: {len(image_set.classes)} classes at level {image_set.level}, {len(image_set.colours)} colours, "
          f"{image_set.counts()}; evaluator {time.process_time() - started:.0f} CPU s, "
          f"held-out accuracy {held.evaluator.heldout_accuracy:.3f}", file=sys.stderr)
    assert held.classes == image_set.classes, (held.classes, image_set.classes)

    # the held-out images' colours, and each colour's mean foreground in the training photos
    index_of = {listing: i for i, listing in enumerate(image_set.listing_ids)}
    heldout_ids = [listing for listing, split in zip(image_set.listing_ids, image_set.splits) if split in ("val", "test")]
    if not heldout_ids:
        heldout_ids = list(image_set.listing_ids)
    held_colours = image_set.colour_labels[torch.tensor([index_of[i] for i in heldout_ids])]
    train_pixels, train_labels, train_colours = image_set.subset_with_colours("train")
    known = held_colours >= 0
    prototypes = torch.stack([foreground_rgb(train_pixels[train_colours == k]).mean(0)
                              if (train_colours == k).any() else torch.full((3,), 1e6)
                              for k in range(len(image_set.colours))]) if image_set.colours else None
    colour_names = [image_set.colours[int(k)] if k >= 0 else None for k in held_colours]

    def colour_accuracy(images_of_colour: torch.Tensor) -> float:
        if prototypes is None or not known.any():
            return float("nan")
        return float(colour_hits(images_of_colour[known], held_colours[known], prototypes).mean())

    means = class_mean_sampler(train_pixels, train_labels, len(image_set.classes))(held.labels)
    colour_means = class_mean_sampler(train_pixels, train_labels, len(image_set.classes), train_colours,
                                      len(image_set.colours))(held.labels, held_colours)
    to_uint8 = lambda x: x.clamp(-1, 1).add(1).mul(127.5).round().to(torch.uint8)  # noqa: E731

    results: list[dict] = []
    baseline = score_images("class_mean", means, held)
    results.append({"dataset": name, "system": "class_mean", "scores": baseline,
                    "asked": score_images("class_colour_mean", colour_means, held),
                    "colour_accuracy": colour_accuracy(to_uint8(colour_means))})
    results.append({"dataset": name, "system": "noise",
                    "scores": score_images("noise", noise_sampler(args.image_size, seed=SEED)(held.labels), held),
                    "colour_accuracy": float("nan")})
    results.append({"dataset": name, "system": "real held-out photos", "scores": None,
                    "colour_accuracy": colour_accuracy(held.real)})
    out = args.out / name
    out.mkdir(parents=True, exist_ok=True)
    for recipe_name in args.recipes:
        recipe = RECIPES[recipe_name]
        gan, iterations, cpu, wall = train_recipe(recipe, image_set, args.image_size, args.cpu_seconds)
        generated = normalise(gan.generate(held.wanted, seed=SEED))
        scores: Scores = score_images(recipe_name, generated, held)
        in_colour = gan.generate(held.wanted, seed=SEED, colours=colour_names) if gan.colours else None
        mine, theirs = np.asarray(scores.rows["correct"]), np.asarray(baseline.rows["correct"])
        interval = paired_bootstrap(lambda i: float(mine[i].mean()), lambda i: float(theirs[i].mean()), len(mine))
        grid = out / f"{recipe_name}.png"
        gan.grid(gan.classes, per_category=8).save(grid)
        largest = max(range(len(gan.classes)), key=lambda c: int((image_set.labels == c).sum()))
        if gan.colours:
            frequent = torch.bincount(image_set.colour_labels[(image_set.labels == largest)
                                                              & (image_set.colour_labels >= 0)],
                                      minlength=len(gan.colours)).argsort(descending=True)[:6].tolist()
            picked = [gan.colours[k] for k in frequent]
            gan.grid([gan.classes[largest]] * len(picked), per_category=8, colours=picked).save(out / f"{recipe_name}-colours.png")
        results.append({"dataset": name, "system": recipe_name, "scores": scores, "iterations": iterations,
                        "cpu_s": cpu, "wall_s": wall, "images_per_cpu_s": iterations * recipe["batch_size"] / cpu,
                        "vs_class_mean": interval, "grid": str(grid),
                        "colour_accuracy": colour_accuracy(in_colour) if in_colour is not None else float("nan")})
        asked = (float((held.evaluator.predict(normalise(in_colour)).argmax(1) == held.labels).float().mean())
                 if in_colour is not None else float("nan"))
        results[-1]["conditional_accuracy_in_colour"] = asked
        # as the gate measures it: each held-out row drawn in its own colour where the model knows it
        results[-1]["asked"] = score_images(recipe_name, normalise(draw(gan, held.wanted, held.wanted_colours)), held)
        print(f"{name} {recipe_name}: {iterations} iterations in {cpu:.0f} CPU s, cond. acc "
              f"{scores.metrics['conditional_accuracy']:.3f} (colour asked: {asked:.3f}), KID {scores.metrics['kid']:.3f}",
              file=sys.stderr)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--datasets", nargs="+", default=["demo", "flipkart"])
    parser.add_argument("--recipes", nargs="+", default=["dcgan-w16", "fastgan-w8", "fastgan-w16"],
                        choices=sorted(RECIPES))
    parser.add_argument("--cpu-seconds", type=float, default=150.0, help="process CPU seconds of training per recipe")
    parser.add_argument("--image-size", type=int, default=64)
    parser.add_argument("--products", type=int, default=500, help="demo catalog size")
    parser.add_argument("--evaluator-steps", type=int, default=400)
    parser.add_argument("--out", type=Path, default=Path(tempfile.gettempdir()) / "labelops-gan-recipes")
    parser.add_argument("--json", type=Path, default=None, help="also write the numbers here")
    parser.add_argument("--data", type=Path, default=None,
                        help="data root folder per data set (DATA/demo, ...), kept: a second run reuses its evaluator")
    args = parser.parse_args()
    torch.set_num_threads(1)
    os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
    os.environ["LABELOPS_IMAGE_EVALUATOR_STEPS"] = str(args.evaluator_steps)
    results = [row for name in args.datasets for row in run_dataset(name, args)]

    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"conditional GAN recipes at equal CPU time ({args.cpu_seconds:.0f} process CPU s each, "
                        f"1 torch thread), {args.image_size} px, judged on real held-out images")
    for column in ("dataset", "system", "iterations", "images/CPU-s", "cond. acc", "− class-mean [95% CI]",
                   "KID (±std)", "colour acc", "evaluator acc", "asked colour: cond. acc", "KID", "recall"):
        table.add_column(column, justify="left" if column in ("dataset", "system") else "right")
    for row in results:
        scores = row["scores"]
        interval = row.get("vs_class_mean")
        table.add_row(
            row["dataset"], row["system"], str(row.get("iterations", "")),
            f"{row['images_per_cpu_s']:.1f}" if "images_per_cpu_s" in row else "",
            f"{scores.metrics['conditional_accuracy']:.3f}" if scores else "",
            f"{interval.gain:+.3f} [{interval.low:+.3f}, {interval.high:+.3f}]" if interval else "",
            f"{scores.metrics['kid']:.3f} ±{scores.metrics['kid_std']:.3f}" if scores else "",
            f"{row['colour_accuracy']:.3f}" if row["colour_accuracy"] == row["colour_accuracy"] else "",
            f"{scores.metrics['evaluator_accuracy']:.3f}" if scores else "",
            *((f"{row['asked'].metrics['conditional_accuracy']:.3f}", f"{row['asked'].metrics['kid']:.3f}",
               f"{row['asked'].metrics['recall']:.3f}") if "asked" in row else ("", "", "")))
    Console(width=200).print(table)
    for row in results:
        if "grid" in row:
            print(f"grid {row['dataset']} {row['system']}: {row['grid']}")
    if args.json:
        args.json.write_text(json.dumps([{k: (v.metrics if k == "scores" and v else
                                              v.model_dump() if k == "vs_class_mean" else
                                              v.metrics if k == "asked" else v)
                                          for k, v in row.items()} for row in results], indent=2, default=str))


if __name__ == "__main__":
    main()
