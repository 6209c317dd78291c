"""Serve a static folder over HTTP, as a simple shop host would.

``__BASE_URL__`` in ``.xml`` files and ``robots.txt`` is replaced by the URL the client used
(``http://<host>:<port>``), so a static site can carry absolute URLs in its sitemap. Folders
without an ``index.html`` answer 404 rather than a file listing, and requests are not logged
unless asked.
"""

from __future__ import annotations

import io
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from functools import partial
from http import HTTPStatus
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import BinaryIO
from urllib.parse import unquote, urlsplit

from labelops.shop.site import BASE_URL_PLACEHOLDER

_SAFE_HOST = re.compile(r"^[A-Za-z0-9.\-]+(:\d{1,5})?$")


class _ShopServer(ThreadingHTTPServer):
    """A threaded HTTP server that stays quiet about clients hanging up."""

    daemon_threads = True
    verbose = False

    def handle_error(self, request: object, client_address: object) -> None:
        if self.verbose:
            super().handle_error(request, client_address)


class _ShopHandler(SimpleHTTPRequestHandler):
    """Static files, with the base URL substituted in sitemaps and robots.txt."""

    server: _ShopServer

    def send_head(self) -> BinaryIO | None:
        path = unquote(urlsplit(self.path).path)
        if not (path.endswith(".xml") or path == "/robots.txt"):
            return super().send_head()
        file = Path(self.translate_path(self.path))
        if not file.is_file():
            self.send_error(HTTPStatus.NOT_FOUND, "File not found")
            return None
        body = file.read_bytes().replace(BASE_URL_PLACEHOLDER.encode(), self._base_url().encode())
        self.send_response(HTTPStatus.OK)
        self.send_header("Content-Type", self.guess_type(str(file)))
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        return io.BytesIO(body)

    def list_directory(self, path: str) -> None:
        """No file listings: a folder without index.html is not found, as on a real host."""
        self.send_error(HTTPStatus.NOT_FOUND, "File not found")
        return None

    def _base_url(self) -> str:
        """The URL the client reached us at: its Host header when sane, else our address."""
        host = self.headers.get("Host", "")
        if not _SAFE_HOST.match(host):
            address, port = self.server.server_address[:2]
            host = f"{address}:{port}"
        return f"http://{host}"

    def log_message(self, format: str, *args: object) -> None:
        if self.server.verbose:
            super().log_message(format, *args)


def make_server(
    directory: Path | str, host: str = "127.0.0.1", port: int = 0, verbose: bool = False
) -> ThreadingHTTPServer:
    """An HTTP server for ``directory`` (port 0 picks a free port); call ``serve_forever`` on it."""
    directory = Path(directory)
    if not directory.is_dir():
        raise NotADirectoryError(f"{directory} is not a folder")
    server = _ShopServer((host, port), partial(_ShopHandler, directory=str(directory)))
    server.verbose = verbose
    return server


def server_url(server: ThreadingHTTPServer) -> str:
    """``http://host:port`` of a running server."""
    host, port = server.server_address[:2]
    return f"http://{host}:{port}"


@contextmanager
def serve_folder(path: Path | str, host: str = "127.0.0.1", port: int = 0, verbose: bool = False) -> Iterator[str]:
    """Serve ``path`` in a background thread for the ``with`` block; yields the base URL.

    >>> with serve_folder("site") as base_url:  # doctest: +SKIP
    ...     urllib.request.urlopen(base_url + "/robots.txt")
    """
    server = make_server(Path(path), host, port, verbose)
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True, name="shop-server"
    )
    thread.start()
    try:
        yield server_url(server)
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
