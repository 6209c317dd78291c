"""Keep descriptions to the facts their product's input supports.

A data-to-text model learns what its targets do: shop descriptions that state numbers, brands or
attribute values absent from the input ("30 Day Replacement Guarantee", a plot summary's
dates) teach it to state things it cannot know. :func:`ground` drops every clause of a text
that :func:`~labelops.textgen.metrics.find_hallucinations` finds unsupported by the product's
input, and keeps the rest as written. It runs twice:

- on training targets (:func:`labelops.textgen.data.build_example`), so the model learns to
  state only what its input supports (the stored listing keeps what the shop published, and
  evaluation still compares against the published description);
- on generated descriptions (:func:`labelops.textgen.generate.generate_texts`, option
  ``ground``), as a guard: a statement the model invents anyway never reaches a label.

Clauses end at sentence ends, semicolons and commas (Latin and CJK punctuation), so one
invented number costs its clause, not the whole description.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from labelops.textgen.metrics import HallucinationVocabulary, find_hallucinations

# a delimiter: Latin sentence end / semicolon / comma followed by a space (not "1,299" or "Rs."
# before a number), or any CJK clause mark
_CLAUSE_END = re.compile(r"((?<!\bRs)(?<!\bNo)[.!?;,](?=\s|$)\s*|[。！？；，、]\s*)")


def clauses(text: str) -> list[tuple[str, str]]:
    """(clause, the delimiter after it) pairs; joining them gives ``text`` back."""
    parts = _CLAUSE_END.split(text)
    return [(parts[i], parts[i + 1] if i + 1 < len(parts) else "") for i in range(0, len(parts), 2)]


def ground(text: str, row: Mapping[str, Any], vocabulary: HallucinationVocabulary | None = None) -> str:
    """``text`` without the clauses that state something ``row`` does not support."""
    if not text or not find_hallucinations(text, row, vocabulary):
        return text
    kept = [clause + end for clause, end in clauses(text)
            if clause.strip() and not find_hallucinations(clause, row, vocabulary)]
    grounded = "".join(kept).strip()
    return re.sub(r"[,;，、；]\s*$", "", grounded).strip()
