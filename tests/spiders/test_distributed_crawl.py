"""Distributed crawling: separate crawl processes sharing one frontier in a real Redis.

Each test starts Debian's redis-server on 127.0.0.1 (skips when it is not installed) and crawls a
real shop served on 127.0.0.1 whose server counts the requests it answers.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from labelops import catalog
from labelops.crawl import CrawlReport, raw_items_paths
from labelops.ingest import normalize_crawl, publish_snapshot, validate_crawl
from labelops.settings import CrawlSettings
from labelops.snapshot import read_snapshot
from labelops.storage import DataRoot
from spiders.distributed import DistributedCrawlError, crawl_distributed, run_worker
from spiders.frontier import FrontierKeys, FrontierUnavailable, connect
from spiders.runner import crawl
from tests.helpers.counting_server import counting_server
from tests.helpers.servers import ServerUnavailable, free_port, redis_server

FAST = {"autothrottle": False, "download_images": False}


@pytest.fixture
def redis_url(tmp_path: Path):
    try:
        with redis_server(tmp_path / "redis") as url:
            yield url
    except ServerUnavailable as why:
        pytest.skip(str(why))


@pytest.fixture(scope="module")
def small_shop(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from labelops.shop import generate_demo_shop

    site = tmp_path_factory.mktemp("shop") / "site"
    generate_demo_shop(site, products=40, seed=0)
    return site


def _publish(root: DataRoot, crawl_id: str) -> list[dict]:
    normalize_crawl(root, crawl_id)
    validation = validate_crawl(root, crawl_id, data_docs=False)
    snapshot = publish_snapshot(root, validation, max_invalid_share=0.2)
    return read_snapshot(root, snapshot.snapshot_id).to_pylist()


def _page_requests(record) -> dict[str, int]:  # noqa: ANN001
    return {path: n for path, n in record.paths().items() if path != "/robots.txt"}


def test_two_processes_crawl_the_demo_shop_once_and_publish_what_one_process_does(small_shop, redis_url, tmp_path):
    root = DataRoot(str(tmp_path / "data"))
    # each response takes 20 ms, so that the crawl lasts long enough for both processes to take part
    with counting_server(small_shop, delay=0.02) as (base_url, record):
        report = crawl_distributed([base_url + "/"], root, CrawlSettings(autothrottle=False), redis_url=redis_url,
                                   processes=2, crawl_id="two")
        fetched_by_two = _page_requests(record)
    with counting_server(small_shop) as (base_url_one, record_one):
        single = crawl([base_url_one + "/"], root, CrawlSettings(autothrottle=False), crawl_id="one")

    assert max(fetched_by_two.values()) == 1, {p: n for p, n in fetched_by_two.items() if n > 1}
    assert len(fetched_by_two) == len(_page_requests(record_one)), sorted(set(fetched_by_two) ^ set(_page_requests(record_one)))  # nothing missed
    assert len(report.pages_by_worker) == 2 and all(report.pages_by_worker.values()), report.pages_by_worker
    assert (report.pages_seen, report.product_pages, report.items_written) == (
        single.pages_seen, single.product_pages, single.items_written)
    parts = [CrawlReport.model_validate(root.read_json(catalog.crawl_stats_part("two", w))) for w in report.pages_by_worker]
    assert sum(part.pages_seen for part in parts) == report.pages_seen
    assert CrawlReport.model_validate(root.read_json(catalog.crawl_stats("two"))) == report
    assert len(raw_items_paths(root, "two")) == 2
    assert not list(connect(redis_url).scan_iter(match=f"{FrontierKeys('two').prefix}:*"))  # cleaned up

    two, one = _publish(root, "two"), _publish(root, "one")
    strip = base_url.rstrip("/"), base_url_one.rstrip("/")
    assert len(two) == len(one) >= single.product_pages - 1  # the demo shop has one product without a price
    assert sorted(row["url"].replace(strip[0], "") for row in two) == sorted(row["url"].replace(strip[1], "") for row in one)
    assert sorted(row["sku"] for row in two) == sorted(row["sku"] for row in one)


def test_two_processes_keep_the_per_domain_delay_of_one(small_shop, redis_url, tmp_path):
    delay = 0.1
    settings = CrawlSettings(download_delay=delay, **FAST)
    with counting_server(small_shop) as (base_url, record):
        report = crawl_distributed([base_url + "/"], DataRoot(str(tmp_path / "data")), settings, redis_url=redis_url,
                                   processes=2, crawl_id="polite")
    arrivals = record.times()
    gaps = [b - a for a, b in zip(arrivals, arrivals[1:])]
    assert len(arrivals) >= 12 and all(report.pages_by_worker.values()), report.pages_by_worker
    # Requests start `delay` apart across both processes: the middleware's turns are. The server sees
    # each request a little after its turn (the client's own latency, up to `jitter` on two loaded
    # cores), so any k+1 consecutive arrivals span at least k delays less that jitter. Two processes
    # each keeping the delay alone would send twice as often and fail this by far for k >= 4.
    jitter = 0.15
    worst = min(arrivals[i + k] - arrivals[i] - (k * delay - jitter)
                for k in range(1, len(arrivals)) for i in range(len(arrivals) - k))
    assert worst >= 0, (worst, sorted(gaps)[:5])


def test_two_processes_share_the_per_domain_concurrency(small_shop, redis_url, tmp_path):
    settings = CrawlSettings(concurrent_per_domain=2, **FAST)
    with counting_server(small_shop, delay=0.1) as (base_url, record):
        report = crawl_distributed([base_url + "/"], DataRoot(str(tmp_path / "data")), settings, redis_url=redis_url,
                                   processes=2, crawl_id="shared-slots")
    assert all(report.pages_by_worker.values()) and len(report.pages_by_worker) == 2, report.pages_by_worker
    assert record.max_in_flight == 2  # each process alone may have 2 in flight: together still 2


def test_unreachable_redis_is_one_clear_error(tmp_path):
    url = f"redis://127.0.0.1:{free_port()}/0"
    with pytest.raises(FrontierUnavailable, match=f"cannot reach the crawl's Redis at {url}"):
        crawl_distributed(["http://127.0.0.1:9/"], DataRoot(str(tmp_path)), CrawlSettings(), redis_url=url,
                          processes=2, crawl_id="nowhere")
    from app.cli import app

    result = CliRunner().invoke(app, ["crawl-worker", "--crawl-id", "nowhere", "--redis-url", url])
    assert result.exit_code == 1
    assert f"cannot reach the crawl's Redis at {url}" in result.output and "Traceback" not in result.output


def test_joining_a_crawl_that_does_not_exist_says_so(redis_url, tmp_path):
    with pytest.raises(DistributedCrawlError, match="no crawl 'ghost' in the Redis"):
        run_worker("ghost", redis_url, data_root=str(tmp_path))


def test_several_processes_need_a_redis():
    with pytest.raises(ValueError, match="need a Redis"):
        CrawlSettings(processes=2).distributed
    assert CrawlSettings().distributed is False


@pytest.mark.shared_data
def test_two_processes_crawl_the_books_mirror_to_its_996_listings(shared_data, redis_url, tmp_path):
    site = shared_data / "books-toscrape" / "site"
    root = DataRoot(str(tmp_path / "data"))
    with counting_server(site) as (base_url, record):
        report = crawl_distributed([f"{base_url}/catalogue/frankenstein_20/index.html"], root, CrawlSettings(),
                                   redis_url=redis_url, processes=2, crawl_id="books")
        fetched = record.paths()

    listings = _publish(root, "books")
    # one process gives the mirror's 996 product pages (tests/test_ingest_books_mirror.py); so must two
    expected = {f"{base_url}/catalogue/{page.name}/index.html" for page in (site / "catalogue").iterdir()}
    assert len(expected) == 996
    assert sorted(row["url"] for row in listings) == sorted(expected)
    assert len({row["listing_id"] for row in listings}) == 996
    assert report.product_pages == report.items_written == 996
    pages = {path: n for path, n in fetched.items() if path != "/robots.txt"}
    assert max(pages.values()) == 1, {path: n for path, n in pages.items() if n > 1}  # nothing fetched twice
    assert len(report.pages_by_worker) == 2 and min(report.pages_by_worker.values()) > 100, report.pages_by_worker
    print(f"books mirror, 2 processes: {report.pages_seen} pages in {report.seconds:.1f} s "
          f"({report.pages_per_second:.1f} pages/s), by worker {report.pages_by_worker}")
