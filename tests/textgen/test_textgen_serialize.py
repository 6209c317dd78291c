"""What the text generator reads and writes: prompts, targets, tags, tokens, splits."""

from __future__ import annotations

from collections import Counter

import pytest

from labelops.snapshot import split_of
from labelops.textgen.data import IGNORE_INDEX, build_examples, encode_example
from labelops.textgen.serialize import (
    EOS,
    SEP,
    TAGS,
    clean_description,
    format_target,
    parse_output,
    reference_tags,
    serialize_input,
)
from labelops.textgen.tokenizer import load_tokenizer, prompt_ids, train_tokenizer

SHIRT = {
    "listing_id": "abc", "title": "Kite Cotton T-Shirt", "brand": "Seabright", "category_path": ["Clothing", "T-Shirts"],
    "price": "30.99", "currency": "EUR", "attributes": {"material": "cotton", "color": "red", "UPC": "123456"},
    "description": "A red cotton T-shirt by Seabright. The cotton feels soft and the fit is relaxed.",
}
COAT = {"listing_id": "zh1", "title": "牛仔外套", "attributes": {"颜色": "白色", "材质": "牛仔布"},
        "description": "这款白色外套采用牛仔布，简约百搭。"}


def test_prompt_lists_facts_in_the_documented_order():
    assert serialize_input(SHIRT).splitlines() == [
        "title: Kite Cotton T-Shirt", "brand: Seabright", "category: Clothing > T-Shirts", "price: 30.99 EUR",
        "UPC: 123456", "color: red", "material: cotton",
    ]


def test_missing_fields_are_left_out():
    assert serialize_input({"title": "Mug", "attributes": None, "category_path": None}) == "title: Mug"
    assert serialize_input({}) == ""


def test_target_round_trips_through_parse_output():
    target = format_target("A red shirt.", ["clothing", "red"])
    assert target == f"A red shirt.{TAGS}clothing, red{EOS}"
    assert parse_output(target) == ("A red shirt.", ["clothing", "red"])
    assert parse_output("Only text, no tags") == ("Only text, no tags", [])


def test_reference_tags_follow_the_rule():
    tags = reference_tags(SHIRT)
    assert tags[:2] == ["clothing", "t-shirts"]
    assert "red" in tags and "cotton" in tags
    assert "123456" not in tags  # identifiers are not tags
    assert len(tags) == len(set(tags)) <= 12


def test_chinese_tags_come_from_attributes():
    assert reference_tags(COAT) == ["牛仔布", "白色"]


def test_books_teaser_and_more_are_cleaned_from_targets():
    teaser = "Mary Shelley began writing Frankenstein when she was only eighteen. At once a Gothic"
    full = teaser + " thriller, a passionate romance, and a cautionary tale."
    assert clean_description(f"{teaser} {full} ...more") == full
    assert clean_description("Plain text stays.") == "Plain text stays."


def test_long_descriptions_are_cut_at_a_sentence_end():
    text = " ".join(f"Sentence number {i} is here." for i in range(100))
    cleaned = clean_description(text, max_chars=100)
    assert len(cleaned) <= 100 and cleaned.endswith(".")


@pytest.fixture(scope="module")
def tokenizer(tmp_path_factory):
    texts = [serialize_input(SHIRT) + SEP + format_target(SHIRT["description"], reference_tags(SHIRT))] * 20
    texts += [serialize_input(COAT) + SEP + COAT["description"]] * 20
    path = tmp_path_factory.mktemp("tok")
    train_tokenizer(texts, vocab_size=400).save_pretrained(path)
    return load_tokenizer(path)


@pytest.mark.parametrize("text", [serialize_input(SHIRT), COAT["description"], "emoji ✓ and ünïcödé", "<|tags|>a, b"])
def test_tokenizer_round_trips_any_text(tokenizer, text):
    assert tokenizer.decode(tokenizer(text, add_special_tokens=False)["input_ids"]) == text


def test_markers_are_single_tokens(tokenizer):
    for marker in (SEP, TAGS, EOS):
        assert len(tokenizer(marker, add_special_tokens=False)["input_ids"]) == 1


def test_loss_only_on_target_tokens(tokenizer):
    example = build_examples([SHIRT])
    (shirt,) = [e for split in example.values() for e in split]
    encoded = encode_example(tokenizer, shirt["prompt"], shirt["target"], max_length=512)
    n_prompt = len(prompt_ids(tokenizer, shirt["prompt"], 256))
    assert encoded["labels"][:n_prompt] == [IGNORE_INDEX] * n_prompt
    assert encoded["labels"][n_prompt:] == encoded["input_ids"][n_prompt:]
    assert tokenizer.decode(encoded["input_ids"][n_prompt:]) == shirt["target"]


def test_long_prompts_keep_their_start(tokenizer):
    ids = prompt_ids(tokenizer, serialize_input(SHIRT), max_tokens=6)
    assert len(ids) == 6 and tokenizer.decode(ids).startswith("title")
    assert tokenizer.convert_ids_to_tokens(ids[-1]) == SEP


def test_splits_are_stable_and_roughly_80_10_10():
    ids = [f"listing-{i}" for i in range(5000)]
    counts = Counter(split_of(i) for i in ids)
    assert [split_of(i) for i in ids[:50]] == [split_of(i) for i in ids[:50]]
    assert 0.77 < counts["train"] / 5000 < 0.83 and 0.08 < counts["test"] / 5000 < 0.12


def test_products_without_description_are_not_examples():
    assert build_examples([{**SHIRT, "description": None}]) == {"train": [], "val": [], "test": []}


def test_slots_replace_the_inputs_own_values_and_come_back():
    from labelops.textgen.serialize import delexicalize, lexicalize

    row = {"title": "Elegance Door Curtain", "brand": "Elegance", "price": "899.00",
           "attributes": {"color": "multicolor", "pockets": "3"}}
    text = "Key Features of Elegance Door Curtain in multicolor with 3 pockets. Rs. 899 only, not 1899 or 13."
    slotted = delexicalize(text, row)
    assert slotted == ("Key Features of ⟦title⟧ in ⟦color⟧ with ⟦pockets⟧ pockets. Rs. ⟦price⟧ only, "
                       "not 1899 or 13.")
    assert lexicalize(slotted, row) == text  # a price with zero cents is written as shops write it
    assert lexicalize("Rs. ⟦price⟧.", {**row, "price": "899.50"}) == "Rs. 899.50."
    assert lexicalize("A ⟦material⟧ curtain.", row) == "A curtain."  # a slot the input cannot fill is dropped


def test_chinese_values_become_slots_by_substring():
    from labelops.textgen.serialize import delexicalize, lexicalize

    slotted = delexicalize(COAT["description"], COAT)
    assert slotted == "这款⟦颜色⟧外套采用⟦材质⟧，简约百搭。"
    assert lexicalize(slotted, COAT) == COAT["description"]


def test_a_filled_slot_gets_the_article_its_value_is_said_with():
    from labelops.textgen.serialize import fill_slots

    lamp = {"title": "Studio Fen Atlas Lamp", "attributes": {"socket": "E27", "power": "8 W", "material": "oak",
                                                             "port": "USB-C", "color": "blue", "size": "11 cm"}}
    # a neighbour's text retrieve-and-fill slots this lamp's facts into: "a E27 socket" is what shoppers saw
    assert fill_slots("It uses a ⟦socket⟧ socket and takes a ⟦power⟧ bulb.", lamp) == "It uses an E27 socket and takes an 8 W bulb."
    assert fill_slots("An ⟦color⟧ shade on a ⟦material⟧ base, with a ⟦port⟧ port.", lamp) == \
        "A blue shade on an oak base, with a USB-C port."
    assert fill_slots("It has a ⟦size⟧ foot.", lamp) == "It has an 11 cm foot."
    tv = {"title": "TV", "attributes": {"panel": "LED", "size": "18 inch"}}
    assert fill_slots("A ⟦panel⟧ panel in a ⟦size⟧ frame.", tv) == "An LED panel in an 18 inch frame."
