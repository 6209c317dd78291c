"""Text metrics of the gate: hand-made English and Chinese cases, and the fast BLEU/chrF
against sacreBLEU itself."""

from __future__ import annotations

import random

import pytest
import sacrebleu

from labelops.textgen.metrics import (
    attribute_coverage,
    attribute_coverage_per_row,
    bleu,
    chrf,
    distinct_2,
    evaluate_text,
    rouge_l,
    tag_f1,
)

ZH_REF = "这款牛仔外套采用白色的衣身，十分百搭。衣身多处有做旧破洞设计，打破单调乏味。"
ZH_PRED = "这款牛仔外套采用黑色的衣身，简约百搭。后背有刺绣装饰，丰富层次感。"

# ---------------------------------------------------------------------------------- BLEU


def test_bleu_identical_is_100_and_disjoint_is_0() -> None:
    texts = ["The red cotton shirt is soft.", "A leather wallet with six card slots."]
    assert bleu(texts, texts) == pytest.approx(100.0)
    assert bleu(["the cat sat on the mat"], ["a dog ran in one park"]) == pytest.approx(0.0, abs=1e-9)
    assert bleu([], []) == 0.0


def test_bleu_length_mismatch_is_an_error() -> None:
    with pytest.raises(ValueError):
        bleu(["a"], ["a", "b"])


def test_chinese_bleu_uses_the_zh_tokenizer() -> None:
    assert bleu([ZH_REF], [ZH_REF], lang="zh") == pytest.approx(100.0)
    zh = bleu([ZH_PRED], [ZH_REF], lang="zh")
    assert zh > 0
    # whitespace tokenization sees each clause as one word: no shared 4-gram, BLEU 0
    assert bleu([ZH_PRED], [ZH_REF], tokenize="13a") == pytest.approx(0.0, abs=1e-9)
    assert bleu([ZH_PRED], [ZH_REF], lang="auto") == pytest.approx(zh)
    assert zh == pytest.approx(sacrebleu.corpus_bleu([ZH_PRED], [[ZH_REF]], tokenize="zh").score)


TRICKY = [
    "Price: Rs. 1,299.00 - only today!!",
    "a..5 b.,c ...5 5... .5 5. x,y 1,000.5-3 (hi) [x] {y} &amp; &quot;q&quot; <skipped> a-\nb",
    "这款BRAND针织两件套连衣裙，简约的纯色半高领针织上衣。2018新款 3.5折",
    "Kite T-Shirt, 100% cotton; size: M/L ... great!",
    "",
    "   leading and trailing spaces   ",
    "mixed ５００ｍｌ full-width ＡＢＣ，标点！",
]


# ---------------------------------------------------------------------------------- chrF


def test_chrf_on_chinese() -> None:
    assert chrf([ZH_REF], [ZH_REF]) == pytest.approx(100.0)
    spaced = " ".join(ZH_REF)  # TaoDescribe-style character-spaced text reads the same
    assert chrf([ZH_REF], [spaced]) == pytest.approx(100.0)
    partial = chrf([ZH_PRED], [ZH_REF])
    assert 0 < partial < 100
    assert chrf(["完全不同的句子"], [ZH_REF]) < partial


# ------------------------------------------------------------------------------- ROUGE-L


def test_rouge_l_english_words() -> None:
    # LCS of "the cat sat on the mat" / "the cat is on the mat" = "the cat on the mat" (5 of 6)
    assert rouge_l(["the cat sat on the mat"], ["The cat is on the mat."]) == pytest.approx(5 / 6)
    assert rouge_l(["a b c"], ["x y z"]) == 0.0
    assert rouge_l(["", "a"], ["a", ""]) == 0.0


def test_rouge_l_chinese_characters() -> None:
    # LCS of 白色牛仔外套 (6) and 白色的外套 (5) = 白色外套 (4): P 4/6, R 4/5
    p, r = 4 / 6, 4 / 5
    assert rouge_l(["白色牛仔外套"], ["白色的外套"], lang="zh") == pytest.approx(2 * p * r / (p + r))
    assert rouge_l(["白色牛仔外套"], ["白色的外套"], lang="auto") == pytest.approx(2 * p * r / (p + r))
    # whitespace-style tokens see two different words
    assert rouge_l(["白色牛仔外套"], ["白色的外套"], lang="en") == 0.0
    # mean over pairs
    assert rouge_l(["白色外套", "黑色"], ["白色外套", "红色"], lang="zh") == pytest.approx((1.0 + 0.5) / 2)


def test_rouge_l_equals_its_definition_by_dynamic_programming() -> None:
    rng = random.Random(5)
    for _ in range(100):
        a = [rng.choice("abcd") for _ in range(rng.randint(0, 60))]
        b = [rng.choice("abcde") for _ in range(rng.randint(0, 60))]
        table = [[0] * (len(b) + 1) for _ in range(len(a) + 1)]
        for i, x in enumerate(a):
            for j, y in enumerate(b):
                table[i + 1][j + 1] = table[i][j] + 1 if x == y else max(table[i][j + 1], table[i + 1][j])
        lcs = table[-1][-1]
        f1 = 2 * lcs / (len(a) + len(b)) if lcs else 0.0  # 2PR/(P+R) with P = lcs/|a|, R = lcs/|b|
        assert rouge_l([" ".join(a)], [" ".join(b)]) == pytest.approx(f1, abs=1e-6)


# ---------------------------------------------------------------------------- distinct-2


def test_distinct_2() -> None:
    assert distinct_2(["a b a b"]) == pytest.approx(2 / 3)  # (a,b) (b,a) (a,b)
    assert distinct_2(["a b", "a b"]) == pytest.approx(1 / 2)
    assert distinct_2(["a", "b"]) == 0.0  # no bigram, and none across predictions
    assert distinct_2(["白色白色"], lang="zh") == pytest.approx(2 / 3)  # 白色 色白 白色
    assert distinct_2(["白色外套", "黑色外套"], lang="auto") == pytest.approx(4 / 6)  # 色外, 外套 twice


# ---------------------------------------------------------------------- attribute coverage


def test_coverage_matches_chinese_by_substring() -> None:
    row = {"attributes": {"颜色": "白色", "材质": "牛仔布"}}
    assert attribute_coverage(["这款白色外套"], [row]) == pytest.approx(0.5)
    assert attribute_coverage(["这款白色牛仔布外套"], [row]) == pytest.approx(1.0)


def test_coverage_is_case_insensitive_and_whole_word_in_english() -> None:
    row = {"brand": "Acme", "attributes": {"Color": "Red", "Material": "Cotton"}}
    assert attribute_coverage(["ACME makes this RED shirt from cotton."], [row]) == pytest.approx(1.0)
    assert attribute_coverage(["An Acme shirt, covered in cottons."], [row]) == pytest.approx(2 / 3)  # no "red"


def test_coverage_per_row_skips_products_without_values() -> None:
    rows = [{"attributes": {}}, {"attributes": {"color": "red"}}, {"attributes": [("color", "blue")]}]
    per_row = attribute_coverage_per_row(["anything", "a red cup", "a red cup"], rows)
    assert per_row == [None, 1.0, 0.0]
    assert attribute_coverage(["anything", "a red cup", "a red cup"], rows) == pytest.approx(0.5)
    assert attribute_coverage(["x"], [{}]) == 0.0


def test_coverage_normalisation_multi_values_flags_and_long_values() -> None:
    row = {
        "attributes": {
            "风格": "复古、文艺",
            "Machine Washable": "Yes",
            "Bleach": "No",
            "Volume": "500 ml.",
            "Care": "Machine wash cold with similar colours",
        }
    }
    text = "复古又文艺的设计, machine-washable; holds 500ML. Wash cold with similar colours in the machine."
    # 复古, 文艺, machine washable (the key of a yes-flag), 500 ml, the long care value: 5 of 5
    assert attribute_coverage([text], [row]) == pytest.approx(1.0)
    assert attribute_coverage(["复古"], [row]) == pytest.approx(1 / 5)


ROW = {
    "title": "Acme Water Bottle 500 ml",
    "brand": "Acme",
    "price": "1299.00",
    "category_path": ["Kitchen", "Bottles"],
    "attributes": {"Colour": "Red", "Material": "Steel"},
}


def test_coverage_reads_prices_and_decimals_the_same_in_any_script() -> None:
    # "£" makes the text non-ASCII; "24.96" must read the same as in ASCII text
    books = {"attributes": {"Price (incl. tax)": "£24.96", "Depth": "9.64 inch"}}
    assert attribute_coverage(["Price (incl. tax): £24.96. Depth: 9.64 inch."], [books]) == 1.0
    assert attribute_coverage(["Price: £24.90, 9.6 inch deep."], [books]) == 0.0


# ---------------------------------------------------------------------------- tags, all


def test_tag_f1_micro() -> None:
    # TP: "red" and "x" → P = 2/3, R = 2/3
    assert tag_f1([["Red", "cotton"], ["x"]], [["red"], ["y", " X "]]) == pytest.approx(2 / 3)
    assert tag_f1([[]], [[]]) == 1.0
    assert tag_f1([["a"]], [[]]) == 0.0


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_evaluate_text_gives_every_metric(lang: str) -> None:
    if lang == "en":
        inputs = [ROW, {"title": "Globex Mug", "brand": "Globex", "attributes": {"color": "blue"}}]
        refs = ["The Acme bottle holds 500 ml of water.", "A blue Globex mug."]
        preds = ["The Acme bottle holds 500 ml.", "A red Globex mug with 2 handles."]
    else:
        inputs = [{"attributes": {"颜色": "白色"}}, {"attributes": {"颜色": "黑色"}}]
        refs, preds = [ZH_REF, "黑色针织衫"], [ZH_PRED, "黑色针织衫"]
    tags: list[list[str]] = [["a"], []]
    result = evaluate_text(preds, refs, inputs, predicted_tags=tags, reference_tags=tags)
    assert set(result) == {"n", "bleu", "chrf", "rouge_l", "distinct_2", "attribute_coverage", "tag_f1", "tag_precision"}
    assert result["n"] == 2
    assert result["bleu"] == pytest.approx(bleu(preds, refs, lang=lang))
    assert result["rouge_l"] == pytest.approx(rouge_l(preds, refs, lang=lang))
    assert result["distinct_2"] == pytest.approx(distinct_2(preds, lang=lang))
    assert result["attribute_coverage"] == pytest.approx(attribute_coverage(preds, inputs))
    assert result["tag_f1"] == 1.0
    assert result["tag_precision"] == 0.0  # "a" is no fact of the first product


def test_tag_precision_counts_only_tags_the_facts_state():
    from labelops.textgen.facts import supported_tags
    from labelops.textgen.metrics import tag_precision

    row = {"title": "Lumen Alto Beige Headphones", "brand": "Lumen", "category_path": ["Electronics", "Audio"],
           "attributes": {"color": "beige", "connectivity": "Bluetooth 5.0, USB-C"}}
    tags = ["Electronics", "beige", "headphones", "bluetooth 5.0", "usb-c", "lumen alto",  # stated
            "meet", "hello", "ember", "lamp", "furniture", "the"]  # filler, another line, a category it is not in
    assert supported_tags(tags, row) == [True] * 6 + [False] * 6
    assert tag_precision([tags], [row]) == 0.5
    assert tag_precision([["beige", "beige", "Beige"]], [row]) == 1.0  # a tag counts once
    assert tag_precision([[]], [row]) == 1.0
    assert supported_tags(["白色", "设计"], {"title": "韩版连衣裙", "attributes": {"颜色": "白色"}}) == [True, False]
