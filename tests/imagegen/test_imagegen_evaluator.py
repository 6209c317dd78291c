"""The evaluator: learns real classes, and its metrics rank a good sampler above the baselines."""

from __future__ import annotations

import pytest
import torch

from labelops.imagegen.data import normalise
from labelops.imagegen.evaluation import HeldoutImages, score_images
from labelops.imagegen.evaluator import (Evaluator, class_mean_sampler, kid, kid_subset_size, noise_sampler,
                                         train_evaluator)

COLOURS = torch.tensor([[220, 30, 30], [30, 160, 40], [40, 60, 220]], dtype=torch.float)


def squares(labels: torch.Tensor, size: int = 16, seed: int = 0) -> torch.Tensor:
    """A square of the class's colour (jittered), of random size and place, on white."""
    generator = torch.Generator().manual_seed(seed)
    pixels = torch.full((len(labels), 3, size, size), 255.0)
    for i, label in enumerate(labels.tolist()):
        side = int(torch.randint(5, 10, (1,), generator=generator))
        top, left = (int(v) for v in torch.randint(0, size - side + 1, (2,), generator=generator))
        colour = (COLOURS[label] + torch.randn(3, generator=generator) * 15).clamp(0, 255)
        pixels[i, :, top:top + side, left:left + side] = colour[:, None, None]
    return pixels.to(torch.uint8)


@pytest.fixture(scope="module")
def trained() -> tuple[Evaluator, tuple, tuple]:
    train_labels = torch.arange(3).repeat(40)
    heldout_labels = torch.arange(3).repeat(12)
    train = (squares(train_labels, seed=1), train_labels)
    heldout = (squares(heldout_labels, seed=2), heldout_labels)
    evaluator = train_evaluator(*train, ["red", "green", "blue"], steps=80, batch_size=32, seed=0)
    return evaluator, train, heldout


def test_the_evaluator_learns_the_real_classes(trained, tmp_path):
    evaluator, _, heldout = trained
    assert evaluator.accuracy(normalise(heldout[0]), heldout[1]) >= 0.95
    evaluator.heldout_accuracy = 0.97
    evaluator.save(tmp_path / "evaluator")
    again = Evaluator.load(tmp_path / "evaluator")
    assert again.classes == ["red", "green", "blue"] and again.heldout_accuracy == 0.97
    assert torch.allclose(again.predict(normalise(heldout[0])), evaluator.predict(normalise(heldout[0])), atol=1e-6)


def test_kid_subset_size_fits_small_sets():
    assert kid_subset_size(36, 150) == 18  # half: subsets differ, so KID has a spread
    assert kid_subset_size(5000, 3000) == 1000
    torch.manual_seed(0)
    real, other_sample, shifted = torch.randn(60, 8), torch.randn(80, 8), torch.randn(80, 8) + 1.0
    same_distribution, _ = kid(real, other_sample)
    different, spread = kid(real, shifted)
    assert different > 1.0 and abs(same_distribution) < 0.1 * different
    assert spread > 0  # the gate allows a KID within its own spread: there must be one


def scores_of(trained, systems: dict, inception_weights=None) -> dict:
    """Each system asked for one image of every held-out image's class, scored as the gate scores it."""
    evaluator, train, heldout = trained
    held = HeldoutImages(evaluator, ["red", "green", "blue"], heldout[0], heldout[1], *train)
    return {name: score_images(name, sample(held.labels), held, inception_weights=inception_weights)
            for name, sample in systems.items()}


def test_a_good_sampler_ranks_between_the_ceiling_and_the_floors(trained):
    evaluator, train, heldout = trained

    def good(requested: torch.Tensor) -> torch.Tensor:  # fresh images of the requested class
        return normalise(squares(requested, seed=3))

    def wrong_class(requested: torch.Tensor) -> torch.Tensor:  # realistic, but of the next class
        return normalise(squares((requested + 1) % 3, seed=4))

    systems = {"real held-out": lambda requested: normalise(heldout[0]), "good": good, "wrong class": wrong_class,
               "class-mean images": class_mean_sampler(*train, 3), "uniform noise": noise_sampler(16)}
    scores = {name: s.metrics for name, s in scores_of(trained, systems).items()}
    assert scores["real held-out"]["conditional_accuracy"] >= 0.95
    assert scores["good"]["conditional_accuracy"] >= 0.9 and scores["wrong class"]["conditional_accuracy"] <= 0.1
    assert scores["good"]["kid"] < scores["class-mean images"]["kid"] < scores["uniform noise"]["kid"]
    assert scores["good"]["kid"] < 0.2 * scores["class-mean images"]["kid"]
    assert scores["uniform noise"]["conditional_accuracy"] < 0.7
    assert scores["good"]["n"] == 36 and "fid" not in scores["good"] and scores["good"]["kid_std"] > 0


def test_inception_fid_only_from_a_local_file(trained, tmp_path):
    from labelops.imagegen.evaluator import load_inception

    with pytest.raises(FileNotFoundError, match="nothing is downloaded"):
        load_inception(tmp_path / "absent.pt")

    class TinyInception(torch.nn.Module):  # stands in for a TorchScript Inception: uint8 299×299 → features
        def forward(self, x: torch.Tensor) -> torch.Tensor:
            x = x.float() / 255.0
            pooled = torch.nn.functional.adaptive_avg_pool2d(x, 4)
            return pooled.flatten(1)

    path = tmp_path / "inception.pt"
    torch.jit.script(TinyInception()).save(str(path))
    systems = {"good": lambda r: normalise(squares(r, seed=3)), "uniform noise": noise_sampler(16)}
    scores = scores_of(trained, systems, inception_weights=path)
    assert scores["good"].metrics["fid"] < scores["uniform noise"].metrics["fid"]
