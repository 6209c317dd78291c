"""Pages/s of the books mirror crawled by 1 process and by N processes sharing a Redis frontier.

    LABELOPS_SHARED_DATA=../shared/data python benchmarks/distributed_crawl.py --processes 1 2

Starts redis-server on 127.0.0.1 (Debian's, must be installed) and serves the mirror on 127.0.0.1;
each row is one whole crawl (images included) with the default politeness settings. "1 (no Redis)"
is today's default one-process crawl; the others are :func:`spiders.distributed.crawl_distributed`.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--processes", type=int, nargs="+", default=[1, 2])
    args = parser.parse_args()
    if not os.environ.get("LABELOPS_SHARED_DATA"):
        sys.exit("set LABELOPS_SHARED_DATA to the folder holding books-toscrape/")
    site = Path(os.environ["LABELOPS_SHARED_DATA"]) / "books-toscrape" / "site"
    logging.disable(logging.WARNING)

    from rich.console import Console
    from rich.table import Table

    from labelops.settings import CrawlSettings
    from labelops.shop import serve_folder
    from labelops.storage import DataRoot
    from spiders.distributed import crawl_distributed
    from spiders.runner import crawl
    from tests.helpers.servers import redis_server

    table = Table(title=f"books mirror crawl ({os.cpu_count()} CPU cores, 127.0.0.1)")
    for column in ("processes", "pages", "product pages", "seconds", "pages/s", "pages by process"):
        table.add_column(column, justify="left" if column in ("processes", "pages by process") else "right")
    with tempfile.TemporaryDirectory(prefix="labelops-bench-") as tmp, redis_server(Path(tmp) / "redis") as url, \
            serve_folder(site) as base_url:
        start = [f"{base_url}/catalogue/frankenstein_20/index.html"]
        for n in args.processes:
            root = DataRoot(str(Path(tmp) / f"data-{n}"))
            if n == 1:
                report = crawl(start, root, CrawlSettings(), crawl_id="bench", log_level="ERROR")
                label = "1 (no Redis)"
            else:
                report = crawl_distributed(start, root, CrawlSettings(), redis_url=url, processes=n, crawl_id="bench",
                                           log_level="ERROR")
                label = f"{n} (Redis frontier)"
            table.add_row(label, str(report.pages_seen), str(report.product_pages), f"{report.seconds:.1f}",
                          f"{report.pages_per_second:.1f}", ", ".join(map(str, report.pages_by_worker.values())))
    Console(width=140).print(table)


if __name__ == "__main__":
    main()
