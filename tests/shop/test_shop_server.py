"""serve_folder: static files over HTTP with the base URL filled in."""

from __future__ import annotations

import urllib.error
import urllib.request
from pathlib import Path

import pytest

from labelops.shop import BASE_URL_PLACEHOLDER, serve_folder


def _get(url: str) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, b""


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    (tmp_path / "index.html").write_text("<h1>home</h1>")
    (tmp_path / "robots.txt").write_text(f"User-agent: *\nSitemap: {BASE_URL_PLACEHOLDER}/sitemap.xml\n")
    (tmp_path / "sitemap.xml").write_text(f"<urlset><url><loc>{BASE_URL_PLACEHOLDER}/a.html</loc></url></urlset>")
    (tmp_path / "page.html").write_text(f"{BASE_URL_PLACEHOLDER} stays in html")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "file.txt").write_text("hidden from listings")
    return tmp_path


def test_serves_files_and_fills_in_the_base_url(folder: Path, capfd: pytest.CaptureFixture[str]) -> None:
    with serve_folder(folder) as base_url:
        assert base_url.startswith("http://127.0.0.1:")
        assert _get(base_url + "/") == (200, b"<h1>home</h1>")
        assert _get(base_url + "/robots.txt") == (200, f"User-agent: *\nSitemap: {base_url}/sitemap.xml\n".encode())
        status, body = _get(base_url + "/sitemap.xml")
        assert status == 200 and body == f"<urlset><url><loc>{base_url}/a.html</loc></url></urlset>".encode()
        assert _get(base_url + "/page.html") == (200, f"{BASE_URL_PLACEHOLDER} stays in html".encode())
        assert _get(base_url + "/sub/file.txt")[0] == 200
        assert _get(base_url + "/sub/")[0] == 404  # no directory listings
        assert _get(base_url + "/missing.html")[0] == 404
        assert _get(base_url + "/missing.xml")[0] == 404
    assert capfd.readouterr().err == ""
    with pytest.raises(urllib.error.URLError):
        urllib.request.urlopen(base_url + "/", timeout=2)


def test_serves_a_demo_shop(demo_shop: Path, demo_catalog: list[dict]) -> None:
    broken = next(row for row in demo_catalog if row["defect"] == "broken_image")
    good = next(row for row in demo_catalog if not row["defect"])
    with serve_folder(demo_shop) as base_url:
        assert _get(base_url + good["url"])[0] == 200
        status, image = _get(base_url + good["image"])
        assert status == 200 and image.startswith(b"\xff\xd8")
        assert _get(base_url + broken["image"])[0] == 404
        assert f"{base_url}{good['url']}".encode() in _get(base_url + "/sitemap.xml")[1]


def test_two_servers_at_once(folder: Path) -> None:
    with serve_folder(folder) as first, serve_folder(folder) as second:
        assert first != second
        assert _get(first + "/")[0] == _get(second + "/")[0] == 200


def test_not_a_folder(tmp_path: Path) -> None:
    with pytest.raises(NotADirectoryError), serve_folder(tmp_path / "nope"):
        pass
