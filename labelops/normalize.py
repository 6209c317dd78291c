"""Value normalisation shared by the extractor and the listings table.

Pure functions that turn whatever a shop publishes into the project's conventions (those of the
extraction benchmark): prices as plain decimal strings ("1299.00"), ISO 4217 currency codes,
availability as ``InStock``/``OutOfStock``, text without markup and with collapsed whitespace.
:func:`to_listing` and :func:`listings_to_arrow` turn spider items into listings-table rows.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Mapping
from datetime import timezone
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from typing import Any
from urllib.parse import urlsplit

import pyarrow as pa
from price_parser import Price
from w3lib.html import remove_tags, remove_tags_with_content, replace_entities
from w3lib.url import canonicalize_url

from labelops import currencies
from labelops.contracts import LISTING_SCHEMA, Listing, RawItem

__all__ = [
    "clean_code",
    "clean_list",
    "clean_text",
    "currency_code",
    "listing_id",
    "listings_to_arrow",
    "normalize_availability",
    "parse_count",
    "parse_gtin",
    "parse_price",
    "parse_rating",
    "to_listing",
]

_WHITESPACE = re.compile(r"\s+")
_LOOKS_LIKE_MARKUP = re.compile(r"<[A-Za-z!/?]")
_BLOCK_TAG = re.compile(r"<(?:br|hr|/?(?:p|div|li|ul|ol|tr|td|th|h[1-6]|table|section|article|dd|dt))\b[^>]*>", re.I)
_PLAIN_NUMBER = re.compile(r"^[+]?\d+(?:\.\d+)?$")
_MAX_TEXT = 100_000  # characters kept from one text value
_MAX_PRICE_TEXT = 200


# --------------------------------------------------------------------------------------- text


def clean_text(value: Any) -> str | None:
    """Text without tags and entities, whitespace collapsed; ``None`` when nothing is left.

    Entities are decoded first, so escaped markup ("&lt;b&gt;") goes too; block tags (``<br>``,
    ``</p>``...) become spaces, scripts and styles go with their content. Non-strings (numbers)
    are turned into strings; lists are joined with a space.
    """
    if value is None or isinstance(value, (dict, bool)):
        return None
    if isinstance(value, (list, tuple)):
        return clean_text(" ".join(t for v in value if (t := clean_text(v))))
    text = str(value)[:_MAX_TEXT]
    if "&" in text:
        text = replace_entities(text)
    if _LOOKS_LIKE_MARKUP.search(text):
        text = remove_tags_with_content(text, which_ones=("script", "style"))
        text = remove_tags(_BLOCK_TAG.sub(" ", text))
    text = _WHITESPACE.sub(" ", text).strip()
    return text or None


def clean_list(values: Iterable[Any]) -> list[str]:
    """Each value cleaned with :func:`clean_text`; empty ones dropped, order kept."""
    return [t for v in values if (t := clean_text(v))]


# ------------------------------------------------------------------------------------- prices

# Symbols the currency data gives several currencies (the usual reading, or None when there is
# none), lacks, or maps to a rarer currency; and a few legacy codes.
_EXTRA_SYMBOLS: dict[str, str | None] = {
    "$": "USD",
    "£": "GBP",
    "¥": "JPY",
    "￥": "JPY",
    "₩": "KRW",
    "원": "KRW",
    "₱": "PHP",
    "₨": "INR",
    "rs": "INR",
    "rs.": "INR",
    "cn¥": "CNY",
    "元": "CNY",
    "rmb": "CNY",
    "nt$": "TWD",
    "ntd": "TWD",
    "br": "BYN",
    "tl": "TRY",
    "р": "RUB",
    "р.": "RUB",
    "euro": "EUR",
    "eur": "EUR",
    "₽": "RUB",
    "руб": "RUB",
    "грн": "UAH",
    "грн.": "UAH",
    "us$": "USD",
    "a$": "AUD",
    "c$": "CAD",
    "₺": "TRY",
    "₸": "KZT",
    "лв": "BGN",
    "₾": "GEL",
    "₼": "AZN",
    "₵": "GHS",
    "zl": "PLN",
    "лей": "MDL",
    "sr": "SAR",  # also the Seychelles rupee's, far rarer on shops
    "bs.": "BOB",  # also the old bolívar's
    "rur": "RUB",  # the pre-1998 rouble code, still common in feeds
    "byr": "BYN",
    "kr": None,  # SEK, NOK, DKK, ISK
    "kr.": None,
    "k": None,
    "l": None,
    "f": None,
    "ƒ": None,
    "zk": None,
}
@lru_cache(maxsize=1)
def _symbol_table() -> tuple[frozenset[str], dict[str, str | None]]:
    """ISO codes, and symbol → code where a symbol names one currency (:mod:`labelops.currencies`),
    with the usual readings above for the shared ones."""
    # a legacy code the readings above send elsewhere ("BYR" → "BYN") is read, not kept
    codes = currencies.iso_codes() - {key.upper() for key, code in _EXTRA_SYMBOLS.items() if code and code != key.upper()}
    table: dict[str, str | None] = {s: next(iter(c)) for s, c in currencies.codes_by_symbol().items() if len(c) == 1}
    table.update(_EXTRA_SYMBOLS)
    return codes, table


def currency_code(value: Any) -> str | None:
    """ISO 4217 code for a code or a currency symbol ("£" → "GBP", "Rs." → "INR"), else ``None``."""
    if not isinstance(value, str):
        return None
    text = value.strip()
    if not text or len(text) > 20:
        return None
    codes, table = _symbol_table()
    if text.upper() in codes:
        return text.upper()
    key = text.casefold()
    for candidate in (key, key.rstrip("."), key.replace(" ", "")):
        if candidate in table:
            return table[candidate]
    # a symbol inside a longer string ("GBP £", "in EUR"): let price-parser find it
    found = Price.fromstring("", currency_hint=text).currency
    if found and found.strip() != text:
        return currency_code(found)
    return None


def _format_amount(amount: Decimal) -> str | None:
    """A plain decimal string with at least two decimals ("1299.00", "1.299")."""
    if not amount.is_finite() or amount < 0:
        return None
    two = amount.quantize(Decimal("0.01"))
    if two == amount:
        return f"{two:f}"
    return f"{amount.normalize():f}"


def parse_price(value: Any, currency_hint: Any = None) -> tuple[str | None, str | None]:
    """``(price, currency)`` from a number or a price text.

    ``price`` is a plain decimal string ("1299.00"); ``currency`` an ISO 4217 code. A hint
    that is a currency code (schema.org ``priceCurrency``) wins over a symbol in the text,
    which wins over a symbol in the hint. A plain machine number ("1.299") is read literally,
    any other text with price-parser ("1.299,00 €" → "1299.00", "EUR"). Text without digits
    ("free", "") gives no price.
    """
    hint = currency_hint.strip() if isinstance(currency_hint, str) else None
    hint_code = currency_code(hint) if hint else None
    if value is None or isinstance(value, bool):
        return None, hint_code
    if isinstance(value, (int, float, Decimal)):
        try:
            return _format_amount(Decimal(str(value))), hint_code
        except InvalidOperation:
            return None, hint_code
    text = clean_text(value)
    if not text or not any(ch.isdigit() for ch in text):
        # a currency on its own still tells the currency
        return None, hint_code or (currency_code(text) if text else None)
    text = text[:_MAX_PRICE_TEXT]
    if _PLAIN_NUMBER.match(text):
        return _format_amount(Decimal(text)), hint_code
    parsed = Price.fromstring(text, currency_hint=hint)
    price = _format_amount(parsed.amount) if parsed.amount is not None else None
    currency = hint_code or currency_code(parsed.currency)
    return price, currency


# ------------------------------------------------------------------------------- availability

_SCHEMA_AVAILABILITY = {
    "instock": "InStock",
    "instoreonly": "InStock",
    "onlineonly": "InStock",
    "limitedavailability": "InStock",
    "preorder": "InStock",
    "presale": "InStock",
    "backorder": "InStock",
    "madetoorder": "InStock",
    "outofstock": "OutOfStock",
    "soldout": "OutOfStock",
    "discontinued": "OutOfStock",
    "reserved": "OutOfStock",
    # OpenGraph product:availability values
    "in stock": "InStock",
    "available for order": "InStock",
    "out of stock": "OutOfStock",
    "oos": "OutOfStock",
}

# Looked for in free text; out-of-stock phrases first, since they often contain the others.
_OUT_OF_STOCK_TEXT = re.compile(
    r"out[\s-]of[\s-]stock|sold[\s-]?out|not (?:currently )?(?:in stock|available)|unavailable"
    r"|no longer available|discontinued|currently unavailable"
    r"|nicht (?:auf lager|lieferbar|verfügbar|vorrätig)|ausverkauft|vergriffen"
    r"|rupture de stock|épuisé|indisponible|non disponible|hors stock"
    r"|agotado|sin stock|no disponible|esaurito|non disponibile|esgotado|indisponível|sem estoque"
    r"|niet (?:op voorraad|leverbaar|beschikbaar)|uitverkocht|slutsåld|ej i lager|udsolgt"
    r"|niedostępn|brak w magazynie|wyprzedan|nie(?:dostępny| ma w magazynie)|vyprodáno"
    r"|нет в наличии|отсутствует|распродан|немає в наявності|品切れ|在庫切れ|缺货|售罄|无货",
    re.IGNORECASE,
)
_IN_STOCK_TEXT = re.compile(
    r"in[\s-]stock|available|add to (?:cart|basket|bag)|buy now|ships? (?:today|in)"
    r"|auf lager|lieferbar|vorrätig|verfügbar|en stock|disponible|en existencia|disponibile"
    r"|em estoque|op voorraad|leverbaar|på lager|i lager|dostępn|w magazynie|skladem"
    r"|в наличии|є в наявності|在庫あり|有货|现货",
    re.IGNORECASE,
)


def normalize_availability(value: Any) -> str | None:
    """``InStock``/``OutOfStock`` from schema.org values, booleans or shop text; else ``None``."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "InStock" if value else "OutOfStock"
    if isinstance(value, (list, tuple)):
        return next((a for v in value if (a := normalize_availability(v))), None)
    text = clean_text(value)
    if not text:
        return None
    key = text.rsplit("/", 1)[-1].removeprefix("schema:").strip().casefold()
    if key in _SCHEMA_AVAILABILITY:
        return _SCHEMA_AVAILABILITY[key]
    if key.replace("_", "").replace(" ", "") in _SCHEMA_AVAILABILITY:
        return _SCHEMA_AVAILABILITY[key.replace("_", "").replace(" ", "")]
    text = text[:500]
    if _OUT_OF_STOCK_TEXT.search(text):
        return "OutOfStock"
    if _IN_STOCK_TEXT.search(text):
        return "InStock"
    return None


# ------------------------------------------------------------------------- ratings and codes

_RATING_WORDS = {"zero": 0, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5}
_NUMBER = re.compile(r"\d+(?:[.,]\d+)?")


def _first_number(value: Any) -> float | None:
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, (int, float, Decimal)):
        number = float(value)
        return number if number == number else None  # NaN
    text = clean_text(value)
    if not text:
        return None
    if text.casefold() in _RATING_WORDS:
        return float(_RATING_WORDS[text.casefold()])
    match = _NUMBER.search(text)
    return float(match.group().replace(",", ".")) if match else None


def parse_rating(value: Any, best: Any = None, worst: Any = None) -> float | None:
    """A rating on a 0-5 scale from a number, "4,5", "4.5 out of 5" or a word ("Four").

    When ``best`` (schema.org ``bestRating``) is given and is not 5, the value is rescaled to 5.
    """
    rating = _first_number(value)
    if rating is None or rating < 0:
        return None
    best_value = _first_number(best)
    if best_value and best_value > 0 and best_value != 5:
        low = _first_number(worst) or 0.0
        if best_value > low:
            rating = (rating - low) / (best_value - low) * 5
    if rating > 5:
        return None
    return round(rating, 2)


def parse_count(value: Any) -> int | None:
    """A non-negative count from a number or text ("1,234 reviews" → 1234)."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, (int, float, Decimal)):
        return int(value) if value >= 0 else None
    text = clean_text(value)
    match = re.search(r"\d[\d,.\s]*", text or "")
    if not match:
        return None
    digits = re.sub(r"\D", "", match.group())
    return int(digits) if digits and len(digits) < 12 else None


def parse_gtin(value: Any) -> str | None:
    """A GTIN-8/12/13/14 as digits ("0 12345 67890 5" → "012345678905"); else ``None``."""
    text = clean_text(value)
    if not text:
        return None
    digits = re.sub(r"[\s-]", "", text)
    return digits if digits.isdigit() and len(digits) in (8, 12, 13, 14) else None


def gtin_valid(code: str) -> bool:
    """A GTIN-8/12/13/14 whose last digit is its GS1 check digit ("4006381333931" yes, "4006381333932" no)."""
    if not code.isdigit() or len(code) not in (8, 12, 13, 14):
        return False
    digits = [int(c) for c in code]
    total = sum(d * (3 if i % 2 == 0 else 1) for i, d in enumerate(reversed(digits[:-1])))
    return (10 - total % 10) % 10 == digits[-1]


def clean_code(value: Any) -> str | None:
    """An identifier (sku, mpn) stripped of whitespace; empty → ``None``."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        value = str(value)
    text = clean_text(value)
    return text if text and len(text) <= 200 else None


# --------------------------------------------------------------------------------- listings


def _same_host(a: str, b: str) -> bool:
    host_a, host_b = urlsplit(a).hostname, urlsplit(b).hostname
    strip = lambda h: (h or "").removeprefix("www.")  # noqa: E731
    return bool(host_a) and strip(host_a) == strip(host_b)


def listing_id(url: str, canonical_url: str | None = None) -> str:
    """Stable id of a product: first 16 hex chars of sha256 of its canonical URL.

    The page's ``<link rel=canonical>`` counts only when it is on the same host as the page.
    """
    chosen = canonical_url if canonical_url and _same_host(canonical_url, url) else url
    return hashlib.sha256(canonicalize_url(chosen).encode("utf-8")).hexdigest()[:16]


def _clean_attributes(attributes: Mapping[str, Any]) -> dict[str, str]:
    cleaned: dict[str, str] = {}
    for key, value in attributes.items():
        k, v = clean_text(key), clean_text(value)
        if k and v:
            cleaned[k] = v
    return cleaned


def to_listing(item: RawItem) -> Listing:
    """One listings-table row from one spider item: ids, cleaned text, re-checked values."""
    price, currency = parse_price(item.price, item.currency)
    return Listing(
        listing_id=listing_id(item.url, item.canonical_url),
        url=item.url,
        source=item.source,
        crawled_at=item.crawled_at,
        title=clean_text(item.title),
        description=clean_text(item.description),
        price=price,
        currency=currency or currency_code(item.currency),
        sku=clean_code(item.sku),
        gtin=clean_code(item.gtin),
        mpn=clean_code(item.mpn),
        brand=clean_text(item.brand),
        availability=normalize_availability(item.availability),
        category_path=clean_list(item.category_path),
        rating=parse_rating(item.rating),
        review_count=item.review_count if item.review_count is None or item.review_count >= 0 else None,
        attributes=_clean_attributes(item.attributes),
        image_urls=list(dict.fromkeys(u.strip() for u in item.image_urls if u and u.strip())),
        images=list(item.images),
        raw_hash=item.raw_hash,
    )


def listings_to_arrow(listings: Iterable[Listing]) -> pa.Table:
    """An Arrow table with :data:`LISTING_SCHEMA`; timestamps are stored in UTC."""
    rows = []
    for listing in listings:
        row = listing.model_dump()
        crawled = row["crawled_at"]
        if crawled.tzinfo is None:
            crawled = crawled.replace(tzinfo=timezone.utc)
        row["crawled_at"] = crawled.astimezone(timezone.utc)
        row["attributes"] = list(row["attributes"].items())
        rows.append(row)
    return pa.Table.from_pylist(rows, schema=LISTING_SCHEMA)
