"""Item pipelines: download images into the data root, then write the raw item line.

Images land at ``images/<sha1 of url>.jpg`` (the storage convention), and the item's
``images`` lists them relative to the data root. Failed downloads become a warning on the
item, never an exception: validation decides what a product without an image means.
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime, timezone
from typing import Any

from itemadapter import ItemAdapter
from scrapy.pipelines.images import ImagesPipeline

from labelops.contracts import RawItem
from labelops.storage import DataRoot


class ProductImagesPipeline(ImagesPipeline):
    """Scrapy's images pipeline with the labelops file layout."""

    def file_path(self, request, response=None, info=None, *, item=None) -> str:  # noqa: ANN001
        return f"{hashlib.sha1(request.url.encode()).hexdigest()}.jpg"  # noqa: S324 - a name, not security

    def item_completed(self, results, item, info):  # noqa: ANN001
        adapter = ItemAdapter(item)
        adapter["images"] = [f"images/{result['path']}" for ok, result in results if ok]
        failed = [url for url, (ok, _) in zip(adapter.get("image_urls") or [], results) if not ok]
        if failed:
            adapter["warnings"] = [*(adapter.get("warnings") or []), *(f"image: download failed {u}" for u in failed)]
            info.spider.crawler.stats.inc_value("labelops/images_failed", len(failed))
        info.spider.crawler.stats.inc_value("labelops/images_downloaded", len(adapter["images"]))
        return item


class RawItemWriter:
    """Check each item against the ``RawItem`` contract and append it to ``raw/<crawl_id>/items.jsonl``."""

    def __init__(self, data_root: str, crawl_id: str | None):
        self.root = DataRoot(data_root)
        self.crawl_id = crawl_id or datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ") + "-cli"
        self._cm = None
        self._handle = None

    @classmethod
    def from_crawler(cls, crawler) -> "RawItemWriter":  # noqa: ANN001
        return cls(crawler.settings.get("LABELOPS_DATA", "./data"), crawler.settings.get("LABELOPS_CRAWL_ID"))

    def open_spider(self, spider: Any = None) -> None:
        self._cm = self.root.open(self.root.raw_items(self.crawl_id), "w", encoding="utf-8")
        self._handle = self._cm.__enter__()

    def process_item(self, item: Any, spider: Any = None) -> Any:
        record = RawItem.model_validate(ItemAdapter(item).asdict())
        self._handle.write(json.dumps(record.model_dump(mode="json"), ensure_ascii=False, sort_keys=True) + "\n")
        return item

    def close_spider(self, spider: Any = None) -> None:
        if self._cm is not None:
            self._cm.__exit__(None, None, None)
