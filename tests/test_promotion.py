"""Promotion and rollback on a real MLflow registry: only the gate promotes, at most once at a time."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from mlflow import MlflowClient

from labelops.evaluation import EvaluationSet, Scores
from labelops.factcheck import FactChecker
from labelops.gate import GatePolicy, run_gate
from labelops.promotion import CHAMPION, PromotionError, champion_history, champion_version, promote, rollback
from labelops.registry import configure_mlflow
from labelops.settings import get_settings

MODEL = "product-text-generator"


def register_versions(n: int) -> list[str]:
    """``n`` registered versions (the registry's bookkeeping is what these tests are about)."""
    configure_mlflow(get_settings())
    client = MlflowClient()
    if not client.search_registered_models(f"name = '{MODEL}'"):
        client.create_registered_model(MODEL)
    return [str(client.create_model_version(MODEL, source=f"file:///nowhere/{i}").version) for i in range(n)]


def test_promote_moves_the_alias_and_records_the_history(data_root):
    v1, v2 = register_versions(2)
    promote(MODEL, v1, None, "run-a")
    promote(MODEL, v2, v1, "run-b")
    assert champion_version(MODEL) == v2 and champion_history(MODEL) == [v1, v2]
    assert MlflowClient().get_model_version(MODEL, v2).tags["promoted_by_run"] == "run-b"


def test_promote_refuses_when_the_champion_moved_since_the_comparison(data_root):
    v1, v2, v3 = register_versions(3)
    promote(MODEL, v1, None, "run-a")
    promote(MODEL, v2, v1, "run-b")
    with pytest.raises(PromotionError, match="moved to version 2"):
        promote(MODEL, v3, v1, "run-c")  # v3 was compared with v1, which is no longer champion
    assert champion_version(MODEL) == v2


def test_rollback_returns_to_the_previous_champion_and_records_why(data_root):
    v1, v2 = register_versions(2)
    with pytest.raises(PromotionError, match="no champion"):
        rollback(MODEL, "nothing yet")
    promote(MODEL, v1, None, "run-a")
    with pytest.raises(PromotionError, match="no previous champion"):
        rollback(MODEL, "only one so far")
    promote(MODEL, v2, v1, "run-b")
    assert rollback(MODEL, "reviewers reject its labels") == (v2, v1)
    assert str(MlflowClient().get_registered_model(MODEL).aliases[CHAMPION]) == v1
    assert MlflowClient().get_model_version(MODEL, v2).tags["rollback_reason"] == "reviewers reject its labels"
    with pytest.raises(PromotionError, match="needs a reason"):
        rollback(MODEL, " ")


def slow_winner(version: str, evaluation: EvaluationSet) -> Scores:
    """An evaluator that takes a while and rates every version well, so two gates overlap."""
    time.sleep(2)
    return Scores(system=f"version {version}", kind="text",
                  metrics={"n": 0.0, "chrf": 50.0 + float(version), "findings_rate": 0.0})


def test_two_gates_at_the_same_time_promote_at_most_once(data_root):
    """Two gate runs (threads here; the lock is a file lock, which threads contend for just as
    processes do) measure the same challenger at once: one promotes, the other finds the
    champion moved and refuses."""
    (v1,) = register_versions(1)
    MlflowClient().set_registered_model_alias(MODEL, "challenger", v1)
    evaluation = EvaluationSet("snap", [], [], FactChecker())
    policy = GatePolicy.load()
    policy.models[MODEL] = policy.for_model(MODEL).model_copy(update={"baselines": [], "guards": {}})
    with ThreadPoolExecutor(2) as pool:
        runs = [pool.submit(run_gate, MODEL, evaluation, policy, evaluators={MODEL: slow_winner}) for _ in range(2)]
        results = [run.result(timeout=300) for run in runs]
    assert sorted(r.promoted for r in results) == [False, True], [r.summary for r in results]
    refused = next(r for r in results if not r.promoted)
    assert "champion moved" in refused.summary
    assert champion_version(MODEL) == v1 and champion_history(MODEL) == [v1]
    verdicts = {r.run_id: MlflowClient().get_run(r.run_id).data.tags["verdict"] for r in results}
    assert sorted(verdicts.values()) == ["promote", "refuse"]


def test_the_image_gate_measures_the_real_reference_and_keeps_the_sample_grid(data_root):
    """An image challenger with the baselines and the real reference: the gate's run logs each
    (references under ``reference.``), the challenger's per-class grid as a PNG file, and keeps it
    for the report without inlining it in decision.json."""
    import base64
    import io
    import json

    from PIL import Image

    from labelops.registry import IMAGE_MODEL

    configure_mlflow(get_settings())
    client = MlflowClient()
    client.create_registered_model(IMAGE_MODEL)
    version = str(client.create_model_version(IMAGE_MODEL, source="file:///nowhere/gan").version)
    client.set_registered_model_alias(IMAGE_MODEL, "challenger", version)
    buffer = io.BytesIO()
    Image.new("RGB", (8, 4), (10, 200, 10)).save(buffer, format="PNG")
    png = base64.b64encode(buffer.getvalue()).decode("ascii")

    def scores(system: str, share: float, kid: float, grid: bool = False) -> Scores:
        correct = [1.0 if i < share * 100 else 0.0 for i in range(100)]
        return Scores(system=system, kind="image", rows={"correct": correct, "tagged": correct},
                      metrics={"n": 100.0, "conditional_accuracy": share, "tagger_accuracy": share, "kid": kid,
                               "kid_std": 0.03, "recall": share},
                      samples=[{"grid_png": png, "rows": ["Clothing > T-Shirts"]}] if grid else [],
                      notes={"text_image_agreement": "no text-image scorer: the snapshot has no photos"})

    measured = []

    def baselines(evaluation, names, like):  # noqa: ANN001
        measured.extend(names)
        systems = {"class_mean": scores("class_mean", 0.80, 1.5), "class_colour_mean": scores("class_colour_mean", 0.80, 1.4),
                   "noise": scores("noise", 0.25, 14.0), "real": scores("real", 0.90, 0.10)}
        return {name: systems[name] for name in names}

    result = run_gate(IMAGE_MODEL, EvaluationSet("snap", [], [], FactChecker()),
                      evaluators={IMAGE_MODEL: lambda v, e: scores(f"version {v}", 0.82, 0.2, grid=True)},
                      baseline_evaluators={IMAGE_MODEL: baselines})
    assert measured == ["class_mean", "class_colour_mean", "noise", "real"]
    assert result.promoted, result.summary
    assert result.grids == {f"challenger v{version}": png} and "grids" not in result.model_dump()
    run = client.get_run(result.run_id)
    assert run.data.metrics["reference.real.kid"] == 0.10 and "baseline.noise.kid" in run.data.metrics
    artifacts = {a.path for a in client.list_artifacts(result.run_id, "samples")}
    assert artifacts == {f"samples/challenger-v{version}.png"}
    decision = json.loads(open(client.download_artifacts(result.run_id, "decision.json")).read())
    assert decision["samples"]["challenger"] == [{"rows": ["Clothing > T-Shirts"], "grid": f"samples/challenger-v{version}.png"}]
    from labelops.gate import systems_table

    headers, _ = systems_table(result)
    assert "real (reference)" in headers and "noise baseline" in headers
