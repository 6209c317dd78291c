"""The ``labelops`` command line.

    labelops shop demo ./shop            # generate the demo shop
    labelops shop serve ./shop           # serve it on 127.0.0.1
    labelops ingest --start-url URL      # crawl → validate → publish a snapshot
    labelops demo                        # the whole pipeline on the demo shop
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from labelops.settings import get_settings
from labelops.shop.cli import shop_app

app = typer.Typer(help="Automatic product labelling: crawl shops, validate, train, gate, label.", no_args_is_help=True)
app.add_typer(shop_app, name="shop")
console = Console()


def print_ingest_summary(summary) -> None:  # noqa: ANN001 - labelops.ingest.IngestSummary, imported lazily
    """Counts, the quarantine by reason, and where every file went."""
    crawl, validation = summary.crawl, summary.validation
    table = Table(title=f"ingest {crawl.crawl_id}", show_header=False)
    table.add_row("pages seen", str(crawl.pages_seen))
    table.add_row("product pages", str(crawl.product_pages))
    table.add_row("pages failed", f"{crawl.pages_failed} {crawl.failures_by_reason or ''}")
    table.add_row("skipped by robots.txt", str(crawl.pages_skipped_by_robots))
    table.add_row("images downloaded / failed", f"{crawl.images_downloaded} / {crawl.images_failed}")
    if validation:
        table.add_row("valid listings", str(validation.valid))
        table.add_row("quarantined", str(validation.quarantined))
        for reason, count in validation.quarantined_by_reason.items():
            table.add_row(f"  {reason}", str(count))
    table.add_row("crawl time", f"{crawl.seconds:.1f} s ({crawl.pages_per_second:.1f} pages/s)")
    console.print(table)
    root = summary.data_root
    console.print(f"raw items:   {root}/{crawl.items_path}")
    if validation:
        console.print(f"quarantine:  {root}/{validation.quarantine_path}")
        if validation.data_docs:
            console.print(f"Data Docs:   {validation.data_docs}")
    if summary.publish:
        state = "unchanged (same content as an earlier ingest)" if summary.publish.already_existed else "published"
        console.print(f"[bold green]snapshot {summary.publish.snapshot_id}[/] {state}: {summary.publish.path}")
    if summary.error:
        console.print(f"[bold red]{summary.error}[/]")


def run_ingest(start_urls: list[str], sitemap_urls: list[str], max_pages: int | None,
               max_invalid_share: float | None = None, obey_robots: bool = True):
    """Run the ingest flow in this process and return its summary (also on failure)."""
    from labelops.runtime import quiet_third_party_logs, use_embedded_prefect

    settings = get_settings()
    use_embedded_prefect(settings)
    quiet_third_party_logs()
    from flows.ingest import ingest
    from labelops.crawl import new_crawl_id
    from labelops.ingest import IngestSummary, summary_path
    from labelops.storage import DataRoot

    root, crawl_id = DataRoot(settings.data), new_crawl_id()
    state = ingest(start_urls=start_urls, sitemap_urls=sitemap_urls, max_pages=max_pages,
                   max_invalid_share=max_invalid_share, obey_robots=obey_robots, crawl_id=crawl_id,
                   return_state=True)
    summary = None
    if root.exists(summary_path(crawl_id)):
        summary = IngestSummary.model_validate(root.read_json(summary_path(crawl_id)))
    return state, summary


@app.command()
def ingest(
    start_url: Annotated[list[str], typer.Option("--start-url", "-u", help="page(s) to start crawling from")] = [],
    sitemap: Annotated[list[str], typer.Option("--sitemap", help="sitemap.xml or robots.txt URL(s) to start from")] = [],
    max_pages: Annotated[int | None, typer.Option(help="stop after this many pages (default: LABELOPS_CRAWL_MAX_PAGES, 0 = all)")] = None,
    max_invalid_share: Annotated[float | None, typer.Option(help="fail when a larger share of rows is invalid (default 0.2)")] = None,
    ignore_robots: Annotated[bool, typer.Option("--ignore-robots", help="do not obey robots.txt (only for sites you own)")] = False,
) -> None:
    """Crawl a shop, validate its listings and publish a snapshot; print the snapshot id and counts."""
    if not start_url and not sitemap:
        raise typer.BadParameter("give --start-url or --sitemap")
    state, summary = run_ingest(start_url, sitemap, max_pages, max_invalid_share, not ignore_robots)
    if summary is not None:
        print_ingest_summary(summary)
    if state.is_failed():
        console.print(f"[bold red]ingest failed:[/] {state.message}")
        raise typer.Exit(1)
    console.print(state.result())


def main() -> None:
    app()


if __name__ == "__main__":
    main()
