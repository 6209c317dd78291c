"""Serve a static folder over HTTP, as a simple shop host would.

``__BASE_URL__`` in ``.xml`` files and ``robots.txt`` is replaced by the server's own URL
(``http://<host>:<port>``, or the ``base_url`` it is given), never by what a client's ``Host``
header says, so a static site can carry absolute URLs in its sitemap. Only files inside the
folder are served: a symbolic link that leads out of it answers 404. Folders without an
``index.html`` answer 404 rather than a file listing, and requests are not logged unless asked.
"""

from __future__ import annotations

import io
import os
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

class _ShopServer(ThreadingHTTPServer):
    """A threaded HTTP server that stays quiet about clients hanging up."""

    daemon_threads = True
    verbose = False
    base_url = ""
    root = ""

    def handle_error(self, request: object, client_address: object) -> None:
        if self.verbose:
            super().handle_error(request, client_address)


class _ShopHandler(SimpleHTTPRequestHandler):
    """Static files, with the base URL substituted in sitemaps and robots.txt."""

    server: _ShopServer

    def send_head(self) -> BinaryIO | None:
        path = unquote(urlsplit(self.path).path)
        real = os.path.realpath(self.translate_path(self.path))
        if os.path.commonpath([self.server.root, real]) != self.server.root:  # a link out of the folder
            self.send_error(HTTPStatus.NOT_FOUND, "File not found")
            return None
        if not (path.endswith(".xml") or path == "/robots.txt"):
            return super().send_head()
        file = Path(self.translate_path(self.path))
        if not file.is_file():
            self.send_error(HTTPStatus.NOT_FOUND, "File not found")
            return None
        body = file.read_bytes().replace(BASE_URL_PLACEHOLDER.encode(), self.server.base_url.encode())
        self.send_response(HTTPStatus.OK)
        self.send_header("Content-Type", self.guess_type(str(file)))
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        return io.BytesIO(body)

    def list_directory(self, path: str) -> None:
        """No file listings: a folder without index.html is not found, as on a real host."""
        self.send_error(HTTPStatus.NOT_FOUND, "File not found")
        return None

    def log_message(self, format: str, *args: object) -> None:
        if self.server.verbose:
            super().log_message(format, *args)


def make_server(
    directory: Path | str, host: str = "127.0.0.1", port: int = 0, verbose: bool = False, base_url: str | None = None
) -> ThreadingHTTPServer:
    """An HTTP server for ``directory`` (port 0 picks a free port); call ``serve_forever`` on it.

    ``base_url`` is what ``__BASE_URL__`` becomes (default: ``http://<host>:<port>``)."""
    directory = Path(directory)
    if not directory.is_dir():
        raise NotADirectoryError(f"{directory} is not a folder")
    server = _ShopServer((host, port), partial(_ShopHandler, directory=str(directory)))
    server.verbose = verbose
    server.root = os.path.realpath(directory)
    server.base_url = (base_url or server_url(server)).rstrip("/")
    return server


def server_url(server: ThreadingHTTPServer) -> str:
    """``http://host:port`` of a running server."""
    host, port = server.server_address[:2]
    return f"http://{host}:{port}"


@contextmanager
def serve_folder(path: Path | str, host: str = "127.0.0.1", port: int = 0, verbose: bool = False,
                 base_url: str | None = None) -> Iterator[str]:
    """Serve ``path`` in a background thread for the ``with`` block; yields the base URL.

    >>> with serve_folder("site") as base_url:  # doctest: +SKIP
    ...     urllib.request.urlopen(base_url + "/robots.txt")
    """
    server = make_server(Path(path), host, port, verbose, base_url)
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True, name="shop-server"
    )
    thread.start()
    try:
        yield server.base_url
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
