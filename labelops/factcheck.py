"""The fact checker: what a text says about a product that its own listing contradicts, and the
defects that show a text was not written from this product's facts.

    checker = FactChecker.from_listings(train_rows)   # what the snapshot knows: names, brands, values
    findings = checker.check(text, row)                # [Finding(kind, start, end, text, detail), ...]

Each :class:`Finding` has a kind and the span of the text it is about:

- ``name``: a product name (a line or model, "Ember") that other listings' titles use and this
  listing's facts do not contain;
- ``brand``: another listing's brand, absent from this listing's facts;
- ``attribute``: a value this listing contradicts ("blue" where its colour is red);
- ``wrong_attribute``: this listing's value of one attribute stated as another ("a seat height of
  120 kg" where 120 kg is its maximum load);
- ``number``: a number or unit the listing contradicts (another price; "a seat height of 52 cm" for
  48 cm; a weight where the attribute is a length);
- ``conflict``: two different values stated for one attribute;
- ``empty_slot``: a phrase whose value is missing ("this one is size .", "颜色为。", a raw ⟦slot⟧);
- ``repetition``: a clause or sentence said twice;
- ``garbled``: words no text or fact of the snapshot has ("ALOELISLATLAMALL", "Nillting of the
  crafa"): more than ``GARBLED_SHARE`` of a text's words (Chinese: characters), at least
  ``GARBLED_MIN`` of them, or one unknown word of ``GARBLED_WORD`` letters or more. The vocabulary
  is every word of the training rows' descriptions and facts, and this product's own facts (with
  fewer than ``GARBLED_MIN_TEXTS`` training descriptions, nothing is judged garbled). On
  people's held-out text at most 0.22 of words were unknown (books' blurbs; Flipkart 0.19,
  AdvertiseGen 0.09, demo 0), and none reached 0.3.

The checker judges contradictions, not omissions or additions: a shop's copy may state facts
its structured data lacks ("hand made using mango wood", "10 years of exporting"), and people
write such text correctly. What a text states that the listing cannot support at all (a number
found nowhere in its facts) is :meth:`FactChecker.unsupported`: the grounding guard drops those
clauses from generated text, but they are not findings.

Vocabularies are learned from the snapshot's training rows and calibrated on what people wrote
there: a name, brand or value is looked for only when the training descriptions mention it for
products it belongs to (``min_support`` times) and almost never for others
(``max_unsupported_share``), so words people use freely ("the spec table", "World" in a blurb)
never become findings. Latin names and brands must be written with a capital (a brand
"Innovative" is not found in "innovative design"); Chinese text is matched as written. Keys
anchor values: "seat height of 120 kg", "Colour: blue", "颜色为红色".
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from functools import cached_property, lru_cache
from pathlib import Path
from typing import Any, NamedTuple

from labelops.textgen.facts import (
    CJK_CLASS as _CJK_CLASS,
    attribute_items as _attribute_items,
    category_items as _category_items,
    get_field as _get,
    split_values as _split_values,
    text_value as _text_value,
)

__all__ = ["FINDING_KINDS", "FactChecker", "Finding", "finding_rates"]

FINDING_KINDS = ("name", "brand", "type", "attribute", "wrong_attribute", "number", "conflict", "empty_slot",
                 "repetition", "garbled")
GARBLED_SHARE = 0.3  # of a text's words unknown to the snapshot
GARBLED_MIN = 3  # unknown words, at least
GARBLED_WORD = 25  # letters: an unknown word this long is garbled alone
GARBLED_MIN_TEXTS = 20  # training descriptions, at least, for the vocabulary to judge by
FILE_NAME = "factcheck.json"

_CURRENCY_SYMBOLS = "€$£¥₹"
_TOKEN = re.compile(
    rf"(?P<num>\d+\. \d{{1,2}}(?= ?[^\W\d_])|\d+(?:[.,]\d+)*|(?<![\w.])\.\d+)|(?P<amp>&)|(?P<cjk>[{_CJK_CLASS}])|(?P<word>[^\W\d_{_CJK_CLASS}]+)"
    rf"|(?P<cur>[{_CURRENCY_SYMBOLS}])|(?P<end>[.!?。！？]+)|(?P<mark>[,;:，；：、()\[\]（）【】\"“”])|(?P<slot>[⟦⟧])"
)
_STOPWORDS = frozenset(
    """a an and are as at be but by for from has have in into is it its of on or per so than that the their this
    to was were will with without you your our we they he she his her them these those very all any each every
    more most new made make one two our out up down over under about after before only also just here there""".split()
)
# words that join a key to the value stated for it ("seat height of 48 cm", "Colour: red", "rated for 7 W")
_FILLERS = frozenset(
    """is are was be of at to a an the its it in for about around approx approximately up only just rated
    measures measuring holds hold has have offers comes come weighs weighing equals total""".split()
) | {":", "-", "=", "：", "为", "是", "约", "有"}
_SENTENCE_END = frozenset(".!?。！？")
_DANGLING = frozenset("a an the".split())  # "by the." (a preposition may end an English sentence)
_BEFORE_QUANTITY = frozenset("a an the of with its and".split())  # "a 48 cm seat height"


# ----------------------------------------------------------------------------------- units
# unit → (dimension, factor to the dimension's base unit)
_UNITS: dict[str, tuple[str, float]] = {}
for _dimension, _table in {
    "volume": {"ml": 1, "milliliter": 1, "millilitre": 1, "cl": 10, "l": 1000, "litre": 1000, "liter": 1000,
               "litres": 1000, "liters": 1000, "ltr": 1000, "毫升": 1, "升": 1000},
    "length": {"mm": 1, "cm": 10, "cms": 10, "m": 1000, "meter": 1000, "metre": 1000, "meters": 1000, "km": 1e6,
               "inch": 25.4, "inches": 25.4, "in": 25.4, "ft": 304.8, "feet": 304.8, "毫米": 1, "厘米": 10,
               "公分": 10, "米": 1000},
    "mass": {"mg": 0.001, "g": 1, "gm": 1, "gms": 1, "gram": 1, "grams": 1, "kg": 1000, "kgs": 1000, "lb": 453.6,
             "lbs": 453.6, "克": 1, "千克": 1000, "公斤": 1000},
    "power": {"w": 1, "watt": 1, "watts": 1, "kw": 1000, "瓦": 1},
    "data": {"mb": 1, "gb": 1024, "tb": 1024 ** 2},
    "charge": {"mah": 1},
    "voltage": {"v": 1, "volt": 1, "volts": 1},
    "frequency": {"hz": 1, "khz": 1e3, "mhz": 1e6, "ghz": 1e9},
    "pressure": {"atm": 1, "bar": 1},
    "resolution": {"mp": 1, "megapixel": 1, "megapixels": 1},
}.items():
    for _unit, _factor in _table.items():
        _UNITS[_unit] = (_dimension, float(_factor))
_CURRENCY_WORDS = frozenset("rs inr eur usd gbp chf jpy cny rmb euro euros dollar dollars pound pounds 元".split())


class Quantity(NamedTuple):
    value: float  # in the dimension's base unit
    dimension: str
    number: str  # canonical number as written


class Finding(NamedTuple):
    """One thing wrong with a text: its kind, where it is (``text[start:end]``) and why, in words."""

    kind: str
    start: int
    end: int
    text: str
    detail: str

    def __str__(self) -> str:
        return f"{self.kind}: {self.text} ({self.detail})" if self.detail else f"{self.kind}: {self.text}"


@dataclass(slots=True)
class _Token:
    kind: str  # num, cjk, word, cur, end, mark, slot
    norm: str
    start: int
    end: int
    raw: str
    sentence_start: bool = False


def _normal(text: str) -> str:
    return text.lower() if text.isascii() else unicodedata.normalize("NFKC", text).casefold()


@lru_cache(maxsize=1 << 16)
def _canonical(number: str) -> str:
    number = number.replace(". ", ".")  # "5. 5 l": a decimal point typed with a space after it
    text = number.replace(",", "") if re.fullmatch(r"\d{1,3}(,\d{3})+(\.\d+)?", number) else number.replace(",", ".")
    try:
        return format(Decimal(text).normalize(), "f")
    except InvalidOperation:
        return number


def _tokens(text: str) -> list[_Token]:
    tokens: list[_Token] = []
    new_sentence = True
    for match in _TOKEN.finditer(text):
        kind = match.lastgroup or ""
        raw = match.group()
        if kind == "amp":  # "Boys & Girls" says "Boys and Girls"
            kind = "word"
        norm = _canonical(raw) if kind == "num" else "and" if raw == "&" else _normal(raw) if kind in ("word", "cjk") else raw
        token = _Token(kind, norm, match.start(), match.end(), raw, new_sentence and kind in ("word", "cjk", "num"))
        if kind in ("word", "cjk", "num"):
            new_sentence = False
        elif kind == "end" or (kind == "mark" and raw in ":："):
            new_sentence = True
        tokens.append(token)
    return tokens


@lru_cache(maxsize=1 << 16)
def _term(text: str) -> tuple[str, ...]:
    """The normalised content tokens of a short text (a value, a key, a name)."""
    return tuple(t.norm for t in _tokens(text) if t.kind in ("word", "cjk", "num"))


def _singular(word: str) -> str:
    return word[:-1] if len(word) > 3 and word.endswith("s") and not word.endswith("ss") else word


def _singular_term(term: tuple[str, ...]) -> tuple[str, ...]:
    """A category's name in the singular ("t shirts" → "t shirt", "watches" → "watch")."""
    if not term:
        return term
    last = term[-1]
    if len(last) > 4 and last.endswith(("ches", "shes", "xes", "sses")):
        last = last[:-2]
    else:
        last = _singular(last)
    return (*term[:-1], last)


def _quantities(tokens: Sequence[_Token]) -> list[tuple[int, int, Quantity]]:
    """(first token, end token, quantity) of every number followed by a known unit."""
    found = []
    for i, token in enumerate(tokens):
        if token.kind != "num" or i + 1 >= len(tokens):
            continue
        unit = tokens[i + 1]
        name = unit.norm if unit.kind == "word" else None
        width = 2
        if unit.kind == "cjk":  # 毫升, 厘米, 公斤: up to two characters
            pair = unit.norm + (tokens[i + 2].norm if i + 2 < len(tokens) and tokens[i + 2].kind == "cjk" else "")
            name, width = (pair, 3) if pair in _UNITS else (unit.norm, 2)
        if name in _UNITS:
            dimension, factor = _UNITS[name]
            found.append((i, i + width, Quantity(float(token.norm) * factor, dimension, token.norm)))
    return found


def _same_quantity(a: Quantity, b: Quantity) -> bool:
    return a.dimension == b.dimension and abs(a.value - b.value) <= 0.03 * max(abs(a.value), abs(b.value), 1e-9)


@lru_cache(maxsize=1 << 14)
def _value_quantities(value: str) -> tuple[Quantity, ...]:
    return tuple(q for _, _, q in _quantities(_tokens(value)))


def _find(tokens: Sequence[str], term: tuple[str, ...], start: int = 0) -> int:
    """Index of ``term`` as a run of ``tokens`` at or after ``start``, or -1."""
    n = len(term)
    if not n:
        return -1
    first = term[0]
    for i in range(start, len(tokens) - n + 1):
        if tokens[i] == first and tuple(tokens[i:i + n]) == term:
            return i
    return -1


def _stated_under(other: tuple[str, ...] | None, norms: list[str], tokens: list[_Token], at: int) -> bool:
    """Whether ``other: …`` (a key, then a colon or dash) opens the clause that holds token ``at``:
    then what follows is ``other``'s value, and a key word inside it ("Other Dimensions: Case Width
    23 mm") states nothing."""
    if other is None:
        return False
    start = at
    while start > 0 and not (tokens[start - 1].kind == "end" or tokens[start - 1].raw in ";；"):
        start -= 1
    return any(norms[i + len(other):i + len(other) + 1] in ([":"], ["-"], ["："])
               for i in _find_all(norms[start:at], other) for i in [start + i])


def _find_all(tokens: Sequence[str], term: tuple[str, ...]) -> list[int]:
    found, at = [], _find(tokens, term)
    while at >= 0:
        found.append(at)
        at = _find(tokens, term, at + 1)
    return found


_FLAGS = frozenset(_t for _t in [("yes",), ("no",), ("y",), ("n",), ("true",), ("false",), ("是",), ("否",), ("有",), ("无",)])


def _is_flag(values: Sequence[tuple[str, ...]]) -> bool:
    """A yes/no attribute ("Non-stick: Yes"): its key is used as an adjective, not to state a value."""
    return bool(values) and all(v in _FLAGS for v in values)


def _contains(haystack: tuple[str, ...], needle: tuple[str, ...]) -> bool:
    return _find(haystack, needle) >= 0


# ------------------------------------------------------------------------------ a row's facts
@dataclass
class _Facts:
    """A listing's input, read once."""

    runs: list[tuple[str, ...]]  # token runs of every input text (title, brand, values, keys, ...)
    words: frozenset[str]  # every token of those runs, and singular forms
    numbers: frozenset[str]
    values: dict[tuple[str, ...], list[tuple[str, ...]]]  # key → its value(s) as terms
    quantities: dict[tuple[str, ...], list[Quantity]]  # key → quantities stated by its value
    price: Decimal | None
    kinds: frozenset[str] = frozenset()  # the last word of each of its category levels, singular: what it is

    def supports(self, term: tuple[str, ...]) -> bool:
        return any(_contains(run, term) for run in self.runs)


_INPUT_FIELDS = ("title", "brand", "sku", "mpn", "gtin", "price", "currency")
_KEY_ALIASES = {("colour",): ("color",), ("colours",): ("color",), ("colors",): ("color",)}


def _key_term(key: str) -> tuple[str, ...]:
    term = _term(key)
    return _KEY_ALIASES.get(term, term)


def _facts(row: Any) -> _Facts:
    texts = [_text_value(_get(row, name)) for name in _INPUT_FIELDS] + _category_items(row)
    values: dict[tuple[str, ...], list[tuple[str, ...]]] = {}
    quantities: dict[tuple[str, ...], list[Quantity]] = {}
    for key, value in _attribute_items(row):
        texts += [key, value]
        key_term = _key_term(key)
        parts = [value, *_split_values(value)]
        values.setdefault(key_term, []).extend(t for t in dict.fromkeys(_term(p) for p in parts) if t)
        quantities.setdefault(key_term, []).extend(_value_quantities(value))
    runs = [_term(t) for t in texts if t]
    words = {w for run in runs for w in run}
    words |= {_singular(w) for w in words}
    numbers = frozenset(w for run in runs for w in run if w[:1].isdigit())
    price = None
    if raw := _text_value(_get(row, "price")):
        try:
            price = Decimal(raw.replace(",", ""))
        except InvalidOperation:
            price = None
    kinds = {_singular_term(term)[-1] for text in _category_items(row)
             if (term := tuple(w for w in _term(text) if not w[:1].isdigit()))}
    return _Facts(runs, frozenset(words), numbers, values, quantities, price, frozenset(kinds))


# -------------------------------------------------------------------------------- the checker
@dataclass(frozen=True)
class FactChecker:
    """What a snapshot knows about names, brands and attribute values (see the module docstring).

    ``names``: single-token names (normalised); ``brands``: brand terms; ``values``: attribute key →
    value terms looked for anywhere in a text (calibrated); ``key_values``: attribute key → every
    value the snapshot has for it, looked for only right after the key; ``keys``: attribute keys
    that only products having them are described with ("sole", "water resistance"; calibrated);
    ``types``: the snapshot's category names, a kind of product a text may only call a product
    that is one ("t shirt" for a watch; calibrated); ``vocabulary``: every word of the training
    rows' descriptions and facts (``garbled``; empty: not judged).
    """

    names: frozenset[str] = frozenset()
    brands: frozenset[tuple[str, ...]] = frozenset()
    values: Mapping[tuple[str, ...], frozenset[tuple[str, ...]]] = field(default_factory=dict)
    key_values: Mapping[tuple[str, ...], frozenset[tuple[str, ...]]] = field(default_factory=dict)
    keys: frozenset[tuple[str, ...]] = frozenset()
    types: frozenset[tuple[str, ...]] = frozenset()  # kinds of product (category names, singular and plural)
    vocabulary: frozenset[str] = frozenset()  # every word of the training texts and facts (empty: not judged)

    # ---------------------------------------------------------------------------- building
    @classmethod
    def of(cls, names: Iterable[str] = (), brands: Iterable[str] = (), values: Mapping[str, Iterable[str]] | None = None,
           keys: Iterable[str] = ()) -> FactChecker:
        """A checker from plain words, used as given: ``values`` (key → values) are looked for
        anywhere and after their key; ``keys`` are attribute names only some products have."""
        values = {_key_term(k): frozenset(_term(v) for v in vs if _term(v)) for k, vs in (values or {}).items()}
        return cls(frozenset(_normal(n) for n in names), frozenset(_term(b) for b in brands if _term(b)), values,
                   values, frozenset(_key_term(k) for k in keys))

    @classmethod
    def from_listings(cls, listings: Iterable[Any], *, min_support: int = 3, max_unsupported_share: float = 0.05,
                      max_title_share: float = 0.2, min_key_listings: int = 20,
                      max_distinct_share: float = 0.5) -> FactChecker:
        """The checker of a snapshot, from its training rows (Listing-shaped mappings).

        Candidates: *names* are capitalised title words of at least 3 letters that are no
        brand, attribute value, category or common word anywhere in the snapshot and appear in at
        most ``max_title_share`` of titles; *brands* are the rows' brands; *values* are attribute
        values with a letter and no digit (2–10 characters for Chinese, else 3–30 and at most 4
        words) of keys that are not identifier-like (a key on ``min_key_listings`` or more rows
        whose distinct values exceed ``max_distinct_share`` of them). Each candidate is then
        kept only when the training descriptions mention it for at least ``min_support`` products
        it belongs to and for at most ``max_unsupported_share`` of all products they mention it
        for (judged for values only on rows that have the key).
        """
        rows = list(listings)
        facts = [_facts(r) for r in rows]
        generic: set[str] = set(_STOPWORDS)
        title_counts: dict[str, int] = {}
        brands: set[tuple[str, ...]] = set()
        types: set[tuple[str, ...]] = set()
        key_rows: dict[tuple[str, ...], int] = {}
        key_values: dict[tuple[str, ...], set[tuple[str, ...]]] = {}
        for row, fact in zip(rows, facts):
            brand = _term(_text_value(_get(row, "brand")))
            if brand:
                brands.add(brand)
                generic.update(brand)
            for item in _category_items(row):
                generic.update(_term(item))
                if len("".join(_term(item))) >= 3:
                    types.update({_term(item), _singular_term(_term(item))})
            for key, values in fact.values.items():
                key_rows[key] = key_rows.get(key, 0) + 1
                key_values.setdefault(key, set()).update(values)
                generic.update(key)
                for value in values:
                    generic.update(value)
            seen = set()
            for token in _tokens(_text_value(_get(row, "title"))):
                if token.kind == "word" and token.raw[:1].isupper() and len(token.norm) >= 3 and token.norm not in seen:
                    seen.add(token.norm)
                    title_counts[token.norm] = title_counts.get(token.norm, 0) + 1
        generic |= {_singular(g) for g in generic}
        names = {w for w, n in title_counts.items()
                 if w not in generic and _singular(w) not in generic and n <= max(1, max_title_share * len(rows))}
        identifier_like = {k for k, n in key_rows.items()
                           if n >= min_key_listings and len(key_values[k]) > max_distinct_share * n}
        anchored = {k: frozenset(v) for k, v in key_values.items() if k not in identifier_like}
        free = {k: frozenset(v for v in vs if _free_value_ok(v)) for k, vs in anchored.items()}
        keys = frozenset(k for k in key_rows if k not in identifier_like and len("".join(k)) >= 3
                         and not all(t in _STOPWORDS for t in k))
        described = [d for row in rows if (d := _text_value(_get(row, "description")))]
        vocabulary: set[str] = set()
        if len(described) >= GARBLED_MIN_TEXTS:  # fewer texts know too few words to call one garbled
            vocabulary = {t.norm for d in described for t in _tokens(d) if t.kind in ("word", "cjk")}
            vocabulary |= {w for fact in facts for w in fact.words} | set(_STOPWORDS)
        candidate = cls(frozenset(names), frozenset(b for b in brands if _brand_ok(b)),
                        {k: v for k, v in free.items() if v}, anchored, keys,
                        frozenset(t for t in types if not all(w in _STOPWORDS for w in t)), frozenset(vocabulary))
        return candidate._calibrated(rows, facts, min_support, max_unsupported_share)

    def _calibrated(self, rows: list[Any], facts: list[_Facts], min_support: int, max_share: float) -> FactChecker:
        supported: dict[tuple[str, Any], int] = {}
        unsupported: dict[tuple[str, Any], int] = {}
        from labelops.textgen.serialize import clean_description

        for row, fact in zip(rows, facts):
            text = clean_description(_text_value(_get(row, "description")))
            if not text:
                continue
            mentions = self._mentions(_tokens(text))
            for kind, term, keys in {(m[0], m[1], m[2]) for m in mentions}:
                if kind == "value" and not any(k in fact.values for k in keys):
                    continue  # a value is judged only on rows that have its key
                ok = (term in fact.words) if kind == "name" else fact.supports(term) if kind == "brand" else \
                    _is_type_of(term, fact) if kind == "type" else term in fact.values if kind == "key" else \
                    any(term in fact.values.get(k, ()) or fact.supports(term) for k in keys)
                target = supported if ok else unsupported
                target[(kind, term)] = target.get((kind, term), 0) + 1

        def keep(kind: str, term: Any) -> bool:
            good, bad = supported.get((kind, term), 0), unsupported.get((kind, term), 0)
            if kind == "key":  # an attribute's name is an ordinary phrase more often than a value is
                return good >= 3 * min_support and bad == 0
            if kind == "type":  # a kind of product is often a word of other uses too ("watch TV", "dress your baby")
                return good >= min_support and bad == 0
            return good >= min_support and bad <= max_share * (good + bad)

        values = {k: frozenset(v for v in vs if keep("value", v)) for k, vs in self.values.items()}
        return FactChecker(frozenset(n for n in self.names if keep("name", n)),
                           frozenset(b for b in self.brands if keep("brand", b)),
                           {k: v for k, v in values.items() if v}, self.key_values,
                           frozenset(k for k in self.keys if keep("key", k)),
                           frozenset(t for t in self.types if keep("type", t)), self.vocabulary)

    # ---------------------------------------------------------------------------- matching
    @cached_property
    def _value_keys(self) -> dict[tuple[str, ...], frozenset[tuple[str, ...]]]:
        index: dict[tuple[str, ...], set[tuple[str, ...]]] = {}
        for key, values in self.values.items():
            for value in values:
                index.setdefault(value, set()).add(key)
        return {v: frozenset(k) for v, k in index.items()}

    @cached_property
    def _by_first(self) -> dict[str, list[tuple[str, tuple[str, ...]]]]:
        """Brand, value and key terms by their first token, longest first."""
        index: dict[str, list[tuple[str, tuple[str, ...]]]] = {}
        for kind, terms in (("brand", self.brands), ("type", self.types), ("value", self._value_keys),
                            ("key", self.keys)):
            for term in terms:
                index.setdefault(term[0], []).append((kind, term))
        return {k: sorted(v, key=lambda e: -len(e[1])) for k, v in index.items()}

    def _mentions(self, tokens: list[_Token]) -> list[tuple[str, Any, frozenset, int, int]]:
        """(kind, term, keys, first token, end token) of every name, brand and value in ``tokens``."""
        norms = [t.norm if t.kind in ("word", "cjk", "num") else "\x00" for t in tokens]
        found = []
        by_first = self._by_first
        for i, token in enumerate(tokens):
            if token.kind == "word" and token.norm in self.names and token.raw[:1].isupper() and not token.sentence_start:
                found.append(("name", token.norm, frozenset(), i, i + 1))
            for kind, term in by_first.get(norms[i], ()):
                end = i + len(term)
                if tuple(norms[i:end]) != term:
                    continue
                if kind == "brand" and token.kind == "word" and not token.raw[:1].isupper():
                    continue  # "innovative design" does not name the brand Innovative
                found.append((kind, term, self._value_keys.get(term, frozenset()) if kind == "value" else frozenset(),
                              i, end))
        return found

    # ---------------------------------------------------------------------------- checking
    def check(self, text: str | None, row: Any) -> list[Finding]:
        """The findings of ``text`` as a description of ``row`` (its Listing fields), in text order."""
        if not text:
            return []
        tokens = _tokens(text)
        fact = _facts(row)
        findings: list[Finding] = []

        def add(kind: str, first: int, end: int, detail: str) -> None:
            start, stop = tokens[first].start, tokens[end - 1].end
            findings.append(Finding(kind, start, stop, text[start:stop], detail))

        stated: dict[tuple[str, ...], dict[tuple[str, ...], int]] = {}  # key → value → first token
        mentions = self._mentions(tokens)
        # another kind of product in passing ("bulb included" with a lamp) is fine once the text
        # names what this one is; a text calling a watch only a t-shirt is not
        names_own_type = any(kind == "type" and _is_type_of(term, fact) for kind, term, *_ in mentions) or \
            any(_singular_term((t.norm,))[0] in fact.kinds for t in tokens if t.kind == "word")
        norms = tuple(t.norm if t.kind in ("word", "cjk", "num") else "\x00" for t in tokens)
        for kind, term, keys, first, end in mentions:
            if kind == "name" and term not in fact.words and _singular(term) not in fact.words:
                add("name", first, end, "a name of other listings, not of this one")
            elif kind == "brand" and not fact.supports(term):
                add("brand", first, end, "another listing's brand")
            elif kind == "type" and not _is_type_of(term, fact) and not names_own_type:
                add("type", first, end, "a kind of product this one is not")
            elif kind == "key" and term not in fact.values and not fact.supports(term):
                add("attribute", first, end, f"it has no {_display(term)}")
            elif kind == "value":
                for key in sorted(k for k in keys if k in fact.values):
                    own = fact.values[key]
                    if term in own or any(_contains(v, term) for v in own) or fact.supports(term):
                        continue
                    if any(_contains(norms, v) for v in own):
                        continue  # the text also states the listing's own value: a second thing described
                    add("attribute", first, end, f"its {_display(key)} is {_show(own)}")
        anchored = self._anchored(text, tokens, fact, stated)
        findings += anchored + _lone_quantities(text, tokens, fact, {(f.start, f.end) for f in anchored})
        for key, terms in stated.items():
            own = fact.values.get(key, [])
            if len(terms) > 1 and not all(t in own or any(_contains(v, t) for v in own) for t in terms):
                first = sorted(terms.values())[1]
                term = next(t for t, i in terms.items() if i == first)
                add("conflict", first, first + len(term), f"{len(terms)} values stated for {_display(key)}")
        findings += _price_findings(text, tokens, fact)
        findings += _empty_slots(text, tokens, fact)
        findings += [f for f in _repetitions(text, tokens) if not _repeated_in_facts(f, fact)]
        findings += self._garbled(text, tokens, fact)
        return sorted(set(findings), key=lambda f: (f.start, f.kind))

    def _garbled(self, text: str, tokens: list[_Token], fact: _Facts) -> list[Finding]:
        if not self.vocabulary:
            return []
        words = [t for t in tokens if t.kind in ("word", "cjk")]
        unknown = [t for t in words if t.norm not in self.vocabulary and t.norm not in fact.words
                   and _singular(t.norm) not in fact.words]
        long = [t for t in unknown if len(t.norm) >= GARBLED_WORD]
        if long:
            return [Finding("garbled", t.start, t.end, t.raw, "a run of letters that is no word") for t in long]
        if len(unknown) >= GARBLED_MIN and len(unknown) > GARBLED_SHARE * len(words):
            first, last = unknown[0], unknown[-1]
            return [Finding("garbled", first.start, last.end, text[first.start:last.end],
                            f"{len(unknown)} of its {len(words)} words are in no text or fact of the shop "
                            f"({', '.join(dict.fromkeys(t.raw for t in unknown[:5]))})")]
        return []

    def _anchored(self, text: str, tokens: list[_Token], fact: _Facts,
                  stated: dict[tuple[str, ...], dict[tuple[str, ...], int]]) -> list[Finding]:
        """Values stated right after (or a quantity right before) one of the row's attribute keys."""
        findings: list[Finding] = []
        norms = [t.norm if t.kind in ("word", "cjk", "num") else t.raw for t in tokens]
        quantities = {i: (end, q) for i, end, q in _quantities(tokens)}
        ends_before = {end: (i, q) for i, (end, q) in quantities.items()}
        others = [(k, v) for k, vs in fact.values.items() for v in vs]
        spans = [(at, at + len(key), key) for key in fact.values if not _is_flag(fact.values[key])
                 for at in _find_all(norms, key)]
        # a key inside a longer key's mention ("sales package" in "number of contents in sales package") is not one
        spans = [s for s in spans if not any(o[0] <= s[0] and s[1] <= o[1] and (o[1] - o[0]) > (s[1] - s[0]) for o in spans)]
        for at, after, key in spans:
            if any(_stated_under(other, norms, tokens, at) for other in fact.values if other != key):
                continue  # "Other Dimensions: Case Width 19.2 mm": a key word inside another attribute's statement
            before = self._value_before(norms, at, key, fact, others)  # "a automatic strap"
            if before is not None:
                first, term, detail = before
                start, stop = tokens[first].start, tokens[at - 1].end
                findings.append(Finding("wrong_attribute", start, stop, text[start:stop], detail))
            j, skipped = after, 0
            while j < len(tokens) and skipped < 3 and (norms[j] in _FILLERS or tokens[j].kind == "mark" and
                                                       tokens[j].raw in ":-：="):
                j, skipped = j + 1, skipped + 1
            if j < len(tokens) and tokens[j].kind in ("end", "mark") and tokens[j].raw not in ":-：=":
                continue
            candidates = []
            if j in quantities:
                candidates.append((j, quantities[j][0], quantities[j][1]))
            if at in ends_before:  # "a 120 kg seat height"
                first, quantity = ends_before[at]
                if first > 0 and norms[first - 1] in _BEFORE_QUANTITY:
                    candidates.append((first, at, quantity))
            for first, end, quantity in candidates:
                finding = self._judge_quantity(key, quantity, fact, others)
                if finding and not _stated_under(finding[2], norms, tokens, at):
                    start, stop = tokens[first].start, tokens[end - 1].end
                    findings.append(Finding(finding[0], start, stop, text[start:stop], finding[1]))
            if j in quantities or j >= len(tokens):
                continue
            value = self._value_at(norms, j, key, fact, others if skipped else [])  # "colour brass idol" states nothing
            if value is None:
                continue
            kind, term, detail = value
            if kind == "wrong_attribute" and any(_stated_under(k, norms, tokens, at) for k, v in others if v == term):
                continue  # "Other Dimensions: Case Width 23 mm": the key is inside another attribute's value
            if kind != "wrong_attribute":
                stated.setdefault(key, {}).setdefault(term, j)
            if kind:
                start, stop = tokens[j].start, tokens[j + len(term) - 1].end
                findings.append(Finding(kind, start, stop, text[start:stop], detail))
        return findings

    def _value_before(self, norms: list[str], at: int, key: tuple[str, ...], fact: _Facts,
                      others: list[tuple[tuple[str, ...], tuple[str, ...]]]) -> tuple[int, tuple[str, ...], str] | None:
        """Another attribute's value written as this key's, right before the key ("a automatic strap"
        where the movement is automatic and the strap nylon): (first token, value, detail)."""
        own = fact.values.get(key, [])
        for other, value in sorted(others, key=lambda kv: -len(kv[1])):
            first = at - len(value)
            if other == key or first < 1 or tuple(norms[first:at]) != value or any(t[:1].isdigit() for t in value):
                continue
            if norms[first - 1] not in ("a", "an", "the"):
                return None  # only "a <value> <key>": spec sheets run keys and values together ("BFT Model Number")
            if value in own or any(_contains(v, value) for v in own) or value in self.key_values.get(key, ()):
                return None
            return first, value, f"that is its {_display(other)}; its {_display(key)} is {_show(own)}"
        return None

    def _judge_quantity(self, key: tuple[str, ...], quantity: Quantity, fact: _Facts,
                        others: list[tuple[tuple[str, ...], tuple[str, ...]]]
                        ) -> tuple[str, str, tuple[str, ...] | None] | None:
        """(kind, detail, the other key whose value it is) of a quantity stated for ``key``, if wrong."""
        own = fact.quantities.get(key, [])
        if not own or any(_same_quantity(quantity, q) for q in own):
            return None
        label = _display(key)
        for other, values in fact.quantities.items():
            if other != key and any(_same_quantity(quantity, q) for q in values):
                return "wrong_attribute", f"that is its {_display(other)}; its {label} is {_show_q(fact, key)}", other
        if all(q.dimension != quantity.dimension for q in own):
            return "number", f"its {label} is {_show_q(fact, key)}, not a {quantity.dimension}", None
        return "number", f"its {label} is {_show_q(fact, key)}", None

    def _value_at(self, norms: list[str], j: int, key: tuple[str, ...], fact: _Facts,
                  others: list[tuple[tuple[str, ...], tuple[str, ...]]]) -> tuple[str | None, tuple[str, ...], str] | None:
        """What is stated at token ``j`` for ``key``: (finding kind or None, value term, detail)."""
        own = fact.values.get(key, [])
        for value in sorted(own, key=len, reverse=True):
            if tuple(norms[j:j + len(value)]) == value:
                return None, value, ""
        label = _display(key)
        for other, value in sorted(others, key=lambda kv: -len(kv[1])):
            if other != key and value not in own and len(value) and tuple(norms[j:j + len(value)]) == value \
                    and value not in self.key_values.get(key, ()) and not any(_contains(v, value) for v in own):
                return "wrong_attribute", value, f"that is its {_display(other)}; its {label} is {_show(own)}"
        for value in sorted(self.key_values.get(key, ()), key=len, reverse=True):
            if tuple(norms[j:j + len(value)]) == value and not fact.supports(value):
                return "attribute", value, f"its {label} is {_show(own)}"
        return None

    def unsupported(self, text: str | None, row: Any) -> list[Finding]:
        """Numbers ``text`` states that appear nowhere in ``row``'s facts (what the grounding
        guard drops from generated text; not findings: people may know more than the listing)."""
        if not text:
            return []
        fact = _facts(row)
        tokens = _tokens(text)
        return [Finding("unsupported", t.start, t.end, t.raw, "a number the listing does not state")
                for t in tokens if t.kind == "num" and t.norm not in fact.numbers]

    # ---------------------------------------------------------------------------- files
    def to_dict(self) -> dict[str, Any]:
        return {"names": sorted(self.names), "brands": sorted(" ".join(b) for b in self.brands),
                "vocabulary": sorted(self.vocabulary),
                "keys": sorted(" ".join(k) for k in self.keys), "types": sorted(" ".join(t) for t in self.types),
                "values": {" ".join(k): sorted(" ".join(v) for v in vs) for k, vs in sorted(self.values.items())},
                "key_values": {" ".join(k): sorted(" ".join(v) for v in vs) for k, vs in sorted(self.key_values.items())}}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> FactChecker:
        def terms(items: Iterable[str]) -> frozenset[tuple[str, ...]]:
            return frozenset(tuple(t.split(" ")) for t in items if t)

        return cls(frozenset(data.get("names", ())), terms(data.get("brands", ())),
                   {tuple(k.split(" ")): terms(v) for k, v in data.get("values", {}).items()},
                   {tuple(k.split(" ")): terms(v) for k, v in data.get("key_values", {}).items()},
                   terms(data.get("keys", ())), terms(data.get("types", ())), frozenset(data.get("vocabulary", ())))

    def save(self, folder: str | Path) -> Path:
        path = Path(folder) / FILE_NAME
        path.write_text(json.dumps(self.to_dict(), ensure_ascii=False))
        return path

    @classmethod
    def load(cls, folder: str | Path) -> FactChecker | None:
        path = Path(folder) / FILE_NAME
        return cls.from_dict(json.loads(path.read_text(encoding="utf-8"))) if path.exists() else None


def _is_type_of(term: tuple[str, ...], fact: _Facts) -> bool:
    """Whether the listing's own title, category or attributes name this kind of product."""
    singular = _singular_term(term)
    return fact.supports(term) or fact.supports(singular) or \
        any(_contains(tuple(_singular(w) for w in run), singular) for run in fact.runs)


def _show(values: Sequence[tuple[str, ...]]) -> str:
    return " / ".join(_display(v) for v in values[:1]) or "not stated"


def _show_q(fact: _Facts, key: tuple[str, ...]) -> str:
    values = fact.values.get(key, [])
    return _display(values[0]) if values else "not stated"


def _display(term: tuple[str, ...]) -> str:
    return re.sub(f"(?<=[{_CJK_CLASS}]) (?=[{_CJK_CLASS}])", "", " ".join(term))


def _free_value_ok(value: tuple[str, ...]) -> bool:
    """A value worth looking for anywhere in a text: letters, no digits, not too short or long."""
    if not value or any(t[:1].isdigit() for t in value):
        return False
    compact = "".join(value)
    if re.search(f"[{_CJK_CLASS}]", compact):
        return 2 <= len(compact) <= 10
    return 3 <= len(compact) <= 30 and len(value) <= 4 and value not in _GENERIC_VALUES


def _brand_ok(brand: tuple[str, ...]) -> bool:
    compact = "".join(brand)
    return len(compact) >= 2 and brand not in _GENERIC_VALUES and not all(t in _STOPWORDS for t in brand)


_GENERIC_VALUES = frozenset(_term(v) for v in (
    "yes no none other others unknown generic unbranded standard regular normal general default various assorted "
    "multi multicolor multicolour unisex n/a na brand"
).split()) | frozenset(_term(v) for v in ("free size", "one size", "not applicable", "no brand", "multi color",
                                          "其他", "其它", "无", "常规", "通用", "不限", "均码", "品牌", "未知"))


# ------------------------------------------------------------------------ text-only findings
def _price_findings(text: str, tokens: list[_Token], fact: _Facts) -> list[Finding]:
    """A price (a number beside a currency sign or code) other than the listing's."""
    if fact.price is None:
        return []
    findings = []
    for i, token in enumerate(tokens):
        if token.kind != "num":
            continue
        before = [t for t in tokens[max(0, i - 2):i] if t.kind != "end" or t.raw == "."]
        marked = any(t.kind == "cur" or (t.kind in ("word", "cjk") and t.norm in _CURRENCY_WORDS) for t in before[-2:])
        if not marked and i + 1 < len(tokens):
            after = tokens[i + 1]
            marked = after.kind in ("word", "cjk") and after.norm in _CURRENCY_WORDS
        if not marked:
            continue
        try:
            amount = Decimal(token.norm)
        except InvalidOperation:
            continue
        if amount != fact.price and token.norm not in fact.numbers:
            findings.append(Finding("number", token.start, token.end, token.raw,
                                    f"its price is {format(fact.price.normalize(), 'f')}"))
    return findings


def _lone_quantities(text: str, tokens: list[_Token], fact: _Facts, judged: set[tuple[int, int]]) -> list[Finding]:
    """The one measurement of its kind in a text, where the listing states one of that kind too
    ("holds 450 ml" where its only volume is 400 ml), matching no number of the listing, converted or not."""
    by_dimension: dict[str, list[tuple[tuple[str, ...], Quantity]]] = {}
    for key, quantities in fact.quantities.items():
        for quantity in quantities:
            by_dimension.setdefault(quantity.dimension, []).append((key, quantity))
    findings = []
    stated = _quantities(tokens)
    per_dimension: dict[str, int] = {}
    for _, _, quantity in stated:
        per_dimension[quantity.dimension] = per_dimension.get(quantity.dimension, 0) + 1
    for first, end, quantity in stated:
        start, stop = tokens[first].start, tokens[end - 1].end
        own = by_dimension.get(quantity.dimension, [])
        if (start, stop) in judged or len({key for key, _ in own}) != 1 or per_dimension[quantity.dimension] != 1 \
                or quantity.number in fact.numbers:
            continue  # several measures of one kind (length, width...): which is which is the key's to say
        if not any(_same_quantity(quantity, q) for _, q in own):
            key = own[0][0]
            findings.append(Finding("number", start, stop, text[start:stop],
                                    f"its {_display(key)} is {_display(fact.values[key][0])}"))
    return findings


_EMPTY_LATIN = re.compile(r"(?<=[^\W\d_])[ \t]+[.,;!?](?=\s|$)(?!\s*\.)")  # "size ." (not an ellipsis ". . .")
_EMPTY_CJK = re.compile(r"[为是][。，；！？、,.;!?]|[：:][。，；！？、]")
_EMPTY_BEFORE_AND = re.compile(r"\b(?:is|from|an?|the)\s+(?:and|or)\b", re.I)  # "its colour is and"
# words after which a value must follow: "size .", "by .", "made of ,"
_NEEDS_VALUE = frozenset("a an the of by from with in for to at is are was as than size".split())


def _empty_slots(text: str, tokens: list[_Token], fact: _Facts) -> list[Finding]:
    """A value left out: "size ." or "by ." (a word that needs a value, then a space and
    punctuation), a sentence ending on an article ("by the."), "颜色为。", or a raw slot marker."""
    key_words = {k[-1] for k in fact.values}
    findings = []
    for match in _EMPTY_LATIN.finditer(text):
        word = re.search(r"([^\W\d_]+)\s*$", text[:match.start()])
        if word and (_normal(word.group(1)) in _NEEDS_VALUE or _normal(word.group(1)) in key_words):
            findings.append(Finding("empty_slot", word.start(1), match.end(), text[word.start(1):match.end()],
                                    "a value is missing here"))
    findings += [Finding("empty_slot", m.start(), m.end(), m.group(), "a value is missing here")
                 for m in (*_EMPTY_CJK.finditer(text), *_EMPTY_BEFORE_AND.finditer(text))]
    for i, token in enumerate(tokens[:-1]):
        following = tokens[i + 1]
        after = tokens[i + 2] if i + 2 < len(tokens) else None
        abbreviation = after is not None and after.kind == "word" and len(after.norm) == 1  # "10 a. m."
        if token.kind == "word" and token.raw in _DANGLING and following.kind == "end" and not abbreviation:
            findings.append(Finding("empty_slot", token.start, following.end, text[token.start:following.end],
                                    "a value is missing here"))
    findings += [Finding("empty_slot", m.start(), m.end(), m.group(), "an unfilled slot")
                 for m in re.finditer(r"⟦[^⟦⟧]{0,40}⟧|[⟦⟧]", text)]
    return findings


_MIN_WORDS, _MIN_CJK = 4, 6  # a sentence said twice ("It is made of cotton. ... It is made of cotton.")
_MIN_CLAUSE_WORDS, _MIN_CLAUSE_CJK = 3, 4  # a clause said twice in one sentence, a phrase said twice in a row
_PHRASE_GAP = 1  # words between a phrase and its repeat ("a steel mesh strap is steel mesh strap")


def _repetitions(text: str, tokens: list[_Token]) -> list[Finding]:
    """A sentence said a second time; a clause said twice in one sentence; a phrase said again
    right after itself. (People repeat a clause across sentences now and then; that is no finding.)"""
    findings: list[Finding] = []

    def long_enough(run: Sequence[_Token], words: int, cjk: int) -> bool:
        return sum(t.kind == "cjk" for t in run) >= cjk or sum(t.kind != "cjk" for t in run) >= words

    def said(run: Sequence[_Token], detail: str) -> Finding:
        return Finding("repetition", run[0].start, run[-1].end, text[run[0].start:run[-1].end], detail)

    sentences_seen: set[tuple[str, ...]] = set()
    clauses_seen: set[tuple[str, ...]] = set()
    clause: list[_Token] = []
    sentence: list[_Token] = []
    for token in [*tokens, None]:
        if token is not None and token.kind in ("word", "cjk", "num"):
            clause.append(token)
            sentence.append(token)
            continue
        if token is not None and token.kind == "mark" and token.raw in "()（）\"“”":
            continue
        if clause:
            key = tuple(t.norm for t in clause)
            if long_enough(clause, _MIN_CLAUSE_WORDS, _MIN_CLAUSE_CJK) and key in clauses_seen:
                findings.append(said(clause, "said twice in one sentence"))
            clauses_seen.add(key)
            findings += _phrase_repeats(clause, said) + _stutters(clause, said)
        clause = []
        if (token is None or token.kind == "end") and sentence:
            key = tuple(t.norm for t in sentence)
            if long_enough(sentence, _MIN_WORDS, _MIN_CJK) and key in sentences_seen:
                findings.append(said(sentence, "said before"))
            sentences_seen.add(key)
            sentence, clauses_seen = [], set()
    return findings


def _repeated_in_facts(finding: Finding, fact: _Facts) -> bool:
    """A repetition copied from the listing itself (a combo's value naming the same item twice)."""
    phrase = _term(finding.text)
    return any(len(_find_all(run, phrase)) > 1 for run in fact.runs) or \
        sum(_contains(run, phrase) for run in fact.runs) > 1


def _stutters(clause: list[_Token], said) -> list[Finding]:  # noqa: ANN001
    """A word or character said three times running ("的的的", "the the the")."""
    for i in range(len(clause) - 2):
        if clause[i].kind in ("word", "cjk") and clause[i].norm == clause[i + 1].norm == clause[i + 2].norm:
            return [said(clause[i:i + 3], "said three times in a row")]
    return []


def _phrase_repeats(clause: list[_Token], said) -> list[Finding]:  # noqa: ANN001
    """A phrase (≥3 words / ≥4 CJK characters, not only numbers and units) said again in its
    clause at most one word after itself."""
    norms = [t.norm for t in clause]
    cjk = sum(t.kind == "cjk" for t in clause) > len(clause) / 2
    n = _MIN_CLAUSE_CJK if cjk else _MIN_CLAUSE_WORDS
    first: dict[tuple[str, ...], int] = {}
    for i in range(len(norms) - n + 1):
        gram = tuple(norms[i:i + n])
        if gram in first and first[gram] + n <= i <= first[gram] + n + _PHRASE_GAP and \
                any(t.kind in ("word", "cjk") and t.norm not in _UNITS for t in clause[i:i + n]):
            return [said(clause[i:i + n], "said twice in a row")]
        first.setdefault(gram, i)
    return []


def finding_rates(findings: Sequence[Sequence[Finding]]) -> dict[str, float]:
    """Share of texts with at least one finding (``findings_rate``) and with one of each kind."""
    n = len(findings)
    rates = {"findings_rate": sum(bool(f) for f in findings) / n if n else 0.0}
    for kind in FINDING_KINDS:
        rates[f"findings.{kind}"] = sum(any(x.kind == kind for x in f) for f in findings) / n if n else 0.0
    return rates
