"""DiffAugment: shapes kept, each policy changes images, gradients flow back to the generator."""

from __future__ import annotations

import pytest
import torch

from labelops.imagegen.diffaugment import cutout, diff_augment, translation


def test_policies_keep_shape_and_change_the_images():
    torch.manual_seed(0)
    x = torch.rand(8, 3, 16, 16) * 2 - 1
    for policy in ("color", "translation", "cutout", "color,translation,cutout"):
        out = diff_augment(x, policy)
        assert out.shape == x.shape
        assert not torch.equal(out, x), policy
    assert torch.equal(diff_augment(x, ""), x)
    with pytest.raises(ValueError, match="unknown"):
        diff_augment(x, "rotate")


def test_translation_shifts_whole_pixels_and_fills_with_zeros():
    x = torch.arange(1, 17, dtype=torch.float).view(1, 1, 4, 4).repeat(64, 1, 1, 1)
    torch.manual_seed(0)
    out = translation(x, ratio=0.25)  # at most one pixel
    for image in out:
        values = image[image != 0]
        assert set(values.tolist()) <= set(range(1, 17))  # pixels moved, not blended
        assert len(values) in (9, 12, 16)  # 0 or 1 row and/or column shifted out
    assert any(len(image[image != 0]) < 16 for image in out)


def test_cutout_zeroes_a_square():
    torch.manual_seed(0)
    out = cutout(torch.ones(32, 1, 8, 8), ratio=0.5)
    zeros = (out == 0).flatten(1).sum(1)
    assert (zeros > 0).all() and (zeros <= 16).all()


def test_gradients_reach_the_input():
    x = torch.rand(4, 3, 16, 16, requires_grad=True)
    diff_augment(x).sum().backward()
    assert x.grad is not None and x.grad.abs().sum() > 0
