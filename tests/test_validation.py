"""The listings suite: which rows pass, and the names a quarantined row carries."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from labelops.validation import EXPECTATIONS_DIR, KeyCounts, SuiteValidator, expectation_name, load_suite, validation_frame

GOOD = dict(
    listing_id="a1", url="https://shop.example/p/1", source="shop.example", title="Blue cotton T-shirt",
    description="A soft blue T-shirt made of organic cotton.", price="19.99", currency="EUR", sku="TS-1",
    availability="InStock", rating=4.5, images=["images/x.jpg"],
)


def frame(*rows: dict) -> pd.DataFrame:
    return validation_frame(pd.DataFrame([{**GOOD, **row} for row in rows]))


@pytest.fixture(scope="module")
def validator() -> SuiteValidator:
    return SuiteValidator("listings")


def test_suite_file_is_plain_gx_json_with_a_name_per_expectation():
    suite = json.loads((EXPECTATIONS_DIR / "listings.json").read_text())
    names = [expectation_name(e) for e in suite["expectations"]]
    assert suite["name"] == "listings"
    assert len(names) == len(set(names)), "every expectation needs its own meta.name"
    assert all("(" not in n for n in names)


def test_good_rows_pass(validator):
    result = validator.validate(frame({}, {"listing_id": "a2", "sku": "TS-2", "url": "https://shop.example/p/2"}))
    assert result.failures == {}
    assert result.result["success"] is True


def test_missing_description_is_not_an_error(validator):
    assert validator.validate(frame({"description": None})).failures == {}


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"price": None}, "price_present"),
        ({"price": "0"}, "price_in_range"),
        ({"price": "9999999.00"}, "price_in_range"),
        ({"currency": "XYZ"}, "currency_iso4217"),
        ({"currency": None}, "currency_present"),
        ({"title": None}, "title_present"),
        ({"title": "x" * 400}, "title_length"),
        ({"description": "too short"}, "description_length"),
        ({"url": "javascript:alert(1)"}, "url_format"),
        ({"availability": "Maybe"}, "availability_values"),
        ({"images": []}, "image_present"),
        ({"rating": 7.0}, "rating_in_range"),
    ],
)
def test_each_broken_expectation_is_named(validator, change, reason):
    result = validator.validate(frame({}, {"listing_id": "bad", "sku": "TS-9", **change}))
    assert result.failures == {1: [reason]}


def test_duplicate_sku_in_one_source_flags_both_rows(validator):
    result = validator.validate(frame({}, {"listing_id": "a2"}))
    assert result.failures == {0: ["sku_unique_per_source"], 1: ["sku_unique_per_source"]}


def test_same_sku_in_two_sources_is_fine(validator):
    assert validator.validate(frame({}, {"listing_id": "a2", "source": "other.example"})).failures == {}


def test_key_counts_catch_duplicates_across_batches():
    keys = KeyCounts()
    keys.add("a", "s", "SKU1")
    keys.add("b", "s", "SKU1")
    keys.add("c", "s", None)
    assert keys.duplicate_reasons({"listing_id": "b", "source": "s", "sku": "SKU1"}) == ["sku_unique_per_source"]
    assert keys.duplicate_reasons({"listing_id": "c", "source": "s", "sku": None}) == []


def test_unknown_suite_is_a_clear_error():
    with pytest.raises(FileNotFoundError, match="no expectation suite"):
        load_suite("nope")


def test_data_docs_keep_every_validation_and_show_every_suite(tmp_path):
    """Two validations (each with its own GX context, as two ingests have) both stay in the
    Data Docs index; the labels and feedback suites have pages too."""
    import re

    from labelops.storage import DataRoot
    from labelops.validation import DataDocs

    root = DataRoot(str(tmp_path))
    runs = []
    for listing_id in ("first", "second"):
        docs = DataDocs(root)
        SuiteValidator("listings", docs=docs).validate(frame({"listing_id": listing_id}))
        url = docs.publish()
        runs.append(url)
    site = tmp_path / "data_docs"
    assert runs[-1] == (site / "index.html").as_uri()
    pages = sorted(site.glob("validations/listings/**/*.html"))
    assert len(pages) == 2
    index = (site / "index.html").read_text()
    for page in pages:
        assert page.relative_to(site).as_posix() in index
    assert len(set(re.findall(r"\d{8}T\d{6}\.\d+Z", index))) >= 2
    for suite in ("listings", "labels", "feedback"):
        assert (site / "expectations" / f"{suite}.html").exists()
        assert f"expectations/{suite}.html" in index
    assert len(list((tmp_path / "validation_results" / "listings").rglob("*.json"))) == 2
