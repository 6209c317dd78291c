"""A crawl, as the library knows it: its id and its report (the Scrapy runner that fills the
report is :mod:`spiders.runner`)."""

from __future__ import annotations

from pydantic import BaseModel, Field

from labelops.ids import time_ordered_id


class CrawlReport(BaseModel):
    """What one crawl saw and wrote; saved as ``raw/<crawl_id>/crawl.json``."""

    crawl_id: str
    start_urls: list[str]
    sitemap_urls: list[str] = Field(default_factory=list)
    items_path: str
    pages_seen: int = 0
    product_pages: int = 0
    other_pages: int = 0
    pages_failed: int = 0
    failures_by_reason: dict[str, int] = Field(default_factory=dict)
    pages_skipped_by_robots: int = 0
    pages_over_limit: int = 0
    items_written: int = 0
    images_downloaded: int = 0
    images_failed: int = 0
    images_too_large: int = Field(0, description="of images_failed: declared more pixels than allowed")
    images_over_budget: int = Field(0, description="of images_failed: refused once the crawl's pixel budget was spent")
    finish_reason: str | None = None
    seconds: float = 0.0

    @property
    def pages_per_second(self) -> float:
        return self.pages_seen / self.seconds if self.seconds else 0.0


def new_crawl_id() -> str:
    """A sortable, unique crawl id (:func:`labelops.ids.time_ordered_id`)."""
    return time_ordered_id()
