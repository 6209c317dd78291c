"""Facts of a product and how a text states them: pure functions, English and Chinese alike.

What metrics (:mod:`labelops.textgen.metrics`), the fact checker (:mod:`labelops.factcheck`),
grounding, the baselines, serialization and tagging share:

- **language**: :func:`is_cjk`, :func:`cjk_share`, :func:`detect_lang` (CJK when at least 30% of
  the letters are Chinese/Japanese characters);
- **tokens**: :func:`normal` (NFKC, casefold), :func:`text_tokens` (words, or CJK characters, digit and
  letter runs), :func:`match_tokens`;
- **value forms**: a product's fields read from any row shape (:func:`get_field`,
  :func:`text_value`, :func:`attribute_items`, :func:`category_items`, :func:`split_values`) and
  :func:`match_form`, the form in which a value is looked for in a text;
- **stating a fact**: :func:`coverage_targets` and :func:`target_stated` (what the attribute
  coverage score counts), :func:`unstated_facts` (what grounding adds);
- **tags a product's facts support**: :func:`supported_tags`.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from functools import lru_cache
from typing import Any, Literal

CJK_THRESHOLD = 0.3  # share of letters that are CJK characters for a text to count as CJK

# Han ideographs (basic, extension A, compatibility, extensions B–H) and Japanese kana: the
# scripts written without spaces between words. Hangul is left out: Korean uses spaces.
CJK_CLASS = (
    "\u3040-\u30ff\u31f0-\u31ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
    "\U00020000-\U0002fa1f\U00030000-\U0003134f"
)
_CJK_CHAR = re.compile(f"[{CJK_CLASS}]")
_LETTER = re.compile(r"[^\W\d_]")
# Tokens for ROUGE-L / distinct-2: words (runs of letters and digits) ...
_WORD_TOKEN = re.compile(r"[^\W_]+")
# ... or, for CJK text: CJK characters alone, digit runs, letter runs.
_MATCH_TOKEN = re.compile(f"[{CJK_CLASS}]|\\d+|[^\\W\\d_{CJK_CLASS}]+")
_ASCII_MATCH_TOKEN = re.compile(r"[a-z]+|[0-9]+")  # the same on lowercased ASCII text, faster
# On ASCII text, blanking everything but letters and digits and splitting gives _WORD_TOKEN's
# tokens far faster than the regex (a 1:1 ASCII table takes str.translate's fast path).
_ASCII_BLANKS = str.maketrans({chr(c): " " for c in range(128) if not chr(c).isalnum()})
_MIXED = re.compile(r"[0-9][a-z]|[a-z][0-9]")
# Punctuation that ends a phrase: it stays in match forms as a token, so that no value matches
# across it ("Color: Metal. Strap: ..." does not say "metal strap").
_CLAUSE_ASCII = '.,;:!?()[]{}"|/'
_CLAUSE = _CLAUSE_ASCII + "。、“”‘’《》【】「」『』〈〉"
_ASCII_FORM = str.maketrans(
    {chr(c): "|" if chr(c) in _CLAUSE_ASCII else " " for c in range(128) if not chr(c).isalnum()}
)
_ASCII_FORM_TOKEN = re.compile(r"[a-z]+|[0-9]+|\|")
_FORM_TOKEN = re.compile(f"[{CJK_CLASS}]|\\d+|[^\\W\\d_{CJK_CLASS}]+|[{re.escape(_CLAUSE)}]")
_VALUE_SEPARATORS = re.compile(r"[，、;；|]|(?<!\d),|,(?!\d)")
_EDGE_PUNCTUATION = re.compile(r"^[\W_]+|[\W_]+$")

_LANG_SAMPLE = 2000  # texts language detection looks at, spread over the list

# ----------------------------------------------------------------------------------- language


def cjk_share(text: str) -> float:
    """Share of the letters in ``text`` that are CJK characters (0 when it has no letters)."""
    letters = len(_LETTER.findall(text or ""))
    return len(_CJK_CHAR.findall(text or "")) / letters if letters else 0.0


def is_cjk(text: str, threshold: float = CJK_THRESHOLD) -> bool:
    """True when at least ``threshold`` of the text's letters are Chinese/Japanese characters."""
    share = cjk_share(text)
    return share > 0 and share >= threshold


def detect_lang(texts: Iterable[str | None], threshold: float = CJK_THRESHOLD) -> Literal["en", "zh"]:
    """``"zh"`` when at least ``threshold`` of all letters in ``texts`` are CJK, else ``"en"``
    (a long list is judged on 2,000 of its texts, evenly spaced)."""
    texts = list(texts)
    if len(texts) > _LANG_SAMPLE:
        texts = texts[:: len(texts) // _LANG_SAMPLE]
    letters = cjk = 0
    for text in texts:
        if text:
            letters += len(_LETTER.findall(text))
            cjk += len(_CJK_CHAR.findall(text))
    return "zh" if letters and cjk >= threshold * letters else "en"

# ------------------------------------------------------------------------------------- tokens


def normal(text: str) -> str:
    """NFKC-normalised and casefolded (ASCII text only lowercased: the same, much faster)."""
    return text.lower() if text.isascii() else unicodedata.normalize("NFKC", text).casefold()


def text_tokens(normal_text: str, lang: str) -> list[str]:
    if lang == "zh":
        return match_tokens(normal_text)
    if normal_text.isascii():
        return normal_text.translate(_ASCII_BLANKS).split()
    return _WORD_TOKEN.findall(normal_text)


def match_tokens(normal_text: str) -> list[str]:
    """CJK characters, digit runs and letter runs of normalised text."""
    if normal_text.isascii():
        blanked = normal_text.translate(_ASCII_BLANKS)
        return _ASCII_MATCH_TOKEN.findall(blanked) if _MIXED.search(blanked) else blanked.split()
    return _MATCH_TOKEN.findall(normal_text)

# -------------------------------------------------------------------------------- value forms


def match_form(normal_text: str) -> str:
    """Matching tokens of already normalised text, joined by single spaces.

    CJK characters, digit runs and letter runs are separate tokens, phrase-ending punctuation
    (``_CLAUSE``) is a token too and other punctuation is dropped. So ``f" {value} " in
    f" {text} "`` is a plain substring test for Chinese and a whole-word test for Latin text
    that does not cross a full stop or comma; "500ml" and "500 ml" read the same.
    """
    if normal_text.isascii():
        blanked = normal_text.translate(_ASCII_FORM)
        if _MIXED.search(blanked):
            return " ".join(_ASCII_FORM_TOKEN.findall(blanked))
        return " ".join(blanked.replace("|", " | ").split())
    # as in ASCII text, each phrase-ending mark is one "|" token ("£24.96" reads "24 | 96")
    return " ".join("|" if token in _CLAUSE else token for token in _FORM_TOKEN.findall(normal_text))


@lru_cache(maxsize=1 << 16)
def _field_form(text: str) -> str:
    """:func:`match_form` of the short, often repeated texts of inputs and vocabularies (NFKC, casefolded)."""
    return match_form(normal(text))


def get_field(row: Any, name: str) -> Any:
    if type(row) is dict or isinstance(row, Mapping):
        return row.get(name)
    return getattr(row, name, None)


def _clean(value: Any) -> str:
    if type(value) is str:
        return " ".join(value.split())
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    return " ".join(str(value).split())


def text_value(value: Any) -> str:
    if type(value) is str:
        return value.strip()
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    return str(value).strip()


def attribute_items(row: Any) -> list[tuple[str, str]]:
    """The product's (key, value) attribute pairs, stripped, without empty values: from a dict,
    Arrow's list of (key, value) pairs, or a list of {"key", "value"} dicts."""
    attributes = get_field(row, "attributes")
    if attributes is None or isinstance(attributes, (str, float)):
        return []
    if isinstance(attributes, Mapping):
        items: Iterable[Any] = attributes.items()
    else:
        items = []
        for entry in attributes:
            if isinstance(entry, Mapping):
                items.append((entry.get("key"), entry.get("value")))
            elif isinstance(entry, (tuple, list)) and len(entry) == 2:
                items.append((entry[0], entry[1]))
    pairs = [(text_value(k), text_value(v)) for k, v in items]
    return [(k, v) for k, v in pairs if v]


def category_items(row: Any) -> list[str]:
    path = get_field(row, "category_path")
    if path is None or isinstance(path, float):
        return []
    if isinstance(path, str):
        path = re.split(r"\s*>\s*", path)
    return [c for c in (_clean(p) for p in path) if c]


@lru_cache(maxsize=1 << 16)
def split_values(value: str) -> tuple[str, ...]:
    """A multi-valued attribute ("复古、文艺", "red, blue") as its values; "1,299" stays whole."""
    return tuple(part.strip() for part in _VALUE_SEPARATORS.split(value) if part.strip())


@lru_cache(maxsize=1 << 16)
def _value_forms(value: str) -> tuple[str, ...]:
    """Match forms of an attribute value: the whole value and each of its values."""
    forms = dict.fromkeys([_field_form(value), *map(_field_form, split_values(value))])
    return tuple(f for f in forms if f)
# ----------------------------------------------------------------------------- stating a fact

_YES = frozenset({"yes", "y", "true", "是", "有"})
_NO = frozenset({"no", "n", "false", "none", "n/a", "na", "否", "无", "没有"})
_STOPWORDS = frozenset("a an and are as at be by for from in into is it of on or per the to with without x".split())


@lru_cache(maxsize=1 << 16)
def _value_targets(value: str) -> tuple[tuple[str, ...], ...]:
    """What stating ``value`` takes: one tuple of match forms that must all appear per value
    (one form for a short value, the content words of one of more than 4 words)."""
    targets = []
    for part in split_values(value):
        part = _EDGE_PUNCTUATION.sub("", normal(part))
        if len(part.split()) > 4:
            words = (_field_form(_EDGE_PUNCTUATION.sub("", w)) for w in part.split())
            target = tuple(dict.fromkeys(w for w in words if w and w not in _STOPWORDS and len(w) > 1))
        else:
            target = (_field_form(part),)
        if target and all(target):
            targets.append(target)
    return tuple(targets)


@lru_cache(maxsize=1 << 16)
def _attribute_targets(key: str, value: str) -> tuple[tuple[str, ...], ...]:
    flag = normal(value).strip(" .")
    if flag in _YES:  # "Machine Washable: Yes" is stated by saying "machine washable"
        return _value_targets(key)
    return () if flag in _NO else _value_targets(value)


def coverage_targets(row: Any) -> list[tuple[str, ...]]:
    """All targets of a product: its attribute values (a yes-flag by its key; no-flags skipped)
    and its brand, without repeats."""
    targets: dict[tuple[str, ...], None] = {}
    for key, value in attribute_items(row):
        targets.update(dict.fromkeys(_attribute_targets(key, value)))
    brand = text_value(get_field(row, "brand"))
    if brand:
        targets.update(dict.fromkeys(_value_targets(brand)))
    return list(targets)


def _states(description_form: str, value_form: str) -> bool:
    """``value_form`` appears in the description as whole tokens (English plurals accepted)."""
    if f" {value_form} " in description_form:
        return True
    last = value_form[-1:]
    if last.isalpha() and last.isascii():
        return f" {value_form}s " in description_form or f" {value_form}es " in description_form
    return False


def target_stated(form: str, target: tuple[str, ...]) -> bool:
    return all(_states(form, part) for part in target)


def unstated_facts(description: str | None, row: Any) -> list[tuple[str, str]]:
    """The facts of ``row`` that ``description`` does not state, as :func:`attribute_coverage`
    judges it (:func:`labelops.textgen.metrics.attribute_coverage`): ``(key, value)`` attribute pairs in the row's order, then ``("brand", brand)``
    when neither the text nor an attribute states the brand. No-flags are never listed."""
    form = f" {match_form(normal(description or ''))} "

    def stated(targets: tuple[tuple[str, ...], ...]) -> bool:
        return all(target_stated(form, target) for target in targets)

    missing = [(key, value) for key, value in attribute_items(row)
               if (targets := _attribute_targets(key, value)) and not stated(targets)]
    brand = text_value(get_field(row, "brand"))
    if brand and not stated(_value_targets(brand)):
        brand_form = _field_form(brand)
        if not any(brand_form in _value_forms(value) for _, value in missing):
            missing.append(("brand", brand))
    return missing

# ------------------------------------------------------------- tags a product's facts support


def _fact_token_runs(row: Any) -> list[list[str]]:
    fields = [text_value(get_field(row, "title")), text_value(get_field(row, "brand")), *category_items(row)]
    fields += [v for _, value in attribute_items(row) for v in (value, *split_values(value))]
    return [match_tokens(normal(f)) for f in fields if f]


def _contains_run(haystack: Sequence[str], needle: Sequence[str]) -> bool:
    n = len(needle)
    return any(list(haystack[i:i + n]) == list(needle) for i in range(len(haystack) - n + 1))


def supported_tags(tags: Iterable[str] | None, row: Any) -> list[bool]:
    """For each tag, whether the product's facts state it: its words, in order, within the title,
    the brand, one level of its category path or one attribute value. A filler word ("meet",
    "hello"), another product's name or a category the product is not in is not."""
    runs = _fact_token_runs(row)
    result = []
    for tag in tags or []:
        words = match_tokens(normal(str(tag)))
        result.append(bool(words) and not all(w in _STOPWORDS for w in words)
                      and any(_contains_run(run, words) for run in runs))
    return result
