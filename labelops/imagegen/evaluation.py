"""Measure an image model on a snapshot's held-out rows: the one evaluation of the GAN, used by
registration, the gate, the demo and the benchmarks.

Every system is judged by one evaluator: a small CNN trained on the snapshot's real training
images only (never on generated ones), trained once per snapshot, image size and class list, and
cached under ``evaluation/<snapshot_id>/image-evaluator-<size>/`` of the data root
(``LABELOPS_IMAGE_EVALUATOR_STEPS`` training steps, default 400). For every
held-out image (the val and test splits) each system draws one image of that image's category:

- *conditional accuracy*: the share the evaluator assigns to the requested category (per image,
  so the gate can resample it);
- *KID* in the evaluator's feature space against the real held-out images, with its standard
  deviation over subsets (the spread the gate allows);
- *tagger accuracy* (models only): the model's own category for the real held-out images.

The baselines (:func:`image_baselines`) are the mean training image of the category (knows the
category, has no diversity) and uniform noise (knows nothing).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import torch

from labelops import catalog
from labelops.registry import IMAGE_MODEL
from labelops.settings import Settings, get_settings
from labelops.storage import DataRoot

log = logging.getLogger(__name__)

SEED = 0


def load_gan(version: str):  # noqa: ANN201 - labelops.imagegen.pyfunc.TrainedGan
    import mlflow

    return mlflow.pyfunc.load_model(f"models:/{IMAGE_MODEL}/{version}").unwrap_python_model().gan


@dataclass
class HeldoutImages:
    """The real images an image model is judged on, and the evaluator that judges."""

    evaluator: object  # labelops.imagegen.evaluator.Evaluator
    classes: list[str]
    real: torch.Tensor  # held-out pixels, uint8
    labels: torch.Tensor  # their class ids (index into ``classes``)
    train_pixels: torch.Tensor
    train_labels: torch.Tensor

    @property
    def wanted(self) -> list[str]:
        return [self.classes[int(i)] for i in self.labels]


def heldout_images(evaluation, size: int, classes: Sequence[str], settings: Settings | None = None  # noqa: ANN001
                   ) -> HeldoutImages:
    """The snapshot's images of ``classes`` at ``size``: held-out ones to judge on, training ones
    for the evaluator and the class means; the evaluator trained once and cached. ``evaluation``:
    an :class:`~labelops.evaluation.EvaluationSet` or a snapshot id."""
    from labelops.imagegen.data import build_image_set, normalise
    from labelops.imagegen.evaluator import Evaluator, train_evaluator
    from labelops.snapshot import read_snapshot

    settings = settings or get_settings()
    root = DataRoot(settings.data)
    snapshot_id = evaluation if isinstance(evaluation, str) else evaluation.snapshot_id
    image_set = build_image_set(read_snapshot(root, snapshot_id).to_pylist(), root, size)
    known = [c for c in image_set.classes if c in set(classes)]
    if not known:
        raise ValueError(f"snapshot {snapshot_id} has no images of the model's categories {list(classes)}")
    names = [image_set.classes[int(label)] for label in image_set.labels]
    keep = torch.tensor([n in known for n in names], dtype=torch.bool)
    labels = torch.tensor([known.index(n) for n, k in zip(names, keep.tolist()) if k], dtype=torch.long)
    splits = [s for s, k in zip(image_set.splits, keep.tolist()) if k]
    pixels = image_set.pixels[keep]
    train = torch.tensor([s == "train" for s in splits], dtype=torch.bool)
    heldout = torch.tensor([s in ("val", "test") for s in splits], dtype=torch.bool)
    if not heldout.any():
        heldout = train  # tiny snapshots: nothing held out, measure on the training images
    if not train.any():
        train = heldout
    folder = catalog.evaluator_dir(settings, snapshot_id, size) / "-".join(known)[:80].replace("/", "_")
    if (folder / "evaluator.json").exists():
        evaluator = Evaluator.load(folder)
    else:
        log.info("training the image evaluator of snapshot %s on %d real training images", snapshot_id,
                 int(train.sum()))
        evaluator = train_evaluator(pixels[train], labels[train], known, steps=settings.image_evaluator_steps, seed=SEED)
        evaluator.heldout_accuracy = evaluator.accuracy(normalise(pixels[heldout]), labels[heldout])
        evaluator.save(folder)
    return HeldoutImages(evaluator, known, pixels[heldout], labels[heldout], pixels[train], labels[train])


def score_images(system: str, images: torch.Tensor, held: HeldoutImages, tagged: Sequence[str] | None = None,
                 inception_weights: Path | None = None):  # noqa: ANN201 - labelops.evaluation.Scores
    """conditional accuracy, KID (± std), given ``tagged`` categories of the real images the tagger
    accuracy, and given local Inception weights (never downloaded) the Inception FID."""
    from labelops.evaluation import Scores
    from labelops.imagegen.data import normalise
    from labelops.imagegen.evaluator import frechet_inception_distance, kid, load_inception

    evaluator = held.evaluator
    correct = (evaluator.predict(images).argmax(1) == held.labels).float() if len(images) else torch.zeros(0)
    kid_mean, kid_std = kid(evaluator.features(normalise(held.real)), evaluator.features(images), seed=SEED)
    metrics = {"n": float(len(held.labels)), "conditional_accuracy": float(correct.mean()) if len(correct) else 0.0,
               "kid": float(kid_mean), "kid_std": float(kid_std), "evaluator_accuracy": float(evaluator.heldout_accuracy)}
    if inception_weights is not None:
        metrics["fid"] = frechet_inception_distance(load_inception(Path(inception_weights)), normalise(held.real), images)
    rows = {"correct": correct.tolist()}
    if tagged is not None:
        hits = [float(t == w) for t, w in zip(tagged, held.wanted)]
        metrics["tagger_accuracy"] = sum(hits) / max(len(hits), 1)
        rows["tagged"] = hits
    return Scores(system=system, kind="image", metrics=metrics, rows=rows)


def evaluate_gan(gan, evaluation, system: str = "model", settings: Settings | None = None):  # noqa: ANN001, ANN201
    """A trained GAN (:class:`~labelops.imagegen.pyfunc.TrainedGan`) on the held-out images."""
    from labelops.imagegen.data import normalise, uint8_to_pil

    settings = settings or get_settings()
    held = heldout_images(evaluation, gan.image_size, gan.classes, settings)
    generated = normalise(gan.generate(held.wanted, seed=SEED)) if len(held.labels) else held.real[:0].float()
    tagged = [category for category, _ in gan.tag([uint8_to_pil(p) for p in held.real])]
    return score_images(system, generated, held, tagged, settings.inception_weights)


def image_baselines(gan, evaluation, names: Sequence[str] = ("class_mean", "noise"),  # noqa: ANN001, ANN201
                    settings: Settings | None = None) -> dict:
    """Class-mean images and uniform noise, asked for the same categories as ``gan`` would be."""
    from labelops.imagegen.evaluator import class_mean_sampler, noise_sampler

    settings = settings or get_settings()
    held = heldout_images(evaluation, gan.image_size, gan.classes, settings)
    samplers = {"class_mean": lambda: class_mean_sampler(held.train_pixels, held.train_labels, len(held.classes)),
                "noise": lambda: noise_sampler(gan.image_size, seed=SEED)}
    unknown = sorted(set(names) - set(samplers))
    if unknown:
        raise KeyError(f"unknown image baseline(s) {unknown}; known: {sorted(samplers)}")
    return {name: score_images(name, samplers[name]()(held.labels), held, inception_weights=settings.inception_weights)
            for name in names}


# ------------------------------------------------------------------------------------ the image tagger
TAGGER_SIZE = 32  # the evaluator a labelling without a GAN tags with (the demo GAN's size: its evaluator is cached)


class EvaluatorTagger:
    """The snapshot's evaluator CNN (trained on its real training photos) as an image tagger."""

    def __init__(self, evaluator, image_size: int) -> None:  # noqa: ANN001 - labelops.imagegen.evaluator.Evaluator
        self.evaluator, self.image_size = evaluator, image_size

    def tag(self, images: Sequence[object]) -> list[tuple[str, float]]:
        from labelops.imagegen.data import normalise, open_image, pil_to_uint8, to_square

        if not images:
            return []
        pixels = torch.stack([pil_to_uint8(to_square(open_image(image), self.image_size)) for image in images])
        confidence, index = torch.softmax(self.evaluator.predict(normalise(pixels)), dim=1).max(dim=1)
        return [(self.evaluator.classes[i], float(c)) for i, c in zip(index.tolist(), confidence)]


@dataclass
class TaggerChoice:
    tagger: object | None  # what tags photos: the GAN's own tagger, an EvaluatorTagger, or None
    name: str  # "discriminator", "evaluator" or "none"
    accuracies: dict[str, float]  # each candidate's accuracy on the snapshot's held-out real photos

    def __str__(self) -> str:
        measured = ", ".join(f"{k} {v:.3f}" for k, v in self.accuracies.items())
        return f"{self.name} ({measured} on held-out photos)" if measured else self.name


def choose_tagger(snapshot_id: str, gan_tagger: object | None, categories: Sequence[str], size: int = TAGGER_SIZE,
                  settings: Settings | None = None) -> TaggerChoice:
    """The better image tagger on the snapshot's held-out real photos: the GAN discriminator's
    classifier (``gan_tagger``, anything with ``tag(images)``) or the evaluator CNN; ``none`` when
    the snapshot has no photos of ``categories``."""
    from labelops.imagegen.data import uint8_to_pil

    try:
        held = heldout_images(snapshot_id, size, categories, settings)
    except ValueError as error:
        log.info("no image tagger: %s", error)
        return TaggerChoice(gan_tagger, "discriminator" if gan_tagger else "none", {})
    photos = [uint8_to_pil(p) for p in held.real]
    accuracies = {"evaluator": float(held.evaluator.heldout_accuracy)}
    if gan_tagger is not None:
        tagged = [category for category, _ in gan_tagger.tag(photos)]
        accuracies["discriminator"] = sum(t == w for t, w in zip(tagged, held.wanted)) / max(len(photos), 1)
    if gan_tagger is not None and accuracies["discriminator"] >= accuracies["evaluator"]:
        return TaggerChoice(gan_tagger, "discriminator", accuracies)
    return TaggerChoice(EvaluatorTagger(held.evaluator, size), "evaluator", accuracies)
