"""Currency reference data, one home: ISO 4217 codes, the symbols each is written with, and the
currency a country prices in, all from Babel's CLDR data (public API, no private tables).

Everything else (reading a price text, a page's locale, scoring a benchmark) asks here.
"""

from __future__ import annotations

import re
from datetime import date
from functools import lru_cache

RETIRED_CODES = frozenset({
    "ATS", "BEF", "CYP", "DEM", "NLG", "EEK", "FIM", "FRF", "GRD", "IEP", "ITL", "LVL", "LTL", "LUF", "MTL",
    "PTE", "SKK", "SIT", "ESP", "VAL", "NTD", "RMB",
})
"""Codes of currencies no shop prices in any more (the euro's predecessors) and informal ones."""


IN_USE_SINCE = date(2010, 1, 1)
"""A code counts as in use when some country's legal tender was that currency on or after this
day: Croatia's kuna (to 2023) still appears in old listings; the Deutsche Mark does not."""


@lru_cache(maxsize=1)
def iso_codes() -> frozenset[str]:
    """ISO 4217 codes of the currencies countries have priced in since :data:`IN_USE_SINCE`
    (CLDR's territory data), less :data:`RETIRED_CODES`. Fund codes, metals and "XXX" are no
    shop's currency and are left out, so "XAU" or "XTS" in a text is no price mark."""
    from babel import Locale
    from babel.numbers import get_territory_currencies

    codes: set[str] = set()
    for territory in Locale("en").territories:
        if len(territory) == 2 and territory.isalpha():
            codes.update(get_territory_currencies(territory, start_date=IN_USE_SINCE, end_date=date.today(), tender=True))
    return frozenset(codes - RETIRED_CODES)


WRITTEN_FORMS: dict[str, frozenset[str]] = {
    # how shops write currencies where CLDR has no such symbol (case-folded)
    symbol: frozenset(codes.split())
    for symbol, codes in {
        "lek": "ALL", "դր.": "AMD", "ƒ": "ANG AWG", "ar$": "ARS", "man.": "AZN", "ман.": "AZN", "tk": "BDT",
        "bd": "BHD", "bn$": "BND", "frcd": "CDF", "fr.": "CHF", "cl$": "CLP", "co$": "COP", "cv$": "CVE",
        "e£": "EGP", "£": "EGP", "টকা": "INR", "र": "INR", "﷼": "IRR", "j$": "JMD", "jd": "JOD", "円": "JPY",
        "лв": "BGN KGS", "лв.": "BGN", "원": "KRW", "kd": "KWD", "тңг.": "KZT", "lb£": "LBP", "slrs": "LKR",
        "sl re": "LKR", "ld": "LYD", "murs": "MUR", "mrf": "MVR", "n$": "NAD", "nprs": "NPR", "s/.": "PEN",
        "pkrs": "PKR", "₨": "INR PKR LKR NPR MUR SCR", "qr": "QAR", "lei": "RON", "leu": "RON", "руб": "RUB",
        "руб.": "RUB", "р.": "RUB", "грн": "UAH", "грн.": "UAH", "fr": "CHF RWF", "skr": "SEK", "ssh": "SOS",
        "sy£": "SYP", "tl": "TRY", "tt$": "TTD", "$u": "UYU", "bs.f.": "VEF", "đ": "VND", "cfa": "XOF", "af": "AFN", "bs.": "BOB",
        "yr": "YER", "zk": "ZMW", "sr": "SAR", "kr": "ISK", "kr.": "SEK NOK", "rs": "LKR NPR",
        "rs.": "INR PKR LKR NPR MUR SCR", "zl": "PLN", "лей": "MDL", "nt$": "TWD", "rmb": "CNY", "元": "TWD HKD MOP",
    }.items()
}
"""Spellings shops use that CLDR's symbol data lacks, or currencies a symbol is also written for
("£" in Egypt, "kr" in Iceland). Added to :func:`codes_by_symbol`."""


_INVISIBLE = re.compile("[\u200b-\u200f\u2060\ufeff]")
_SPACES = re.compile(r"\s+")
_TOO_SHORT = re.compile(r"[A-Za-z]?")
"""No symbol at all, or one Latin letter ("E" for the lilangeni): read as a currency, it would turn
initials into money."""


@lru_cache(maxsize=1)
def codes_by_symbol() -> dict[str, frozenset[str]]:
    """Every currency symbol CLDR knows in any locale, and :data:`WRITTEN_FORMS`, case-folded →
    the codes written with it ("$" → USD, CAD, AUD, …; "₹" → INR). Built once per process (about
    a second)."""
    from babel import Locale, localedata

    table: dict[str, set[str]] = {}
    codes = iso_codes()
    for identifier in localedata.locale_identifiers():
        for code, symbol in Locale.parse(identifier).currency_symbols.items():
            symbol = _SPACES.sub(" ", _INVISIBLE.sub("", symbol)).strip()
            if code in codes and symbol != code and not _TOO_SHORT.fullmatch(symbol):
                table.setdefault(symbol.casefold(), set()).add(code)
    for symbol, found in WRITTEN_FORMS.items():
        table.setdefault(symbol, set()).update(found & codes)
    return {symbol: frozenset(found) for symbol, found in table.items()}


@lru_cache(maxsize=512)
def territory_currency(country: str) -> str | None:
    """The currency a country (ISO 3166 alpha-2) prices in today, e.g. "AT" → "EUR", "CA" → "CAD";
    ``None`` for an unknown code. Where a country has several legal tenders the first CLDR lists
    (its own) wins: "PA" → "PAB"."""
    from babel.numbers import get_territory_currencies

    country = country.upper()
    country = "GB" if country == "UK" else country  # "en-UK", ".uk": the one common non-ISO spelling
    try:
        found = get_territory_currencies(country, tender=True)
    except Exception:  # noqa: BLE001 - Babel raises several kinds for codes it does not know
        return None
    return found[0] if found else None
