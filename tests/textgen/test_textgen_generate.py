"""Generation's clean-up of what a small model writes: loops are kept once, real repeats stay."""

from __future__ import annotations

from labelops.textgen.generate import drop_loops


def test_a_phrase_repeated_over_and_over_is_kept_once():
    assert drop_loops("Buy it at Flipkart.com.com.com.com.com. Free Shipping.") == "Buy it at Flipkart.com. Free Shipping."
    assert drop_loops("Cotton Fabric Cotton Fabric Cotton Fabric Cotton Fabric Care") == "Cotton Fabric Care"
    assert drop_loops("让设计，让设计，让设计，轻松凸显身材。") == "让设计，轻松凸显身材。"


def test_numbers_and_a_phrase_said_twice_are_left_alone():
    text = "Model Name Model Name PATTA, 1000000 units, bye bye, 2.222.222 mAh"
    assert drop_loops(text) == text
