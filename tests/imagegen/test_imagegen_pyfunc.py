"""The pyfunc model's logic without MLflow: generate, grid, tag, and clear errors."""

from __future__ import annotations

import io
import json
from types import SimpleNamespace

import pandas as pd
import pytest
import torch
from PIL import Image

from labelops.imagegen.model import Discriminator, Generator
from labelops.imagegen.pyfunc import ImageGanModel, TrainedGan, decode_image

CLASSES = ["Clothing", "Electronics", "Home & Kitchen"]


@pytest.fixture
def final_folder(tmp_path):
    torch.manual_seed(0)
    torch.save(Generator(3, 16, z_dim=8, width=4).state_dict(), tmp_path / "generator.pt")
    discriminator = Discriminator(3, 16, width=4)
    with torch.no_grad():  # a tagger that always says "Electronics"
        discriminator.classifier.weight.zero_()
        discriminator.classifier.bias.copy_(torch.tensor([0.0, 5.0, 0.0]))
    torch.save(discriminator.state_dict(), tmp_path / "discriminator.pt")
    (tmp_path / "meta.json").write_text(json.dumps({"classes": CLASSES, "image_size": 16, "z_dim": 8, "g_width": 4,
                                                    "d_width": 4}))
    return tmp_path


def test_generate_grid_and_tag(final_folder):
    gan = TrainedGan.load(final_folder)
    images = gan.generate(["Clothing", "home & kitchen"], seed=3)
    assert images.shape == (2, 3, 16, 16) and images.dtype == torch.uint8
    assert torch.equal(images, gan.generate(["Clothing", "Home & Kitchen"], seed=3))  # the seed repeats
    assert gan.grid(CLASSES, per_category=4).size == (4 * 18 + 2, 3 * 18 + 2)
    buffer = io.BytesIO()
    Image.new("RGB", (30, 50), (10, 200, 10)).save(buffer, format="PNG")
    ((category, confidence),) = gan.tag([buffer.getvalue()])
    assert category == "Electronics" and confidence > 0.9
    with pytest.raises(ValueError, match="unknown category"):
        gan.generate(["Toys"])


def test_predict_chooses_the_task_from_the_input(final_folder):
    model = ImageGanModel()
    model.load_context(SimpleNamespace(artifacts={"model": str(final_folder)}))
    generated = model.predict(None, pd.DataFrame({"category": ["Clothing", "Electronics"]}))
    assert list(generated.columns) == ["category", "image"] and decode_image(generated["image"][0]).size == (16, 16)
    grid = model.predict(None, pd.DataFrame({"category": CLASSES}), params={"task": "grid", "per_category": 2})
    assert len(grid) == 1 and decode_image(grid["image"][0]).size == (2 * 18 + 2, 3 * 18 + 2)
    tags = model.predict(None, pd.DataFrame({"image": list(generated["image"])}))
    assert list(tags.columns) == ["category", "confidence"] and list(tags["category"]) == ["Electronics"] * 2
    with pytest.raises(ValueError, match="needs a `category` column"):
        model.predict(None, pd.DataFrame({"title": ["x"]}), params={"task": "grid"})
