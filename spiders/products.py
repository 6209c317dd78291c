"""The ``products`` spider: walk a shop from start URLs and/or sitemaps, yield one item per product page.

What counts as a product page, and what is on it, is decided by one library function,
:func:`labelops.extraction.extract_product` (structured data, then site profiles), so every
improvement to extraction reaches the crawler. The spider itself only decides where to go:
inside the start URLs' domains, obeying robots.txt (a setting), within the page and depth limits.

    scrapy crawl products -a start_url=http://127.0.0.1:8000/ -a max_pages=100 -O items.jsonl
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import AsyncIterator, Iterable
from datetime import datetime, timezone
from typing import Any
from urllib.parse import urlsplit

import scrapy
from scrapy.http import Response, TextResponse
from scrapy.linkextractors import LinkExtractor
from scrapy.exceptions import IgnoreRequest
from scrapy.utils.sitemap import Sitemap, sitemap_urls_from_robots
from w3lib.url import canonicalize_url

from labelops.extraction import SiteProfiles, extract_product, warm_up

log = logging.getLogger(__name__)
PROGRESS_EVERY = 250  # pages between progress lines


def _split(value: str | Iterable[str] | None) -> list[str]:
    if not value:
        return []
    if isinstance(value, str):
        return [v.strip() for v in value.split(",") if v.strip()]
    return [v for v in value if v]


class ProductsSpider(scrapy.Spider):
    name = "products"

    def __init__(
        self,
        start_url: str | None = None,
        start_urls: str | list[str] | None = None,
        sitemap_url: str | list[str] | None = None,
        max_pages: int | str | None = None,
        profiles_dir: str | None = None,
        **kwargs: Any,
    ):
        super().__init__(**kwargs)
        self.start_urls = _split(start_url) + _split(start_urls)
        self.sitemap_urls = _split(sitemap_url)
        if not self.start_urls and not self.sitemap_urls:
            raise ValueError("give at least one start_url or sitemap_url")
        for url in self.start_urls + self.sitemap_urls:
            if urlsplit(url).scheme not in ("http", "https") or not urlsplit(url).hostname:
                raise ValueError(f"not an http(s) URL: {url!r}")
        # Stay inside the domains we were pointed at (OffsiteMiddleware reads allowed_domains).
        self.allowed_domains = sorted({urlsplit(u).hostname for u in self.start_urls + self.sitemap_urls})
        self._max_pages_arg = max_pages
        self.profiles = SiteProfiles.load(*_split(profiles_dir))
        warm_up()  # before any request is in flight: the first extraction's tables would stall the event loop
        self.link_extractor = LinkExtractor(unique=True)
        self._scheduled: set[str] = set()
        self._budget_used = 0  # page requests counted against max_pages

    @classmethod
    def from_crawler(cls, crawler, *args: Any, **kwargs: Any) -> "ProductsSpider":  # noqa: ANN001
        spider = super().from_crawler(crawler, *args, **kwargs)
        limit = spider._max_pages_arg
        spider.max_pages = int(limit) if limit not in (None, "") else crawler.settings.getint("LABELOPS_MAX_PAGES", 0)
        return spider

    # -- where to go --------------------------------------------------------------------
    async def start(self) -> AsyncIterator[scrapy.Request]:
        for url in self.sitemap_urls:
            yield scrapy.Request(url, callback=self.parse_sitemap, errback=self.on_error)
        for url in self.start_urls:
            request = self._page_request(url)
            if request is not None:
                yield request

    def _in_scope(self, url: str) -> bool:
        """Inside the start URLs' domains (by host name; ports do not matter)."""
        host = (urlsplit(url).hostname or "").lower()
        return any(host == domain or host.endswith("." + domain) for domain in self.allowed_domains)

    def _page_request(self, url: str) -> scrapy.Request | None:
        """A request for an in-scope page, unless it was scheduled before or the page budget is spent."""
        if not self._in_scope(url):
            self.crawler.stats.inc_value("labelops/links_offsite")
            return None
        key = canonicalize_url(url)
        if key in self._scheduled:
            return None
        if self.max_pages and self._budget_used >= self.max_pages:
            self.crawler.stats.inc_value("labelops/pages_over_limit")
            return None
        self._scheduled.add(key)
        self._budget_used += 1
        return scrapy.Request(url, callback=self.parse, errback=self.on_error)

    def parse_sitemap(self, response: Response) -> Iterable[scrapy.Request]:
        """Follow a sitemap (or sitemap index, or robots.txt's Sitemap lines) to its pages."""
        if response.url.endswith("/robots.txt"):
            for url in sitemap_urls_from_robots(response.text, base_url=response.url):
                yield scrapy.Request(url, callback=self.parse_sitemap, errback=self.on_error)
        else:
            yield from self._sitemap_requests(response)

    def _sitemap_requests(self, response: Response) -> Iterable[scrapy.Request]:
        try:
            sitemap = Sitemap(response.body)
        except Exception:  # noqa: BLE001 - a broken sitemap is a fact to count, not a crash
            self.crawler.stats.inc_value("labelops/sitemaps_unreadable")
            self.logger.warning("unreadable sitemap %s", response.url)
            sitemap = []
        for entry in sitemap:
            loc = entry.get("loc")
            if loc and sitemap.type == "sitemapindex":
                yield scrapy.Request(loc, callback=self.parse_sitemap, errback=self.on_error)
            elif loc and (request := self._page_request(loc)) is not None:
                yield request

    # -- what is on a page ----------------------------------------------------------------
    def parse(self, response: Response) -> Iterable[Any]:
        stats = self.crawler.stats
        stats.inc_value("labelops/pages_seen")
        if stats.get_value("labelops/pages_seen") % PROGRESS_EVERY == 0:
            log.info("crawled %d pages (%d product pages) of %d found so far",
                     stats.get_value("labelops/pages_seen"), stats.get_value("labelops/product_pages", 0),
                     len(self._scheduled))
        if not isinstance(response, TextResponse):
            stats.inc_value("labelops/pages_not_html")
            return
        product = extract_product(response.body, response.url, profiles=self.profiles)
        if product is not None:
            stats.inc_value("labelops/product_pages")
            yield {
                **product.model_dump(),
                "url": response.url,
                "source": urlsplit(response.url).hostname,
                "crawled_at": datetime.now(timezone.utc).isoformat(),
                "raw_hash": hashlib.sha256(response.body).hexdigest(),
                "images": [],
            }
        else:
            stats.inc_value("labelops/other_pages")
        try:
            links = self.link_extractor.extract_links(response)
        except Exception:  # noqa: BLE001 - garbage markup: nothing to follow
            stats.inc_value("labelops/pages_unparseable")
            return
        for link in links:
            request = self._page_request(link.url)
            if request is not None:
                yield request

    def on_error(self, failure: Any) -> None:
        """A page that could not be fetched (after retries): count it by kind, keep crawling."""
        if failure.check(IgnoreRequest) and getattr(failure.value, "response", None) is None:
            self.crawler.stats.inc_value("labelops/pages_skipped")  # robots.txt said no
            self._budget_used -= 1  # never fetched: it does not count against max_pages
            return
        reason = type(failure.value).__name__
        response = getattr(failure.value, "response", None)
        if response is not None:
            reason = f"HTTP {response.status}"
        self.crawler.stats.inc_value("labelops/pages_failed")
        self.crawler.stats.inc_value(f"labelops/pages_failed/{reason}")
        self.logger.info("could not fetch %s: %s", failure.request.url, reason)
