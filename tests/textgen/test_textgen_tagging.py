"""The tag classifier: tags and a category read from a product's words, measured before trusted."""

from __future__ import annotations

import pytest

from labelops.textgen.baselines import listing_tags
from labelops.snapshot import split_of
from labelops.textgen.serialize import MAX_TAGS, fact_tags
from labelops.textgen.tagging import TagClassifier, merge_tags, top_category
from tests.helpers.real_data import demo_rows


@pytest.fixture(scope="module")
def demo():
    rows = demo_rows(500)
    train = [r for r in rows if split_of(r["listing_id"]) == "train"]
    held = [r for r in rows if split_of(r["listing_id"]) != "train"]
    return TagClassifier().fit(train), held


def test_its_cross_validated_precision_reaches_the_target_and_the_category_beats_the_majority(demo):
    tagger, _ = demo
    report = tagger.report
    assert report["cv_tag_precision"] >= 0.9 and report["cv_tag_recall"] > 0.2
    assert report["cv_category_accuracy"] > report["category_majority_share"] + 0.3


def test_held_out_products_words_give_their_category_and_tags_their_facts_state(demo):
    tagger, held = demo
    read = [category for category, _ in tagger.category(held)]
    assert sum(c == top_category(r) for c, r in zip(read, held)) / len(held) >= 0.9
    predicted = tagger.tags(held)
    made = sum(len(p) for p in predicted)
    right = sum(t in set(listing_tags(r)) for p, r in zip(predicted, held) for t in p)
    assert made >= len(held) and right / made >= 0.85  # what it guesses, the facts mostly state
    assert not any(ch.isdigit() for p in predicted for t in p for ch in t)  # no guessed numbers


def test_only_facts_a_listing_lacks_are_guessed(demo):
    tagger, held = demo
    complete = held[:40]
    bare = [{**r, "attributes": {}, "category_path": []} for r in complete]
    kind_of = dict(zip(tagger.labels, tagger.kinds))
    for guessed, row in zip(tagger.missing_facts(complete), complete):
        keys = {key.casefold() for key in row["attributes"]}
        assert all(kind_of[t] not in keys and kind_of[t] != "category" for t in guessed)
    guessed_bare = tagger.missing_facts(bare)
    assert sum(map(len, guessed_bare)) > sum(map(len, tagger.missing_facts(complete)))
    # the category levels come back for products whose listing lost them
    assert sum(top_category(r) in g for g, r in zip(guessed_bare, complete)) >= 0.8 * len(complete)


def test_a_product_described_as_something_else_reads_as_that_category(demo):
    tagger, held = demo
    shirt = next(r for r in held if top_category(r) == "clothing")
    lamp = next(r for r in held if top_category(r) == "home & kitchen")
    (category, _), = tagger.category([{**shirt, "description": lamp["description"], "title": lamp["title"]}])
    assert category == "home & kitchen"


def test_too_little_to_learn_from_gives_no_tags_and_no_category():
    rows = demo_rows(2)
    tagger = TagClassifier().fit(rows)
    assert tagger.tags(rows) == [[], []] and tagger.missing_facts(rows) == [[], []]
    assert tagger.category(rows) == [(None, 0.0), (None, 0.0)]


def test_merge_puts_facts_first_then_guesses_then_the_writers_tags():
    row = {"category_path": ["Clothing", "T-Shirts"], "attributes": {"Color": "Red"}}
    merged = merge_tags(["clothing", "soft", "cotton"], ["cotton"], row)
    assert merged == ["clothing", "t-shirts", "red", "cotton", "soft"]
    assert len(merge_tags([f"w{i}" for i in range(20)], [], row)) == MAX_TAGS


def test_a_bare_yes_or_no_is_no_tag():
    row = {"category_path": ["Watches"], "attributes": {"Water Resistant": "Yes", "Alarm": "No", "Dial Color": "Black"}}
    assert fact_tags(row) == ["watches", "black"]


def test_a_large_snapshot_is_learned_from_a_sample_that_still_reads_its_products(demo):
    """Past max_rows the classifier learns from a fixed sample (the same for the same rows), so a
    snapshot of 100,000 products does not hold the driver for many minutes; a model from a sample
    of 150 still reads held-out products' categories."""
    _, held = demo
    rows = [r for r in demo_rows(500) if split_of(r["listing_id"]) == "train"]
    first, again = TagClassifier(max_rows=150).fit(rows), TagClassifier(max_rows=150).fit(rows)
    assert first.labels == again.labels and first.threshold == again.threshold
    assert len(rows) > 150  # the sample is a sample
    read = [category for category, _ in first.category(held)]
    assert sum(c == top_category(r) for c, r in zip(read, held)) / len(held) >= 0.8
