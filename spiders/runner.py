"""Run the ``products`` spider in this process and report what it did.

Scrapy runs "reactorless" (plain asyncio, Scrapy >= 2.19), so a process can crawl any number
of times: a Prefect worker runs many ingest flows without ReactorNotRestartable.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Sequence

from scrapy.crawler import AsyncCrawlerRunner
from scrapy.settings import Settings

from labelops import catalog
from labelops.crawl import CrawlReport, new_crawl_id
from labelops.settings import CrawlSettings
from labelops.storage import DataRoot
from spiders.products import ProductsSpider
from spiders.settings import scrapy_settings

log = logging.getLogger(__name__)


def _quiet_noisy_scrapy_loggers() -> None:
    # The reactorless download handler warns on every crawl that it is experimental, and the media
    # pipeline logs a traceback per failed image; failures are counted in the report instead.
    logging.getLogger("scrapy.core.downloader.handlers._base_streaming").setLevel(logging.ERROR)
    logging.getLogger("scrapy.pipelines.media").setLevel(logging.CRITICAL)


async def crawl_async(
    start_urls: Sequence[str],
    root: DataRoot,
    crawl: CrawlSettings,
    *,
    crawl_id: str | None = None,
    sitemap_urls: Sequence[str] = (),
    log_level: str = "WARNING",
    redis_url: str | None = None,
    worker: str | None = None,
) -> CrawlReport:
    """Crawl from ``start_urls``/``sitemap_urls`` into ``raw/<crawl_id>/`` of ``root``.

    With ``redis_url``, this process is ``worker``, one process of a distributed crawl (see
    :mod:`spiders.distributed`): it writes ``raw/<crawl_id>/parts/<worker>/`` and returns its part's report."""
    crawl_id = crawl_id or new_crawl_id()
    settings = Settings()
    settings.setdict(scrapy_settings(crawl, root.url, crawl_id, redis_url=redis_url, worker=worker), priority="project")
    settings.setdict({"TWISTED_REACTOR_ENABLED": False, "LOG_LEVEL": log_level}, priority="cmdline")
    _quiet_noisy_scrapy_loggers()
    runner = AsyncCrawlerRunner(settings)
    crawler = runner.create_crawler(ProductsSpider)
    started = time.perf_counter()
    await runner.crawl(crawler, start_urls=list(start_urls), sitemap_url=list(sitemap_urls))
    stats = crawler.stats.get_stats()
    prefix = "labelops/pages_failed/"
    report = CrawlReport(
        crawl_id=crawl_id,
        start_urls=list(start_urls),
        sitemap_urls=list(sitemap_urls),
        items_path=catalog.raw_items_part(crawl_id, worker) if redis_url else catalog.raw_items(crawl_id),
        pages_seen=stats.get("labelops/pages_seen", 0),
        product_pages=stats.get("labelops/product_pages", 0),
        other_pages=stats.get("labelops/other_pages", 0) + stats.get("labelops/pages_not_html", 0),
        pages_failed=stats.get("labelops/pages_failed", 0),
        failures_by_reason={k.removeprefix(prefix): v for k, v in stats.items() if k.startswith(prefix)},
        pages_skipped_by_robots=stats.get("labelops/pages_skipped", 0),
        sites_robots_unreachable=stats.get("labelops/robots_unreachable", 0),
        pages_over_limit=stats.get("labelops/pages_over_limit", 0),
        items_written=stats.get("item_scraped_count", 0),
        images_downloaded=stats.get("labelops/images_downloaded", 0),
        images_failed=stats.get("labelops/images_failed", 0),
        images_too_large=stats.get("labelops/images_too_large", 0),
        images_over_budget=stats.get("labelops/images_over_budget", 0),
        finish_reason=stats.get("finish_reason"),
        seconds=round(time.perf_counter() - started, 3),
    )
    if not root.exists(report.items_path):  # no product page at all: still leave an (empty) file
        with root.open(report.items_path, "w"):
            pass
    if redis_url:
        report.pages_by_worker = {worker: report.pages_seen}
    stats_path = catalog.crawl_stats_part(crawl_id, worker) if redis_url else catalog.crawl_stats(crawl_id)
    root.write_json(stats_path, report.model_dump(mode="json"))
    log.info(
        "crawl %s%s: %d pages seen, %d product pages, %d failed, %.1f pages/s -> %s",
        crawl_id, f" (worker {worker})" if redis_url else "", report.pages_seen, report.product_pages, report.pages_failed,
        report.pages_per_second, root.uri(report.items_path),
    )
    return report


def crawl(start_urls: Sequence[str], root: DataRoot, crawl: CrawlSettings, **kwargs) -> CrawlReport:
    """Synchronous :func:`crawl_async`; safe to call repeatedly in one process (not inside a running loop)."""
    return asyncio.run(crawl_async(start_urls, root, crawl, **kwargs))
