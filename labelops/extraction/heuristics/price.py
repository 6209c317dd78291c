"""The price a shopper sees: the main product's selling price, near its title and buy button.

Candidates are visible texts holding a number and a currency ("€ 17,10", "30,000원~"; a number
and a currency in neighbouring elements count too), and elements whose class, id or itemprop
names them a price in one of many languages. Each is scored: a currency written with it, a
price-like name, being short, a big font, and closeness to the product's title and buy button
count for it; struck-through, "was", per-unit, tax-excluded and instalment prices, and prices in
headers, menus and related-product blocks count against it. Equal amounts add up a little (a
price shown twice).

An amount the page shows *only* as an old price (struck through, "was") near the product is
evidence against that amount: structured data sometimes carries the list price.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal

import lxml.etree
from price_parser import Price

from labelops.currencies import iso_codes
from labelops.extraction.fields import Candidate
from labelops.extraction.heuristics.currency import page_countries, page_languages, symbol_currency
from labelops.extraction.numbers import decimal_mark_of, locale_decimal_mark, read_amount
from labelops.extraction.page import Page, Text
from labelops.extraction.vocabulary import OLD_PRICE_TAGS, OLD_PRICE_TOKENS, PRICE_TOKENS
from labelops.normalize import parse_price

SOURCE = "page:price"
SOURCE_OLD = "page:old-price"
SOURCE_SEEN = "page:price-seen"
"""Every amount shown near the product, with its features and no weight: for the learned chooser."""
MAX_SEEN = 8
"""Distinct amounts handed to the learned chooser, at most (the best by the hand score)."""
MAX_PRICE_TEXT = 80
"""Texts longer than this are not prices (they are sentences that mention one)."""
OLD_PRICE_WEIGHT = -3.0
"""Evidence against an amount the page shows only as an old price."""

WINDOW = 2000
"""Elements before and after the title or buy button (document order) searched for prices."""
MAX_CANDIDATES = 1000
"""Price texts looked at on one page, at most (bounds the work on enormous pages)."""
MIN_SCORE = 0.5
"""The best price must score at least this on its own (repeats do not lift a poor one)."""
REPEAT_BONUS = 0.25
MAX_REPEATS = 2
"""An amount shown again adds a little, twice at most (option lists repeat prices many times)."""

_PRICE_TOKENS = frozenset(PRICE_TOKENS)
_OLD_TOKENS = frozenset(t.lower() for t in OLD_PRICE_TOKENS)
_DIGIT = re.compile(r"\d")
_WORD_MARKS = ("kr", "Kr", "KR", "kr.", "zł", "zl", "Zł", "kč", "Kč", "kn", "Kn", "KN", "ft", "Ft", "lei", "Lei", "lv",
               "лв", "руб", "Руб", "грн", "р.", "rs", "Rs", "RS", "Rs.", "dh", "Dh", "DH", "tl", "TL", "fr.", "Fr.")
# (case-sensitive with the usual spellings: "HPH-000419" is a code, not Honduran money; IGNORECASE is slow)
_CURRENCY_MARK = re.compile(
    r"[$€£¥₹₽₩₪₺₴₱฿₫₦₵₸₼₾¢]|[元円원]|(?<![^\W\d_])(?:"
    + "|".join(re.escape(m) for m in sorted((*sorted(iso_codes()), *_WORD_MARKS), key=len, reverse=True))
    + r")(?![^\W\d_])"
)
_BARE_CURRENCY = re.compile(r"^\s*(?:" + _CURRENCY_MARK.pattern + r")\s*[~.]?\s*$")
_BARE_NUMBER = re.compile(r"^\s*\d{1,3}(?:[ .,'\u00a0\u202f]\d{3})*(?:[.,]\d{1,2})?(?:[.,]-{1,2})?\s*$|^\s*\d+(?:[.,]\d{1,2})?\s*$")
_AUX_TEXT = re.compile(
    r"(?<![^\W_])(?:was|rrp|uvp|statt|save|saving|you save|per|each|excl\.?|excluding|ex\.? vat|zzgl|ohne mwst|"
    r"brez ddv|bez dph|netto|from|ab|od|dès|desde|a partir de|vanaf|fra|alkaen|month|monthly|deposit|"
    r"shipping|delivery|versand|livraison|envío|spedizione|postage)(?![^\W_])|/\s*(?:mo|month|kg|g|l|ml|m|m2|m²|"
    r"100\s?g|100\s?ml|st|stk|pc|pcs|pz|szt|ks|шт)\b|\d\s*%",
    re.IGNORECASE,
)
_FONT_SIZE = re.compile(r"font(?:-size)?\s*:[^;]*?(\d{2,3})px", re.IGNORECASE)
_ZERO = Decimal(0)
_INVISIBLE = frozenset({"meta", "link", "input"})


@dataclass(slots=True)
class PriceCandidate:
    amount: Decimal
    currency: str | None
    score: float
    element: lxml.etree._Element
    old: bool = False
    features: dict[str, float] | None = None


# ----------------------------------------------------------------------------- features


def is_old(page: Page, element: lxml.etree._Element) -> bool:
    """Struck through or named as a not-selling price (itself or one of 3 ancestors)."""
    node: lxml.etree._Element | None = element
    for _ in range(4):
        if node is None:
            return False
        if node.tag in OLD_PRICE_TAGS or page.tokens(node) & _OLD_TOKENS:
            return True
        if "line-through" in (node.get("style") or "").lower():
            return True
        node = node.getparent()
    return False


def _price_named(page: Page, element: lxml.etree._Element, levels: int) -> bool:
    node: lxml.etree._Element | None = element
    for _ in range(levels):
        if node is None:
            return False
        if page.tokens(node) & _PRICE_TOKENS or node.get("itemprop") in ("price", "lowPrice"):
            return True
        node = node.getparent()
    return False


def _big_font(element: lxml.etree._Element) -> bool:
    node: lxml.etree._Element | None = element
    for _ in range(3):
        if node is None:
            return False
        match = _FONT_SIZE.search(node.get("style") or "")
        if match and int(match.group(1)) >= 18:
            return True
        if node.tag == "font" and (node.get("size") or "").strip().lstrip("+").isdigit() and int(node.get("size").strip().lstrip("+")) >= 4:
            return True
        node = node.getparent()
    return False


def price_features(page: Page, element: lxml.etree._Element, text: str, context: str,
                   has_currency: bool) -> dict[str, float]:
    """What a price text shown in ``element`` looks like: the raw facts, unweighted (the learned
    chooser weighs them; :func:`score` is the hand-set sum)."""
    named1 = _price_named(page, element, 1)
    parent = element.getparent() if element.getparent() is not None else element
    distance = page.anchor_distance(element)
    return {
        "currency": float(has_currency),
        "named": float(named1),
        "named_near": float(not named1 and _price_named(page, parent, 3)),
        "short": float(len(text) <= 20),
        "big_font": float(_big_font(element)),
        "old": float(is_old(page, element)),
        "aux": float(bool(_AUX_TEXT.search(text) or _AUX_TEXT.search(context))),
        "side": float(page.in_side_region(element)),
        "distance": float(min(distance, 24)) if distance is not None else 24.0,
        "no_anchor": float(distance is None),
    }


HAND_WEIGHTS = {"currency": 2.0, "named": 2.0, "named_near": 1.0, "short": 1.0, "big_font": 1.0, "old": -3.0,
                "aux": -2.0, "side": -4.0, "distance": -0.25}
"""The hand-set score of a price text (``distance``: tree steps to the title or buy button, 24 at most)."""


def score(page: Page, element: lxml.etree._Element, text: str, context: str, has_currency: bool) -> tuple[float, bool, dict[str, float]]:
    """``(score, old, features)`` of a price text shown in ``element``; ``context`` is the text around it."""
    features = price_features(page, element, text, context, has_currency)
    value = sum(HAND_WEIGHTS[name] * features[name] for name in HAND_WEIGHTS if not features["no_anchor"] or name != "distance")
    return value, bool(features["old"]), features


def _parse(text: str, page: Page, mark: str | None = None) -> tuple[Decimal | None, str | None]:
    parsed = Price.fromstring(text)
    currency = symbol_currency(parsed.currency, page)
    if currency is None and (mark_found := _CURRENCY_MARK.search(text)):
        currency = symbol_currency(mark_found.group(0), page)
    amount = read_amount(text, mark, currency)
    if amount is None:
        amount = parsed.amount
    if amount is None or amount <= _ZERO:
        return None, None
    return amount, currency


def page_decimal_mark(page: Page) -> str | None:
    """The page's decimal mark: the one its unambiguous prices use, else its locale's."""
    mark = decimal_mark_of(t.text for t in page.texts[:5000] if len(t.text) <= 40 and _CURRENCY_MARK.search(t.text))
    if mark:
        return mark
    countries = page_countries(page)
    for language in page_languages(page):
        if found := locale_decimal_mark(language, countries[0] if countries else None):
            return found
    return locale_decimal_mark(None, countries[0]) if countries else None


# --------------------------------------------------------------------------- candidates


def _context(page: Page, texts: list[Text], i: int) -> str:
    """The text just before a price (a label such as "Was" or "excl. VAT") when it sits next to
    it, plus a unit right after it ("/ 100 g")."""
    parts = []
    before = texts[i - 1].text if i > 0 else ""
    if i > 0 and page.distance(texts[i - 1].element, texts[i].element) <= 2 and len(before) <= 40 and \
            not (_DIGIT.search(before) and _CURRENCY_MARK.search(before)):  # a price of its own is no label of this one
        parts.append(before)
    if i + 1 < len(texts) and texts[i + 1].text.lstrip().startswith(("/", "per ", "pro ")):
        parts.append(texts[i + 1].text)
    return " ".join(parts)


def price_candidates(page: Page) -> list[PriceCandidate]:
    """Every price-looking thing in the page's body, scored (best first)."""
    found: list[PriceCandidate] = []
    texts = page.texts

    mark = page_decimal_mark(page)

    def add(element: lxml.etree._Element, text: str, context: str = "") -> None:
        amount, currency = _parse(text, page, mark)
        if amount is None:
            return
        has_currency = currency is not None and bool(_CURRENCY_MARK.search(text))
        if not has_currency and not _price_named(page, element, 3):
            return  # a number with neither a currency nor a price-like name is no price
        value, old, features = score(page, element, text, context, has_currency)
        found.append(PriceCandidate(amount, currency, value, element, old, features))

    low, high = page.window(WINDOW)
    for i, text in enumerate(texts):
        if not low <= text.index <= high:
            continue
        if len(found) >= MAX_CANDIDATES:
            break
        words = text.text
        if len(words) > 40 or not _DIGIT.search(words):
            continue
        if _CURRENCY_MARK.search(words):
            add(text.element, words, _context(page, texts, i))
        elif _BARE_NUMBER.match(words):  # "30,000" then "원~", or "€" then "40"
            for j in (i + 1, i - 1):
                if 0 <= j < len(texts) and _BARE_CURRENCY.match(texts[j].text) and \
                        page.distance(texts[j].element, text.element) <= 3:
                    joined = f"{words} {texts[j].text}" if j > i else f"{texts[j].text} {words}"
                    add(text.element, joined, _context(page, texts, min(i, j)))
                    break
    for element in page.named(_PRICE_TOKENS):
        if element.tag in _INVISIBLE or not low <= page.index.get(element, -1) <= high:
            continue
        if len(found) >= 2 * MAX_CANDIDATES:
            break
        text = page.text_of(element, MAX_PRICE_TEXT + 1)
        if text and len(text) <= MAX_PRICE_TEXT and _DIGIT.search(text) and len(_CURRENCY_MARK.findall(text)) <= 1:
            add(element, text)
        for name in ("content", "data-price", "data-price-amount", "data-value"):
            value = element.get(name)
            if value and _DIGIT.search(value) and len(value) < 20:
                amount, _ = parse_price(value)
                if amount is not None and Decimal(amount) > _ZERO:
                    points, old, features = score(page, element, value, "", False)
                    features["attribute"] = 1.0
                    found.append(PriceCandidate(Decimal(amount), None, points - 0.5, element, old, features))
    found.sort(key=lambda c: -c.score)
    return found


def main_price(candidates: list[PriceCandidate]) -> PriceCandidate | None:
    """The best-scored price (``None`` when even the best is poor), with equal amounts shown
    elsewhere adding a little."""
    if not candidates:
        return None
    totals: dict[Decimal, float] = {}
    best: dict[Decimal, PriceCandidate] = {}
    repeats: dict[Decimal, int] = {}
    for candidate in candidates:
        if candidate.amount not in best:
            best[candidate.amount] = candidate
            totals[candidate.amount] = candidate.score
            repeats[candidate.amount] = 0
        elif candidate.score > 0 and repeats[candidate.amount] < MAX_REPEATS:
            totals[candidate.amount] += REPEAT_BONUS
            repeats[candidate.amount] += 1
    amount = max(totals, key=lambda a: totals[a])
    winner = best[amount]
    if winner.score < MIN_SCORE:
        return None
    currency = winner.currency or next((c.currency for c in candidates if c.amount == amount and c.currency), None)
    return PriceCandidate(amount, currency, totals[amount], winner.element, winner.old)


def old_amounts(candidates: list[PriceCandidate]) -> set[Decimal]:
    """Amounts shown near the product only as old prices (never as a current price)."""
    current = {c.amount for c in candidates if not c.old and c.score > -2}
    return {c.amount for c in candidates if c.old and c.score > -6 and c.amount not in current}


def extract_price(page: Page) -> tuple[PriceCandidate | None, list[Candidate]]:
    """The page's main visible price (or ``None``), and candidates: ``price`` and ``currency``
    from it, and evidence against amounts shown only as old prices."""
    candidates = price_candidates(page)
    winner = main_price(candidates)
    found: list[Candidate] = []
    if winner is not None:
        weight = 3.0 if winner.score >= 3 else 2.0
        amount, _ = parse_price(winner.amount)
        found.append(Candidate("price", amount, weight, SOURCE))
        if winner.currency:
            found.append(Candidate("currency", winner.currency, weight, SOURCE))
    for old in old_amounts(candidates):
        amount, _ = parse_price(old)
        found.append(Candidate("price", amount, OLD_PRICE_WEIGHT, SOURCE_OLD))
    found += seen_amounts(page, candidates)
    return winner, found


def seen_amounts(page: Page, candidates: list[PriceCandidate]) -> list[Candidate]:
    """One weightless candidate per amount shown (at most :data:`MAX_SEEN`), its features summed
    up over the places it is shown: the best of each good sign, the share of bad signs, how often
    it is shown, where the nearest one sits."""
    by_amount: dict[Decimal, list[PriceCandidate]] = {}
    for candidate in candidates:  # best first
        if candidate.features is not None and (candidate.amount in by_amount or len(by_amount) < MAX_SEEN):
            by_amount.setdefault(candidate.amount, []).append(candidate)
    if not by_amount:
        return []
    n_elements = max(1, len(page.elements))
    nearest_distance = sorted({min(c.features["distance"] for c in shown) for shown in by_amount.values()})
    found = []
    for amount, shown in by_amount.items():
        feats = [c.features for c in shown]
        n = len(feats)
        nearest = min(shown, key=lambda c: c.features["distance"])
        features = {f"p_{name}": max(f.get(name, 0.0) for f in feats)
                    for name in ("currency", "named", "named_near", "short", "big_font", "attribute")}
        features |= {f"p_{name}": sum(f[name] for f in feats) / n for name in ("old", "aux", "side")}
        features["p_all_old"] = float(all(f["old"] for f in feats))
        features["p_distance"] = nearest.features["distance"] / 24
        features["p_no_anchor"] = nearest.features["no_anchor"]
        features["p_distance_rank"] = min(nearest_distance.index(nearest.features["distance"]), 4) / 4
        features["p_shown"] = min(n, 6) / 6
        features["p_position"] = page.index.get(nearest.element, 0) / n_elements
        features["p_depth"] = min(len(page.path(nearest.element)), 40) / 40
        features["p_cents"] = float(amount != amount.to_integral_value())
        features["p_currency_written"] = float(any(c.currency for c in shown))
        value, _ = parse_price(amount)
        found.append(Candidate("price", value, 0.0, SOURCE_SEEN, features))
    return found
