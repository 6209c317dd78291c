"""Grounding: clauses stating what the product's input does not support never reach a target or a
label, and completion states the facts a generated description leaves out."""

from __future__ import annotations

from labelops.factcheck import FactChecker
from labelops.textgen.data import build_example
from labelops.textgen.grounding import clauses, complete, ground
from labelops.textgen.metrics import attribute_coverage

TOWEL = {"listing_id": "t1", "title": "Marvel Cotton Bath Towel", "brand": "Marvel", "price": "449.00",
         "attributes": {"GSM": "350", "color": "blue"},
         "description": "Buy Marvel Cotton Bath Towel at Rs. 449 at Flipkart.com. Only Genuine Products. "
                        "30 Day Replacement Guarantee. Free Shipping."}
CHECKER = FactChecker.of(names=["Ember"], brands=["Seabright", "Marvel"], values={"color": ["red", "blue"]})


def test_clauses_join_back_to_the_text():
    text = "Soft, 350 GSM; blue. Rs. 449 only! 这款上衣，白色。"
    assert "".join(c + end for c, end in clauses(text)) == text
    assert ("Rs. 449 only", "! ") in clauses(text)  # "Rs." before a number ends no clause


def test_a_clause_with_an_invented_number_is_dropped_and_the_rest_kept():
    assert ground(TOWEL["description"], TOWEL) == (
        "Buy Marvel Cotton Bath Towel at Rs. 449 at Flipkart.com. Only Genuine Products. Free Shipping.")


def test_supported_text_is_kept_as_written():
    text = "A blue towel, 350 GSM, by Marvel."
    assert ground(text, TOWEL, CHECKER) == text


def test_invented_brand_wrong_value_and_other_names_are_dropped_with_a_checker():
    text = "A soft towel, made by Seabright, in red, 350 GSM."
    assert ground(text, TOWEL, CHECKER) == "A soft towel, 350 GSM."
    assert ground(text, TOWEL) == text  # without the snapshot's checker only numbers are checked
    assert ground("A towel from the Ember line, 350 GSM.", TOWEL, CHECKER) == "350 GSM."


def test_a_clause_said_twice_is_kept_once():
    assert ground("A blue towel, 350 GSM, a blue towel.", TOWEL, CHECKER) == "A blue towel, 350 GSM."


def test_chinese_clauses_are_grounded_too():
    row = {"title": "牛仔外套", "attributes": {"材质": "牛仔布"}}
    assert ground("这款外套采用牛仔布，2019年新款，简约百搭。", row) == "这款外套采用牛仔布，简约百搭。"


def test_training_targets_are_grounded_but_the_reference_keeps_what_the_shop_published():
    example = build_example(TOWEL)
    assert "30 Day" not in example["target"] and "Free Shipping" in example["target"]
    assert "30 Day Replacement Guarantee" in example["description"]


def test_a_description_with_nothing_supported_teaches_nothing():
    assert build_example({**TOWEL, "description": "Rated 4.5 by 1,200 buyers."}) is None


KETTLE = {"title": "Prestige Electric Kettle", "brand": "Prestige",
          "attributes": {"Capacity": "1.5 L", "color": "silver", "Auto Shut-off": "Yes", "Cordless": "No",
                         "Warranty": "1 Year"}}


def test_completion_states_what_the_text_leaves_out_after_it_in_the_templates_words():
    text = "A silver kettle by Prestige, quick to boil"
    completed = complete(text, KETTLE)
    # the model's text first and unchanged; then the unstated facts in the row's order; the
    # stated ones (silver, Prestige) and the no-flag (Cordless: No) are not repeated
    assert completed == "A silver kettle by Prestige, quick to boil. Capacity: 1.5 L. Auto Shut-off: Yes. Warranty: 1 Year."
    assert attribute_coverage([text], [KETTLE]) < 0.5
    assert attribute_coverage([completed], [KETTLE]) == 1.0
    assert FactChecker.from_listings([KETTLE]).check(completed, KETTLE) == []
    assert complete(completed, KETTLE) == completed  # nothing left to add


def test_completion_of_an_empty_text_and_of_a_brand_no_attribute_names():
    row = {"title": "Mug", "brand": "Seabright", "attributes": {"material": "stoneware"}}
    assert complete("", row) == "Material: stoneware. Brand: Seabright."
    assert complete("A stoneware mug by Seabright.", row) == "A stoneware mug by Seabright."


def test_completion_keeps_within_its_length_and_leaves_out_facts_that_do_not_fit():
    row = {"attributes": {"In The Box": "kettle, base, manual " * 5, "color": "red"}}
    completed = complete("A kettle.", row, max_chars=40)
    assert completed == "A kettle. Color: red."  # the long fact would not fit: left out, not cut


def test_chinese_completion():
    row = {"title": "上衣", "attributes": {"颜色": "白色", "风格": "清新、复古"}}
    assert complete("这件上衣选用白色，", row) == "这件上衣选用白色。风格为清新、复古。"
    assert attribute_coverage([complete("这件上衣选用白色，", row)], [row]) == 1.0
