"""Policy files: versioned TOML beside the code (gate.toml, retrain.toml), or the file a setting
names (``LABELOPS_GATE_POLICY``, ``LABELOPS_RETRAIN_POLICY``). A decision records the file and its
sha256."""

from __future__ import annotations

import hashlib
import tomllib
from pathlib import Path
from typing import Any


def read_policy(default: Path, setting: Path | None, what: str, path: str | Path | None = None) -> dict[str, Any]:
    """The policy's TOML as a dict, plus ``source`` (its path) and ``sha256`` (of its bytes).

    ``path`` wins over ``setting`` (the ``LABELOPS_*_POLICY`` value), which wins over ``default``.
    Callers read the setting afresh at every decision (``Settings()``, not the cached settings),
    so a served deployment follows a changed policy file without a restart.
    """
    path = Path(path or setting or default)
    if not path.exists():
        raise FileNotFoundError(f"no {what} at {path}")
    raw = path.read_bytes()
    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except tomllib.TOMLDecodeError as error:
        raise ValueError(f"{what} {path} is not valid TOML: {error}") from error
    return {**data, "source": str(path), "sha256": hashlib.sha256(raw).hexdigest()}
