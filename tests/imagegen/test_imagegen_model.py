"""Generator and discriminator: shapes at 32/64/128, conditioning, EMA, and a few steps that learn."""

from __future__ import annotations

import lightning as L
import pytest
import torch

from labelops.imagegen.data import normalise
from labelops.imagegen.model import (ARCHITECTURES, Discriminator, GanModule, Generator, build_networks, colour_ids,
                                     ema_update, hinge_d_loss)


@pytest.mark.parametrize("arch", sorted(ARCHITECTURES))
@pytest.mark.parametrize("size", [32, 64, 128])
def test_shapes_at_every_size(arch, size):
    generator, discriminator = build_networks(arch, 3, size, z_dim=16, g_width=8, d_width=8)
    labels = torch.tensor([0, 1, 2, 1])
    images = generator(torch.randn(4, 16), labels)
    assert images.shape == (4, 3, size, size)
    assert images.min() >= -1 and images.max() <= 1
    scores, logits = discriminator(images, labels)
    assert scores.shape == (4,) and logits.shape == (4, 3)
    assert discriminator.classify(images).shape == (4, 3)
    # with colours: a colour id per image (-1 and None: any colour), colour logits, and (fastgan) a reconstruction loss
    generator, discriminator = build_networks(arch, 3, size, z_dim=16, g_width=8, d_width=8, num_colours=5)
    colours = torch.tensor([0, 4, -1, 2])
    images = generator(torch.randn(4, 16), labels, colours)
    assert images.shape == (4, 3, size, size) and generator(torch.randn(4, 16), labels).shape == images.shape
    scores, logits, colour_logits, recon = discriminator.judge(images, labels, colours, reconstruct=True)
    assert scores.shape == (4,) and logits.shape == (4, 3) and colour_logits.shape == (4, 5)
    assert (float(recon) > 0) == (arch == "fastgan") and float(discriminator.judge(images, labels, colours)[3]) == 0


def test_colour_ids_map_unknown_to_any():
    assert colour_ids(torch.tensor([0, 2, -1, 7]), 3, 4).tolist() == [0, 2, 3, 3]
    assert colour_ids(None, 3, 2).tolist() == [3, 3]


def test_unknown_architecture():
    with pytest.raises(ValueError, match="unknown GAN architecture"):
        build_networks("stylegan9", 2, 32, 16, 8, 8)


def test_the_asked_colour_shows_in_a_tiny_trained_model():
    """Two shapes in red or blue on white: after a short training the red images asked for are redder than
    the blue ones, for each class (the colour reaches the pixels, not only the plumbing)."""
    torch.manual_seed(0)
    pixels = torch.full((64, 3, 16, 16), 255, dtype=torch.uint8)
    labels, colours = torch.arange(64) % 2, (torch.arange(64) // 2) % 2  # colour 0: red, 1: blue
    for i in range(64):
        rgb = torch.tensor([220, 30, 30] if colours[i] == 0 else [30, 30, 220], dtype=torch.uint8)[:, None, None]
        if labels[i] == 0:
            pixels[i, :, 4:12, 4:12] = rgb  # a square
        else:
            pixels[i, :, 2:14, 6:10] = rgb  # a bar
    module = GanModule(2, image_size=16, z_dim=16, g_width=8, d_width=8, num_colours=2, lr_g=1e-3, lr_d=1e-3,
                       ema_start=10**9, augment="translation", colour_dropout=0.2)
    opt_g, opt_d = module.configure_optimizers()
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # ~3 CPU s of small convolutions: more threads only wait on each other
    try:
        for step in range(120):
            index = torch.randint(0, 64, (32,))
            module.adversarial_step(normalise(pixels[index]), labels[index], opt_g, opt_d,
                                    lambda loss: loss.backward(), colours[index])
            module.update_ema(step)
    finally:
        torch.set_num_threads(threads)
    generator = module.generator_ema.eval()
    for label in (0, 1):
        asked = torch.full((16,), label)
        z = torch.randn(16, 16, generator=torch.Generator().manual_seed(1))
        with torch.no_grad():
            red, blue = generator(z, asked, torch.zeros(16, dtype=torch.long)), generator(z, asked, torch.ones(16, dtype=torch.long))
        redness = lambda x: float((x[:, 0] - x[:, 2]).mean())  # noqa: E731 - red minus blue channel
        assert redness(red) > redness(blue) + 0.1, (label, redness(red), redness(blue))


def test_image_size_must_be_a_power_of_two():
    with pytest.raises(ValueError, match="power of two"):
        Generator(2, 48)


def test_the_class_conditions_both_networks():
    torch.manual_seed(0)
    generator, discriminator = Generator(4, 32, z_dim=16, width=8), Discriminator(4, 32, width=8)
    with torch.no_grad():  # give the class embeddings something to say (they start as identity / random)
        for norm in generator.norms:
            norm.gain.weight.normal_(1.0, 0.5)
            norm.bias.weight.normal_(0.0, 0.5)
    generator.eval()
    z = torch.randn(1, 16).repeat(4, 1)
    images = generator(z, torch.arange(4))
    assert all((images[0] - images[i]).abs().mean() > 1e-3 for i in range(1, 4))  # same noise, other class
    same = generator(z, torch.zeros(4, dtype=torch.long))
    assert torch.allclose(same[0], same[3])
    x = images[:1].repeat(4, 1, 1, 1)
    scores, logits = discriminator.eval()(x, torch.arange(4))
    assert scores.unique().numel() == 4  # the projection term depends on the class asked about
    assert torch.allclose(logits[0], logits[3])  # the classifier does not see the label


def test_spectral_norm_bounds_the_discriminator_layers():
    discriminator = Discriminator(2, 32, width=8)
    for _ in range(30):  # power iterations converge in training mode
        discriminator(torch.randn(8, 3, 32, 32), torch.zeros(8, dtype=torch.long))
    for conv in discriminator.convs:
        sigma = torch.linalg.matrix_norm(conv.weight.flatten(1), ord=2)
        assert sigma < 1.1


def test_ema_moves_towards_the_model():
    model, ema = Generator(2, 8, z_dim=4, width=4), Generator(2, 8, z_dim=4, width=4)
    before = (ema.to_rgb.weight - model.to_rgb.weight).abs().sum()
    ema_update(ema, model, decay=0.9)
    after = (ema.to_rgb.weight - model.to_rgb.weight).abs().sum()
    assert torch.isclose(after, before * 0.9, rtol=1e-4)
    ema_update(ema, model, decay=0.0)
    assert torch.equal(ema.to_rgb.weight, model.to_rgb.weight)


def test_a_few_steps_reduce_the_discriminator_loss_on_a_tiny_set():
    """Two classes of flat-coloured images: the discriminator quickly tells real from the untrained generator's."""
    L.seed_everything(0, verbose=False)
    pixels = torch.zeros(16, 3, 16, 16, dtype=torch.uint8)
    pixels[:8, 0] = 220  # class 0: red
    pixels[8:, 2] = 220  # class 1: blue
    labels = torch.tensor([0] * 8 + [1] * 8)
    module = GanModule(2, image_size=16, z_dim=16, g_width=8, d_width=8, lr_d=1e-3, lr_g=1e-4, augment="",
                       ema_start=0, log_every=1)
    loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(pixels, labels), batch_size=16, shuffle=True)

    def d_loss() -> float:
        torch.manual_seed(1)
        with torch.no_grad():
            fake = module.generator(torch.randn(16, 16), labels)
            real_scores, logits = module.discriminator((pixels.float() / 127.5 - 1), labels)
            fake_scores, _ = module.discriminator(fake, labels)
        return float(hinge_d_loss(real_scores, fake_scores))

    before = d_loss()
    trainer = L.Trainer(max_steps=2 * 15, accelerator="cpu", logger=False, enable_checkpointing=False,
                        enable_progress_bar=False, enable_model_summary=False)
    trainer.fit(module, loader)
    assert trainer.global_step == 30 and module.iteration == 15  # two optimizer steps per iteration
    assert d_loss() < before - 0.3, (before, d_loss())
    assert trainer.callback_metrics["train/d_real_accuracy"] == 1.0  # the classifier head learnt red vs blue
    assert not torch.equal(module.generator_ema.to_rgb.weight, module.generator.to_rgb.weight)  # EMA lags


@pytest.mark.parametrize("arch", sorted(ARCHITECTURES))
def test_a_fresh_generator_with_a_prior_draws_its_templates(arch):
    """The class-and-colour prior: before any training the generator draws the template of the class
    and colour asked (the last colour id, and an unknown colour, is "any colour": the class's mean);
    training then changes only what is added to it."""
    from labelops.imagegen.data import prior_templates

    torch.manual_seed(0)
    pixels = torch.randint(0, 256, (12, 3, 16, 16), dtype=torch.uint8)
    labels, colours = torch.arange(12) % 2, torch.tensor([0, 0, 0, 0, 1, 1, 1, 1, -1, -1, -1, -1])
    templates = prior_templates(pixels, labels, colours, 2, 2)
    assert templates.shape == (2, 3, 3, 16, 16)
    generator, _ = build_networks(arch, 2, 16, z_dim=8, g_width=4, d_width=4, num_colours=2, prior_size=16)
    generator.prior.fill(templates)
    generator.eval()
    asked, asked_colours = torch.tensor([0, 1, 1, 0]), torch.tensor([1, 0, -1, 9])
    drawn = generator(torch.randn(4, 8), asked, asked_colours)
    wanted = templates[asked, colour_ids(asked_colours, 2, 4)].clamp(-0.97, 0.97)
    assert torch.allclose(drawn, wanted, atol=1e-5)
    assert torch.allclose(drawn[2], normalise(pixels[labels == 1]).mean(0).clamp(-0.97, 0.97), atol=1e-5)
    with pytest.raises(ValueError, match="class × colour pairs"):
        generator.prior.fill(templates[:, :2])


def test_the_prior_travels_with_the_weights_and_the_ema():
    """The templates are a buffer: in the state dict (a model folder carries them), copied to the EMA,
    and a generator without a prior has none (older model folders load as they did)."""
    module = GanModule(2, image_size=8, z_dim=4, g_width=4, d_width=4, num_colours=1, prior_size=8)
    templates = torch.rand(2, 2, 3, 8, 8) * 2 - 1
    module.fill_prior(templates)
    assert torch.equal(module.generator_ema.prior.templates, templates)
    assert "prior.templates" in module.generator.state_dict()
    copy = Generator(2, 8, z_dim=4, width=4, num_colours=1, prior_size=8)
    copy.load_state_dict(module.generator.state_dict())
    assert torch.equal(copy.prior.templates, templates)
    assert Generator(2, 8, z_dim=4, width=4).prior is None
    assert not any("prior" in key for key in Generator(2, 8, z_dim=4, width=4).state_dict())
    smaller = Generator(2, 8, z_dim=4, width=4, num_colours=1, prior_size=4)  # templates kept smaller, drawn at 8 px
    smaller.prior.fill(templates)
    assert smaller.prior.templates.shape[-1] == 4 and smaller.eval()(torch.randn(2, 4), torch.tensor([0, 1])).shape[-1] == 8


def test_the_r1_penalty_flattens_the_discriminator_around_real_images():
    """With R1 (here every update, a large γ) the discriminator's score is far less steep at the real
    images than after the same updates without it; the penalty shows in the losses when due."""
    pixels = torch.zeros(16, 3, 16, 16, dtype=torch.uint8)
    pixels[:8, 0] = 220
    pixels[8:, 2] = 220
    pixels = pixels + torch.randint(0, 30, pixels.shape, dtype=torch.uint8, generator=torch.Generator().manual_seed(0))
    labels = torch.tensor([0] * 8 + [1] * 8)
    steepness, due = {}, {}
    for gamma in (0.0, 10.0):
        L.seed_everything(0, verbose=False)
        module = GanModule(2, image_size=16, z_dim=16, g_width=8, d_width=8, lr_d=2e-3, augment="", r1_gamma=gamma,
                           r1_every=1)
        opt_g, opt_d = module.configure_optimizers()
        for _ in range(25):
            metrics = module.adversarial_step(normalise(pixels), labels, opt_g, opt_d, lambda loss: loss.backward())
        due[gamma] = "d_r1" in metrics
        steepness[gamma] = float(module.r1_penalty(normalise(pixels), labels, None))
    assert due == {0.0: False, 10.0: True}
    assert steepness[10.0] < 0.5 * steepness[0.0], steepness


def test_r1_is_lazy_every_r1_every_updates():
    module = GanModule(2, image_size=16, z_dim=16, g_width=8, d_width=8, augment="", r1_gamma=1.0, r1_every=4)
    opt_g, opt_d = module.configure_optimizers()
    real, labels = torch.rand(4, 3, 16, 16) * 2 - 1, torch.tensor([0, 1, 0, 1])
    due = ["d_r1" in module.adversarial_step(real, labels, opt_g, opt_d, lambda loss: loss.backward())
           for _ in range(8)]
    assert due == [True, False, False, False, True, False, False, False]
