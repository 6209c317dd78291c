"""Labelled values: "SKU: 123", "Marke: Bosch", "Šifra: 0638", "品番：AB-1", in any markup.

A label is a visible text that starts with a known field name in one of many languages (see
``vocabulary.py``) and is followed by a separator or nothing. Its value is the rest of the same
text ("Product code: 83810610") or else the next visible text in document order, which covers
``<b>Code:</b> 123``, ``<th>SKU</th><td>123</td>``, ``<dt>Brand</dt><dd>X</dd>`` and
``<span>Ref.</span><span>123</span>`` alike.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import lxml.etree

from labelops.extraction.page import Page
from labelops.extraction.vocabulary import (
    AVAILABILITY_LABELS,
    BRAND_LABELS,
    GTIN_LABELS,
    MPN_LABELS,
    SKU_LABELS,
)

MAX_LABEL_TEXT = 80
"""Texts longer than this are sentences, not labels."""
MAX_VALUE_TEXT = 80

LABELS = {
    "sku": SKU_LABELS,
    "mpn": MPN_LABELS,
    "gtin": GTIN_LABELS,
    "brand": BRAND_LABELS,
    "availability": AVAILABILITY_LABELS,
}


def _normal_label(text: str) -> str:
    return " ".join(text.casefold().replace("：", ":").split()).strip(" .:")


LABEL_INDEX: dict[str, str] = {}
"""Label (case-folded, without trailing ``.``/``:``) → field."""
for _field, _labels in LABELS.items():
    for _label in _labels:
        LABEL_INDEX.setdefault(_normal_label(_label), _field)
_MULTIWORD = frozenset(label for label in LABEL_INDEX if " " in label)
_FIRST_WORDS = frozenset(label.split()[0] for label in LABEL_INDEX) | frozenset(
    label.split(":")[0] for label in LABEL_INDEX
)
_SEPARATOR = re.compile(r"\s*(?:[:：#№]|\bn[°º]\.?)\s*")
_SEPARATOR_ONLY = re.compile(r"^[\s:：#|/\-–]*$")
MAX_LABEL_WORDS = 5


def _label_field(head: str) -> str | None:
    """The field a label names: exactly, or a multi-word label after one extra leading word
    ("eBay item number" → sku)."""
    key = _normal_label(head)
    if key in LABEL_INDEX:
        return LABEL_INDEX[key]
    first, _, rest = key.partition(" ")
    if rest in _MULTIWORD:
        return LABEL_INDEX[rest]
    return None


def match_label(text: str) -> tuple[str, str, bool] | None:
    """``(field, value, separated)`` when a text starts with a label; ``value`` is what follows it
    ("" for a bare label); ``separated`` when a ``:``-like separator came between."""
    if len(text) > MAX_LABEL_TEXT:
        return None
    words = text.casefold().split(None, 2)
    if not any(w.strip(".:：#") in _FIRST_WORDS or w.split(":")[0].split("：")[0] in _FIRST_WORDS for w in words[:2]):
        return None
    separator = _SEPARATOR.search(text, 0, 60)
    if separator and separator.start() > 0:
        field = _label_field(text[: separator.start()])
        if field:
            return field, text[separator.end() :].strip(), True
    words = text.split()
    for n in range(min(MAX_LABEL_WORDS, len(words)), 0, -1):
        field = _label_field(" ".join(words[:n]))
        if field:
            return field, " ".join(words[n:]), words[n - 1].endswith((":", "："))
    return None


@dataclass(slots=True)
class Labelled:
    field: str
    value: str
    element: lxml.etree._Element
    label_element: lxml.etree._Element
    inline: bool
    """Whether label and value were one text ("SKU: 123")."""


def _is_label_text(text: str) -> bool:
    """A bare label ("Brand:", "SKU"), with no value of its own."""
    found = match_label(text)
    return found is not None and not found[1].strip(" :：#|-–")


def labelled_values(page: Page, fields: tuple[str, ...] = tuple(LABELS)) -> list[Labelled]:
    """Every labelled value of the given fields on the page, in document order."""
    found: list[Labelled] = []
    texts = page.texts
    for i, text in enumerate(texts):
        match = match_label(text.text)
        if match is None or match[0] not in fields:
            continue
        field, rest, separated = match
        rest = rest.strip(" :：#|-–")
        if rest:
            # a text that merely starts with the word ("Brand new condition") is not a label:
            # inline values must follow a separator or be single identifiers ("SKU 12345")
            if separated or field in ("sku", "mpn", "gtin") and " " not in rest:
                found.append(Labelled(field, rest[:MAX_VALUE_TEXT], text.element, text.element, True))
            continue
        # a bare label: the value is the next text that is not a separator (within a few texts)
        for following in texts[i + 1 : i + 4]:
            if _SEPARATOR_ONLY.match(following.text):
                continue
            if len(following.text) <= MAX_VALUE_TEXT and not _is_label_text(following.text):
                found.append(Labelled(field, following.text, following.element, text.element, False))
            break
    return found
