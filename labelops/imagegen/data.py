"""Images for the conditional GAN: from a snapshot's listings to tensors, one class per category.

- **Class**: the category path down to a level, joined with " > " ("Clothing > T-Shirts"). By
  default (``level=None``) the deepest level, at most :data:`MAX_LEVEL`, at which products still
  differ and at which the kept classes (the ``max_classes`` most frequent with at least
  ``min_class_images`` images) hold most products (:func:`pick_level`); a number fixes the level.
  :func:`class_of` maps any listing's category path to one of the classes.
- **Colour**: ``attributes["color"]`` (or ``"colour"``), lower-cased. The vocabulary
  (:attr:`ImageSet.colours`) is the at most :data:`MAX_COLOURS` most frequent values with at least
  :data:`MIN_COLOUR_IMAGES` images; :attr:`ImageSet.colour_labels` indexes it, ``-1`` for a
  listing without a colour or with a rare one.
- **Pixels**: the listing's first image, transparency flattened on white, padded to a square on
  white, resized (Lanczos), stored as uint8; :func:`normalise` maps them to [-1, 1] for the models.
- **Skipped, never fatal**: a product without a category, without an image (none listed, or the
  file is not in the data root: ``missing``), with an image Pillow cannot read (``unreadable``),
  or of a rare category is left out and counted in :attr:`ImageSet.skipped`.
- **Splits**: labelops.snapshot.split_of (sha256 of ``listing_id``, 80/10/10), as for text.
"""

from __future__ import annotations

import base64
import io
import logging
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import lightning as L
import torch
from PIL import Image, UnidentifiedImageError
from torch.utils.data import DataLoader, TensorDataset

from labelops.storage import DataRoot
from labelops.snapshot import split_of

log = logging.getLogger(__name__)

WHITE = (255, 255, 255)
SKIP_REASONS = ("no_category", "missing", "unreadable", "rare_category")
CLASS_SEPARATOR = " > "
MAX_LEVEL = 2
"""The deepest category level (0: the top) a class is taken at by default."""
MAX_COLOURS = 24
MIN_COLOUR_IMAGES = 3
MAX_IMAGE_PIXELS = 50_000_000
"""An image declaring more pixels than this is not decoded (counted as unreadable)."""


# ------------------------------------------------------------------------------- categories
def category_of(path: Sequence[str] | None, level: int = 0) -> str | None:
    """The category at ``level`` of a category path (root first), or None."""
    if not path or len(path) <= level:
        return None
    value = str(path[level]).strip()
    return value or None


def class_name(path: Sequence[str] | None, level: int) -> str | None:
    """The path down to ``level`` joined with " > " ("Clothing > T-Shirts"), or None when shorter."""
    if not path or len(path) <= level:
        return None
    parts = [str(p).strip() for p in path[:level + 1]]
    return CLASS_SEPARATOR.join(parts) if all(parts) else None


def _kept(frequency: Counter, max_classes: int, min_class_images: int) -> list[str]:
    return [c for c, n in frequency.most_common() if n >= min_class_images][:max_classes]


def pick_level(paths: Iterable[Sequence[str] | None], min_class_images: int = 2, max_classes: int = 16,
               max_level: int = MAX_LEVEL) -> int:
    """The deepest level (at most ``max_level``) at which the products differ (two classes or more)
    and the classes kept there hold most products; else the first level at which they differ; else 0."""
    paths = [p for p in paths if p]
    depth = min(max((len(p) for p in paths), default=0), max_level + 1)
    differ = [level for level in range(depth) if len({class_name(p, level) for p in paths} - {None}) >= 2]
    for level in reversed(differ):
        frequency = Counter(c for c in (class_name(p, level) for p in paths) if c is not None)
        kept = _kept(frequency, max_classes, min_class_images)
        if len(kept) >= 2 and 2 * sum(frequency[c] for c in kept) > len(paths):
            return level
    return differ[0] if differ else 0


def class_of(category_path: Sequence[str] | None, classes: Sequence[str],
             frequency: Mapping[str, int] | None = None) -> str | None:
    """The class (of ``classes``) of a listing's category path: the longest prefix of the path that
    is a class (case-insensitive); a path only as deep as the top of some classes gets the most
    frequent of them (by ``frequency``, else the first); None when nothing matches."""
    if not category_path:
        return None
    parts = [str(p).strip() for p in category_path]
    spelled = {c.casefold(): c for c in classes}
    for depth in range(len(parts), 0, -1):
        found = spelled.get(CLASS_SEPARATOR.join(parts[:depth]).casefold())
        if found is not None:
            return found
    prefix = (CLASS_SEPARATOR.join(parts) + CLASS_SEPARATOR).casefold()
    below = [c for c in classes if c.casefold().startswith(prefix)]
    if not below:
        return None
    return max(below, key=lambda c: (frequency or {}).get(c, 0)) if frequency else below[0]


def colour_of(attributes: Any) -> str | None:
    """The listing's colour, lower-cased: ``attributes["color"]`` or ``["colour"]`` (any case of the key).
    ``attributes`` is a mapping or a list of (key, value) pairs (how Arrow returns a map)."""
    if not attributes:
        return None
    items = attributes.items() if isinstance(attributes, Mapping) else attributes
    for key, value in items:
        if str(key).strip().casefold() in ("color", "colour") and value is not None and str(value).strip():
            return " ".join(str(value).split()).casefold()
    return None


def colour_vocabulary(colours: Iterable[str | None], max_colours: int = MAX_COLOURS,
                      min_images: int = MIN_COLOUR_IMAGES) -> list[str]:
    """The most frequent colours with at least ``min_images`` images, at most ``max_colours``, sorted."""
    frequency = Counter(c for c in colours if c)
    return sorted(c for c, n in frequency.most_common(max_colours) if n >= min_images)


# ------------------------------------------------------------------------------------ pixels
def to_square(image: Image.Image, size: int) -> Image.Image:
    """RGB (transparency on white), padded to a centred square on white, resized to ``size``."""
    if image.mode in ("RGBA", "LA", "PA", "P"):
        rgba = image.convert("RGBA")
        flat = Image.new("RGB", rgba.size, WHITE)
        flat.paste(rgba, mask=rgba.getchannel("A"))
        image = flat
    else:
        image = image.convert("RGB")
    side = max(image.size)
    square = Image.new("RGB", (side, side), WHITE)
    square.paste(image, ((side - image.width) // 2, (side - image.height) // 2))
    return square.resize((size, size), Image.Resampling.LANCZOS)


def pil_to_uint8(image: Image.Image) -> torch.Tensor:
    """A 3×H×W uint8 tensor of an RGB image."""
    data = torch.frombuffer(bytearray(image.tobytes()), dtype=torch.uint8)
    return data.view(image.height, image.width, 3).permute(2, 0, 1).contiguous()


def uint8_to_pil(pixels: torch.Tensor) -> Image.Image:
    return Image.fromarray(pixels.permute(1, 2, 0).contiguous().numpy(), "RGB")


def normalise(pixels: torch.Tensor) -> torch.Tensor:
    """uint8 [0, 255] → float [-1, 1]."""
    return pixels.float().div(127.5).sub(1.0)


def denormalise(images: torch.Tensor) -> torch.Tensor:
    """float [-1, 1] → uint8 [0, 255]."""
    return images.detach().float().clamp(-1, 1).add(1).mul(127.5).round().to(torch.uint8).cpu()


def class_colour_means(pixels: torch.Tensor, labels: torch.Tensor, num_classes: int,
                       colour_labels: torch.Tensor | None = None, num_colours: int = 0, min_images: int = 1,
                       ) -> tuple[torch.Tensor, torch.Tensor | None]:
    """The mean image of each class (K×3×S×S, in [-1, 1]; the overall mean for a class without
    images) and, given ``colour_labels`` (-1 = unknown), of each class in each colour (K×C×3×S×S;
    the class's mean where the pair has fewer than ``min_images`` images), else None.

    The class-and-colour-mean baseline draws these, and the generator's prior
    (:class:`labelops.imagegen.model.ClassColourPrior`) starts from them."""
    images = normalise(pixels)
    overall = images.mean(0)
    means = torch.stack([images[labels == c].mean(0) if (labels == c).any() else overall for c in range(num_classes)])
    if colour_labels is None or num_colours == 0:
        return means, None
    pairs = means[:, None].repeat(1, num_colours, 1, 1, 1)  # class × colour × image
    for c in range(num_classes):
        for k in range(num_colours):
            chosen = (labels == c) & (colour_labels == k)
            if int(chosen.sum()) >= max(min_images, 1):
                pairs[c, k] = images[chosen].mean(0)
    return means, pairs


def prior_templates(pixels: torch.Tensor, labels: torch.Tensor, colour_labels: torch.Tensor, num_classes: int,
                    num_colours: int, min_images: int = 1) -> torch.Tensor:
    """The generator prior's templates: K×(C+1)×3×S×S, the class-and-colour means (a pair with fewer
    than ``min_images`` images: the class's mean), then the class's mean for "any colour"."""
    means, pairs = class_colour_means(pixels, labels, num_classes, colour_labels, num_colours, min_images)
    return means[:, None] if pairs is None else torch.cat([pairs, means[:, None]], dim=1)


def grid_image(pixels: torch.Tensor, per_row: int, padding: int = 2) -> Image.Image:
    """Tile N×3×H×W uint8 images, ``per_row`` a row, on white."""
    n, _, h, w = pixels.shape
    rows = (n + per_row - 1) // per_row
    canvas = torch.full((3, rows * (h + padding) + padding, per_row * (w + padding) + padding), 255, dtype=torch.uint8)
    for i in range(n):
        top, left = padding + (i // per_row) * (h + padding), padding + (i % per_row) * (w + padding)
        canvas[:, top:top + h, left:left + w] = pixels[i]
    return uint8_to_pil(canvas)


def png_bytes(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def open_image(source: Any) -> Image.Image:
    """A PIL image from bytes, base64 text, a data URL, a file path or a PIL image."""
    if isinstance(source, Image.Image):
        return source
    if isinstance(source, (bytes, bytearray, memoryview)):
        return Image.open(io.BytesIO(bytes(source)))
    text = str(source)
    if text.startswith("data:"):
        text = text.split(",", 1)[1]
    if _is_file(text):
        return Image.open(text)
    return Image.open(io.BytesIO(base64.b64decode(text, validate=True)))


def _is_file(text: str) -> bool:
    try:
        return len(text) < 4096 and Path(text).is_file()
    except OSError:  # base64 text can make a "file name too long"
        return False


def load_pixels(root: DataRoot, relative: str, size: int) -> tuple[torch.Tensor | None, str | None]:
    """(3×size×size uint8, None), or (None, "missing" | "unreadable")."""
    if not root.exists(relative):
        return None, "missing"
    try:
        with root.open(relative, "rb") as handle:
            with Image.open(io.BytesIO(handle.read())) as image:
                if image.width * image.height > MAX_IMAGE_PIXELS:  # measured from the header, before decoding
                    log.warning("image %s declares %dx%d pixels: not decoded", relative, image.width, image.height)
                    return None, "unreadable"
                image.load()
                return pil_to_uint8(to_square(image, size)), None
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError, Image.DecompressionBombError):
        return None, "unreadable"


# ---------------------------------------------------------------------------------- the set
@dataclass
class ImageSet:
    """The images of a snapshot, ready to train on: pixels, class ids, splits and what was skipped."""

    pixels: torch.Tensor  # N×3×S×S uint8
    labels: torch.Tensor  # N int64, indexes ``classes``
    listing_ids: list[str]
    splits: list[str]
    classes: list[str]
    level: int
    skipped: dict[str, int] = field(default_factory=dict)
    colours: list[str] = field(default_factory=list)  # the colour vocabulary
    colour_labels: torch.Tensor | None = None  # N int64, indexes ``colours``; -1: none or a rare one

    def __post_init__(self) -> None:
        if self.colour_labels is None:  # a set saved before colours
            self.colour_labels = torch.full((len(self.labels),), -1, dtype=torch.long)

    def class_frequency(self) -> dict[str, int]:
        counts = Counter(self.labels.tolist())
        return {c: counts.get(i, 0) for i, c in enumerate(self.classes)}

    def subset(self, *splits: str) -> tuple[torch.Tensor, torch.Tensor]:
        """Pixels and labels of the given splits."""
        index = self._index(splits)
        return self.pixels[index], self.labels[index]

    def subset_with_colours(self, *splits: str) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Pixels, labels and colour labels of the given splits."""
        index = self._index(splits)
        return self.pixels[index], self.labels[index], self.colour_labels[index]

    def _index(self, splits: Sequence[str]) -> torch.Tensor:
        return torch.tensor([i for i, s in enumerate(self.splits) if s in splits], dtype=torch.long)

    def counts(self) -> dict[str, int]:
        """Images by split and skipped products by reason (for the run's params)."""
        by_split = Counter(self.splits)
        return {**{f"images_{s}": by_split.get(s, 0) for s in ("train", "val", "test")},
                "classes": len(self.classes), "colours": len(self.colours),
                "images_with_colour": int((self.colour_labels >= 0).sum()), **{f"skipped_{r}": self.skipped.get(r, 0) for r in SKIP_REASONS}}

    def save(self, path: Path) -> None:
        torch.save(self.__dict__, path)

    @classmethod
    def load(cls, path: Path) -> ImageSet:
        return cls(**torch.load(path, weights_only=True))  # tensors, lists and numbers: data, never code


def build_image_set(rows: Iterable[Mapping[str, Any]], root: DataRoot, size: int, level: int | None = None,
                    max_classes: int = 16, min_class_images: int = 2, max_colours: int = MAX_COLOURS,
                    min_colour_images: int = MIN_COLOUR_IMAGES) -> ImageSet:
    """Load the first image of every listing with a category; skip and count the rest."""
    rows = list(rows)
    if level is None:
        level = pick_level((r.get("category_path") for r in rows), min_class_images, max_classes)
    skipped: Counter[str] = Counter({reason: 0 for reason in SKIP_REASONS})
    loaded: list[tuple[str, str, torch.Tensor, str | None]] = []
    for row in rows:
        category = class_name(row.get("category_path"), level)
        if category is None:
            skipped["no_category"] += 1
            continue
        images = [p for p in (row.get("images") or []) if p]
        pixels, problem = load_pixels(root, images[0], size) if images else (None, "missing")
        if pixels is None:
            skipped[problem] += 1
            continue
        loaded.append((row["listing_id"], category, pixels, colour_of(row.get("attributes"))))
    frequency = Counter(item[1] for item in loaded)
    classes = sorted(_kept(frequency, max_classes, min_class_images))
    index = {c: i for i, c in enumerate(classes)}
    chosen = [item for item in loaded if item[1] in index]
    skipped["rare_category"] += len(loaded) - len(chosen)
    if skipped["missing"] or skipped["unreadable"]:
        log.warning("image set: skipped %d products without an image and %d with an unreadable one",
                    skipped["missing"], skipped["unreadable"])
    colours = colour_vocabulary((item[3] for item in chosen), max_colours, min_colour_images)
    colour_index = {c: i for i, c in enumerate(colours)}
    pixels = torch.stack([item[2] for item in chosen]) if chosen else torch.zeros((0, 3, size, size), dtype=torch.uint8)
    return ImageSet(pixels=pixels, labels=torch.tensor([index[item[1]] for item in chosen], dtype=torch.long),
                    listing_ids=[item[0] for item in chosen], splits=[split_of(item[0]) for item in chosen],
                    classes=classes, level=level, skipped=dict(skipped), colours=colours,
                    colour_labels=torch.tensor([colour_index.get(item[3], -1) for item in chosen], dtype=torch.long))


class ImageDataModule(L.LightningDataModule):
    """The training split of an :class:`ImageSet` file, as shuffled batches of (uint8 pixels, labels,
    colour labels)."""

    def __init__(self, path: str | Path, batch_size: int, num_workers: int = 0):
        super().__init__()
        self.path, self.batch_size, self.num_workers = Path(path), batch_size, num_workers
        self.train: TensorDataset | None = None

    def setup(self, stage: str | None = None) -> None:
        image_set = ImageSet.load(self.path)
        pixels, labels, colours = image_set.subset_with_colours("train")
        if len(labels) == 0:  # tiny snapshots: every image trains
            pixels, labels, colours = image_set.pixels, image_set.labels, image_set.colour_labels
        self.train = TensorDataset(pixels, labels, colours)

    def train_dataloader(self) -> DataLoader:
        assert self.train is not None
        # DDP gives each process its share of the images: drop a short last batch only where a whole one is left
        share = -(-len(self.train) // (self.trainer.world_size if self.trainer is not None else 1))
        return DataLoader(self.train, batch_size=self.batch_size, shuffle=True, num_workers=self.num_workers,
                          drop_last=share >= self.batch_size)
