"""Product photos for the demo shop, drawn with Pillow.

Each category has its own simple silhouette and the product's colour is the fill, so an image
model can learn both from the pixels. A per-product seed jitters position, size and background,
and the same seed always gives the same pixels.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from pathlib import Path

from PIL import Image, ImageDraw

IMAGE_SIZE = 96
JPEG_QUALITY = 90
_SUPERSAMPLE = 3

RGB = tuple[int, int, int]
Box = tuple[float, float, float, float]
At = Callable[[float, float], tuple[float, float]]
"""Maps a point of the unit square (x, y in 0..1) to pixels, with the image's jitter applied."""
Shape = Callable[[ImageDraw.ImageDraw, At, int, RGB, RGB], None]
"""Draws a silhouette: ``(draw, at, line_width, fill, outline)``."""

COLOURS: dict[str, RGB] = {
    "black": (30, 30, 32),
    "white": (250, 250, 250),
    "grey": (128, 128, 132),
    "navy": (28, 40, 92),
    "blue": (40, 110, 210),
    "red": (200, 35, 40),
    "green": (40, 150, 70),
    "olive": (110, 115, 45),
    "yellow": (240, 200, 40),
    "orange": (240, 130, 30),
    "pink": (240, 140, 180),
    "purple": (120, 60, 160),
    "brown": (120, 75, 40),
    "beige": (215, 195, 155),
    "teal": (20, 140, 140),
}
"""Every colour name the demo catalog uses, with the RGB fill its images get."""


def _shade(rgb: RGB, factor: float) -> RGB:
    """A darker version of a colour (``factor`` < 1)."""
    return (int(rgb[0] * factor), int(rgb[1] * factor), int(rgb[2] * factor))


def _box(at: At, box: Box) -> Box:
    """A unit-square box in pixels."""
    x0, y0 = at(box[0], box[1])
    x1, y1 = at(box[2], box[3])
    return (x0, y0, x1, y1)


def _tshirt(draw: ImageDraw.ImageDraw, at: At, width: int, fill: RGB, outline: RGB) -> None:
    points = [
        (0.30, 0.12),
        (0.42, 0.12),
        (0.50, 0.20),
        (0.58, 0.12),
        (0.70, 0.12),
        (0.94, 0.34),
        (0.82, 0.46),
        (0.73, 0.38),
        (0.73, 0.90),
        (0.27, 0.90),
        (0.27, 0.38),
        (0.18, 0.46),
        (0.06, 0.34),
    ]
    draw.polygon([at(x, y) for x, y in points], fill=fill, outline=outline, width=width)


def _sneaker(draw: ImageDraw.ImageDraw, at: At, width: int, fill: RGB, outline: RGB) -> None:
    upper = [(0.08, 0.72), (0.10, 0.42), (0.30, 0.36), (0.36, 0.46), (0.62, 0.54), (0.86, 0.60), (0.94, 0.72)]
    draw.polygon([at(x, y) for x, y in upper], fill=fill, outline=outline, width=width)
    draw.rounded_rectangle(
        _box(at, (0.05, 0.70, 0.96, 0.82)), radius=width * 2, fill=(235, 235, 230), outline=outline, width=width
    )
    for i in range(3):
        x = 0.40 + i * 0.08
        draw.line([at(x, 0.47 + i * 0.02), at(x + 0.05, 0.44 + i * 0.02)], fill=outline, width=width)


def _mug(draw: ImageDraw.ImageDraw, at: At, width: int, fill: RGB, outline: RGB) -> None:
    draw.ellipse(_box(at, (0.55, 0.36, 0.88, 0.72)), outline=outline, width=width * 4)
    draw.ellipse(_box(at, (0.56, 0.37, 0.87, 0.71)), outline=fill, width=width * 2)
    draw.rounded_rectangle(
        _box(at, (0.18, 0.22, 0.68, 0.88)), radius=width * 3, fill=fill, outline=outline, width=width
    )
    draw.ellipse(_box(at, (0.18, 0.18, 0.68, 0.28)), fill=_shade(fill, 0.7), outline=outline, width=width)


def _lamp(draw: ImageDraw.ImageDraw, at: At, width: int, fill: RGB, outline: RGB) -> None:
    draw.rectangle(_box(at, (0.47, 0.42, 0.53, 0.82)), fill=(90, 90, 90))
    draw.ellipse(_box(at, (0.28, 0.78, 0.72, 0.90)), fill=(90, 90, 90), outline=outline, width=width)
    shade = [(0.32, 0.12), (0.68, 0.12), (0.84, 0.46), (0.16, 0.46)]
    draw.polygon([at(x, y) for x, y in shade], fill=fill, outline=outline, width=width)


def _backpack(draw: ImageDraw.ImageDraw, at: At, width: int, fill: RGB, outline: RGB) -> None:
    draw.arc(_box(at, (0.38, 0.06, 0.62, 0.30)), 180, 360, fill=outline, width=width * 2)
    draw.rounded_rectangle(
        _box(at, (0.22, 0.18, 0.78, 0.92)), radius=width * 6, fill=fill, outline=outline, width=width
    )
    draw.rounded_rectangle(
        _box(at, (0.32, 0.56, 0.68, 0.84)), radius=width * 3, fill=_shade(fill, 0.75), outline=outline, width=width
    )
    draw.line([at(0.32, 0.62), at(0.68, 0.62)], fill=outline, width=width)


def _watch(draw: ImageDraw.ImageDraw, at: At, width: int, fill: RGB, outline: RGB) -> None:
    draw.rectangle(_box(at, (0.38, 0.02, 0.62, 0.98)), fill=_shade(fill, 0.65), outline=outline, width=width)
    draw.ellipse(_box(at, (0.20, 0.22, 0.80, 0.78)), fill=fill, outline=outline, width=width)
    draw.ellipse(_box(at, (0.28, 0.30, 0.72, 0.70)), fill=(245, 245, 240), outline=outline, width=width)
    draw.line([at(0.50, 0.50), at(0.50, 0.35)], fill=(20, 20, 20), width=width * 2)
    draw.line([at(0.50, 0.50), at(0.62, 0.55)], fill=(20, 20, 20), width=width * 2)


def _chair(draw: ImageDraw.ImageDraw, at: At, width: int, fill: RGB, outline: RGB) -> None:
    for box in [(0.20, 0.06, 0.36, 0.56), (0.20, 0.56, 0.30, 0.94), (0.70, 0.56, 0.80, 0.94)]:
        draw.rectangle(_box(at, box), fill=fill, outline=outline, width=width)
    draw.rectangle(_box(at, (0.18, 0.48, 0.84, 0.62)), fill=fill, outline=outline, width=width)


def _headphones(draw: ImageDraw.ImageDraw, at: At, width: int, fill: RGB, outline: RGB) -> None:
    draw.arc(_box(at, (0.18, 0.12, 0.82, 0.80)), 180, 360, fill=outline, width=width * 4)
    draw.arc(_box(at, (0.19, 0.13, 0.81, 0.79)), 180, 360, fill=fill, width=width * 2)
    for box in [(0.10, 0.42, 0.32, 0.80), (0.68, 0.42, 0.90, 0.80)]:
        draw.rounded_rectangle(_box(at, box), radius=width * 4, fill=fill, outline=outline, width=width)


SHAPES: dict[str, Shape] = {
    "tshirt": _tshirt,
    "sneaker": _sneaker,
    "mug": _mug,
    "lamp": _lamp,
    "backpack": _backpack,
    "watch": _watch,
    "chair": _chair,
    "headphones": _headphones,
}
"""Silhouette drawers by shape name; the catalog maps each category to one of them."""


def draw_product(shape: str, colour: str, seed: str, size: int = IMAGE_SIZE) -> Image.Image:
    """Draw one product photo: the ``shape`` silhouette filled with ``colour`` on a light background."""
    rng = random.Random(seed)
    big = size * _SUPERSAMPLE
    grey = rng.randint(225, 245)
    background = (grey + rng.randint(-6, 6), grey, grey + rng.randint(-6, 6))
    image = Image.new("RGB", (big, big), background)
    scale = rng.uniform(0.82, 1.0)
    dx = rng.uniform(-0.06, 0.06) + (1 - scale) / 2
    dy = rng.uniform(-0.06, 0.06) + (1 - scale) / 2

    def at(x: float, y: float) -> tuple[float, float]:
        return ((dx + x * scale) * big, (dy + y * scale) * big)

    fill = COLOURS[colour]
    SHAPES[shape](
        ImageDraw.Draw(image), at, _SUPERSAMPLE, fill, _shade(fill, 0.45) if colour != "black" else (90, 90, 90)
    )
    return image.reduce(_SUPERSAMPLE)


def save_jpeg(image: Image.Image, path: Path, max_side: int = 800) -> None:
    """Write ``image`` as a plain RGB JPEG (fixed quality, no metadata), shrunk to ``max_side``."""
    image = image.convert("RGB")
    if max(image.size) > max_side:
        image.thumbnail((max_side, max_side), Image.Resampling.LANCZOS)
    path.parent.mkdir(parents=True, exist_ok=True)
    image.save(path, format="JPEG", quality=JPEG_QUALITY, optimize=False, progressive=False)
