"""The feedback loop end to end (embedded Prefect): reviews → one retraining with the edits → the gate."""

from __future__ import annotations

import pytest
from mlflow import MlflowClient

from labelops.catalog import labels_path
from labelops.feedback import write_inbox
from labelops.promotion import champion_version
from labelops.registry import TEXT_MODEL
from labelops.review import simulated_verdicts
from labelops.snapshot import read_snapshot, split_of
from labelops.storage import DataRoot
from labelops.textgen.train import TextTrainConfig, train_text
from tests.helpers.listings import publish_demo_snapshot
from tests.helpers.training import SMALL, gate_policy

RETRAIN_POLICY = """version = 1
[reject_rate]
window = 100
min_reviews = 10
max = 0.3
[edits]
min_since_training = 25
[drift]
category_shift = 0.5
size_change = 1.0
text_length_change = 1.0
[trigger]
cooldown_hours = 24
models = ["text"]
"""


@pytest.mark.timeout(1200)  # two short trainings and two gate + label runs: about 2 minutes on 2 idle cores
def test_rejections_retrain_once_with_the_edits_and_the_gate_judges_the_new_model(
        prefect_backend, data_root, tmp_path, monkeypatch):
    from flows.feedback import feedback
    from flows.generate import generate

    root = DataRoot(str(data_root))
    monkeypatch.setenv("LABELOPS_GATE_POLICY", gate_policy(tmp_path, 1.0))
    (tmp_path / "retrain.toml").write_text(RETRAIN_POLICY)
    monkeypatch.setenv("LABELOPS_RETRAIN_POLICY", str(tmp_path / "retrain.toml"))
    snapshot = publish_demo_snapshot(root, 60)
    first = train_text(TextTrainConfig(snapshot_id=snapshot, max_steps=150, **SMALL))
    run = generate(snapshot_id=snapshot)
    assert champion_version(TEXT_MODEL) == first.version and run.counts.valid >= 20

    labels = root.read_parquet(labels_path(run.run_id)).to_pylist()
    listings = {row["listing_id"]: row for row in read_snapshot(root, snapshot).to_pylist()}
    verdicts = simulated_verdicts(labels, listings, reject_share=0.5, edits=6)
    write_inbox(root, verdicts, "review-1")
    edits = [v for v in verdicts if v["verdict"] == "edit"]
    edits_learnt = sum(split_of(v["listing_id"]) == "train" for v in edits)  # held-out rows stay as published

    result = feedback(max_steps=10)
    assert result["batch"]["stored"] == len(verdicts) and result["batch"]["rejected"] == 0
    decision = result["decision"]
    assert decision["trigger"] and [r["name"] for r in decision["rules"] if r["fired"]] == ["reject rate"]
    retrained = result["training"]["text"]
    assert retrained["version"] != first.version
    params = MlflowClient().get_run(retrained["run_id"]).data.params
    assert int(params["feedback_edited"]) == edits_learnt  # the reviewers' descriptions were training targets
    (gate,) = [g for g in result["labels"]["gates"] if g["model_name"] == TEXT_MODEL]
    assert gate["challenger_version"] == retrained["version"]  # the new model had to pass the gate
    assert champion_version(TEXT_MODEL) == (retrained["version"] if gate["promoted"] else first.version)

    # a storm: more rejections right after → due, but the cooldown holds it back; no second training
    storm = [{**v, "feedback_id": f"storm-{i}", "verdict": "reject", "edited_description": None}
             for i, v in enumerate(verdicts)]
    write_inbox(root, storm, "review-2")
    again = feedback(max_steps=10)
    assert again["decision"]["due"] and not again["decision"]["trigger"] and again["training"] is None
    assert len(root.listdir("feedback/triggers")) == 1
