"""The data root on S3: the real storage, snapshot and ingest code against an S3 server on 127.0.0.1.

The server is moto's (``moto[server]``, a dev extra; see :mod:`tests.helpers.s3`). The production
stack (docker/compose.yaml) points the same code at MinIO with the same variables:
``LABELOPS_DATA=s3://...`` and ``AWS_ENDPOINT_URL``, which botocore reads, so s3fs (fsspec),
Scrapy's image store and boto3 all find the endpoint.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import s3fs

from labelops.ingest import normalize_crawl, publish_snapshot, validate_crawl
from labelops.settings import Settings, get_settings
from labelops.snapshot import latest_snapshot_id, read_snapshot
from labelops.storage import DataRoot
from tests.helpers.listings import publish_demo_snapshot
from tests.helpers.s3 import object_keys


def test_settings_need_an_mlflow_uri_for_an_s3_root(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.delenv("LABELOPS_MLFLOW_URI", raising=False)
    settings = Settings(data="s3://labelops/data")
    assert not settings.data_is_local
    with pytest.raises(ValueError, match="LABELOPS_MLFLOW_URI"):
        settings.tracking_uri
    assert Settings(data="s3://labelops/data", mlflow_uri="http://mlflow:5000").tracking_uri == "http://mlflow:5000"


def test_a_snapshot_is_published_to_s3_and_read_back(s3_root):
    client, bucket = s3_root
    settings = get_settings()
    assert settings.data == f"s3://{bucket}/labelops"
    root = DataRoot(settings.data)
    assert not root.is_local and isinstance(root.fs, s3fs.S3FileSystem)

    snapshot_id = publish_demo_snapshot(root, 40, images=True)

    keys = object_keys(client, bucket)
    assert {f"labelops/snapshots/{snapshot_id}/{name}" for name in ("listings.parquet", "manifest.json")} <= keys
    assert "labelops/snapshots/latest.json" in keys
    assert not any(".staging" in key or ".incoming" in key for key in keys), keys  # nothing left half-moved
    assert latest_snapshot_id(root) == snapshot_id
    table = read_snapshot(root)
    assert table.num_rows == json.loads(
        client.get_object(Bucket=bucket, Key=f"labelops/snapshots/{snapshot_id}/manifest.json")["Body"].read())["rows"]
    assert table.num_rows > 30
    images = [path for paths in table.column("images").to_pylist() for path in paths]
    assert images and all(f"labelops/{path}" in keys for path in images)
    with root.open(images[0], "rb") as handle:
        assert handle.read(3) == b"\xff\xd8\xff"  # a JPEG
    # content-addressed on S3 too: the same rows give the same id and no second folder
    assert publish_demo_snapshot(root, 40, images=False) != snapshot_id  # different rows (no images) ...
    assert publish_demo_snapshot(root, 40, images=True) == snapshot_id  # ... the same rows, the same id
    snapshots = {key.split("/")[2] for key in object_keys(client, bucket) if key.startswith("labelops/snapshots/")}
    assert len(snapshots - {"latest.json"}) == 2


def test_the_ingest_of_a_demo_shop_lands_in_s3(s3_root, tmp_path: Path):
    """The real crawl (Scrapy, images included), normalisation, Great Expectations and publish, into S3."""
    from labelops.shop import generate_demo_shop, serve_folder
    from spiders.runner import crawl

    client, bucket = s3_root
    settings = get_settings()
    root = DataRoot(settings.data)
    generate_demo_shop(tmp_path / "shop", products=40, seed=0)
    with serve_folder(tmp_path / "shop") as base_url:
        report = crawl([base_url + "/"], root, settings.crawl, crawl_id="s3", sitemap_urls=[base_url + "/sitemap.xml"])
    assert report.product_pages == report.items_written == 40
    assert report.images_downloaded > 30

    normalize_crawl(root, "s3")
    validation = validate_crawl(root, "s3")
    published = publish_snapshot(root, validation, max_invalid_share=0.2)

    assert validation.rows == validation.valid + validation.quarantined == 40
    assert 0 < validation.quarantined < 10  # the demo shop's deliberate defects
    assert published.path == f"s3://{bucket}/labelops/snapshots/{published.snapshot_id}/listings.parquet"
    keys = object_keys(client, bucket)
    for key in ("raw/s3/items.jsonl", "raw/s3/crawl.json", "quarantine/s3.parquet", "data_docs/index.html",
                f"snapshots/{published.snapshot_id}/listings.parquet",
                f"snapshots/{published.snapshot_id}/validation.json",
                f"snapshots/{published.snapshot_id}/manifest.json"):
        assert f"labelops/{key}" in keys, key
    assert validation.data_docs == f"s3://{bucket}/labelops/data_docs/index.html"
    snapshot = read_snapshot(root)
    assert snapshot.num_rows == validation.valid
    # the spider's images: under images/<sha1>.jpg of the data root, as the listings say
    images = [path for paths in snapshot.column("images").to_pylist() for path in paths]
    assert images and all(path.startswith("images/") and f"labelops/{path}" in keys for path in images)
    assert not any(key.startswith("labelops/images") and not key.startswith("labelops/images/") for key in keys)


@pytest.mark.slow  # ~8 s itself, but ~30 s more when it is the test that starts the Prefect test server
def test_the_ingest_flow_publishes_to_s3(prefect_backend, s3_root, tmp_path: Path):
    """The Prefect flow the worker runs (tasks, results, the summary artifact) with an s3:// data root."""
    from flows.ingest import ingest
    from labelops.catalog import ingest_summary_path
    from labelops.ingest import IngestSummary
    from labelops.shop import generate_demo_shop, serve_folder

    client, bucket = s3_root
    generate_demo_shop(tmp_path / "shop", products=30, seed=1)
    with serve_folder(tmp_path / "shop") as base_url:
        snapshot_id = ingest(start_urls=[base_url + "/"], sitemap_urls=[base_url + "/sitemap.xml"], crawl_id="flow")
    root = DataRoot(get_settings().data)
    summary = IngestSummary.model_validate(root.read_json(ingest_summary_path("flow")))
    assert summary.data_root == f"s3://{bucket}/labelops"
    assert summary.snapshot_id == snapshot_id == latest_snapshot_id(root)
    assert summary.reconciles() and summary.crawl.product_pages == 30
    assert f"labelops/snapshots/{snapshot_id}/listings.parquet" in object_keys(client, bucket)


def test_data_docs_on_s3_keep_every_validation(s3_root):
    """Each validation fetches the kept results, adds its own and uploads the site: the index on S3 lists both."""
    import pandas as pd

    from labelops.validation import DataDocs, SuiteValidator, validation_frame
    from tests.test_validation import GOOD

    client, bucket = s3_root
    root = DataRoot(get_settings().data)
    urls = []
    for listing_id in ("first", "second"):
        docs = DataDocs(root)
        SuiteValidator("listings", docs=docs).validate(validation_frame(pd.DataFrame([{**GOOD, "listing_id": listing_id}])))
        urls.append(docs.publish())
    assert urls[-1] == f"s3://{bucket}/labelops/data_docs/index.html"
    keys = object_keys(client, bucket)
    pages = sorted(k.removeprefix("labelops/data_docs/") for k in keys
                   if k.startswith("labelops/data_docs/validations/listings/"))
    assert len(pages) == 2
    assert len([k for k in keys if k.startswith("labelops/validation_results/listings/")]) == 2
    index = s3fs.S3FileSystem().cat(f"{bucket}/labelops/data_docs/index.html").decode()
    assert all(page in index for page in pages)
    assert "expectations/feedback.html" in index and "expectations/labels.html" in index
