"""Listings for tests that need a snapshot without crawling: the demo catalog as Listing rows."""

from __future__ import annotations

from datetime import datetime, timezone

from labelops.contracts import Listing
from labelops.normalize import listing_id, listings_to_arrow
from labelops.shop import demo_products
from labelops.snapshot import publish_table
from labelops.storage import DataRoot


def demo_listings(count: int, seed: int = 0) -> list[Listing]:
    listings = []
    for product in demo_products(count, seed):
        if product.defect:
            continue
        url = f"http://demo.test{product.url}"
        listings.append(Listing(
            listing_id=listing_id(url), url=url, source="demo.test", crawled_at=datetime(2026, 1, 1, tzinfo=timezone.utc),
            title=product.title, description=product.description, price=product.price, currency=product.currency,
            sku=product.sku, gtin=product.gtin, brand=product.brand, availability=product.availability,
            category_path=list(product.category_path), rating=product.rating, review_count=product.review_count,
            attributes=product.attributes, image_urls=[], images=[], raw_hash=product.slug,
        ))
    return listings


def publish_demo_snapshot(root: DataRoot, count: int, seed: int = 0) -> str:
    return publish_table(root, listings_to_arrow(demo_listings(count, seed)), {"source": "tests"})
