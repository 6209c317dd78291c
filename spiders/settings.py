"""Scrapy settings of the labelops project.

Politeness knobs come from ``LABELOPS_CRAWL_*`` (see :class:`labelops.settings.CrawlSettings`),
so ``scrapy crawl products`` and the ingest flow behave the same.
"""

from labelops.settings import CrawlSettings, get_settings


SHARED_FRONTIER = {
    # scrapy-redis's scheduler and dupefilter over Redis, finishing when the whole crawl is done
    "SCHEDULER": "spiders.frontier.SharedFrontierScheduler",
    "DUPEFILTER_CLASS": "scrapy_redis.dupefilter.RFPDupeFilter",
}


def scrapy_settings(crawl: CrawlSettings, data_root: str, crawl_id: str | None, *, redis_url: str | None = None,
                    worker: str | None = None) -> dict:
    """The Scrapy settings for one crawl into ``data_root`` (``crawl_id`` names its raw folder).

    With ``redis_url`` this process is ``worker``, one of the processes of a distributed crawl: they
    share one frontier and dedup set in Redis, per-domain concurrency and delay hold across all of
    them (:mod:`spiders.frontier`), and this process writes its own part of the raw items."""
    settings = {
        "BOT_NAME": "labelops",
        "SPIDER_MODULES": ["spiders.products"],
        "NEWSPIDER_MODULE": "spiders.products",
        "USER_AGENT": crawl.user_agent,
        "ROBOTSTXT_OBEY": crawl.obey_robots,
        # an unreachable robots.txt (5xx, network error) disallows the site, as RFC 9309 asks
        "DOWNLOADER_MIDDLEWARES": {"scrapy.downloadermiddlewares.robotstxt.RobotsTxtMiddleware": None,
                                   "spiders.robots.StrictRobotsTxtMiddleware": 100},
        "CONCURRENT_REQUESTS": crawl.concurrent_requests,
        "CONCURRENT_REQUESTS_PER_DOMAIN": crawl.concurrent_per_domain,
        "DOWNLOAD_DELAY": crawl.download_delay,
        "AUTOTHROTTLE_ENABLED": crawl.autothrottle,
        "AUTOTHROTTLE_START_DELAY": max(crawl.download_delay, 0.01),
        "AUTOTHROTTLE_MAX_DELAY": 10.0,
        "AUTOTHROTTLE_TARGET_CONCURRENCY": crawl.autothrottle_target_concurrency,
        "RETRY_ENABLED": True,
        "RETRY_TIMES": crawl.retry_times,
        "DOWNLOAD_TIMEOUT": crawl.download_timeout,
        "DOWNLOAD_MAXSIZE": crawl.max_page_bytes,
        "DOWNLOAD_WARNSIZE": 0,
        "DEPTH_LIMIT": crawl.depth_limit,
        "COOKIES_ENABLED": False,
        "TELNETCONSOLE_ENABLED": False,
        "REMOTE_CONTROL_ENABLED": False,
        "LOG_LEVEL": "INFO",
        "REQUEST_FINGERPRINTER_IMPLEMENTATION": "2.7",
        "LABELOPS_DATA": data_root,
        "LABELOPS_CRAWL_ID": crawl_id,
        "LABELOPS_MAX_PAGES": crawl.max_pages,
        "LABELOPS_MAX_IMAGE_PIXELS": crawl.max_image_pixels,
        "LABELOPS_MAX_CRAWL_IMAGE_PIXELS": crawl.max_crawl_image_pixels,
        "ITEM_PIPELINES": {
            "spiders.pipelines.RawItemWriter": 900,
        },
    }
    if crawl.download_images:
        settings["ITEM_PIPELINES"]["spiders.pipelines.ProductImagesPipeline"] = 100
        settings["IMAGES_STORE"] = f"{data_root.rstrip('/')}/images/"  # the slash: Scrapy joins S3 keys as prefix + name
        settings["IMAGES_URLS_FIELD"] = "image_urls"
        settings["IMAGES_RESULT_FIELD"] = "images"
        settings["MEDIA_ALLOW_REDIRECTS"] = True
    if redis_url:
        if not crawl_id or not worker:
            raise ValueError("a distributed crawl needs its crawl id and this process's worker name")
        settings.update(SHARED_FRONTIER, LABELOPS_REDIS_URL=redis_url, LABELOPS_CRAWL_WORKER=worker,
                        # the delay between requests to a domain is kept across processes, exactly (no
                        # local randomised delay on top); AutoThrottle still slows a process down locally
                        LABELOPS_SHARED_DOWNLOAD_DELAY=crawl.download_delay, DOWNLOAD_DELAY=0.0,
                        DOWNLOADER_MIDDLEWARES={**settings["DOWNLOADER_MIDDLEWARES"],
                                                "spiders.frontier.SharedPolitenessMiddleware": 950})
    return settings


# Module-level values for `scrapy crawl products` from the project root.
_settings = get_settings()
globals().update(scrapy_settings(_settings.crawl, _settings.data, crawl_id=None))
