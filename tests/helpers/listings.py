"""Listings for tests that need a snapshot without crawling: the demo catalog as Listing rows."""

from __future__ import annotations

import hashlib
from datetime import datetime, timezone

from labelops.contracts import Listing
from labelops.normalize import listing_id, listings_to_arrow
from labelops.shop import demo_products
from labelops.shop.catalog import demo_image_maker
from labelops.snapshot import publish_table
from labelops.storage import DataRoot


def demo_listings(count: int, seed: int = 0, images_root: DataRoot | None = None) -> list[Listing]:
    """The demo catalog's good products; with ``images_root``, their photos saved there as a crawl would."""
    draw = demo_image_maker(seed) if images_root is not None else None
    listings = []
    for product in demo_products(count, seed):
        if product.defect:
            continue
        url = f"http://demo.test{product.url}"
        images: list[str] = []
        if draw is not None:
            images.append(f"images/{hashlib.sha1(url.encode()).hexdigest()}.jpg")  # noqa: S324 - a name
            with images_root.open(images[0], "wb") as handle:
                draw(product).save(handle, format="JPEG", quality=90)
        listings.append(Listing(
            listing_id=listing_id(url), url=url, source="demo.test", crawled_at=datetime(2026, 1, 1, tzinfo=timezone.utc),
            title=product.title, description=product.description, price=product.price, currency=product.currency,
            sku=product.sku, gtin=product.gtin, brand=product.brand, availability=product.availability,
            category_path=list(product.category_path), rating=product.rating, review_count=product.review_count,
            attributes=product.attributes, image_urls=[f"{url}.jpg"] if images else [], images=images,
            raw_hash=product.slug,
        ))
    return listings


def publish_demo_snapshot(root: DataRoot, count: int, seed: int = 0, images: bool = False) -> str:
    """A snapshot of the demo catalog (with its photos under ``images/`` when ``images``)."""
    listings = demo_listings(count, seed, images_root=root if images else None)
    return publish_table(root, listings_to_arrow(listings), {"source": "tests"})
