"""Markdown tables, for the Prefect artifacts and summaries (one way to write them)."""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from typing import Any


def row(cells: Sequence[Any]) -> str:
    """One table row: ``| a | b |``."""
    return "| " + " | ".join(str(cell) for cell in cells) + " |"


def table(headers: Sequence[Any], rows: Iterable[Sequence[Any]], right: Collection[int] = ()) -> list[str]:
    """The lines of a table: the header (``| | |`` when every header is empty), the rule (columns
    in ``right`` right-aligned) and the rows."""
    header = row(headers) if any(str(h) for h in headers) else "|" + " |" * len(headers)
    rule = "|" + "".join("---:|" if i in right else "---|" for i in range(len(headers)))
    return [header, rule, *(row(cells) for cells in rows)]
