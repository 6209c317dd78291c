"""Policy files: versioned TOML beside the code (gate.toml, retrain.toml), or the file a setting
names (``LABELOPS_GATE_POLICY``, ``LABELOPS_RETRAIN_POLICY``). A decision records the file and its
sha256."""

from __future__ import annotations

import hashlib
import tomllib
from pathlib import Path
from typing import Any

from labelops.settings import Settings


def read_policy(default: Path, setting: str, what: str, path: str | Path | None = None) -> dict[str, Any]:
    """The policy's TOML as a dict, plus ``source`` (its path) and ``sha256`` (of its bytes).

    ``path`` wins over the setting named ``setting`` (``"gate_policy"``), which wins over
    ``default``. The setting is read afresh at every decision, so a served deployment follows a
    changed ``LABELOPS_*_POLICY`` without a restart.
    """
    path = Path(path or getattr(Settings(), setting) or default)
    if not path.exists():
        raise FileNotFoundError(f"no {what} at {path}")
    raw = path.read_bytes()
    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except tomllib.TOMLDecodeError as error:
        raise ValueError(f"{what} {path} is not valid TOML: {error}") from error
    return {**data, "source": str(path), "sha256": hashlib.sha256(raw).hexdigest()}
