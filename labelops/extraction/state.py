"""Embedded JSON state: the product object a front-end framework ships inside the page.

Shops built as single-page apps put their data in inline JSON: ``<script id="__NEXT_DATA__"
type="application/json">``, ``window.__INITIAL_STATE__ = {...}`` (also ``__PRELOADED_STATE__``,
``__APOLLO_STATE__``, ``__NUXT_DATA__``), a storefront's product JSON (``<script type="application/json"
data-product-json>``) and other ``application/json`` scripts. The JSON is parsed (never run) and
walked for the object that looks most like one product: a name or title, a price, an identifier.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import lxml.etree

from labelops.extraction.fields import LayerResult
from labelops.normalize import clean_code, clean_text, currency_code, normalize_availability, parse_gtin, parse_price

SOURCE = "state"
MAX_JSON_CHARS = 1_000_000
"""Characters of embedded JSON parsed on one page, at most."""
MAX_NODES = 20_000
"""Objects and lists walked in one page's state, at most."""

_XP_JSON_SCRIPTS = lxml.etree.XPath("//script[not(@src)][contains(@type, 'json') and not(contains(@type, 'ld+json'))]")
_XP_ASSIGNED = lxml.etree.XPath("//script[not(@src)][contains(text(), '__')]")
_ASSIGNMENT = re.compile(r"(?:window\.|self\.)?(__[A-Z_]+__)\s*=\s*")
_NAME_KEYS = ("name", "title", "productName", "product_name", "displayName")
_PRICE_KEYS = ("price", "salePrice", "sale_price", "finalPrice", "currentPrice", "current_price", "priceValue",
               "sellingPrice", "offerPrice", "amount")
_SKU_KEYS = ("sku", "productSku", "skuId", "productCode", "product_code", "articleNumber", "itemNumber", "mpn")
_GTIN_KEYS = ("gtin", "gtin13", "gtin12", "gtin14", "gtin8", "ean", "barcode", "upc")
_CURRENCY_KEYS = ("currency", "currencyCode", "priceCurrency", "currency_code")
_STOCK_KEYS = ("availability", "available", "inStock", "in_stock", "isInStock", "stockStatus", "is_in_stock")


def _walk(value: Any, budget: list[int], depth: int = 0, listed: bool = False) -> Iterator[tuple[dict, int, bool]]:
    """Every object in a JSON value, with its depth and whether it sits in a list."""
    if budget[0] <= 0 or depth > 40:
        return
    budget[0] -= 1
    if isinstance(value, dict):
        yield value, depth, listed
        for child in value.values():
            if isinstance(child, (dict, list)):
                yield from _walk(child, budget, depth + 1, listed)
    elif isinstance(value, list):
        for child in value[:500]:
            if isinstance(child, (dict, list)):
                yield from _walk(child, budget, depth + 1, True)


def _first(obj: dict, keys: tuple[str, ...]) -> Any:
    for key in keys:
        value = obj.get(key)
        if value not in (None, "", [], {}):
            return value
    return None


def _price(value: Any, obj: dict) -> tuple[str | None, str | None]:
    currency = _first(obj, _CURRENCY_KEYS)
    if isinstance(value, dict):  # {"amount": 12.5, "currency": "EUR"}, {"value": ...}
        currency = _first(value, _CURRENCY_KEYS) or currency
        value = _first(value, ("amount", "value", "current", "sale", "price", "formattedValue", "formatted"))
    if isinstance(value, (dict, list)) or isinstance(value, bool):
        return None, None
    cents = isinstance(value, int) and isinstance(obj.get("variants"), list) and "compare_at_price" in str(obj.get("variants"))[:2000]
    price, code = parse_price(value / 100 if cents else value, currency if isinstance(currency, str) else None)
    return price, code or (currency_code(currency) if isinstance(currency, str) else None)


_PRICE_KEY_SET = frozenset((*_PRICE_KEYS, "offers"))


def _score(obj: dict) -> int:
    if _PRICE_KEY_SET.isdisjoint(obj):
        return 0  # no price: not the product (and most objects stop here)
    score = 0
    if isinstance(_first(obj, _NAME_KEYS), str):
        score += 1
    if _first(obj, _PRICE_KEYS) is not None or isinstance(obj.get("offers"), (dict, list)):
        score += 2
    if _first(obj, _SKU_KEYS) is not None or _first(obj, _GTIN_KEYS) is not None:
        score += 1
    if "brand" in obj or "vendor" in obj:
        score += 1
    if _first(obj, _STOCK_KEYS) is not None:
        score += 1
    return score


def _texts(tree: lxml.etree._Element) -> Iterator[str]:
    total = 0
    for script in _XP_JSON_SCRIPTS(tree):
        text = (script.text or "").strip()
        if text[:1] in "{[" and total + len(text) <= MAX_JSON_CHARS:
            total += len(text)
            yield text
    for script in _XP_ASSIGNED(tree):
        text = script.text or ""
        for match in _ASSIGNMENT.finditer(text):
            rest = text[match.end():].lstrip()
            if rest[:1] in "{[" and total + len(rest) <= MAX_JSON_CHARS:
                total += len(rest)
                yield rest


def _parse(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        pass
    try:  # "{...};\n other code": the first JSON value
        return json.JSONDecoder().raw_decode(text)[0]
    except ValueError:
        return None


def product_object(tree: lxml.etree._Element) -> tuple[dict | None, bool]:
    """``(object, alone)``: the embedded object most like one product (the shallowest of the
    best scored), and whether it stands alone rather than in a list of products."""
    best: tuple[int, int, bool, dict] | None = None
    budget = [MAX_NODES]
    for text in _texts(tree):
        data = _parse(text)
        if data is None:
            continue
        for obj, depth, listed in _walk(data, budget):
            score = _score(obj)
            if score >= 3 and (best is None or (score, -depth, not listed) > best[:3]):
                best = (score, -depth, not listed, obj)
    return (best[3], best[2]) if best else (None, False)


def extract_state(tree: lxml.etree._Element, url: str, warnings: list[str]) -> LayerResult:
    """Fields of the page's embedded product object (an empty layer when there is none)."""
    obj, alone = product_object(tree)
    if obj is None:
        return LayerResult(SOURCE)
    fields: dict[str, Any] = {}
    name = _first(obj, _NAME_KEYS)
    if isinstance(name, str):
        fields["title"] = clean_text(name)
    raw_price = _first(obj, _PRICE_KEYS)
    offers = obj.get("offers")
    if raw_price is None and isinstance(offers, (dict, list)):
        offer = offers[0] if isinstance(offers, list) and offers else offers
        if isinstance(offer, dict):
            raw_price, obj = _first(offer, _PRICE_KEYS), {**obj, **offer}
    if raw_price is not None:
        price, currency = _price(raw_price, obj)
        if price and float(price) > 0:
            fields["price"] = price
        if currency:
            fields["currency"] = currency
    sku = _first(obj, _SKU_KEYS)
    if isinstance(sku, (str, int)) and not isinstance(sku, bool):
        fields["sku"] = clean_code(str(sku))
    gtin = _first(obj, _GTIN_KEYS)
    if isinstance(gtin, (str, int)) and not isinstance(gtin, bool) and (code := parse_gtin(str(gtin))):
        fields["gtin"] = code
    brand = obj.get("brand") or obj.get("vendor")
    if isinstance(brand, dict):
        brand = _first(brand, ("name", "title"))
    if isinstance(brand, str) and brand.strip():
        fields["brand"] = clean_text(brand)
    stock = _first(obj, _STOCK_KEYS)
    if isinstance(stock, bool):
        fields["availability"] = "InStock" if stock else "OutOfStock"
    elif isinstance(stock, str) and (status := normalize_availability(stock)):
        fields["availability"] = status
    fields = {k: v for k, v in fields.items() if v}
    # one product object, not one of a list, with a name, a price and an identifier or brand
    is_product = alone and {"title", "price"} <= set(fields) and bool({"sku", "gtin", "brand"} & set(fields))
    return LayerResult(SOURCE, fields, is_product=is_product)
