"""The spider works as a normal Scrapy project from the repository root."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.helpers.fault_server import fault_server

ROOT = Path(__file__).resolve().parents[2]


def test_scrapy_crawl_products_from_the_project_root(tmp_path):
    out = tmp_path / "items.jsonl"
    env = {**os.environ, "LABELOPS_DATA": str(tmp_path / "data")}
    with fault_server() as base_url:
        subprocess.run(
            [sys.executable, "-m", "scrapy", "crawl", "products", "-a", f"start_url={base_url}/p/1",
             "-a", "max_pages=3", "-O", f"{out}:jsonlines", "-s", "LOG_LEVEL=WARNING"],
            cwd=ROOT, env=env, check=True, timeout=120,
        )
    items = [json.loads(line) for line in out.read_text().splitlines()]
    assert items and all(item["sku"].startswith("SKU-") for item in items)
    assert all(item["images"] and item["images"][0].startswith("images/") for item in items)
    # the raw-items pipeline also wrote its own copy into the data root
    assert list((tmp_path / "data" / "raw").glob("*/items.jsonl"))
