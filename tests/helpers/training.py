"""Helpers for the training tests of every model: registered versions, a training killed mid-way."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

from labelops.registry import TEXT_MODEL


def versions_of(model_name: str, training_key: str) -> list:
    """The registered versions of ``model_name`` that a training (by its key) registered."""
    from mlflow import MlflowClient

    return [v for v in MlflowClient().search_model_versions(f"name = '{model_name}'")
            if v.tags.get("training_key") == training_key]


def kill_after_first_checkpoint(module: str, work: Path, timeout: float = 240) -> Path:
    """Start ``python -m module WORK`` and kill -9 it once ``checkpoints/last.ckpt`` is written."""
    process = subprocess.Popen([sys.executable, "-m", module, str(work)],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    last = work / "checkpoints" / "last.ckpt"
    deadline = time.monotonic() + timeout
    while not last.exists() and time.monotonic() < deadline and process.poll() is None:
        time.sleep(0.2)
    time.sleep(0.5)  # let the checkpoint be written whole
    process.send_signal(signal.SIGKILL)
    process.wait()
    return last


# small enough to train in about a minute on 2 CPU cores, big enough to write recognisable text (chrF ~17)
SMALL = dict(vocab_size=800, n_embd=64, n_layer=2, n_head=2, n_positions=384, batch_size=8, max_length=256,
             warmup_steps=2, val_every_steps=50, log_every_steps=5, samples=2, checkpoint_every_steps=1000)


def gate_policy(tmp_path, chrf_floor: float, baselines: bool = False) -> str:
    """A gate policy file whose text floor is ``chrf_floor`` and whose guards let anything through;
    without ``baselines``, the small models of tests need not beat the template and retrieve-and-fill."""
    path = tmp_path / f"gate-{chrf_floor}-{baselines}.toml"
    text_baselines = '["template", "retrieve_fill"]' if baselines else "[]"
    path.write_text(f"""version = 2
resamples = 200
[models.{TEXT_MODEL}]
primary = {{ metric = "chrf", higher_is_better = true, min_improvement = 0.0 }}
baselines = {text_baselines}
floors.chrf = {{ min = {chrf_floor} }}
floors.findings_rate = {{ max = 1.0 }}
[models.product-image-gan]
primary = {{ metric = "conditional_accuracy" }}
""")
    return str(path)


def overfit_tiny_generator(rows: list[dict], slot_tokens: bool = True, steps: int = 250):  # noqa: ANN201
    """A tiny GPT-2 trained ``steps`` steps on ``rows`` (until it knows them by heart): the
    Lightning module, its tokenizer (slots as tokens of their own, as training makes them, unless
    ``slot_tokens`` is off), the encoded examples and the examples."""
    import lightning as L
    import torch

    from labelops.textgen.data import build_example, collate, encode_example
    from labelops.textgen.model import TextGeneratorModule, small_gpt2
    from labelops.textgen.serialize import slot_names
    from labelops.textgen.tokenizer import add_slot_tokens, train_tokenizer

    examples = [build_example(row) for row in rows]
    tokenizer = train_tokenizer([t for e in examples for t in (e["prompt"], e["target"])] * 4, vocab_size=800)
    if slot_tokens:
        add_slot_tokens(tokenizer, {n for e in examples for n in slot_names(e["target"])})
    encoded = [encode_example(tokenizer, e["prompt"], e["target"], 320) for e in examples]
    network = small_gpt2(len(tokenizer), tokenizer.pad_token_id, tokenizer.eos_token_id, n_embd=64, n_layer=2, n_head=2)
    module = TextGeneratorModule(network, lr=5e-3, warmup_steps=10, max_steps=steps)
    loader = torch.utils.data.DataLoader(encoded, batch_size=8, shuffle=True,
                                         collate_fn=lambda b: collate(b, tokenizer.pad_token_id))
    L.seed_everything(0, verbose=False)
    L.Trainer(max_steps=steps, accelerator="cpu", logger=False, enable_checkpointing=False, enable_progress_bar=False,
              enable_model_summary=False, gradient_clip_val=1.0).fit(module, loader)
    return module, tokenizer, encoded, examples
