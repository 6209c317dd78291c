"""Tasks around the demo shop."""

from __future__ import annotations

from pathlib import Path

from prefect import task

from labelops.shop import generate_demo_shop


@task(name="build demo shop", cache_policy=None)
def build_demo_shop(out_dir: Path, products: int, seed: int) -> Path:
    """Generate the demo shop once; an existing shop with the same size and seed is reused (it is deterministic)."""
    if (out_dir / "_catalog" / "catalog.jsonl").exists():
        return out_dir
    generate_demo_shop(out_dir, products, seed)
    return out_dir
