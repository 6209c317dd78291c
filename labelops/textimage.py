"""Text and image agree: a small contrastive (CLIP-style) text–image model of one snapshot, and
the scores it gives labels, the report, the review page and the gate.

    scorer = text_image_scorer(snapshot_id)            # trained once per snapshot, then cached
    scorer.score(photos, descriptions)                  # cosine of each (image, text) pair, in [-1, 1]
    scorer.disagrees(score)                             # below the threshold, and the scorer trusted

- **Model**: an image encoder (a small CNN on the first photo at ``IMAGE_SIZE`` px) and a text
  encoder (hashed words and word bigrams, CJK characters one by one, in an ``EmbeddingBag``: no
  tokenizer, nothing downloaded, the same on every machine), each projected to ``DIM`` numbers
  and normalised; trained from scratch with the symmetric InfoNCE loss and a learnable temperature
  (Radford et al. 2021) on the snapshot's *training* split (:func:`labelops.snapshot.split_of`):
  each product's photo with its description (with its title before it, a third of the time).
  ``LABELOPS_TEXT_IMAGE_STEPS`` steps, seeded.
- **Measured before it is trusted**, on the held-out split's real pairs: for each held-out photo,
  is its own description the best of 10 (its own and 9 other held-out descriptions, drawn with a
  fixed seed)? And for each description, its photo among 10 photos. Each with a 95% bootstrap
  interval, beside the simple method on the same rows (:func:`neighbour_scores`: the photo's 5
  nearest training photos in pixels, their descriptions as TF-IDF, cosine to the candidate), and
  the model's gain over it with a paired bootstrap interval (``gain_image_to_text``, ...).
  The scorer is *trusted* only when the lower bound of its photo → description accuracy exceeds
  ``LABELOPS_TEXT_IMAGE_TRUST`` (chance is 0.1); an untrusted scorer's scores are still written,
  but nothing is flagged and the gate does not use it, and :attr:`TextImageScorer.reason` says why.
- **Disagreement threshold**: the score below which ``DISAGREE_QUANTILE`` (5%) of the held-out
  true pairs fall; the share of held-out *mismatched* pairs below it is reported beside.
- **Cache**: ``evaluation/<snapshot_id>/text-image/`` (:func:`labelops.catalog.text_image_dir`):
  ``model.pt`` and ``text-image.json`` (the measurement, the threshold, trust), written whole.

Scores are rounded to 4 decimals, so a Dask worker and this process write the same values.
"""

from __future__ import annotations

import json
import logging
import math
import os
import re
import tempfile
import time
import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from labelops import catalog
from labelops.settings import Settings, get_settings
from labelops.significance import paired_bootstrap
from labelops.snapshot import split_of
from labelops.storage import DataRoot

log = logging.getLogger(__name__)

IMAGE_SIZE = 32
BUCKETS = 1 << 15  # hashed word and bigram features
WIDTH = 128
DIM = 64
CANDIDATES = 10  # retrieval: the right description among this many
DISAGREE_QUANTILE = 0.05
MIN_TRAIN_PAIRS = 20  # fewer training pairs: no scorer
SEED = 0
DIGITS = 4
HELDOUT_SPLITS = ("val", "test")
FORMAT = 1

_WORD = re.compile(r"\w+", re.UNICODE)
_CJK = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af]")


# ------------------------------------------------------------------------------------- text
def text_of(description: str | None, title: str | None = None) -> str:
    """The text the model reads: the description (its published markup removed), else the title;
    with ``title``, the title first."""
    from labelops.textgen.serialize import clean_description

    body = clean_description(description) if description else ""
    if title and (not body or title not in body):
        return f"{title}. {body}".strip() if body else str(title)
    return body


def tokens(text: str) -> list[str]:
    """Lower-cased words (CJK runs split into characters) and the bigrams of neighbouring ones."""
    words: list[str] = []
    for word in _WORD.findall((text or "").casefold()):
        if _CJK.search(word):
            words.extend(word)
        else:
            words.append(word)
    return words + [f"{a} {b}" for a, b in zip(words, words[1:])]


def hashed(text: str) -> list[int]:
    """The feature buckets of ``text`` (crc32: the same on every machine and Python); bucket 0 for no words."""
    return [zlib.crc32(t.encode("utf-8")) % (BUCKETS - 1) + 1 for t in tokens(text)] or [0]


def _bags(features: Sequence[Sequence[int]]) -> tuple[torch.Tensor, torch.Tensor]:
    flat = torch.tensor([f for bag in features for f in bag], dtype=torch.long)
    offsets = torch.tensor(np.cumsum([0, *[len(bag) for bag in features[:-1]]]), dtype=torch.long)
    return flat, offsets


# ------------------------------------------------------------------------------------- model
class TextImageNet(nn.Module):
    """Photo and text encoders into one space of ``DIM`` unit vectors, and the temperature."""

    def __init__(self, image_size: int = IMAGE_SIZE, buckets: int = BUCKETS, width: int = WIDTH, dim: int = DIM):
        super().__init__()
        self.image_size = image_size

        def block(a: int, b: int) -> list[nn.Module]:
            return [nn.Conv2d(a, b, 3, padding=1), nn.GroupNorm(8, b), nn.ReLU(), nn.MaxPool2d(2)]

        self.image = nn.Sequential(*block(3, 16), *block(16, 32), *block(32, 64), nn.AdaptiveAvgPool2d(1),
                                   nn.Flatten(), nn.Linear(64, width), nn.ReLU(), nn.Linear(width, dim))
        self.words = nn.EmbeddingBag(buckets, width, mode="mean")
        self.text = nn.Sequential(nn.ReLU(), nn.Linear(width, width), nn.ReLU(), nn.Linear(width, dim))
        self.logit_scale = nn.Parameter(torch.tensor(math.log(1 / 0.07)))

    def encode_images(self, images: torch.Tensor) -> torch.Tensor:
        """Float N×3×S×S in [-1, 1] → N×DIM unit vectors."""
        return F.normalize(self.image(images), dim=-1)

    def encode_texts(self, features: Sequence[Sequence[int]]) -> torch.Tensor:
        flat, offsets = _bags(features)
        return F.normalize(self.text(self.words(flat, offsets)), dim=-1)


def _augment(images: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """Random horizontal flips and shifts of up to 2 px (white padding)."""
    flip = torch.rand(len(images), generator=generator) < 0.5
    images = torch.where(flip[:, None, None, None], images.flip(-1), images)
    size = images.shape[-1]
    padded = F.pad(images, (2, 2, 2, 2), value=1.0)
    dx, dy = (int(v) for v in torch.randint(0, 5, (2,), generator=generator))
    return padded[:, :, dy:dy + size, dx:dx + size]


def _drop_words(bag: list[int], generator: torch.Generator, p: float = 0.1) -> list[int]:
    keep = torch.rand(len(bag), generator=generator) >= p
    kept = [f for f, k in zip(bag, keep.tolist()) if k]
    return kept or bag


def train_text_image(pixels: torch.Tensor, descriptions: Sequence[str], titled: Sequence[str], steps: int,
                     batch_size: int = 128, lr: float = 2e-3, seed: int = SEED) -> TextImageNet:
    """Fit the model on training pairs: uint8 photos N×3×S×S with their descriptions (and the
    same with the title first, ``titled``, a third of the time); symmetric InfoNCE."""
    from labelops.imagegen.data import normalise

    torch.manual_seed(seed)
    generator = torch.Generator().manual_seed(seed)
    net = TextImageNet(pixels.shape[-1])
    optimizer = torch.optim.AdamW(net.parameters(), lr=lr, weight_decay=1e-4)
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=lr, total_steps=max(1, steps))
    images = normalise(pixels)
    plain, with_title = [hashed(t) for t in descriptions], [hashed(t) for t in titled]
    n = len(images)
    batch_size = min(batch_size, n)
    net.train()
    for _ in range(steps):
        index = torch.randperm(n, generator=generator)[:batch_size]
        titles = (torch.rand(batch_size, generator=generator) < 1 / 3).tolist()
        bags = [_drop_words((with_title if t else plain)[i], generator) for i, t in zip(index.tolist(), titles)]
        image_emb = net.encode_images(_augment(images[index], generator))
        text_emb = net.encode_texts(bags)
        logits = net.logit_scale.exp().clamp(max=100) * image_emb @ text_emb.T
        target = torch.arange(len(index))
        loss = (F.cross_entropy(logits, target) + F.cross_entropy(logits.T, target)) / 2
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        schedule.step()
    return net.eval()


# ------------------------------------------------------------------------------------- measuring
def mean_with_interval(values: Sequence[float], confidence: float = 0.95, resamples: int = 1000,
                  seed: int = SEED) -> dict[str, float]:
    """The mean of ``values`` with its bootstrap interval (:func:`labelops.significance.mean_interval`)."""
    from labelops.significance import mean_interval as interval

    low, high = interval(values, confidence=confidence, resamples=resamples, seed=seed)
    mean = float(np.mean(values)) if len(values) else float("nan")
    return {"mean": mean, "low": low, "high": high, "n": len(values)}


def retrieval_hits(scores: np.ndarray, candidates: int = CANDIDATES, seed: int = SEED) -> tuple[list[float], list[float]]:
    """Per row of the square ``scores`` (row i: photo i against every text; the diagonal the true
    pairs): is the true text the best of it and ``candidates - 1`` other rows' texts (photo →
    text), and is the true photo the best of it and the same other rows' photos (text → photo)?
    The others are drawn with a fixed seed; a tie is a miss."""
    n = len(scores)
    rng = np.random.default_rng(seed)
    to_text, to_image = [], []
    for i in range(n):
        others = np.delete(np.arange(n), i)
        others = rng.choice(others, size=min(candidates - 1, len(others)), replace=False)
        to_text.append(float(scores[i, i] > scores[i, others].max(initial=-np.inf)))
        to_image.append(float(scores[i, i] > scores[others, i].max(initial=-np.inf)))
    return to_text, to_image


def neighbour_scores(train_pixels: torch.Tensor, train_texts: Sequence[str], pixels: torch.Tensor,
                     texts: Sequence[str], k: int = 5) -> np.ndarray:
    """The simple method: score (photo i, text j) as the TF-IDF cosine of text j to the texts of
    photo i's ``k`` nearest training photos (Euclidean, in pixels)."""
    from sklearn.feature_extraction.text import TfidfVectorizer

    def flat(p: torch.Tensor) -> torch.Tensor:
        return F.interpolate(p.float(), size=16, mode="area").flatten(1) / 255.0

    near = torch.cdist(flat(pixels), flat(train_pixels)).topk(min(k, len(train_pixels)), largest=False).indices
    vectoriser = TfidfVectorizer(analyzer=tokens).fit(list(train_texts) + list(texts))
    train_matrix = vectoriser.transform(train_texts)
    profiles = np.asarray(np.vstack([train_matrix[idx.numpy()].mean(0) for idx in near]))
    profiles /= np.linalg.norm(profiles, axis=1, keepdims=True).clip(1e-12)
    candidates = vectoriser.transform(texts).toarray()
    return profiles @ candidates.T


# ------------------------------------------------------------------------------------- the scorer
@dataclass
class TextImageScorer:
    """A trained text–image model of one snapshot, what it measured and whether to trust it."""

    net: TextImageNet
    snapshot_id: str
    threshold: float
    trusted: bool
    reason: str  # why it is (not) trusted, in words
    metrics: dict[str, Any] = field(default_factory=dict)

    def _pixels(self, images: Sequence[Any] | torch.Tensor) -> torch.Tensor:
        from labelops.imagegen.data import normalise, open_image, pil_to_uint8, to_square

        if isinstance(images, torch.Tensor):
            tensor = normalise(images) if images.dtype == torch.uint8 else images.float()
        else:
            tensor = normalise(torch.stack([pil_to_uint8(to_square(open_image(i), self.net.image_size))
                                            for i in images])) if len(images) else torch.zeros(0, 3, 1, 1)
        if len(tensor) and tensor.shape[-1] != self.net.image_size:
            tensor = F.interpolate(tensor, size=self.net.image_size, mode="bilinear", antialias=True,
                                   align_corners=False)
        return tensor

    @torch.no_grad()
    def score(self, images: Sequence[Any] | torch.Tensor, texts: Sequence[str]) -> list[float]:
        """The agreement of each (image, text) pair: cosine in [-1, 1], rounded to 4 decimals.
        Images: PIL images, uint8 N×3×H×W or float ones in [-1, 1] (resized to the model's size)."""
        if len(texts) != len(images):
            raise ValueError(f"{len(images)} images but {len(texts)} texts")
        if not len(texts):
            return []
        image_emb = self.net.encode_images(self._pixels(images))
        text_emb = self.net.encode_texts([hashed(t) for t in texts])
        return [round(float(v), DIGITS) for v in (image_emb * text_emb).sum(-1)]

    def disagrees(self, score: float | None) -> bool | None:
        """Whether ``score`` is below the disagreement threshold; None when there is no score or
        the scorer is not trusted (nothing is flagged then)."""
        if score is None or not self.trusted:
            return None
        return score < self.threshold

    def summary(self) -> dict[str, Any]:
        """What the report shows: trust and why, the threshold and the held-out measurement."""
        return {"snapshot_id": self.snapshot_id, "trusted": self.trusted, "reason": self.reason,
                "threshold": self.threshold, **self.metrics}

    def save(self, folder: Path) -> None:
        """``model.pt`` then ``text-image.json`` (which marks the folder complete), each written whole."""
        folder.mkdir(parents=True, exist_ok=True)
        _atomic(folder / "model.pt", lambda path: torch.save(self.net.state_dict(), path))
        meta = {"format": FORMAT, "image_size": self.net.image_size, **self.summary()}
        _atomic(folder / "text-image.json", lambda path: Path(path).write_text(json.dumps(meta, indent=2)))

    @classmethod
    def load(cls, folder: Path) -> TextImageScorer:
        meta = json.loads((folder / "text-image.json").read_text())
        net = TextImageNet(meta["image_size"])
        net.load_state_dict(torch.load(folder / "model.pt", map_location="cpu", weights_only=True))
        skip = {"format", "image_size", "snapshot_id", "trusted", "reason", "threshold"}
        return cls(net.eval(), meta["snapshot_id"], meta["threshold"], meta["trusted"], meta["reason"],
                   {k: v for k, v in meta.items() if k not in skip})


def _atomic(path: Path, write: Any) -> None:
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    os.close(handle)
    try:
        write(temporary)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def trusted_scorer(snapshot_id: str, settings: Settings | None = None) -> tuple[TextImageScorer | None, str]:
    """The snapshot's scorer when it may judge (a gate metric), else None and why in words: the
    reason a gate check is skipped."""
    try:
        scorer = text_image_scorer(snapshot_id, settings)
    except FileNotFoundError as error:
        return None, f"no text-image scorer: {error}"
    if scorer is None:
        return None, "no text-image scorer: the snapshot has too few products with a photo and a text"
    if not scorer.trusted:
        return None, f"the text-image scorer is not trusted: {scorer.reason}"
    return scorer, ""


def image_agreement(scorer: TextImageScorer | None, images: Sequence[Any] | torch.Tensor,
                    texts: Sequence[str]) -> list[float] | None:
    """Per row, how well each generated image fits its listing's text (``texts``: descriptions,
    or :func:`text_of`); None when there is no scorer or it is not trusted (a gate metric is then
    absent). For the image model's Scores: ``rows["text_image_agreement"]``."""
    if scorer is None or not scorer.trusted:
        return None
    return scorer.score(images, [text_of(t) for t in texts])


# ------------------------------------------------------------------------------------- the snapshot's
@dataclass
class Pairs:
    pixels: torch.Tensor  # uint8 N×3×S×S
    descriptions: list[str]
    titled: list[str]
    listing_ids: list[str]


def pairs_of(rows: Sequence[Mapping[str, Any]], root: DataRoot, splits: Sequence[str],
             size: int = IMAGE_SIZE) -> Pairs:
    """The (first photo, text) pairs of the rows in ``splits`` that have both."""
    from labelops.imagegen.data import load_pixels

    pixels, descriptions, titled, ids = [], [], [], []
    for row in rows:
        if split_of(row["listing_id"]) not in splits:
            continue
        text = text_of(row.get("description"), None) or text_of(None, row.get("title"))
        images = [p for p in (row.get("images") or []) if p]
        if not text or not images:
            continue
        loaded, _ = load_pixels(root, images[0], size)
        if loaded is None:
            continue
        pixels.append(loaded)
        descriptions.append(text)
        titled.append(text_of(row.get("description"), row.get("title")))
        ids.append(row["listing_id"])
    stacked = torch.stack(pixels) if pixels else torch.zeros((0, 3, size, size), dtype=torch.uint8)
    return Pairs(stacked, descriptions, titled, ids)


def measure(net: TextImageNet, train: Pairs, held: Pairs, trust: float) -> tuple[float, bool, str, dict[str, Any]]:
    """The held-out measurement: (threshold, trusted, reason, metrics), the model beside the simple method."""
    from labelops.imagegen.data import normalise

    with torch.no_grad():
        model = (net.encode_images(normalise(held.pixels))
                 @ net.encode_texts([hashed(t) for t in held.descriptions]).T).numpy()
    simple = neighbour_scores(train.pixels, train.descriptions, held.pixels, held.descriptions)
    metrics: dict[str, Any] = {"heldout_pairs": len(held.descriptions), "train_pairs": len(train.descriptions),
                               "candidates": CANDIDATES}
    hits = {}
    for name, matrix in (("model", model), ("neighbours", simple)):
        hits[name, "image_to_text"], hits[name, "text_to_image"] = retrieval_hits(matrix)
        for way in ("image_to_text", "text_to_image"):
            metrics[f"{name}_{way}"] = mean_with_interval(hits[name, way])
    for way in ("image_to_text", "text_to_image"):  # the model's gain over the neighbours, paired by row
        ours, theirs = np.asarray(hits["model", way]), np.asarray(hits["neighbours", way])
        metrics[f"gain_{way}"] = paired_bootstrap(lambda idx: float(ours[idx].mean()),
                                                  lambda idx: float(theirs[idx].mean()), len(ours)).model_dump()
    true = np.diag(model)
    threshold = round(float(np.quantile(true, DISAGREE_QUANTILE)), DIGITS) if len(true) else 0.0
    mismatched = model[~np.eye(len(model), dtype=bool)]
    metrics["true_pairs_flagged"] = float((true < threshold).mean()) if len(true) else float("nan")
    metrics["mismatched_pairs_flagged"] = float((mismatched < threshold).mean()) if len(mismatched) else float("nan")
    found = metrics["model_image_to_text"]
    if len(held.descriptions) < CANDIDATES:
        return threshold, False, (f"only {len(held.descriptions)} held-out photo–description pairs: too few to "
                                  f"measure retrieval among {CANDIDATES}"), metrics
    said = (f"held-out photo → description among {CANDIDATES}: {found['mean']:.3f} "
            f"[{found['low']:.3f}, {found['high']:.3f}] on {found['n']} pairs (chance {1 / CANDIDATES:.1f})")
    if found["low"] > trust:
        return threshold, True, f"{said}: its lower bound is above {trust:g}", metrics
    return threshold, False, f"{said}: its lower bound is not above {trust:g}, so nothing is flagged", metrics


def fit_scorer(snapshot_id: str, rows: Sequence[Mapping[str, Any]], root: DataRoot, steps: int, trust: float,
               size: int = IMAGE_SIZE) -> TextImageScorer | None:
    """Train on ``rows``' training split and measure on their held-out split; None when there are
    fewer than ``MIN_TRAIN_PAIRS`` training pairs."""
    train = pairs_of(rows, root, ("train",), size)
    if len(train.descriptions) < MIN_TRAIN_PAIRS:
        log.info("no text-image scorer for snapshot %s: %d training pairs of a photo and a text (fewer than %d)",
                 snapshot_id, len(train.descriptions), MIN_TRAIN_PAIRS)
        return None
    held = pairs_of(rows, root, HELDOUT_SPLITS, size)
    started = time.process_time()
    net = train_text_image(train.pixels, train.descriptions, train.titled, steps)
    seconds = time.process_time() - started
    threshold, trusted, reason, metrics = measure(net, train, held, trust)
    metrics.update({"steps": steps, "train_cpu_seconds": round(seconds, 1)})
    log.info("text-image scorer of snapshot %s (%d training pairs, %.0f CPU s): %s", snapshot_id,
             len(train.descriptions), seconds, reason)
    return TextImageScorer(net, snapshot_id, threshold, trusted, reason, metrics)


def text_image_scorer(snapshot_id: str, settings: Settings | None = None,
                      rows: Sequence[Mapping[str, Any]] | None = None) -> TextImageScorer | None:
    """The snapshot's scorer: loaded from its cache, else trained on its training pairs, measured
    and cached; None when the snapshot has too few photos with a text to train on (then too a
    file in the cache says so, so it is not tried again)."""
    from labelops.snapshot import read_snapshot
    from labelops.locks import named_lock

    settings = settings or get_settings()
    folder = catalog.text_image_dir(settings, snapshot_id)
    found, scorer = _cached(folder)
    if found:
        return scorer
    root = DataRoot(settings.data)
    rows = rows if rows is not None else read_snapshot(root, snapshot_id).to_pylist()
    with named_lock(f"text-image-{snapshot_id}", settings):  # one process trains it; the others load it
        found, scorer = _cached(folder)
        if found:
            return scorer
        scorer = fit_scorer(snapshot_id, rows, root, settings.text_image_steps, settings.text_image_trust)
        if scorer is None:
            folder.mkdir(parents=True, exist_ok=True)
            _atomic(folder / "none.json", lambda path: Path(path).write_text(json.dumps(
                {"reason": f"fewer than {MIN_TRAIN_PAIRS} training pairs of a photo and a text", "format": FORMAT})))
            return None
        scorer.save(folder)
    return scorer


def _cached(folder: Path) -> tuple[bool, TextImageScorer | None]:
    """(whether the cache decided, the scorer): a scorer of this format, or a note that there is none."""
    for name in ("text-image.json", "none.json"):
        if (folder / name).exists() and json.loads((folder / name).read_text()).get("format") == FORMAT:
            return True, TextImageScorer.load(folder) if name == "text-image.json" else None
    return False, None


def score_labels(scorer: TextImageScorer | None, labels: Sequence[Any], photos: Sequence[Any],
                 generated: Mapping[int, Any], listing_texts: Sequence[str]) -> None:
    """Set each label's ``text_image_score`` (its description against the product's photo, where
    it has one), ``image_text_score`` (a generated image, ``generated[i]``, against the listing's
    text) and ``text_image_disagreement`` (either below the threshold, the scorer trusted)."""
    if scorer is None:
        return
    with_photo = [i for i, photo in enumerate(photos) if photo is not None]
    for i, value in zip(with_photo, scorer.score([photos[i] for i in with_photo],
                                                 [text_of(labels[i].description) for i in with_photo])):
        labels[i].text_image_score = value
    drawn = sorted(generated)
    for i, value in zip(drawn, scorer.score([generated[i] for i in drawn], [listing_texts[i] for i in drawn])):
        labels[i].image_text_score = value
    for label in labels:
        flags = [scorer.disagrees(s) for s in (label.text_image_score, label.image_text_score) if s is not None]
        label.text_image_disagreement = any(flags) if flags and None not in flags else None
