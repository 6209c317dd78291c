"""Ingest speed and memory at two shop sizes, beside a bare Scrapy crawl of the same pages.

    python benchmarks/ingest.py                 # 500 and 10,000 products
    python benchmarks/ingest.py --sizes 500     # just the small shop

For each size, the demo shop is generated once and served on 127.0.0.1; then, each in a fresh
process so peak memory is its own:
  * baseline: a bare Scrapy crawl that follows every link (no extraction, no pipelines, no images)
  * labelops: the ingest stages (crawl with extraction + image downloads, normalise, validate, publish)
Prints one table: pages, seconds, pages/s and peak RSS (MiB) for both.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def run_baseline(base_url: str) -> dict:
    """Bare Scrapy: same politeness settings, follows links, does nothing else."""
    import scrapy
    from scrapy.crawler import AsyncCrawlerRunner
    from scrapy.linkextractors import LinkExtractor
    from scrapy.settings import Settings

    from labelops.settings import CrawlSettings
    from spiders.settings import scrapy_settings

    class BareSpider(scrapy.Spider):
        name = "bare"
        start_urls = [base_url + "/"]
        allowed_domains = ["127.0.0.1"]
        links = LinkExtractor()  # OffsiteMiddleware keeps it on allowed_domains

        def parse(self, response):
            self.crawler.stats.inc_value("bare/pages")
            for link in self.links.extract_links(response):
                yield scrapy.Request(link.url)

    settings = Settings()
    config = scrapy_settings(CrawlSettings(download_images=False), "/tmp/unused", "bare")
    config["ITEM_PIPELINES"] = {}
    settings.setdict(config, priority="project")
    settings.setdict({"TWISTED_REACTOR_ENABLED": False, "LOG_LEVEL": "ERROR"}, priority="cmdline")

    async def crawl() -> dict:
        runner = AsyncCrawlerRunner(settings)
        crawler = runner.create_crawler(BareSpider)
        started = time.perf_counter()
        await runner.crawl(crawler)
        return {"pages": crawler.stats.get_value("bare/pages", 0), "seconds": time.perf_counter() - started}

    return asyncio.run(crawl())


def run_labelops(base_url: str, data: str) -> dict:
    import logging

    from spiders.runner import crawl
    from labelops.ingest import normalize_crawl, publish_snapshot, validate_crawl
    from labelops.settings import CrawlSettings
    from labelops.storage import DataRoot

    logging.disable(logging.WARNING)
    root = DataRoot(data)
    started = time.perf_counter()
    report = crawl([base_url + "/"], root, CrawlSettings(), crawl_id="bench", log_level="ERROR")
    crawled = time.perf_counter()
    normalize_crawl(root, "bench")
    validation = validate_crawl(root, "bench")
    publish_snapshot(root, validation, max_invalid_share=0.2)
    finished = time.perf_counter()
    return {"pages": report.pages_seen, "seconds": finished - started, "crawl_seconds": crawled - started,
            "products": report.product_pages, "valid": validation.valid, "quarantined": validation.quarantined}


def child(mode: str, base_url: str, data: str) -> None:
    result = run_baseline(base_url) if mode == "baseline" else run_labelops(base_url, data)
    from labelops.resources import peak_rss_mib

    result["peak_rss_mib"] = peak_rss_mib()
    print(json.dumps(result))


def measure(mode: str, base_url: str, data: str) -> dict:
    out = subprocess.run([sys.executable, __file__, "--child", mode, base_url, data],
                         check=True, capture_output=True, text=True, cwd=ROOT)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[500, 10_000])
    parser.add_argument("--child", nargs=3, metavar=("MODE", "BASE_URL", "DATA"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        return child(*args.child)

    from rich.console import Console
    from rich.table import Table

    from labelops.shop import generate_demo_shop, serve_folder

    table = Table(title="ingest of the demo shop (2 CPU cores, 127.0.0.1)")
    for column in ("products", "run", "pages", "seconds", "pages/s", "peak RSS MiB", "notes"):
        table.add_column(column, justify="right" if column not in ("run", "notes") else "left")
    with tempfile.TemporaryDirectory(prefix="labelops-bench-") as tmp:
        for size in args.sizes:
            shop = Path(tmp) / f"shop-{size}"
            started = time.perf_counter()
            generate_demo_shop(shop, products=size, seed=0)
            print(f"built a {size}-product shop in {time.perf_counter() - started:.1f} s", file=sys.stderr)
            with serve_folder(shop) as base_url:
                for mode in ("baseline", "labelops"):
                    result = measure(mode, base_url, str(Path(tmp) / f"data-{size}-{mode}"))
                    notes = "follow links only" if mode == "baseline" else (
                        f"crawl {result['crawl_seconds']:.1f} s incl. images; {result['valid']} valid, "
                        f"{result['quarantined']} quarantined")
                    table.add_row(str(size), mode, str(result["pages"]), f"{result['seconds']:.1f}",
                                  f"{result['pages'] / result['seconds']:.1f}", f"{result['peak_rss_mib']:.0f}", notes)
    Console(width=160).print(table)


if __name__ == "__main__":
    main()
