"""Keep descriptions to the facts their product's input supports, and state all of them.

A data-to-text model learns what its targets do: shop descriptions that state numbers absent
from the input ("30 Day Replacement Guarantee", a plot summary's dates) or that the fact checker
finds wrong (another product's name or price) teach it to state things it cannot know.
:func:`ground` drops every clause of a text that states a number the product's input does not
(:meth:`~labelops.factcheck.FactChecker.unsupported`) or has a finding of the
:class:`~labelops.factcheck.FactChecker`, and keeps the rest as written. It runs twice:

- on training targets (:func:`labelops.textgen.data.build_example`), so the model learns to
  state only what its input supports (the stored listing keeps what the shop published, and
  evaluation still compares against the published description);
- on generated descriptions (:func:`labelops.textgen.generate.generate_texts`, option
  ``ground``), as a guard: a statement the model invents anyway never reaches a label. The gate
  measures the model's own text, before this guard (:mod:`labelops.evaluation`).

Clauses end at sentence ends, semicolons and commas (Latin and CJK punctuation), so one
invented number costs its clause, not the whole description.

:func:`complete` is the other half, for generated descriptions only (option ``complete``, on by
default): the product's attribute values (and brand) that the text leaves out, as
:func:`~labelops.textgen.metrics.attribute_coverage` judges it, are stated after it in the
template baseline's wording ("Key: value." / "key为value。"), so a label states every fact a
shopper filters by even where the model, which sees at most ``MAX_ATTRIBUTES`` of them, wrote
about others. The model's own text stays first and unchanged; the benchmark reports the model
with and without this step.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from labelops.factcheck import FactChecker
from labelops.textgen.baselines import state_facts
from labelops.textgen.facts import is_cjk, unstated_facts

# what completion may grow a description to: under the labels suite's 2,000 characters
MAX_COMPLETED_CHARS = 1800

# a delimiter: Latin sentence end / semicolon / comma followed by a space (not "1,299" or "Rs."
# before a number), or any CJK clause mark
_CLAUSE_END = re.compile(r"((?<!\bRs)(?<!\bNo)[.!?;,](?=\s|$)\s*|[。！？；，、]\s*)")


def clauses(text: str) -> list[tuple[str, str]]:
    """(clause, the delimiter after it) pairs; joining them gives ``text`` back."""
    parts = _CLAUSE_END.split(text)
    return [(parts[i], parts[i + 1] if i + 1 < len(parts) else "") for i in range(0, len(parts), 2)]


def _wrong(text: str, row: Mapping[str, Any], checker: FactChecker) -> bool:
    return bool(checker.unsupported(text, row) or checker.check(text, row))


def ground(text: str, row: Mapping[str, Any], checker: FactChecker | None = None) -> str:
    """``text`` without the clauses that state something ``row`` does not support or contradicts
    (a clause said a second time goes too)."""
    checker = checker or FactChecker()
    if not text or not _wrong(text, row, checker):
        return text
    kept, seen = [], set()
    for clause, end in clauses(text):
        key = " ".join(clause.casefold().split())
        if clause.strip() and key not in seen and not _wrong(clause, row, checker):
            kept.append(clause + end)
        seen.add(key)
    grounded = re.sub(r"[,;，、；]\s*$", "", "".join(kept).strip()).strip()
    if grounded and re.search(r"[.!?。！？]\s*$", text) and not re.search(r"[.!?。！？]$", grounded):
        grounded += "。" if is_cjk(grounded) else "."  # the sentence still ends where the text did
    return grounded


def complete(text: str, row: Mapping[str, Any], max_chars: int = MAX_COMPLETED_CHARS) -> str:
    """``text``, then the facts of ``row`` it does not state, in the row's order, as long as the
    whole stays within ``max_chars`` (a fact that does not fit is left out, not cut)."""
    missing = unstated_facts(text, row)
    if not missing:
        return text
    cjk = is_cjk(text) if text.strip() else is_cjk(" ".join(value for _, value in missing))
    text = text.strip()
    if cjk:
        text = re.sub(r"[，、；,;]$", "", text)
        if text and not re.search(r"[。！？.!?]$", text):
            text += "。"
    elif text and not re.search(r"[.!?]$", text):
        text = re.sub(r"[,;:]$", "", text) + "."
    separator = "" if cjk or not text else " "
    kept: list[tuple[str, str]] = []
    for pair in missing:
        if len(text) + len(separator) + len(state_facts([*kept, pair], cjk)) > max_chars:
            continue
        kept.append(pair)
    return text + separator + state_facts(kept, cjk) if kept else text
