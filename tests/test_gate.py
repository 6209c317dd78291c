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


def image_scores(system: str, correct: list[float], kid: float = 0.1, kid_std: float = 0.01,
                 agreement: float = 0.5, recall: float = 0.8) -> Scores:
    """Scores of an image system; ``agreement``: every drawn image's text-image score against its
    listing; ``recall``: the share of real held-out photos its images cover."""
    fits = [agreement + 0.1 * ((i % 5) - 2) for i in range(len(correct))]
    return Scores(system=system, kind="image", rows={"correct": correct, "tagged": correct, "text_image_agreement": fits},
                  metrics={"n": float(len(correct)), "conditional_accuracy": sum(correct) / len(correct),
                           "tagger_accuracy": sum(correct) / len(correct), "kid": kid, "kid_std": kid_std,
                           "text_image_agreement": sum(fits) / len(fits), "recall": recall})


def rows(share: float, n: int = 100, offset: int = 0) -> list[float]:
    """``n`` per-row hits (0/1), a ``share`` of them 1, spread over the rows from ``offset``."""
    hits = round(share * n)
    return [1.0 if (i + offset) % n < hits else 0.0 for i in range(n)]


def image_systems() -> dict[str, Scores]:
    """What the image gate measures beside a generator: the baselines and the real reference
    (the evaluator on real held-out photos: 0.90; KID of real training vs held-out photos: 0.10)."""
    return {"class_mean": image_scores("class_mean", rows(0.85, offset=7), kid=1.5, kid_std=0.2, recall=0.0),
            "class_colour_mean": image_scores("class_colour_mean", rows(0.86, offset=11), kid=1.4, kid_std=0.2, recall=0.3),
            "noise": image_scores("noise", rows(0.25, offset=3), kid=14.0, kid_std=0.7, recall=0.0),
            "real": image_scores("real", rows(0.90, offset=5), kid=0.10, kid_std=0.03, recall=0.95)}


def failed_checks(challenger: Scores, champion: Scores | None = None) -> set[tuple[str, str, str]]:
    decision = decide(IMAGE_MODEL, POLICY.for_model(IMAGE_MODEL), challenger, champion, image_systems(), POLICY)
    return {(c.kind, c.metric, c.against) for c in decision.checks if not c.passed}


def test_real_training_photos_pass_the_image_gate():
    assert failed_checks(image_scores("real training photos", rows(0.95, offset=2), kid=0.11, kid_std=0.03)) == set()


def test_a_generator_whose_images_do_not_fit_their_listings_fails_the_image_gate():
    """Recognisable and realistic, but the text-image scorer finds its images fit their listings'
    words worse than the class-and-colour means do (e.g. the wrong colour drawn)."""
    failed = failed_checks(image_scores("v1", rows(0.95, offset=2), kid=0.11, kid_std=0.03, agreement=0.3))
    assert failed == {("baseline", "text_image_agreement", "class_colour_mean")}


def test_without_a_trusted_text_image_scorer_the_image_gate_skips_that_check_and_says_why():
    def untrusted(scores: Scores) -> Scores:
        scores.rows.pop("text_image_agreement"), scores.metrics.pop("text_image_agreement")
        scores.notes["text_image_agreement"] = "the text-image scorer is not trusted: 0.12 [0.05, 0.2]"
        return scores

    systems = {name: untrusted(scores) for name, scores in image_systems().items()}
    gan = untrusted(image_scores("v1", rows(0.95, offset=2), kid=0.11, kid_std=0.03))
    decision = decide(IMAGE_MODEL, POLICY.for_model(IMAGE_MODEL), gan, None, systems, POLICY)
    assert decision.promote
    (check,) = [c for c in decision.checks if c.metric == "text_image_agreement"]
    assert check.skipped and "not trusted" in check.reason


def test_a_generator_that_covers_little_of_the_real_variety_fails_however_recognisable():
    """What a weak judge lets through: class-coloured blobs it recognises, near the real KID within
    the spread, that cover a quarter of the real photos (a Flipkart run, read by eye)."""
    blobs = image_scores("v1", rows(0.95, offset=2), kid=0.11, kid_std=0.03, recall=0.25)
    assert failed_checks(blobs) == {("floor", "recall", "real")}  # 0.25 < 0.5 × 0.95


def test_noise_fails_the_image_gate():
    noise = image_systems()["noise"]
    failed = failed_checks(noise)
    assert {("baseline", "conditional_accuracy", "class_mean"), ("floor", "conditional_accuracy", "real"),
            ("baseline", "kid", "noise"), ("floor", "kid", "real")} <= failed


def test_class_mean_images_fail_the_image_gate_for_want_of_diversity():
    failed = failed_checks(image_systems()["class_mean"])
    assert ("baseline", "kid", "class_mean") in failed and ("floor", "kid", "real") in failed
    assert ("baseline", "conditional_accuracy", "class_mean") not in failed  # as recognisable as themselves


def test_a_generator_that_draws_the_wrong_class_fails_however_real_it_looks():
    failed = failed_checks(image_scores("wrong class", rows(0.02), kid=0.12, kid_std=0.03))
    assert {("baseline", "conditional_accuracy", "class_mean"), ("floor", "conditional_accuracy", "real")} <= failed
    assert not {f for f in failed if f[1] == "kid"}


def test_a_generator_as_recognisable_as_class_means_within_noise_and_close_to_real_passes():
    """Non-inferiority: a little below class means, within the interval, passes when its KID is near real photos'."""
    gan = image_scores("v1", rows(0.80, offset=1), kid=0.25, kid_std=0.05)
    assert failed_checks(gan) == set()
    far = image_scores("v1", rows(0.80, offset=1), kid=0.45, kid_std=0.05)  # 0.45 > 2 × 0.10 + spread
    assert failed_checks(far) == {("floor", "kid", "real")}
    unrecognisable = image_scores("v1", rows(0.55, offset=1), kid=0.25, kid_std=0.05)
    assert ("floor", "conditional_accuracy", "real") in failed_checks(unrecognisable)  # 0.55 < 0.70 × 0.90


def test_a_ceiling_relative_to_a_kid_below_zero_is_taken_from_zero():
    """KID is unbiased: real photos against real photos can score below zero, meaning no distance;
    twice a negative number would be a ceiling below the reference itself."""
    systems = {**image_systems(), "real": image_scores("real", rows(0.90, offset=5), kid=-0.05, kid_std=0.03)}
    gan = image_scores("v1", rows(0.85, offset=1), kid=0.02, kid_std=0.02)
    decision = decide(IMAGE_MODEL, POLICY.for_model(IMAGE_MODEL), gan, None, systems, POLICY)
    ceiling = next(c for c in decision.checks if c.kind == "floor" and c.metric == "kid")
    assert ceiling.passed and "× real 0 " in ceiling.reason, ceiling.reason


def test_with_a_champion_the_challenger_must_also_beat_it():
    champion = image_scores("v1", rows(0.80, offset=1), kid=0.25, kid_std=0.05)
    same = image_scores("v2", rows(0.80, offset=1), kid=0.25, kid_std=0.05)
    assert failed_checks(same, champion) == {("primary", "conditional_accuracy", "champion")}
    better = image_scores("v2", rows(0.97, offset=1), kid=0.20, kid_std=0.05)
    assert failed_checks(better, champion) == set()


def test_a_gan_below_class_mean_images_is_refused():
    policy = POLICY.for_model(IMAGE_MODEL)
    gan = image_scores("v1", [1.0] * 40 + [0.0] * 60, kid=0.15)
    baselines = {**image_systems(), "class_mean": image_scores("class_mean", [1.0] * 75 + [0.0] * 25, kid=1.5)}
    decision = decide(IMAGE_MODEL, policy, gan, None, baselines, POLICY)
    assert not decision.promote
    failed = {(c.metric, c.against) for c in decision.checks if not c.passed}
    assert ("conditional_accuracy", "class_mean") in failed
    assert "conditional_accuracy 0.4 vs class_mean 0.75" in decision.summary() and "significantly worse" in decision.summary()
    # only the class means draw placeholder images: neither the real photos nor noise write labels
    assert choose_writer(policy, "1", gan, baselines, POLICY).system == "class_mean"
    assert choose_writer(policy, None, None, baselines, POLICY).system == "class_mean"


def test_the_image_gate_with_real_tensors_and_a_tiny_evaluator():
    """Real images (coloured squares of three classes), an evaluator trained on the training ones,
    every system scored as the gate scores it: real training photos pass; noise, class-mean images,
    a generator that draws the wrong class and an untrained generator with the class prior fail."""
    import torch

    from labelops.imagegen.data import normalise
    from labelops.imagegen.evaluation import HeldoutImages, baseline_scores, score_images
    from labelops.imagegen.evaluator import class_mean_sampler, noise_sampler, train_evaluator

    colours = torch.tensor([[220, 30, 30], [30, 160, 40], [40, 60, 220]], dtype=torch.float)

    def squares(labels: torch.Tensor, seed: int) -> torch.Tensor:
        generator = torch.Generator().manual_seed(seed)
        pixels = torch.full((len(labels), 3, 16, 16), 255.0)
        for i, label in enumerate(labels.tolist()):
            side = int(torch.randint(5, 10, (1,), generator=generator))
            top, left = (int(v) for v in torch.randint(0, 16 - side + 1, (2,), generator=generator))
            pixels[i, :, top:top + side, left:left + side] = \
                (colours[label] + torch.randn(3, generator=generator) * 15).clamp(0, 255)[:, None, None]
        return pixels.to(torch.uint8)

    train_labels, held_labels = torch.arange(3).repeat(50), torch.arange(3).repeat(30)
    train = squares(train_labels, seed=1)
    evaluator = train_evaluator(train, train_labels, ["red", "green", "blue"], steps=80, batch_size=32, seed=0)
    held = HeldoutImages(evaluator, ["red", "green", "blue"], squares(held_labels, seed=2), held_labels, train, train_labels)
    systems = baseline_scores(held)

    def real_training_photos(requested: torch.Tensor) -> torch.Tensor:  # each class's photos in turn
        order = {c: torch.nonzero(train_labels == c).flatten().tolist() for c in range(3)}
        seen = {c: 0 for c in range(3)}
        chosen = []
        for c in requested.tolist():
            chosen.append(order[c][seen[c] % len(order[c])])
            seen[c] += 1
        return normalise(train[chosen])

    def untrained_prior(requested: torch.Tensor) -> torch.Tensor:
        # the class-and-colour prior before training draws its templates, the class means: it has
        # added nothing to the baseline it starts from, and must not pass for a generator
        from labelops.imagegen.data import prior_templates
        from labelops.imagegen.model import Generator

        generator = Generator(3, 16, z_dim=8, width=4, prior_size=16)
        generator.prior.fill(prior_templates(train, train_labels, torch.full_like(train_labels, -1), 3, 0))
        with torch.no_grad():
            return generator.eval()(torch.randn(len(requested), 8), requested)

    challengers = {"real training photos": real_training_photos(held.labels),
                   "noise": noise_sampler(16, seed=1)(held.labels),
                   "class means": class_mean_sampler(train, train_labels, 3)(held.labels),
                   "wrong class": normalise(squares((held.labels + 1) % 3, seed=4)),
                   "untrained generator with the prior": untrained_prior(held.labels)}
    policy = POLICY.for_model(IMAGE_MODEL)
    verdicts = {}
    for name, images in challengers.items():
        decision = decide(IMAGE_MODEL, policy, score_images(name, images, held), None, systems, POLICY)
        verdicts[name] = decision.promote
    assert verdicts == {"real training photos": True, "noise": False, "class means": False, "wrong class": False,
                        "untrained generator with the prior": False}, \
        {name: decide(IMAGE_MODEL, policy, score_images(name, images, held), None, systems, POLICY).summary()
         for name, images in challengers.items()}


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
    images = POLICY.for_model(IMAGE_MODEL)
    assert images.baselines == ["class_mean", "class_colour_mean", "noise"] and images.references == ["real"]
    assert images.writers == ["class_mean"] and images.floors["kid"].of == "real"


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


def test_a_policy_that_names_an_unmeasured_system_or_a_metric_without_a_direction_is_refused():
    base = {"primary": {"metric": "conditional_accuracy"}, "baselines": ["class_mean"], "references": ["real"],
            "guards": {"kid": {"higher_is_better": False}}}
    ModelPolicy.model_validate({**base, "versus": {"class_mean": {"kid": "better"}}, "floors": {"kid": {"max": 2, "of": "real"}}})
    for bad, message in (({"versus": {"noise": {"kid": "better"}}}, "not one of the baselines"),
                         ({"versus": {"class_mean": {"recall": "better"}}}, "higher is better"),
                         ({"versus": {"class_mean": {"kid": "beats"}}}, "better"),
                         ({"floors": {"kid": {"max": 2, "of": "champion"}}}, "neither a baseline nor a reference"),
                         ({"writers": ["real"]}, "not baselines")):
        with pytest.raises(ValueError, match=message):
            ModelPolicy.model_validate({**base, **bad})
