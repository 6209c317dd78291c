"""Scoring extraction output against a ground truth, with the product-extraction benchmark's rule.

Ground truth gives each page a *list* of accepted values per field; a prediction is one value.
Per page and field (``hard_matching`` of the benchmark):

* no prediction, truth listed → one false negative;
* prediction among the accepted values → one true positive;
* any other prediction → one false positive (plus a false negative when a truth was listed).

Values are compared as follows: prices as decimals ("249" = "249.00"); strings with surrounding
whitespace stripped; brands also case-insensitively ("KORG" = "Korg", as the issue's figures for
the baselines count them); currencies as ISO 4217 codes. The ground truth sometimes writes a currency
as the page shows it ("₽", "Rs", "$"): such a symbol accepts every currency written with it
("$" accepts USD, CAD, AUD...; "Rs" accepts INR, PKR...). A predicted symbol is read as its usual
currency ("$" → USD).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from labelops.currencies import codes_by_symbol
from labelops.normalize import currency_code

FIELDS = ("price", "sku", "availability", "brand", "currency")
"""Fields the benchmark table reports."""


@dataclass(frozen=True)
class Score:
    """Counts and metrics of one field for one system."""

    tp: int
    fp: int
    fn: int
    support: int

    @property
    def precision(self) -> float:
        if self.fp == self.fn == 0:
            return 1.0
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 0.0

    @property
    def recall(self) -> float:
        if self.fp == self.fn == 0:
            return 1.0
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 0.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0


# ------------------------------------------------------------------------------ value rules


def _decimal(value: Any) -> Decimal | None:
    try:
        number = Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        return None
    return number if number.is_finite() else None


def accepted_currencies(value: Any) -> frozenset[str]:
    """ISO codes a ground-truth currency accepts: the code itself, or every currency written
    with that symbol (plus the symbol's usual reading)."""
    if not isinstance(value, str) or not value.strip():
        return frozenset()
    text = value.strip()
    codes = set(codes_by_symbol().get(text.casefold(), ()))
    for variant in (text.casefold().rstrip(".~ "), text.casefold().replace(" ", "")):
        codes |= codes_by_symbol().get(variant, set())
    usual = currency_code(text) or currency_code(text.rstrip(".~ "))
    if usual:
        codes.add(usual)
    return frozenset(codes)


def _text(value: Any) -> str | None:
    if value is None:
        return None
    text = str(value).strip()
    return text or None


def match_price(true: Iterable[Any], pred: Any) -> bool:
    number = _decimal(pred)
    return number is not None and number in {d for t in true if (d := _decimal(t)) is not None}


def match_currency(true: Iterable[Any], pred: Any) -> bool:
    code = currency_code(pred) if isinstance(pred, str) else None
    if code is None:
        return False
    return any(code in accepted_currencies(t) for t in true)


def match_text(true: Iterable[Any], pred: Any) -> bool:
    text = _text(pred)
    return text is not None and text in {t for v in true if (t := _text(v)) is not None}


def match_brand(true: Iterable[Any], pred: Any) -> bool:
    text = _text(pred)
    return text is not None and text.casefold() in {t.casefold() for v in true if (t := _text(v)) is not None}


MATCHERS: dict[str, Callable[[Iterable[Any], Any], bool]] = {
    "price": match_price,
    "currency": match_currency,
    "sku": match_text,
    "brand": match_brand,
    "availability": match_text,
    "mpn": match_text,
    "gtin": match_text,
}


# ---------------------------------------------------------------------------------- scoring


def _true_values(page_truth: Mapping[str, Any], field: str) -> list[Any]:
    values = page_truth.get(field)
    if values is None:
        return []
    values = values if isinstance(values, list) else [values]
    return [v for v in values if _text(v) is not None]


def outcome(true: list[Any], pred: Any, field: str) -> tuple[int, int, int]:
    """``(tp, fp, fn)`` of one page and field."""
    if _text(pred) is None:
        return (0, 0, 1) if true else (0, 0, 0)
    if true and MATCHERS[field](true, pred):
        return 1, 0, 0
    return 0, 1, 1 if true else 0


def score_field(truth: Mapping[str, Mapping[str, Any]], predictions: Mapping[str, Mapping[str, Any]], field: str) -> Score:
    """The score of one field over all pages of ``truth`` (a page missing from
    ``predictions`` predicts nothing)."""
    tp = fp = fn = support = 0
    for page, page_truth in truth.items():
        true = _true_values(page_truth, field)
        support += bool(true)
        a, b, c = outcome(true, (predictions.get(page) or {}).get(field), field)
        tp, fp, fn = tp + a, fp + b, fn + c
    return Score(tp, fp, fn, support)


def score_all(truth: Mapping[str, Mapping[str, Any]], predictions: Mapping[str, Mapping[str, Any]],
              fields: Iterable[str] = FIELDS) -> dict[str, Score]:
    """:func:`score_field` for each field."""
    return {field: score_field(truth, predictions, field) for field in fields}


def errors(truth: Mapping[str, Mapping[str, Any]], predictions: Mapping[str, Mapping[str, Any]],
           field: str) -> list[tuple[str, list[Any], Any]]:
    """``(page, accepted values, prediction)`` of each page where a field is not a true positive."""
    wrong = []
    for page, page_truth in truth.items():
        true = _true_values(page_truth, field)
        pred = (predictions.get(page) or {}).get(field)
        if outcome(true, pred, field)[1:] != (0, 0):
            wrong.append((page, true, pred))
    return wrong
