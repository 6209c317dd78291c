"""An S3 server on 127.0.0.1 for tests of s3:// data roots (moto, a dev extra).

A pytest plugin (``tests/conftest.py`` loads it), so any test may ask for ``s3_root``: the server
starts once per module that uses it, on a free port, and stops at the module's end; every test
gets a fresh bucket. The endpoint reaches s3fs, Scrapy and boto3 through ``AWS_ENDPOINT_URL``.
"""

from __future__ import annotations

import uuid
from pathlib import Path

import boto3
import pytest
import s3fs
from moto.server import ThreadedMotoServer

from labelops.settings import get_settings


@pytest.fixture(scope="module")
def s3_endpoint():
    """An S3-compatible server (moto) on 127.0.0.1, a free port; stopped after the module."""
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        yield f"http://{host}:{port}"
    finally:
        server.stop()


@pytest.fixture
def s3_root(s3_endpoint: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """A fresh bucket; ``LABELOPS_DATA=s3://<bucket>/labelops``, the endpoint from ``AWS_ENDPOINT_URL`` only."""
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL_S3", "FSSPEC_S3_ENDPOINT_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "labelops-test")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "labelops-test-secret")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_ENDPOINT_URL", s3_endpoint)
    bucket = f"labelops-{uuid.uuid4().hex[:12]}"
    client = boto3.client("s3")
    client.create_bucket(Bucket=bucket)
    monkeypatch.setenv("LABELOPS_DATA", f"s3://{bucket}/labelops")
    monkeypatch.setenv("LABELOPS_MLFLOW_URI", f"sqlite:///{tmp_path / 'mlflow.db'}")
    s3fs.S3FileSystem.clear_instance_cache()  # a cached client would keep another test's endpoint
    get_settings.cache_clear()
    try:
        yield client, bucket
    finally:
        get_settings.cache_clear()
        s3fs.S3FileSystem.clear_instance_cache()


def object_keys(client, bucket: str) -> set[str]:  # noqa: ANN001 - a boto3 S3 client
    pages = client.get_paginator("list_objects_v2").paginate(Bucket=bucket)
    return {item["Key"] for page in pages for item in page.get("Contents", [])}
