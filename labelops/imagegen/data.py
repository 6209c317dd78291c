"""Images for the conditional GAN: from a snapshot's listings to tensors, one class per category.

- **Class**: the top-level category (``category_path[0]``). When every product of a snapshot
  shares its top level (books.toscrape: all under "Books"), the first level below at which
  products differ is used instead (``category_level=None``, the default); a number fixes the level.
  The ``max_classes`` most frequent categories with at least ``min_class_images`` images are kept.
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
MAX_IMAGE_PIXELS = 50_000_000
"""An image declaring more pixels than this is not decoded (counted as unreadable)."""


# ------------------------------------------------------------------------------- categories
def category_of(path: Sequence[str] | None, level: int = 0) -> str | None:
    """The category at ``level`` of a category path (root first), or None."""
    if not path or len(path) <= level:
        return None
    value = str(path[level]).strip()
    return value or None


def pick_level(paths: Iterable[Sequence[str] | None]) -> int:
    """The top level, or the first level below it at which the products' categories differ."""
    paths = [p for p in paths if p]
    depth = max((len(p) for p in paths), default=0)
    for level in range(depth):
        if len({category_of(p, level) for p in paths} - {None}) >= 2:
            return level
    return 0


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

    def subset(self, *splits: str) -> tuple[torch.Tensor, torch.Tensor]:
        """Pixels and labels of the given splits."""
        index = torch.tensor([i for i, s in enumerate(self.splits) if s in splits], dtype=torch.long)
        return self.pixels[index], self.labels[index]

    def counts(self) -> dict[str, int]:
        """Images by split and skipped products by reason (for the run's params)."""
        by_split = Counter(self.splits)
        return {**{f"images_{s}": by_split.get(s, 0) for s in ("train", "val", "test")},
                "classes": len(self.classes), **{f"skipped_{r}": self.skipped.get(r, 0) for r in SKIP_REASONS}}

    def save(self, path: Path) -> None:
        torch.save(self.__dict__, path)

    @classmethod
    def load(cls, path: Path) -> ImageSet:
        return cls(**torch.load(path, weights_only=True))  # tensors, lists and numbers: data, never code


def build_image_set(rows: Iterable[Mapping[str, Any]], root: DataRoot, size: int, level: int | None = None,
                    max_classes: int = 16, min_class_images: int = 2) -> ImageSet:
    """Load the first image of every listing with a category; skip and count the rest."""
    rows = list(rows)
    level = pick_level(r.get("category_path") for r in rows) if level is None else level
    skipped: Counter[str] = Counter({reason: 0 for reason in SKIP_REASONS})
    loaded: list[tuple[str, str, torch.Tensor]] = []
    for row in rows:
        category = category_of(row.get("category_path"), level)
        if category is None:
            skipped["no_category"] += 1
            continue
        images = [p for p in (row.get("images") or []) if p]
        pixels, problem = load_pixels(root, images[0], size) if images else (None, "missing")
        if pixels is None:
            skipped[problem] += 1
            continue
        loaded.append((row["listing_id"], category, pixels))
    frequency = Counter(category for _, category, _ in loaded)
    kept = [c for c, n in frequency.most_common() if n >= min_class_images][:max_classes]
    classes = sorted(kept)
    index = {c: i for i, c in enumerate(classes)}
    chosen = [item for item in loaded if item[1] in index]
    skipped["rare_category"] += len(loaded) - len(chosen)
    if skipped["missing"] or skipped["unreadable"]:
        log.warning("image set: skipped %d products without an image and %d with an unreadable one",
                    skipped["missing"], skipped["unreadable"])
    pixels = torch.stack([p for _, _, p in chosen]) if chosen else torch.zeros((0, 3, size, size), dtype=torch.uint8)
    return ImageSet(pixels=pixels, labels=torch.tensor([index[c] for _, c, _ in chosen], dtype=torch.long),
                    listing_ids=[i for i, _, _ in chosen], splits=[split_of(i) for i, _, _ in chosen],
                    classes=classes, level=level, skipped=dict(skipped))


class ImageDataModule(L.LightningDataModule):
    """The training split of an :class:`ImageSet` file, as shuffled batches of (uint8 pixels, labels)."""

    def __init__(self, path: str | Path, batch_size: int, num_workers: int = 0):
        super().__init__()
        self.path, self.batch_size, self.num_workers = Path(path), batch_size, num_workers
        self.train: TensorDataset | None = None

    def setup(self, stage: str | None = None) -> None:
        image_set = ImageSet.load(self.path)
        pixels, labels = image_set.subset("train")
        if len(labels) == 0:  # tiny snapshots: every image trains
            pixels, labels = image_set.pixels, image_set.labels
        self.train = TensorDataset(pixels, labels)

    def train_dataloader(self) -> DataLoader:
        assert self.train is not None
        # DDP gives each process its share of the images: drop a short last batch only where a whole one is left
        share = -(-len(self.train) // (self.trainer.world_size if self.trainer is not None else 1))
        return DataLoader(self.train, batch_size=self.batch_size, shuffle=True, num_workers=self.num_workers,
                          drop_last=share >= self.batch_size)
