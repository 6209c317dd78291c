"""The gate's decision on real texts of the demo shop: baselines are floors, gains need intervals
that exclude zero, guards may not get significantly worse, and the policy file."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest

from labelops.evaluation import EvaluationSet, Scores, score_texts, text_baseline_scores
from labelops.gate import GatePolicy, GateResult, ModelPolicy, choose_writer, decide, decisions_markdown
from labelops.registry import IMAGE_MODEL, TEXT_MODEL
from tests.helpers.real_data import demo_rows

POLICY = GatePolicy.load()
TEXT = POLICY.for_model(TEXT_MODEL)


@pytest.fixture(scope="module")
def demo():
    """The demo shop's held-out rows and both text baselines' scores on them."""
    evaluation = EvaluationSet.of_rows("demo", demo_rows())
    return evaluation, text_baseline_scores(evaluation)


def test_the_held_out_rows_are_enough_to_decide(demo):
    evaluation, _ = demo
    assert len(evaluation.rows) >= 90  # val and test: the 47 test rows alone could not tell +1.5 chrF from noise


def test_a_model_that_writes_nothing_is_measured_on_nothing_and_refused(demo):
    """A model whose own text is empty is measured as empty, though its labels would be completed."""
    from labelops.evaluation import evaluate_text_generator
    from labelops.textgen.generate import finish

    class Mute:
        def generate(self, rows, options):  # noqa: ANN001
            return [finish("", [], row, options, None) for row in rows]

    evaluation, baselines = demo
    mute = evaluate_text_generator(Mute(), evaluation)
    assert mute.metrics["chrf"] == 0.0 and mute.label_metrics["attribute_coverage"] == 1.0
    nothing = score_texts("empty", [""] * len(evaluation.rows), [[]] * len(evaluation.rows), evaluation)
    decision = decide(TEXT_MODEL, TEXT, nothing, None, baselines, POLICY)
    assert not decision.promote
    failed = [c for c in decision.checks if not c.passed]
    assert {(c.kind, c.against) for c in failed} >= {("baseline", "template"), ("baseline", "retrieve_fill")}
    assert all(c.interval.high < 0 for c in failed if c.metric == "chrf")  # significantly worse, not just noise
    assert "chrf 0 vs template" in decision.summary()


def test_a_model_that_names_other_products_lines_is_refused(demo):
    """The labels main wrote at 307b3dc (text model version 2: almost every one names another
    product line) as a challenger: the fact checker's findings stop it."""
    data = json.loads(gzip.decompress((Path(__file__).parent / "fixtures" / "demo-labels-307b3dc.json.gz").read_bytes()))
    evaluation = EvaluationSet.of_rows("fixture", data["listings"])
    texts = {label["listing_id"]: label for label in data["labels"] if label["text_model_version"] == "2"}
    rows = [texts[r["listing_id"]] for r in evaluation.rows]
    challenger = score_texts("v2", [r["description"] for r in rows], [r["tags"] for r in rows], evaluation)
    assert challenger.metrics["findings.name"] > 0.9
    decision = decide(TEXT_MODEL, TEXT, challenger, None, text_baseline_scores(evaluation), POLICY)
    assert not decision.promote
    failed = {(c.kind, c.metric) for c in decision.checks if not c.passed}
    assert ("floor", "findings_rate") in failed and ("baseline", "findings_rate") in failed


def test_a_copy_of_the_champion_is_not_significantly_better(demo):
    evaluation, baselines = demo
    champion = baselines["retrieve_fill"].model_copy(update={"system": "version 1"})
    copy = baselines["retrieve_fill"].model_copy(update={"system": "version 2"})
    decision = decide(TEXT_MODEL, TEXT.model_copy(update={"baselines": ["template"]}), copy, champion,
                      {"template": baselines["template"]}, POLICY)
    primary = next(c for c in decision.checks if c.kind == "primary")
    assert not decision.promote and not primary.passed
    assert primary.interval.gain == 0 and "not significantly better" in primary.reason


def test_a_clearly_better_challenger_is_promoted_with_its_interval(demo):
    evaluation, baselines = demo
    # the baselines themselves as challenger and champion: retrieve-and-fill reads far more like the shop
    decision = decide(TEXT_MODEL, TEXT.model_copy(update={"baselines": []}), baselines["retrieve_fill"],
                      baselines["template"], {}, POLICY)
    primary = next(c for c in decision.checks if c.kind == "primary")
    assert primary.passed and primary.interval.low > 0 and primary.interval.gain > 10
    assert decision.promote, decision.summary()


def test_a_guard_that_gets_significantly_worse_refuses(demo):
    evaluation, baselines = demo
    template = baselines["template"]
    # the same texts with every tag dropped: chrF level, tag F1 collapses
    tagless = score_texts("tagless", [s for s in _texts(template, evaluation)], [[]] * len(evaluation.rows), evaluation)
    decision = decide(TEXT_MODEL, TEXT.model_copy(update={"baselines": []}), tagless, template, {}, POLICY)
    guard = next(c for c in decision.checks if c.metric == "tag_f1")
    assert not guard.passed and "significantly worse" in guard.reason


def _texts(scores: Scores, evaluation: EvaluationSet) -> list[str]:
    from labelops.evaluation import BaselineWriter
    from labelops.textgen.generate import GenerationOptions

    writer = BaselineWriter(scores.system, evaluation.train_rows, evaluation.checker)
    return [g.own_description for g in writer.generate(evaluation.rows, GenerationOptions(ground=False, complete=False))]


def test_the_writer_is_the_best_baseline_when_no_model_beats_them(demo):
    evaluation, baselines = demo
    nothing = score_texts("empty", [""] * len(evaluation.rows), [[]] * len(evaluation.rows), evaluation)
    writer = choose_writer(TEXT, "3", nothing, baselines, POLICY)
    assert writer.system == "retrieve_fill" and "does not beat the baselines" in writer.reason
    assert choose_writer(TEXT, None, None, baselines, POLICY).system == "retrieve_fill"
    good = baselines["retrieve_fill"].model_copy(update={"system": "version 3"})
    only_template = TEXT.model_copy(update={"baselines": ["template"]})
    assert choose_writer(only_template, "3", good, baselines, POLICY).model_dump()["system"] == "model"
    # a policy without baselines and no champion: labels are still written, by retrieve-and-fill
    assert choose_writer(TEXT.model_copy(update={"baselines": []}), None, None, {}, POLICY).system == "retrieve_fill"


def image_scores(system: str, correct: list[float], kid: float = 0.1, kid_std: float = 0.01) -> Scores:
    return Scores(system=system, kind="image", rows={"correct": correct, "tagged": correct},
                  metrics={"n": float(len(correct)), "conditional_accuracy": sum(correct) / len(correct),
                           "tagger_accuracy": sum(correct) / len(correct), "kid": kid, "kid_std": kid_std})


def test_a_gan_below_class_mean_images_is_refused():
    policy = POLICY.for_model(IMAGE_MODEL)
    gan = image_scores("v1", [1.0] * 40 + [0.0] * 60)
    baselines = {"class_mean": image_scores("class_mean", [1.0] * 75 + [0.0] * 25, kid=1.5),
                 "noise": image_scores("noise", [1.0] * 25 + [0.0] * 75, kid=14.0)}
    decision = decide(IMAGE_MODEL, policy, gan, None, baselines, POLICY)
    assert not decision.promote
    (failed,) = [c for c in decision.checks if not c.passed]
    assert failed.against == "class_mean" and "significantly worse" in failed.reason
    assert choose_writer(policy, "1", gan, baselines, POLICY).system == "class_mean"


def test_kid_is_judged_within_its_own_spread():
    policy = ModelPolicy.model_validate({"primary": {"metric": "conditional_accuracy"}, "guards": {"kid": {"higher_is_better": False}}})
    champion = image_scores("v1", [1.0] * 50 + [0.0] * 50, kid=0.40, kid_std=0.08)
    better = image_scores("v2", [1.0] * 80 + [0.0] * 20, kid=0.45, kid_std=0.08)  # +0.05 KID: within the spread
    assert decide(IMAGE_MODEL, policy, better, champion, {}, POLICY).promote
    worse = image_scores("v2", [1.0] * 80 + [0.0] * 20, kid=0.80, kid_std=0.08)
    decision = decide(IMAGE_MODEL, policy, worse, champion, {}, POLICY)
    assert not decision.promote and "kid" in decision.summary()


def test_the_shipped_policy_has_baselines_for_both_models_and_is_fingerprinted():
    assert POLICY.version >= 2 and len(POLICY.sha256) == 64
    assert TEXT.baselines == ["template", "retrieve_fill"] and TEXT.primary.metric == "chrf"
    assert POLICY.for_model(IMAGE_MODEL).baselines == ["class_mean", "noise"]


def test_a_broken_policy_file_is_a_clear_error(tmp_path):
    bad = tmp_path / "gate.toml"
    bad.write_text("version = [")
    with pytest.raises(ValueError, match="not valid TOML"):
        GatePolicy.load(bad)
    with pytest.raises(FileNotFoundError):
        GatePolicy.load(tmp_path / "missing.toml")
    with pytest.raises(KeyError, match="no section"):
        GatePolicy.load().for_model("unknown-model")


def test_the_decision_shows_every_system_each_interval_and_the_writer(demo):
    evaluation, baselines = demo
    nothing = score_texts("empty", [""] * len(evaluation.rows), [[]] * len(evaluation.rows), evaluation)
    decision = decide(TEXT_MODEL, TEXT, nothing, None, baselines, POLICY)
    gate = GateResult(model_name=TEXT_MODEL, challenger_version="2", champion_before=None, champion_after=None,
                      promoted=False, summary=decision.summary(), decision=decision,
                      writer=choose_writer(TEXT, None, None, baselines, POLICY),
                      baselines={n: b.metrics for n, b in baselines.items()})
    markdown = decisions_markdown("snap", [gate])
    assert "Labels are written by the retrieve_fill baseline" in markdown
    assert "| metric | challenger v2 | template baseline | retrieve_fill baseline |" in markdown
    assert "- ✘ chrf 0 vs template" in markdown and "(95%)" in markdown
