"""Training the GAN: it registers once and loads by alias in a new process, survives kill -9, runs DDP."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from labelops import catalog
from labelops.imagegen.train import GanTrainConfig, prepare, train_gan
from labelops.registry import IMAGE_MODEL, configure_mlflow
from labelops.settings import get_settings
from labelops.storage import DataRoot
from tests.helpers.listings import publish_demo_snapshot
from tests.helpers.training import kill_after_first_checkpoint, versions_of

TINY = dict(image_size=16, z_dim=16, g_width=8, d_width=8, batch_size=16, log_every_steps=2, sample_every_steps=4,
            grid_columns=4)


@pytest.fixture
def snapshot(data_root: Path) -> str:
    return publish_demo_snapshot(DataRoot(str(data_root)), 60, images=True)


def assert_logged_model_is_documented(client, version, snapshot: str, run_id: str) -> None:
    """Signature, input example (a category request with a seed), installable requirements, the
    snapshot as the run's dataset input, a description."""
    import mlflow
    from mlflow.models import Model

    folder = Path(mlflow.artifacts.download_artifacts(version.source))
    model = Model.load(folder / "MLmodel")
    assert model.signature.inputs.input_names() == ["category", "colour", "image"]
    assert {"seed", "task"} <= {p.name for p in model.signature.params.params}
    example = model.load_input_example(folder)
    assert list(example.columns) == ["category"] and len(example) >= 1
    assert model.load_input_example_params(folder) == {"seed": 0}
    requirements = (folder / "requirements.txt").read_text().split()
    assert any(r.startswith("lightning==") for r in requirements) and "torch==" + torch_version() in requirements
    (dataset,) = client.get_run(run_id).inputs.dataset_inputs
    assert dataset.dataset.digest == snapshot
    assert snapshot in version.description and "conditional_accuracy" in version.description
    assert "noise." not in version.description  # the GAN's own metrics, not the baselines'
    assert "GAN" in client.get_registered_model(IMAGE_MODEL).description


def torch_version() -> str:
    import torch

    return torch.__version__.split("+")[0]


def test_train_registers_a_challenger_that_samples_and_tags_in_a_new_process(data_root, snapshot):
    config = GanTrainConfig(snapshot_id=snapshot, max_steps=8, **TINY)
    result = train_gan(config)
    assert result.version == "1" and not result.already_registered
    assert {"conditional_accuracy", "evaluator_accuracy", "kid", "kid_std", "class_mean.kid", "noise.kid",
            "class_mean.conditional_accuracy", "noise.conditional_accuracy", "tagger_accuracy"} <= set(result.metrics)
    work = Path(result.work_dir)
    assert (work / "samples" / "step_000004.png").exists() and (work / "samples" / "final.png").exists()
    configure_mlflow(get_settings())
    from mlflow import MlflowClient

    client = MlflowClient()
    version = client.get_model_version_by_alias(IMAGE_MODEL, "challenger")
    assert str(version.version) == result.version
    assert version.tags["snapshot_id"] == snapshot and version.tags["git_commit"]
    assert version.tags["training_key"] == config.key() and "metric.conditional_accuracy" in version.tags
    run = client.get_run(result.run_id)
    assert "train/d_loss" in run.data.metrics and "test/kid" in run.data.metrics
    assert run.data.params["skipped_missing"] == "0" and run.data.params["arch"] == "dcgan"
    meta = json.loads((work / "final" / "meta.json").read_text())
    classes, colours = meta["classes"], meta["colours"]
    assert run.data.params["classes"] == str(len(classes)) and len(classes) >= 5  # sub-categories of the demo shop
    assert all(" > " in c for c in classes) and run.data.params["colours"] == str(len(colours)) and "red" in colours
    artifacts = {a.path for a in client.list_artifacts(result.run_id)}
    assert {"samples", "evaluation.json"} <= artifacts
    assert "samples/step_000004.png" in {a.path for a in client.list_artifacts(result.run_id, "samples")}
    assert_logged_model_is_documented(client, version, snapshot, result.run_id)
    # running it again registers nothing new
    assert train_gan(config).already_registered
    assert len(versions_of(IMAGE_MODEL, config.key())) == 1

    photo = next((data_root / "images").iterdir())
    script = (
        "import base64, io, json, mlflow, pandas as pd\n"
        "from PIL import Image\n"
        f"mlflow.set_tracking_uri({get_settings().tracking_uri!r})\n"
        "m = mlflow.pyfunc.load_model('models:/product-image-gan@challenger')\n"
        f"grid = m.predict(pd.DataFrame({{'category': {classes[:2]!r}}}),"
        " params={'task': 'grid', 'per_category': 3})\n"
        "image = Image.open(io.BytesIO(base64.b64decode(grid['image'][0])))\n"
        f"one = m.predict(pd.DataFrame({{'category': [{classes[-1]!r}], 'colour': ['red']}}), params={{'seed': 1}})\n"
        f"tags = m.predict(pd.DataFrame({{'image': [{str(photo)!r}]}}))\n"
        "print(json.dumps({'grid': list(image.size), 'one': list(one.columns), 'n': len(one),\n"
        "                  'tag': tags.to_dict('records')}))\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300,
                          env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])})
    assert done.returncode == 0, done.stderr[-3000:]
    output = json.loads(done.stdout.strip().splitlines()[-1])
    assert output["grid"] == [3 * 18 + 2, 2 * 18 + 2]  # 3 columns, 2 rows (one per category) of 16 px + padding
    assert output["one"] == ["category", "image"] and output["n"] == 1
    (tag,) = output["tag"]
    assert tag["category"] in classes
    assert 0.25 <= tag["confidence"] <= 1.0


def test_kill_minus_nine_then_same_command_resumes_into_the_same_run(data_root, snapshot):
    config = GanTrainConfig(snapshot_id=snapshot, max_steps=100, checkpoint_every_steps=5,
                            **{**TINY, "sample_every_steps": 50, "log_every_steps": 5})
    work = prepare(config)
    run_id = json.loads((work / "prepared.json").read_text())["run_id"]
    last = kill_after_first_checkpoint("labelops.imagegen.train", work)
    assert last.exists() and not (work / "trained.json").exists()

    result = train_gan(config)  # the same command again
    trained = json.loads((work / "trained.json").read_text())
    assert 5 <= trained["resumed_from_step"] < 100
    assert trained["global_step"] == 100
    assert result.run_id == run_id
    assert len(versions_of(IMAGE_MODEL, config.key())) == 1
    from mlflow import MlflowClient

    losses = MlflowClient().get_metric_history(run_id, "train/d_loss")
    assert max(m.step for m in losses) >= 95  # the resumed process logged into the same run


def test_ddp_with_two_cpu_processes_registers_one_version(data_root, snapshot):
    config = GanTrainConfig(snapshot_id=snapshot, max_steps=6, devices=2, accelerator="cpu", **TINY)
    result = train_gan(config)
    trained = json.loads((catalog.training_dir("gan", config.key(), get_settings()) / "trained.json").read_text())
    assert trained["world_size"] == 2 and trained["global_step"] == 6
    # what it ran on and its peak memory (the process's resident peak on a CPU), for benchmarks/gan_quality.py
    assert trained["device"] == "cpu" and trained["precision"] == "32-true"
    assert 50 < trained["metrics"]["train/peak_memory_mib"] < 8192
    assert len(versions_of(IMAGE_MODEL, config.key())) == 1
    from mlflow import MlflowClient

    client = MlflowClient()
    assert client.get_run(result.run_id).data.params["devices"] == "2"
    runs = client.search_runs([client.get_experiment_by_name(IMAGE_MODEL).experiment_id])
    assert [r.info.run_id for r in runs] == [result.run_id]  # rank 1 opened no run of its own


def test_the_architecture_is_a_recorded_option(data_root, snapshot):
    from mlflow import MlflowClient

    from labelops.imagegen.model import FastDiscriminator, FastGenerator
    from labelops.imagegen.train import build_module

    config = GanTrainConfig(snapshot_id=snapshot, max_steps=2, arch="fastgan", **TINY)
    assert config.key() != GanTrainConfig(snapshot_id=snapshot, max_steps=2, **TINY).key()
    work = prepare(config)
    run = MlflowClient().get_run(json.loads((work / "prepared.json").read_text())["run_id"])
    assert run.data.params["arch"] == "fastgan" and run.data.params["recon_weight"] == "1.0"
    assert int(run.data.params["colours"]) >= 2  # the demo's colours, counted
    module = build_module(config, 8, 5)
    assert isinstance(module.generator, FastGenerator) and isinstance(module.discriminator, FastDiscriminator)
    assert module.hparams.arch == "fastgan" and module.hparams.num_colours == 5


def test_r1_leaves_the_training_key_of_configs_without_it():
    """r1_gamma joined the config later: a config without R1 (the default) keeps the key (work folder,
    versions) it had; one with R1 is a different training, with a key of its own."""
    import hashlib

    plain = GanTrainConfig(snapshot_id="s")
    before = plain.model_dump_json(exclude={"num_nodes", "r1_gamma", "r1_every"})
    assert plain.key() == hashlib.sha256(before.encode()).hexdigest()[:12]
    assert GanTrainConfig(snapshot_id="s", r1_gamma=1.0).key() != plain.key()
    assert GanTrainConfig(snapshot_id="s", r1_gamma=1.0, r1_every=4).key() != GanTrainConfig(snapshot_id="s", r1_gamma=1.0).key()
