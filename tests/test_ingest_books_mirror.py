"""Real pages: the books.toscrape.com mirror ingests to 996 valid listings equal to the reference.

Needs LABELOPS_SHARED_DATA (CI sets it to ../shared/data); skips cleanly without it.
"""

from __future__ import annotations

import json
from decimal import Decimal

import pytest

from labelops.catalog import ingest_summary_path
from labelops.ingest import IngestSummary
from labelops.shop import serve_folder
from labelops.snapshot import read_snapshot
from labelops.storage import DataRoot

pytestmark = pytest.mark.shared_data


def test_books_mirror_ingests_to_the_reference(prefect_backend, data_root, shared_data):
    from flows.ingest import ingest

    books = shared_data / "books-toscrape"
    reference = json.loads((books / "reference.json").read_text())
    categories = {c["id"]: c["name"] for c in reference["categories"]}
    by_upc = {p["properties"]["UPC"]: p for p in reference["products"]}

    with serve_folder(books / "site") as base_url:
        snapshot_id = ingest(start_urls=[f"{base_url}/catalogue/frankenstein_20/index.html"], crawl_id="books")

    root = DataRoot(str(data_root))
    summary = IngestSummary.model_validate(root.read_json(ingest_summary_path("books")))
    assert summary.validation.quarantined == 0, summary.validation.quarantined_by_reason
    listings = read_snapshot(root, snapshot_id).to_pylist()
    assert len(listings) == 996
    assert summary.crawl.images_downloaded == 996
    for listing in listings:
        book = by_upc[listing["sku"]]
        assert listing["title"] == book["name"]
        assert (Decimal(listing["price"]), listing["currency"]) == (Decimal(book["price"].lstrip("£")), "GBP")
        assert listing["rating"] == book["rating"]
        # the mirror's breadcrumb spells "Childrens" where the reference says "Children's"
        assert listing["category_path"][-1].replace("'", "") == categories[book["category_id"]].replace("'", "")
        assert (listing["description"] or "") == " ".join(book["description"].split())
        assert listing["images"] and listing["images"][0].startswith("images/")
    print(f"books mirror: {summary.crawl.pages_seen} pages in {summary.crawl.seconds:.1f} s "
          f"({summary.crawl.pages_per_second:.1f} pages/s)")
