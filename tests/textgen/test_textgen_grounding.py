"""Grounding: clauses stating what the product's input does not support never reach a target or a label."""

from __future__ import annotations

from labelops.textgen.data import build_example
from labelops.textgen.grounding import clauses, ground
from labelops.textgen.metrics import HallucinationVocabulary

TOWEL = {"listing_id": "t1", "title": "Marvel Cotton Bath Towel", "brand": "Marvel", "price": "449.00",
         "attributes": {"GSM": "350", "color": "blue"},
         "description": "Buy Marvel Cotton Bath Towel at Rs. 449 at Flipkart.com. Only Genuine Products. "
                        "30 Day Replacement Guarantee. Free Shipping."}
VOCABULARY = HallucinationVocabulary(frozenset({"seabright", "marvel"}), {"color": frozenset({"red", "blue"})})


def test_clauses_join_back_to_the_text():
    text = "Soft, 350 GSM; blue. Rs. 449 only! 这款上衣，白色。"
    assert "".join(c + end for c, end in clauses(text)) == text
    assert ("Rs. 449 only", "! ") in clauses(text)  # "Rs." before a number ends no clause


def test_a_clause_with_an_invented_number_is_dropped_and_the_rest_kept():
    assert ground(TOWEL["description"], TOWEL) == (
        "Buy Marvel Cotton Bath Towel at Rs. 449 at Flipkart.com. Only Genuine Products. Free Shipping.")


def test_supported_text_is_kept_as_written():
    text = "A blue towel, 350 GSM, by Marvel."
    assert ground(text, TOWEL, VOCABULARY) == text


def test_invented_brand_and_wrong_attribute_value_are_dropped_with_a_vocabulary():
    text = "A soft towel, made by Seabright, in red, 350 GSM."
    assert ground(text, TOWEL, VOCABULARY) == "A soft towel, 350 GSM."
    assert ground(text, TOWEL) == text  # without a vocabulary only numbers are checked


def test_chinese_clauses_are_grounded_too():
    row = {"title": "牛仔外套", "attributes": {"材质": "牛仔布"}}
    assert ground("这款外套采用牛仔布，2019年新款，简约百搭。", row) == "这款外套采用牛仔布，简约百搭。"


def test_training_targets_are_grounded_but_the_reference_keeps_what_the_shop_published():
    example = build_example(TOWEL)
    assert "30 Day" not in example["target"] and "Free Shipping" in example["target"]
    assert "30 Day Replacement Guarantee" in example["description"]


def test_a_description_with_nothing_supported_teaches_nothing():
    assert build_example({**TOWEL, "description": "Rated 4.5 by 1,200 buyers."}) is None
