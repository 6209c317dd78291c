"""Text metrics the promotion gate reads: pure functions over lists, English and Chinese alike.

Every function takes plain lists (``predictions``, ``references`` as strings; ``inputs`` as the
products' Listing-shaped mappings: ``title``, ``brand``, ``category_path``, ``price``,
``currency``, ``attributes``...) and returns plain floats. The exact definitions:

- :func:`bleu` — sacreBLEU corpus BLEU (0–100), one reference per prediction, sacreBLEU's
  defaults (4-grams, ``exp`` smoothing, no lowercasing), tokenizer ``13a`` for English and other
  space-delimited languages, ``zh`` for Chinese (every Chinese character a token).
- :func:`chrf` — sacreBLEU corpus chrF (0–100; character 6-grams, beta 2, whitespace removed
  before counting, so "白 色" and "白色" read the same and Chinese needs no tokenizer).
- :func:`rouge_l` — ROUGE-L F1 (longest common subsequence, beta 1) per pair, averaged (0–1), on
  casefolded word tokens for space-delimited text and on characters for CJK text.
- :func:`distinct_2` — distinct bigrams / all bigrams over all predictions (0–1), same tokens.
- :func:`attribute_coverage` — share of a product's attribute values (and brand) that its
  description states, matched by substring, averaged over products that have any.
- :func:`tag_f1` — micro F1 of predicted against reference tags (casefolded).

Language: ``lang`` is ``"en"`` (any space-delimited language), ``"zh"`` (Chinese; ``"ja"`` works
the same way) or ``"auto"``, which looks at the references (:func:`detect_lang`): CJK when at least
30% of their letters are Chinese/Japanese characters.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from functools import lru_cache
from typing import Any, Literal


__all__ = [
    "CJK_THRESHOLD",
    "attribute_coverage",
    "attribute_coverage_per_row",
    "bleu",
    "chrf",
    "cjk_share",
    "detect_lang",
    "distinct_2",
    "evaluate_text",
    "is_cjk",
    "rouge_l",
    "f1_from_counts",
    "tag_counts",
    "tag_f1",
]

CJK_THRESHOLD = 0.3  # share of letters that are CJK characters for a text to count as CJK

# Han ideographs (basic, extension A, compatibility, extensions B–H) and Japanese kana: the
# scripts written without spaces between words. Hangul is left out: Korean uses spaces.
_CJK_CLASS = (
    "\u3040-\u30ff\u31f0-\u31ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
    "\U00020000-\U0002fa1f\U00030000-\U0003134f"
)
_CJK_CHAR = re.compile(f"[{_CJK_CLASS}]")
_LETTER = re.compile(r"[^\W\d_]")
# Tokens for ROUGE-L / distinct-2: words (runs of letters and digits) ...
_WORD_TOKEN = re.compile(r"[^\W_]+")
# ... or, for CJK text: CJK characters alone, digit runs, letter runs.
_MATCH_TOKEN = re.compile(f"[{_CJK_CLASS}]|\\d+|[^\\W\\d_{_CJK_CLASS}]+")
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
_FORM_TOKEN = re.compile(f"[{_CJK_CLASS}]|\\d+|[^\\W\\d_{_CJK_CLASS}]+|[{re.escape(_CLAUSE)}]")
_VALUE_SEPARATORS = re.compile(r"[，、;；|]|(?<!\d),|,(?!\d)")
_EDGE_PUNCTUATION = re.compile(r"^[\W_]+|[\W_]+$")

_LANG_SAMPLE = 2000  # texts language detection looks at, spread over the list


# ------------------------------------------------------------------------------------ language


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


def _resolve_lang(lang: str, *texts: Sequence[str | None]) -> Literal["en", "zh"]:
    lang = (lang or "auto").lower()
    if lang == "auto":
        for group in texts:
            if any(group):
                return detect_lang(group)
        return "en"
    return "zh" if lang.split("-")[0].split("_")[0] in {"zh", "ja", "cjk", "cn"} else "en"


def _strings(values: Sequence[str | None] | None) -> list[str]:
    return ["" if v is None else str(v) for v in (values or [])]


def _paired(predictions: Sequence[str | None], references: Sequence[str | None]) -> tuple[list[str], list[str]]:
    if len(predictions) != len(references):
        raise ValueError(f"{len(predictions)} predictions but {len(references)} references")
    return _strings(predictions), _strings(references)


# ------------------------------------------------------------------------------- BLEU / chrF


def bleu(
    predictions: Sequence[str | None],
    references: Sequence[str | None],
    lang: str = "en",
    *,
    tokenize: str | None = None,
) -> float:
    """sacreBLEU corpus BLEU, 0–100: ``sacrebleu.corpus_bleu(predictions, [references])``.

    Tokenizer ``"zh"`` when ``lang`` is Chinese (or ``"auto"`` finds CJK references), otherwise
    ``"13a"``; ``tokenize`` overrides the choice. Empty input scores 0.
    """
    import sacrebleu

    preds, refs = _paired(predictions, references)
    if not preds:
        return 0.0
    tokenize = tokenize or ("zh" if _resolve_lang(lang, refs, preds) == "zh" else "13a")
    return float(sacrebleu.corpus_bleu(preds, [refs], tokenize=tokenize).score)


def chrf(predictions: Sequence[str | None], references: Sequence[str | None]) -> float:
    """sacreBLEU corpus chrF, 0–100: ``sacrebleu.corpus_chrf(predictions, [references])``.

    Character n-grams of orders 1–6, beta 2, whitespace removed first (sacreBLEU's defaults), so
    it reads Chinese as is, spaced or not. Empty input scores 0.
    """
    import sacrebleu

    preds, refs = _paired(predictions, references)
    if not preds:
        return 0.0
    return float(sacrebleu.corpus_chrf(preds, [refs]).score)


# ------------------------------------------------------------------------ ROUGE-L, distinct-2


def _normal(text: str) -> str:
    """NFKC-normalised and casefolded (ASCII text only lowercased: the same, much faster)."""
    return text.lower() if text.isascii() else unicodedata.normalize("NFKC", text).casefold()


def _tokens(normal_text: str, lang: str) -> list[str]:
    if lang == "zh":
        return _match_tokens(normal_text)
    if normal_text.isascii():
        return normal_text.translate(_ASCII_BLANKS).split()
    return _WORD_TOKEN.findall(normal_text)


def _match_tokens(normal_text: str) -> list[str]:
    """CJK characters, digit runs and letter runs of normalised text."""
    if normal_text.isascii():
        blanked = normal_text.translate(_ASCII_BLANKS)
        return _ASCII_MATCH_TOKEN.findall(blanked) if _MIXED.search(blanked) else blanked.split()
    return _MATCH_TOKEN.findall(normal_text)


def _lcs_length(a: Sequence[str], b: Sequence[str]) -> int:
    """Length of the longest common subsequence (bit-parallel, Hyyrö 2004: O(|a|·|b|/64))."""
    if len(a) < len(b):
        a, b = b, a
    if not b:
        return 0
    masks: dict[str, int] = {}
    for i, token in enumerate(a):
        masks[token] = masks.get(token, 0) | (1 << i)
    v = full = (1 << len(a)) - 1
    for m in [masks[t] for t in b if t in masks]:  # a token absent from ``a`` leaves v as it is
        u = v & m
        v = (v + u) | (v - u)  # bits above len(a) never reach back down: masked once at the end
    return len(a) - (v & full).bit_count()


def _rouge_l_f1(prediction: list[str], reference: list[str]) -> float:
    if not prediction or not reference:
        return 0.0
    lcs = _lcs_length(prediction, reference)
    if lcs == 0:
        return 0.0
    precision, recall = lcs / len(prediction), lcs / len(reference)
    return 2 * precision * recall / (precision + recall)


def rouge_l(predictions: Sequence[str | None], references: Sequence[str | None], lang: str = "en") -> float:
    """ROUGE-L F1, 0–1, averaged over pairs.

    Per pair: LCS = longest common subsequence of the token lists; P = LCS/|prediction|,
    R = LCS/|reference|, F1 = 2PR/(P+R); 0 when either side has no tokens. Tokens come from the
    NFKC-normalised, casefolded text: runs of letters/digits (punctuation dropped) for ``"en"``;
    for CJK text (``"zh"``) every CJK character is a token of its own, while runs of other
    letters and runs of digits inside it stay words ("这款BRAND外套" → 这 款 brand 外 套).
    """
    preds, refs = _paired(predictions, references)
    if not preds:
        return 0.0
    lang = _resolve_lang(lang, refs, preds)
    return _rouge_l_tokens([_tokens(_normal(p), lang) for p in preds], [_tokens(_normal(r), lang) for r in refs])


def _rouge_l_tokens(preds: list[list[str]], refs: list[list[str]]) -> float:
    return sum(map(_rouge_l_f1, preds, refs)) / len(preds) if preds else 0.0


def distinct_2(predictions: Sequence[str | None], lang: str = "en") -> float:
    """Distinct bigrams / all bigrams over all predictions, 0–1 (0 when there are no bigrams).

    Bigrams are counted within each prediction (never across two), on the tokens of
    :func:`rouge_l`: words, or single characters for CJK text.
    """
    preds = _strings(predictions)
    lang = _resolve_lang(lang, preds)
    return _distinct_2_tokens([_tokens(_normal(p), lang) for p in preds])


def _distinct_2_tokens(token_lists: list[list[str]]) -> float:
    seen: set[tuple[str, str]] = set()
    total = 0
    for tokens in token_lists:
        if len(tokens) > 1:
            total += len(tokens) - 1
            seen.update(zip(tokens, tokens[1:]))
    return len(seen) / total if total else 0.0


# --------------------------------------------------------------------- matching values in text


def _form(normal_text: str) -> str:
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


def _match_form(text: Any) -> str:
    """:func:`_form` of any text (NFKC, casefolded)."""
    return "" if text is None else _form(_normal(str(text)))


@lru_cache(maxsize=1 << 16)
def _field_form(text: str) -> str:
    """:func:`_match_form` for the short, often repeated texts of inputs and vocabularies."""
    return _form(_normal(text))


def _get(row: Any, name: str) -> Any:
    if type(row) is dict or isinstance(row, Mapping):
        return row.get(name)
    return getattr(row, name, None)


def _clean(value: Any) -> str:
    if type(value) is str:
        return " ".join(value.split())
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    return " ".join(str(value).split())


def _text_value(value: Any) -> str:
    if type(value) is str:
        return value.strip()
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    return str(value).strip()


def _attribute_items(row: Any) -> list[tuple[str, str]]:
    """The product's (key, value) attribute pairs, stripped, without empty values: from a dict,
    Arrow's list of (key, value) pairs, or a list of {"key", "value"} dicts."""
    attributes = _get(row, "attributes")
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
    pairs = [(_text_value(k), _text_value(v)) for k, v in items]
    return [(k, v) for k, v in pairs if v]


def _category_items(row: Any) -> list[str]:
    path = _get(row, "category_path")
    if path is None or isinstance(path, float):
        return []
    if isinstance(path, str):
        path = re.split(r"\s*>\s*", path)
    return [c for c in (_clean(p) for p in path) if c]


@lru_cache(maxsize=1 << 16)
def _split_values(value: str) -> tuple[str, ...]:
    """A multi-valued attribute ("复古、文艺", "red, blue") as its values; "1,299" stays whole."""
    return tuple(part.strip() for part in _VALUE_SEPARATORS.split(value) if part.strip())


@lru_cache(maxsize=1 << 16)
def _value_forms(value: str) -> tuple[str, ...]:
    """Match forms of an attribute value: the whole value and each of its values."""
    forms = dict.fromkeys([_field_form(value), *map(_field_form, _split_values(value))])
    return tuple(f for f in forms if f)


# ---------------------------------------------------------------------------- attribute coverage

_YES = frozenset({"yes", "y", "true", "是", "有"})
_NO = frozenset({"no", "n", "false", "none", "n/a", "na", "否", "无", "没有"})
_STOPWORDS = frozenset("a an and are as at be by for from in into is it of on or per the to with without x".split())


@lru_cache(maxsize=1 << 16)
def _value_targets(value: str) -> tuple[tuple[str, ...], ...]:
    """What stating ``value`` takes: one tuple of match forms that must all appear per value
    (one form for a short value, the content words of one of more than 4 words)."""
    targets = []
    for part in _split_values(value):
        part = _EDGE_PUNCTUATION.sub("", _normal(part))
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
    flag = _normal(value).strip(" .")
    if flag in _YES:  # "Machine Washable: Yes" is stated by saying "machine washable"
        return _value_targets(key)
    return () if flag in _NO else _value_targets(value)


def _coverage_targets(row: Any) -> list[tuple[str, ...]]:
    """All targets of a product: its attribute values (a yes-flag by its key; no-flags skipped)
    and its brand, without repeats."""
    targets: dict[tuple[str, ...], None] = {}
    for key, value in _attribute_items(row):
        targets.update(dict.fromkeys(_attribute_targets(key, value)))
    brand = _text_value(_get(row, "brand"))
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


def _target_stated(form: str, target: tuple[str, ...]) -> bool:
    return all(_states(form, part) for part in target)


def attribute_coverage_per_row(descriptions: Sequence[str | None], inputs: Sequence[Any]) -> list[float | None]:
    """Per product: the share of its attribute values (and its brand) the description states.

    Values are the ``attributes`` values plus ``brand``; a multi-valued attribute ("复古、文艺",
    "red, blue") counts each value; a yes-flag ("Machine Washable: Yes") is stated by its key;
    no-flags ("No", "否", "无") are skipped; repeats count once. A value is stated when it
    appears in the description case-insensitively as a substring, after light normalisation of
    both (NFKC, casefold, extra whitespace and punctuation dropped, values stripped of it at
    their ends; Latin words must match whole words, a trailing plural s/es is accepted, and a
    match never spans a full stop, comma or the like; Chinese matches as a plain substring). A
    value of more than 4 words is stated when all its content words appear. ``None`` for a
    product without values.
    """
    if len(descriptions) != len(inputs):
        raise ValueError(f"{len(descriptions)} descriptions but {len(inputs)} inputs")
    return _coverage_rows([_form(_normal(d)) for d in _strings(descriptions)], inputs)


def _coverage_rows(description_forms: list[str], inputs: Sequence[Any]) -> list[float | None]:
    result: list[float | None] = []
    for description_form, row in zip(description_forms, inputs):
        targets = _coverage_targets(row)
        if not targets:
            result.append(None)
            continue
        form = f" {description_form} "
        result.append(sum(_target_stated(form, target) for target in targets) / len(targets))
    return result


def unstated_facts(description: str | None, row: Any) -> list[tuple[str, str]]:
    """The facts of ``row`` that ``description`` does not state, as :func:`attribute_coverage`
    judges it: ``(key, value)`` attribute pairs in the row's order, then ``("brand", brand)``
    when neither the text nor an attribute states the brand. No-flags are never listed."""
    form = f" {_form(_normal(description or ''))} "

    def stated(targets: tuple[tuple[str, ...], ...]) -> bool:
        return all(_target_stated(form, target) for target in targets)

    missing = [(key, value) for key, value in _attribute_items(row)
               if (targets := _attribute_targets(key, value)) and not stated(targets)]
    brand = _text_value(_get(row, "brand"))
    if brand and not stated(_value_targets(brand)):
        brand_form = _field_form(brand)
        if not any(brand_form in _value_forms(value) for _, value in missing):
            missing.append(("brand", brand))
    return missing


def _mean_defined(values: list[float | None]) -> float:
    defined = [v for v in values if v is not None]
    return sum(defined) / len(defined) if defined else 0.0


def attribute_coverage(descriptions: Sequence[str | None], inputs: Sequence[Any]) -> float:
    """Mean of :func:`attribute_coverage_per_row` over products that have ≥1 value (0–1; 0 when
    none has)."""
    return _mean_defined(attribute_coverage_per_row(descriptions, inputs))


# ----------------------------------------------------------------------------------- tags, all


def _tag_set(tags: Iterable[str] | None) -> set[str]:
    return {" ".join(str(t).casefold().split()) for t in (tags or []) if t is not None and str(t).strip()}


def tag_counts(predicted: Iterable[str] | None, reference: Iterable[str] | None) -> tuple[int, int, int]:
    """(true positives, predicted, reference) tags of one product, casefolded, as sets."""
    p, r = _tag_set(predicted), _tag_set(reference)
    return len(p & r), len(p), len(r)


def f1_from_counts(tp: float, n_pred: float, n_ref: float) -> float:
    """Micro F1 from summed counts: 1 when neither side has any tag, 0 when only one side has."""
    if n_pred == 0 and n_ref == 0:
        return 1.0
    if tp == 0:
        return 0.0
    precision, recall = tp / n_pred, tp / n_ref
    return 2 * precision * recall / (precision + recall)


def tag_f1(predicted_tags: Sequence[Iterable[str]], reference_tags: Sequence[Iterable[str]]) -> float:
    """Micro F1 of predicted tags, 0–1: tags casefolded with whitespace collapsed, as a set per
    product; TP = Σ|P∩R|, precision = TP/Σ|P|, recall = TP/Σ|R|. 1 when neither side has any
    tag, 0 when only one side has."""
    if len(predicted_tags) != len(reference_tags):
        raise ValueError(f"{len(predicted_tags)} predicted but {len(reference_tags)} reference tag lists")
    counts = [tag_counts(p, r) for p, r in zip(predicted_tags, reference_tags)]
    return f1_from_counts(*(sum(c[i] for c in counts) for i in range(3)))


def _fact_token_runs(row: Any) -> list[list[str]]:
    fields = [_text_value(_get(row, "title")), _text_value(_get(row, "brand")), *_category_items(row)]
    fields += [v for _, value in _attribute_items(row) for v in (value, *_split_values(value))]
    return [_match_tokens(_normal(f)) for f in fields if f]


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
        words = _match_tokens(_normal(str(tag)))
        result.append(bool(words) and not all(w in _STOPWORDS for w in words)
                      and any(_contains_run(run, words) for run in runs))
    return result


def tag_support_counts(tags: Iterable[str] | None, row: Any) -> tuple[int, int]:
    """(supported, all) distinct tags of one product (:func:`supported_tags`)."""
    distinct = sorted(_tag_set(tags))
    return sum(supported_tags(distinct, row)), len(distinct)


def tag_precision(predicted_tags: Sequence[Iterable[str]], inputs: Sequence[Any]) -> float:
    """Micro share of the predicted tags the products' facts support (:func:`supported_tags`),
    0–1; 1 when no tag is predicted at all."""
    counts = [tag_support_counts(t, row) for t, row in zip(predicted_tags, inputs, strict=True)]
    total = sum(c[1] for c in counts)
    return sum(c[0] for c in counts) / total if total else 1.0


def evaluate_text(
    predictions: Sequence[str | None],
    references: Sequence[str | None],
    inputs: Sequence[Any],
    *,
    lang: str = "auto",
    predicted_tags: Sequence[Iterable[str]] | None = None,
    reference_tags: Sequence[Iterable[str]] | None = None,
) -> dict[str, float]:
    """All text metrics at once, each as its own function defines it: ``n``, ``bleu``,
    ``chrf``, ``rouge_l``, ``distinct_2``, ``attribute_coverage`` (plus ``tag_f1`` when both tag
    lists are given, ``tag_precision`` when the predicted ones are). What a text gets wrong is the fact checker's (:mod:`labelops.factcheck`). ``lang="auto"`` decides once from the references
    (:func:`detect_lang`); each text is normalised and tokenized once for all metrics."""
    preds, refs = _paired(predictions, references)
    if len(inputs) != len(preds):
        raise ValueError(f"{len(preds)} predictions but {len(inputs)} inputs")
    resolved = _resolve_lang(lang, refs, preds)
    normal_preds = [_normal(p) for p in preds]
    pred_tokens = [_tokens(p, resolved) for p in normal_preds]
    ref_tokens = [_tokens(_normal(r), resolved) for r in refs]
    forms = [_form(p) for p in normal_preds]
    result = {
        "n": float(len(preds)),
        "bleu": bleu(preds, refs, resolved),
        "chrf": chrf(preds, refs),
        "rouge_l": _rouge_l_tokens(pred_tokens, ref_tokens),
        "distinct_2": _distinct_2_tokens(pred_tokens),
        "attribute_coverage": _mean_defined(_coverage_rows(forms, inputs)),
    }
    if predicted_tags is not None and reference_tags is not None:
        result["tag_f1"] = tag_f1(predicted_tags, reference_tags)
    if predicted_tags is not None:
        result["tag_precision"] = tag_precision(predicted_tags, inputs)
    return result
