"""The conditional GAN: generator, discriminator (projection + auxiliary classifier), hinge loss, EMA,
and the LightningModule that trains them with manual optimisation.

- **Conditioning**: a class id and, optionally, a colour id. Colour ids run 0 … ``num_colours``,
  the last one meaning "any colour" (:func:`colour_ids` maps an unknown colour, -1, to it); in
  training a share ``colour_dropout`` of the requests is asked as "any colour", so that id learns
  the class's images of every colour. A model built with ``num_colours=0`` has no colour input.
- **Generator**: noise ``z`` → 4×4 → one upsampling block per doubling (nearest ×2, 3×3 conv,
  class-conditional batch norm, ReLU) → 3×3 conv → tanh. The class (and the colour) enter through
  every norm's gain and bias. 32, 64 or 128 px (any power of two ≥ 8).
- **Prior** (optional, :class:`ClassColourPrior`): the generator's RGB logits are added to those of
  a template, the mean training photo of the requested class in the requested colour, so a fresh
  generator draws the class-and-colour mean and training teaches it what the mean lacks. Learning
  a product's shape from noise takes far more iterations than the demo's CPU budget; starting from
  the mean it takes a few hundred (measured in ``benchmarks/gan_recipes.py``).
- **Discriminator**: spectrally normalised 4×4 stride-2 convolutions down to 4×4, LeakyReLU,
  summed over space into a feature vector ``h``. Three heads on ``h``: the unconditional score
  ``ψ(h)``, the projections ``⟨embed(y), h⟩ + ⟨embed_colour(c), h⟩`` (Miyato & Koyama, 2018)
  added to it for the hinge loss, and auxiliary classifiers (AC-GAN) of the class and the colour,
  trained with cross-entropy on real images; the class classifier's softmax is the image
  tagger's category and confidence.
- **Losses**: hinge (D: relu(1 − D(real)) + relu(1 + D(fake)); G: −D(fake)); plus ``ac_weight`` ×
  cross-entropy of the classifiers on real images (D) and on generated ones (G; the colour only
  where one was asked for). DiffAugment on both real and generated images before D.
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


def colour_ids(colour_labels: torch.Tensor | None, num_colours: int, n: int, device: Any = None) -> torch.Tensor:
    """Colour ids for the networks: a label in 0 … num_colours − 1 stays, -1 (none, rare) and a
    missing tensor become ``num_colours``, "any colour"."""
    if colour_labels is None:
        return torch.full((n,), num_colours, dtype=torch.long, device=device)
    colour_labels = colour_labels.to(device=device, dtype=torch.long)
    return torch.where((colour_labels >= 0) & (colour_labels < num_colours), colour_labels,
                       torch.full_like(colour_labels, num_colours))


class ConditionalBatchNorm2d(nn.Module):
    """Batch norm whose gain and bias are looked up by class, plus (with colours) by colour."""

    def __init__(self, channels: int, num_classes: int, num_colours: int = 0):
        super().__init__()
        self.norm = nn.BatchNorm2d(channels, affine=False)
        self.gain = nn.Embedding(num_classes, channels)
        self.bias = nn.Embedding(num_classes, channels)
        nn.init.ones_(self.gain.weight)
        nn.init.zeros_(self.bias.weight)
        self.num_colours = num_colours
        if num_colours:
            self.colour_gain = nn.Embedding(num_colours + 1, channels)  # + "any colour"
            self.colour_bias = nn.Embedding(num_colours + 1, channels)
            nn.init.zeros_(self.colour_gain.weight)
            nn.init.zeros_(self.colour_bias.weight)

    def forward(self, x: torch.Tensor, y: torch.Tensor, c: torch.Tensor | None = None) -> torch.Tensor:
        gain, bias = self.gain(y), self.bias(y)
        if self.num_colours:
            c = colour_ids(c, self.num_colours, len(y), y.device)
            gain, bias = gain + self.colour_gain(c), bias + self.colour_bias(c)
        return self.norm(x) * gain[:, :, None, None] + bias[:, :, None, None]


class ClassColourPrior(nn.Module):
    """The generator's prior: for each class × colour (the last colour id: any colour) a template
    image, the mean training photo of that class in that colour (:func:`labelops.imagegen.data.
    class_colour_means`). The generator adds its output to the template's logit (``atanh``), so
    it starts from the class-and-colour mean and learns what the mean lacks: sharp edges, each
    product's own position and size, variety. A buffer: saved, loaded, copied to the EMA and
    broadcast by DDP with the weights; filled once by :meth:`fill` before training."""

    def __init__(self, num_classes: int, num_colours: int, size: int):
        super().__init__()
        self.num_colours = num_colours
        self.register_buffer("templates", torch.zeros(num_classes, num_colours + 1, 3, size, size))

    @torch.no_grad()
    def fill(self, templates: torch.Tensor) -> None:
        """``templates``: K×(C+1)×3×S×S in [-1, 1], resized here to the prior's side."""
        if templates.shape[:2] != self.templates.shape[:2]:
            raise ValueError(f"templates for {tuple(templates.shape[:2])} class × colour pairs; the prior has "
                             f"{tuple(self.templates.shape[:2])}")
        size = self.templates.shape[-1]
        flat = templates.flatten(0, 1).float()
        if flat.shape[-1] != size:
            flat = F.interpolate(flat, size=size, mode="area" if flat.shape[-1] > size else "bilinear")
        self.templates.copy_(flat.view_as(self.templates))

    def forward(self, y: torch.Tensor, c: torch.Tensor | None, image_size: int) -> torch.Tensor:
        """The templates' logits (the generator's pre-tanh scale) for the requests, at ``image_size``."""
        t = self.templates[y, colour_ids(c, self.num_colours, len(y), y.device)]
        if t.shape[-1] != image_size:
            t = F.interpolate(t, size=image_size, mode="bilinear", align_corners=False)
        return torch.atanh(t.clamp(-0.97, 0.97))


def attach_prior(generator: nn.Module, prior_size: int) -> None:
    """Give ``generator`` a :class:`ClassColourPrior` of side ``prior_size`` (0: none), its last
    convolution zeroed so that a fresh generator draws the templates exactly."""
    generator.prior = None
    if prior_size:
        generator.prior = ClassColourPrior(generator.num_classes, generator.num_colours, prior_size)
        nn.init.zeros_(generator.to_rgb.weight)
        nn.init.zeros_(generator.to_rgb.bias)


def to_image(generator: nn.Module, rgb: torch.Tensor, y: torch.Tensor, c: torch.Tensor | None) -> torch.Tensor:
    """The generator's last step: tanh of its RGB logits, plus the prior's where it has one."""
    if generator.prior is not None:
        rgb = rgb + generator.prior(y, c, generator.image_size)
    return torch.tanh(rgb)


class Generator(nn.Module):
    arch = "dcgan"

    def __init__(self, num_classes: int, image_size: int = 64, z_dim: int = 128, width: int = 32, num_colours: int = 0,
                 prior_size: int = 0):
        super().__init__()
        self.num_classes, self.image_size, self.z_dim, self.num_colours = num_classes, image_size, z_dim, num_colours
        widths = _widths(image_size, width)
        self.project = nn.Linear(z_dim, widths[0] * 16)
        self.convs = nn.ModuleList(nn.Conv2d(a, b, 3, padding=1) for a, b in zip(widths, widths[1:]))
        self.norms = nn.ModuleList(ConditionalBatchNorm2d(c, num_classes, num_colours) for c in widths)
        self.to_rgb = nn.Conv2d(widths[-1], 3, 3, padding=1)
        attach_prior(self, prior_size)

    def forward(self, z: torch.Tensor, y: torch.Tensor, c: torch.Tensor | None = None) -> torch.Tensor:
        x = self.project(z).view(z.shape[0], -1, 4, 4)
        for conv, norm in zip(self.convs, self.norms):
            x = F.relu(norm(x, y, c))
            x = conv(F.interpolate(x, scale_factor=2, mode="nearest"))
        return to_image(self, self.to_rgb(F.relu(self.norms[-1](x, y, c))), y, c)

    def sample(self, labels: torch.Tensor, generator: torch.Generator | None = None,
               colours: torch.Tensor | None = None) -> torch.Tensor:
        """Images in [-1, 1] for ``labels`` (and colour ids; None: any colour), noise from
        ``generator`` when given, for repeatable samples."""
        device = next(self.parameters()).device
        z = torch.randn(len(labels), self.z_dim, generator=generator).to(device)
        return self(z, labels.to(device), None if colours is None else colours.to(device))


class ProjectionHeads(nn.Module):
    """The discriminator's heads on its feature vector ``h`` (a base class: the parameters live on the
    discriminator itself, as they did before colours): the score ψ(h) plus the class (and colour)
    projections, and the auxiliary class (and colour) classifiers."""

    num_colours: int

    def init_heads(self, features_dim: int, num_classes: int, num_colours: int = 0) -> None:
        self.features_dim = features_dim
        self.score = spectral_norm(nn.Linear(features_dim, 1))
        self.embed = spectral_norm(nn.Embedding(num_classes, features_dim))
        self.classifier = nn.Linear(features_dim, num_classes)
        if num_colours:
            self.embed_colour = spectral_norm(nn.Embedding(num_colours + 1, features_dim))
            self.colour_classifier = nn.Linear(features_dim, num_colours)

    def heads(self, h: torch.Tensor, y: torch.Tensor, c: torch.Tensor | None = None
              ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None]:
        score = self.score(h).squeeze(1) + (self.embed(y) * h).sum(dim=1)
        colour_logits = None
        if self.num_colours:
            c = colour_ids(c, self.num_colours, len(y), y.device)
            score = score + (self.embed_colour(c) * h).sum(dim=1)
            colour_logits = self.colour_classifier(h)
        return score, self.classifier(h), colour_logits

    def features(self, x: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def judge(self, x: torch.Tensor, y: torch.Tensor, c: torch.Tensor | None = None, reconstruct: bool = False
              ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None, torch.Tensor]:
        """(score, class logits, colour logits or None, the self-supervised loss when ``reconstruct``
        and the architecture has one, else 0)."""
        return (*self.heads(self.features(x), y, c), x.new_zeros(()))

    def forward(self, x: torch.Tensor, y: torch.Tensor, c: torch.Tensor | None = None
                ) -> tuple[torch.Tensor, torch.Tensor]:
        """(adversarial score per image, class logits)."""
        score, logits, _, _ = self.judge(x, y, c)
        return score, logits

    def classify(self, x: torch.Tensor) -> torch.Tensor:
        """Class logits of images in [-1, 1] (the image tagger)."""
        return self.classifier(self.features(x))


class Discriminator(ProjectionHeads):
    arch = "dcgan"

    def __init__(self, num_classes: int, image_size: int = 64, width: int = 32, num_colours: int = 0):
        super().__init__()
        self.num_classes, self.image_size, self.num_colours = num_classes, image_size, num_colours
        widths = list(reversed(_widths(image_size, width)))  # image_size → 4×4
        channels = [3, *widths[1:]] if len(widths) > 1 else [3, widths[0]]
        self.convs = nn.ModuleList(spectral_norm(nn.Conv2d(a, b, 4, stride=2, padding=1))
                                   for a, b in zip(channels, channels[1:]))
        self.init_heads(channels[-1], num_classes, num_colours)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        for conv in self.convs:
            x = F.leaky_relu(conv(x), 0.2)
        return x.sum(dim=(2, 3))


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


# ------------------------------------------------------------------------ FastGAN-style networks
class SkipExcitation(nn.Module):
    """Skip-layer excitation (Liu et al., 2021): a low-resolution feature map gates the channels of
    a high-resolution one (pool to 4×4, 4×4 conv to 1×1, LeakyReLU, 1×1 conv, sigmoid)."""

    def __init__(self, low: int, high: int):
        super().__init__()
        self.gate = nn.Sequential(nn.AdaptiveAvgPool2d(4), nn.Conv2d(low, high, 4), nn.LeakyReLU(0.1),
                                  nn.Conv2d(high, high, 1), nn.Sigmoid())

    def forward(self, low: torch.Tensor, high: torch.Tensor) -> torch.Tensor:
        return high * self.gate(low)


class GluUp(nn.Module):
    """Nearest ×2, then ``convs`` × (3×3 conv to twice the channels, conditional batch norm, GLU)."""

    def __init__(self, channels_in: int, channels_out: int, num_classes: int, num_colours: int, convs: int = 1):
        super().__init__()
        self.convs = nn.ModuleList(nn.Conv2d(channels_in if i == 0 else channels_out, 2 * channels_out, 3, padding=1)
                                   for i in range(convs))
        self.norms = nn.ModuleList(ConditionalBatchNorm2d(2 * channels_out, num_classes, num_colours)
                                   for _ in range(convs))

    def forward(self, x: torch.Tensor, y: torch.Tensor, c: torch.Tensor | None) -> torch.Tensor:
        x = F.interpolate(x, scale_factor=2, mode="nearest")
        for conv, norm in zip(self.convs, self.norms):
            x = F.glu(norm(conv(x), y, c), dim=1)
        return x


class FastGenerator(nn.Module):
    """FastGAN's generator made class- and colour-conditional: noise → 4×4 → GLU upsampling blocks
    (two convolutions up to 16×16, one above) → 3×3 conv → tanh; every block at 32 px and above is
    gated by skip-layer excitation from the block eight times smaller."""

    arch = "fastgan"

    def __init__(self, num_classes: int, image_size: int = 64, z_dim: int = 128, width: int = 32, num_colours: int = 0,
                 prior_size: int = 0):
        super().__init__()
        self.num_classes, self.image_size, self.z_dim, self.num_colours = num_classes, image_size, z_dim, num_colours
        widths = _widths(image_size, width)
        self.widths = widths
        self.project = nn.Linear(z_dim, 2 * widths[0] * 16)
        self.project_norm = ConditionalBatchNorm2d(2 * widths[0], num_classes, num_colours)
        self.ups = nn.ModuleList(GluUp(a, b, num_classes, num_colours, convs=2 if 4 * 2 ** (i + 1) <= 16 else 1)
                                 for i, (a, b) in enumerate(zip(widths, widths[1:])))
        # block i (resolution 4·2^i) is gated by block i − 3 (an eighth of its side)
        self.excite = nn.ModuleDict({str(i): SkipExcitation(widths[i - 3], widths[i])
                                     for i in range(3, len(widths))})
        self.to_rgb = nn.Conv2d(widths[-1], 3, 3, padding=1)
        attach_prior(self, prior_size)

    def forward(self, z: torch.Tensor, y: torch.Tensor, c: torch.Tensor | None = None) -> torch.Tensor:
        x = self.project(z).view(z.shape[0], -1, 4, 4)
        feats = [F.glu(self.project_norm(x, y, c), dim=1)]
        for i, up in enumerate(self.ups, start=1):
            x = up(feats[-1], y, c)
            if str(i) in self.excite:
                x = self.excite[str(i)](feats[i - 3], x)
            feats.append(x)
        return to_image(self, self.to_rgb(feats[-1]), y, c)

    sample = Generator.sample


class ResidualDown(nn.Module):
    """Half the side: (4×4 stride-2 conv, LeakyReLU, 3×3 conv, LeakyReLU) averaged with (avg-pool, 1×1 conv),
    spectrally normalised (FastGAN's DownBlockComp, without its batch norm: the discriminator's
    classifier tags single photos in eval mode)."""

    def __init__(self, channels_in: int, channels_out: int):
        super().__init__()
        self.main1 = spectral_norm(nn.Conv2d(channels_in, channels_out, 4, stride=2, padding=1))
        self.main2 = spectral_norm(nn.Conv2d(channels_out, channels_out, 3, padding=1))
        self.direct = spectral_norm(nn.Conv2d(channels_in, channels_out, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        main = F.leaky_relu(self.main2(F.leaky_relu(self.main1(x), 0.2)), 0.2)
        direct = F.leaky_relu(self.direct(F.avg_pool2d(x, 2)), 0.2)
        return (main + direct) / 2


class Decoder(nn.Module):
    """8×8 features → a 32×32 image (two GLU upsampling blocks): the discriminator's self-supervision."""

    def __init__(self, channels_in: int, width: int):
        super().__init__()
        widths = [channels_in, 2 * width, width]
        self.convs = nn.ModuleList(nn.Conv2d(a, 2 * b, 3, padding=1) for a, b in zip(widths, widths[1:]))
        self.to_rgb = nn.Conv2d(widths[-1], 3, 3, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for conv in self.convs:
            x = F.glu(conv(F.interpolate(x, scale_factor=2, mode="nearest")), dim=1)
        return torch.tanh(self.to_rgb(x))


def _resize(x: torch.Tensor, size: int) -> torch.Tensor:
    if x.shape[-1] == size:
        return x
    return F.interpolate(x, size=size, mode="area" if x.shape[-1] > size else "bilinear", align_corners=None)


class FastDiscriminator(ProjectionHeads):
    """FastGAN's discriminator with projection heads: a strided conv, residual down blocks to 8×8 and
    to 4×4, summed over space into ``h``. Self-supervision on real images: one decoder draws the
    whole image (at 32 px) from the 8×8 features, another a random quarter of it from that quarter
    of the 16×16 features (at 64 px and above); the reconstruction loss is their L1 error."""

    arch = "fastgan"

    def __init__(self, num_classes: int, image_size: int = 64, width: int = 32, num_colours: int = 0):
        super().__init__()
        self.num_classes, self.image_size, self.num_colours = num_classes, image_size, num_colours
        widths = list(reversed(_widths(image_size, width)))  # image_size → 4×4
        self.first = spectral_norm(nn.Conv2d(3, widths[1], 4, stride=2, padding=1))
        self.downs = nn.ModuleList(ResidualDown(a, b) for a, b in zip(widths[1:], widths[2:]))
        self.resolutions = [image_size // 2 ** (i + 2) for i in range(len(self.downs))]  # after each down block
        self.init_heads(widths[-1], num_classes, num_colours)
        at_8 = widths[-2] if image_size > 8 else widths[-1]
        self.decode_whole = Decoder(at_8, width)
        self.decode_part = Decoder(widths[-3], width) if image_size >= 64 else None

    def feature_maps(self, x: torch.Tensor) -> dict[int, torch.Tensor]:
        maps = {x.shape[-1] // 2: F.leaky_relu(self.first(x), 0.2)}
        h = maps[x.shape[-1] // 2]
        for down in self.downs:
            h = down(h)
            maps[h.shape[-1]] = h
        return maps

    def features(self, x: torch.Tensor) -> torch.Tensor:
        return self.feature_maps(x)[4].sum(dim=(2, 3))

    def judge(self, x: torch.Tensor, y: torch.Tensor, c: torch.Tensor | None = None, reconstruct: bool = False
              ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None, torch.Tensor]:
        maps = self.feature_maps(x)
        score, logits, colour_logits = self.heads(maps[4].sum(dim=(2, 3)), y, c)
        loss = x.new_zeros(())
        if reconstruct:
            loss = F.l1_loss(self.decode_whole(maps[min(8, max(maps))]), _resize(x, 32))
            if self.decode_part is not None:
                top, left = (int(v) for v in torch.randint(0, 2, (2,)))
                part = maps[16][:, :, 8 * top:8 * top + 8, 8 * left:8 * left + 8]
                half = x.shape[-1] // 2
                crop = x[:, :, half * top:half * top + half, half * left:half * left + half]
                loss = loss + F.l1_loss(self.decode_part(part), _resize(crop, 32))
        return score, logits, colour_logits, loss


ARCHITECTURES: dict[str, tuple[type[nn.Module], type[nn.Module]]] = {
    "dcgan": (Generator, Discriminator), "fastgan": (FastGenerator, FastDiscriminator)}
"""Generator and discriminator classes by the training config's ``arch``."""


def build_networks(arch: str, num_classes: int, image_size: int, z_dim: int, g_width: int, d_width: int,
                   num_colours: int = 0, prior_size: int = 0) -> tuple[nn.Module, nn.Module]:
    """A fresh generator (with a :class:`ClassColourPrior` of side ``prior_size``; 0: none) and
    discriminator of the architecture ``arch``."""
    if arch not in ARCHITECTURES:
        raise ValueError(f"unknown GAN architecture {arch!r}; known: {sorted(ARCHITECTURES)}")
    generator, discriminator = ARCHITECTURES[arch]
    return (generator(num_classes, image_size, z_dim, g_width, num_colours, prior_size),
            discriminator(num_classes, image_size, d_width, num_colours))


class GanModule(L.LightningModule):
    """One training step: a discriminator update, then a generator update, then the EMA."""

    def __init__(self, num_classes: int, image_size: int = 64, z_dim: int = 128, g_width: int = 32,
                 d_width: int = 32, lr_g: float = 2e-4, lr_d: float = 2e-4, betas: tuple[float, float] = (0.0, 0.99),
                 ac_weight: float = 1.0, ema_decay: float = 0.999, ema_start: int = 100,
                 augment: str = DEFAULT_POLICY, log_every: int = 10, sample_every: int = 0, sample_columns: int = 8,
                 seed: int = 0, num_colours: int = 0, colour_dropout: float = 0.3, arch: str = "dcgan",
                 recon_weight: float = 1.0, prior_size: int = 0, r1_gamma: float = 0.0, r1_every: int = 16):
        super().__init__()
        self.save_hyperparameters()
        self.automatic_optimization = False
        self.d_updates = 0  # discriminator updates by this process (when the lazy R1 penalty is due)
        self.generator, self.discriminator = build_networks(arch, num_classes, image_size, z_dim, g_width, d_width,
                                                            num_colours, prior_size)
        self.generator_ema = copy.deepcopy(self.generator).requires_grad_(False)
        noise = torch.Generator().manual_seed(seed)
        # the same noise for every sample grid (a buffer: it is in the checkpoint and moves with the model)
        self.register_buffer("grid_z", torch.randn(num_classes * sample_columns, z_dim, generator=noise))
        self.sample_hook = None  # callable(iteration, PIL image), set by the training script on rank 0

    def fill_prior(self, templates: torch.Tensor) -> None:
        """Fill the generator's (and its EMA's) prior with the class × colour templates."""
        for generator in (self.generator, self.generator_ema):
            generator.prior.fill(templates)

    @property
    def iteration(self) -> int:
        """Completed GAN iterations (Lightning counts each optimizer step: two per iteration)."""
        return self.trainer.global_step // 2

    def training_colours(self, colours: torch.Tensor | None, n: int, device: Any) -> torch.Tensor | None:
        """The colour ids a batch is trained with: unknown ones "any", and a share ``colour_dropout``
        of the known ones asked as "any" too (so "any colour" learns every colour of a class)."""
        k = self.hparams.num_colours
        if not k:
            return None
        ids = colour_ids(colours, k, n, device)
        dropped = torch.rand(n, device=device) < self.hparams.colour_dropout
        return torch.where(dropped, torch.full_like(ids, k), ids)

    def adversarial_step(self, real: torch.Tensor, labels: torch.Tensor, opt_g: Any, opt_d: Any,
                         backward: Callable[[torch.Tensor], None],
                         colours: torch.Tensor | None = None) -> dict[str, torch.Tensor]:
        """One discriminator update, then one generator update; returns the losses.

        ``colours``: the images' colour labels (-1: unknown), None without colours. ``backward`` is
        Lightning's ``manual_backward`` in training (precision, DDP), a plain ``loss.backward()``
        elsewhere (the speed benchmark's plain loop).
        """
        hp = self.hparams
        z = torch.randn(real.shape[0], hp.z_dim, device=real.device)
        c = self.training_colours(colours, real.shape[0], real.device)
        asked = c is not None and bool((c < hp.num_colours).any())
        known = c < hp.num_colours if c is not None else None

        # discriminator: hinge on real vs generated, cross-entropy of the classifiers on real images
        fake = self.generator(z, labels, c)
        real_scores, real_logits, real_colour_logits, recon = self.discriminator.judge(
            diff_augment(real, hp.augment), labels, c, reconstruct=hp.recon_weight > 0)
        fake_scores, _, _, _ = self.discriminator.judge(diff_augment(fake.detach(), hp.augment), labels, c)
        d_adversarial = hinge_d_loss(real_scores, fake_scores)
        d_class = F.cross_entropy(real_logits, labels)
        d_colour = F.cross_entropy(real_colour_logits[known], c[known]) if asked else real.new_zeros(())
        d_loss = d_adversarial + hp.ac_weight * (d_class + d_colour) + hp.recon_weight * recon
        r1_due = hp.r1_gamma > 0 and self.d_updates % hp.r1_every == 0
        if r1_due:  # lazy: every r1_every updates, weighted by r1_every (StyleGAN2)
            r1 = self.r1_penalty(real, labels, c)
            d_loss = d_loss + hp.r1_gamma / 2 * hp.r1_every * r1
        opt_d.zero_grad(set_to_none=True)
        backward(d_loss)
        opt_d.step()
        self.d_updates += 1

        # generator: fool the discriminator, and make images the classifiers put in the requested class (colour)
        fake_scores, fake_logits, fake_colour_logits, _ = self.discriminator.judge(
            diff_augment(fake, hp.augment), labels, c)
        g_adversarial = hinge_g_loss(fake_scores)
        g_class = F.cross_entropy(fake_logits, labels)
        g_colour = F.cross_entropy(fake_colour_logits[known], c[known]) if asked else real.new_zeros(())
        opt_g.zero_grad(set_to_none=True)
        backward(g_adversarial + hp.ac_weight * (g_class + g_colour))
        opt_g.step()
        metrics = {"d_loss": d_adversarial.detach(), "d_class_loss": d_class.detach(), "g_loss": g_adversarial.detach(),
                   "g_class_loss": g_class.detach(), "d_real_accuracy": (real_logits.argmax(1) == labels).float().mean()}
        if hp.num_colours:
            metrics.update(d_colour_loss=d_colour.detach(), g_colour_loss=g_colour.detach())
        if hp.arch != "dcgan":
            metrics["d_recon_loss"] = recon.detach()
        if r1_due:
            metrics["d_r1"] = r1.detach()
        return metrics

    def r1_penalty(self, real: torch.Tensor, labels: torch.Tensor, colours: torch.Tensor | None) -> torch.Tensor:
        """R1 (Mescheder et al. 2018): the squared gradient of the discriminator's score on real
        (augmented) images with respect to the pixels, summed per image and averaged; it keeps the
        discriminator from growing steep around the real photos."""
        pixels = diff_augment(real, self.hparams.augment).detach().requires_grad_(True)
        scores = self.discriminator.judge(pixels, labels, colours)[0]
        (gradient,) = torch.autograd.grad(scores.float().sum(), pixels, create_graph=True)
        return gradient.float().square().sum(dim=(1, 2, 3)).mean()

    def update_ema(self, iteration: int) -> None:
        """The EMA follows the generator exactly until ``ema_start``, then with a decay that warms up."""
        hp = self.hparams
        decay = min(hp.ema_decay, (1 + iteration) / (10 + iteration)) if iteration >= hp.ema_start else 0.0
        ema_update(self.generator_ema, self.generator, decay)

    def training_step(self, batch: tuple[torch.Tensor, ...], batch_idx: int) -> None:
        pixels, labels, *rest = batch  # (pixels, labels[, colour labels])
        real = normalise(pixels) if pixels.dtype == torch.uint8 else pixels
        opt_g, opt_d = self.optimizers()
        metrics = self.adversarial_step(real, labels, opt_g, opt_d, self.manual_backward, rest[0] if rest else None)
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
        """A PIL grid from the EMA generator: one row per class (any colour), the same noise every time."""
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
