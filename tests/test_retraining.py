"""The retraining rule: reject rate, edits since training, drift, and a cooldown that survives a storm."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta, timezone

import pandas as pd
import pytest

from labelops.feedback import FEEDBACK_SCHEMA
from labelops.retraining import (RetrainPolicy, SnapshotDrift, TextModelState, decide, decide_and_record,
                                 last_trigger, snapshot_drift)
from labelops.storage import DataRoot

NOW = datetime(2026, 11, 28, 12, tzinfo=timezone.utc)


def feedback_rows(verdicts: str, version: str = "2", received: datetime = NOW - timedelta(hours=1)) -> pd.DataFrame:
    """One feedback row per character: a(ccept), e(dit), r(eject), on distinct labels, in time order."""
    names = {"a": "accept", "e": "edit", "r": "reject"}
    rows = [{"feedback_id": f"f{i}", "label_id": f"l{i}", "listing_id": f"p{i}", "text_model_version": version,
             "verdict": names[v], "edited_description": "An edit." if v == "e" else None, "reviewer": "r",
             "timestamp": received - timedelta(minutes=len(verdicts) - i), "batch_id": "b", "received_at": received}
            for i, v in enumerate(verdicts)]
    return pd.DataFrame(rows) if rows else FEEDBACK_SCHEMA.empty_table().to_pandas()


def policy(**changes) -> RetrainPolicy:
    base = RetrainPolicy.load()
    return base.model_copy(update={k: getattr(base, k).model_copy(update=v) for k, v in changes.items()})


def fired(decision) -> set[str]:
    return {rule.name for rule in decision.rules if rule.fired}


def decide_now(feedback, **kwargs):
    args = dict(champion_version="2", last_training_at=NOW - timedelta(days=2), drift=SnapshotDrift(),
                last_trigger_at=None, now=NOW)
    return decide(kwargs.pop("policy", policy()), feedback, **{**args, **kwargs})


def test_a_high_reject_rate_over_the_champions_labels_triggers_a_retraining():
    decision = decide_now(feedback_rows("r" * 12 + "a" * 18))
    assert fired(decision) == {"reject rate"} and decision.trigger
    assert "40% of the champion's last 30 reviewed labels rejected" in decision.summary
    # below the limit, or too few reviews, or rejections of another version: nothing
    assert not decide_now(feedback_rows("r" * 5 + "a" * 25)).due
    assert not decide_now(feedback_rows("r" * 10)).due  # 10 < min_reviews
    assert not decide_now(feedback_rows("r" * 30, version="1")).due


def test_with_no_champion_the_reject_rate_is_over_the_labels_a_baseline_wrote():
    decision = decide_now(feedback_rows("r" * 12 + "a" * 18, version="baseline:retrieve_fill"), champion_version=None)
    assert fired(decision) == {"reject rate"}
    assert "40% of the baselines' last 30 reviewed labels rejected" in decision.summary
    assert not decide_now(feedback_rows("r" * 30, version="1"), champion_version=None).due  # a refused version's


def test_the_latest_verdict_of_a_label_counts():
    rows = feedback_rows("r" * 30)
    changed_mind = rows.assign(feedback_id=rows["feedback_id"] + "b", verdict="accept",
                               timestamp=rows["timestamp"] + timedelta(seconds=30))
    assert not decide_now(pd.concat([rows, changed_mind])).due


def test_edits_count_from_the_last_training():
    old = feedback_rows("e" * 20, received=NOW - timedelta(days=3))
    new = feedback_rows("e" * 24).assign(feedback_id=lambda f: "n" + f["feedback_id"], label_id=lambda f: "n" + f["label_id"])
    assert not decide_now(pd.concat([old, new])).due  # 24 new edits, 20 older than the last training
    decision = decide_now(pd.concat([old, new]), last_training_at=None)  # never trained: all 44 count
    assert fired(decision) == {"edits since last training"}
    other = new.assign(feedback_id=lambda f: "x" + f["feedback_id"], label_id=lambda f: "x" + f["label_id"])
    assert decide_now(pd.concat([new, other])).due  # 48 new edits of 48 labels


def test_drift_is_measured_on_category_mix_size_and_description_length():
    shoes = [{"category_path": ["Shoes"], "description": "x" * 100}] * 50
    bags = [{"category_path": ["Bags"], "description": "x" * 100}] * 50
    same = snapshot_drift(shoes + bags, bags + shoes, "old", "new")
    assert (same.category_shift, same.size_change, same.text_length_change) == (0.0, 0.0, 0.0)
    shifted = snapshot_drift(shoes + bags, shoes * 3 + bags, "old", "new")  # 50/50 → 75/25, twice the size
    assert shifted.category_shift == pytest.approx(0.25) and shifted.size_change == pytest.approx(1.0)
    longer = snapshot_drift(shoes, [{"category_path": ["Shoes"], "description": "x" * 150}] * 50)
    assert longer.text_length_change == pytest.approx(0.5) and longer.category_shift == 0
    decision = decide_now(feedback_rows(""), drift=shifted)
    assert fired(decision) == {"size change"}  # 0.25 is not above the 0.25 limit
    assert fired(decide_now(feedback_rows(""), drift=longer)) == {"text length change"}


def test_a_storm_of_rejections_triggers_one_training_and_the_cooldown_ends(data_root):
    root = DataRoot(str(data_root))
    state = TextModelState(champion_version="2", last_training_at=NOW - timedelta(days=2))
    rejections = feedback_rows("r" * 40)

    def one_feedback_run(i: int):
        return decide_and_record(root, rejections, state, SnapshotDrift(), now=NOW + timedelta(minutes=i))

    with ThreadPoolExecutor(8) as pool:  # fifty feedback runs at once and in a row
        decisions = list(pool.map(one_feedback_run, range(50)))
    assert sum(d.trigger for d in decisions) == 1
    assert all(d.due for d in decisions)
    held = [d for d in decisions if not d.trigger]
    assert all("cooldown until" in d.summary for d in held)
    assert len(root.listdir("feedback/triggers")) == 1 and last_trigger(root)["trigger"] is True

    later = decide_and_record(root, rejections, state, SnapshotDrift(), now=NOW + timedelta(hours=25))
    assert later.trigger and len(root.listdir("feedback/triggers")) == 2


def test_a_report_only_decision_records_nothing(data_root):
    root = DataRoot(str(data_root))
    state = TextModelState(champion_version="2")
    decision = decide_and_record(root, feedback_rows("r" * 40), state, SnapshotDrift(), now=NOW, record=False)
    assert decision.due and not decision.trigger and root.listdir("feedback/triggers") == []
    assert "| reject rate | 1.000 | 0.3 | yes |" in decision.to_markdown()


def test_the_shipped_policy_and_the_one_the_environment_names(tmp_path, monkeypatch):
    shipped = RetrainPolicy.load()  # reading and its errors: labelops.policy, tested with the gate's policy
    assert shipped.source.endswith("labelops/retrain.toml") and len(shipped.sha256) == 64
    assert (shipped.reject_rate.max, shipped.edits.min_since_training, shipped.trigger.cooldown_hours) == (0.3, 25, 24)
    mine = tmp_path / "retrain.toml"
    mine.write_text("version = 2\n[trigger]\ncooldown_hours = 1\n")
    monkeypatch.setenv("LABELOPS_RETRAIN_POLICY", str(mine))
    policy = RetrainPolicy.load()
    assert (policy.version, policy.trigger.cooldown_hours, policy.reject_rate.max) == (2, 1.0, 0.3)  # defaults fill in
    mine.write_text("version = 3\n[reject_rate]\nmax = 2.0\n")  # a share above 1 is refused
    with pytest.raises(ValueError, match="reject_rate.max"):
        RetrainPolicy.load()


def test_the_model_state_is_read_from_the_projects_registry(data_root, tmp_path):
    import mlflow

    from labelops.retraining import text_model_state
    from labelops.settings import get_settings

    mlflow.set_tracking_uri(f"sqlite:///{tmp_path / 'elsewhere.db'}")  # what a fresh process may point at
    state = text_model_state()
    assert mlflow.get_tracking_uri() == get_settings().tracking_uri
    assert state == TextModelState()  # nothing registered in this data root yet
