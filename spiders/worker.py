"""One process of a distributed crawl (what :func:`spiders.distributed.crawl_distributed` starts).

    python -m spiders.worker --crawl-id 20250101T000000-ab12 --redis-url redis://127.0.0.1:6379/0

Exits 0 when the whole crawl is done, 1 with one line on stderr when it cannot join (Redis
unreachable, no such crawl), 2 on a usage error.
"""

from __future__ import annotations

import argparse
import logging
import sys

from spiders.distributed import DistributedCrawlError, run_worker, worker_name
from spiders.frontier import FrontierUnavailable


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m spiders.worker", description=__doc__.splitlines()[0])
    parser.add_argument("--crawl-id", required=True)
    parser.add_argument("--redis-url", required=True)
    parser.add_argument("--data-root", help="default: the data root the crawl was started with")
    parser.add_argument("--log-level", default="WARNING", help="Scrapy's log level (labelops logs at INFO)")
    args = parser.parse_args(argv)
    worker = worker_name()
    logging.basicConfig(level=args.log_level, stream=sys.stderr,
                        format=f"%(asctime)s [worker {worker}] %(name)s %(levelname)s: %(message)s")
    for name in ("labelops", "spiders"):
        logging.getLogger(name).setLevel(logging.INFO)
    try:
        run_worker(args.crawl_id, args.redis_url, data_root=args.data_root, worker=worker, log_level=args.log_level)
    except (FrontierUnavailable, DistributedCrawlError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
