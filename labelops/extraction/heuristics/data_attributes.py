"""Prices and product facts in ``data-*`` attributes of any element, not only price-named ones.

Shops hand their front-end code the product in attributes: ``<div class="product" data-price="1299.00"
data-currency="EUR">``, ``<button data-product-price="12.50">``, ``data-price-amount`` with a
``data-price-type``, ``data-final-price`` / ``data-sale-price`` beside ``data-regular-price``, and
analytics attributes holding JSON (``data-gtm='{"price": "12.50", "brand": "X", "sku": "A-1"}'``).

An attribute counts by its *name*, read as words: a name with "price" in it is a price; a name
that also says "regular", "old", "was", "list", "compare", "rrp"... (or ``data-price-type="oldPrice"``) is a price that is not the selling one, and counts against its
amount like a struck-through price (an attribute of a struck-through element is no selling
price, and the struck-through text already counts against it); "sale", "final", "special", "current"... count a little more;
names of ranges, filters, units, taxes and shipping ("data-price-min", "data-price-per-unit") are
not the product's price. Where the element sits counts as for a visible price: beside the title
and buy button, not in a related-products region. Candidates come as their own sources
(``page:data-price``, ``page:data-old-price``, ``page:data-json``) with features for the learned
chooser, so both the resolver and the chooser can weigh them. Nothing here knows a shop.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from decimal import Decimal

import lxml.etree

from labelops.extraction.fields import Candidate
from labelops.extraction.heuristics.brand import clean_brand
from labelops.extraction.heuristics.price import WINDOW, is_old
from labelops.extraction.numbers import read_amount
from labelops.extraction.page import Page
from labelops.normalize import clean_code, currency_code, parse_price

SOURCE = "page:data-price"
SOURCE_OLD = "page:data-old-price"
SOURCE_JSON = "page:data-json"
MAX_ELEMENTS = 400
"""Elements with such attributes looked at on one page, at most."""
MAX_JSON_CHARS = 20_000
"""Characters of one JSON attribute parsed, at most."""
OLD_WEIGHT = -2.0
"""Evidence against an amount named only as a regular/old price in attributes."""

_MAYBE = re.compile(rb"data-[\w-]*(?:price|Price|gtm|product|analytics|track|ecommerce|layer)[\w-]*\s*=")
_XP_ELEMENTS = lxml.etree.XPath(
    "//body//*[@*[starts-with(name(), 'data-') and (contains(name(), 'price') or contains(name(), 'Price')"
    " or starts-with(normalize-space(.), '{'))]]"
)
_WORD = re.compile(r"[a-z]+")
_OLD_WORDS = frozenset({"regular", "old", "was", "list", "original", "compare", "compareat", "rrp", "msrp", "uvp",
                        "before", "strike", "strikethrough", "crossed", "retail", "reference", "initial", "full"})
_CURRENT_WORDS = frozenset({"sale", "final", "special", "current", "selling", "offer", "actual", "now", "promo",
                            "discounted", "net"})
_NOT_PRICE_WORDS = frozenset({"min", "max", "from", "to", "range", "filter", "per", "unit", "units", "tax", "excl",
                              "shipping", "delivery", "type", "id", "label", "text", "step", "diff", "discount", "save",
                              "saving", "savings", "percent", "percentage", "count", "qty", "quantity", "currency",
                              "format", "template", "mode", "display", "slider", "sort", "group", "monthly",
                              "installment", "instalment", "deposit", "total", "cart"})
_CURRENCY_ATTRIBUTES = ("data-currency", "data-price-currency", "data-currency-code", "data-currency-iso",
                        "data-product-currency")
_JSON_KEYS = {
    "price": ("price", "productPrice", "product_price", "item_price", "salePrice", "sale_price", "finalPrice",
              "final_price", "unitPrice"),
    "brand": ("brand", "item_brand", "itemBrand", "productBrand", "product_brand", "brandName", "brand_name", "vendor"),
    "sku": ("sku", "productSku", "product_sku", "item_sku", "skuId"),
    "currency": ("currency", "currencyCode", "currency_code", "priceCurrency"),
}


def _words(name: str) -> list[str]:
    """``data-product-finalPrice`` → ``["product", "final", "price"]``."""
    spaced = re.sub(r"(?<=[a-z])(?=[A-Z])", " ", name[5:])
    return _WORD.findall(spaced.lower())


def price_kind(name: str) -> str | None:
    """``"current"``, ``"old"``, ``"price"`` (plain) or ``None`` (no price of the product) for a
    ``data-*`` attribute name."""
    words = _words(name)
    if "price" not in words and "prices" not in words:
        return None
    if _NOT_PRICE_WORDS.intersection(words):
        return None
    if _OLD_WORDS.intersection(words):
        return "old"
    if _CURRENT_WORDS.intersection(words):
        return "current"
    return "price"


def _currency(element: lxml.etree._Element) -> str | None:
    node: lxml.etree._Element | None = element
    for _ in range(4):
        if node is None:
            return None
        for name in _CURRENCY_ATTRIBUTES:
            value = (node.get(name) or "").strip()
            if value and (code := currency_code(value.upper())):
                return code
        node = node.getparent()
    return None


def _json_facts(text: str) -> dict[str, str]:
    """Price, brand, sku and currency of the first object in an analytics JSON attribute that has one."""
    if len(text) > MAX_JSON_CHARS:
        return {}
    try:
        data = json.loads(text)
    except ValueError:
        return {}
    found: dict[str, str] = {}
    stack, budget = [data], 200
    while stack and budget:
        budget -= 1
        value = stack.pop(0)
        if isinstance(value, list):
            stack.extend(value[:20])
            continue
        if not isinstance(value, dict):
            continue
        for field, keys in _JSON_KEYS.items():
            if field in found:
                continue
            raw = next((value[k] for k in keys if value.get(k) not in (None, "", [], {})), None)
            if isinstance(raw, dict) and field == "brand":
                raw = raw.get("name")
            if isinstance(raw, bool) or not isinstance(raw, (str, int, float)):
                continue
            text_value = str(raw).strip()
            if field == "price":
                price, _ = parse_price(text_value) if re.fullmatch(r"\d{1,9}(?:\.\d{1,4})?", text_value) else (None, None)
                if price is not None and Decimal(price) > 0:
                    found[field] = price
            elif field == "currency":
                if code := currency_code(text_value.upper()):
                    found[field] = code
            elif field == "brand":
                if text_value.lower() not in ("null", "undefined", "none", "") and (brand := clean_brand(text_value)):
                    found[field] = brand
            elif field == "sku" and text_value and " " not in text_value:
                found[field] = clean_code(text_value)
        stack.extend(v for v in value.values() if isinstance(v, (dict, list)))
    return found


def data_attribute_candidates(page: Page) -> list[Candidate]:
    """Price (and currency) candidates from price-named ``data-*`` attributes, evidence against
    amounts they name only as regular/old prices, and price/brand/sku/currency from analytics
    JSON attributes; elements outside the product's neighbourhood or in side regions are left out."""
    if page.source and not _MAYBE.search(page.source):
        return []  # (a quick look at the raw page spares a search of the tree)
    low, high = page.window(WINDOW)
    current: dict[Decimal, tuple[float, dict[str, float], str | None]] = {}
    old: set[Decimal] = set()
    json_counts: dict[str, Counter[str]] = {field: Counter() for field in _JSON_KEYS}
    for n, element in enumerate(_XP_ELEMENTS(page.tree)):
        if n >= MAX_ELEMENTS:
            break
        position = page.index.get(element)
        if position is None or not low <= position <= high or page.in_side_region(element):
            continue
        distance = page.anchor_distance(element)
        near = 1.0 - min(distance if distance is not None else 24, 24) / 24
        price_type = (element.get("data-price-type") or "").lower()
        struck = None
        for name, value in element.attrib.items():
            if not name.startswith("data-"):
                continue
            value = value.strip()
            if value.startswith("{"):
                for field, found in _json_facts(value).items():
                    json_counts[field][found] += 1
                continue
            kind = price_kind(name)
            if kind is None or not value or len(value) > 20 or not any(c.isdigit() for c in value):
                continue
            code = _currency(element)
            amount = read_amount(value, ".", code)
            if amount is None or amount <= 0:
                continue
            if kind == "old" or any(w in price_type for w in ("old", "regular", "list", "base")):
                old.add(amount)
                continue
            if struck is None:
                struck = is_old(page, element)
            if struck:
                continue  # struck through: the visible price already counts against it
            weight = (1.5 if kind == "current" else 1.0) * (0.5 if distance is not None and distance > 16 else 1.0)
            features = {"dp_near": near, "dp_sale": float(kind == "current")}
            if amount not in current or weight > current[amount][0]:
                current[amount] = (weight, features, code)
    found: list[Candidate] = []
    crowd = 0.5 if len(current) > 3 else 1.0  # many different amounts: a list of products, not one
    for amount, (weight, features, code) in current.items():
        value, _ = parse_price(amount)
        found.append(Candidate("price", value, weight * crowd, SOURCE, features))
    if current:
        best = max(current.values(), key=lambda item: item[0])
        if best[2]:
            found.append(Candidate("currency", best[2], 1.0, SOURCE))
    for amount in old - set(current):
        value, _ = parse_price(amount)
        found.append(Candidate("price", value, OLD_WEIGHT, SOURCE_OLD, {"dp_old": 1.0}))
    for field, counter in json_counts.items():
        if not counter:
            continue
        (value, count), *rest = counter.most_common(2)
        if rest and rest[0][1] == count:
            continue  # a tie says nothing about which one is the page's product
        found.append(Candidate(field, value, 1.0, SOURCE_JSON))
    return found
