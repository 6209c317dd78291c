"""Analytics data layers and state objects in inline scripts: ``"currency": "EUR"``,
``"item_brand": "Bosch"``, ``"sku": "A-12"``, ``"price": 19.99``.

Shops feed the product to their analytics and front-end code (Google Analytics e-commerce,
``dataLayer`` pushes, JS state) with the same few keys everywhere. The values are read with plain
patterns, not by running the scripts; they are weak evidence (a data layer may also list other
products), counted by how often each value appears.
"""

from __future__ import annotations

import re
from collections import Counter

import lxml.etree

from labelops.extraction.fields import Candidate
from labelops.extraction.heuristics.brand import clean_brand
from labelops.normalize import clean_code, currency_code, normalize_availability, parse_price

SOURCE = "page:script"
MAX_SCRIPT_CHARS = 400_000
"""Characters read from one inline script."""
MAX_TOTAL_CHARS = 2_000_000
"""Characters read from all inline scripts of a page."""

_XP_SCRIPTS = lxml.etree.XPath("//script[not(@src)]")
_KEYS = {
    "currency": ("currency", "currencyCode", "currency_code", "priceCurrency", "currencyIso", "currencyId"),
    "brand": ("brand", "item_brand", "itemBrand", "productBrand", "product_brand", "brand_name", "brandName"),
    "sku": ("sku", "productSku", "product_sku", "item_sku", "skuId", "sku_id"),
    "price": ("price", "productPrice", "product_price", "item_price", "salePrice", "sale_price", "finalPrice",
              "final_price"),
    "availability": ("availability", "stockStatus", "stock_status", "inStock", "in_stock", "isInStock", "is_in_stock"),
}
_FIELD_OF_KEY = {key.lower(): field for field, keys in _KEYS.items() for key in keys}
_SPELLINGS = {spelling for keys in _KEYS.values() for k in keys for spelling in (k, k[0].upper() + k[1:], k.upper())}
# one pass over each script: a known key, a quote or not, ``:`` or ``=``, then the value.
# (Case-sensitive with the usual spellings listed: an IGNORECASE pattern is 20 times slower.)
_PAIR = re.compile(
    "(" + "|".join(sorted(_SPELLINGS, key=len, reverse=True)) + ")"
    + r"""["']?\s*[:=]\s*(?:"([^"\\<>{}\[\]\n]{1,80})"|'([^'\\<>{}\[\]\n]{1,80})'|(\d{1,9}(?:\.\d{1,4})?(?![\d,])|true|false))""",
)
_NUMBER = re.compile(r"^\s*\d{1,9}(?:\.\d{1,4})?\s*$")
_WEIGHTS = {"currency": 1.5, "brand": 1.0, "sku": 1.0, "price": 0.75, "availability": 1.0}


def script_texts(tree: lxml.etree._Element) -> list[str]:
    """Inline scripts other than JSON-LD, each cut to :data:`MAX_SCRIPT_CHARS`, at most
    :data:`MAX_TOTAL_CHARS` in all."""
    texts: list[str] = []
    total = 0
    for script in _XP_SCRIPTS(tree):
        kind = (script.get("type") or "").lower()
        if "ld+json" in kind or "template" in kind or not script.text:
            continue
        text = script.text[:MAX_SCRIPT_CHARS]
        texts.append(text)
        total += len(text)
        if total >= MAX_TOTAL_CHARS:
            break
    return texts


def _normal(field: str, raw: str) -> str | None:
    if field == "currency":
        return currency_code(raw.upper())
    if field == "brand":
        value = raw.strip()
        return clean_brand(value) if value.lower() not in ("null", "undefined", "none", "false", "true") else None
    if field == "sku":
        return clean_code(raw) if " " not in raw.strip() else None
    if field == "price":
        price, _ = parse_price(raw)
        return price if price is not None and float(price) > 0 else None
    if field == "availability":
        if raw in ("true", "false"):
            return "InStock" if raw == "true" else "OutOfStock"
        return normalize_availability(raw)
    return None


def extract_scripts(tree: lxml.etree._Element) -> list[Candidate]:
    """The most frequent value of each field in the page's inline scripts, as weak candidates."""
    counts: dict[str, Counter[str]] = {field: Counter() for field in _KEYS}
    for text in script_texts(tree):
        for match in _PAIR.finditer(text):
            start = match.start()
            if start and (text[start - 1].isalnum() or text[start - 1] in "_$."):
                continue  # "productPrice" is a key; "oldproductPrice" and "filter.brand" are not ours
            field = _FIELD_OF_KEY[match.group(1).lower()]
            quoted = match.group(2) if match.group(2) is not None else match.group(3)
            raw = quoted if quoted is not None else match.group(4)
            if field == "price" and quoted is not None and not _NUMBER.match(quoted):
                continue
            value = _normal(field, raw)
            if value:
                counts[field][value] += 1
    found: list[Candidate] = []
    for field, counter in counts.items():
        if not counter:
            continue
        (value, count), *rest = counter.most_common(2)
        if rest and rest[0][1] == count and field != "currency":
            continue  # a tie says nothing about which one is the page's product
        weight = _WEIGHTS[field] * (1.25 if count > 1 else 1.0)
        found.append(Candidate(field, value, weight, SOURCE))
    return found
