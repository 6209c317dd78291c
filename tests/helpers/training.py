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
