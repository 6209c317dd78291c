"""Text metrics of the gate: hand-made English and Chinese cases, and the fast BLEU/chrF
against sacreBLEU itself."""

from __future__ import annotations

import random

import pytest
import sacrebleu

from labelops.textgen.metrics import (
    HallucinationVocabulary,
    _lcs_length,
    attribute_coverage,
    attribute_coverage_per_row,
    bleu,
    chrf,
    detect_lang,
    distinct_2,
    evaluate_text,
    find_hallucinations,
    hallucination_flags,
    hallucination_rate,
    is_cjk,
    rouge_l,
    tag_f1,
    unstated_facts,
)

ZH_REF = "这款牛仔外套采用白色的衣身，十分百搭。衣身多处有做旧破洞设计，打破单调乏味。"
ZH_PRED = "这款牛仔外套采用黑色的衣身，简约百搭。后背有刺绣装饰，丰富层次感。"

# ------------------------------------------------------------------------------ language


def test_language_detection() -> None:
    assert is_cjk("这款牛仔外套采用白色")
    assert is_cjk("这款BRAND针织连衣裙")  # a Latin word in Chinese copy
    assert not is_cjk("A red cotton T-shirt")
    assert not is_cjk("12345 !!")
    assert detect_lang([ZH_REF, "one English line"]) == "zh"
    assert detect_lang(["A red cotton T-shirt", None, ""]) == "en"


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


def test_lcs_length_equals_dynamic_programming() -> None:
    rng = random.Random(5)
    for _ in range(300):
        a = [rng.choice("abcd") for _ in range(rng.randint(0, 80))]
        b = [rng.choice("abcde") for _ in range(rng.randint(0, 80))]
        table = [[0] * (len(b) + 1) for _ in range(len(a) + 1)]
        for i, x in enumerate(a):
            for j, y in enumerate(b):
                table[i + 1][j + 1] = table[i][j] + 1 if x == y else max(table[i][j + 1], table[i + 1][j])
        assert _lcs_length(a, b) == table[-1][-1]


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


# ---------------------------------------------------------------------------- hallucination

BRANDS = {"Acme", "Globex", "Ace"}
VALUES = {"color": {"red", "blue", "dark blue"}, "material": {"cotton", "leather"}}
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


def test_unstated_facts_lists_what_coverage_misses() -> None:
    row = {"brand": "Seabright", "attributes": {"color": "red", "Pockets": "3", "Lined": "No", "Hooded": "Yes"}}
    assert unstated_facts("A red jacket by Seabright.", row) == [("Pockets", "3"), ("Hooded", "Yes")]
    assert unstated_facts("A hooded jacket with 3 pockets.", row) == [("color", "red"), ("brand", "Seabright")]
    with_brand_attribute = {"brand": "Seabright", "attributes": {"Brand": "Seabright"}}
    assert unstated_facts("A jacket.", with_brand_attribute) == [("Brand", "Seabright")]  # listed once


def test_faithful_description_is_not_hallucinated() -> None:
    text = "The Acme water bottle holds 500 ml, comes in red steel and costs only 1,299."
    assert find_hallucinations(text, ROW, HallucinationVocabulary(BRANDS, VALUES)) == []
    assert hallucination_flags([text], [ROW], BRANDS, VALUES) == [False]


def test_invented_brand_is_hallucinated() -> None:
    found = find_hallucinations("A Globex bottle in red.", ROW, HallucinationVocabulary(BRANDS, VALUES))
    assert [(h.kind, h.text) for h in found] == [("brand", "globex")]
    # a brand name inside another word is no mention ("ace" in "space")
    assert hallucination_flags(["Space for 500 ml."], [ROW], BRANDS, VALUES) == [False]


def test_other_value_of_a_known_key_is_hallucinated() -> None:
    vocab = HallucinationVocabulary(BRANDS, VALUES)
    found = find_hallucinations("A blue bottle.", ROW, vocab)
    assert [(h.kind, h.text, h.key) for h in found] == [("attribute", "blue", "color")]
    # the input has no "material: cotton", but it has the key with another value (steel)
    assert hallucination_flags(["A cotton sleeve."], [ROW], vocabulary=vocab) == [True]
    # a key the input lacks is not judged
    no_colour = {"title": "Acme bottle", "brand": "Acme"}
    assert hallucination_flags(["A blue bottle."], [no_colour], vocabulary=vocab) == [False]
    assert hallucination_flags(["Colour: red. Blue lid sold apart."], [ROW], vocabulary=vocab) == [True]
    dark_blue = {"color": {"dark blue", "red"}}  # no value matches across punctuation
    assert hallucination_flags(["It is red. Dark, blue-ish lids"], [ROW], BRANDS, dark_blue) == [False]
    # saying more precisely what the input says is no invention
    assert hallucination_flags(["A dark blue mug."], [{"attributes": {"color": "blue"}}], BRANDS, dark_blue) == [False]


def test_invented_number_is_hallucinated_but_the_inputs_own_is_not() -> None:
    flags = hallucination_flags(["Holds 500 ml.", "Holds 750 ml.", "Holds 500ml, weighs 4.5 kg."], [ROW] * 3)
    assert flags == [False, True, True]
    found = find_hallucinations("Holds 750 ml.", ROW)
    assert [(h.kind, h.text) for h in found] == [("number", "750")]
    assert hallucination_flags(["Two bottles for the price of one."], [ROW]) == [False]  # spelled out
    assert hallucination_rate(["Holds 500 ml.", "Holds 750 ml."], [ROW, ROW]) == pytest.approx(0.5)


def test_chinese_hallucinations() -> None:
    row = {"title": "优衣库白色牛仔外套 500克", "brand": "优衣库", "attributes": {"颜色": "白色", "材质": "牛仔布"}}
    vocab = HallucinationVocabulary({"优衣库", "耐克"}, {"颜色": {"白色", "黑色"}, "材质": {"牛仔布", "针织"}})
    texts = [
        "这款优衣库白色牛仔外套，简约百搭。",  # faithful
        "这款耐克白色外套，简约百搭。",  # invented brand
        "这款黑色外套，简约百搭。",  # other colour
        "这款外套仅重300克。",  # invented number
        "这款外套仅重５００克。",  # the input's own number, in full-width digits
    ]
    assert hallucination_flags(texts, [row] * 5, vocabulary=vocab) == [False, True, True, True, False]
    assert [h.kind for h in find_hallucinations(texts[1], row, vocab)] == ["brand"]
    assert [(h.kind, h.text) for h in find_hallucinations(texts[2], row, vocab)] == [("attribute", "黑色")]


def test_vocabulary_from_listings_filters_and_calibrates() -> None:
    listings = [
        {"brand": "Acme", "attributes": {"Colour": "Red", "Size": "M", "Material": "Cotton"}},
        {"brand": "Globex", "attributes": {"color": "Blue", "Volume": "500 ml", "Fit": "Regular"}},
        {"brand": "耐克", "attributes": {"颜色": "黑色", "材质": "棉"}},
    ]
    vocab = HallucinationVocabulary.from_listings(listings)
    assert vocab.known_brands == {"acme", "globex", "耐克"}
    assert vocab.known_values["color"] == {"red", "blue"}  # "Colour" and "color" are one key
    assert vocab.known_values["颜色"] == {"黑色"}
    assert "size" not in vocab.known_values  # "m": too short
    assert "volume" not in vocab.known_values  # a measurement: the number rule's
    assert "fit" not in vocab.known_values  # "regular": a generic word
    assert "材质" not in vocab.known_values  # "棉": a single character

    # "Home" is a brand but also a word the copywriters use freely: calibration drops it
    word_brand = [{"brand": "Home", "title": "Home lamp", "description": "A lamp for the home."}]
    word_brand += [{"brand": "Acme", "title": f"Lamp {i}", "description": "Light up your home."} for i in range(6)]
    calibrated = HallucinationVocabulary.from_listings(word_brand)
    assert calibrated.known_brands == {"acme"}
    assert HallucinationVocabulary.from_listings(word_brand, calibrate=False).known_brands == {"acme", "home"}

    # a key whose values hardly repeat is an identifier, not a fact class
    names = [f"model{chr(97 + i % 26)}x{chr(97 + i // 26)}" for i in range(30)]
    models = [{"attributes": {"model name": name, "color": "red"}} for name in names]
    assert set(HallucinationVocabulary.from_listings(models).known_values) == {"color"}


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
    vocab = HallucinationVocabulary.from_listings(inputs)
    tags: list[list[str]] = [["a"], []]
    result = evaluate_text(preds, refs, inputs, vocabulary=vocab, predicted_tags=tags, reference_tags=tags)
    assert set(result) == {
        "n", "bleu", "chrf", "rouge_l", "distinct_2", "attribute_coverage", "hallucination_rate", "tag_f1",
    }  # fmt: skip
    assert result["n"] == 2
    assert result["bleu"] == pytest.approx(bleu(preds, refs, lang=lang))
    assert result["rouge_l"] == pytest.approx(rouge_l(preds, refs, lang=lang))
    assert result["distinct_2"] == pytest.approx(distinct_2(preds, lang=lang))
    assert result["attribute_coverage"] == pytest.approx(attribute_coverage(preds, inputs))
    assert result["hallucination_rate"] == pytest.approx(hallucination_rate(preds, inputs, vocabulary=vocab))
    assert result["tag_f1"] == 1.0
    if lang == "en":
        assert result["hallucination_rate"] == pytest.approx(0.5)  # the mug: "red" (it is blue), "2 handles"
