"""Label validation: bad labels go to the quarantine with reasons, good ones to the labels table."""

from __future__ import annotations

from datetime import datetime, timezone

from labelops.catalog import labels_path, labels_quarantine_path
from labelops.labelling import text_category
from labelops.labels import Label, store_labels
from labelops.storage import DataRoot


def label(listing_id: str, **changes) -> Label:
    fields = dict(label_id=f"l-{listing_id}", listing_id=listing_id, run_id="run1", snapshot_id="snap",
                  created_at=datetime.now(timezone.utc), title="Kite Cotton T-Shirt",
                  description="A soft red cotton T-shirt with a relaxed fit.", tags=["clothing", "red"],
                  text_category="Clothing", text_model_version="3", has_findings=False)
    return Label(**{**fields, **changes})


def test_labels_breaking_expectations_are_quarantined_with_their_reasons(tmp_path):
    root = DataRoot(str(tmp_path))
    batch = [
        label("ok"),
        label("script", description="Nice shirt <script>alert(1)</script> for everyone."),
        label("img", tags=["<img src=x onerror=alert(1)>"]),
        label("short", description="Shirt."),
        label("notags", tags=[]),
        label("flagged", has_findings=True, findings=["brand: Seabright (another listing's brand)"]),
    ]
    counts = store_labels(root, "run1", [batch], expects_image_model=False)
    assert (counts.valid, counts.quarantined, counts.with_findings) == (2, 4, 1)
    quarantined = {r["listing_id"]: r["failed_expectations"] for r in root.read_parquet(labels_quarantine_path("run1")).to_pylist()}
    assert quarantined == {"script": ["no_markup_or_script"], "img": ["no_markup_or_script"],
                           "short": ["description_length_in_bounds"], "notags": ["tag_count_in_bounds"]}
    valid = root.read_parquet(labels_path("run1")).to_pylist()
    assert [r["listing_id"] for r in valid] == ["ok", "flagged"]  # flagged, not dropped: the report shows it
    assert counts.failed_expectations == {"no_markup_or_script": 2, "description_length_in_bounds": 1, "tag_count_in_bounds": 1}


def test_an_image_model_run_needs_the_image_model_version_on_every_label(tmp_path):
    root = DataRoot(str(tmp_path))
    counts = store_labels(root, "run2", [[label("a", image_model_version="1"), label("b")]], expects_image_model=True)
    assert (counts.valid, counts.quarantined) == (1, 1)
    assert root.read_parquet(labels_quarantine_path("run2")).to_pylist()[0]["failed_expectations"] == ["model_versions_present"]


def test_no_quarantine_file_when_every_label_is_valid(tmp_path):
    root = DataRoot(str(tmp_path))
    store_labels(root, "run3", [[label("a")]], expects_image_model=False)
    assert not root.exists(labels_quarantine_path("run3"))


def test_a_batch_with_no_valid_label_is_quarantined_whole_and_the_labels_table_is_empty(tmp_path):
    root = DataRoot(str(tmp_path))
    counts = store_labels(root, "run4", [[label("a", tags=[]), label("b", description="x")]], expects_image_model=False)
    assert (counts.valid, counts.quarantined) == (0, 2)
    assert root.read_parquet(labels_path("run4")).num_rows == 0
    assert root.read_parquet(labels_quarantine_path("run4")).num_rows == 2


def test_text_category_is_the_first_tag_naming_a_known_category():
    assert text_category(["red", "clothing", "home"], ["Home", "Clothing"]) == "Clothing"
    assert text_category(["red"], ["Home"]) == "red"
    assert text_category([], ["Home"]) is None


def test_a_batch_with_every_label_quarantined_still_stores(tmp_path):
    root = DataRoot(str(tmp_path))
    counts = store_labels(root, "run4", [[label("a")], [label("short", description="Shirt.")]], expects_image_model=False)
    assert (counts.valid, counts.quarantined) == (1, 1)
    assert [r["listing_id"] for r in root.read_parquet(labels_path("run4")).to_pylist()] == ["a"]


def test_labels_get_guessed_tags_for_missing_facts_and_a_category_read_from_their_text(tmp_path):
    from dataclasses import replace

    from labelops.evaluation import BaselineWriter
    from labelops.labelling import make_labels
    from labelops.snapshot import split_of
    from labelops.textgen.tagging import TagClassifier
    from tests.helpers.real_data import demo_rows

    rows = demo_rows(300)
    train = [r for r in rows if split_of(r["listing_id"]) == "train"]
    shirt = next(r for r in rows if split_of(r["listing_id"]) != "train" and r["category_path"][0] == "Clothing")
    lamp = next(r for r in rows if r["category_path"][0] == "Home & Kitchen")
    bare = {**shirt, "listing_id": "bare", "attributes": {}, "category_path": []}

    class LampWriter(BaselineWriter):  # a writer that describes every product as the lamp
        def generate(self, rows, options=None):
            return [replace(text, description=lamp["description"]) for text in super().generate(rows, options)]

    classifier = TagClassifier().fit(train)
    categories = sorted({r["category_path"][0] for r in rows})
    common = dict(run_id="r", snapshot_id="s", text_version="baseline:template", root=DataRoot(str(tmp_path)),
                  categories=categories, tag_classifier=classifier)
    [shirt_label, bare_label] = next(make_labels([shirt, bare], BaselineWriter("template", train), **common))
    assert shirt_label.text_category == shirt_label.category == "Clothing"  # the catalogue's spelling
    assert not shirt_label.guessed_tags  # its listing states every fact the classifier knows of
    assert bare_label.guessed_tags and set(bare_label.guessed_tags) <= set(bare_label.tags)
    assert "clothing" in bare_label.guessed_tags and bare_label.category == "Clothing"  # read from its words
    [wrong] = next(make_labels([shirt], LampWriter("template", train), **common))
    assert wrong.text_category == "Home & Kitchen"  # read from what the label says, not copied from the input
    assert wrong.category == "Clothing"
    counts = store_labels(DataRoot(str(tmp_path)), "r", [[shirt_label, bare_label]], expects_image_model=False)
    assert counts.guessed_tags == len(bare_label.guessed_tags)
    stored = DataRoot(str(tmp_path)).read_parquet(labels_path("r")).to_pylist()
    assert stored[1]["guessed_tags"] == bare_label.guessed_tags


def test_each_labels_validation_joins_the_data_docs(tmp_path):
    root = DataRoot(str(tmp_path))
    store_labels(root, "run5", [[label("a")]], expects_image_model=False)
    store_labels(root, "run6", [[label("b")]], expects_image_model=False)
    site = tmp_path / "data_docs"
    pages = sorted(site.glob("validations/labels/**/*.html"))
    assert len(pages) == 2
    index = (site / "index.html").read_text()
    assert all(page.relative_to(site).as_posix() in index for page in pages)
    assert "expectations/labels.html" in index and "expectations/listings.html" in index
