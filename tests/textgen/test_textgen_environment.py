"""The registered text generator loads and predicts in a fresh environment built from its own requirements."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from labelops.registry import TEXT_MODEL, configure_mlflow
from labelops.settings import get_settings
from labelops.storage import DataRoot
from labelops.textgen.train import TextTrainConfig, train_text
from tests.helpers.environment import fresh_environment, predict_in
from tests.helpers.listings import publish_demo_snapshot
from tests.textgen.test_textgen_training import TINY


@pytest.mark.slow  # trains a tiny model, then pip installs torch, transformers, mlflow … into a new venv (minutes)
def test_the_registered_model_predicts_in_a_venv_built_from_its_requirements(data_root, tmp_path):
    started = time.perf_counter()
    snapshot = publish_demo_snapshot(DataRoot(str(data_root)), 60)
    train_text(TextTrainConfig(snapshot_id=snapshot, max_steps=4, **TINY))
    configure_mlflow(get_settings())
    model_uri = f"models:/{TEXT_MODEL}@challenger"
    python, pip_seconds = fresh_environment(model_uri, tmp_path)
    result = predict_in(python, get_settings().tracking_uri, model_uri, (
        "from mlflow.models import Model\n"
        "from mlflow.artifacts import download_artifacts\n"
        f"folder = download_artifacts({model_uri!r})\n"
        "example = Model.load(folder).load_input_example(folder)\n"
        "out = model.predict(example, params={'max_new_tokens': 24})\n"
        "ragged = model.predict(pd.DataFrame([{'title': 'Oak chair', 'price': '99.00'},\n"
        "                                     {'title': 'Red T-Shirt', 'attributes': {'color': 'red'}}]),\n"
        "                       params={'max_new_tokens': 16})\n"
        "result = {'columns': list(out.columns), 'rows': len(example), 'descriptions': list(out['description']),\n"
        "          'tags': [list(t) for t in out['tags']], 'ragged': len(ragged)}\n"
    ), cwd=tmp_path)
    assert result["columns"] == ["description", "tags", "source"] and result["ragged"] == 2
    assert len(result["descriptions"]) == result["rows"] >= 1 and all(isinstance(d, str) for d in result["descriptions"])
    assert not result["labelops_from"].startswith(str(Path(__file__).resolve().parents[2]))  # the model's own copy
    print(f"pip install: {pip_seconds:.0f} s; whole test: {time.perf_counter() - started:.0f} s")
