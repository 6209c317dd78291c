"""The raw item writer: every item kept, and the crawl's progress logged every few seconds."""

from __future__ import annotations

import json
import logging
from datetime import datetime, timezone

import spiders.pipelines as pipelines
from labelops import catalog
from labelops.storage import DataRoot


def _item(n: int) -> dict:
    return {"url": f"http://127.0.0.1/p/{n}", "source": "127.0.0.1", "crawled_at": datetime.now(timezone.utc),
            "raw_hash": f"h{n}", "title": f"Lamp {n}"}


def test_the_writer_keeps_every_item_and_logs_progress(tmp_path, monkeypatch, caplog):
    monkeypatch.setattr(pipelines, "PROGRESS_SECONDS", 0.0)
    writer = pipelines.RawItemWriter(str(tmp_path), "c1")
    writer.open_spider()
    with caplog.at_level(logging.INFO, logger="spiders.pipelines"):
        for n in range(3):
            writer.process_item(_item(n))
    writer.close_spider()
    lines = DataRoot(str(tmp_path)).path(catalog.raw_items("c1"))
    assert [json.loads(line)["title"] for line in open(lines, encoding="utf-8")] == ["Lamp 0", "Lamp 1", "Lamp 2"]
    assert "crawl progress: 3 product pages written" in caplog.messages
