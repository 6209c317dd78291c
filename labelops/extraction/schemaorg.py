"""schema.org ``Product`` and ``BreadcrumbList`` → product fields.

JSON-LD, microdata and RDFa all end up here as JSON-LD-shaped dicts (``@type``, property names
without namespace), so one set of rules reads them all: nested and aggregate offers, price
specifications, brands as text or objects, ratings, GTINs, images, extra properties.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Iterator
from typing import Any

from labelops.extraction.document import absolute_urls
from labelops.extraction.fields import compact, is_empty
from labelops.normalize import (
    clean_code,
    clean_list,
    clean_text,
    normalize_availability,
    parse_count,
    parse_gtin,
    parse_price,
    parse_rating,
)

PRODUCT_TYPES = frozenset(
    {"product", "productgroup", "individualproduct", "productmodel", "someproducts", "vehicle", "car", "motorcycle"}
)
"""Types (case-folded: shops write ``"product"`` as often as ``"Product"``) that describe a product."""
MAX_OFFERS = 200
"""Offers of one product looked at."""
MAX_NODES = 20_000
"""Most dicts and lists visited while looking for products in one page's data (bounds work)."""
MAX_VALUE_DEPTH = 8
"""Lists nested deeper than this in one property are not looked into (``[[["x"]]]`` is "x"; 30 levels are noise)."""

HOME_CRUMBS = frozenset(
    {
        "home", "homepage", "home page", "start", "startseite", "accueil", "inicio", "início", "inizio",
        "principal", "página inicial", "pagina iniziale", "main", "main page", "hem", "forside", "etusivu",
        "strona główna", "domů", "úvod", "anasayfa", "αρχική", "главная", "головна", "首页", "首頁",
        "トップ", "ホーム", "홈", "trang chủ", "หน้าแรก",
    }
)
_GTIN_KEYS = ("gtin13", "gtin12", "gtin14", "gtin8", "gtin", "isbn", "ean", "upc")
_ATTRIBUTE_KEYS = ("color", "material", "size", "pattern")
_LIST_PRICE_TYPES = ("listprice", "strikethroughprice", "msrp", "invoiceprice", "srp")


# ------------------------------------------------------------------------ JSON-LD navigation


def type_names(node: dict[str, Any]) -> set[str]:
    """Local names of a node's types, case-folded ("http://schema.org/Product" → "product")."""
    types = node.get("@type")
    if isinstance(types, str):
        types = [types]
    if not isinstance(types, list):
        return set()
    return {
        t.rstrip("/").rsplit("/", 1)[-1].rsplit("#", 1)[-1].rsplit(":", 1)[-1].casefold()
        for t in types
        if isinstance(t, str)
    }


def walk(data: Any, max_nodes: int = MAX_NODES) -> Iterator[dict[str, Any]]:
    """Every dict in a JSON-LD value, breadth first (top-level things first), ``@graph`` opened."""
    queue: deque[Any] = deque([data])
    seen = 0
    while queue and seen < max_nodes:
        value = queue.popleft()
        if isinstance(value, list):
            seen += 1
            queue.extend(v for v in value if isinstance(v, (dict, list)))
        elif isinstance(value, dict):
            seen += 1
            yield value
            queue.extend(v for v in value.values() if isinstance(v, (dict, list)))


def first(value: Any, _depth: int = 0) -> Any:
    """The first non-empty value of a list (JSON-LD lets any property repeat); ``@value`` unwrapped.

    Each element is looked at once and lists deeper than :data:`MAX_VALUE_DEPTH` not at all, so
    the work is linear in the value's size (a shop's ``[[[…]]]`` cannot make it exponential).
    """
    if isinstance(value, list):
        if _depth >= MAX_VALUE_DEPTH:
            return None
        for item in value:
            found = first(item, _depth + 1)
            if not is_empty(found):
                return found
        return None
    if isinstance(value, dict) and "@value" in value:
        return value["@value"]
    return value


def as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def name_of(value: Any) -> str | None:
    """Text of a value that may be a string or a thing with a ``name`` (brand, category...)."""
    value = first(value)
    if isinstance(value, dict):
        value = first(value.get("name")) or first(value.get("@value"))
    if isinstance(value, (dict, list)):
        return None
    return clean_text(value)


# ----------------------------------------------------------------------------------- offers


def _offers(product: dict[str, Any]) -> list[dict[str, Any]]:
    """A product's offers, flattened: aggregate offers first, then the offers inside them."""
    found: list[dict[str, Any]] = []
    pending = as_list(product.get("offers")) + as_list(product.get("offerDetails"))  # + data-vocabulary.org
    while pending and len(found) < 200:
        offer = pending.pop(0)
        if isinstance(offer, dict):
            found.append(offer)
            pending.extend(as_list(offer.get("offers")))
    return found


def _price_specification(offer: dict[str, Any]) -> dict[str, Any] | None:
    """The selling-price specification of an offer (list and strike-through prices skipped)."""
    specs = [s for s in as_list(offer.get("priceSpecification")) if isinstance(s, dict)]
    for spec in specs:
        price_type = str(first(spec.get("priceType")) or "").rsplit("/", 1)[-1].lower()
        if not any(t in price_type for t in _LIST_PRICE_TYPES) and not is_empty(first(spec.get("price"))):
            return spec
    return next((s for s in specs if not is_empty(first(s.get("price")))), None)


def offer_price(offer: dict[str, Any]) -> tuple[str | None, str | None]:
    """``(price, currency)`` of an offer: ``price``, else ``lowPrice``, else its price specification."""
    currency = first(offer.get("priceCurrency")) or first(offer.get("currency"))
    for key in ("price", "lowPrice"):
        value = first(offer.get(key))
        if not is_empty(value):
            price, code = parse_price(value, currency)
            if price is not None:
                return price, code
    spec = _price_specification(offer)
    if spec is not None:
        return parse_price(first(spec.get("price")), first(spec.get("priceCurrency")) or currency)
    return None, parse_price(None, currency)[1]


def _offer_fields(offers: list[dict[str, Any]]) -> dict[str, Any]:
    """Price, currency, sku of the first priced offer; availability ``InStock`` when any offer is
    in stock (offers are often sizes or colours: one in stock makes the product buyable); the
    other offers' distinct prices as ``offer_prices`` (evidence for the resolver)."""
    fields: dict[str, Any] = {}
    prices: list[str] = []
    for offer in offers[:MAX_OFFERS]:
        price, currency = offer_price(offer)
        if price is None:
            continue
        if "price" not in fields:
            fields.update(price=price, currency=currency)
            fields["sku"] = clean_code(first(offer.get("sku")))
        elif price != fields["price"] and price not in prices:
            prices.append(price)
    statuses = [a for o in offers[:MAX_OFFERS] if (a := normalize_availability(first(o.get("availability"))))]
    fields["availability"] = "InStock" if "InStock" in statuses else next(iter(statuses), None)
    if not fields.get("currency"):
        fields["currency"] = next((c for o in offers if (c := offer_price(o)[1])), None)
    fields["gtin"] = next((g for o in offers if (g := _gtin(o))), None)
    fields["offer_prices"] = prices
    return compact(fields)


# ---------------------------------------------------------------------------------- product


def _gtin(node: dict[str, Any]) -> str | None:
    for key in _GTIN_KEYS:
        if (gtin := parse_gtin(first(node.get(key)))) is not None:
            return gtin
    return None


def _images(value: Any, base_url: str) -> list[str]:
    urls: list[str] = []
    for image in as_list(value):
        if isinstance(image, dict):
            image = first(image.get("contentUrl")) or first(image.get("url")) or first(image.get("@id"))
        if isinstance(image, str):
            urls.append(image)
    return absolute_urls(urls, base_url)


def _attributes(product: dict[str, Any]) -> dict[str, str]:
    """``additionalProperty`` (PropertyValue name → value [unit]) plus colour, material, size, pattern."""
    attributes: dict[str, str] = {}
    for prop in as_list(product.get("additionalProperty")):
        if not isinstance(prop, dict):
            continue
        name, values = name_of(prop.get("name")), [name_of(v) for v in as_list(prop.get("value"))]
        value = ", ".join(v for v in values if v)
        unit = name_of(prop.get("unitText"))
        if name and value:
            attributes[name] = f"{value} {unit}" if unit else value
    for key in _ATTRIBUTE_KEYS:
        values = [v for item in as_list(product.get(key)) if (v := name_of(item))]
        if values:
            attributes.setdefault(key, ", ".join(dict.fromkeys(values)))
    return attributes


def _rating(product: dict[str, Any]) -> dict[str, Any]:
    aggregate = first(product.get("aggregateRating"))
    if not isinstance(aggregate, dict):
        return {}
    return compact(
        {
            "rating": parse_rating(
                first(aggregate.get("ratingValue")), first(aggregate.get("bestRating")), first(aggregate.get("worstRating"))
            ),
            "review_count": parse_count(first(aggregate.get("reviewCount")))
            if not is_empty(first(aggregate.get("reviewCount")))
            else parse_count(first(aggregate.get("ratingCount"))),
        }
    )


def _category(value: Any) -> list[str]:
    """``Product.category`` as a path: "A > B > C" or a list of names (URLs ignored)."""
    names = [name_of(v) for v in as_list(value)]
    names = [n for n in names if n and not n.startswith(("http://", "https://"))]
    if len(names) == 1:
        for separator in (">", "›", "»"):
            if separator in names[0]:
                return clean_list(names[0].split(separator))
    return names


def product_fields(product: dict[str, Any], base_url: str) -> dict[str, Any]:
    """The fields of one schema.org Product (or ProductGroup, filled from its first variant)."""
    fields: dict[str, Any] = {
        "title": name_of(product.get("name")),
        "description": clean_text(first(product.get("description"))),
        "brand": name_of(product.get("brand")),
        "sku": clean_code(first(product.get("sku"))),
        "mpn": clean_code(first(product.get("mpn"))),
        "gtin": _gtin(product),
        "image_urls": _images(product.get("image"), base_url),
        "attributes": _attributes(product),
        "category_path": _category(product.get("category")),
        **_rating(product),
    }
    for key, value in _offer_fields(_offers(product)).items():
        if is_empty(fields.get(key)):
            fields[key] = value
    variants = [v for v in as_list(product.get("hasVariant")) if isinstance(v, dict)]
    if variants and is_empty(fields.get("price")):
        variant = next((v for v in variants if _offers(v)), variants[0])
        for key, value in product_fields(variant, base_url).items():
            if key not in ("title", "description") and is_empty(fields.get(key)):
                fields[key] = value
    return compact(fields)


def _same_product(a: dict[str, Any], b: dict[str, Any]) -> bool:
    """Whether two Product nodes describe the same product (so one may fill the other's gaps)."""
    if a.get("@id") and a.get("@id") == b.get("@id"):
        return True
    name_a, name_b = name_of(a.get("name")), name_of(b.get("name"))
    return name_b is None or (name_a is not None and name_a.casefold() == name_b.casefold())


def products_fields(nodes: Iterable[dict[str, Any]], base_url: str) -> dict[str, Any] | None:
    """Fields of the page's main product: the first Product found, with gaps filled from others
    describing the same product. ``None`` when there is no Product."""
    products = [n for n in nodes if type_names(n) & PRODUCT_TYPES]
    if not products:
        return None
    main = products[0]
    fields = product_fields(main, base_url)
    for other in products[1:]:
        if other is main or not _same_product(main, other) or any(other is v for v in as_list(main.get("hasVariant"))):
            continue
        for key, value in product_fields(other, base_url).items():
            if is_empty(fields.get(key)):
                fields[key] = value
    return fields


# ------------------------------------------------------------------------------ breadcrumbs


def _crumbs(breadcrumb: dict[str, Any]) -> list[str]:
    items = [i for i in as_list(breadcrumb.get("itemListElement")) if isinstance(i, dict)]

    def position(item: dict[str, Any]) -> float:
        try:
            return float(first(item.get("position")))
        except (TypeError, ValueError):
            return float("inf")

    if all(position(i) != float("inf") for i in items):
        items.sort(key=position)
    names = []
    for item in items:
        name = name_of(item.get("name")) or (name_of(item.get("item")) if isinstance(first(item.get("item")), dict) else None)
        if name:
            names.append(name)
    return names


def breadcrumb_path(nodes: Iterable[dict[str, Any]], title: str | None = None) -> list[str]:
    """Category path from the page's longest BreadcrumbList: root first, without a "Home"-like
    first crumb or a last crumb that is the product's own title."""
    paths = [_crumbs(n) for n in nodes if "breadcrumblist" in type_names(n)]
    path = max(paths, key=len, default=[])
    return trim_path(path, title)


def trim_path(path: list[str], title: str | None = None) -> list[str]:
    """Drop a "Home"-like first crumb and a last crumb equal to the title."""
    path = list(path)
    if path and path[0].casefold().strip(" /") in HOME_CRUMBS:
        path = path[1:]
    if path and title and path[-1].casefold() == title.casefold():
        path = path[:-1]
    return path


def schema_fields(data: Any, base_url: str) -> tuple[dict[str, Any], bool]:
    """``(fields, is_product)`` from JSON-LD-shaped data: main product plus breadcrumb path."""
    nodes = list(walk(data))
    fields = products_fields(nodes, base_url)
    is_product = fields is not None
    fields = fields or {}
    path = breadcrumb_path(nodes, fields.get("title"))
    if path:
        fields["category_path"] = path
    return fields, is_product
