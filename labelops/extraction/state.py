"""Embedded JSON state: the product object a front-end framework ships inside the page.

Shops built as single-page apps put their data in inline JSON: ``<script id="__NEXT_DATA__"
type="application/json">``, ``window.__INITIAL_STATE__ = {...}`` (also ``__PRELOADED_STATE__``,
``__APOLLO_STATE__``, ``__NUXT_DATA__``), a storefront's product JSON (``<script type="application/json"
data-product-json>``) and other ``application/json`` scripts. The JSON is parsed (never run) and
walked for the object that looks most like one product: a name or title, a price, an identifier.
JavaScript assignments of JSON object literals are read too (``var meta = {"product": ...}``,
``ShopifyAnalytics.meta = {...}``); a product whose price sits only in its ``variants`` takes the
first variant's.

Storefront product JSON often writes prices as integer minor units (``"price": 129900`` for
1299.00). Whether an integer is units or cents is decided by evidence, never by the page's
address: a decimal amount elsewhere in the same object means units; for a currency without
minor units (CLDR via Babel) an amount that is no multiple of 100 cannot be cents; otherwise the
object's shape (``compare_at_price``, ``price_min``/``price_max``: a storefront product schema whose
prices are minor units) makes cents the first reading. Both readings are kept
(``price_readings``) and :func:`settle_price` lets the page decide: the reading the page shows
as an amount wins.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import lxml.etree

from labelops.extraction.fields import Candidate, LayerResult
from labelops.extraction.numbers import minor_digits
from labelops.normalize import clean_code, clean_text, currency_code, normalize_availability, parse_gtin, parse_price

SOURCE = "state"
MAX_JSON_CHARS = 1_000_000
"""Characters of embedded JSON parsed on one page, at most."""
MAX_NODES = 20_000
"""Objects and lists walked in one page's state, at most."""

_XP_JSON_SCRIPTS = lxml.etree.XPath("//script[not(@src)][contains(@type, 'json') and not(contains(@type, 'ld+json'))]")
_XP_ASSIGNED = lxml.etree.XPath("//script[not(@src)][contains(text(), '__')]")
_ASSIGNMENT = re.compile(r"(?:window\.|self\.)?(__[A-Z_]+__)\s*=\s*")
_XP_JSON_ASSIGNED = lxml.etree.XPath("//script[not(@src)][contains(text(), '={\"') or contains(text(), '= {\"')]")
_PRODUCT_NAME = r"(?:meta|[A-Za-z_$]*(?:product|Product)[\w$]*)"
_JSON_ASSIGNMENT = re.compile(r"(?:\b(?:var|let|const)\s+|\b[A-Za-z_$][\w$]*(?:\.[A-Za-z_$][\w$]*)*\.)" + _PRODUCT_NAME
                              + r"\s*=\s*(?=\{\s*\")")
"""``var meta = {"...``, ``a.b.meta = {"...``, ``window.productData = {"...``: a JSON object literal assigned
to a variable named for the product or the page's meta data (an analytics payload or a config is
not read: its values are counted by the data-layer heuristic, weakly)."""
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
    """The amount as written (units) and its currency."""
    currency = _first(obj, _CURRENCY_KEYS)
    if isinstance(value, dict):  # {"amount": 12.5, "currency": "EUR"}, {"value": ...}
        currency = _first(value, _CURRENCY_KEYS) or currency
        value = _first(value, ("amount", "value", "current", "sale", "price", "formattedValue", "formatted"))
    if isinstance(value, (dict, list)) or isinstance(value, bool):
        return None, None
    price, code = parse_price(value, currency if isinstance(currency, str) else None)
    return price, code or (currency_code(currency) if isinstance(currency, str) else None)


_AMOUNT_KEYS = (*_PRICE_KEYS, "price_min", "price_max", "compare_at_price", "compare_at_price_min",
                "compare_at_price_max", "compareAtPrice", "regular_price", "list_price")
_MINOR_UNIT_SHAPE = ("compare_at_price", "price_min", "price_max", "compare_at_price_min", "price_varies")
"""Keys of a storefront product schema whose amounts are minor units (a first reading only)."""


def _amounts(obj: dict) -> Iterator[Any]:
    """The raw amounts of an object and of its variants."""
    for holder in (obj, *(v for v in (obj.get("variants") or [])[:50] if isinstance(v, dict))):
        for key in _AMOUNT_KEYS:
            value = holder.get(key)
            if value is not None and not isinstance(value, (bool, dict, list)):
                yield value


def minor_units_first(obj: dict, raw: Any, currency: str | None) -> bool | None:
    """Whether an integer amount of ``obj`` is first read as minor units (cents): ``None`` when
    it is no integer (nothing to decide), ``False`` when the evidence says units."""
    if not isinstance(raw, int) or isinstance(raw, bool):
        return None
    if any(isinstance(k, str) and "cents" in k.lower() for k in obj):
        return True  # "price_cents", "priceInCents"
    for value in _amounts(obj):
        if isinstance(value, float) and not value.is_integer():
            return False  # the object writes decimals: its integers are units
        if isinstance(value, str) and re.fullmatch(r"\s*\d+[.,]\d{1,2}\s*", value):
            return False
    if minor_digits(currency) == 0 and any(isinstance(v, int) and v % 100 for v in _amounts(obj)):
        return False  # cents of a currency without minor units would end in 00
    variants = obj.get("variants")
    shape = any(key in obj for key in _MINOR_UNIT_SHAPE) or (
        isinstance(variants, list) and any(isinstance(v, dict) and "compare_at_price" in v for v in variants[:5]))
    return shape


_PRICE_KEY_SET = frozenset((*_PRICE_KEYS, "offers"))


def _variant(obj: dict) -> dict | None:
    variants = obj.get("variants")
    if isinstance(variants, list) and variants and isinstance(variants[0], dict):
        return variants[0]
    return None


def _score(obj: dict) -> int:
    variant = None
    if _PRICE_KEY_SET.isdisjoint(obj):
        variant = _variant(obj)
        if variant is None or _PRICE_KEY_SET.isdisjoint(variant):
            return 0  # no price: not the product (and most objects stop here)
    score = 0
    if isinstance(_first(obj, _NAME_KEYS), str):
        score += 1
    if variant is not None or _first(obj, _PRICE_KEYS) is not None or isinstance(obj.get("offers"), (dict, list)):
        score += 2
    if _first(obj, _SKU_KEYS) is not None or _first(obj, _GTIN_KEYS) is not None or (
            variant is not None and _first(variant, _SKU_KEYS) is not None):
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
    for xpath, pattern in ((_XP_ASSIGNED, _ASSIGNMENT), (_XP_JSON_ASSIGNED, _JSON_ASSIGNMENT)):
        for script in xpath(tree):
            text = script.text or ""
            for match in pattern.finditer(text):
                rest = text[match.end():].lstrip()
                if rest[:1] in "{[" and total < MAX_JSON_CHARS:
                    rest = rest[:MAX_JSON_CHARS - total]
                    total += min(len(rest), 200_000)  # (a long script after the object is not parsed)
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
    variant = _variant(obj)
    if raw_price is None and isinstance(offers, (dict, list)):
        offer = offers[0] if isinstance(offers, list) and offers else offers
        if isinstance(offer, dict):
            raw_price, obj = _first(offer, _PRICE_KEYS), {**obj, **offer}
    if raw_price is None and variant is not None:  # the price is the (first) variant's
        raw_price = _first(variant, _PRICE_KEYS)
        obj = {**variant, **{k: v for k, v in obj.items() if v not in (None, "", [], {})}}
    elif variant is not None and _first(obj, _SKU_KEYS) is None and len(obj["variants"]) == 1:
        obj = {**obj, **{k: variant[k] for k in _SKU_KEYS if k in variant}}  # the one variant's code
    if raw_price is not None:
        price, currency = _price(raw_price, obj)
        if price and float(price) > 0:
            fields["price"] = price
            cents_first = minor_units_first(obj, raw_price, currency)
            if cents_first is not None:
                cents, _ = parse_price(Decimal(raw_price) / 100)
                readings = (cents, price) if cents_first else (price, cents)
                fields["price"], fields["price_readings"] = readings[0], readings
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

_SHOWN = frozenset({"page:price", "page:price-seen", "page:data-price"})
"""Page heuristics whose amounts the page shows (or names a price of the product in its markup)."""


def settle_price(layers: list[LayerResult], candidates: list[Candidate]) -> None:
    """Let the page decide an integer amount of the state layer: when the page shows one of its
    readings (units or cents) as an amount and not the other, that reading is the price."""
    layer = next((layer for layer in layers if layer.source == SOURCE and layer.fields.get("price_readings")), None)
    if layer is None:
        return
    shown = {_amount(c.value) for c in candidates if c.field == "price" and c.source in _SHOWN}
    first, second = layer.fields["price_readings"]
    if _amount(second) in shown and _amount(first) not in shown:
        layer.fields["price"] = second


def _amount(value: Any) -> Decimal | None:
    try:
        return Decimal(str(value))
    except ArithmeticError:
        return None
