"""The ingest flow: crawl a shop → normalise → validate → publish a snapshot.

    labelops ingest --start-url http://127.0.0.1:8765/ --max-pages 2000
"""

from __future__ import annotations

from prefect import flow, get_run_logger

from labelops.crawl import new_crawl_id
from labelops.ingest import IngestError, IngestSummary
from labelops.settings import get_settings
from labelops.storage import DataRoot
from tasks.ingest import crawl_shop, normalize_listings, publish_snapshot, report_ingest, validate_listings


@flow(name="ingest", log_prints=True)
def ingest(
    start_urls: list[str],
    max_pages: int | None = None,
    sitemap_urls: list[str] | None = None,
    max_invalid_share: float | None = None,
    obey_robots: bool = True,
    crawl_id: str | None = None,
    redis_url: str | None = None,
    processes: int | None = None,
) -> str:
    """Crawl shops from ``start_urls`` (and ``sitemap_urls``), check every listing, publish a snapshot.

    Returns the snapshot id. Fails, publishing nothing, when more than ``max_invalid_share``
    of the rows break the listings expectations.

    Args:
        start_urls: the shops' pages the crawl starts from (their category pages and product links are followed)
        max_pages: stop the crawl after this many pages (empty: LABELOPS_CRAWL_MAX_PAGES)
        sitemap_urls: sitemaps (sitemap.xml) whose product pages are crawled too
        max_invalid_share: publish nothing when more than this share (0 to 1) of the listings break
            the expectations (empty: LABELOPS_MAX_INVALID_SHARE)
        obey_robots: respect the shops' robots.txt
        crawl_id: name of the raw crawl folder (empty: a new time-ordered id); the same id reruns that crawl
        redis_url: share the crawl's frontier in this Redis (redis://host:6379/0) so that several crawl
            processes, here and on other machines (`labelops crawl-worker`), crawl it together
            (empty: LABELOPS_CRAWL_REDIS_URL; none: one process, no Redis)
        processes: crawl processes to start here for a shared frontier (empty: LABELOPS_CRAWL_PROCESSES, 1)
    """
    logger = get_run_logger()
    settings = get_settings()
    root = DataRoot(settings.data)
    crawl_settings = settings.crawl.model_copy(update={
        "max_pages": settings.crawl.max_pages if max_pages is None else max_pages,
        "obey_robots": obey_robots,
        "redis_url": redis_url or settings.crawl.redis_url,
        "processes": processes or settings.crawl.processes,
    })
    share = settings.max_invalid_share if max_invalid_share is None else max_invalid_share

    crawl = crawl_shop(start_urls, sitemap_urls or [], root, crawl_settings, crawl_id or new_crawl_id())
    summary = IngestSummary(data_root=root.url, crawl=crawl)
    summary.normalize = normalize_listings(root, crawl.crawl_id)
    summary.validation = validate_listings(root, crawl.crawl_id, settings.validation_chunk_rows)
    try:
        summary.publish = publish_snapshot(root, summary.validation, share, {"start_urls": start_urls})
    except IngestError as error:
        summary.error = str(error)
        raise
    finally:
        report_ingest(root, summary)
    if not summary.reconciles():
        logger.warning("counts do not reconcile: %s", summary.to_markdown())
    logger.info("snapshot %s: %d listings, %d quarantined", summary.snapshot_id,
                summary.validation.valid, summary.validation.quarantined)
    return summary.snapshot_id
