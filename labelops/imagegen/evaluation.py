"""Measure an image model on a snapshot's held-out rows: the one evaluation of the GAN, used by
registration, the gate, the demo and the benchmarks.

Every system is judged by one evaluator: a small CNN trained on the snapshot's real training
images only (never on generated ones), with a colour head where the snapshot knows products'
colours, trained once per snapshot, image size, class and colour list, and cached under
``evaluation/<snapshot_id>/image-evaluator-<size>/`` of the data root
(``LABELOPS_IMAGE_EVALUATOR_STEPS`` training steps, default 400). For every held-out image (the
val and test splits) each system draws one image of that image's category (and colour, where
known and the system takes colours):

- *conditional accuracy*: the share the evaluator assigns to the requested category (per image,
  so the gate can resample it), with its 95% bootstrap interval over the held-out rows
  (``conditional_accuracy_low``, ``_high``);
- *colour accuracy*: the share the evaluator's colour head reads as the colour asked, over the
  rows that ask one (``colour_n``), with its interval;
- *KID* in the evaluator's feature space against the real held-out images, with its standard
  deviation over subsets (the spread the gate allows); *precision* and *recall* (k-NN manifolds,
  k = 3, :func:`~labelops.imagegen.evaluator.precision_recall`) in the same space;
- *tagger accuracy* (models only): the model's own category for the real held-out images.

Beside them (:func:`image_baselines`): the mean training image of the category
(``class_mean``: knows the category, has no diversity) and of the category and colour
(``class_colour_mean``: knows what a colour-conditioned generator knows; the class mean where no
colour is known), uniform noise (``noise``: knows nothing), and the reference ``real``: the
evaluator on the real held-out photos themselves (its ceiling), with KID, precision and recall of
the real *training* photos against the held-out ones (what real data scores; a generator
cannot be expected to do better).

:func:`sample_grid` draws one PNG with a row per class (labelled), generated images beside real
ones; :func:`evaluate_gan` keeps it in the scores' samples for the gate's run and the report.
"""

from __future__ import annotations

import base64
import hashlib
import inspect
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from labelops import catalog
from labelops.registry import IMAGE_MODEL
from labelops.settings import Settings, get_settings
from labelops.significance import mean_interval
from labelops.storage import DataRoot

log = logging.getLogger(__name__)

SEED = 0
EVALUATOR_RECIPE = "evaluator-v2"  # class and colour heads; change it when the evaluator's training changes
IMAGE_BASELINES = ("class_mean", "class_colour_mean", "noise", "real")


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
    colours: Sequence[str] = ()  # colour names; empty when the snapshot knows none
    colour_labels: torch.Tensor | None = None  # held-out colour ids (index into ``colours``, -1 = unknown)
    train_colour_labels: torch.Tensor | None = None
    snapshot_id: str = ""
    texts: Sequence[str] = ()  # each held-out photo's listing text (description, else title)
    _features: dict = field(default_factory=dict, init=False, repr=False, compare=False)

    def real_features(self) -> torch.Tensor:
        """The evaluator's features of the held-out photos, computed once per evaluation."""
        return self._cached_features("real", self.real)

    def train_features(self) -> torch.Tensor:
        """The evaluator's features of the training photos, computed once per evaluation."""
        return self._cached_features("train", self.train_pixels)

    def _cached_features(self, key: str, pixels: torch.Tensor) -> torch.Tensor:
        from labelops.imagegen.data import normalise

        if key not in self._features:
            with torch.no_grad():
                self._features[key] = self.evaluator.features(normalise(pixels))
        return self._features[key]

    @property
    def wanted(self) -> list[str]:
        return [self.classes[int(i)] for i in self.labels]

    @property
    def asked_colours(self) -> torch.Tensor:
        """The colour asked of each held-out row (-1: none)."""
        if self.colour_labels is None or not self.colours:
            return torch.full((len(self.labels),), -1, dtype=torch.long)
        return self.colour_labels

    @property
    def wanted_colours(self) -> list[str | None]:
        return [self.colours[int(c)] if c >= 0 else None for c in self.asked_colours]


def _evaluator_folder(settings: Settings, snapshot_id: str, size: int, classes: Sequence[str],
                      colours: Sequence[str]) -> Path:
    """One folder per snapshot, size, recipe, side read, class and colour list (a readable prefix and a hash)."""
    key = "\n".join([EVALUATOR_RECIPE, f"side {min(size, settings.image_evaluator_side)}", *classes, "|", *colours])
    readable = "".join(ch if ch.isalnum() else "_" for ch in "-".join(classes))[:40]
    return catalog.evaluator_dir(settings, snapshot_id, size) / f"{readable}-{hashlib.sha1(key.encode()).hexdigest()[:12]}"  # noqa: S324


def heldout_images(evaluation, size: int, classes: Sequence[str], settings: Settings | None = None  # noqa: ANN001
                   ) -> HeldoutImages:
    """The snapshot's images of ``classes`` at ``size``: held-out ones to judge on, training ones
    for the evaluator and the class means; the evaluator trained once and cached. ``evaluation``:
    an :class:`~labelops.evaluation.EvaluationSet` or a snapshot id. Colours come from the image
    set where it has them (``colours``, ``colour_labels``)."""
    from labelops.imagegen.data import build_image_set, normalise
    from labelops.imagegen.evaluator import Evaluator, train_evaluator
    from labelops.snapshot import read_snapshot

    settings = settings or get_settings()
    root = DataRoot(settings.data)
    snapshot_id = evaluation if isinstance(evaluation, str) else evaluation.snapshot_id
    rows = read_snapshot(root, snapshot_id).to_pylist()
    image_set = build_image_set(rows, root, size)
    known = [c for c in image_set.classes if c in set(classes)]
    if not known:
        raise ValueError(f"snapshot {snapshot_id} has no images of the model's categories {list(classes)}")
    names = [image_set.classes[int(label)] for label in image_set.labels]
    keep = torch.tensor([n in known for n in names], dtype=torch.bool)
    labels = torch.tensor([known.index(n) for n, k in zip(names, keep.tolist()) if k], dtype=torch.long)
    splits = [s for s, k in zip(image_set.splits, keep.tolist()) if k]
    pixels = image_set.pixels[keep]
    colours = list(getattr(image_set, "colours", None) or [])
    colour_labels = getattr(image_set, "colour_labels", None)
    if colour_labels is None or not colours:
        colours, colour_labels = [], torch.full((len(labels),), -1, dtype=torch.long)
    else:
        colour_labels = torch.as_tensor(colour_labels, dtype=torch.long)[keep]
    train = torch.tensor([s == "train" for s in splits], dtype=torch.bool)
    heldout = torch.tensor([s in ("val", "test") for s in splits], dtype=torch.bool)
    if not heldout.any():
        heldout = train  # tiny snapshots: nothing held out, measure on the training images
    if not train.any():
        train = heldout
    folder = _evaluator_folder(settings, snapshot_id, size, known, colours)
    if (folder / "evaluator.json").exists():
        evaluator = Evaluator.load(folder)
    else:
        log.info("training the image evaluator of snapshot %s on %d real training images", snapshot_id,
                 int(train.sum()))
        evaluator = train_evaluator(pixels[train], labels[train], known, steps=settings.image_evaluator_steps,
                                    seed=SEED, colour_labels=colour_labels[train], colours=colours,
                                    max_side=settings.image_evaluator_side)
        evaluator.heldout_accuracy = evaluator.accuracy(normalise(pixels[heldout]), labels[heldout])
        evaluator.heldout_colour_accuracy = evaluator.colour_accuracy(normalise(pixels[heldout]),
                                                                      colour_labels[heldout])
        evaluator.save(folder)
    colours = list(evaluator.colours)  # no colour head (every colour unknown in training): no colours asked
    from labelops.textimage import text_of

    by_id = {r["listing_id"]: r for r in rows}
    kept_ids = [i for i, k in zip(image_set.listing_ids, keep.tolist()) if k]
    texts = [text_of(by_id[i].get("description"), None) or text_of(None, by_id[i].get("title"))
             for i, h in zip(kept_ids, heldout.tolist()) if h]
    return HeldoutImages(evaluator, known, pixels[heldout], labels[heldout], pixels[train], labels[train],
                         colours, colour_labels[heldout] if colours else None,
                         colour_labels[train] if colours else None, snapshot_id, texts)


def score_images(system: str, images: torch.Tensor, held: HeldoutImages, tagged: Sequence[str] | None = None,
                 inception_weights: Path | None = None, kid_images: torch.Tensor | None = None,
                 samples: list[dict] | None = None):  # noqa: ANN201 - labelops.evaluation.Scores
    """``images`` (one per held-out row, asked for its class and colour): conditional accuracy and
    colour accuracy with their intervals; ``kid_images`` (default ``images``) against the real
    held-out images: KID (± std), precision and recall; the ``images``' novelty (their distance to
    the nearest training photo against the real held-out photos': ~1 new, ~0 copies); given
    ``tagged`` categories of the real images the tagger accuracy, and given local Inception weights
    (never downloaded) the Inception FID."""
    from labelops.evaluation import TEXT_IMAGE_AGREEMENT, Scores
    from labelops.imagegen.data import normalise
    from labelops.imagegen.evaluator import frechet_inception_distance, kid, load_inception, novelty, precision_recall

    evaluator = held.evaluator
    kid_images = images if kid_images is None else kid_images
    correct = (evaluator.predict(images).argmax(1) == held.labels).double() if len(images) else torch.zeros(0)
    real_features, fake_features = held.real_features(), evaluator.features(kid_images)
    kid_mean, kid_std = kid(real_features, fake_features, seed=SEED)
    precision, recall = precision_recall(real_features, fake_features)
    train_features = held.train_features()
    image_features = fake_features if kid_images is images else evaluator.features(images)
    low, high = mean_interval(correct)
    metrics = {"n": float(len(held.labels)), "conditional_accuracy": float(correct.mean()) if len(correct) else 0.0,
               "conditional_accuracy_low": low, "conditional_accuracy_high": high,
               "kid": float(kid_mean), "kid_std": float(kid_std), "precision": precision, "recall": recall,
               "novelty": novelty(train_features, real_features, image_features),
               "evaluator_accuracy": float(evaluator.heldout_accuracy)}
    rows = {"correct": correct.tolist()}
    asked = held.asked_colours
    if held.colours and bool((asked >= 0).any()) and len(images):
        read = evaluator.predict_colours(images).argmax(1)
        hits = torch.where(asked >= 0, (read == asked).double(), torch.full_like(read, float("nan"), dtype=torch.double))
        known = hits[asked >= 0]
        low, high = mean_interval(known)
        metrics.update({"colour_accuracy": float(known.mean()), "colour_accuracy_low": low, "colour_accuracy_high": high,
                        "colour_n": float(len(known)),
                        "evaluator_colour_accuracy": float(getattr(evaluator, "heldout_colour_accuracy", float("nan")))})
        rows["colour_correct"] = hits.tolist()  # NaN where no colour was asked
    agreement, note = _text_image_agreement(images, held)
    if agreement is None:
        notes = {TEXT_IMAGE_AGREEMENT: note}
    else:
        notes = {}
        rows[TEXT_IMAGE_AGREEMENT] = agreement
        metrics[TEXT_IMAGE_AGREEMENT] = float(np.mean(agreement)) if agreement else float("nan")
    if inception_weights is not None:
        metrics["fid"] = frechet_inception_distance(load_inception(Path(inception_weights)), normalise(held.real),
                                                    kid_images)
    if tagged is not None:
        hits = [float(t == w) for t, w in zip(tagged, held.wanted)]
        metrics["tagger_accuracy"] = sum(hits) / max(len(hits), 1)
        rows["tagged"] = hits
    return Scores(system=system, kind="image", metrics=metrics, rows=rows, samples=samples or [], notes=notes)


def _text_image_agreement(images: torch.Tensor, held: HeldoutImages) -> tuple[list[float] | None, str]:
    """Per held-out row, how well the image drawn for it fits its listing's text, by the snapshot's
    text-image scorer (:mod:`labelops.textimage`) when it is trusted; else None and why."""
    from labelops.textimage import image_agreement, trusted_scorer

    if not held.snapshot_id or len(held.texts) != len(images):
        return None, "no listing texts for the held-out images"
    scorer, reason = trusted_scorer(held.snapshot_id)
    return (None, reason) if scorer is None else (image_agreement(scorer, images, list(held.texts)), "")


# ------------------------------------------------------------------------------- generating
def takes_colours(gan) -> bool:  # noqa: ANN001
    """Whether a generator's ``generate`` takes ``colours`` (a colour-conditioned GAN)."""
    try:
        return "colours" in inspect.signature(gan.generate).parameters
    except (TypeError, ValueError):
        return False


def draw(gan, categories: Sequence[str], colours: Sequence[str | None] | None, seed: int = SEED) -> torch.Tensor:  # noqa: ANN001
    """uint8 images of ``categories`` (and ``colours`` where the GAN takes them and knows the colour)."""
    if colours is not None and takes_colours(gan) and any(c is not None for c in colours):
        known = getattr(gan, "colours", None)
        if known is not None:
            known = {str(c).casefold() for c in known}
            colours = [c if c is not None and str(c).casefold() in known else None for c in colours]
        return gan.generate(list(categories), seed=seed, colours=list(colours))
    return gan.generate(list(categories), seed=seed)


def sample_grid(generate: Callable[[list[str], list[str | None]], torch.Tensor], held: HeldoutImages,
                per_class: int = 6, real_per_class: int = 3, label_width: int = 150, min_side: int = 64) -> bytes:
    """One PNG: a row per class, labelled with its name (and the colours asked), ``per_class``
    generated images (``generate(categories, colours)`` → uint8 N×3×S×S), then ``real_per_class``
    real training photos of the class to compare with. The generated images of a class ask, in
    turn, the colours of its real training photos (where known). Images smaller than ``min_side``
    are shown enlarged (nearest neighbour: every pixel as drawn)."""
    from PIL import Image, ImageDraw, ImageFont

    from labelops.imagegen.data import png_bytes, uint8_to_pil

    side, pad = int(held.real.shape[-1]), 2
    size = side * max(1, min_side // side)

    def tile(pixels: torch.Tensor):  # noqa: ANN202 - a PIL image
        return uint8_to_pil(pixels).resize((size, size), Image.Resampling.NEAREST)
    train_colours = held.train_colour_labels if held.train_colour_labels is not None and held.colours else None
    categories: list[str] = []
    colours: list[str | None] = []
    for c, name in enumerate(held.classes):
        mine = torch.nonzero(held.train_labels == c).flatten().tolist()
        asked = [held.colours[int(train_colours[i])] for i in mine if int(train_colours[i]) >= 0] \
            if train_colours is not None else []
        for i in range(per_class):
            categories.append(name)
            colours.append(asked[i % len(asked)] if asked else None)
    generated = generate(categories, colours) if categories else torch.zeros(0, 3, side, side, dtype=torch.uint8)
    font = ImageFont.load_default(11)
    header = 16
    columns = per_class + real_per_class
    width = label_width + columns * (size + pad) + 3 * pad + pad
    canvas = Image.new("RGB", (width, header + len(held.classes) * (size + pad) + pad), (255, 255, 255))
    pen = ImageDraw.Draw(canvas)
    real_left = label_width + per_class * (size + pad) + 3 * pad
    pen.text((label_width, 2), "generated", fill=(0, 0, 0), font=font)
    pen.text((real_left, 2), "real photos", fill=(90, 90, 90), font=font)
    for c, name in enumerate(held.classes):
        top = header + c * (size + pad)
        row_colours = [x for x in colours[c * per_class:(c + 1) * per_class] if x]
        text = _fit(pen, name, font, label_width - 4)
        pen.text((2, top + 1), text, fill=(0, 0, 0), font=font)
        if row_colours:
            pen.text((2, top + 14), _fit(pen, ", ".join(dict.fromkeys(row_colours)), font, label_width - 4),
                     fill=(110, 110, 110), font=font)
        for i in range(per_class):
            left = label_width + i * (size + pad)
            pen.rectangle((left - 1, top - 1, left + size, top + size), outline=(225, 225, 225))
            canvas.paste(tile(generated[c * per_class + i]), (left, top))
        for j, index in enumerate(torch.nonzero(held.train_labels == c).flatten().tolist()[:real_per_class]):
            left = real_left + j * (size + pad)
            pen.rectangle((left - 1, top - 1, left + size, top + size), outline=(225, 225, 225))
            canvas.paste(tile(held.train_pixels[index]), (left, top))
    return png_bytes(canvas)


def _fit(pen, text: str, font, width: int) -> str:  # noqa: ANN001 - PIL ImageDraw and font
    """``text``, shortened with an ellipsis to fit ``width`` pixels."""
    if pen.textlength(text, font=font) <= width:
        return text
    while text and pen.textlength(text + "…", font=font) > width:
        text = text[:-1]
    return text + "…"


def grid_sample(png: bytes, held: HeldoutImages) -> dict:
    """The sample a score keeps of a grid: the PNG (base64) and the rows' labels."""
    return {"grid_png": base64.b64encode(png).decode("ascii"), "rows": list(held.classes)}


def evaluate_gan(gan, evaluation, system: str = "model", settings: Settings | None = None):  # noqa: ANN001, ANN201
    """A trained GAN (:class:`~labelops.imagegen.pyfunc.TrainedGan`) on the held-out images, with
    its per-class sample grid in ``samples`` (``grid_png``: base64 PNG, ``rows``: the classes)."""
    from labelops.imagegen.data import normalise, uint8_to_pil

    settings = settings or get_settings()
    held = heldout_images(evaluation, gan.image_size, gan.classes, settings)
    generated = normalise(draw(gan, held.wanted, held.wanted_colours)) if len(held.labels) else held.real[:0].float()
    tagged = [category for category, _ in gan.tag([uint8_to_pil(p) for p in held.real])]
    grid = sample_grid(lambda categories, colours: draw(gan, categories, colours), held)
    return score_images(system, generated, held, tagged, settings.inception_weights, samples=[grid_sample(grid, held)])


def image_baselines(gan, evaluation, names: Sequence[str] = IMAGE_BASELINES,  # noqa: ANN001, ANN201
                    settings: Settings | None = None) -> dict:
    """The baselines and the ``real`` reference, asked for the same categories (and colours) as
    ``gan`` would be."""
    settings = settings or get_settings()
    held = heldout_images(evaluation, gan.image_size, gan.classes, settings)
    return baseline_scores(held, names, settings.inception_weights)


def baseline_scores(held: HeldoutImages, names: Sequence[str] = IMAGE_BASELINES,
                    inception_weights: Path | None = None) -> dict:
    """Each of ``names`` (``class_mean``, ``class_colour_mean``, ``noise``, the reference ``real``)
    on ``held``, scored as a model is."""
    from labelops.imagegen.data import normalise
    from labelops.imagegen.evaluator import class_mean_sampler, noise_sampler

    size = int(held.real.shape[-1])
    samplers = {
        "class_mean": lambda: class_mean_sampler(held.train_pixels, held.train_labels, len(held.classes))(held.labels),
        "class_colour_mean": lambda: class_mean_sampler(held.train_pixels, held.train_labels, len(held.classes),
                                                        held.train_colour_labels, len(held.colours)
                                                        )(held.labels, held.asked_colours),
        "noise": lambda: noise_sampler(size, seed=SEED)(held.labels),
        "real": lambda: normalise(held.real),
    }
    unknown = sorted(set(names) - set(samplers))
    if unknown:
        raise KeyError(f"unknown image baseline(s) {unknown}; known: {sorted(samplers)}")
    return {name: score_images(name, samplers[name](), held, inception_weights=inception_weights,
                               kid_images=normalise(held.train_pixels) if name == "real" else None)
            for name in names}


# ------------------------------------------------------------------------------------ the image tagger
TAGGER_SIZE = 64  # the evaluator a labelling without a GAN tags with (the demo GAN's size: its evaluator is cached)


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
