"""kill -9 during each write stage of ingest, labelling and feedback, then the same stage again:
the data root ends as after a run that was never interrupted (nothing lost, nothing twice), and
while it is interrupted no reader sees half of anything.

The crashes happen in a subprocess (:mod:`tests.faults.crash`); the rerun and the uninterrupted
run happen here, each in its own data root.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from labelops import catalog
from labelops.settings import get_settings
from labelops.storage import DataRoot, is_temporary
from tests.faults.crash import CRASH_POINTS, CRAWL_ID, run_stage
from tests.helpers.feedback import write_labels
from tests.helpers.listings import demo_listings, publish_demo_snapshot

PROJECT = Path(__file__).resolve().parents[2]


def use_root(path: Path, monkeypatch: pytest.MonkeyPatch) -> DataRoot:
    path.mkdir(parents=True, exist_ok=True)
    monkeypatch.setenv("LABELOPS_DATA", str(path))
    get_settings.cache_clear()
    return DataRoot(str(path))


def crash(stage: str, point: str, root: DataRoot) -> None:
    env = {**os.environ, "LABELOPS_DATA": root.url, "PYTHONPATH": str(PROJECT), "HF_HUB_OFFLINE": "1",
           "MLFLOW_DISABLE_TELEMETRY": "true"}
    done = subprocess.run([sys.executable, "-m", "tests.faults.crash", stage, point], cwd=PROJECT, env=env,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == -signal.SIGKILL, \
        f"the crash point was not reached (rc {done.returncode}):\n{done.stderr[-3000:]}"


def every_table_reads(root: DataRoot) -> None:
    """What a reader finds after the crash is whole: every Parquet file it can list opens."""
    for path in Path(root.url).rglob("*.parquet"):
        if not is_temporary(path.name) and not any(part.startswith(".staging") for part in path.parts):
            pq.read_table(path)


def interrupted_then_rerun(stage: str, point: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                           prepare: Callable[[DataRoot], None], state: Callable[[DataRoot], dict],
                           after_crash: Callable[[DataRoot], None] = lambda root: None) -> tuple[dict, dict]:
    """The ``state`` of a data root where ``stage`` ran once, and of one where it was killed at
    ``point`` and run again (both ``prepare``-d alike)."""
    clean, broken = DataRoot(str(tmp_path / "clean")), DataRoot(str(tmp_path / "broken"))
    for root in (clean, broken):
        prepare(root)
    use_root(tmp_path / "clean", monkeypatch)
    run_stage(stage, clean)
    expected = state(clean)
    use_root(tmp_path / "broken", monkeypatch)
    crash(stage, point, broken)
    every_table_reads(broken)
    after_crash(broken)
    run_stage(stage, broken)  # the same stage again
    return expected, state(broken)


# ------------------------------------------------------------------------------------ ingest
def write_raw_items(root: DataRoot) -> None:
    items = [listing.model_dump(mode="json", exclude={"listing_id"}) for listing in demo_listings(40, images_root=root)]
    items.append({**items[0], "url": "http://demo.test/p/no-title", "title": None, "price": None, "sku": "NONE-1",
                  "raw_hash": "bad"})
    with root.open(catalog.raw_items(CRAWL_ID), "w", encoding="utf-8") as handle:
        handle.writelines(json.dumps(item) + "\n" for item in items)


def ingest_state(root: DataRoot) -> dict:
    from labelops.snapshot import latest_snapshot_id, read_snapshot

    snapshot_id = latest_snapshot_id(root)
    return {"latest": snapshot_id,
            "snapshots": [name for name in root.listdir("snapshots") if not name.startswith(".")],
            "rows": sorted(read_snapshot(root, snapshot_id).column("listing_id").to_pylist()) if snapshot_id else None,
            "manifest_rows": root.read_json(f"snapshots/{snapshot_id}/manifest.json")["rows"] if snapshot_id else None,
            "quarantined": sorted(root.read_parquet(catalog.quarantine(CRAWL_ID), columns=["url"])
                                  .column(0).to_pylist())}


@pytest.mark.parametrize("point", [p for p in CRASH_POINTS if p.split(":")[0] in ("normalize", "validate", "publish")])
def test_ingest_killed_at_any_write_then_rerun(point, tmp_path, monkeypatch):
    expected, rerun = interrupted_then_rerun("ingest", point, tmp_path, monkeypatch, write_raw_items, ingest_state)
    assert expected["latest"] and len(expected["rows"]) == len(demo_listings(40)) and len(expected["quarantined"]) == 1
    assert rerun == expected


# ------------------------------------------------------------------------------------ labelling
def labels_state(root: DataRoot) -> dict:
    from mlflow import MlflowClient

    from labelops.labels import label_runs, read_labels
    from labelops.registry import configure_mlflow

    (run_id,) = label_runs(root)
    configure_mlflow(get_settings())
    client = MlflowClient()
    runs = client.search_runs([client.get_experiment_by_name("labels").experiment_id])
    rows = read_labels(root).sort_values("listing_id")
    return {"folders": len(root.listdir("labels")), "runs": [(r.info.run_id == run_id, r.info.status) for r in runs],
            "labels": rows[["listing_id", "snapshot_id", "description", "text_model_version"]].to_dict("records"),
            "report": root.exists(f"labels/{run_id}/report.html")}


@pytest.mark.parametrize("point", [p for p in CRASH_POINTS if p.startswith("labels")])
def test_labelling_killed_at_any_write_then_rerun(point, tmp_path, monkeypatch):
    from labelops.labels import label_runs

    def nothing_shown(root: DataRoot) -> None:
        assert label_runs(root) == []  # the interrupted run is not shown to anyone

    expected, rerun = interrupted_then_rerun("labels", point, tmp_path, monkeypatch,
                                             lambda root: publish_demo_snapshot(root, 40), labels_state, nothing_shown)
    assert rerun == expected
    assert expected["runs"] == [(True, "FINISHED")] and expected["folders"] == 1
    assert len(expected["labels"]) == len(demo_listings(40))


# ------------------------------------------------------------------------------------ feedback
def write_feedback_inbox(root: DataRoot) -> None:
    from labelops.feedback import write_inbox

    labels = write_labels(root, "run-a", 10)
    write_inbox(root, [{"label_id": label.label_id, "verdict": "reject", "reviewer": "ana", "reason": "wrong",
                        "timestamp": f"2026-11-2{i}T10:00:00Z"} for i, label in enumerate(labels[:5])], "a-export")
    write_inbox(root, [{"label_id": label.label_id, "verdict": "accept", "reviewer": "bo"} for label in labels[5:]]
                + [{"label_id": "no-such-label", "verdict": "accept", "reviewer": "bo"}, {"verdict": "maybe"}],
                "b-export")


def feedback_state(root: DataRoot) -> dict:
    from labelops.catalog import FEEDBACK_INBOX, FEEDBACK_PROCESSED
    from labelops.feedback import read_feedback

    rows = read_feedback(root).sort_values("feedback_id")
    quarantined = sorted((row["source"], row["line_number"], row["error"])
                         for name in root.listdir("quarantine") if name.startswith("feedback-")
                         for row in root.read_parquet(f"quarantine/{name}").to_pylist())
    processed = sorted(name for batch in root.listdir(FEEDBACK_PROCESSED) for name in root.listdir(f"{FEEDBACK_PROCESSED}/{batch}"))
    return {"rows": rows[["feedback_id", "label_id", "verdict", "reviewer", "reason"]].to_dict("records"),
            "quarantined": quarantined, "inbox": root.listdir(FEEDBACK_INBOX), "processed": processed}


@pytest.mark.parametrize("point", [p for p in CRASH_POINTS if p.startswith("feedback")])
def test_feedback_collection_killed_at_any_write_then_rerun(point, tmp_path, monkeypatch):
    expected, rerun = interrupted_then_rerun("feedback", point, tmp_path, monkeypatch, write_feedback_inbox,
                                             feedback_state)
    assert len(expected["rows"]) == 10 and len(expected["quarantined"]) == 2 and expected["inbox"] == []
    assert rerun == expected


def test_a_labels_run_being_written_is_never_the_newest_run(data_root):
    from labelops.catalog import labels_path
    from labelops.labels import LABEL_SCHEMA, label_runs
    from labelops.review import ReviewApp

    root = DataRoot(str(data_root))
    write_labels(root, "run-done", 3)
    with root.parquet_writer(labels_path("run-half"), LABEL_SCHEMA):  # the table of a newer run, complete,
        pass                                                         # but the run is not: no report, no manifest
    assert label_runs(root) == ["run-done"]
    assert ReviewApp(root).run_id == "run-done"
