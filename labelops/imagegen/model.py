"""The conditional GAN: generator, discriminator (projection + auxiliary classifier), hinge loss, EMA,
and the LightningModule that trains them with manual optimisation.

- **Generator**: noise ``z`` → 4×4 → one upsampling block per doubling (nearest ×2, 3×3 conv,
  class-conditional batch norm, ReLU) → 3×3 conv → tanh. The class enters through every norm's
  gain and bias. 32, 64 or 128 px (any power of two ≥ 8).
- **Discriminator**: spectrally normalised 4×4 stride-2 convolutions down to 4×4, LeakyReLU,
  summed over space into a feature vector ``h``. Three heads on ``h``: the unconditional score
  ``ψ(h)``, the projection ``⟨embed(y), h⟩`` (Miyato & Koyama, 2018) added to it for the hinge
  loss, and an auxiliary classifier (AC-GAN) trained with cross-entropy on real images; its
  softmax is the image tagger's category and confidence.
- **Losses**: hinge (D: relu(1 − D(real)) + relu(1 + D(fake)); G: −D(fake)); plus ``ac_weight`` ×
  cross-entropy of the classifier on real images (D) and on generated ones (G). DiffAugment on
  both real and generated images before D.
- **EMA**: an exponential moving average of the generator's weights (buffers copied) that
  samples, is saved, and is registered.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable
from typing import Any

import lightning as L
import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils.parametrizations import spectral_norm

from labelops.imagegen.data import denormalise, grid_image, normalise
from labelops.imagegen.diffaugment import DEFAULT_POLICY, diff_augment


def _blocks(image_size: int) -> int:
    """Doublings from 4×4 to ``image_size``."""
    blocks = int(math.log2(image_size)) - 2
    if image_size < 8 or 4 * 2**blocks != image_size:
        raise ValueError(f"image_size must be a power of two ≥ 8, not {image_size}")
    return blocks


def _widths(image_size: int, width: int) -> list[int]:
    """Channels at 4×4, 8×8, … image_size: wide at low resolution, ``width`` at the top, at most 8×width."""
    blocks = _blocks(image_size)
    return [min(width * 2 ** (blocks - i), width * 8) for i in range(blocks + 1)]


class ConditionalBatchNorm2d(nn.Module):
    """Batch norm whose gain and bias are looked up by class."""

    def __init__(self, channels: int, num_classes: int):
        super().__init__()
        self.norm = nn.BatchNorm2d(channels, affine=False)
        self.gain = nn.Embedding(num_classes, channels)
        self.bias = nn.Embedding(num_classes, channels)
        nn.init.ones_(self.gain.weight)
        nn.init.zeros_(self.bias.weight)

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return self.norm(x) * self.gain(y)[:, :, None, None] + self.bias(y)[:, :, None, None]


class Generator(nn.Module):
    def __init__(self, num_classes: int, image_size: int = 64, z_dim: int = 128, width: int = 32):
        super().__init__()
        self.num_classes, self.image_size, self.z_dim = num_classes, image_size, z_dim
        widths = _widths(image_size, width)
        self.project = nn.Linear(z_dim, widths[0] * 16)
        self.convs = nn.ModuleList(nn.Conv2d(a, b, 3, padding=1) for a, b in zip(widths, widths[1:]))
        self.norms = nn.ModuleList(ConditionalBatchNorm2d(c, num_classes) for c in widths)
        self.to_rgb = nn.Conv2d(widths[-1], 3, 3, padding=1)

    def forward(self, z: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        x = self.project(z).view(z.shape[0], -1, 4, 4)
        for conv, norm in zip(self.convs, self.norms):
            x = F.relu(norm(x, y))
            x = conv(F.interpolate(x, scale_factor=2, mode="nearest"))
        return torch.tanh(self.to_rgb(F.relu(self.norms[-1](x, y))))

    def sample(self, labels: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        """Images in [-1, 1] for ``labels`` (noise from ``generator`` when given, for repeatable samples)."""
        device = next(self.parameters()).device
        z = torch.randn(len(labels), self.z_dim, generator=generator).to(device)
        return self(z, labels.to(device))


class Discriminator(nn.Module):
    def __init__(self, num_classes: int, image_size: int = 64, width: int = 32):
        super().__init__()
        self.num_classes, self.image_size = num_classes, image_size
        widths = list(reversed(_widths(image_size, width)))  # image_size → 4×4
        channels = [3, *widths[1:]] if len(widths) > 1 else [3, widths[0]]
        self.convs = nn.ModuleList(spectral_norm(nn.Conv2d(a, b, 4, stride=2, padding=1))
                                   for a, b in zip(channels, channels[1:]))
        self.features_dim = channels[-1]
        self.score = spectral_norm(nn.Linear(self.features_dim, 1))
        self.embed = spectral_norm(nn.Embedding(num_classes, self.features_dim))
        self.classifier = nn.Linear(self.features_dim, num_classes)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        for conv in self.convs:
            x = F.leaky_relu(conv(x), 0.2)
        return x.sum(dim=(2, 3))

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(adversarial score per image, class logits)."""
        h = self.features(x)
        score = self.score(h).squeeze(1) + (self.embed(y) * h).sum(dim=1)
        return score, self.classifier(h)

    def classify(self, x: torch.Tensor) -> torch.Tensor:
        """Class logits of images in [-1, 1] (the image tagger)."""
        return self.classifier(self.features(x))


def hinge_d_loss(real_scores: torch.Tensor, fake_scores: torch.Tensor) -> torch.Tensor:
    return F.relu(1.0 - real_scores).mean() + F.relu(1.0 + fake_scores).mean()


def hinge_g_loss(fake_scores: torch.Tensor) -> torch.Tensor:
    return -fake_scores.mean()


@torch.no_grad()
def ema_update(ema: nn.Module, model: nn.Module, decay: float) -> None:
    """ema ← decay·ema + (1 − decay)·model for parameters; buffers (batch-norm statistics) copied."""
    for average, current in zip(ema.parameters(), model.parameters()):
        average.lerp_(current.detach(), 1.0 - decay)
    for average, current in zip(ema.buffers(), model.buffers()):
        average.copy_(current)


class GanModule(L.LightningModule):
    """One training step: a discriminator update, then a generator update, then the EMA."""

    def __init__(self, num_classes: int, image_size: int = 64, z_dim: int = 128, g_width: int = 32,
                 d_width: int = 32, lr_g: float = 2e-4, lr_d: float = 2e-4, betas: tuple[float, float] = (0.0, 0.99),
                 ac_weight: float = 1.0, ema_decay: float = 0.999, ema_start: int = 100,
                 augment: str = DEFAULT_POLICY, log_every: int = 10, sample_every: int = 0, sample_columns: int = 8,
                 seed: int = 0):
        super().__init__()
        self.save_hyperparameters()
        self.automatic_optimization = False
        self.generator = Generator(num_classes, image_size, z_dim, g_width)
        self.discriminator = Discriminator(num_classes, image_size, d_width)
        self.generator_ema = copy.deepcopy(self.generator).requires_grad_(False)
        noise = torch.Generator().manual_seed(seed)
        # the same noise for every sample grid (a buffer: it is in the checkpoint and moves with the model)
        self.register_buffer("grid_z", torch.randn(num_classes * sample_columns, z_dim, generator=noise))
        self.sample_hook = None  # callable(iteration, PIL image), set by the training script on rank 0

    @property
    def iteration(self) -> int:
        """Completed GAN iterations (Lightning counts each optimizer step: two per iteration)."""
        return self.trainer.global_step // 2

    def adversarial_step(self, real: torch.Tensor, labels: torch.Tensor, opt_g: Any, opt_d: Any,
                         backward: Callable[[torch.Tensor], None]) -> dict[str, torch.Tensor]:
        """One discriminator update, then one generator update; returns the losses.

        ``backward`` is Lightning's ``manual_backward`` in training (precision, DDP), a plain
        ``loss.backward()`` elsewhere (the speed benchmark's plain loop).
        """
        hp = self.hparams
        z = torch.randn(real.shape[0], hp.z_dim, device=real.device)

        # discriminator: hinge on real vs generated, cross-entropy of the classifier on real images
        fake = self.generator(z, labels)
        real_scores, real_logits = self.discriminator(diff_augment(real, hp.augment), labels)
        fake_scores, _ = self.discriminator(diff_augment(fake.detach(), hp.augment), labels)
        d_adversarial = hinge_d_loss(real_scores, fake_scores)
        d_class = F.cross_entropy(real_logits, labels)
        opt_d.zero_grad(set_to_none=True)
        backward(d_adversarial + hp.ac_weight * d_class)
        opt_d.step()

        # generator: fool the discriminator, and make images the classifier puts in the requested class
        fake_scores, fake_logits = self.discriminator(diff_augment(fake, hp.augment), labels)
        g_adversarial = hinge_g_loss(fake_scores)
        g_class = F.cross_entropy(fake_logits, labels)
        opt_g.zero_grad(set_to_none=True)
        backward(g_adversarial + hp.ac_weight * g_class)
        opt_g.step()
        return {"d_loss": d_adversarial.detach(), "d_class_loss": d_class.detach(), "g_loss": g_adversarial.detach(),
                "g_class_loss": g_class.detach(),
                "d_real_accuracy": (real_logits.argmax(1) == labels).float().mean()}

    def update_ema(self, iteration: int) -> None:
        """The EMA follows the generator exactly until ``ema_start``, then with a decay that warms up."""
        hp = self.hparams
        decay = min(hp.ema_decay, (1 + iteration) / (10 + iteration)) if iteration >= hp.ema_start else 0.0
        ema_update(self.generator_ema, self.generator, decay)

    def training_step(self, batch: tuple[torch.Tensor, torch.Tensor], batch_idx: int) -> None:
        pixels, labels = batch
        real = normalise(pixels) if pixels.dtype == torch.uint8 else pixels
        opt_g, opt_d = self.optimizers()
        metrics = self.adversarial_step(real, labels, opt_g, opt_d, self.manual_backward)
        iteration = self.iteration
        self.update_ema(iteration)
        hp = self.hparams
        self.log_dict({f"train/{k}": v for k, v in metrics.items()}, logger=False)
        if self.trainer.is_global_zero and self.logger is not None and iteration % hp.log_every == 0:
            self.logger.log_metrics({f"train/{k}": float(v) for k, v in metrics.items()}, step=iteration)
        if self.trainer.is_global_zero and self.sample_hook and hp.sample_every and iteration % hp.sample_every == 0:
            self.sample_hook(iteration, self.sample_grid())

    @torch.no_grad()
    def sample_grid(self) -> Any:
        """A PIL grid from the EMA generator: one row per class, the same noise every time."""
        columns = self.hparams.sample_columns
        labels = torch.arange(self.hparams.num_classes, device=self.device).repeat_interleave(columns)
        was_training = self.generator_ema.training
        self.generator_ema.eval()
        images = self.generator_ema(self.grid_z.to(self.device), labels)
        self.generator_ema.train(was_training)
        return grid_image(denormalise(images), columns)

    def configure_optimizers(self) -> list[torch.optim.Optimizer]:
        hp = self.hparams
        betas = (float(hp.betas[0]), float(hp.betas[1]))
        return [torch.optim.Adam(self.generator.parameters(), lr=hp.lr_g, betas=betas),
                torch.optim.Adam(self.discriminator.parameters(), lr=hp.lr_d, betas=betas)]
