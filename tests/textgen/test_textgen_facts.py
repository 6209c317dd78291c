"""Facts of a product and how a text states them: language, what a description leaves unstated."""

from __future__ import annotations

from labelops.textgen.facts import detect_lang, is_cjk, unstated_facts

ZH_REF = "这款牛仔外套采用白色的衣身，十分百搭。衣身多处有做旧破洞设计，打破单调乏味。"


def test_language_detection() -> None:
    assert is_cjk("这款牛仔外套采用白色")
    assert is_cjk("这款BRAND针织连衣裙")  # a Latin word in Chinese copy
    assert not is_cjk("A red cotton T-shirt")
    assert not is_cjk("12345 !!")
    assert detect_lang([ZH_REF, "one English line"]) == "zh"
    assert detect_lang(["A red cotton T-shirt", None, ""]) == "en"


def test_unstated_facts_lists_what_coverage_misses() -> None:
    row = {"brand": "Seabright", "attributes": {"color": "red", "Pockets": "3", "Lined": "No", "Hooded": "Yes"}}
    assert unstated_facts("A red jacket by Seabright.", row) == [("Pockets", "3"), ("Hooded", "Yes")]
    assert unstated_facts("A hooded jacket with 3 pockets.", row) == [("color", "red"), ("brand", "Seabright")]
    with_brand_attribute = {"brand": "Seabright", "attributes": {"Brand": "Seabright"}}
    assert unstated_facts("A jacket.", with_brand_attribute) == [("Brand", "Seabright")]  # listed once
