"""Exemplars: each product's prompt ends with how its most similar training product was described."""

from __future__ import annotations

from labelops.textgen.data import build_examples
from labelops.textgen.retrieval import ExemplarIndex, shorten
from labelops.textgen.serialize import serialize_input

ROWS = [
    {"listing_id": "a", "title": "Kite Cotton T-Shirt", "brand": "Seabright", "category_path": ["Clothing", "T-Shirts"],
     "price": "30.99", "attributes": {"color": "red"}, "description": "The Kite Cotton T-Shirt by Seabright comes in red."},
    {"listing_id": "b", "title": "Lark Cotton T-Shirt", "brand": "Northwind", "category_path": ["Clothing", "T-Shirts"],
     "price": "25.00", "attributes": {"color": "blue"}, "description": "Northwind made the Lark Cotton T-Shirt in blue."},
    {"listing_id": "c", "title": "Oak Dining Chair", "brand": "Woodley", "category_path": ["Home", "Chairs"],
     "price": "99.00", "attributes": {"material": "oak"}, "description": "A sturdy oak chair by Woodley."},
]


def test_the_exemplar_is_the_most_similar_other_product_with_its_facts_as_slots():
    index = ExemplarIndex().fit(ROWS)
    shirt_a, shirt_b, chair = index.exemplars(ROWS)
    assert shirt_a == "⟦brand⟧ made the ⟦title⟧ in ⟦color⟧."  # b's description, never a's own
    assert shirt_b == "The ⟦title⟧ by ⟦brand⟧ comes in ⟦color⟧."
    assert chair in (shirt_a, shirt_b)  # the only other products are shirts; never its own text
    new = {"title": "Wren Cotton T-Shirt", "category_path": ["Clothing", "T-Shirts"], "attributes": {"color": "green"}}
    assert index.exemplars([new])[0] in (shirt_a, shirt_b)


def test_prompts_end_with_the_exemplar():
    splits = build_examples(ROWS, ExemplarIndex().fit(ROWS))
    prompts = [e["prompt"] for split in splits.values() for e in split]
    assert all(p.splitlines()[-1].startswith("similar: ") for p in prompts)
    assert serialize_input(ROWS[0], "x").splitlines()[-1] == "similar: x"


def test_the_index_round_trips_through_its_folder(tmp_path):
    index = ExemplarIndex().fit(ROWS)
    index.save(tmp_path)
    assert ExemplarIndex.load(tmp_path).exemplars(ROWS) == index.exemplars(ROWS)
    assert ExemplarIndex.load(tmp_path / "nothing-here") is None


def test_exemplars_are_cut_at_a_word():
    assert shorten("word " * 100, 42) == ("word " * 8).strip()
