"""Reading an amount the way the page writes numbers: is "1.234" one thousand two hundred and
thirty-four, or one and a bit?

A number with both "." and "," has its decimal mark last ("1.234,56", "1,234.56"); a mark repeated
is a group separator ("1.234.567", "1,23,456"); one or two digits after a single mark are
decimals ("12,50"). Only a single mark followed by exactly three digits is ambiguous, and the digit
count does not decide it: the currency does first (CLDR's minor units from Babel: "1.250" Kuwaiti
dinars has three decimals, "1.250" yen none, and three decimals of a two-decimal currency are no
price), then the page's own decimal mark: the mark its unambiguous prices use ("12,50 €" beside
it), else its locale's (Babel's number symbols for the page's language and country).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable
from decimal import Decimal, InvalidOperation
from functools import lru_cache

_NUMBER = re.compile(r"\d(?:[\d.,'’\u00a0\u202f ]*\d)?")
_TRAILING_DASH = re.compile(r"[.,]\s*[-–—]{1,2}")
_GROUP_SPACES = re.compile(r"(?<=\d)['’\u00a0\u202f ](?=\d{3}(?!\d))")
_DECIMAL_VOTE = re.compile(r"(?<![\d.,])\d{1,3}(?:([.,])\d{3})*([.,])(\d{1,2})(?![\d.,])|\d([.,])\d{3}([.,])\d{1,2}(?![\d])")


@lru_cache(maxsize=512)
def locale_decimal_mark(language: str | None, country: str | None = None) -> str | None:
    """The decimal mark of a language (and country): "de" → ",", "en_US" → ".", "de_CH" → "."."""
    from babel import Locale, UnknownLocaleError
    from babel.numbers import get_decimal_symbol

    for tag in ([f"{language}_{country}"] if language and country else []) + ([language] if language else []):
        try:
            return get_decimal_symbol(Locale.parse(tag))
        except (UnknownLocaleError, ValueError, TypeError):
            continue
    if country:  # no language: the country's most spoken official language
        from babel.core import get_global

        spoken = get_global("territory_languages").get(country.upper(), {})
        official = [lang for lang, info in spoken.items() if info.get("official_status")] or list(spoken)
        if official:
            return locale_decimal_mark(official[0], country)
    return None


@lru_cache(maxsize=512)
def minor_digits(currency: str | None) -> int | None:
    """Decimals of a currency (CLDR): EUR 2, JPY 0, KWD 3; ``None`` when unknown."""
    if not currency:
        return None
    from babel.numbers import get_currency_precision

    try:
        return get_currency_precision(currency.upper())
    except Exception:  # noqa: BLE001 - Babel raises several kinds for unknown codes
        return None


def decimal_mark_of(texts: Iterable[str]) -> str | None:
    """The decimal mark a page's unambiguous prices use ("12,50", "1.234,56"), by majority."""
    votes: Counter[str] = Counter()
    for text in texts:
        for match in _DECIMAL_VOTE.finditer(text):
            mark = match.group(2) or match.group(5)
            group = match.group(1) or match.group(4)
            if mark and mark != group:
                votes[mark] += 1
    if not votes:
        return None
    (mark, count), *rest = votes.most_common(2)
    return mark if not rest or count > rest[0][1] else None


def read_amount(text: str, mark: str | None = None, currency: str | None = None) -> Decimal | None:
    """The first amount in a price text, its decimal mark decided as the module says; ``mark``
    is the page's decimal mark, ``currency`` the ISO code the amount is in (both may be unknown)."""
    text = _TRAILING_DASH.sub("", text)
    match = _NUMBER.search(text)
    if match is None:
        return None
    number = _GROUP_SPACES.sub("", match.group(0)).replace(" ", "")
    if any(c in number for c in "'’\u00a0\u202f"):
        return None  # spaces in odd places: not one number
    dots, commas = number.count("."), number.count(",")
    if dots and commas:
        decimal = "." if number.rfind(".") > number.rfind(",") else ","
        group = "," if decimal == "." else "."
        if number.count(decimal) > 1:
            return None
        number = number.replace(group, "").replace(decimal, ".")
    elif dots + commas:
        sep = "." if dots else ","
        if dots + commas > 1:
            number = number.replace(sep, "")  # "1.234.567", "1,23,456"
        else:
            tail = len(number) - number.index(sep) - 1
            if tail != 3:
                is_decimal = True
            else:
                digits = minor_digits(currency)
                is_decimal = digits == 3 if digits is not None else mark == sep
            number = number.replace(sep, ".") if is_decimal else number.replace(sep, "")
    try:
        amount = Decimal(number)
    except InvalidOperation:
        return None
    return amount if amount.is_finite() else None
