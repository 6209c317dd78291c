"""Training files are data, not code: a planted checkpoint, image set or retrieval index is never
unpickled; work folders for remote data roots are private; a cancelled training says so in MLflow."""

from __future__ import annotations

import json
import os
import stat
import subprocess
from pathlib import Path

import pytest
import torch

from labelops import catalog, training
from labelops.settings import Settings, get_settings
from labelops.storage import DataRoot
from tests.helpers.listings import demo_listings, publish_demo_snapshot


class Planted:
    """Runs code when unpickled: here it only leaves a file behind, as proof."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):  # noqa: ANN204
        return open, (str(self.marker), "w")


def test_a_planted_checkpoint_is_refused_not_run(tmp_path):
    marker = tmp_path / "ran"
    (tmp_path / "checkpoints").mkdir()
    torch.save({"global_step": 5, "payload": Planted(marker)}, tmp_path / "checkpoints" / "last.ckpt")
    with pytest.raises(RuntimeError, match="not a plain checkpoint"):
        training.resume_point(tmp_path)
    assert not marker.exists()
    torch.save({"global_step": 7, "state_dict": {"w": torch.zeros(2)}}, tmp_path / "checkpoints" / "last.ckpt")
    assert training.resume_point(tmp_path)[1] == 7


def test_an_image_set_loads_as_data_and_a_planted_one_is_refused(tmp_path):
    from labelops.imagegen.data import ImageSet

    image_set = ImageSet(pixels=torch.zeros((2, 3, 8, 8), dtype=torch.uint8), labels=torch.tensor([0, 1]),
                         listing_ids=["a", "b"], splits=["train", "test"], classes=["lamps", "mugs"], level=0,
                         skipped={"missing": 1})
    image_set.save(tmp_path / "images.pt")
    again = ImageSet.load(tmp_path / "images.pt")
    assert again.classes == ["lamps", "mugs"] and again.skipped == {"missing": 1} and again.pixels.shape == (2, 3, 8, 8)
    marker = tmp_path / "ran"
    torch.save({**image_set.__dict__, "classes": Planted(marker)}, tmp_path / "planted.pt")
    with pytest.raises(Exception):  # noqa: B017 - torch's UnpicklingError, whatever its module
        ImageSet.load(tmp_path / "planted.pt")
    assert not marker.exists()


def test_the_exemplar_index_is_stored_as_data_and_a_pickled_one_is_not_loaded(tmp_path):
    import pickle

    import numpy as np

    from labelops.textgen.retrieval import ExemplarIndex

    rows = [listing.model_dump() for listing in demo_listings(40)]
    index = ExemplarIndex().fit(rows)
    index.save(tmp_path)
    for path in tmp_path.iterdir():
        assert not path.read_bytes().startswith(b"\x80"), f"{path.name} is a pickle"
    with np.load(tmp_path / "exemplars.npz", allow_pickle=False) as arrays:
        assert arrays["matrix_indptr"].ndim == 1
    assert ExemplarIndex.load(tmp_path).exemplars(rows) == index.exemplars(rows)

    legacy = tmp_path / "legacy"
    legacy.mkdir()
    marker = tmp_path / "ran"
    (legacy / "exemplars.pkl").write_bytes(pickle.dumps(Planted(marker)))
    with pytest.raises(ValueError, match="retrain"):
        ExemplarIndex.load(legacy)
    assert not marker.exists()


def test_work_folders_for_a_remote_data_root_are_private(tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.delenv("XDG_CACHE_HOME", raising=False)
    settings = Settings(data="s3://bucket/labelops", mlflow_uri=f"sqlite:///{tmp_path / 'mlflow.db'}")
    work = catalog.training_dir("text", "abc123", settings)
    assert work.is_relative_to(tmp_path / "home" / ".cache")  # not a predictable path under the shared /tmp
    base = work.parents[2]
    assert base.is_dir() and stat.S_IMODE(base.stat().st_mode) == 0o700 and base.stat().st_uid == os.getuid()

    shared = tmp_path / "shared"
    shared.mkdir(mode=0o777)
    os.chmod(shared, 0o777)
    own = Settings(data="s3://bucket/labelops", mlflow_uri="sqlite:///x.db", work_dir=shared)
    catalog.training_dir("text", "abc123", own)
    assert stat.S_IMODE(shared.stat().st_mode) == 0o700  # our own folder: made private
    if os.getuid() == 0:  # someone else's folder: refused
        os.chown(shared, 65534, 65534)
        with pytest.raises(PermissionError, match="not yours"):
            catalog.training_dir("text", "abc123", own)


@pytest.fixture
def prepared(data_root):
    from labelops.textgen.train import TextTrainConfig, prepare

    snapshot = publish_demo_snapshot(DataRoot(str(data_root)), 40)
    config = TextTrainConfig(snapshot_id=snapshot, max_steps=2, vocab_size=300, n_embd=16, n_layer=1, n_head=1,
                             n_positions=384, batch_size=4, max_length=256, samples=1)
    work = prepare(config)
    return config, json.loads((work / "prepared.json").read_text())["run_id"]


def run_status(run_id: str) -> str:
    from mlflow import MlflowClient

    return MlflowClient().get_run(run_id).info.status


@pytest.mark.parametrize(("fault", "status"), [(KeyboardInterrupt(), "KILLED"),
                                               (subprocess.CalledProcessError(-9, "fit"), "FAILED")])
def test_a_cancelled_or_failed_training_ends_its_mlflow_run(prepared, monkeypatch, fault, status):
    from labelops.textgen.train import train_text

    config, run_id = prepared
    assert run_status(run_id) == "RUNNING"

    def broken(*args, **kwargs):  # noqa: ANN002, ANN003 - the fit subprocess is cancelled or dies
        raise fault

    monkeypatch.setattr(training.subprocess, "Popen", broken)
    with pytest.raises(type(fault)):
        train_text(config, get_settings())
    assert run_status(run_id) == status
