"""A static shop server (:func:`labelops.shop.server.make_server`) that records every request it
answers: when it arrived, its path, and how many requests were being answered at once; optionally
slowed down by ``delay`` seconds per response (so concurrency can be observed)."""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

from labelops.shop.server import make_server


@dataclass
class RequestLog:
    arrivals: list[tuple[float, str]] = field(default_factory=list)  # (monotonic time, path)
    in_flight: int = 0
    max_in_flight: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def paths(self) -> Counter[str]:
        with self.lock:
            return Counter(path for _, path in self.arrivals)

    def times(self, predicate=lambda path: True) -> list[float]:  # noqa: ANN001
        with self.lock:
            return sorted(t for t, path in self.arrivals if predicate(path))


@contextmanager
def counting_server(directory: Path, delay: float = 0.0) -> Iterator[tuple[str, RequestLog]]:
    """Serve ``directory`` on 127.0.0.1; yields ``(base URL, request log)``."""
    server = make_server(directory)
    handler = server.RequestHandlerClass
    record = RequestLog()

    class Counting(handler.func):  # the shop's handler: same files, same 404s
        def send_head(self):  # noqa: ANN202
            with record.lock:
                record.arrivals.append((time.monotonic(), self.path))
                record.in_flight += 1
                record.max_in_flight = max(record.max_in_flight, record.in_flight)
            try:
                if delay:
                    time.sleep(delay)
                return super().send_head()
            finally:
                with record.lock:
                    record.in_flight -= 1

    server.RequestHandlerClass = partial(Counting, *handler.args, **handler.keywords)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True)
    thread.start()
    try:
        yield server.base_url, record
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
