"""What each extraction layer hands back: the fields it found, already normalised."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

LAYER_ORDER = ("json-ld", "microdata", "rdfa", "profile", "state", "opengraph", "page")
"""The layers, best first (a profile's source is ``profile:<name>``, the page heuristics' ``page``).
List fields (images, category path) come from the first layer that has them; scalar fields are
resolved by the weight of evidence (``resolve.py``), this order breaking ties."""


@dataclass
class LayerResult:
    """Fields one layer found on a page.

    ``fields`` uses :class:`~labelops.contracts.ExtractedProduct` names and holds only values that
    were found. ``is_product`` says whether this layer alone shows the page is a product page.
    """

    source: str
    fields: dict[str, Any] = field(default_factory=dict)
    is_product: bool = False

    def __bool__(self) -> bool:
        return self.is_product or bool(self.fields)


def is_empty(value: Any) -> bool:
    """True for values that count as 'not found' (None, "", [], {})."""
    return value is None or (isinstance(value, (str, list, dict, tuple)) and not value)


def compact(fields: dict[str, Any]) -> dict[str, Any]:
    """The fields without empty values."""
    return {k: v for k, v in fields.items() if not is_empty(v)}


@dataclass(slots=True)
class Candidate:
    """One value for one field, with how much evidence backs it.

    Structured layers give their values a weight by layer (:data:`LAYER_WEIGHTS`); page
    heuristics weigh what they saw (a labelled value, a price beside the buy button...). The
    resolver adds up the weight of equal values and keeps the heaviest.
    """

    field: str
    value: Any
    weight: float
    source: str
    features: dict[str, float] | None = None
    """What the learned chooser (``chooser.py``) reads about this candidate beyond its source,
    e.g. a visible price's distance to the title; ``None`` when there is nothing more."""
