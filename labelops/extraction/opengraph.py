"""OpenGraph layer: ``<meta property="og:...">`` and ``product:...`` tags in the page head.

The weakest layer: it marks a product page only when ``og:type`` says product, and fills
gaps (title, price, image...) the richer layers leave.
"""

from __future__ import annotations

import lxml.etree
from extruct.opengraph import OpenGraphExtractor

from labelops.extraction.document import absolute_urls
from labelops.extraction.fields import LayerResult, compact
from labelops.normalize import clean_code, clean_text, normalize_availability, parse_gtin, parse_price

SOURCE = "opengraph"
PRODUCT_OG_TYPES = frozenset({"product", "product.item", "product.group", "og:product"})

_extractor = OpenGraphExtractor()


def og_properties(tree: lxml.etree._Element) -> dict[str, list[str]]:
    """All OpenGraph properties of a page, each with its values in page order."""
    props: dict[str, list[str]] = {}
    for item in _extractor.extract_items(tree):
        for name, value in item["properties"]:
            if value and value.strip():
                props.setdefault(name.strip().lower(), []).append(value.strip())
    return props


def extract_opengraph(tree: lxml.etree._Element, url: str, warnings: list[str]) -> LayerResult:
    """Product fields from OpenGraph tags."""
    try:
        props = og_properties(tree)
    except Exception as exc:
        warnings.append(f"{SOURCE}: cannot read ({type(exc).__name__})")
        return LayerResult(SOURCE)
    if not props:
        return LayerResult(SOURCE)

    def get(*names: str) -> str | None:
        return next((props[n][0] for n in names if n in props), None)

    price, currency = parse_price(
        get("product:price:amount", "og:price:amount", "product:sale_price:amount", "og:price", "product:price"),
        get("product:price:currency", "og:price:currency", "product:sale_price:currency"),
    )
    fields = {
        "title": clean_text(get("og:title")),
        "description": clean_text(get("og:description")),
        "price": price,
        "currency": currency if price else None,
        "availability": normalize_availability(get("product:availability", "og:availability")),
        "brand": clean_text(get("product:brand", "og:brand")),
        "sku": clean_code(get("product:retailer_item_id", "product:sku")),
        "mpn": clean_code(get("product:mfr_part_no")),
        "gtin": parse_gtin(get("product:gtin", "product:ean", "product:upc", "product:isbn", "books:isbn")),
        "image_urls": absolute_urls(props.get("og:image", []) + props.get("og:image:url", []) + props.get("og:image:secure_url", []), url),
    }
    og_type = (get("og:type") or "").strip().lower()
    return LayerResult(SOURCE, compact(fields), is_product=og_type in PRODUCT_OG_TYPES)
