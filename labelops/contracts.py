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

from labelops.arrow_schema import arrow_schema

Availability = Literal["InStock", "OutOfStock"]


class ProductFields(BaseModel):
    """What a shop says of a product: the fields a page, a catalog line and a listing share.
    Missing fields stay ``None`` (or empty).

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


class ExtractedProduct(ProductFields):
    """What the extraction function finds on one product page."""

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


class _ListingKey(BaseModel):
    listing_id: str
    url: str
    source: str
    crawled_at: datetime


class Listing(ProductFields, _ListingKey):
    """One row of the listings table: where and when it was seen, then the product's fields."""

    images: list[str] = Field(default_factory=list)
    raw_hash: str


LISTING_SCHEMA = arrow_schema(Listing, not_null=("listing_id", "url", "source", "crawled_at", "raw_hash"))
"""The listings table's Arrow schema (from :class:`Listing`)."""

QUARANTINE_SCHEMA = LISTING_SCHEMA.append(pa.field("failed_expectations", pa.list_(pa.string()), nullable=False))

LISTING_COLUMNS: list[str] = LISTING_SCHEMA.names
