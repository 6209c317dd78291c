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


def test_an_evaluator_capped_at_a_smaller_side_judges_larger_images_at_that_side():
    """LABELOPS_IMAGE_EVALUATOR_SIDE: 32 px photos, an evaluator reading at most 16 px: it trains
    on them averaged down, and judges full-size images as it judges their averaged-down copies."""
    import torch.nn.functional as F

    train_labels, heldout_labels = torch.arange(3).repeat(40), torch.arange(3).repeat(12)
    train, heldout = squares(train_labels, size=32, seed=1), normalise(squares(heldout_labels, size=32, seed=2))
    evaluator = train_evaluator(train, train_labels, ["red", "green", "blue"], steps=60, batch_size=32, seed=0,
                                max_side=16)
    assert evaluator.net.image_size == 16
    assert evaluator.accuracy(heldout, heldout_labels) >= 0.95
    small = F.interpolate(heldout, size=(16, 16), mode="area")
    assert torch.allclose(evaluator.predict(heldout), evaluator.predict(small), atol=1e-6)
    assert torch.allclose(evaluator.features(heldout), evaluator.features(small), atol=1e-6)


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


# ------------------------------------------------------------------------- colours
SHAPES = ["square", "bar"]  # the class is the shape; the colour is independent of it


def shapes(labels: torch.Tensor, colours: torch.Tensor, size: int = 16, seed: int = 0) -> torch.Tensor:
    """A square (class 0) or a wide bar (class 1) in one of COLOURS (jittered), at a random place, on white."""
    generator = torch.Generator().manual_seed(seed)
    pixels = torch.full((len(labels), 3, size, size), 255.0)
    for i, (label, colour) in enumerate(zip(labels.tolist(), colours.tolist())):
        h, w = (8, 8) if label == 0 else (3, 12)
        top = int(torch.randint(0, size - h + 1, (1,), generator=generator))
        left = int(torch.randint(0, size - w + 1, (1,), generator=generator))
        value = (COLOURS[colour] + torch.randn(3, generator=generator) * 15).clamp(0, 255)
        pixels[i, :, top:top + h, left:left + w] = value[:, None, None]
    return pixels.to(torch.uint8)


@pytest.fixture(scope="module")
def coloured() -> HeldoutImages:
    """Shapes in colours; a third of the training images' colours unknown (-1)."""
    train_labels, train_colours = torch.arange(2).repeat(60), torch.arange(3).repeat_interleave(2).repeat(20)
    known_colours = train_colours.clone()
    known_colours[::3] = -1
    held_labels, held_colours = torch.arange(2).repeat(18), torch.arange(3).repeat_interleave(2).repeat(6)
    train = shapes(train_labels, train_colours, seed=1)
    evaluator = train_evaluator(train, train_labels, SHAPES, steps=120, batch_size=32, seed=0,
                                colour_labels=known_colours, colours=["red", "green", "blue"])
    return HeldoutImages(evaluator, SHAPES, shapes(held_labels, held_colours, seed=2), held_labels, train, train_labels,
                         ["red", "green", "blue"], held_colours, known_colours)


def test_the_evaluator_reads_the_colour_beside_the_class_and_skips_unknown_colours(coloured, tmp_path):
    evaluator, held = coloured.evaluator, coloured
    assert evaluator.accuracy(normalise(held.real), held.labels) >= 0.9
    assert evaluator.colour_accuracy(normalise(held.real), held.colour_labels) >= 0.9
    evaluator.save(tmp_path / "e")
    again = Evaluator.load(tmp_path / "e")
    assert again.colours == ["red", "green", "blue"]
    assert torch.allclose(again.predict_colours(normalise(held.real)), evaluator.predict_colours(normalise(held.real)),
                          atol=1e-6)
    # no colour known at all: no colour head, and nothing to read
    blind = train_evaluator(held.train_pixels, held.train_labels, SHAPES, steps=2,
                            colour_labels=torch.full_like(held.train_labels, -1), colours=["red", "green", "blue"])
    assert blind.colours == [] and blind.net.colour_head is None
    assert blind.colour_accuracy(normalise(held.real), held.colour_labels) != blind.colour_accuracy(normalise(held.real), held.colour_labels)  # NaN


def test_colour_accuracy_tells_a_sampler_that_draws_the_colour_asked_from_one_that_ignores_it(coloured):
    held = coloured

    def asked(requested, colours):  # noqa: ANN001 - fresh shapes of the class, in the colour asked
        return normalise(shapes(requested, colours, seed=5))

    def ignores(requested, colours):  # noqa: ANN001 - the right shape, always red
        return normalise(shapes(requested, torch.zeros_like(requested), seed=6))

    good = score_images("good", asked(held.labels, held.colour_labels), held).metrics
    blind = score_images("blind", ignores(held.labels, held.colour_labels), held).metrics
    assert good["colour_accuracy"] >= 0.9 and blind["colour_accuracy"] <= 0.5
    assert good["colour_n"] == 36 and good["conditional_accuracy"] >= 0.9 and blind["conditional_accuracy"] >= 0.9
    assert good["colour_accuracy_low"] <= good["colour_accuracy"] <= good["colour_accuracy_high"]
    # the class-and-colour means know the colour; the class means do not
    from labelops.imagegen.evaluation import baseline_scores

    baselines = baseline_scores(held, ["class_mean", "class_colour_mean", "real"])
    assert baselines["class_colour_mean"].metrics["colour_accuracy"] > baselines["class_mean"].metrics["colour_accuracy"]
    assert baselines["real"].metrics["colour_accuracy"] >= 0.9
    assert good["kid"] < baselines["class_colour_mean"].metrics["kid"]


def test_class_colour_means_are_the_mean_image_of_the_class_in_the_colour_asked():
    pixels = torch.tensor([0, 10, 100, 200, 50], dtype=torch.uint8)[:, None, None, None].expand(5, 3, 2, 2).contiguous()
    labels, colours = torch.tensor([0, 0, 0, 1, 1]), torch.tensor([0, 0, 1, -1, 1])
    sample = class_mean_sampler(pixels, labels, 2, colours, 2)
    drawn = sample(torch.tensor([0, 0, 0, 1, 1]), torch.tensor([0, 1, -1, 0, 1]))
    expected = normalise(torch.tensor([5.0, 100.0, 110 / 3, 125.0, 50.0]))  # pair, pair, class, class (no pair), pair
    assert torch.allclose(drawn[:, 0, 0, 0], expected, atol=1e-5)
    assert torch.allclose(class_mean_sampler(pixels, labels, 2)(torch.tensor([1]))[0, 0, 0, 0], normalise(torch.tensor(125.0)))


# ------------------------------------------------------------------ precision and recall
def test_precision_and_recall_tell_realism_from_diversity():
    from labelops.imagegen.evaluator import precision_recall

    torch.manual_seed(0)
    centres = torch.tensor([[0.0, 0.0], [20.0, 0.0]])
    real = torch.cat([torch.randn(100, 2) + centres[0], torch.randn(100, 2) + centres[1]])
    same = torch.cat([torch.randn(100, 2) + centres[0], torch.randn(100, 2) + centres[1]])
    one_mode = torch.randn(200, 2) + centres[0]  # realistic, but half the modes: recall drops, not precision
    far = torch.randn(200, 2) + torch.tensor([0.0, 50.0])  # nothing like the real images
    precision, recall = precision_recall(real, same)
    assert precision >= 0.85 and recall >= 0.85
    precision, recall = precision_recall(real, one_mode)
    assert precision >= 0.85 and 0.35 <= recall <= 0.6
    assert precision_recall(real, far) == (0.0, 0.0)
    collapsed = torch.zeros(50, 2)  # one image drawn again and again: inside the real manifold, covers almost none
    precision, recall = precision_recall(real, collapsed)
    assert precision == 1.0 and recall < 0.05


def test_the_scores_carry_intervals_precision_and_recall(trained):
    evaluator, train, heldout = trained
    held = HeldoutImages(evaluator, ["red", "green", "blue"], heldout[0], heldout[1], *train)
    good = score_images("good", normalise(squares(held.labels, seed=3)), held).metrics
    noise = score_images("noise", noise_sampler(16)(held.labels), held).metrics
    assert good["conditional_accuracy_low"] <= good["conditional_accuracy"] <= good["conditional_accuracy_high"]
    assert good["conditional_accuracy_high"] - good["conditional_accuracy_low"] < 0.3
    assert good["precision"] > 0.5 and good["recall"] > 0.5 and noise["precision"] < 0.1
    assert "colour_accuracy" not in good  # no colours known: none measured


# ------------------------------------------------------------------------ sample grid
def test_the_sample_grid_has_a_labelled_row_per_class_with_the_colours_asked(coloured):
    import io

    from PIL import Image

    from labelops.imagegen.evaluation import sample_grid

    asked = []

    def generate(categories, colours):  # noqa: ANN001
        asked.extend(zip(categories, colours))
        ids = torch.tensor([SHAPES.index(c) for c in categories])
        return shapes(ids, torch.tensor([["red", "green", "blue"].index(c) for c in colours]), seed=7)

    png = sample_grid(generate, coloured, per_class=4, real_per_class=2)
    image = Image.open(io.BytesIO(png))
    assert image.format == "PNG" and image.height == 16 + 2 * (64 + 2) + 2  # a header, a row per class (16 px shown at 64)
    assert [c for c, _ in asked] == ["square"] * 4 + ["bar"] * 4
    assert {c for _, c in asked} == {"red", "green", "blue"}  # the colours of the class's real photos, in turn
    labels = torch.tensor(list(image.crop((0, 16, 150, image.height)).convert("L").getdata()))
    assert (labels < 128).sum() > 50  # the rows' names are written in the label column


def test_novelty_tells_copies_from_new_images():
    """Copies of training photos score ~0; unseen photos from the same distribution ~1 (the scale
    is the held-out photos' own distance to the training photos); NaN without photos."""
    from labelops.imagegen.evaluator import novelty

    torch.manual_seed(0)
    train, held = torch.randn(200, 8), torch.randn(100, 8)
    assert novelty(train, held, train[:50] + 1e-6) < 0.01
    assert 0.8 < novelty(train, held, torch.randn(100, 8)) < 1.25
    assert novelty(train, held, held) == pytest.approx(1.0)
    assert novelty(train[:0], held, held) != novelty(train[:0], held, held)  # NaN


def test_conditional_accuracy_is_exact_at_a_floor(trained):
    """7 of 10 right is 0.7 exactly, not float32's 0.69999999: a generator at the gate's 0.70 × real
    floor passes it (a float32 mean once refused one on rounding)."""
    evaluator, train, heldout = trained
    pixels, labels = heldout[0][:10], heldout[1][:10]
    held = HeldoutImages(evaluator, ["red", "green", "blue"], pixels, labels, *train)
    right = normalise(squares(held.labels, seed=3))
    assert evaluator.accuracy(right, held.labels) == 1.0  # the squares are what the evaluator knows
    wrong = normalise(squares((held.labels + 1) % 3, seed=3))
    images = torch.cat([right[:7], wrong[7:]])
    metrics = score_images("seven", images, held).metrics
    assert metrics["conditional_accuracy"] >= 0.70  # the gate's floor, 0.70 × the evaluator's 1.0


def test_scoring_several_systems_reads_the_real_photos_once(trained, monkeypatch):
    """The gate scores five systems on one held-out set: the real and training photos' features
    are computed once, and every system's figures are those of a fresh computation."""
    evaluator, train, heldout = trained
    held = HeldoutImages(evaluator, ["red", "green", "blue"], heldout[0], heldout[1], *train)
    fresh = HeldoutImages(evaluator, ["red", "green", "blue"], heldout[0], heldout[1], *train)
    images = normalise(squares(held.labels, seed=3))
    expected = score_images("good", images, fresh).metrics
    calls = []
    features = evaluator.features
    monkeypatch.setattr(evaluator, "features", lambda x, *a, **k: calls.append(len(x)) or features(x, *a, **k))
    first = score_images("good", images, held).metrics
    second = score_images("again", normalise(squares(held.labels, seed=4)), held).metrics
    assert len(calls) == 4  # real, train and the first system's images; then only the second's
    assert first["kid"] == expected["kid"] and first["novelty"] == expected["novelty"]
    assert second["kid"] != first["kid"]
