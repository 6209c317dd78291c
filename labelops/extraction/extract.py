"""``extract_product``: one page in, one :class:`~labelops.contracts.ExtractedProduct` out.

The page is parsed once; each layer reads the same tree; the layers are merged field by field in
precedence order (JSON-LD > microdata > RDFa > site profile > OpenGraph).
"""

from __future__ import annotations

from typing import Any

from labelops.contracts import ExtractedProduct
from labelops.extraction.document import MAX_HTML_BYTES, canonical_url, parse_html
from labelops.extraction.fields import LayerResult, is_empty
from labelops.extraction.jsonld import extract_jsonld
from labelops.extraction.microdata import extract_microdata
from labelops.extraction.opengraph import extract_opengraph
from labelops.extraction.profile import SiteProfiles
from labelops.extraction.rdfa import extract_rdfa

_SCALAR_FIELDS = (
    "title", "description", "price", "currency", "sku", "gtin", "mpn", "brand", "availability",
    "rating", "review_count", "category_path", "image_urls",
)


def merge(layers: list[LayerResult]) -> dict[str, Any]:
    """Fields from layers given best first: each field from the first layer that has it;
    ``attributes`` merged key by key (a better layer wins a key); ``sources`` lists contributors."""
    merged: dict[str, Any] = {}
    contributed: set[str] = set()
    for name in _SCALAR_FIELDS:
        for layer in layers:
            value = layer.fields.get(name)
            if not is_empty(value):
                merged[name] = value
                contributed.add(layer.source)
                break
    attributes: dict[str, str] = {}
    for layer in reversed(layers):
        if layer.fields.get("attributes"):
            attributes.update(layer.fields["attributes"])
    for layer in layers:
        if layer.fields.get("attributes"):
            contributed.add(layer.source)
    merged["attributes"] = attributes
    merged["sources"] = [layer.source for layer in layers if layer.source in contributed]
    return merged


def extract_product(
    html: str | bytes,
    url: str,
    *,
    profiles: SiteProfiles | None = None,
    max_bytes: int = MAX_HTML_BYTES,
) -> ExtractedProduct | None:
    """The product on a page, or ``None`` when it is not a product page. Never raises on bad input.

    A page is a product page when JSON-LD, microdata or RDFa describe a Product, when
    ``og:type`` is product, or when a site profile recognises it (``profiles`` defaults to the
    profiles shipped with labelops). Problems met on the way (a malformed JSON-LD block, a cut
    page) are listed in ``warnings``.
    """
    tree, warnings = parse_html(html, max_bytes)
    if tree is None:
        return None
    profiles = SiteProfiles.builtin() if profiles is None else profiles
    layers = [
        extract_jsonld(tree, url, warnings),
        extract_microdata(tree, url, warnings),
        extract_rdfa(tree, url, warnings),
        profiles.extract(tree, url, warnings),
        extract_opengraph(tree, url, warnings),
    ]
    if not any(layer.is_product for layer in layers):
        return None
    fields = merge(layers)
    return ExtractedProduct(**fields, canonical_url=canonical_url(tree, url), warnings=warnings)
