"""The learned choice of each field's value: a small logistic regression over candidate features,
shipped as data (``chooser.json``: feature names, scaling, coefficients, an abstention threshold
per field), not as pickled code.

All candidates of a field with the same value (as the resolver compares them: "249" = "249.00",
"466/7999" = "4667999") form one *group*. A group's features say who proposes the value and what
the page shows of it, with no hand-set weight between layers:

* ``src_<layer>``: a structured layer (JSON-LD, microdata, RDFa, OpenGraph, a site profile) has it;
  ``src_page:<heuristic>``: the sum of a page heuristic's own evidence for it (a labelled code
  beside the title counts more than one in the footer: that is the heuristic's local reading);
* ``offer_other`` / ``offer_ambiguous``: the value is another offer's price / the first of offers
  at several prices;
* ``visible`` / ``hidden``: an identifier the page shows as visible text, or not;
* ``p_*`` (prices): where and how the amount is shown: a currency written with it, a price-like
  class, a big font, struck through or "was" context, per-unit or instalment context, inside a
  related-products region, tree distance to the title and buy button, position and depth in the
  document, how often it is shown, cents;
* value shape: an identifier's length, digits only, a valid GTIN check digit; a brand named in
  the title; the stock state;
* ``n_values``, ``share``, ``n_sources``: how contested the field is, how much of it this value holds.

The model gives each group a probability; the most probable value wins when it clears the
field's threshold, otherwise the field is left out rather than guessed. Fields the model does not
cover keep the evidence weights of ``resolve.py``.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from labelops.extraction.fields import Candidate
from labelops.extraction.resolve import IDENTIFIERS, _key
from labelops.normalize import gtin_valid

MODEL_PATH = Path(__file__).with_name("chooser.json")
LEARNED_FIELDS = ("price", "sku", "availability", "brand")
"""Fields the chooser decides; the others keep the resolver's weights."""
_UNWEIGHTED = frozenset({"page:price", "page:old-price", "page:data-price", "page:data-old-price"})
"""The hand-scored price heuristic's verdicts: the chooser reads the raw ``page:price-seen`` facts instead.
The ``data-*`` price attributes are left out too: as chooser features they cost one leave-one-shop-out
price page on the dev set (0.889 → 0.874), so only the evidence weights read them for now."""


@dataclass
class Group:
    """All candidates of one field with one value."""

    field: str
    value: Any
    candidates: list[Candidate] = field(default_factory=list)
    features: dict[str, float] = field(default_factory=dict)


def _source(candidate: Candidate) -> str:
    return "profile" if candidate.source.startswith("profile") else candidate.source


def groups(candidates: Iterable[Candidate], visible: frozenset[str] = frozenset(),
           titles: Iterable[str] = (), fields: Iterable[str] = LEARNED_FIELDS) -> dict[str, list[Group]]:
    """The candidates of each learned field grouped by value, each group with its features."""
    by_field: dict[str, dict[Any, Group]] = {}
    wanted = frozenset(fields)
    for candidate in candidates:
        if candidate.field not in wanted:
            continue
        key = _key(candidate.field, candidate.value)
        found = by_field.setdefault(candidate.field, {})
        group = found.get(key)
        if group is None:
            group = found[key] = Group(candidate.field, candidate.value)
        if candidate.source == "page:price-seen" and group.candidates and group.candidates[0].source != "page:price-seen":
            group.value = candidate.value
        group.candidates.append(candidate)
    title_text = " ".join(titles).casefold()
    result: dict[str, list[Group]] = {}
    for name, found in by_field.items():
        total = sum(len(g.candidates) for g in found.values())
        for group in found.values():
            group.features = _features(group, len(found), total, visible, title_text)
        _relative(list(found.values()))
        result[name] = list(found.values())
    return result


RELATIVE = ("share", "n_sources", "p_distance", "p_old", "p_aux", "p_side", "p_shown", "p_named", "p_currency",
            "p_big_font", "p_position", "src_page:label", "src_page:named", "src_page:brand", "src_page:availability",
            "src_page:script", "visible")
"""Features also given relative to the page's best value (``rel_<name>``: 0 for the page's best,
negative below it): the choice is among the page's candidates, so how a value compares counts."""


def _relative(found: list[Group]) -> None:
    for name in RELATIVE:
        values = [g.features.get(name) for g in found]
        if all(v is None for v in values):
            continue
        top = max((v for v in values if v is not None), default=0.0)
        low = min((v for v in values if v is not None), default=0.0)
        for group, value in zip(found, values):
            value = value if value is not None else 0.0
            group.features[f"rel_{name}"] = value - top
            group.features[f"low_{name}"] = value - low


def _features(group: Group, n_values: int, n_candidates: int, visible: frozenset[str], title: str) -> dict[str, float]:
    features: dict[str, float] = {}
    sources: set[str] = set()
    for candidate in group.candidates:
        source = _source(candidate)
        if source in _UNWEIGHTED:
            continue
        sources.add(source)
        name = f"src_{source}"
        if source.startswith("page:"):
            features[name] = features.get(name, 0.0) + candidate.weight
        else:
            features[name] = 1.0
        for extra, value in (candidate.features or {}).items():
            features[extra] = max(features.get(extra, value), value)
    sources.discard("page:price-seen")
    features["n_sources"] = float(len(sources))
    features["n_values"] = math.log(n_values)
    features["share"] = len(group.candidates) / max(1, n_candidates)
    text = str(group.value).strip()
    if group.field == "price":
        features["p_unseen"] = float("p_shown" not in features)
    elif group.field in IDENTIFIERS:
        shown = bool(visible) and text in visible
        features["visible"] = float(shown)
        features["hidden"] = float(bool(visible) and not shown)
        features["id_length"] = min(len(text), 30) / 30
        features["id_digits"] = float(text.isdigit())
        features["id_gtin"] = float(gtin_valid(text))
        features["id_spaces"] = float(" " in text)
    elif group.field == "brand":
        features["brand_in_title"] = float(bool(title) and text.casefold() in title)
        features["brand_words"] = min(len(text.split()), 6) / 6
        features["brand_digits"] = float(any(c.isdigit() for c in text))
    elif group.field == "availability":
        features["in_stock"] = float(text == "InStock")
    return features


@dataclass(frozen=True)
class FieldModel:
    """One field's logistic regression: ``p = sigmoid(intercept + coef · (x - mean) / scale)``."""

    names: tuple[str, ...]
    mean: tuple[float, ...]
    scale: tuple[float, ...]
    coef: tuple[float, ...]
    intercept: float
    threshold: float

    def probability(self, features: dict[str, float]) -> float:
        z = self.intercept
        for name, mean, scale, coef in zip(self.names, self.mean, self.scale, self.coef):
            z += coef * (features.get(name, 0.0) - mean) / scale
        return 1.0 / (1.0 + math.exp(-max(-30.0, min(30.0, z))))

    def to_json(self) -> dict[str, Any]:
        return {"features": list(self.names), "mean": list(self.mean), "scale": list(self.scale),
                "coef": list(self.coef), "intercept": self.intercept, "threshold": self.threshold}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> FieldModel:
        return cls(tuple(data["features"]), tuple(data["mean"]), tuple(data["scale"]), tuple(data["coef"]),
                   float(data["intercept"]), float(data["threshold"]))


@dataclass(frozen=True)
class Chooser:
    """Field models by field name (fields without a model keep the resolver's choice)."""

    models: dict[str, FieldModel]
    info: dict[str, Any] = field(default_factory=dict)

    def choose(self, candidates: list[Candidate], visible: frozenset[str] = frozenset(),
               titles: Iterable[str] = ()) -> dict[str, Candidate | None]:
        """Per learned field: the most probable value as a candidate (its weight is the
        probability), or ``None`` when even the best is below the field's threshold."""
        chosen: dict[str, Candidate | None] = {name: None for name in self.models}
        for name, found in groups(candidates, visible, titles, self.models).items():
            model = self.models.get(name)
            if model is None:
                continue
            scored = [(model.probability(g.features), -i, g) for i, g in enumerate(found)]
            probability, _, best = max(scored, key=lambda item: item[:2])
            if probability >= model.threshold:
                chosen[name] = Candidate(name, best.value, probability, best.candidates[0].source)
        return chosen

    def to_json(self) -> dict[str, Any]:
        return {"info": self.info, "fields": {name: model.to_json() for name, model in self.models.items()}}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Chooser:
        return cls({name: FieldModel.from_json(m) for name, m in data["fields"].items()}, data.get("info", {}))

    def save(self, path: Path = MODEL_PATH) -> None:
        path.write_text(json.dumps(self.to_json(), indent=1, sort_keys=True) + "\n", encoding="utf-8")


@lru_cache(maxsize=1)
def shipped() -> Chooser | None:
    """The chooser shipped with labelops (``chooser.json``), or ``None`` when there is none."""
    if not MODEL_PATH.is_file():
        return None
    return Chooser.from_json(json.loads(MODEL_PATH.read_text(encoding="utf-8")))
