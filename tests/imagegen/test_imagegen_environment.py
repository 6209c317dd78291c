"""The registered GAN loads and predicts in a fresh environment built from its own requirements."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from labelops.imagegen.train import GanTrainConfig, train_gan
from labelops.registry import IMAGE_MODEL, configure_mlflow
from labelops.settings import get_settings
from labelops.storage import DataRoot
from tests.helpers.environment import fresh_environment, predict_in
from tests.helpers.listings import publish_demo_snapshot
from tests.imagegen.test_imagegen_training import TINY


@pytest.mark.slow  # trains a tiny GAN, then pip installs torch, lightning, mlflow … into a new venv (minutes)
def test_the_registered_gan_generates_and_tags_in_a_venv_built_from_its_requirements(data_root, tmp_path):
    started = time.perf_counter()
    snapshot = publish_demo_snapshot(DataRoot(str(data_root)), 60, images=True)
    train_gan(GanTrainConfig(snapshot_id=snapshot, max_steps=4, **TINY))
    configure_mlflow(get_settings())
    model_uri = f"models:/{IMAGE_MODEL}@challenger"
    python, pip_seconds = fresh_environment(model_uri, tmp_path)
    result = predict_in(python, get_settings().tracking_uri, model_uri, (
        "from mlflow.models import Model\n"
        "from mlflow.artifacts import download_artifacts\n"
        f"folder = download_artifacts({model_uri!r})\n"
        "meta = Model.load(folder)\n"
        "example, params = meta.load_input_example(folder), meta.load_input_example_params(folder)\n"
        "images = model.predict(example, params=params)\n"
        "tags = model.predict(pd.DataFrame({'image': list(images['image'])}))\n"
        "result = {'categories': list(example['category']), 'generated': list(images['category']),\n"
        "          'tags': list(tags['category'])}\n"
    ), cwd=tmp_path)
    assert result["generated"] == result["categories"] and len(result["tags"]) == len(result["categories"]) >= 1
    assert not result["labelops_from"].startswith(str(Path(__file__).resolve().parents[2]))  # the model's own copy
    print(f"pip install: {pip_seconds:.0f} s; whole test: {time.perf_counter() - started:.0f} s")
