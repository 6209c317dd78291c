"""Named file locks: one process at a time for the steps that must not run twice at once.

A lock file lives under ``<data>/locks/`` (or the temp folder when the data root is remote; across
machines, the deployments' Prefect concurrency limits play that part). Used by the gate (one
champion move per model at a time) and by the feedback flow (one retraining decision at a time).
"""

from __future__ import annotations

import re
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from filelock import FileLock, Timeout

from labelops.settings import Settings, get_settings


class LockTimeout(RuntimeError):
    """Another process held the lock for longer than we were willing to wait."""


def lock_dir(settings: Settings) -> Path:
    base = settings.local_data_path if settings.data_is_local else Path(tempfile.gettempdir()) / "labelops"
    path = base / "locks"
    path.mkdir(parents=True, exist_ok=True)
    return path


@contextmanager
def named_lock(name: str, settings: Settings | None = None, timeout: float = 600) -> Iterator[Path]:
    """Hold the lock ``<locks>/<name>.lock`` (``name`` is made file-safe); yields its path."""
    settings = settings or get_settings()
    path = lock_dir(settings) / f"{re.sub(r'[^A-Za-z0-9_.-]', '_', name)}.lock"
    try:
        with FileLock(str(path), timeout=timeout):
            yield path
    except Timeout as error:
        raise LockTimeout(f"another process has held {path} for over {timeout:.0f} s") from error
