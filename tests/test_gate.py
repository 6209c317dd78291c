"""The gate's decision: floors, the primary metric's improvement, guards, and the policy file."""

from __future__ import annotations

import pytest

from labelops.gate import GatePolicy, ModelPolicy, decide
from labelops.registry import IMAGE_MODEL, TEXT_MODEL

POLICY = ModelPolicy.model_validate({
    "primary": {"metric": "chrf", "higher_is_better": True, "min_improvement": 0.5},
    "floors": {"chrf": {"min": 20.0}, "hallucination_rate": {"max": 0.1}},
    "guards": {"hallucination_rate": {"higher_is_better": False, "tolerance": 0.02}},
})
GOOD = {"chrf": 40.0, "hallucination_rate": 0.01}


def test_first_model_passes_on_floors_alone():
    decision = decide(TEXT_MODEL, POLICY, GOOD)
    assert decision.promote and [c.kind for c in decision.checks] == ["floor", "floor"]


def test_first_model_below_a_floor_is_refused_and_says_why():
    decision = decide(TEXT_MODEL, POLICY, {"chrf": 12.0, "hallucination_rate": 0.01})
    assert not decision.promote
    assert decision.summary() == "refuse: chrf 12 < floor 20"


def test_a_missing_metric_fails_its_floor():
    assert not decide(TEXT_MODEL, POLICY, {"chrf": 40.0}).promote


def test_challenger_must_beat_the_champion_by_the_minimum():
    assert decide(TEXT_MODEL, POLICY, {**GOOD, "chrf": 41.0}, GOOD).promote
    refused = decide(TEXT_MODEL, POLICY, {**GOOD, "chrf": 40.3}, GOOD)
    assert not refused.promote and "improvement +0.3 < required 0.5" in refused.summary()


def test_a_guard_metric_may_not_regress_beyond_its_tolerance():
    worse = decide(TEXT_MODEL, POLICY, {"chrf": 45.0, "hallucination_rate": 0.05}, GOOD)
    assert not worse.promote and [c.metric for c in worse.checks if not c.passed] == ["hallucination_rate"]
    assert decide(TEXT_MODEL, POLICY, {"chrf": 45.0, "hallucination_rate": 0.025}, GOOD).promote


def test_lower_is_better_primary_metric():
    policy = ModelPolicy.model_validate({"primary": {"metric": "kid", "higher_is_better": False, "min_improvement": 0.01}})
    assert decide(IMAGE_MODEL, policy, {"kid": 0.05}, {"kid": 0.07}).promote
    assert not decide(IMAGE_MODEL, policy, {"kid": 0.065}, {"kid": 0.07}).promote


def test_the_shipped_policy_covers_both_models_and_is_fingerprinted():
    policy = GatePolicy.load()
    assert {TEXT_MODEL, IMAGE_MODEL} <= set(policy.models) and policy.version >= 1 and len(policy.sha256) == 64
    assert policy.for_model(TEXT_MODEL).primary.metric == "chrf"


def test_a_broken_policy_file_is_a_clear_error(tmp_path):
    bad = tmp_path / "gate.toml"
    bad.write_text("version = [")
    with pytest.raises(ValueError, match="not valid TOML"):
        GatePolicy.load(bad)
    with pytest.raises(FileNotFoundError):
        GatePolicy.load(tmp_path / "missing.toml")
    with pytest.raises(KeyError, match="no section"):
        GatePolicy.load().for_model("unknown-model")


def test_the_decision_table_shows_both_models_metrics_and_every_check():
    from labelops.gate import GateResult, decisions_markdown

    decision = decide(TEXT_MODEL, POLICY, {**GOOD, "chrf": 40.3}, GOOD)
    gate = GateResult(model_name=TEXT_MODEL, challenger_version="2", champion_before="1", champion_after="1",
                      promoted=False, summary=decision.summary(), decision=decision)
    markdown = decisions_markdown("snap", [gate])
    assert "champion unchanged (version 1)" in markdown
    assert "| chrf | 40.3000 | 40.0000 |" in markdown
    assert "- ✘ chrf 40.3 vs champion 40: improvement +0.3 < required 0.5" in markdown
