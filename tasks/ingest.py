"""Tasks of the ingest flow: each wraps one ``labelops`` stage."""

from __future__ import annotations

from prefect import task
from prefect.artifacts import create_markdown_artifact, create_table_artifact

from labelops import catalog
from labelops import ingest as stages
from labelops.crawl import CrawlReport
from labelops.settings import CrawlSettings
from labelops.storage import DataRoot
from spiders import distributed, runner as crawling


@task(name="crawl shop", retries=2, retry_delay_seconds=10, cache_policy=None)
def crawl_shop(start_urls: list[str], sitemap_urls: list[str], root: DataRoot, crawl: CrawlSettings,
               crawl_id: str) -> CrawlReport:
    """Crawl the shop (network: retried). A retry rewrites the crawl's raw items from scratch.

    With ``crawl.redis_url``: ``crawl.processes`` crawl processes started here (and any that join
    with ``labelops crawl-worker``) share one frontier in that Redis."""
    if crawl.distributed:
        return distributed.crawl_distributed(start_urls, root, crawl, sitemap_urls=sitemap_urls, crawl_id=crawl_id,
                                             redis_url=crawl.redis_url, processes=crawl.processes)
    return crawling.crawl(start_urls, root, crawl, sitemap_urls=sitemap_urls, crawl_id=crawl_id)


@task(name="normalise listings", cache_policy=None)
def normalize_listings(root: DataRoot, crawl_id: str) -> stages.NormalizeReport:
    return stages.normalize_crawl(root, crawl_id)


@task(name="validate listings", cache_policy=None)
def validate_listings(root: DataRoot, crawl_id: str, batch_rows: int) -> stages.ValidationReport:
    return stages.validate_crawl(root, crawl_id, batch_rows=batch_rows)


@task(name="publish snapshot", cache_policy=None)
def publish_snapshot(root: DataRoot, validation: stages.ValidationReport, max_invalid_share: float,
                     manifest: dict) -> stages.PublishReport:
    return stages.publish_snapshot(root, validation, max_invalid_share, manifest)


@task(name="report ingest", cache_policy=None)
def report_ingest(root: DataRoot, summary: stages.IngestSummary) -> None:
    """Save the summary beside the raw items and show it as a Prefect markdown artifact."""
    root.write_json(catalog.ingest_summary_path(summary.crawl.crawl_id), summary.model_dump(mode="json"))
    create_markdown_artifact(key="ingest-summary", markdown=summary.to_markdown(), description="Counts of the ingest run")
    create_table_artifact(key="ingest-counts", table=[{"what": what, "count": value} for what, value in summary.counts()],
                          description="Counts of the ingest run")
