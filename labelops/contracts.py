"""Typed contracts at the boundaries: what the spider yields and what a listing is.

``RawItem`` is one product page as the spider saw it (extraction output plus crawl facts);
``Listing`` is one validated-shape row of the listings table. ``LISTING_SCHEMA`` is the Arrow
schema of the table; ``QUARANTINE_SCHEMA`` adds the broken expectations.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

import pyarrow as pa
from pydantic import BaseModel, ConfigDict, Field

Availability = Literal["InStock", "OutOfStock"]


class ExtractedProduct(BaseModel):
    """What the extraction function finds on one product page. Missing fields stay ``None``.

    ``price`` is a plain decimal string ("1299.00"), ``currency`` an ISO 4217 code and
    ``availability`` ``InStock``/``OutOfStock``, the conventions of the extraction benchmark.
    """

    model_config = ConfigDict(extra="forbid")

    title: str | None = None
    description: str | None = None
    price: str | None = None
    currency: str | None = None
    sku: str | None = None
    gtin: str | None = None
    mpn: str | None = None
    brand: str | None = None
    availability: Availability | None = None
    category_path: list[str] = Field(default_factory=list)
    rating: float | None = None
    review_count: int | None = None
    attributes: dict[str, str] = Field(default_factory=dict)
    image_urls: list[str] = Field(default_factory=list)
    canonical_url: str | None = None
    sources: list[str] = Field(default_factory=list, description="layers that contributed: json-ld, microdata, profile:...")
    warnings: list[str] = Field(default_factory=list, description="problems met while extracting, e.g. malformed JSON-LD")


class RawItem(ExtractedProduct):
    """One product page as the spider wrote it to ``raw/<crawl_id>/items.jsonl``."""

    url: str
    source: str
    crawled_at: datetime
    raw_hash: str
    images: list[str] = Field(default_factory=list, description="downloaded images, relative to the data root")


class Listing(BaseModel):
    """One row of the listings table."""

    model_config = ConfigDict(extra="forbid")

    listing_id: str
    url: str
    source: str
    crawled_at: datetime
    title: str | None = None
    description: str | None = None
    price: str | None = None
    currency: str | None = None
    sku: str | None = None
    gtin: str | None = None
    mpn: str | None = None
    brand: str | None = None
    availability: Availability | None = None
    category_path: list[str] = Field(default_factory=list)
    rating: float | None = None
    review_count: int | None = None
    attributes: dict[str, str] = Field(default_factory=dict)
    image_urls: list[str] = Field(default_factory=list)
    images: list[str] = Field(default_factory=list)
    raw_hash: str


LISTING_SCHEMA = pa.schema(
    [
        pa.field("listing_id", pa.string(), nullable=False),
        pa.field("url", pa.string(), nullable=False),
        pa.field("source", pa.string(), nullable=False),
        pa.field("crawled_at", pa.timestamp("us", tz="UTC"), nullable=False),
        pa.field("title", pa.string()),
        pa.field("description", pa.string()),
        pa.field("price", pa.string()),
        pa.field("currency", pa.string()),
        pa.field("sku", pa.string()),
        pa.field("gtin", pa.string()),
        pa.field("mpn", pa.string()),
        pa.field("brand", pa.string()),
        pa.field("availability", pa.string()),
        pa.field("category_path", pa.list_(pa.string())),
        pa.field("rating", pa.float64()),
        pa.field("review_count", pa.int64()),
        pa.field("attributes", pa.map_(pa.string(), pa.string())),
        pa.field("image_urls", pa.list_(pa.string())),
        pa.field("images", pa.list_(pa.string())),
        pa.field("raw_hash", pa.string(), nullable=False),
    ]
)

QUARANTINE_SCHEMA = LISTING_SCHEMA.append(pa.field("failed_expectations", pa.list_(pa.string()), nullable=False))

LISTING_COLUMNS: list[str] = LISTING_SCHEMA.names
