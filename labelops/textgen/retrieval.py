"""Exemplars: how the most similar training product was described, as a hint in the prompt.

Retrieve-then-edit generation: the prompt of every product ends with the description of its
nearest training product (by the facts :class:`~labelops.textgen.baselines.NearestNeighbourBaseline`
compares), delexicalised against *that* product's own facts, so its brand, title, price and
attribute values are slots (``⟦brand⟧``) and the model fills them from the product being
described. The model learns to keep what fits (structure, wording of the product type) and to
drop what does not; the nearest-neighbour baseline is this exemplar with the neighbour's facts
left in.

A training product never gets itself as exemplar (the neighbour search excludes its
``listing_id``), so the model cannot learn to copy its own target. The index travels with the
trained model so generation finds the same exemplars in any process, stored as data, never as a
pickle: ``exemplars.npz`` (the TF-IDF matrix and weights, read with ``allow_pickle=False``) and
``exemplars.json`` (vocabulary, texts, the rest). A model folder from before, with the pickled
``exemplars.pkl``, is refused rather than unpickled: retrain that model.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from labelops.textgen.baselines import NearestNeighbourBaseline
from labelops.textgen.serialize import MAX_DESCRIPTION_CHARS, clean_description, delexicalize

# the whole (cleaned) description: a model that sees only its start cannot copy what fits from the rest
EXEMPLAR_CHARS = MAX_DESCRIPTION_CHARS
FILE_NAMES = ("exemplars.npz", "exemplars.json")
LEGACY_FILE_NAME = "exemplars.pkl"


def shorten(text: str, max_chars: int = EXEMPLAR_CHARS) -> str:
    """``text`` cut at a word boundary to at most ``max_chars``."""
    if len(text) <= max_chars:
        return text
    cut = text[:max_chars]
    return cut.rsplit(" ", 1)[0] if " " in cut[max_chars // 2:] else cut


class ExemplarIndex:
    """Training products' slotted descriptions, found by the similarity of their facts."""

    def __init__(self, max_chars: int = EXEMPLAR_CHARS) -> None:
        self.max_chars = max_chars
        self._search = NearestNeighbourBaseline()
        self._texts: list[str] = []

    def fit(self, rows: Iterable[Mapping[str, Any]]) -> ExemplarIndex:
        """Index the rows that have a description (each row: Listing fields)."""
        rows = [r for r in rows if clean_description(r.get("description"))]
        if not rows:
            raise ValueError("an exemplar index needs at least one row with a description")
        self._search.fit(rows)
        self._texts = [shorten(delexicalize(clean_description(r.get("description")), r), self.max_chars) for r in rows]
        return self

    def __len__(self) -> int:
        return len(self._texts)

    def exemplars(self, rows: Sequence[Mapping[str, Any]]) -> list[str | None]:
        """The exemplar of each row (``None`` when the index holds no other product)."""
        return [None if i is None else self._texts[i] for i in self._search.neighbours(list(rows))]

    def save(self, folder: str | Path) -> list[Path]:
        """Write the index to ``folder`` as data (:data:`FILE_NAMES`); returns the files."""
        import numpy as np

        arrays, values = self._search.to_state()
        arrays_path, values_path = (Path(folder) / name for name in FILE_NAMES)
        with arrays_path.open("wb") as handle:
            np.savez(handle, **arrays)
        values_path.write_text(json.dumps({"max_chars": self.max_chars, "texts": self._texts, "search": values},
                                          ensure_ascii=False), encoding="utf-8")
        return [arrays_path, values_path]

    @classmethod
    def load(cls, folder: str | Path) -> ExemplarIndex | None:
        """The index saved in ``folder``, or ``None`` for models trained without one."""
        import numpy as np

        arrays_path, values_path = (Path(folder) / name for name in FILE_NAMES)
        if not arrays_path.exists():
            if (Path(folder) / LEGACY_FILE_NAME).exists():
                raise ValueError(f"{Path(folder) / LEGACY_FILE_NAME} is a pickled exemplar index, which labelops no "
                                 "longer loads (a pickle runs code when read): retrain this model")
            return None
        values = json.loads(values_path.read_text(encoding="utf-8"))
        index = cls(values["max_chars"])
        with np.load(arrays_path, allow_pickle=False) as arrays:
            index._search = NearestNeighbourBaseline.from_state(arrays, values["search"])
        index._texts = list(values["texts"])
        return index
