"""Shared fixtures: one demo shop of 500 products for the whole session."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from labelops.shop import generate_demo_shop


@pytest.fixture(scope="session")
def demo_shop(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The default demo shop (500 products, seed 0), generated once."""
    out_dir = tmp_path_factory.mktemp("demo-shop") / "site"
    generate_demo_shop(out_dir, products=500, seed=0)
    return out_dir


@pytest.fixture(scope="session")
def demo_catalog(demo_shop: Path) -> list[dict]:
    """The ground-truth rows of the demo shop."""
    lines = (demo_shop / "_catalog" / "catalog.jsonl").read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines]
