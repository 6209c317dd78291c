"""The text-image scorer: it learns which description goes with which photo (measured on held-out
pairs, beside the simple method), is cached per snapshot, flags nothing while untrusted, and its
scores reach every label, the report, the review page and the gate."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
import torch

from labelops import catalog
from labelops.evaluation import EvaluationSet, Scores, score_texts
from labelops.gate import GatePolicy, ModelPolicy, decide
from labelops.registry import TEXT_MODEL
from labelops.settings import Settings
from labelops.snapshot import read_snapshot
from labelops.storage import DataRoot
from labelops.textimage import fit_scorer, image_agreement, retrieval_hits, text_image_scorer
from tests.helpers.listings import publish_demo_snapshot

EVIL_TITLE = "<script>alert(1)</script>"


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A demo snapshot of 300 products with photos, and its scorer (trained once here)."""
    folder = tmp_path_factory.mktemp("text-image")
    settings = Settings(data=str(folder), text_image_steps=200)
    root = DataRoot(str(folder))
    snapshot = publish_demo_snapshot(root, 300, images=True)
    torch.set_num_threads(1)
    return settings, snapshot, text_image_scorer(snapshot, settings)


def test_the_scorer_finds_the_right_description_among_10_on_held_out_pairs(trained):
    _, _, scorer = trained
    found, simple = scorer.metrics["model_image_to_text"], scorer.metrics["neighbours_image_to_text"]
    assert found["n"] >= 40 and simple["n"] == found["n"]  # the simple method on the same rows
    assert found["low"] > 0.1  # clearly above chance (1 in 10), with its interval
    assert scorer.metrics["model_text_to_image"]["low"] > 0.1
    gain = scorer.metrics["gain_image_to_text"]  # the model beside the neighbours, paired by row
    assert gain["low"] <= gain["gain"] <= gain["high"]
    assert gain["gain"] == pytest.approx(found["mean"] - simple["mean"])
    assert scorer.trusted and "above 0.3" in scorer.reason
    # the threshold: 5% of true held-out pairs fall below it, and many more mismatched ones
    assert scorer.metrics["true_pairs_flagged"] <= 0.1
    assert scorer.metrics["mismatched_pairs_flagged"] > 4 * scorer.metrics["true_pairs_flagged"]


def test_retrieval_counts_a_hit_only_when_the_true_pair_beats_its_candidates():
    perfect = torch.eye(20).numpy()
    assert retrieval_hits(perfect) == ([1.0] * 20, [1.0] * 20)
    flat = torch.zeros(20, 20).numpy()  # ties are misses
    assert retrieval_hits(flat) == ([0.0] * 20, [0.0] * 20)


def test_the_scorer_is_trained_once_per_snapshot(trained, monkeypatch):
    settings, snapshot, scorer = trained
    assert (catalog.text_image_dir(settings, snapshot) / "text-image.json").exists()
    monkeypatch.setattr("labelops.textimage.train_text_image", lambda *a, **k: pytest.fail("trained again"))
    again = text_image_scorer(snapshot, settings)
    rows = read_snapshot(DataRoot(settings.data), snapshot).to_pylist()[:8]
    photos = [DataRoot(settings.data).path(r["images"][0]) for r in rows]
    texts = [r["description"] for r in rows]
    assert again.score(photos, texts) == scorer.score(photos, texts)
    assert again.threshold == scorer.threshold and again.trusted == scorer.trusted


def test_an_untrusted_scorer_scores_but_flags_nothing_and_says_why(trained):
    settings, snapshot, _ = trained
    root = DataRoot(settings.data)
    rows = read_snapshot(root, snapshot).to_pylist()
    doubtful = fit_scorer(snapshot, rows, root, steps=5, trust=0.99)
    assert not doubtful.trusted and "not above 0.99" in doubtful.reason
    assert doubtful.disagrees(-1.0) is None
    assert image_agreement(doubtful, torch.zeros(2, 3, 32, 32, dtype=torch.uint8), ["a", "b"]) is None
    assert len(doubtful.score(torch.zeros(2, 3, 32, 32, dtype=torch.uint8), ["a", "b"])) == 2


def test_a_snapshot_without_photos_has_no_scorer(data_root):
    root = DataRoot(str(data_root))
    snapshot = publish_demo_snapshot(root, 30)
    assert text_image_scorer(snapshot) is None
    assert json.loads((data_root / "evaluation" / snapshot / "text-image" / "none.json").read_text())["reason"]


def test_image_agreement_scores_generated_images_of_any_size_against_their_listings(trained):
    _, _, scorer = trained
    images = torch.randint(0, 256, (3, 3, 64, 64), dtype=torch.uint8)
    scores = image_agreement(scorer, images, ["A red mug", "Blue sneakers", ""])
    assert len(scores) == 3 and all(-1 <= s <= 1 for s in scores)
    assert image_agreement(scorer, images.float() / 127.5 - 1, ["A red mug", "Blue sneakers", ""]) == scores
    assert image_agreement(None, images, ["a", "b", "c"]) is None


def test_every_label_gets_its_scores_and_the_report_lists_disagreements(data_root, trained, monkeypatch):
    from labelops.labelling import label_snapshot

    _, _, scorer = trained
    flagging = type(scorer)(scorer.net, scorer.snapshot_id, threshold=0.99, trusted=True, reason="test",
                            metrics=scorer.metrics)  # every pair is below 0.99
    monkeypatch.setattr("labelops.labelling.text_image_scorer", lambda *a, **k: flagging)
    root = DataRoot(str(data_root))
    snapshot = publish_demo_snapshot(root, 24, images=True)
    for photo in sorted((data_root / "images").iterdir())[::4]:
        photo.unlink()  # some products without a photo
    run = label_snapshot(snapshot, use_image_model=False, batch_size=8)
    labels = root.read_parquet(catalog.labels_path(run.run_id)).to_pylist()
    with_photo = [label for label in labels if label["image"] and (data_root / label["image"]).exists()]
    without = [label for label in labels if label not in with_photo]
    assert with_photo and without
    assert all(isinstance(label["text_image_score"], float) for label in with_photo)
    assert all(label["text_image_score"] is None and label["text_image_disagreement"] is None for label in without)
    assert all(label["text_image_disagreement"] is True for label in with_photo)
    assert run.counts.text_image_disagreements == len(with_photo)
    html = (data_root / catalog.report_path(run.run_id)).read_text()
    assert "Text and image agree" in html and "trusted" in html
    assert f"Text and image do not fit: {len(with_photo)} labels" in html


def test_the_report_shows_the_distribution_and_escapes_flagged_titles(trained):
    from labelops.report import render_report

    _, _, scorer = trained
    labels = [{"listing_id": f"l{i}", "title": EVIL_TITLE if i == 0 else f"product {i}", "description": "d",
               "tags": [], "text_image_score": -0.5 + i / 10, "text_image_disagreement": i < 3} for i in range(10)]
    html = render_report(run_id="r", snapshot_id="s", labels=labels, gates=[], counts={"valid": 10},
                         models={}, text_image=scorer.summary())
    section = html[html.index('id="text-image"'):html.index("<h2>Products</h2>")]
    assert "descriptions against the product&#39;s photo (text_image_score): 10 labels" in section
    assert "Text and image do not fit: 3 labels" in section
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in section and EVIL_TITLE not in section
    assert "photo → right description" in section  # held-out retrieval, beside the simple method
    untrusted = render_report(run_id="r", snapshot_id="s", labels=labels, gates=[], counts={"valid": 10}, models={},
                              text_image={**scorer.summary(), "trusted": False, "reason": "too few pairs"})
    assert "not trusted" in untrusted and "too few pairs" in untrusted and "do not fit:" not in untrusted


def test_the_review_page_carries_each_score_and_marks_disagreements(data_root):
    from labelops.review import ReviewApp
    from tests.helpers.feedback import write_labels

    root = DataRoot(str(data_root))
    write_labels(root, "run-t", 3, changes={0: {"text_image_score": 0.0123, "text_image_disagreement": True},
                                             1: {"text_image_score": 0.61, "text_image_disagreement": False}})
    page = ReviewApp(root).page("nonce")
    data = json.loads(page.split('id="labels-data">', 1)[1].split("</script>", 1)[0])
    assert [row["text_image_score"] for row in data] == [0.0123, 0.61, None]
    assert [row["text_image_disagreement"] for row in data] == [True, False, None]
    assert "the text and the image do not fit" in page  # labelNotes marks a flagged label


def test_the_gate_measures_agreement_when_trusted_and_skips_it_saying_why_when_not(trained, monkeypatch):
    settings, snapshot, scorer = trained
    monkeypatch.setenv("LABELOPS_DATA", settings.data)
    from labelops.settings import get_settings

    get_settings.cache_clear()
    try:
        evaluation = EvaluationSet.of_snapshot(DataRoot(settings.data), snapshot)
        own = score_texts("own", evaluation.references, [[] for _ in evaluation.rows], evaluation)
        shuffled = score_texts("shuffled", evaluation.references[1:] + evaluation.references[:1],
                               [[] for _ in evaluation.rows], evaluation)
    finally:
        get_settings.cache_clear()
    per_row = own.rows["text_image_agreement"]
    assert len(per_row) == len(evaluation.rows) and not any(math.isnan(v) for v in per_row)
    assert own.metrics["text_image_agreement"] > shuffled.metrics["text_image_agreement"]  # the real texts fit
    policy = ModelPolicy.model_validate({"primary": {"metric": "chrf"},
                                         "guards": {"text_image_agreement": {"higher_is_better": True}}})
    decision = decide(TEXT_MODEL, policy, shuffled, own, gate_policy=GatePolicy(version=0, models={}))
    (guard,) = [c for c in decision.checks if c.metric == "text_image_agreement"]
    assert not guard.passed and "significantly worse" in guard.reason

    untrusted = Scores(system="a", kind="text", metrics={"chrf": 1.0}, notes={
        "text_image_agreement": "the text-image scorer is not trusted: too few pairs"})
    decision = decide(TEXT_MODEL, policy, untrusted, untrusted.model_copy(update={"system": "b"}))
    (guard,) = [c for c in decision.checks if c.metric == "text_image_agreement"]
    assert guard.skipped and guard.passed and "not trusted" in guard.reason
    forgotten = Scores(system="a", kind="text", metrics={"chrf": 1.0})  # missing, and nothing says why: refused
    (guard,) = [c for c in decide(TEXT_MODEL, policy, forgotten, forgotten).checks if c.metric == "text_image_agreement"]
    assert not guard.passed and not guard.skipped
    assert "text_image_agreement" in GatePolicy.load().for_model(TEXT_MODEL).guards


def test_old_label_files_without_the_scores_still_read(data_root):
    import pyarrow as pa

    from labelops.labels import LABEL_SCHEMA, read_labels
    from tests.helpers.feedback import write_labels

    root = DataRoot(str(data_root))
    write_labels(root, "run-old", 2)
    path = Path(root.path(catalog.labels_path("run-old")))
    table = root.read_parquet(catalog.labels_path("run-old"))
    old = table.drop_columns([c for c in ("text_image_score", "image_text_score", "text_image_disagreement")
                              if c in table.column_names])
    import pyarrow.parquet as pq

    pq.write_table(old, path)
    assert len(read_labels(root, ["run-old"])) == 2
    assert LABEL_SCHEMA.field("text_image_score").type == pa.float64() and LABEL_SCHEMA.field("text_image_score").nullable
