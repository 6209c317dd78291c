"""Generation: loops kept once, slots only where the product has the value, a text with findings
replaced by a clean candidate or the baseline, tags the facts state."""

from __future__ import annotations

from dataclasses import replace

import pytest
import torch

from labelops.factcheck import FactChecker
from labelops.textgen.baselines import TemplateBaseline
from labelops.textgen.generate import (
    GenerationOptions,
    SlotConstraint,
    drop_loops,
    generate_texts,
)
from labelops.textgen.serialize import SLOT_OPEN, slot_values
from labelops.textgen.tokenizer import slot_token_ids
from tests.helpers.listings import demo_listings
from tests.helpers.training import overfit_tiny_generator


def test_a_phrase_repeated_over_and_over_is_kept_once():
    assert drop_loops("Buy it at Flipkart.com.com.com.com.com. Free Shipping.") == "Buy it at Flipkart.com. Free Shipping."
    assert drop_loops("Cotton Fabric Cotton Fabric Cotton Fabric Cotton Fabric Care") == "Cotton Fabric Care"
    assert drop_loops("让设计，让设计，让设计，轻松凸显身材。") == "让设计，轻松凸显身材。"


def test_numbers_and_a_phrase_said_twice_are_left_alone():
    text = "Model Name Model Name PATTA, 1000000 units, bye bye, 2.222.222 mAh"
    assert drop_loops(text) == text


# ------------------------------------------------------------------ slots, candidates, fallback
OWN = GenerationOptions(max_new_tokens=160, repetition_penalty=1.0, complete=False, ground=False)


@pytest.fixture(scope="module")
def overfit():
    """A tiny generator that learnt eight demo products by heart, slots as tokens of their own."""
    rows = [listing.model_dump() for listing in demo_listings(9)][:8]
    module, tokenizer, _, examples = overfit_tiny_generator(rows)
    return module.model, tokenizer, rows, examples


def test_a_slot_is_one_token_and_survives_the_round_trip(overfit):
    _, tokenizer, _, examples = overfit
    target = next(e["target"] for e in examples if "⟦color⟧" in e["target"])
    ids = tokenizer(target, add_special_tokens=False)["input_ids"]
    assert slot_token_ids(tokenizer)["color"] in ids
    assert tokenizer.decode(ids) == target


def test_a_slot_the_product_lacks_cannot_be_written(overfit):
    model, tokenizer, rows, examples = overfit
    slots = slot_token_ids(tokenizer)
    constraint = SlotConstraint.for_rows(tokenizer, [rows[0], {"title": "Bare"}], len(tokenizer), torch.device("cpu"))
    scores = constraint(torch.zeros(1), torch.zeros((4, len(tokenizer))))  # two beams a row
    for name, token_id in slots.items():  # a row's slots are open exactly where it has the value
        assert torch.isinf(scores[:2, token_id]).all() == (name not in slot_values(rows[0], short=True))
        assert torch.isinf(scores[2:, token_id]).all() == (name not in slot_values({"title": "Bare"}, short=True))
    assert torch.isinf(scores[2:, slots["color"]]).all() and not torch.isinf(scores[:2, slots["brand"]]).any()
    # the model learnt "⟦color⟧" for these products; without a colour it writes something else, not a gap
    with_colour = [i for i, e in enumerate(examples) if "⟦color⟧" in e["target"]]
    assert with_colour
    bare = [{**rows[i], "attributes": {k: v for k, v in rows[i]["attributes"].items() if k != "color"}} for i in with_colour]
    for own, full, row in zip(generate_texts(model, tokenizer, bare, OWN),
                              generate_texts(model, tokenizer, [rows[i] for i in with_colour], OWN), bare):
        assert SLOT_OPEN not in own.own_description and own.own_description
        assert full.own_description != own.own_description
    # what the words around a forbidden slot leave ("in ,") the checker sees, and choosing replaces
    checker = FactChecker.of()
    for chosen, row in zip(generate_texts(model, tokenizer, bare, OWN, checker=checker), bare):
        assert chosen.own_description and not checker.check(chosen.own_description, row)


def test_a_text_with_findings_is_replaced_by_a_clean_candidate_or_the_baseline(overfit):
    model, tokenizer, rows, _ = overfit
    plain = generate_texts(model, tokenizer, rows, OWN)
    assert all(g.source == "model" for g in plain)
    # a checker that takes a capitalised word of the first product's text for another listing's brand
    word = next(w for w in plain[0].own_description.split() if w.isalpha() and w[0].isupper()
                and w.casefold() not in str([rows[0][k] for k in ("title", "brand", "attributes")]).casefold())
    checker = FactChecker.of(brands=[word])
    assert checker.check(plain[0].own_description, rows[0])
    for candidates in (0, 6):
        chosen = generate_texts(model, tokenizer, rows, replace(OWN, candidates=candidates), checker=checker)
        assert not checker.check(chosen[0].own_description, rows[0]) and chosen[0].own_description
        if candidates == 0:  # straight to the baseline (no exemplar index: the template)
            assert chosen[0].source == "baseline:template"
            assert chosen[0].own_description == TemplateBaseline.describe(rows[0])
        # rows whose first text was clean keep it
        for g, p, row in zip(chosen[1:], plain[1:], rows[1:]):
            if not checker.check(p.own_description, row):
                assert (g.own_description, g.source) == (p.own_description, "model")
    # choosing off: the text as the model wrote it, findings and all
    assert generate_texts(model, tokenizer, rows[:1], replace(OWN, choose=False), checker=checker)[0] == plain[0]


def test_label_tags_are_the_facts_then_the_writers_supported_tags():
    from labelops.textgen.generate import label_tags

    row = {"title": "Lumen Alto Beige Headphones", "category_path": ["Electronics", "Audio"],
           "attributes": {"color": "beige"}}
    assert label_tags(["meet", "Headphones", "ember", "hello", "beige"], row) == [
        "electronics", "audio", "beige", "headphones"]
    # a count the facts state is no tag on its own (a backpack's label read "…, '2', '25 l'")
    backpack = {"title": "Kite Backpack", "category_path": ["Bags"], "attributes": {"pockets": "2", "capacity": "25 L"}}
    assert label_tags(["2", "25 l", "blue"], backpack) == ["bags", "25 l"]
