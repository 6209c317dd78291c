"""`labelops ingest` prints the same counts and places as the ingest's markdown summary."""

from __future__ import annotations

import app.cli as cli
from labelops.crawl import CrawlReport
from labelops.ingest import IngestSummary


def test_the_cli_summary_shows_every_count_and_where_files_went(capsys, monkeypatch):
    from rich.console import Console

    monkeypatch.setattr(cli, "console", Console(width=200, force_terminal=False))
    report = CrawlReport(crawl_id="c1", start_urls=["http://127.0.0.1/"], items_path="raw/c1/items.jsonl",
                         pages_seen=7, product_pages=5, pages_failed=2,
                         failures_by_reason={"[bold]http 500": 2}, seconds=2.0)
    summary = IngestSummary(data_root="/tmp/data", crawl=report, error="crawl [red]stopped")
    cli.print_ingest_summary(summary)
    out = capsys.readouterr().out
    for name, value in summary.counts():
        assert name in out and value in out
    assert "failed: [bold]http 500" in out  # markup in a reason is printed, not obeyed
    assert "raw/c1/items.jsonl" in out and "/tmp/data" in out
    assert "crawl [red]stopped" in out
    markdown = summary.to_markdown()
    assert "| pages seen | 7 |" in markdown and "- raw items: `raw/c1/items.jsonl`" in markdown
