"""Helpers for the training tests of every model: registered versions, a training killed mid-way."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path


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
