"""The pyfunc model's logic without MLflow: generate, grid, tag, and clear errors."""

from __future__ import annotations

import io
import json
from types import SimpleNamespace

import pandas as pd
import pytest
import torch
from PIL import Image

from labelops.imagegen.data import pil_to_uint8
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


@pytest.fixture
def colour_folder(tmp_path):
    tmp_path = tmp_path / "colour"
    tmp_path.mkdir()
    torch.manual_seed(0)
    generator = Generator(3, 16, z_dim=8, width=4, num_colours=2)
    with torch.no_grad():  # colours that say something (they start at zero: "no change")
        for norm in generator.norms:
            norm.colour_bias.weight.normal_(0.0, 1.0)
    torch.save(generator.state_dict(), tmp_path / "generator.pt")
    torch.save(Discriminator(3, 16, width=4, num_colours=2).state_dict(), tmp_path / "discriminator.pt")
    (tmp_path / "meta.json").write_text(json.dumps({"classes": CLASSES, "colours": ["blue", "red"], "arch": "dcgan",
                                                    "image_size": 16, "z_dim": 8, "g_width": 4, "d_width": 4}))
    return tmp_path


def test_a_colour_can_be_asked_for(colour_folder, final_folder):
    gan = TrainedGan.load(colour_folder)
    assert gan.colours == ["blue", "red"]
    asked = ["Clothing", "Clothing", "Clothing"]
    any_colour = gan.generate(asked, seed=1)
    assert torch.equal(gan.generate(asked, seed=1, colours=[None, "", "mauve"]), any_colour)  # unknown: any colour
    red, blue = gan.generate(asked, seed=1, colours=["Red", "red", "red"]), gan.generate(asked, seed=1, colours=["blue"] * 3)
    assert not torch.equal(red, any_colour) and not torch.equal(red, blue)
    with pytest.raises(ValueError, match="colours for"):
        gan.generate(asked, colours=["red"])
    model = ImageGanModel()
    model.load_context(SimpleNamespace(artifacts={"model": str(colour_folder)}))
    frame = model.predict(None, pd.DataFrame({"category": asked, "colour": ["red", None, "blue"]}), params={"seed": 1})
    images = [pil_to_uint8(decode_image(i).convert("RGB")) for i in frame["image"]]
    assert torch.equal(images[0], red[0]) and torch.equal(images[1], any_colour[1]) and torch.equal(images[2], blue[2])
    # a model trained before colours takes the colour column and ignores it
    old = TrainedGan.load(final_folder)
    assert old.colours == [] and torch.equal(old.generate(asked, seed=1, colours=["red"] * 3), old.generate(asked, seed=1))


def test_the_signature_takes_an_optional_colour():
    from labelops.imagegen.pyfunc import SIGNATURE

    assert SIGNATURE.inputs.input_names() == ["category", "colour", "image"]
    assert all(not spec.required for spec in SIGNATURE.inputs.inputs)


def test_a_model_folder_with_a_prior_draws_from_its_templates(tmp_path):
    """meta.json's prior_size rebuilds the prior, and the saved templates come back: a fresh prior
    generator loaded from its folder draws its class's template (here a flat colour per class)."""
    generator = Generator(3, 16, z_dim=8, width=4, prior_size=8)
    flat = torch.tensor([-0.5, 0.0, 0.5])[:, None, None, None, None].expand(3, 1, 3, 8, 8)
    generator.prior.fill(flat)
    torch.save(generator.state_dict(), tmp_path / "generator.pt")
    torch.save(Discriminator(3, 16, width=4).state_dict(), tmp_path / "discriminator.pt")
    (tmp_path / "meta.json").write_text(json.dumps({"classes": CLASSES, "arch": "dcgan", "image_size": 16, "z_dim": 8,
                                                    "g_width": 4, "d_width": 4, "prior_size": 8}))
    gan = TrainedGan.load(tmp_path)
    drawn = gan.generate(CLASSES, seed=3).float()
    assert drawn.shape == (3, 3, 16, 16)
    assert [round(float(x)) for x in drawn.mean(dim=(1, 2, 3))] == [64, 128, 191]  # (v + 1) × 127.5, rounded
