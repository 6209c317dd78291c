"""A crawl, as the library knows it: its id, its report (the Scrapy runner that fills the
report is :mod:`spiders.runner`) and where its raw items are.

A crawl by one process writes ``raw/<crawl_id>/items.jsonl``; a distributed crawl (several processes
sharing one Redis frontier, :mod:`spiders.distributed`) writes one part per process under
``raw/<crawl_id>/parts/<worker>/``, and its report is the parts' reports summed
(:meth:`CrawlReport.combine`). :func:`raw_items_paths` lists what a crawl wrote, either way.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

from pydantic import BaseModel, Field

from labelops import catalog
from labelops.ids import time_ordered_id
from labelops.storage import DataRoot

_SUMMED = ("pages_seen", "product_pages", "other_pages", "pages_failed", "pages_skipped_by_robots",
           "sites_robots_unreachable", "pages_over_limit",
           "items_written", "images_downloaded", "images_failed", "images_too_large", "images_over_budget")


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
    sites_robots_unreachable: int = Field(0, description="sites whose robots.txt could not be read (5xx, network "
                                                         "error): none of their pages was crawled (RFC 9309)")
    pages_over_limit: int = 0
    items_written: int = 0
    images_downloaded: int = 0
    images_failed: int = 0
    images_too_large: int = Field(0, description="of images_failed: declared more pixels than allowed")
    images_over_budget: int = Field(0, description="of images_failed: refused once the crawl's pixel budget was spent")
    finish_reason: str | None = None
    seconds: float = 0.0
    pages_by_worker: dict[str, int] = Field(default_factory=dict,
                                            description="distributed crawls: pages seen by each crawl process")

    @property
    def pages_per_second(self) -> float:
        return self.pages_seen / self.seconds if self.seconds else 0.0

    @classmethod
    def combine(cls, crawl_id: str, parts: dict[str, "CrawlReport"], seconds: float) -> "CrawlReport":
        """One report for a distributed crawl: the counts of its parts (worker name → report) summed,
        ``seconds`` the wall time of the whole crawl."""
        failures: Counter[str] = Counter()
        for part in parts.values():
            failures.update(part.failures_by_reason)
        reasons = {part.finish_reason for part in parts.values()}
        first = next(iter(parts.values()), None)
        return cls(
            crawl_id=crawl_id,
            start_urls=first.start_urls if first else [],
            sitemap_urls=first.sitemap_urls if first else [],
            items_path=catalog.crawl_parts(crawl_id),
            **{name: sum(getattr(part, name) for part in parts.values()) for name in _SUMMED},
            failures_by_reason=dict(sorted(failures.items())),
            finish_reason=reasons.pop() if len(reasons) == 1 else ", ".join(sorted(map(str, reasons))) or None,
            seconds=round(seconds, 3),
            pages_by_worker={worker: part.pages_seen for worker, part in sorted(parts.items())},
        )


def crawl_workers(root: DataRoot, crawl_id: str) -> list[str]:
    """The crawl processes that wrote a part of a distributed crawl (none for a one-process crawl)."""
    return root.listdir(catalog.crawl_parts(crawl_id))


def raw_items_paths(root: DataRoot, crawl_id: str) -> list[str]:
    """The raw items files of a crawl: ``items.jsonl`` of a one-process crawl, and each part of a
    distributed one (in worker order)."""
    single = [catalog.raw_items(crawl_id)] if root.exists(catalog.raw_items(crawl_id)) else []
    parts = [catalog.raw_items_part(crawl_id, worker) for worker in crawl_workers(root, crawl_id)]
    return single + [path for path in parts if root.exists(path)]


def part_reports(root: DataRoot, crawl_id: str, workers: Sequence[str] | None = None) -> dict[str, CrawlReport]:
    """The reports the parts of a distributed crawl wrote (``workers``: only these)."""
    reports = {}
    for worker in crawl_workers(root, crawl_id) if workers is None else workers:
        path = catalog.crawl_stats_part(crawl_id, worker)
        if root.exists(path):
            reports[worker] = CrawlReport.model_validate(root.read_json(path))
    return reports


def new_crawl_id() -> str:
    """A sortable, unique crawl id (:func:`labelops.ids.time_ordered_id`)."""
    return time_ordered_id()
