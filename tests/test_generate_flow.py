"""The generation flow end to end: the gate decides, labels are written with the champion, the report exists."""

from __future__ import annotations

import pytest

from labelops.labels import labels_path
from labelops.labelling import NoChampionError
from labelops.promotion import champion_version
from labelops.registry import TEXT_MODEL
from labelops.report import report_path
from labelops.storage import DataRoot
from labelops.textgen.train import TextTrainConfig, train_text
from tests.helpers.listings import publish_demo_snapshot

# small enough to train in about a minute on 2 CPU cores, big enough to write recognisable text (chrF ~17)
SMALL = dict(vocab_size=800, n_embd=64, n_layer=2, n_head=2, n_positions=384, batch_size=8, max_length=256,
             warmup_steps=2, val_every_steps=50, log_every_steps=5, samples=2, checkpoint_every_steps=1000)


def policy(tmp_path, chrf_floor: float) -> str:
    path = tmp_path / f"gate-{chrf_floor}.toml"
    path.write_text(f"""version = 1
[models.{TEXT_MODEL}]
primary = {{ metric = "chrf", higher_is_better = true, min_improvement = 0.5 }}
floors.chrf = {{ min = {chrf_floor} }}
floors.hallucination_rate = {{ max = 1.0 }}
guards.hallucination_rate = {{ higher_is_better = false, tolerance = 1.0 }}
[models.product-image-gan]
primary = {{ metric = "conditional_accuracy" }}
""")
    return str(path)


def test_gate_refuses_then_promotes_then_keeps_the_champion_and_labels_every_product(
        prefect_backend, data_root, tmp_path, monkeypatch):
    from flows.generate import generate

    root = DataRoot(str(data_root))
    snapshot = publish_demo_snapshot(root, 60)
    good = train_text(TextTrainConfig(snapshot_id=snapshot, max_steps=150, **SMALL))

    # the first model must pass the floors: with an unreachable floor it is refused, nothing is labelled
    monkeypatch.setenv("LABELOPS_GATE_POLICY", policy(tmp_path, 99.0))
    state = generate(snapshot_id=snapshot, return_state=True)
    assert state.is_failed() and "no champion" in str(state.message)
    assert champion_version(TEXT_MODEL) is None
    with pytest.raises(NoChampionError):
        state.result()

    # within the floors it becomes champion, and every listing gets a label
    monkeypatch.setenv("LABELOPS_GATE_POLICY", policy(tmp_path, 1.0))
    run = generate(snapshot_id=snapshot)
    assert champion_version(TEXT_MODEL) == good.version
    labels = root.read_parquet(labels_path(run.run_id)).to_pylist()
    assert run.counts.valid + run.counts.quarantined == 60 and len(labels) == run.counts.valid
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
