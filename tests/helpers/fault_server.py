"""A shop on 127.0.0.1 that misbehaves: 500s, time-outs, garbage and huge bodies.

For tests only. Every product page carries JSON-LD, so the test knows how many product pages
a crawl can reach and can check that the counts reconcile.
"""

from __future__ import annotations

import json
import os
import threading
import time
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

GOOD_PRODUCTS = 12
BROKEN = {"err500": 3, "slow": 2, "garbage": 2, "huge": 1}


def product_page(n: int) -> bytes:
    data = {
        "@context": "https://schema.org", "@type": "Product", "name": f"Test product {n}",
        "description": f"Product number {n}, a fine test product made of steel and glass.",
        "sku": f"SKU-{n}", "image": f"/img/{n}.jpg",
        "offers": {"@type": "Offer", "price": f"{10 + n}.50", "priceCurrency": "EUR",
                   "availability": "https://schema.org/InStock"},
    }
    return (f"<html><head><title>P{n}</title><script type='application/ld+json'>{json.dumps(data)}</script>"
            f"</head><body><h1>Test product {n}</h1><a href='/'>home</a></body></html>").encode()


def tiny_jpeg() -> bytes:
    from io import BytesIO

    from PIL import Image

    buffer = BytesIO()
    Image.new("RGB", (64, 64), (200, 30, 30)).save(buffer, "JPEG")
    return buffer.getvalue()


class FaultyHandler(BaseHTTPRequestHandler):
    slow_seconds = 3.0
    huge_bytes = 3 * 1024 * 1024
    jpeg = b""
    flaky_hits: dict[str, int] = {}
    robots_status = 200

    def log_message(self, *args) -> None:  # quiet
        pass

    def _send(self, status: int, body: bytes, content_type: str = "text/html; charset=utf-8") -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        try:
            self.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):
            pass

    def do_GET(self) -> None:  # noqa: N802
        path = self.path
        if path == "/robots.txt":
            return self._send(self.robots_status, b"User-agent: *\nDisallow:\n", "text/plain")
        if path == "/":
            links = [f"/p/{n}" for n in range(GOOD_PRODUCTS)] + ["/flaky"]
            links += [f"/{kind}/{i}" for kind, count in BROKEN.items() for i in range(count)]
            body = "".join(f"<a href='{link}'>{link}</a>" for link in links)
            return self._send(200, f"<html><body>{body}</body></html>".encode())
        if path.startswith("/p/"):
            return self._send(200, product_page(int(path.rsplit("/", 1)[1])))
        if path == "/flaky":  # fails once, then works: a retry must save it
            hits = self.flaky_hits[path] = self.flaky_hits.get(path, 0) + 1
            return self._send(503, b"busy") if hits == 1 else self._send(200, product_page(99))
        if path.startswith("/img/"):
            return self._send(200, self.jpeg, "image/jpeg")
        if path.startswith("/err500/"):
            return self._send(500, b"<html>Internal Server Error</html>")
        if path.startswith("/slow/"):
            time.sleep(self.slow_seconds)
            return self._send(200, product_page(500))
        if path.startswith("/garbage/"):
            return self._send(200, os.urandom(4096) + b"<html><<<>>\x00\xff" + os.urandom(4096))
        if path.startswith("/huge/"):
            return self._send(200, b"<html><body>" + b"x" * self.huge_bytes + b"</body></html>")
        return self._send(404, b"not found")


@contextmanager
def fault_server(robots_status: int = 200):
    """Serve the faulty shop on 127.0.0.1 (a free port); yields its base URL. ``robots_status``:
    the status robots.txt answers with (its body allows everything)."""
    FaultyHandler.jpeg = tiny_jpeg()
    FaultyHandler.flaky_hits = {}
    FaultyHandler.robots_status = robots_status
    server = ThreadingHTTPServer(("127.0.0.1", 0), FaultyHandler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
