"""The generation flow end to end: the gate decides on intervals beside the baselines, labels are
written by what it chose (a baseline when no model beats them), the report says so."""

from __future__ import annotations

import json

import pytest
from mlflow import MlflowClient

from labelops.catalog import labels_path, report_path
from labelops.promotion import champion_version
from labelops.registry import IMAGE_MODEL, TEXT_MODEL
from labelops.snapshot import read_snapshot
from labelops.storage import DataRoot
from labelops.textgen.train import TextTrainConfig, train_text
from tests.helpers.listings import publish_demo_snapshot
from tests.helpers.training import SMALL, gate_policy


def flow_run_artifacts(flow_run_id: str) -> dict[str, str]:
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterFlowRunId

    with get_client(sync_client=True) as client:
        artifacts = client.read_artifacts(artifact_filter=ArtifactFilter(
            flow_run_id=ArtifactFilterFlowRunId(any_=[flow_run_id])))
    return {a.key: a.data for a in artifacts if a.key}


@pytest.mark.timeout(1500)  # one training and three gate + label runs: about 3 minutes on 2 idle cores
def test_baselines_write_until_a_model_beats_them_and_a_copy_of_the_champion_is_refused(
        prefect_backend, data_root, tmp_path, monkeypatch):
    from flows.generate import generate

    root = DataRoot(str(data_root))
    snapshot = publish_demo_snapshot(root, 60)
    listings = read_snapshot(root, snapshot).num_rows
    small = train_text(TextTrainConfig(snapshot_id=snapshot, max_steps=150, **SMALL))

    # the shipped policy: a small model does not beat retrieve-and-fill; it is refused, and the best
    # baseline writes every label (nothing is left unlabelled for want of a champion)
    run = generate(snapshot_id=snapshot)
    (gate,) = [g for g in run.gates if g["model_name"] == TEXT_MODEL]
    assert not gate["promoted"] and champion_version(TEXT_MODEL) is None
    assert any(c["kind"] == "baseline" and not c["passed"] for c in gate["decision"]["checks"])
    assert run.text_model_version == f"baseline:{gate['writer']['system']}"
    labels = root.read_parquet(labels_path(run.run_id)).to_pylist()
    assert run.counts.valid + run.counts.quarantined == listings and len(labels) == run.counts.valid  # nothing lost
    assert {row["text_model_version"] for row in labels} == {run.text_model_version}
    html = (data_root / report_path(run.run_id)).read_text()
    assert f"Labels written by <strong>the {gate['writer']['system']} baseline</strong>" in html
    assert MlflowClient().get_run(run.run_id).data.tags["text_writer"] == f"the {gate['writer']['system']} baseline"
    # the labels run and the gate run name this flow run; it has their artifacts and the checks as a table
    flow_run_id = MlflowClient().get_run(run.run_id).data.tags["prefect.flow_run_id"]
    assert MlflowClient().get_run(gate["run_id"]).data.tags["prefect.flow_run_id"] == flow_run_id
    artifacts = flow_run_artifacts(flow_run_id)
    assert run.run_id in artifacts["labels-run"] and gate["run_id"] in artifacts[f"gate-run-{TEXT_MODEL}"]
    assert any(row["kind"] == "baseline" and row["verdict"] == "fail" for row in json.loads(artifacts["gate-checks"]))
    assert {"what": "valid labels", "count": run.counts.valid} in json.loads(artifacts["labels-counts"])

    # a policy without baselines: within the floors the model becomes champion and writes
    monkeypatch.setenv("LABELOPS_GATE_POLICY", gate_policy(tmp_path, 1.0))
    run = generate(snapshot_id=snapshot)
    assert champion_version(TEXT_MODEL) == small.version
    labels = root.read_parquet(labels_path(run.run_id)).to_pylist()
    assert {row["text_model_version"] for row in labels} == {small.version}
    assert {row["snapshot_id"] for row in labels} == {snapshot} and {row["run_id"] for row in labels} == {run.run_id}

    # the champion registered again as a new version is not significantly better: refused
    client = MlflowClient()
    champion = client.get_model_version(TEXT_MODEL, small.version)
    copy = client.create_model_version(TEXT_MODEL, champion.source, run_id=champion.run_id,
                                       tags={"training_key": "copy"})
    client.set_registered_model_alias(TEXT_MODEL, "challenger", copy.version)
    run = generate(snapshot_id=snapshot)
    (gate,) = [g for g in run.gates if g["model_name"] == TEXT_MODEL]
    assert not gate["promoted"] and champion_version(TEXT_MODEL) == small.version
    primary = next(c for c in gate["decision"]["checks"] if c["kind"] == "primary")
    assert primary["interval"]["gain"] == 0 and "not significantly better" in primary["reason"]
    assert {row["text_model_version"] for row in root.read_parquet(labels_path(run.run_id)).to_pylist()} == {small.version}
    html = (data_root / report_path(run.run_id)).read_text()
    assert f"champion unchanged ({small.version})" in html and "not significantly better" in html


GAN_TINY = dict(image_size=16, z_dim=16, g_width=8, d_width=8, batch_size=16, log_every_steps=2, sample_every_steps=4,
                grid_columns=4)


def test_a_gan_below_class_mean_images_is_refused_and_the_class_means_stand_in(data_root, monkeypatch):
    from datetime import datetime, timezone

    from PIL import Image

    from labelops.evaluation import EVALUATORS, EvaluationSet
    from labelops.gate import run_gate
    from labelops.imagegen.evaluation import choose_tagger
    from labelops.imagegen.train import GanTrainConfig, train_gan
    from labelops.labelling import ClassMeanLabeller, TaggedLabeller, label_images, load_image_labeller
    from labelops.labels import Label
    from labelops.settings import get_settings

    monkeypatch.setenv("LABELOPS_IMAGE_EVALUATOR_STEPS", "150")  # an evaluator that tells the categories apart
    get_settings.cache_clear()
    root = DataRoot(str(data_root))
    snapshot = publish_demo_snapshot(root, 60, images=True)
    # 8 steps from noise alone: it draws noise (with the class-and-colour prior a fresh generator draws the
    # class-and-colour means, which is not a generator below class-mean images)
    gan = train_gan(GanTrainConfig(snapshot_id=snapshot, max_steps=8, prior="none", **GAN_TINY))
    evaluation = EvaluationSet.of_snapshot(root, snapshot)
    scores = EVALUATORS[IMAGE_MODEL](gan.version, evaluation)
    assert scores.n > 0 and {"conditional_accuracy", "kid", "kid_std", "tagger_accuracy"} <= set(scores.metrics)
    # registration and the gate measure a version with one function: the same numbers
    assert {k: gan.metrics[k] for k in scores.metrics} == scores.metrics
    assert gan.metrics["class_mean.conditional_accuracy"] > scores.metrics["conditional_accuracy"]
    assert list((data_root / "evaluation" / snapshot).iterdir())  # one evaluator per snapshot, kept for the next gate

    result = run_gate(IMAGE_MODEL, evaluation)
    assert not result.promoted and champion_version(IMAGE_MODEL) is None
    assert "vs class_mean" in result.summary and result.writer.system == "class_mean"

    # the tagger of a trained GAN, and the class means drawn for products without a photo
    photo = Image.open(next((data_root / "images").iterdir())).convert("RGB")
    now = datetime.now(timezone.utc)
    for labeller in (load_image_labeller(gan.version), ClassMeanLabeller(read_snapshot(root, snapshot).to_pylist(), root)):
        labels = [Label(label_id=f"l{i}", listing_id=f"p{i}", run_id="r", snapshot_id=snapshot, created_at=now,
                        description="A product with a long enough description.", tags=["clothing"],
                        text_category="Clothing", text_model_version="1", image_model_version="1",
                        has_findings=False) for i in range(3)]
        rows = [{}, {"category_path": ["Clothing", "T-Shirts"], "attributes": {"color": "red"}},
                {"category_path": ["Garden", "Hoses"]}]  # a kind the model was not trained on
        returned = label_images(labels, [photo, None, None], labeller, root, "r", rows)
        tagged, drawn, unknown = labels
        assert drawn.image_generated and drawn.image == "labels/r/images/l1.png"
        assert not unknown.image_generated and unknown.image is None  # no image of another kind of product
        assert list(returned) == [1] and returned[1].size == Image.open(data_root / drawn.image).size
        assert not tagged.image_generated
        if isinstance(labeller, ClassMeanLabeller):
            assert tagged.image_category is None  # the baseline has no tagger
        else:
            assert tagged.image_category in labeller.categories and 0 < tagged.image_category_confidence <= 1
            assert Image.open(data_root / drawn.image).size == (16, 16)
            assert tagged.categories_agree == (tagged.image_category.split(" > ")[0] == "Clothing")
            assert drawn.categories_agree is None

    # the better tagger on held-out photos tags them: the 8-step discriminator or the evaluator CNN
    gan_labeller = load_image_labeller(gan.version)
    choice = choose_tagger(snapshot, gan_labeller, gan_labeller.categories, gan_labeller.gan.image_size)
    assert set(choice.accuracies) == {"evaluator", "discriminator"}
    assert choice.accuracies[choice.name] == max(choice.accuracies.values())
    assert choice.accuracies["evaluator"] == scores.metrics["evaluator_accuracy"]  # the gate's evaluator, reused
    # the class means have no tagger of their own: the evaluator tags their photos
    baseline = choose_tagger(snapshot, None, gan_labeller.categories, gan_labeller.gan.image_size)
    assert baseline.name == "evaluator" and list(baseline.accuracies) == ["evaluator"]
    labels = [Label(label_id="l0", listing_id="p0", run_id="r", snapshot_id=snapshot, created_at=now,
                    description="A product with a long enough description.", tags=["clothing"],
                    text_category="Clothing", text_model_version="1", has_findings=False)]
    classes = ClassMeanLabeller(read_snapshot(root, snapshot).to_pylist(), root)
    label_images(labels, [photo], TaggedLabeller(classes, baseline.tagger), root, "r")
    assert labels[0].image_category in gan_labeller.categories and labels[0].categories_agree is not None
