"""`labelops shop serve` stays inside its folder and does not echo the Host header."""

from __future__ import annotations

import http.client
import os
import threading
from urllib.parse import urlsplit

from labelops.shop import serve_folder
from labelops.shop.server import make_server, server_url
from labelops.shop.site import BASE_URL_PLACEHOLDER


def get(base_url: str, path: str, host: str | None = None) -> tuple[int, bytes]:
    parts = urlsplit(base_url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
    connection.putrequest("GET", path, skip_host=True)
    connection.putheader("Host", host or parts.netloc)
    connection.endheaders()
    response = connection.getresponse()
    try:
        return response.status, response.read()
    finally:
        connection.close()


def test_symlinks_out_of_the_folder_are_not_followed(tmp_path):
    site = tmp_path / "site"
    (site / "img").mkdir(parents=True)
    (tmp_path / "secret.txt").write_text("private key")
    (tmp_path / "outside").mkdir()
    (tmp_path / "outside" / "a.html").write_text("outside")
    (site / "index.html").write_text("<h1>shop</h1>")
    (site / "img" / "real.txt").write_text("inside")
    os.symlink(tmp_path / "secret.txt", site / "img" / "leak.txt")
    os.symlink(tmp_path / "outside", site / "elsewhere")
    os.symlink(site / "img" / "real.txt", site / "alias.txt")  # a link that stays inside is fine
    with serve_folder(site) as base_url:
        assert get(base_url, "/img/leak.txt")[0] == 404
        assert get(base_url, "/elsewhere/a.html")[0] == 404
        assert get(base_url, "/alias.txt") == (200, b"inside")
        assert get(base_url, "/index.html") == (200, b"<h1>shop</h1>")


def test_robots_txt_names_the_servers_own_address_whatever_the_host_header(tmp_path):
    (tmp_path / "robots.txt").write_text(f"User-agent: *\nSitemap: {BASE_URL_PLACEHOLDER}/sitemap.xml\n")
    with serve_folder(tmp_path) as base_url:
        status, body = get(base_url, "/robots.txt", host="evil.example")
        assert status == 200 and body == f"User-agent: *\nSitemap: {base_url}/sitemap.xml\n".encode()
    server = make_server(tmp_path, base_url="https://shop.example")  # as `labelops shop serve --base-url`
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        body = get(server_url(server), "/robots.txt", host="evil.example")[1]
        assert body.endswith(b"Sitemap: https://shop.example/sitemap.xml\n")
    finally:
        server.shutdown()
        server.server_close()
