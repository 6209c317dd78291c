"""Choosing each field's value when layers disagree, by the weight of evidence.

Every layer's value for a field is a :class:`~labelops.extraction.fields.Candidate`: structured
layers weigh by how reliable the layer is (:data:`LAYER_WEIGHTS`), page heuristics by what they
saw. Equal values add up (a JSON-LD price that is also the price beside the buy button beats a
microdata price nobody else shows); identifiers the page shows in its visible text count more.
The heaviest value wins; on a tie the earlier candidate (the better layer) wins.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from decimal import Decimal, InvalidOperation
from typing import Any

from labelops.extraction.fields import Candidate, LayerResult, is_empty
from labelops.extraction.heuristics.brand import clean_brand

LAYER_WEIGHTS = {"json-ld": 5.0, "microdata": 5.0, "rdfa": 4.0, "opengraph": 3.0, "state": 2.5}
PROFILE_WEIGHT = 3.5
"""A site profile reads the page's own markup: below structured data, above OpenGraph."""
OTHER_OFFER_SHARE = 0.5
"""A price of another offer of the same product weighs this share of the layer's weight..."""
AMBIGUOUS_SHARE = 0.6
"""...and the first offer's price only this share, when the offers' prices differ."""
VISIBLE_BONUS = 1.5
"""Extra weight of an identifier that the page also shows as visible text; a structured-data
identifier the page never shows loses as much (shops put internal ids in their markup)."""
IDENTIFIERS = ("sku", "mpn", "gtin")
_CODE_PUNCTUATION = re.compile(r"[\s/\-._]")
RESOLVED_FIELDS = ("price", "currency", "sku", "gtin", "mpn", "brand", "availability", "title", "description")


def layer_weight(source: str) -> float:
    return PROFILE_WEIGHT if source.startswith("profile") else LAYER_WEIGHTS.get(source, 1.0)


def _key(field: str, value: Any) -> Any:
    if field in ("sku", "mpn"):  # "466/7999" and "4667999" are one code written two ways
        return _CODE_PUNCTUATION.sub("", str(value)).casefold()
    if field == "brand":  # "TP-Link" and "TP Link"
        return _CODE_PUNCTUATION.sub("", str(value)).casefold()
    if field == "price":
        try:
            return Decimal(str(value))
        except (InvalidOperation, ValueError):
            return value
    if isinstance(value, str):
        return value.strip().casefold() if field in ("brand", "title") else value.strip()
    return value


def layer_candidates(layers: Iterable[LayerResult]) -> list[Candidate]:
    """The structured layers' values as candidates (brands cleaned like the page's: "See more from
    the brand: X" is "X"), plus the prices of a product's other offers, weighing less."""
    found: list[Candidate] = []
    for layer in layers:
        weight = layer_weight(layer.source)
        for field in RESOLVED_FIELDS:
            value = layer.fields.get(field)
            if field == "brand":
                value = clean_brand(value)
            if not is_empty(value):
                found.append(Candidate(field, value, weight, layer.source))
        others = layer.fields.get("offer_prices") or ()
        if others:  # offers at several prices: which one is the price is uncertain
            for candidate in found:
                if candidate.source == layer.source and candidate.field == "price":
                    candidate.weight *= AMBIGUOUS_SHARE
                    candidate.features = {"offer_ambiguous": 1.0}
            for price in others:
                found.append(Candidate("price", price, weight * OTHER_OFFER_SHARE, layer.source, {"offer_other": 1.0}))
    return found


def choose(candidates: list[Candidate], visible: frozenset[str] = frozenset()) -> dict[str, Candidate]:
    """The winning candidate of each field (its weight is the total of its equal values)."""
    totals: dict[tuple[str, Any], float] = {}
    first: dict[tuple[str, Any], Candidate] = {}
    shown: set[tuple[str, Any]] = set()
    for candidate in candidates:
        key = (candidate.field, _key(candidate.field, candidate.value))
        weight = candidate.weight
        if candidate.field in IDENTIFIERS and visible:
            if str(candidate.value).strip() in visible:
                if key not in shown:  # the page shows this code: once per code, in the form shown
                    shown.add(key)
                    weight += VISIBLE_BONUS
                    first[key] = candidate
            elif key not in first and not candidate.source.startswith("page"):
                weight -= VISIBLE_BONUS
        first.setdefault(key, candidate)
        totals[key] = totals.get(key, 0.0) + weight
    chosen: dict[str, Candidate] = {}
    best: dict[str, float] = {}
    for key, total in totals.items():  # insertion order: earlier candidates win ties
        field = key[0]
        if total <= 0:  # evidence against outweighs evidence for
            continue
        if field not in best or total > best[field]:
            best[field] = total
            winner = first[key]
            chosen[field] = Candidate(field, winner.value, total, winner.source)
    return chosen


def resolve(layers: list[LayerResult], page_candidates: list[Candidate],
            visible: frozenset[str] = frozenset()) -> tuple[dict[str, Any], list[str]]:
    """``(fields, sources)``: the resolved scalar fields and the sources whose values were kept."""
    chosen = choose(layer_candidates(layers) + page_candidates, visible)
    fields = {field: candidate.value for field, candidate in chosen.items()}
    sources = [c.source for c in chosen.values()]
    return fields, sources
