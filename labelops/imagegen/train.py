"""Training the conditional GAN: prepare → fit (a subprocess, one or many devices) → register.

The same three steps as the text generator (labelops.training):

1. :func:`prepare` (caller's process): the snapshot's images as an :class:`ImageSet` file
   (``images.pt``: pixels, classes, splits, skipped products counted by reason) and an MLflow run
   with the params and the lineage tags, in ``<data>/training/gan/<key>``.
2. :func:`fit` in a fresh process (``python -m labelops.imagegen.train WORK_DIR``): Lightning,
   manual optimisation, DDP with ``devices > 1``. Rank 0 logs losses every ``log_every_steps``
   and a sample grid (one row per category) every ``sample_every_steps`` to the run, and saves the
   EMA generator and the discriminator. Checkpoints every ``checkpoint_every_steps``; started
   again after a crash it resumes from ``last.ckpt`` into the same run.
3. :func:`register` (caller's process): the evaluator (trained on real training images only),
   conditional accuracy, KID and the baselines, the image tagger's accuracy, the evaluator and the
   grids as artifacts, the pyfunc model, registered once as ``product-image-gan`` @challenger.

A *step* here is one GAN iteration (a discriminator update and a generator update); Lightning's
own ``global_step`` counts optimizer steps, two per iteration.
"""

from __future__ import annotations

import json
import logging
import time
import warnings
from pathlib import Path
from typing import ClassVar, Literal

from pydantic import Field

from labelops import training
from labelops.imagegen.diffaugment import DEFAULT_POLICY
from labelops.registry import IMAGE_MODEL, configure_mlflow, describe_version, log_snapshot_input
from labelops.settings import Settings, get_settings
from labelops.storage import DataRoot
from labelops.training import TrainedModel

log = logging.getLogger(__name__)

OPTIMIZER_STEPS_PER_ITERATION = 2  # discriminator, generator

# What the logged model imports (labelops's code travels with it, in code_paths): the generator and
# discriminator live beside their LightningModule (labelops.imagegen.model, .data), which also read the
# settings (pydantic-settings) and the data root (fsspec, pyarrow). Pinned at the installed versions.
REQUIREMENTS = ("mlflow", "torch", "lightning", "pandas", "numpy", "pillow", "pyarrow", "fsspec", "pydantic",
                "pydantic-settings")

DESCRIPTION = ("Product image GAN: a class-conditional GAN (EMA generator) that draws a product image for a "
               "category, and whose discriminator's classifier tags a product photo with its category "
               "(input: a `category` column to generate, an `image` column to tag; params task, seed, per_category).")

MODULE_ARGS = ("image_size", "z_dim", "g_width", "d_width", "lr_g", "lr_d", "ac_weight", "ema_decay", "ema_start",
               "augment", "seed", "arch", "colour_dropout", "recon_weight", "r1_gamma", "r1_every")


GanPrior = Literal["none", "class_colour_mean"]
"""What the generator starts from (:class:`labelops.imagegen.model.ClassColourPrior`)."""


class GanTrainConfig(training.TrainConfig):
    """Everything that defines one GAN training; its hash is the training's key."""

    recipe: str = Field("gan-v2", description="version of the data preparation; change it when that changes")
    arch: str = Field("dcgan", description="generator and discriminator (labelops.imagegen.model.ARCHITECTURES)")
    image_size: int = Field(64, description="32, 64 or 128 (any power of two ≥ 8)")
    category_level: int | None = Field(None, description="category_path level to condition on (0: the top); None: "
                                                         "the deepest (≤ 2) at which the kept classes hold most products")
    max_classes: int = 16
    min_class_images: int = 2
    max_colours: int = Field(24, description="colours conditioned on (0: none): the most frequent with min_colour_images")
    min_colour_images: int = 3
    colour_dropout: float = Field(0.3, description="share of known colours trained as 'any colour'")
    recon_weight: float = Field(1.0, description="weight of the discriminator's reconstruction loss (fastgan)")
    r1_gamma: float = Field(0.0, ge=0, description="weight γ of the R1 gradient penalty on real images (0: off). "
                                                    "1 led at equal CPU time in benchmarks/gan_recipes.py, but not in "
                                                    "the demo's recipe (README, Recipes)")
    r1_every: int = Field(16, ge=1, description="the R1 penalty is computed every this many discriminator updates")

    later_fields: ClassVar[frozenset[str]] = training.TrainConfig.later_fields | {"r1_gamma", "r1_every"}
    prior: GanPrior = Field(
        "class_colour_mean", description="what the generator starts from: its class-and-colour mean training photo, "
                                         "to which it adds what the mean lacks (model.ClassColourPrior); none: noise only")
    prior_max_side: int = Field(64, description="largest side of the prior's templates (they are at most image_size; "
                                                "memory: classes × (colours + 1) × 3 × side² floats)")
    prior_min_images: int = Field(3, description="training photos a class × colour pair needs for its own template "
                                                 "(fewer: the class's mean, so that no template is one product's photo)")
    z_dim: int = 128
    g_width: int = 16
    d_width: int = 16
    batch_size: int = 32
    lr_g: float = 2e-4
    lr_d: float = 2e-4
    betas: tuple[float, float] = (0.0, 0.99)
    ac_weight: float = 1.0
    ema_decay: float = 0.999
    ema_start: int = 100
    augment: str = DEFAULT_POLICY
    max_steps: int = 1500
    sample_every_steps: int = 200
    checkpoint_every_steps: int = 100
    grid_columns: int = 8

    @property
    def prior_side(self) -> int:
        """The prior's template side the networks are built with (0: no prior)."""
        return 0 if self.prior == "none" else min(self.prior_max_side, self.image_size)


# ------------------------------------------------------------------------------------ prepare
def prepare(config: GanTrainConfig, settings: Settings | None = None) -> Path:
    """Write the work folder (idempotent: an existing, prepared folder is reused)."""
    from labelops.imagegen.data import build_image_set
    from labelops.snapshot import read_snapshot

    settings = settings or get_settings()
    work, prepared = training.open_work_dir("gan", config, settings)
    if prepared:
        return work
    root = DataRoot(settings.data)
    rows = read_snapshot(root, config.snapshot_id,
                         columns=["listing_id", "category_path", "images", "attributes"]).to_pylist()
    image_set = build_image_set(rows, root, config.image_size, config.category_level, config.max_classes,
                                config.min_class_images, config.max_colours, config.min_colour_images)
    if len(image_set.labels) == 0:
        raise ValueError(f"snapshot {config.snapshot_id} has no product with a readable image and a category "
                         f"(skipped: {image_set.skipped})")
    image_set.save(work / "images.pt")
    counts = image_set.counts()
    (work / "classes.json").write_text(json.dumps({"classes": image_set.classes, "category_level": image_set.level,
                                                   "colours": image_set.colours}, indent=2, ensure_ascii=False))
    run_id = training.start_run(IMAGE_MODEL, config, config.key(), config.snapshot_id,
                                f"gan-{config.snapshot_id}-{config.key()[:6]}", settings,
                                {**counts, "category_level_used": image_set.level})
    log_snapshot_input(run_id, settings, config.snapshot_id)
    from mlflow import MlflowClient

    MlflowClient().log_artifact(run_id, str(work / "classes.json"))
    (work / "prepared.json").write_text(json.dumps({"run_id": run_id, **counts}, indent=2))
    log.info("prepared GAN training %s in %s (%s)", config.key(), work, counts)
    return work


# ---------------------------------------------------------------------------------------- fit
def build_module(config: GanTrainConfig, num_classes: int, num_colours: int = 0):  # noqa: ANN201 - GanModule
    from labelops.imagegen.model import GanModule

    return GanModule(num_classes, num_colours=num_colours, betas=config.betas, log_every=config.log_every_steps,
                     sample_every=config.sample_every_steps, sample_columns=config.grid_columns,
                     prior_size=config.prior_side, **{name: getattr(config, name) for name in MODULE_ARGS})


def fit(work: Path) -> None:
    """Train from the work folder (runs in its own process; every DDP rank runs this)."""
    import lightning as L
    import torch
    from mlflow import MlflowClient

    from labelops.imagegen.data import ImageDataModule, ImageSet, prior_templates

    config = GanTrainConfig.model_validate_json((work / "config.json").read_text())
    prepared = json.loads((work / "prepared.json").read_text())
    run_id = prepared["run_id"]
    L.seed_everything(config.seed, workers=True, verbose=False)
    image_set = ImageSet.load(work / "images.pt")
    classes, colours = image_set.classes, image_set.colours
    module = build_module(config, len(classes), len(colours))
    if config.prior_side:  # from the training split only, like the baselines the gate compares with
        module.fill_prior(prior_templates(*image_set.subset_with_colours("train"), len(classes), len(colours),
                                          config.prior_min_images))
    samples = work / "samples"

    def log_grid(iteration: int, image) -> None:  # noqa: ANN001 - a PIL image
        samples.mkdir(exist_ok=True)
        path = samples / f"step_{iteration:06d}.png"
        image.save(path)
        MlflowClient().log_artifact(run_id, str(path), "samples")

    module.sample_hook = log_grid
    steps = OPTIMIZER_STEPS_PER_ITERATION
    trainer = training.lightning_trainer(
        config, work, run_id=run_id, max_steps=config.max_steps * steps,
        checkpoint_every_steps=config.checkpoint_every_steps * steps,
        # the discriminator's update leaves the generator's parameters without gradients
        find_unused_parameters=True,
        log_every_n_steps=1,  # the module logs itself
        progress_unit=steps,
    )
    last, resumed_from = training.resume_point(work)
    # checkpoints hold the state after the iteration's updates, which is what resuming needs
    warnings.filterwarnings("ignore", message="Using ModelCheckpoint with manual optimization")
    started = time.perf_counter()
    trainer.fit(module, ImageDataModule(work / "images.pt", config.batch_size), ckpt_path=last, weights_only=True)
    seconds = time.perf_counter() - started
    if trainer.is_global_zero:
        iterations = trainer.global_step // steps
        final = work / "final"
        final.mkdir(exist_ok=True)
        torch.save(module.generator_ema.state_dict(), final / "generator.pt")
        torch.save(module.discriminator.state_dict(), final / "discriminator.pt")
        (final / "meta.json").write_text(json.dumps({
            "classes": classes, "colours": colours, "arch": config.arch, "image_size": config.image_size, "z_dim": config.z_dim, "g_width": config.g_width,
            "d_width": config.d_width, "prior_size": config.prior_side, "snapshot_id": config.snapshot_id, "training_key": config.key()},
            indent=2, ensure_ascii=False))
        samples.mkdir(exist_ok=True)
        module.sample_grid().save(samples / "final.png")
        trained_images = (iterations - resumed_from // steps) * config.batch_size * trainer.world_size
        metrics = {k: float(v) for k, v in trainer.callback_metrics.items()}
        metrics["train/images_per_s"] = trained_images / max(seconds, 1e-6)
        MlflowClient().log_metric(run_id, "train/images_per_s", metrics["train/images_per_s"], step=iterations)
        ran_on = training.device_report(trainer.strategy.root_device)  # the module is back on the CPU by now
        metrics["train/peak_memory_mib"] = ran_on["peak_memory_mib"]
        MlflowClient().log_metric(run_id, "train/peak_memory_mib", ran_on["peak_memory_mib"], step=iterations)
        (work / "trained.json").write_text(json.dumps({
            "global_step": iterations, "resumed_from_step": resumed_from // steps, "world_size": trainer.world_size,
            "seconds": seconds, "device": ran_on["device"], "precision": str(trainer.precision), "metrics": metrics}))


def launch(work: Path, timeout: float | None = None, logger: training.LogSink | None = None) -> None:
    """Run :func:`fit` in a fresh Python process (never fork DDP inside a flow's process); its output
    goes to ``logger``; stopped after ``timeout`` seconds (:func:`labelops.training.launch`)."""
    training.launch("labelops.imagegen.train", work, timeout, logger)


# ----------------------------------------------------------------------------------- register
def evaluate(work: Path, settings: Settings | None = None) -> dict[str, float]:
    """The GAN on its snapshot's held-out images with :func:`labelops.imagegen.evaluation.evaluate_gan`
    (the gate's evaluation: the same numbers for the same snapshot), beside class-mean images and noise.

    Writes ``evaluation.json`` (metrics and the table of systems) and returns the metrics.
    """
    from labelops.evaluation import EvaluationSet
    from labelops.imagegen.evaluation import evaluate_gan, image_baselines
    from labelops.imagegen.pyfunc import TrainedGan

    settings = settings or get_settings()
    config = GanTrainConfig.model_validate_json((work / "config.json").read_text())
    if (work / "evaluation.json").exists():
        return json.loads((work / "evaluation.json").read_text())["metrics"]
    evaluation = EvaluationSet.of_snapshot(DataRoot(settings.data), config.snapshot_id)
    gan = TrainedGan.load(work / "final")
    model = evaluate_gan(gan, evaluation, settings=settings)
    baselines = image_baselines(gan, evaluation, settings=settings)
    metrics = {**model.metrics, **{f"{name}.{k}": v for name, b in baselines.items() for k, v in b.metrics.items()
                                   if k in ("conditional_accuracy", "kid")}}
    table = [{"system": s.system, **s.metrics} for s in (model, *baselines.values())]
    (work / "evaluation.json").write_text(json.dumps({"metrics": metrics, "systems": table}, indent=2))
    return metrics


def register(work: Path, settings: Settings | None = None, alias: str = "challenger") -> TrainedModel:
    """Evaluate, log the evaluator, grids and the pyfunc model with the run, register it once."""
    import mlflow

    from labelops.imagegen.pyfunc import SIGNATURE, input_example

    settings = settings or get_settings()
    configure_mlflow(settings)
    config = GanTrainConfig.model_validate_json((work / "config.json").read_text())
    run_id = json.loads((work / "prepared.json").read_text())["run_id"]
    if (done := training.registered_before(work, IMAGE_MODEL, config.key(), run_id)) is not None:
        return done
    metrics = evaluate(work, settings)
    evaluation = json.loads((work / "evaluation.json").read_text())
    with mlflow.start_run(run_id=run_id):
        mlflow.log_metrics({f"test/{k}": v for k, v in metrics.items()})
        mlflow.log_dict(evaluation, "evaluation.json")
        mlflow.log_artifact(str(work / "samples" / "final.png"), "samples")
        info = mlflow.pyfunc.log_model(
            name="model", python_model=str(Path(__file__).with_name("mlflow_model.py")),
            artifacts={"model": str(work / "final")}, signature=SIGNATURE,
            input_example=input_example(json.loads((work / "final" / "meta.json").read_text())["classes"]),
            code_paths=[str(Path(__file__).resolve().parents[1])],
            pip_requirements=training.requirements(*REQUIREMENTS),
        )
    registered = training.register_model(work, info.model_uri, IMAGE_MODEL, config.key(), config.snapshot_id, run_id,
                                         metrics, alias)
    describe_version(IMAGE_MODEL, registered.version, DESCRIPTION, config.snapshot_id, run_id,
                     {k: v for k, v in metrics.items() if "." not in k})  # the GAN's own, not the baselines'
    return registered


def train_gan(config: GanTrainConfig, settings: Settings | None = None) -> TrainedModel | None:
    """prepare → fit in a subprocess → register (:func:`labelops.training.prepare_fit_register`;
    None on a node other than node 0 of a multi-node training: it fits only)."""
    return training.prepare_fit_register(config, settings or get_settings(), prepare, launch, register, "gan")


if __name__ == "__main__":
    training.fit_from_command_line(fit)
