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
the same way) or ``"auto"``, which looks at the references
(:func:`labelops.textgen.facts.detect_lang`): CJK when at least 30% of their letters are
Chinese/Japanese characters. Tokens, value forms and what counts as stating a fact are
:mod:`labelops.textgen.facts`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, Literal

from labelops.textgen.facts import (coverage_targets, detect_lang, match_form, normal, supported_tags, target_stated,
                                    text_tokens)

__all__ = [
    "attribute_coverage",
    "attribute_coverage_per_row",
    "bleu",
    "chrf",
    "distinct_2",
    "evaluate_text",
    "rouge_l",
    "f1_from_counts",
    "tag_counts",
    "tag_f1",
]


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

# -------------------------------------------------------------------------------- BLEU / chrF


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


def rouge_l(predictions: Sequence[str | None], references: Sequence[str | None], lang: str = "en") -> float:
    """ROUGE-L F1, 0–1, averaged over pairs (torchmetrics' rouge_score on this module's tokens).

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
    return _rouge_l_tokens([text_tokens(normal(p), lang) for p in preds], [text_tokens(normal(r), lang) for r in refs])


def _rouge_l_tokens(preds: list[list[str]], refs: list[list[str]]) -> float:
    """torchmetrics' ROUGE-L F1 on token lists made here (no stemming, no normalising of its own).

    Tokens never hold whitespace, so joining with spaces and splitting again gives them back as
    they were."""
    if not preds:
        return 0.0
    from torchmetrics.functional.text.rouge import rouge_score

    scores = rouge_score([" ".join(p) for p in preds], [" ".join(r) for r in refs], rouge_keys="rougeL",
                         accumulate="best", tokenizer=str.split, normalizer=_unchanged)
    return float(scores["rougeL_fmeasure"])


def _unchanged(text: str) -> str:
    return text


def distinct_2(predictions: Sequence[str | None], lang: str = "en") -> float:
    """Distinct bigrams / all bigrams over all predictions, 0–1 (0 when there are no bigrams).

    Bigrams are counted within each prediction (never across two), on the tokens of
    :func:`rouge_l`: words, or single characters for CJK text.
    """
    preds = _strings(predictions)
    lang = _resolve_lang(lang, preds)
    return _distinct_2_tokens([text_tokens(normal(p), lang) for p in preds])


def _distinct_2_tokens(token_lists: list[list[str]]) -> float:
    seen: set[tuple[str, str]] = set()
    total = 0
    for tokens in token_lists:
        if len(tokens) > 1:
            total += len(tokens) - 1
            seen.update(zip(tokens, tokens[1:]))
    return len(seen) / total if total else 0.0

# ------------------------------------------------------------------------- attribute coverage


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
    return _coverage_rows([match_form(normal(d)) for d in _strings(descriptions)], inputs)


def _coverage_rows(description_forms: list[str], inputs: Sequence[Any]) -> list[float | None]:
    result: list[float | None] = []
    for description_form, row in zip(description_forms, inputs):
        targets = coverage_targets(row)
        if not targets:
            result.append(None)
            continue
        form = f" {description_form} "
        result.append(sum(target_stated(form, target) for target in targets) / len(targets))
    return result


def _mean_defined(values: list[float | None]) -> float:
    defined = [v for v in values if v is not None]
    return sum(defined) / len(defined) if defined else 0.0


def attribute_coverage(descriptions: Sequence[str | None], inputs: Sequence[Any]) -> float:
    """Mean of :func:`attribute_coverage_per_row` over products that have ≥1 value (0–1; 0 when
    none has)."""
    return _mean_defined(attribute_coverage_per_row(descriptions, inputs))

# ---------------------------------------------------------------------------------- tags, all


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
    normal_preds = [normal(p) for p in preds]
    pred_tokens = [text_tokens(p, resolved) for p in normal_preds]
    ref_tokens = [text_tokens(normal(r), resolved) for r in refs]
    forms = [match_form(p) for p in normal_preds]
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
