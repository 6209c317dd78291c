"""The generation flow end to end: the gate decides, labels are written with the champion, the report exists."""

from __future__ import annotations

import pytest

from labelops.labels import labels_path
from labelops.labelling import NoChampionError
from labelops.promotion import champion_version
from labelops.registry import TEXT_MODEL
from labelops.report import report_path
from labelops.snapshot import read_snapshot
from labelops.storage import DataRoot
from labelops.textgen.train import TextTrainConfig, train_text
from tests.helpers.listings import publish_demo_snapshot
from tests.helpers.training import SMALL, gate_policy

@pytest.mark.timeout(1500)  # two trainings and three gate + label runs: about 3 minutes on 2 idle cores
def test_gate_refuses_then_promotes_then_keeps_the_champion_and_labels_every_product(
        prefect_backend, data_root, tmp_path, monkeypatch):
    from flows.generate import generate

    root = DataRoot(str(data_root))
    snapshot = publish_demo_snapshot(root, 60)
    good = train_text(TextTrainConfig(snapshot_id=snapshot, max_steps=150, **SMALL))

    # the first model must pass the floors: with an unreachable floor it is refused, nothing is labelled
    monkeypatch.setenv("LABELOPS_GATE_POLICY", gate_policy(tmp_path, 99.0))
    state = generate(snapshot_id=snapshot, return_state=True)
    assert state.is_failed() and "no champion" in str(state.message)
    assert champion_version(TEXT_MODEL) is None
    with pytest.raises(NoChampionError):
        state.result()

    # within the floors it becomes champion, and every listing gets a label
    monkeypatch.setenv("LABELOPS_GATE_POLICY", gate_policy(tmp_path, 1.0))
    run = generate(snapshot_id=snapshot)
    assert champion_version(TEXT_MODEL) == good.version
    labels = root.read_parquet(labels_path(run.run_id)).to_pylist()
    listings = read_snapshot(root, snapshot).num_rows
    assert run.counts.valid + run.counts.quarantined == listings and len(labels) == run.counts.valid  # nothing lost
    assert {row["text_model_version"] for row in labels} == {good.version}
    assert {row["snapshot_id"] for row in labels} == {snapshot} and {row["run_id"] for row in labels} == {run.run_id}
    assert root.exists(report_path(run.run_id))

    # a weaker challenger (1 step) is refused; labels are still written, by the unchanged champion
    weak = train_text(TextTrainConfig(snapshot_id=snapshot, max_steps=1, **SMALL))
    assert weak.version != good.version
    run = generate(snapshot_id=snapshot)
    assert champion_version(TEXT_MODEL) == good.version
    assert {row["text_model_version"] for row in root.read_parquet(labels_path(run.run_id)).to_pylist()} == {good.version}
    html = (data_root / report_path(run.run_id)).read_text()
    assert f"champion unchanged ({good.version})" in html and "improvement" in html


GAN_TINY = dict(image_size=16, z_dim=16, g_width=8, d_width=8, batch_size=16, log_every_steps=2, sample_every_steps=4,
                grid_columns=4)


def test_a_gan_version_is_measured_on_the_test_images_and_labels_photos_and_draws_missing_ones(data_root):
    from datetime import datetime, timezone

    from PIL import Image

    from labelops.evaluation import EVALUATORS, EvaluationSet
    from labelops.imagegen.train import GanTrainConfig, train_gan
    from labelops.labelling import load_image_labeller
    from labelops.labels import Label, label_images
    from labelops.registry import IMAGE_MODEL
    from labelops.textgen.metrics import HallucinationVocabulary

    root = DataRoot(str(data_root))
    snapshot = publish_demo_snapshot(root, 60, images=True)
    gan = train_gan(GanTrainConfig(snapshot_id=snapshot, max_steps=8, **GAN_TINY))
    metrics = EVALUATORS[IMAGE_MODEL](gan.version, EvaluationSet(snapshot, [], HallucinationVocabulary()))
    assert 0.0 <= metrics["conditional_accuracy"] <= 1.0 and 0.0 <= metrics["tagger_accuracy"] <= 1.0
    assert metrics["test_images"] > 0 and "kid" in metrics
    assert list((data_root / "evaluation" / snapshot).iterdir())  # one evaluator per snapshot, kept for the next gate

    labeller = load_image_labeller(gan.version)
    photo = Image.open(next((data_root / "images").iterdir())).convert("RGB")
    now = datetime.now(timezone.utc)
    labels = [Label(label_id=f"l{i}", listing_id=f"p{i}", run_id="r", snapshot_id=snapshot, created_at=now,
                    description="A product with a long enough description.", tags=["clothing"],
                    text_category="Clothing", text_model_version="1", image_model_version=gan.version,
                    hallucinated=False) for i in range(2)]
    label_images(labels, [photo, None], labeller, root, "r")
    tagged, drawn = labels
    assert tagged.image_category in labeller.categories and 0 < tagged.image_category_confidence <= 1
    assert not tagged.image_generated
    assert drawn.image_generated and drawn.image == "labels/r/images/l1.png"
    assert Image.open(data_root / drawn.image).size == (16, 16)
