"""A crawl by several processes, on one or several machines, sharing one Redis frontier.

    report = crawl_distributed([url], root, crawl, redis_url="redis://127.0.0.1:6379/0", processes=2, crawl_id="c1")

The *coordinator* (:func:`crawl_distributed`) clears the crawl's Redis keys and its parts, writes
what the crawl is (start URLs, politeness settings, data root) under ``labelops:crawl:<id>:meta``,
starts ``processes`` worker processes here (``python -m spiders.worker``), and waits. More workers
may join from other machines with the crawl id and the same Redis (``labelops crawl-worker``,
:func:`run_worker`): they read the crawl from Redis and write their parts to the same data root,
which must therefore be one they all reach (an ``s3://`` root, or a shared disk).

Each worker crawls with the shared scheduler of :mod:`spiders.frontier` and writes
``raw/<crawl_id>/parts/<worker>/{items.jsonl,crawl.json}``; workers stop together when the shared
frontier is empty and none of them is still working on a page. The coordinator then waits for the
parts of every worker that joined, sums their reports into ``raw/<crawl_id>/crawl.json`` and deletes
the crawl's Redis keys.
"""

from __future__ import annotations

import logging
import os
import re
import socket
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from labelops import catalog
from labelops.crawl import CrawlReport, part_reports
from labelops.settings import CrawlSettings
from labelops.storage import DataRoot
from spiders.frontier import FrontierKeys, clear_crawl, connect, read_meta, write_meta
from spiders.runner import crawl

log = logging.getLogger(__name__)

JOINED_WORKERS_WAIT_S = 120.0
"""How long the coordinator waits, after its own processes ended, for the parts of workers that joined
from elsewhere (they stop at the same moment; this covers writing their part)."""


class DistributedCrawlError(RuntimeError):
    """A distributed crawl could not start or a crawl process failed (the crawl may have missed pages)."""


def worker_name() -> str:
    """This process's name in a crawl: ``<host>-<pid>`` (a file name: other characters become ``-``)."""
    return re.sub(r"[^A-Za-z0-9_.-]", "-", f"{socket.gethostname()}-{os.getpid()}")


def start_crawl(redis_url: str, crawl_id: str, start_urls: Sequence[str], sitemap_urls: Sequence[str],
                root: DataRoot, crawl_settings: CrawlSettings, processes: int = 1) -> None:
    """Make ``crawl_id`` a fresh distributed crawl: no Redis keys or parts of an earlier attempt, and
    its description in Redis for the workers (``processes``: how many start together, and wait for
    each other before taking work)."""
    client, keys = connect(redis_url), FrontierKeys(crawl_id)
    if cleared := clear_crawl(client, keys):
        log.info("crawl %s: removed %d Redis keys of an earlier attempt", crawl_id, cleared)
    root.remove(catalog.crawl_parts(crawl_id), recursive=True)
    write_meta(client, keys, {"start_urls": list(start_urls), "sitemap_urls": list(sitemap_urls),
                              "crawl": crawl_settings.model_dump(mode="json"), "data_root": root.url,
                              "processes": processes})


def run_worker(crawl_id: str, redis_url: str, *, data_root: str | None = None, worker: str | None = None,
               log_level: str = "WARNING") -> CrawlReport:
    """Join distributed crawl ``crawl_id`` as one crawl process; returns this process's part report."""
    client, keys = connect(redis_url), FrontierKeys(crawl_id)
    meta = read_meta(client, keys)
    if meta is None:
        raise DistributedCrawlError(f"no crawl {crawl_id!r} in the Redis at {redis_url} (finished, or not started: "
                                    "start it with `labelops ingest --redis-url ...`)")
    worker = worker or worker_name()
    root = DataRoot(data_root or meta["data_root"])
    log.info("worker %s joins crawl %s (Redis %s, data root %s)", worker, crawl_id, redis_url, root.url)
    report = crawl(meta["start_urls"], root, CrawlSettings.model_validate(meta["crawl"]), crawl_id=crawl_id,
                   sitemap_urls=meta["sitemap_urls"], log_level=log_level, redis_url=redis_url, worker=worker)
    client.hset(keys.done, worker, report.pages_seen)
    return report


def _worker_env() -> dict[str, str]:
    """The environment of a worker process: this one's, with the project importable."""
    project = str(Path(__file__).resolve().parent.parent)
    paths = [project, *(p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p and p != project)]
    return {**os.environ, "PYTHONPATH": os.pathsep.join(paths)}


def _wait_for_joined_workers(redis_url: str, keys: FrontierKeys, timeout: float) -> list[str]:
    """Wait until every worker that joined has finished; returns those that did not in time."""
    client = connect(redis_url)
    deadline = time.monotonic() + timeout
    while True:
        missing = sorted(w.decode() for w in client.smembers(keys.workers) - set(client.hkeys(keys.done)))
        if not missing or time.monotonic() > deadline:
            return missing
        time.sleep(0.2)


def crawl_distributed(
    start_urls: Sequence[str],
    root: DataRoot,
    crawl_settings: CrawlSettings,
    *,
    redis_url: str,
    processes: int,
    crawl_id: str,
    sitemap_urls: Sequence[str] = (),
    log_level: str = "WARNING",
) -> CrawlReport:
    """Crawl with ``processes`` worker processes on this machine (and any that join) sharing the
    frontier in ``redis_url``; returns the report of the whole crawl (its parts summed)."""
    if processes < 1:
        raise ValueError("a distributed crawl needs at least one process here")
    started = time.perf_counter()
    keys = FrontierKeys(crawl_id)
    start_crawl(redis_url, crawl_id, start_urls, sitemap_urls, root, crawl_settings, processes)
    command = [sys.executable, "-m", "spiders.worker", "--crawl-id", crawl_id, "--redis-url", redis_url,
               "--log-level", log_level]
    log.info("crawl %s: starting %d crawl processes sharing the frontier in %s", crawl_id, processes, redis_url)
    workers = [subprocess.Popen(command, env=_worker_env()) for _ in range(processes)]
    try:
        codes = [worker.wait() for worker in workers]
    finally:
        for worker in workers:  # interrupted: stop the processes this call started
            if worker.poll() is None:
                worker.terminate()
                worker.wait(30)
    if failed := [code for code in codes if code != 0]:
        raise DistributedCrawlError(f"crawl {crawl_id}: {len(failed)} of {processes} crawl processes failed "
                                    f"(exit codes {failed}); pages they held may be missing")
    missing = _wait_for_joined_workers(redis_url, keys, JOINED_WORKERS_WAIT_S)
    if missing:
        log.warning("crawl %s: workers %s joined but did not finish within %.0f s; their parts are left out",
                    crawl_id, ", ".join(missing), JOINED_WORKERS_WAIT_S)
    client = connect(redis_url)
    finished = [w.decode() for w in client.hkeys(keys.done)]
    report = CrawlReport.combine(crawl_id, part_reports(root, crawl_id, finished), time.perf_counter() - started)
    root.write_json(catalog.crawl_stats(crawl_id), report.model_dump(mode="json"))
    clear_crawl(client, keys)
    log.info("crawl %s: %d pages seen by %d processes (%s), %d product pages, %d failed, %.1f pages/s",
             crawl_id, report.pages_seen, len(report.pages_by_worker),
             ", ".join(f"{w}: {n}" for w, n in report.pages_by_worker.items()), report.product_pages,
             report.pages_failed, report.pages_per_second)
    return report
