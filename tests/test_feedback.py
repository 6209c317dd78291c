"""Collecting reviewers' feedback: invalid lines rejected with reasons, nothing lost, idempotent."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from labelops.catalog import FEEDBACK_INBOX, FEEDBACK_PROCESSED, feedback_quarantine_path
from labelops.feedback import collect_feedback, read_feedback, write_inbox
from labelops.storage import DataRoot
from tests.helpers.feedback import write_labels
from tests.helpers.listings import demo_listings


def jsonl(path, records) -> str:
    path.write_text("\n".join(r if isinstance(r, str) else json.dumps(r) for r in records) + "\n")
    return str(path)


@pytest.fixture
def labelled(data_root):
    root = DataRoot(str(data_root))
    return root, write_labels(root, "run-a", 6)


def test_valid_lines_are_stored_with_ids_and_versions_from_their_labels(labelled, tmp_path):
    root, labels = labelled
    first, second = labels[0], labels[1]
    path = jsonl(tmp_path / "export.jsonl", [
        {"feedback_id": "f1", "label_id": first.label_id, "verdict": "accept", "reviewer": "ana", "rating": 5,
         "timestamp": "2026-11-20T10:00:00Z"},
        {"label_id": second.label_id, "listing_id": second.listing_id, "verdict": "edit", "reviewer": "ana",
         "edited_description": "A warm wool jumper in navy, knitted in a relaxed fit.", "edited_tags": ["knitwear"]},
    ])
    batch = collect_feedback(root, [path])
    assert (batch.lines, batch.stored, batch.rejected, batch.duplicates) == (2, 2, 0, 0)
    table = read_feedback(root).set_index("feedback_id")
    assert table.loc["f1", "listing_id"] == first.listing_id and table.loc["f1", "text_model_version"] == "3"
    edit = table[table["verdict"] == "edit"].iloc[0]
    assert edit.name.startswith("fb-") and list(edit["edited_tags"]) == ["knitwear"]
    assert edit["listing_id"] == second.listing_id and pd.isna(edit["rating"])


def test_invalid_lines_are_rejected_with_a_reason_each_and_kept_in_the_quarantine(labelled, tmp_path):
    root, labels = labelled
    label = labels[0]
    good = {"feedback_id": "ok", "label_id": label.label_id, "verdict": "reject", "reviewer": "bo", "reason": "wrong colour"}
    bad = [
        "{not json",
        {"feedback_id": "b1", "label_id": "no-such-label", "verdict": "accept", "reviewer": "bo"},
        {"feedback_id": "b2", "label_id": label.label_id, "listing_id": "someone-else", "verdict": "accept", "reviewer": "bo"},
        {"feedback_id": "b3", "label_id": label.label_id, "verdict": "maybe", "reviewer": "bo"},
        {"feedback_id": "b4", "label_id": label.label_id, "verdict": "edit", "reviewer": "bo"},
        {"feedback_id": "b5", "label_id": label.label_id, "verdict": "accept", "reviewer": "bo", "rating": 9},
        {"feedback_id": "b6", "label_id": label.label_id, "verdict": "edit", "reviewer": "bo",
         "edited_description": "Nice <script>alert(1)</script>"},
        {"feedback_id": "b7", "label_id": label.label_id, "verdict": "accept"},
        {"feedback_id": "b8", "label_id": label.label_id, "verdict": "accept", "reviewer": "bo", "timestamp": "yesterday-ish"},
    ]
    path = jsonl(tmp_path / "mixed.jsonl", [good, *bad])
    batch = collect_feedback(root, [path])
    assert (batch.lines, batch.stored, batch.rejected) == (10, 1, 9)  # nothing lost
    quarantined = root.read_parquet(feedback_quarantine_path(batch.batch_id)).to_pylist()
    reasons = {row["line_number"]: row["failed_expectations"] for row in quarantined}
    assert reasons == {2: ["not_json"], 3: ["label_known", "listing_matches_label"], 4: ["listing_matches_label"],
                       5: ["verdict_known"], 6: ["edit_has_text"], 7: ["rating_in_bounds"],
                       8: ["edited_text_markup_free"], 9: ["reviewer_present"], 10: ["timestamp_valid"]}
    assert all(row["line"] and row["source"] == path for row in quarantined)  # the raw line is kept
    messages = "\n".join(batch.errors)
    assert "line 5: verdict 'maybe' is not one of accept, edit, reject" in messages
    assert "'no-such-label' is not a label labelops wrote" in messages


def test_feeding_the_same_file_twice_changes_nothing(labelled, tmp_path):
    root, labels = labelled
    records = [{"label_id": l.label_id, "verdict": "reject", "reviewer": "cy", "timestamp": "2026-11-21T08:00:00+01:00"}
               for l in labels[:3]]
    path = jsonl(tmp_path / "export.jsonl", records + records[:1])  # one line twice in the same file, too
    first = collect_feedback(root, [path])
    assert (first.stored, first.duplicates) == (3, 1)
    before = read_feedback(root)
    again = collect_feedback(root, [path])
    assert (again.stored, again.duplicates, again.rejected) == (0, 4, 0)
    after = read_feedback(root)
    assert len(after) == len(before) == 3
    assert str(after["timestamp"].iloc[0]) == "2026-11-21 07:00:00+00:00"


def test_inbox_files_are_collected_once_and_kept(labelled):
    root, labels = labelled
    write_inbox(root, [{"label_id": labels[0].label_id, "verdict": "accept", "reviewer": "di"}], "review-1")
    batch = collect_feedback(root)
    assert batch.stored == 1 and batch.files == [f"{FEEDBACK_INBOX}/review-1.jsonl"]
    assert root.listdir(FEEDBACK_INBOX) == [] and root.listdir(f"{FEEDBACK_PROCESSED}/{batch.batch_id}") == ["review-1.jsonl"]
    assert collect_feedback(root).lines == 0
    with pytest.raises(ValueError):
        write_inbox(root, [{}], "../escape")


def test_edits_and_accepted_labels_become_training_targets_but_the_test_split_stays_as_published():
    from datetime import datetime, timezone

    from labelops.feedback_training import apply_to_training
    from labelops.snapshot import split_of
    from labelops.textgen.data import build_examples

    rows = [listing.model_dump() for listing in demo_listings(60)]
    train = [r for r in rows if split_of(r["listing_id"]) == "train"]
    test = next(r for r in rows if split_of(r["listing_id"]) == "test")
    edited, accepted, rejected = train[0], train[1], train[2]
    accepted["description"] = None  # the shop gave none: an accepted generated one may teach
    edit_text = f"{edited['title']} in a reviewer's own words, made for everyday wear."
    now = datetime.now(timezone.utc)

    def row(listing, verdict, **extra):
        return {"feedback_id": f"f-{listing['listing_id']}-{verdict}", "label_id": f"label-{listing['listing_id']}",
                "listing_id": listing["listing_id"], "verdict": verdict, "timestamp": now, "received_at": now,
                "edited_description": None, "edited_tags": None, **extra}

    feedback = pd.DataFrame([row(edited, "edit", edited_description=edit_text, edited_tags=["everyday wear"]),
                             row(test, "edit", edited_description="Not for the frozen test split."),
                             row(accepted, "accept"), row(rejected, "reject")])
    labels = pd.DataFrame([{"label_id": f"label-{accepted['listing_id']}",
                            "description": f"{accepted['title']}, a generated description someone accepted."}]
                          ).set_index("label_id", drop=False)
    reviewed, counts = apply_to_training(rows, feedback, labels, now, lambda i: split_of(i) == "test")
    assert counts.model_dump() == {"edited": 1, "accepted_as_target": 1, "rejected": 1, "test_rows_untouched": 1}
    examples = {e["listing_id"]: e for split in build_examples(reviewed).values() for e in split}
    assert examples[edited["listing_id"]]["description"] == edit_text
    assert examples[edited["listing_id"]]["tags"] == ["everyday wear"]
    assert "generated description someone accepted" in examples[accepted["listing_id"]]["description"]
    assert examples[rejected["listing_id"]]["description"] == rejected["description"]
    assert examples[test["listing_id"]]["description"] == test["description"]
    # feedback received after the training's cut-off is not used
    later, _ = apply_to_training(rows, feedback, labels, now.replace(year=2000), lambda i: False)
    assert later == rows


def test_a_collection_s_validation_joins_the_data_docs(labelled, tmp_path):
    root, labels = labelled
    path = jsonl(tmp_path / "docs.jsonl", [{"label_id": labels[0].label_id, "verdict": "accept", "reviewer": "ana"}])
    collect_feedback(root, [path])
    site = root.path("data_docs")
    from pathlib import Path

    pages = list(Path(site).glob("validations/feedback/**/*.html"))
    assert len(pages) == 1
    assert pages[0].relative_to(site).as_posix() in (Path(site) / "index.html").read_text()
    assert (Path(site) / "expectations" / "feedback.html").exists()
