"""Shared fixtures: an isolated data root per test, offline settings, shared real data."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "90")
os.environ.setdefault("LABELOPS_IMAGE_EVALUATOR_STEPS", "20")  # the image evaluator trains briefly in tests
os.environ.setdefault("LABELOPS_TEXT_IMAGE_STEPS", "20")  # so does the text-image scorer

pytest_plugins = ["tests.helpers.s3"]  # s3_endpoint, s3_root: an S3 server on 127.0.0.1 for s3:// data roots


@pytest.fixture
def data_root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh, empty data root for one test (``LABELOPS_DATA`` points at it)."""
    from labelops.settings import get_settings

    root = tmp_path / "data"
    root.mkdir()
    monkeypatch.setenv("LABELOPS_DATA", str(root))
    get_settings.cache_clear()
    yield root
    get_settings.cache_clear()


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """Real product data beside the project; skips the test when LABELOPS_SHARED_DATA is unset."""
    value = os.environ.get("LABELOPS_SHARED_DATA")
    if not value:
        pytest.skip("LABELOPS_SHARED_DATA is not set")
    path = Path(value)
    if not path.is_dir():
        pytest.skip(f"LABELOPS_SHARED_DATA={value} is not a folder")
    return path


@pytest.fixture(scope="session")
def prefect_backend(tmp_path_factory: pytest.TempPathFactory):
    """A throwaway Prefect database and API for tests that run flows (about 15 s to start, once)."""
    os.environ["PREFECT_HOME"] = str(tmp_path_factory.mktemp("prefect-home"))
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=90):
        yield


CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.fixture
def page():
    """A page in the OS's headless Chromium (Playwright); dialogs are dismissed and kept in ``page.dialogs``."""
    if CHROMIUM is None:
        pytest.skip("Chromium is not installed (the CI installs Debian's chromium)")
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=[
            "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
            "--disable-component-update", "--disable-sync"])
        page = browser.new_page()
        page.dialogs = []
        page.on("dialog", lambda dialog: (page.dialogs.append(dialog.message), dialog.dismiss()))
        yield page
        browser.close()
