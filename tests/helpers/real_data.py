"""Listing-shaped rows of the real data sets beside the project (``LABELOPS_SHARED_DATA``), read
straight from their files (no crawl), for tests and benchmarks of text and fact checking.

- ``demo``: the demo catalog (500 products), always available;
- ``flipkart``: ``flipkart/products.csv`` (1,050 products, INR);
- ``books``: ``books-toscrape/reference.json`` (1,000 books, GBP; the site's teaser and "...more"
  kept in the description, as the shop publishes it);
- ``advertisegen``: ``zh/advertisegen-dev.jsonl`` (Chinese attributes → ad copy).

Each row has ``listing_id`` (a hash of the data set and the row), ``title``, ``description``,
``brand``, ``category_path``, ``price``, ``currency``, ``sku`` and ``attributes``.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

DATASETS = ("demo", "flipkart", "books", "advertisegen")


def shared_data() -> Path | None:
    value = os.environ.get("LABELOPS_SHARED_DATA")
    return Path(value) if value else None


def _id(*parts: str) -> str:
    return hashlib.sha256("\x00".join(parts).encode()).hexdigest()[:16]


def demo_rows(count: int = 500) -> list[dict[str, Any]]:
    from tests.helpers.listings import demo_listings

    return [listing.model_dump(mode="json") for listing in demo_listings(count)]


def flipkart_rows(base: Path) -> list[dict[str, Any]]:
    from labelops.shop.real import load_flipkart_csv

    return [{"listing_id": _id("flipkart", p.slug), "title": p.title, "description": p.description, "brand": p.brand,
             "category_path": list(p.category_path), "price": p.price, "currency": p.currency, "sku": p.sku,
             "attributes": dict(p.attributes)} for p in load_flipkart_csv(base / "flipkart" / "products.csv")]


def books_rows(base: Path) -> list[dict[str, Any]]:
    data = json.loads((base / "books-toscrape" / "reference.json").read_text(encoding="utf-8"))
    categories = {c["id"]: c for c in data["categories"]}
    rows = []
    for product in data["products"]:
        path, category = [], categories.get(product.get("category_id"))
        while category is not None and len(path) < 5:
            path.insert(0, category["name"])
            category = categories.get(category.get("parent"))
        attributes = {str(k): str(v) for k, v in (product.get("properties") or {}).items() if v not in (None, "")}
        rows.append({"listing_id": _id("books", str(product["id"])), "title": product["name"],
                     "description": product.get("description") or "", "brand": None, "category_path": path,
                     "price": str(product.get("price")) if product.get("price") is not None else None,
                     "currency": "GBP", "sku": attributes.get("UPC"), "attributes": attributes})
    return rows


def advertisegen_attributes(content: str) -> dict[str, str]:
    """AdvertiseGen's ``key#value*key#value`` as attributes; a repeated key's values joined by 、."""
    attributes: dict[str, str] = {}
    for pair in content.split("*"):
        key, _, value = pair.partition("#")
        if key and value:
            attributes[key] = f"{attributes[key]}、{value}" if key in attributes else value
    return attributes


def advertisegen_rows(base: Path, limit: int | None = None) -> list[dict[str, Any]]:
    rows = []
    lines = (base / "zh" / "advertisegen-dev.jsonl").read_text(encoding="utf-8").splitlines()
    for line in lines[:limit]:
        record = json.loads(line)
        attributes = advertisegen_attributes(record["content"])
        rows.append({"listing_id": _id("advertisegen", record["content"]), "title": attributes.get("类型"),
                     "description": record["summary"], "brand": None, "category_path": [], "price": None,
                     "currency": None, "sku": None, "attributes": attributes})
    return rows


def dataset_rows(name: str) -> list[dict[str, Any]]:
    """The rows of data set ``name``; a real one needs ``LABELOPS_SHARED_DATA`` (KeyError/LookupError otherwise)."""
    if name == "demo":
        return demo_rows()
    base = shared_data()
    if base is None:
        raise LookupError(f"data set {name} needs LABELOPS_SHARED_DATA")
    loaders = {"flipkart": flipkart_rows, "books": books_rows, "advertisegen": advertisegen_rows}
    return loaders[name](base)
