"""Hostile feedback files and concurrent collections: every bad line quarantined with a reason,
the rest stored once, and nothing blocks the next collection."""

from __future__ import annotations

import json
import threading
from datetime import timedelta

import pandas as pd
import pytest

from labelops import feedback as reviews
from labelops.catalog import FEEDBACK_INBOX, feedback_quarantine_path
from labelops.feedback import collect_feedback, inbox_files, read_feedback, write_inbox
from labelops.storage import DataRoot
from tests.helpers.feedback import write_labels


@pytest.fixture
def labelled(data_root):
    root = DataRoot(str(data_root))
    return root, write_labels(root, "run-a", 8)


def verdict(label, **extra) -> dict:
    return {"label_id": label.label_id, "verdict": "accept", "reviewer": "ana", **extra}


def test_hostile_lines_are_quarantined_with_a_reason_and_the_rest_is_stored(labelled):
    root, labels = labelled
    hostile = [
        json.dumps(verdict(labels[0])).encode(),
        b'{"label_id": "' + labels[1].label_id.encode() + b'", "verdict": "accept", "reviewer": "\xff\xfe bo"}',
        b"[" * 100_000 + b"]" * 100_000,  # RecursionError in the JSON parser
        json.dumps(verdict(labels[2])).encode()[:-1] + b', "review_count": ' + b"7" * 5000 + b"}",  # int digits limit
        json.dumps(verdict(labels[3])).encode()[:-1] + b', "rating": 1' + b"0" * 400 + b"}",  # 10**400: OverflowError
        json.dumps(verdict(labels[4], rating=1e308 * 10)).encode(),  # Infinity
        json.dumps(verdict(labels[5])).encode(),
    ]
    (root_path := root.path(FEEDBACK_INBOX)) and root.makedirs(FEEDBACK_INBOX)
    with open(f"{root_path}/a-hostile.jsonl", "wb") as handle:
        handle.write(b"\n".join(hostile) + b"\n")
    write_inbox(root, [verdict(labels[6]), verdict(labels[7])], "b-good")

    batch = collect_feedback(root)

    assert (batch.lines, batch.stored, batch.rejected) == (9, 4, 5)  # nothing lost
    assert set(read_feedback(root)["label_id"]) == {labels[i].label_id for i in (0, 5, 6, 7)}
    quarantined = {row["line_number"]: row for row in root.read_parquet(feedback_quarantine_path(batch.batch_id)).to_pylist()}
    assert sorted(quarantined) == [2, 3, 4, 5, 6]
    assert "not UTF-8" in quarantined[2]["error"] and "\\xff" in quarantined[2]["line"]
    assert "nested too deeply" in quarantined[3]["error"]
    assert "number" in quarantined[4]["error"] and "digits" in quarantined[4]["error"]
    assert "rating" in quarantined[5]["error"] and "rating" in quarantined[6]["error"]
    assert inbox_files(root) == []  # both files collected: the bad one blocks nothing
    assert collect_feedback(root).lines == 0


def test_a_line_too_long_to_read_is_quarantined_without_reading_it_whole(labelled, tmp_path):
    root, labels = labelled
    path = tmp_path / "export.jsonl"
    path.write_text(json.dumps(verdict(labels[0], reason="x" * (reviews.MAX_LINE_BYTES + 10))) + "\n"
                    + json.dumps(verdict(labels[1])) + "\n")
    batch = collect_feedback(root, [str(path)])
    assert (batch.stored, batch.rejected) == (1, 1)
    (row,) = root.read_parquet(feedback_quarantine_path(batch.batch_id)).to_pylist()
    assert "longer than" in row["error"] and len(row["line"]) < 1000


def test_text_fields_have_length_limits(labelled, tmp_path):
    root, labels = labelled
    path = tmp_path / "export.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in [
        verdict(labels[0], verdict="reject", reason="r" * (reviews.MAX_REASON_CHARS + 1)),
        verdict(labels[1], reviewer="n" * (reviews.MAX_REVIEWER_CHARS + 1)),
        verdict(labels[2], verdict="edit", edited_tags=["t" * (reviews.MAX_TAG_CHARS + 1)]),
        verdict(labels[3], verdict="reject", reason="wrong colour")]) + "\n")
    batch = collect_feedback(root, [str(path)])
    assert (batch.stored, batch.rejected) == (1, 3)
    errors = "\n".join(batch.errors)
    assert "reason" in errors and "reviewer" in errors and "edited_tags" in errors


def test_the_same_file_without_timestamps_fed_twice_is_stored_once(labelled, tmp_path):
    root, labels = labelled
    path = tmp_path / "by-hand.jsonl"
    path.write_text("\n".join(json.dumps(verdict(label, verdict="reject")) for label in labels[:3]) + "\n")
    first = collect_feedback(root, [str(path)])
    again = collect_feedback(root, [str(path)])
    assert (first.stored, again.stored, again.duplicates) == (3, 0, 3)
    assert len(read_feedback(root)) == 3


def test_an_inbox_file_is_not_visible_while_it_is_written(labelled):
    root, labels = labelled
    seen_while_writing = []

    def records():
        yield verdict(labels[0])
        seen_while_writing.extend(inbox_files(root))  # a collection now would read half the file
        yield verdict(labels[1])

    write_inbox(root, records(), "slow-export")
    assert seen_while_writing == []
    assert collect_feedback(root).stored == 2


def test_two_collections_at_once_store_each_verdict_once(labelled, monkeypatch):
    root, labels = labelled
    write_inbox(root, [verdict(label) for label in labels], "export")
    both_checking = threading.Barrier(2)
    stored_ids = reviews.stored_ids

    def overlapping(*args, **kwargs):  # let both collections reach the check before either stores
        try:
            both_checking.wait(timeout=3)
        except threading.BrokenBarrierError:
            pass  # the other collection is not checking at the same time
        return stored_ids(*args, **kwargs)

    monkeypatch.setattr(reviews, "stored_ids", overlapping)
    results, errors = [], []

    def collect():
        try:
            results.append(collect_feedback(root))
        except Exception as error:  # noqa: BLE001 - the test reports it
            errors.append(error)

    threads = [threading.Thread(target=collect) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert errors == []
    assert sorted(r.stored for r in results) == [0, 8]
    assert len(read_feedback(root)) == 8 and inbox_files(root) == []


def test_the_retraining_rule_counts_each_edit_once():
    from tests.test_retraining import NOW, decide_now, feedback_rows

    edits = feedback_rows("e" * 10)
    edits["edited_description"] = [f"Edit {i}." for i in range(10)]
    # the same ten edits stored again: once by a second collection (same ids), and once more with
    # ids derived from the time they were read (what collections before content-derived ids stored)
    again = edits.assign(batch_id="b2")
    later = edits.assign(feedback_id=[f"g{i}" for i in range(10)], received_at=NOW - timedelta(minutes=5))
    feedback = pd.concat([edits, again, later], ignore_index=True)
    decision = decide_now(feedback)
    edit_rule = next(rule for rule in decision.rules if rule.name == "edits since last training")
    assert edit_rule.value == 10 and not decision.due
