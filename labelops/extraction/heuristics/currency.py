"""Currency from the page's locale: ``<html lang="de-AT">``, ``og:locale``, content-language, and
the country domain of the page's own URL; and symbols read in that light ("$" on a Canadian page
is CAD, "kr" on a Swedish one SEK, "Rs" on a Pakistani one PKR).
"""

from __future__ import annotations

import re
from functools import lru_cache
from urllib.parse import urlsplit

from labelops.currencies import territory_currency
from labelops.extraction.page import Page
from labelops.normalize import currency_code

LANGUAGE_CURRENCY = {
    # languages spoken (almost) only in one currency area
    "de": None, "fr": None, "en": None, "es": None, "pt": None, "ar": None, "nl": None, "it": "EUR",
    "fi": "EUR", "et": "EUR", "lv": "EUR", "lt": "EUR", "sk": "EUR", "sl": "EUR", "el": "EUR", "mt": "EUR",
    "pl": "PLN", "cs": "CZK", "hu": "HUF", "ro": "RON", "bg": "BGN", "sv": "SEK", "da": "DKK", "nb": "NOK",
    "nn": "NOK", "no": "NOK", "is": "ISK", "uk": "UAH", "ru": None, "be": "BYN", "ka": "GEL", "hy": "AMD",
    "tr": "TRY", "he": "ILS", "iw": "ILS", "ja": "JPY", "ko": "KRW", "th": "THB", "vi": "VND", "id": "IDR",
    "ms": "MYR", "hi": "INR", "ur": "PKR", "bn": "BDT", "fa": "IRR", "hr": "EUR", "sr": "RSD", "mk": "MKD",
    "sq": "ALL", "zh": None,
}
"""Language → currency, only where the language points at one currency area."""

_GENERIC_TLDS = frozenset({"com", "net", "org", "info", "biz", "shop", "store", "online", "eu", "io", "co", "app"})
_LOCALE = re.compile(r"^([a-z]{2,3})(?:[-_]([a-z]{2}))?\b", re.IGNORECASE)
_SHARED = {
    # symbols several currencies use: the page's country decides
    "$": {"USD", "CAD", "AUD", "NZD", "SGD", "HKD", "MXN", "ARS", "CLP", "COP", "UYU", "TWD"},
    "kr": {"SEK", "NOK", "DKK", "ISK"},
    "kr.": {"SEK", "NOK", "DKK", "ISK"},
    "rs": {"INR", "PKR", "LKR", "NPR"},
    "rs.": {"INR", "PKR", "LKR", "NPR"},
    "₨": {"INR", "PKR", "LKR", "NPR"},
    "¥": {"JPY", "CNY"},
    "￥": {"JPY", "CNY"},
    "£": {"GBP", "EGP"},
    "r": {"ZAR", "RUB"},
    "fr": {"CHF"},
    "fr.": {"CHF"},
    "元": {"CNY", "TWD", "HKD", "MOP"},
    "nt$": {"TWD"},
}


def _locale(value: str | None) -> tuple[str | None, str | None]:
    """``(language, country)`` of "de-AT", "en_GB", "fr"."""
    match = _LOCALE.match((value or "").strip())
    if not match:
        return None, None
    return match.group(1).lower(), (match.group(2) or "").upper() or None


@lru_cache(maxsize=4096)
def _host_country(host: str) -> str | None:
    """Country of a host's domain: "shop.example.co.uk" → "GB", "example.si" → "SI"."""
    tld = host.rsplit(".", 1)[-1].lower() if "." in host else ""
    if len(tld) != 2 or tld in _GENERIC_TLDS:
        return None
    return "GB" if tld == "uk" else tld.upper()  # .uk is the one country domain that is not ISO 3166


def page_countries(page: Page) -> list[str]:
    """Countries the page points at, strongest hint first: regional locale, then domain."""
    countries: list[str] = []
    locales = [page.tree.get("lang"), page.tree.get("xml:lang"), *page.metas.get("og:locale", [])[:1],
               *page.metas.get("content-language", [])[:1]]
    for value in locales:
        country = _locale(value)[1]
        if country:
            countries.append(country)
    for url in page.page_urls:
        country = _host_country(urlsplit(url).hostname or "")
        if country:
            countries.append(country)
            break
    return list(dict.fromkeys(countries))


def page_languages(page: Page) -> list[str]:
    values = [page.tree.get("lang"), page.tree.get("xml:lang"), *page.metas.get("og:locale", [])[:1],
              *page.metas.get("content-language", [])[:1]]
    return list(dict.fromkeys(lang for v in values if (lang := _locale(v)[0])))


def locale_currency(page: Page) -> str | None:
    """The currency the page's locale suggests (country first, then a one-currency language)."""
    for country in page_countries(page):
        if currency := territory_currency(country):
            return currency
    for language in page_languages(page):
        if LANGUAGE_CURRENCY.get(language):
            return LANGUAGE_CURRENCY[language]
    return None


def symbol_currency(symbol: str | None, page: Page) -> str | None:
    """ISO code of a currency symbol or code as written on this page ("$" on a .ca page → CAD)."""
    if not symbol:
        return None
    key = symbol.strip().casefold()
    shared = _SHARED.get(key)
    if shared:
        for country in page_countries(page):
            if territory_currency(country) in shared:
                return territory_currency(country)
    return currency_code(symbol)
