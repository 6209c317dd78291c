"""Measuring generated images offline: a classifier trained only on real images, and what it says.

- **Evaluator**: a small CNN trained on the real *training* images of the snapshot (never on
  generated ones), with flips and DiffAugment translation (never colour jitter). It has a class
  head and, where the snapshot knows products' colours, a colour head beside it (its loss skips
  images of unknown colour, -1), so its features know the category and the colour. Its accuracy
  on real held-out images is the ceiling the generator is compared with.
- **Conditional accuracy**: the share of images generated for a category that the evaluator
  assigns to that category; **colour accuracy**: the same for the colour asked, where one was.
- **Precision and recall** of the generated distribution (Kynkäänniemi et al. 2019, "Improved
  precision and recall metric for assessing generative models"): each set's manifold is the
  union of balls around its points reaching their k-th nearest neighbour (k = 3) in the
  evaluator's feature space; precision is the share of generated images inside the real
  manifold (realism), recall the share of real images inside the generated one (diversity).
- **KID** (torchmetrics' Kernel Inception Distance, computed in the evaluator's feature space
  rather than Inception's): between real held-out images and a system's images. The subset size
  fits small sets (at most the smaller of the two sets).
- **Baselines**: per-class (or per class and colour) mean images and uniform noise (the floors).
- **Inception FID** only when ``LABELOPS_INCEPTION_WEIGHTS`` names a local TorchScript Inception
  feature extractor (e.g. ``inception-2015-12-05.pt``: uint8 N×3×299×299 in, 2048 features out);
  nothing is ever downloaded.
"""

from __future__ import annotations

import json
import logging
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from labelops.imagegen.data import class_colour_means, normalise
from labelops.imagegen.diffaugment import translation

log = logging.getLogger(__name__)

Sampler = Callable[..., torch.Tensor]
"""(class ids, colour ids or None; -1 = no colour asked) → images in [-1, 1] (a generator, or a baseline)."""


class EvaluatorNet(nn.Module):
    """Conv–BN–ReLU stages halving the side down to 4×4, global average pooling, a linear class
    head and, with ``num_colours``, a linear colour head on the same features."""

    def __init__(self, num_classes: int, image_size: int, width: int = 32, features_dim: int = 128,
                 num_colours: int = 0):
        super().__init__()
        layers: list[nn.Module] = []
        channels, side = 3, image_size
        while side > 4:
            out = min(width * 2 ** len(layers), features_dim)
            layers.append(nn.Sequential(nn.Conv2d(channels, out, 3, padding=1, bias=False), nn.BatchNorm2d(out),
                                        nn.ReLU(inplace=True), nn.MaxPool2d(2)))
            channels, side = out, side // 2
        self.stages = nn.Sequential(*layers)
        self.project = nn.Sequential(nn.Conv2d(channels, features_dim, 3, padding=1), nn.ReLU(inplace=True))
        self.head = nn.Linear(features_dim, num_classes)
        self.colour_head = nn.Linear(features_dim, num_colours) if num_colours else None
        self.num_classes, self.image_size, self.num_colours = num_classes, image_size, num_colours

    def features(self, x: torch.Tensor) -> torch.Tensor:
        return self.project(self.stages(x)).mean(dim=(2, 3))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x))

    def both(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
        """(class logits, colour logits or None)."""
        features = self.features(x)
        return self.head(features), None if self.colour_head is None else self.colour_head(features)


@dataclass
class Evaluator:
    net: EvaluatorNet
    classes: list[str]
    heldout_accuracy: float = float("nan")
    colours: list[str] = field(default_factory=list)  # the colour head's names; empty: no colour head
    heldout_colour_accuracy: float = float("nan")

    def _sized(self, images: torch.Tensor) -> torch.Tensor:
        """Images at the side the net reads (:func:`at_side`)."""
        return at_side(images, self.net.image_size)

    @torch.no_grad()
    def predict(self, images: torch.Tensor, batch_size: int = 256) -> torch.Tensor:
        """Class probabilities of images in [-1, 1] (of any side: they are resized to the net's)."""
        self.net.eval()
        images = self._sized(images)
        return torch.cat([F.softmax(self.net(images[i:i + batch_size]), dim=1)
                          for i in range(0, len(images), batch_size)]) if len(images) else torch.zeros(0, len(self.classes))

    @torch.no_grad()
    def predict_colours(self, images: torch.Tensor, batch_size: int = 256) -> torch.Tensor:
        """Colour probabilities of images in [-1, 1] (N×0 without a colour head)."""
        self.net.eval()
        if self.net.colour_head is None or not len(images):
            return torch.zeros(len(images), len(self.colours))
        images = self._sized(images)
        return torch.cat([F.softmax(self.net.colour_head(self.net.features(images[i:i + batch_size])), dim=1)
                          for i in range(0, len(images), batch_size)])

    @torch.no_grad()
    def features(self, images: torch.Tensor, batch_size: int = 256) -> torch.Tensor:
        self.net.eval()
        images = self._sized(images)
        return torch.cat([self.net.features(images[i:i + batch_size]) for i in range(0, len(images), batch_size)])

    def accuracy(self, images: torch.Tensor, labels: torch.Tensor) -> float:
        if len(labels) == 0:
            return float("nan")
        return float((self.predict(images).argmax(1) == labels).double().mean())

    def colour_accuracy(self, images: torch.Tensor, colour_labels: torch.Tensor) -> float:
        """The colour head's accuracy on the images of a known colour (NaN when none, or no head)."""
        known = colour_labels >= 0
        if self.net.colour_head is None or not known.any():
            return float("nan")
        return float((self.predict_colours(images[known]).argmax(1) == colour_labels[known]).double().mean())

    def save(self, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        torch.save(self.net.state_dict(), folder / "evaluator.pt")
        (folder / "evaluator.json").write_text(json.dumps({
            "classes": self.classes, "colours": self.colours, "image_size": self.net.image_size,
            "heldout_accuracy": self.heldout_accuracy, "heldout_colour_accuracy": self.heldout_colour_accuracy,
            "trained_on": "real training images only"}, indent=2, ensure_ascii=False))

    @classmethod
    def load(cls, folder: Path) -> Evaluator:
        meta = json.loads((folder / "evaluator.json").read_text())
        colours = meta.get("colours", [])
        net = EvaluatorNet(len(meta["classes"]), meta["image_size"], num_colours=len(colours))
        net.load_state_dict(torch.load(folder / "evaluator.pt", map_location="cpu", weights_only=True))
        return cls(net.eval(), meta["classes"], meta["heldout_accuracy"], colours,
                   meta.get("heldout_colour_accuracy", float("nan")))


def at_side(images: torch.Tensor, side: int) -> torch.Tensor:
    """Float images in [-1, 1] resized to ``side`` (area averaging down, bilinear up); as they are when they fit."""
    if not len(images) or images.shape[-1] == side:
        return images
    if images.shape[-1] > side:
        return F.interpolate(images, size=(side, side), mode="area")
    return F.interpolate(images, size=(side, side), mode="bilinear", align_corners=False)


def train_evaluator(pixels: torch.Tensor, labels: torch.Tensor, classes: list[str], steps: int = 300,
                    batch_size: int = 64, lr: float = 2e-3, seed: int = 0, colour_labels: torch.Tensor | None = None,
                    colours: list[str] | None = None, max_side: int | None = None) -> Evaluator:
    """Fit the evaluator on real training images (uint8 N×3×S×S) with flips and small shifts; with
    ``colours`` and ``colour_labels`` (-1 = unknown, left out of the colour loss) a colour head too.
    ``max_side``: the evaluator reads images at most this side (larger ones are averaged down,
    here and whenever it judges), which bounds its cost at high resolutions."""
    torch.manual_seed(seed)
    colours = list(colours or [])
    if colour_labels is None or not colours or not bool((colour_labels >= 0).any()):
        colours, colour_labels = [], None
    side = min(pixels.shape[-1], max_side) if max_side else pixels.shape[-1]
    net = EvaluatorNet(len(classes), side, num_colours=len(colours))
    optimizer = torch.optim.AdamW(net.parameters(), lr=lr, weight_decay=1e-4)
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=lr, total_steps=max(1, steps))
    images = at_side(normalise(pixels), side)
    net.train()
    for _ in range(steps):
        index = torch.randint(0, len(images), (min(batch_size, len(images)),))
        x = images[index]
        flip = torch.rand(len(x)) < 0.5
        x = torch.where(flip[:, None, None, None], x.flip(3), x)
        class_logits, colour_logits = net.both(translation(x))
        loss = F.cross_entropy(class_logits, labels[index], label_smoothing=0.05)
        if colour_logits is not None:
            wanted = colour_labels[index]
            known = wanted >= 0
            if known.any():  # a batch of unknown colours only has no colour loss (a mean over nothing is NaN)
                loss = loss + F.cross_entropy(colour_logits[known], wanted[known], label_smoothing=0.05)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        schedule.step()
    return Evaluator(net.eval(), list(classes), colours=colours)


# ---------------------------------------------------------------------- precision and recall
def _knn_radii(points: torch.Tensor, k: int, chunk: int = 2048) -> torch.Tensor:
    """Each point's distance to its k-th nearest other point of the same set."""
    k = min(k, len(points) - 1)
    return torch.cat([torch.cdist(points[i:i + chunk], points).kthvalue(k + 1, dim=1).values  # +1: itself, at 0
                      for i in range(0, len(points), chunk)])


def _inside(points: torch.Tensor, centres: torch.Tensor, radii: torch.Tensor, chunk: int = 2048) -> torch.Tensor:
    """Whether each point lies in at least one ball (centre, radius)."""
    return torch.cat([(torch.cdist(points[i:i + chunk], centres) <= radii[None, :]).any(dim=1)
                      for i in range(0, len(points), chunk)])


def precision_recall(real_features: torch.Tensor, fake_features: torch.Tensor, k: int = 3) -> tuple[float, float]:
    """(precision, recall) of generated features against real ones (Kynkäänniemi et al. 2019):
    precision, the share of generated points within some real point's k-NN ball; recall, the share
    of real points within some generated point's k-NN ball. NaN with fewer than two points a side."""
    real, fake = real_features.double(), fake_features.double()
    if len(real) < 2 or len(fake) < 2:
        return float("nan"), float("nan")
    precision = _inside(fake, real, _knn_radii(real, k)).double().mean()
    recall = _inside(real, fake, _knn_radii(fake, k)).double().mean()
    return float(precision), float(recall)


def novelty(train_features: torch.Tensor, real_features: torch.Tensor, features: torch.Tensor) -> float:
    """How far images are from the training photos, against how far unseen real photos are: the
    median distance from each of ``features`` to its nearest training photo over the same median
    for the real held-out photos. About 1: as new as an unseen photo; near 0: copies of training
    photos (which KID, precision and recall against held-out photos all reward). NaN without
    training or held-out photos."""
    if len(train_features) == 0 or len(real_features) == 0 or len(features) == 0:
        return float("nan")
    train = train_features.double()
    reference = torch.cdist(real_features.double(), train).min(dim=1).values.median()
    if float(reference) == 0.0:
        return float("nan")
    return float(torch.cdist(features.double(), train).min(dim=1).values.median() / reference)


# ------------------------------------------------------------------------------------- KID
def kid_subset_size(n_real: int, n_fake: int, cap: int = 1000) -> int:
    """Half the smaller set (at most ``cap``, torchmetrics' default): subsets of a whole set are all
    the same set, and KID's standard deviation over them, which the gate reads as its spread, is 0."""
    return max(2, min(cap, min(n_real, n_fake) // 2))


def kid(real_features: torch.Tensor, fake_features: torch.Tensor, subsets: int = 50, seed: int = 0) -> tuple[float, float]:
    """(mean, std) of KID between two feature sets, with torchmetrics."""
    from torchmetrics.image.kid import KernelInceptionDistance

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "will save all extracted features in buffer": they are small
        metric = KernelInceptionDistance(feature=nn.Identity(), subsets=subsets,
                                         subset_size=kid_subset_size(len(real_features), len(fake_features)))
    metric.update(real_features.double(), real=True)
    metric.update(fake_features.double(), real=False)
    state = torch.random.get_rng_state()
    torch.manual_seed(seed)  # torchmetrics draws subsets with the global generator
    try:
        mean, std = metric.compute()
    finally:
        torch.random.set_rng_state(state)
    return float(mean), float(std)


# -------------------------------------------------------------------------------- baselines
def class_mean_sampler(pixels: torch.Tensor, labels: torch.Tensor, num_classes: int,
                       colour_labels: torch.Tensor | None = None, num_colours: int = 0) -> Sampler:
    """The floor that knows the category but has no diversity: the mean training image of the class;
    with ``colour_labels`` (-1 = unknown) the mean image of the class in the colour asked (the
    class's mean where the pair has no training image or no colour is asked): it knows what a
    colour-conditioned generator knows."""
    means, pairs = class_colour_means(pixels, labels, num_classes, colour_labels, num_colours)
    if pairs is None:
        return lambda requested, colours=None: means[requested]

    def sample(requested: torch.Tensor, colours: torch.Tensor | None = None) -> torch.Tensor:
        if colours is None:
            return means[requested]
        return torch.where((colours >= 0)[:, None, None, None], pairs[requested, colours.clamp(min=0)], means[requested])

    return sample


def noise_sampler(image_size: int, seed: int = 0) -> Sampler:
    """The floor that knows nothing: uniform noise."""
    generator = torch.Generator().manual_seed(seed)
    return lambda requested, colours=None: torch.rand(len(requested), 3, image_size, image_size,
                                                      generator=generator) * 2 - 1


# ------------------------------------------------------------------------- Inception FID
def load_inception(path: Path) -> nn.Module:
    """A local TorchScript Inception feature extractor (uint8 N×3×299×299 → N×2048)."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"LABELOPS_INCEPTION_WEIGHTS={path} is not a file (nothing is downloaded)")
    return torch.jit.load(str(path), map_location="cpu").eval()


class _InceptionFeatures(nn.Module):
    def __init__(self, inception: nn.Module):
        super().__init__()
        self.inception = inception
        with torch.no_grad():
            self.num_features = int(self.forward(torch.zeros(1, 3, 8, 8)).shape[-1])

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        pixels = F.interpolate(images.float(), size=(299, 299), mode="bilinear", align_corners=False)
        pixels = pixels.add(1).mul(127.5).clamp(0, 255).to(torch.uint8)
        try:
            features = self.inception(pixels, return_features=True)
        except (RuntimeError, TypeError):
            features = self.inception(pixels)
        return features.double()


def frechet_inception_distance(inception: nn.Module, real: torch.Tensor, fake: torch.Tensor,
                               batch_size: int = 64) -> float:
    """FID with torchmetrics, Inception features from a local TorchScript module; images in [-1, 1]."""
    from torchmetrics.image.fid import FrechetInceptionDistance

    extractor = _InceptionFeatures(inception)
    metric = FrechetInceptionDistance(feature=extractor, normalize=False)
    with torch.no_grad():
        for images, is_real in ((real, True), (fake, False)):
            for i in range(0, len(images), batch_size):
                metric.update(images[i:i + batch_size], real=is_real)
    return float(metric.compute())
