"""The training flow: it trains the models asked for, and only those, and registers them."""

from __future__ import annotations

import pytest

from labelops.registry import IMAGE_MODEL, TEXT_MODEL, configure_mlflow, version_by_alias
from labelops.settings import get_settings
from labelops.storage import DataRoot
from tests.helpers.listings import publish_demo_snapshot


def test_train_flow_registers_the_gan_alone(prefect_backend, data_root):
    from flows.train import train

    snapshot_id = publish_demo_snapshot(DataRoot(str(data_root)), 40, images=True)
    results = train(models=["gan"], gan_steps=4, image_size=16, gan_width=8)
    assert set(results) == {"gan"}
    assert results["gan"]["model_name"] == IMAGE_MODEL and results["gan"]["version"] == "1"
    configure_mlflow(get_settings())
    version = version_by_alias(IMAGE_MODEL, "challenger")
    assert version is not None and version.tags["snapshot_id"] == snapshot_id
    assert version_by_alias(TEXT_MODEL, "challenger") is None  # text was not asked for


def test_train_flow_rejects_unknown_models(prefect_backend, data_root):
    from flows.train import KNOWN_MODELS, train

    assert KNOWN_MODELS == ("text", "gan")
    with pytest.raises(ValueError, match="unknown model"):
        train(models=["gan", "video"])
