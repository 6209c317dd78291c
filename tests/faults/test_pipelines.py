"""Image bombs: a shop's image that declares a huge size is refused before it is decoded, and the
crawl summary says so."""

from __future__ import annotations

import io
import json
from pathlib import Path

from PIL import Image

from labelops import catalog
from labelops.ingest import IngestSummary
from labelops.settings import CrawlSettings
from labelops.shop import serve_folder
from labelops.storage import DataRoot
from spiders.runner import crawl

BOMB_SIDE = 11_000  # 121 Mpx, declared by a PNG of a few kilobytes


def png(size: tuple[int, int], mode: str = "RGB") -> bytes:
    buffer = io.BytesIO()
    Image.new(mode, size).save(buffer, format="PNG", optimize=True)
    return buffer.getvalue()


def product_page(n: int, image: str) -> str:
    data = {"@context": "https://schema.org", "@type": "Product", "name": f"Lamp {n}", "sku": f"L-{n}",
            "description": f"Lamp number {n}, a fine desk lamp of steel and glass.", "image": image,
            "offers": {"@type": "Offer", "price": f"{10 + n}.00", "priceCurrency": "EUR"}}
    return (f"<html><head><script type='application/ld+json'>{json.dumps(data)}</script></head>"
            f"<body><h1>Lamp {n}</h1></body></html>")


def shop(folder: Path) -> Path:
    (folder / "p").mkdir(parents=True)
    (folder / "img").mkdir()
    (folder / "img" / "bomb.png").write_bytes(png((BOMB_SIDE, BOMB_SIDE), "1"))
    for n in (1, 2):
        (folder / "img" / f"{n}.png").write_bytes(png((64, 64)))
    pages = {"1": "/img/1.png", "2": "/img/2.png", "3": "/img/bomb.png"}
    for n, image in pages.items():
        (folder / "p" / f"{n}.html").write_text(product_page(int(n), image))
    (folder / "index.html").write_text("".join(f"<a href='/p/{n}.html'>{n}</a>" for n in pages))
    return folder


def crawl_shop(tmp_path: Path, settings: CrawlSettings, crawl_id: str):  # noqa: ANN201
    root = DataRoot(str(tmp_path / "data"))
    with serve_folder(shop(tmp_path / crawl_id)) as base_url:
        report = crawl([base_url + "/"], root, settings, crawl_id=crawl_id)
    return root, report


def test_an_image_bomb_is_refused_and_counted(tmp_path):
    assert len(png((BOMB_SIDE, BOMB_SIDE), "1")) < 200_000
    settings = CrawlSettings(autothrottle=False, max_image_pixels=25_000_000)
    root, report = crawl_shop(tmp_path, settings, "bomb")
    assert report.product_pages == 3 and report.images_downloaded == 2
    assert report.images_too_large == 1 and report.images_failed == 1
    stored = [Image.open(Path(root.path("images")) / name) for name in root.listdir("images")]
    assert sorted(image.size for image in stored) == [(64, 64), (64, 64)]  # no 11,000² JPEG
    items = [json.loads(line) for line in Path(root.path(catalog.raw_items("bomb"))).read_text().splitlines()]
    bomb = next(item for item in items if item["title"] == "Lamp 3")
    assert bomb["images"] == [] and any("too large" in warning for warning in bomb["warnings"])
    summary = IngestSummary(data_root=root.url, crawl=report).to_markdown()
    assert "| images refused: too many pixels / over the crawl's budget | 1 / 0 |" in summary


def test_a_crawl_stops_decoding_images_past_its_pixel_budget(tmp_path):
    settings = CrawlSettings(autothrottle=False, concurrent_requests=1, max_image_pixels=25_000_000,
                             max_crawl_image_pixels=64 * 64 + 100)  # room for one small image
    _, report = crawl_shop(tmp_path, settings, "budget")
    assert report.images_downloaded == 1
    assert (report.images_too_large, report.images_over_budget) == (1, 1)


def test_training_data_does_not_decode_an_image_bomb_already_in_the_data_root(tmp_path):
    from labelops.imagegen.data import load_pixels

    root = DataRoot(str(tmp_path))
    with root.open("images/bomb.jpg", "wb") as handle:
        handle.write(png((BOMB_SIDE, BOMB_SIDE), "1"))
    with root.open("images/fine.jpg", "wb") as handle:
        handle.write(png((64, 64)))
    assert load_pixels(root, "images/bomb.jpg", 32) == (None, "unreadable")
    pixels, problem = load_pixels(root, "images/fine.jpg", 32)
    assert problem is None and tuple(pixels.shape) == (3, 32, 32)
