"""Item pipelines: download images into the data root, then write the raw item line.

Images land at ``images/<sha1 of url>.jpg`` (the storage convention), and the item's
``images`` lists them relative to the data root. Failed downloads become a warning on the
item, never an exception: validation decides what a product without an image means.

An image is measured from its header before it is decoded: one with more pixels than
``LABELOPS_CRAWL_MAX_IMAGE_PIXELS`` (an "image bomb": a small file declaring a huge picture) is
refused, and so is every image once the crawl has decoded ``LABELOPS_CRAWL_MAX_CRAWL_IMAGE_PIXELS``
in all. Both are counted in the crawl report. A local image file is written whole or not at all.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import secrets
import time
import warnings
from io import BytesIO
from pathlib import Path
from typing import Any

from itemadapter import ItemAdapter
from PIL import Image
from scrapy.pipelines.files import FSFilesStore
from scrapy.pipelines.images import ImageException, ImagesPipeline

from labelops import catalog
from labelops.contracts import RawItem
from labelops.crawl import new_crawl_id
from labelops.storage import DataRoot

log = logging.getLogger(__name__)


class ImageTooLarge(ImageException):
    """The image declares more pixels than one image may have."""


class ImageOverBudget(ImageException):
    """The crawl has decoded as many pixels as it may."""


class AtomicFSFilesStore(FSFilesStore):
    """Scrapy's local file store, writing each file under a temporary name and renaming it, so a
    crash never leaves a truncated image that later crawls would take as downloaded."""

    def persist_file(self, path, buf, info, meta=None, headers=None) -> None:  # noqa: ANN001
        target = self._get_filesystem_path(path)
        self._mkdir(target.parent, info)
        temporary = target.with_name(f".{target.name}.tmp-{secrets.token_hex(6)}")
        try:
            temporary.write_bytes(buf.getvalue())
            os.replace(temporary, target)
        finally:
            Path(temporary).unlink(missing_ok=True)


class ProductImagesPipeline(ImagesPipeline):
    """Scrapy's images pipeline with the labelops file layout and pixel limits."""

    STORE_SCHEMES = {**ImagesPipeline.STORE_SCHEMES, "": AtomicFSFilesStore, "file": AtomicFSFilesStore}

    def file_path(self, request, response=None, info=None, *, item=None) -> str:  # noqa: ANN001
        return f"{hashlib.sha1(request.url.encode()).hexdigest()}.jpg"  # noqa: S324 - a name, not security

    def get_images(self, response, request, info, *, item=None):  # noqa: ANN001, ANN201
        """Refuse an image by its declared size before anything decodes it."""
        settings, stats = info.spider.crawler.settings, info.spider.crawler.stats
        limit, budget = settings.getint("LABELOPS_MAX_IMAGE_PIXELS"), settings.getint("LABELOPS_MAX_CRAWL_IMAGE_PIXELS")
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", Image.DecompressionBombWarning)  # measured and refused below
                with Image.open(BytesIO(response.body)) as probe:  # reads the header only
                    width, height = probe.size
        except Image.DecompressionBombError as error:  # beyond Pillow's own hard limit
            raise ImageTooLarge(f"image too large: {error}") from error
        pixels = width * height
        if limit and pixels > limit:
            raise ImageTooLarge(f"image too large: {width}x{height} is {pixels / 1e6:.0f} Mpx, "
                                f"over the {limit / 1e6:g} Mpx allowed per image")
        used = stats.get_value("labelops/image_pixels", 0)
        if budget and used + pixels > budget:
            raise ImageOverBudget(f"image not decoded: the crawl has decoded {used / 1e6:.0f} Mpx of images, "
                                  f"its budget is {budget / 1e6:g} Mpx")
        stats.inc_value("labelops/image_pixels", pixels)
        yield from super().get_images(response, request, info, item=item)

    def item_completed(self, results, item, info):  # noqa: ANN001
        adapter = ItemAdapter(item)
        stats = info.spider.crawler.stats
        adapter["images"] = [catalog.image(result["path"]) for ok, result in results if ok]
        failed = [(url, _cause(getattr(result, "value", result)))
                  for url, (ok, result) in zip(adapter.get("image_urls") or [], results) if not ok]
        if failed:
            adapter["warnings"] = [*(adapter.get("warnings") or []),
                                   *(f"image: {_why(error)} {url}" for url, error in failed)]
            stats.inc_value("labelops/images_failed", len(failed))
            for kind, key in ((ImageTooLarge, "images_too_large"), (ImageOverBudget, "images_over_budget")):
                if refused := sum(isinstance(error, kind) for _, error in failed):
                    stats.inc_value(f"labelops/{key}", refused)
        stats.inc_value("labelops/images_downloaded", len(adapter["images"]))
        return item


def _cause(error: object) -> object:
    """Our refusal behind the exception Scrapy reports (it wraps it in a ``FileException``)."""
    seen = error
    while isinstance(seen, BaseException):
        if isinstance(seen, (ImageTooLarge, ImageOverBudget)):
            return seen
        seen = seen.__cause__ or seen.__context__
    return error


def _why(error: object) -> str:
    if isinstance(error, ImageTooLarge):
        return "too large, not downloaded:"
    if isinstance(error, ImageOverBudget):
        return "over the crawl's pixel budget, not downloaded:"
    return "download failed"


PROGRESS_SECONDS = 2.0
"""How often, at most, the crawl logs how many product pages it has written."""


class RawItemWriter:
    """Check each item against the ``RawItem`` contract and append it to ``raw/<crawl_id>/items.jsonl``
    (a process of a distributed crawl: to its own part, ``raw/<crawl_id>/parts/<worker>/items.jsonl``)."""

    def __init__(self, data_root: str, crawl_id: str | None, worker: str | None = None):
        self.root = DataRoot(data_root)
        self.crawl_id = crawl_id or new_crawl_id()
        self.path = catalog.raw_items_part(self.crawl_id, worker) if worker else catalog.raw_items(self.crawl_id)
        self._cm = None
        self._handle = None
        self.written = 0
        self._reported = time.monotonic()

    @classmethod
    def from_crawler(cls, crawler) -> "RawItemWriter":  # noqa: ANN001
        settings = crawler.settings
        return cls(settings.get("LABELOPS_DATA", "./data"), settings.get("LABELOPS_CRAWL_ID"),
                   settings.get("LABELOPS_CRAWL_WORKER"))

    def open_spider(self, spider: Any = None) -> None:
        self._cm = self.root.open(self.path, "w", encoding="utf-8")
        self._handle = self._cm.__enter__()

    def process_item(self, item: Any, spider: Any = None) -> Any:
        record = RawItem.model_validate(ItemAdapter(item).asdict())
        self._handle.write(json.dumps(record.model_dump(mode="json"), ensure_ascii=False, sort_keys=True) + "\n")
        self.written += 1
        if time.monotonic() - self._reported >= PROGRESS_SECONDS:
            self._reported = time.monotonic()
            log.info("crawl progress: %d product pages written", self.written)
        return item

    def close_spider(self, spider: Any = None) -> None:
        if self._cm is not None:
            self._cm.__exit__(None, None, None)
