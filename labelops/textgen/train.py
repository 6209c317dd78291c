"""Training the text generator: prepare → fit (a subprocess, one or many devices) → register.

1. :func:`prepare` (in the caller's process): examples and splits from the snapshot, the
   tokenizer, encoded train/val data, the frozen test split, and an MLflow run with the params.
   Everything lands in a work folder named by the training's key (a hash of its config), so the
   same command finds the same folder again.
2. :func:`fit` runs in a fresh process (``python -m labelops.textgen.train WORK_DIR``, see
   :func:`launch`). With ``devices > 1`` Lightning's launcher starts the other ranks (DDP). Rank 0
   alone logs to the MLflow run. Checkpoints every N steps; started again after a crash, it
   resumes from ``last.ckpt`` into the same run.
3. :func:`register` (in the caller's process): the held-out metrics of
   :func:`labelops.evaluation.evaluate_text_generator` (the gate's evaluation, so registration and
   the gate report the same numbers), sample generations with their findings, the pyfunc model,
   registration as ``product-text-generator`` with alias ``challenger``. A training
   registers at most once (``registered.json`` and the version's ``training_key`` tag).
"""

from __future__ import annotations

import json
import logging
import shutil
import sys
from datetime import datetime
from pathlib import Path

from pydantic import Field

from labelops import training
from labelops.registry import TEXT_MODEL, configure_mlflow, describe_version, log_snapshot_input
from labelops.settings import Settings, get_settings
from labelops.storage import DataRoot
from labelops.training import TrainedModel

TrainedText = TrainedModel  # what a finished training produced (labelops.training)

log = logging.getLogger(__name__)

# The Listing fields the generator reads: labelops.textgen.pyfunc.INPUT_FIELDS.

# What the logged model imports (labelops's code travels with it, in code_paths): the generator,
# its tokenizer, and the exemplar index and tag classifier (scikit-learn and SciPy). Pinned at
# the installed versions; a fresh environment installs the model from these alone.
REQUIREMENTS = ("mlflow", "torch", "transformers", "tokenizers", "pandas", "numpy", "scikit-learn", "scipy")

DESCRIPTION = ("Product text generator: a small GPT-2 (or a fine-tuned base model) that writes a product's "
               "description and tags from its listing fields (title, brand, category_path, price, currency, "
               "attributes), prompted with the nearest training product's description; the facts it leaves "
               "out are appended and its tags checked against the listing.")


class TextTrainConfig(training.TrainConfig):
    """Everything that defines one training; its hash is the training's key."""

    recipe: str = Field("grounded-v8", description="version of the data preparation; change it when that changes")
    exemplars: bool = Field(True, description="prompt with the nearest training product's description (retrieve-then-edit)")
    base_model: str | None = Field(None, description="hub name or local path of a pretrained causal LM to fine-tune")
    pretrain_steps: int = Field(0, description="steps of language modelling on the snapshot's product text (titles, "
                                               "attributes, training descriptions) before the fact-to-text task")
    feedback_until: datetime | None = Field(
        None, description="use reviewers' feedback received up to this time (labelops.feedback_training.apply_to_training)")
    vocab_size: int = 4096
    n_embd: int = 128
    n_layer: int = 4
    n_head: int = 4
    n_positions: int = 512
    max_length: int = 448  # prompt (facts + a whole exemplar) ≤ 60%, the rest for the target
    batch_size: int = 16
    lr: float = 3e-3
    weight_decay: float = 0.01
    warmup_steps: int = 30
    val_every_steps: int = 100
    compile: bool = False
    samples: int = 8


# ------------------------------------------------------------------------------------ prepare
def prepare(config: TextTrainConfig, settings: Settings | None = None) -> Path:
    """Write the work folder (idempotent: an existing, prepared folder is reused)."""
    import torch
    from mlflow import MlflowClient

    from labelops.factcheck import FactChecker
    from labelops.feedback import read_feedback
    from labelops.feedback_training import FeedbackTargets, apply_to_training
    from labelops.labels import read_labels
    from labelops.snapshot import read_snapshot, split_of
    from labelops.textgen.data import build_examples, encode_document, encode_example, pretraining_examples
    from labelops.textgen.retrieval import ExemplarIndex
    from labelops.textgen.serialize import slot_names
    from labelops.textgen.tokenizer import add_slot_tokens, load_tokenizer, train_tokenizer

    settings = settings or get_settings()
    work, prepared = training.open_work_dir("text", config, settings)
    if prepared:
        return work
    root = DataRoot(settings.data)
    rows = read_snapshot(root, config.snapshot_id).to_pylist()
    reviewed = FeedbackTargets()
    if config.feedback_until is not None:
        rows, reviewed = apply_to_training(rows, read_feedback(root), read_labels(root), config.feedback_until,
                                           is_test=lambda listing_id: split_of(listing_id) != "train")
        log.info("reviewers' feedback in the training data: %s", reviewed)
    train_rows = [r for r in rows if split_of(r["listing_id"]) == "train"]
    checker = FactChecker.from_listings(train_rows)
    checker.save(work)
    exemplars = None
    if config.exemplars and any(r.get("description") for r in train_rows):
        exemplars = ExemplarIndex().fit(train_rows)
        exemplars.save(work)
    splits = build_examples(rows, exemplars, checker)
    if not splits["train"]:
        raise ValueError(f"snapshot {config.snapshot_id} has no listing with a description to learn from")
    if not splits["val"]:  # tiny snapshots: validate on the training rows rather than not at all
        splits["val"] = splits["train"][:8]
    if config.base_model:
        tokenizer = load_tokenizer(config.base_model)
    else:
        corpus = (text for e in splits["train"] for text in (e["prompt"], e["target"]))
        tokenizer = train_tokenizer(corpus, config.vocab_size)
    slots = {name for split in ("train", "val") for e in splits[split] for name in slot_names(e["prompt"] + e["target"])}
    add_slot_tokens(tokenizer, slots)
    tokenizer.save_pretrained(work / "tokenizer")
    encoded = {name: [encode_example(tokenizer, e["prompt"], e["target"], config.max_length) for e in splits[name]]
               for name in ("train", "val")}
    torch.save(encoded, work / "encoded.pt")
    if config.pretrain_steps:
        documents = pretraining_examples(rows)
        torch.save({"train": [encode_document(tokenizer, d, config.max_length) for d in documents], "val": []},
                   work / "pretrain.pt")  # no validation: it is judged by the task after it
    (work / "test_split.json").write_text(json.dumps([e["listing_id"] for e in splits["test"]], indent=1))

    counts = {f"examples_{name}": len(split) for name, split in splits.items()}
    counts.update({f"feedback_{name}": value for name, value in reviewed.model_dump().items()})
    run_id = training.start_run(TEXT_MODEL, config, config.key(), config.snapshot_id,
                                f"text-{config.snapshot_id}-{config.key()[:6]}", settings, counts)
    log_snapshot_input(run_id, settings, config.snapshot_id)
    MlflowClient().log_artifact(run_id, str(work / "test_split.json"))
    (work / "prepared.json").write_text(json.dumps({"run_id": run_id, **counts}, indent=2))
    log.info("prepared text training %s in %s (%s)", config.key(), work, counts)
    return work


# ---------------------------------------------------------------------------------------- fit
def fit(work: Path) -> None:
    """Train from the work folder (runs in its own process; every DDP rank runs this)."""
    import lightning as L

    from labelops.textgen.data import PROMPT_SHARE, TextDataModule
    from labelops.textgen.generate import save_prompt_budget
    from labelops.textgen.model import TextGeneratorModule, load_pretrained, small_gpt2
    from labelops.textgen.retrieval import FILE_NAMES as EXEMPLAR_FILES
    from labelops.textgen.tokenizer import load_tokenizer

    config = TextTrainConfig.model_validate_json((work / "config.json").read_text())
    prepared = json.loads((work / "prepared.json").read_text())
    L.seed_everything(config.seed, workers=True, verbose=False)
    tokenizer = load_tokenizer(work / "tokenizer")
    if config.base_model:
        network = load_pretrained(config.base_model, len(tokenizer))
    else:
        network = small_gpt2(len(tokenizer), tokenizer.pad_token_id, tokenizer.eos_token_id,
                             config.n_embd, config.n_layer, config.n_head, config.n_positions)
    if config.pretrain_steps and not config.base_model:
        network = pretrain(work, config, network, tokenizer.pad_token_id)
    module = TextGeneratorModule(network, config.lr, config.weight_decay, config.warmup_steps, config.max_steps,
                                 config.compile)
    data = TextDataModule(work / "encoded.pt", config.batch_size, tokenizer.pad_token_id)
    trainer = training.lightning_trainer(
        config, work, run_id=prepared["run_id"], max_steps=config.max_steps,
        checkpoint_every_steps=config.checkpoint_every_steps, gradient_clip_val=1.0,
        val_check_interval=config.val_every_steps, check_val_every_n_epoch=None, log_every_n_steps=config.log_every_steps,
    )
    last, resumed_from = training.resume_point(work)
    trainer.fit(module, data, ckpt_path=last, weights_only=True)
    if trainer.is_global_zero:
        network = getattr(module.model, "_orig_mod", module.model)
        network.save_pretrained(work / "final")
        tokenizer.save_pretrained(work / "final")
        # they generate with the model
        for extra in (*(work / name for name in EXEMPLAR_FILES), work / "factcheck.json"):
            if extra.exists():
                shutil.copy2(extra, work / "final" / extra.name)
        # generation cuts prompts where training did
        save_prompt_budget(int(config.max_length * PROMPT_SHARE), work / "final")
        metrics = {k: float(v) for k, v in trainer.callback_metrics.items()}
        (work / "trained.json").write_text(json.dumps({
            "global_step": trainer.global_step, "resumed_from_step": resumed_from, "world_size": trainer.world_size,
            "metrics": metrics}))


def pretrain(work: Path, config: TextTrainConfig, network, pad_id: int):  # noqa: ANN001, ANN201
    """Language modelling on the snapshot's product text (``pretrain.pt``) for
    ``config.pretrain_steps``, before the task; kept in ``pretrained/`` so a rerun after a crash
    does not pretrain again (a crash during it starts it over: it is short)."""
    import lightning as L
    from transformers import AutoModelForCausalLM

    from labelops.textgen.data import TextDataModule
    from labelops.textgen.model import TextGeneratorModule

    done = work / "pretrained"
    if (done / "config.json").exists():
        return AutoModelForCausalLM.from_pretrained(done)
    module = TextGeneratorModule(network, config.lr, config.weight_decay, config.warmup_steps, config.pretrain_steps)
    trainer = L.Trainer(accelerator=config.accelerator, **training.distributed(config), max_steps=config.pretrain_steps,
                        gradient_clip_val=1.0, limit_val_batches=0, logger=False, enable_checkpointing=False,
                        enable_progress_bar=sys.stderr.isatty(), enable_model_summary=False, default_root_dir=work)
    trainer.fit(module, TextDataModule(work / "pretrain.pt", config.batch_size, pad_id))
    if trainer.is_global_zero:  # whole or not at all: written aside, then renamed
        partial = work / "pretrained.partial"
        shutil.rmtree(partial, ignore_errors=True)
        module.model.save_pretrained(partial)
        partial.rename(done)
    trainer.strategy.barrier()
    log.info("pretrained %d steps on the snapshot's product text (loss %.3f)", config.pretrain_steps,
             float(trainer.callback_metrics.get("train/loss", float("nan"))))
    return module.model


def launch(work: Path, timeout: float | None = None, logger: training.LogSink | None = None) -> None:
    """Run :func:`fit` in a fresh Python process (never fork DDP inside a flow's process); its output
    goes to ``logger``; stopped after ``timeout`` seconds (:func:`labelops.training.launch`)."""
    training.launch("labelops.textgen.train", work, timeout, logger)


# ----------------------------------------------------------------------------------- register
def register(work: Path, settings: Settings | None = None, alias: str = "challenger") -> TrainedText:
    """Evaluate the trained model on held-out rows, log it as a pyfunc model, register it once."""
    import mlflow
    import pandas as pd

    from labelops.evaluation import EvaluationSet, evaluate_text_generator
    from labelops.textgen.generate import TextGenerator
    from labelops.textgen.pyfunc import SIGNATURE, input_example

    settings = settings or get_settings()
    configure_mlflow(settings)
    config = TextTrainConfig.model_validate_json((work / "config.json").read_text())
    run_id = json.loads((work / "prepared.json").read_text())["run_id"]
    if (done := training.registered_before(work, TEXT_MODEL, config.key(), run_id)) is not None:
        return done

    generator = TextGenerator.load(work / "final")
    evaluation = EvaluationSet.of_snapshot(DataRoot(settings.data), config.snapshot_id)
    scores = evaluate_text_generator(generator, evaluation)  # the gate's evaluation: the same numbers
    metrics = {**scores.metrics, **{f"labels.{k}": v for k, v in scores.label_metrics.items()}}
    samples = pd.DataFrame({
        "listing_id": [s["listing_id"] for s in scores.samples[: config.samples]],
        "title": [s["title"] for s in scores.samples[: config.samples]],
        "reference": evaluation.references[: min(config.samples, len(scores.samples))],
        "generated": [s["text"] for s in scores.samples[: config.samples]],
        "findings": ["; ".join(s["findings"]) for s in scores.samples[: config.samples]],
        "tags": [", ".join(s["tags"]) for s in scores.samples[: config.samples]],
    })
    with mlflow.start_run(run_id=run_id):
        mlflow.log_metrics({f"test/{k}": v for k, v in metrics.items()})
        mlflow.log_table(samples, artifact_file="sample_generations.json")
        info = mlflow.pyfunc.log_model(
            name="model", python_model=str(Path(__file__).with_name("mlflow_model.py")), artifacts={"model": str(work / "final")},
            signature=SIGNATURE, input_example=input_example((evaluation.train_rows or evaluation.rows)[:2]),
            code_paths=[str(Path(__file__).resolve().parents[1])],
            pip_requirements=training.requirements(*REQUIREMENTS),
        )
    registered = training.register_model(work, info.model_uri, TEXT_MODEL, config.key(), config.snapshot_id, run_id,
                                         metrics, alias)
    describe_version(TEXT_MODEL, registered.version, DESCRIPTION, config.snapshot_id, run_id, scores.metrics)
    return registered


def train_text(config: TextTrainConfig, settings: Settings | None = None) -> TrainedText | None:
    """prepare → fit in a subprocess → register (:func:`labelops.training.prepare_fit_register`;
    None on a node other than node 0 of a multi-node training: it fits only)."""
    return training.prepare_fit_register(config, settings or get_settings(), prepare, launch, register, "text")


if __name__ == "__main__":
    training.fit_from_command_line(fit)
