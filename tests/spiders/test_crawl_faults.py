"""A crawl of a misbehaving shop finishes, crashes nowhere, and its counts reconcile."""

from __future__ import annotations

from labelops.ingest import normalize_crawl, validate_crawl
from labelops.settings import CrawlSettings
from labelops.storage import DataRoot
from spiders.runner import crawl
from tests.helpers.fault_server import BROKEN, GOOD_PRODUCTS, fault_server


def test_faulty_shop_crawl_finishes_and_counts_reconcile(tmp_path):
    root = DataRoot(str(tmp_path / "data"))
    settings = CrawlSettings(download_timeout=1.0, retry_times=1, max_page_bytes=1024 * 1024, autothrottle=False)
    with fault_server() as base_url:
        report = crawl([base_url + "/"], root, settings, crawl_id="faults")

    assert report.finish_reason == "finished"
    # every good product page plus the flaky one (saved by a retry) is an item
    assert report.product_pages == report.items_written == GOOD_PRODUCTS + 1
    assert report.images_downloaded == GOOD_PRODUCTS + 1
    # 500s, time-outs and huge bodies failed after retries; garbage was fetched but holds no product
    assert report.pages_failed == BROKEN["err500"] + BROKEN["slow"] + BROKEN["huge"]
    assert report.failures_by_reason.get("HTTP 500") == BROKEN["err500"]
    assert report.pages_seen == 1 + GOOD_PRODUCTS + 1 + BROKEN["garbage"]
    assert report.pages_seen == report.product_pages + report.other_pages

    normalized = normalize_crawl(root, "faults")
    validation = validate_crawl(root, "faults", data_docs=False)
    assert normalized.items == report.items_written
    assert validation.rows == validation.valid + validation.quarantined == report.product_pages


def test_two_crawls_in_one_process(tmp_path):
    """Reactorless Scrapy: a second crawl in the same process works (no ReactorNotRestartable)."""
    root = DataRoot(str(tmp_path / "data"))
    settings = CrawlSettings(autothrottle=False, download_images=False, max_pages=5)
    with fault_server() as base_url:
        first = crawl([base_url + "/"], root, settings, crawl_id="one")
        second = crawl([base_url + "/"], root, settings, crawl_id="two")
    assert first.pages_seen == second.pages_seen == 5
    assert first.items_written == second.items_written > 0


def test_an_unreachable_robots_txt_disallows_the_site_and_a_missing_one_allows_it(tmp_path):
    """RFC 9309: robots.txt answering 5xx means "crawl nothing" (Scrapy alone would crawl
    everything), a 404 means no rules. The report says which sites were left alone."""
    settings = CrawlSettings(download_images=False, retry_times=0)
    root = DataRoot(str(tmp_path / "data"))
    with fault_server(robots_status=503) as base_url:
        unreachable = crawl([base_url + "/"], root, settings, crawl_id="robots-503")
    assert unreachable.sites_robots_unreachable == 1
    assert unreachable.pages_seen == 0 and unreachable.product_pages == 0
    assert unreachable.pages_skipped_by_robots == 1  # the start page, refused
    with fault_server(robots_status=404) as base_url:
        missing = crawl([base_url + "/"], root, settings, crawl_id="robots-404")
    assert missing.sites_robots_unreachable == 0 and missing.product_pages >= GOOD_PRODUCTS


def test_requests_waiting_together_for_robots_txt_are_all_judged_by_it(tmp_path):
    """Every request that arrives while robots.txt is being fetched waits for it. Scrapy handed the
    rules to the first waiter only and "no rules" to the others, so disallowed pages requested in
    that moment were fetched (a distributed crawl's process starts with many at once)."""
    from labelops.shop import generate_demo_shop
    from tests.helpers.counting_server import counting_server

    site = tmp_path / "site"
    generate_demo_shop(site, products=4, seed=0)
    settings = CrawlSettings(download_images=False, retry_times=0, autothrottle=False)
    with counting_server(site) as (base_url, record):
        report = crawl([f"{base_url}/cart/add/item-{i}.html" for i in range(8)] + [base_url + "/"],
                       DataRoot(str(tmp_path / "data")), settings, crawl_id="waiters")
    assert not [path for path in record.paths() if path.startswith("/cart/")]
    assert report.pages_skipped_by_robots >= 8 and report.product_pages == 4
