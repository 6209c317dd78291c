"""One frontier, one dedup set and per-domain politeness shared by every process of a crawl, in Redis.

The pieces of scrapy-redis that work with Scrapy 2.19 "reactorless" are used as they are: its
``Scheduler`` (plain synchronous calls, which the asyncio engine accepts), its sorted-set
``PriorityQueue`` encoding and its ``RFPDupeFilter`` (one Redis set of request fingerprints). What
it lacks for a crawl that must finish on its own is added here:

* **When is a distributed crawl done?** scrapy-redis either closes a process as soon as the shared
  queue is empty (while another process may still be fetching a page whose links add more work) or
  never closes it (``RedisSpider`` idles forever). Here a process takes a request and marks itself
  *busy* in one atomic step (a Lua script); it clears the mark only when its own engine is idle
  (Scrapy asks :meth:`SharedFrontierScheduler.has_pending_requests` only then). A process stops when
  the shared queue is empty and no process is busy. A busy mark expires after ``BUSY_TTL_S`` unless
  refreshed, so a process that died does not hold the others forever (what it was fetching is lost).
* **Politeness across processes**: :class:`SharedPolitenessMiddleware` holds, per domain, a Redis
  semaphore of ``CONCURRENT_REQUESTS_PER_DOMAIN`` leases and a ``SET NX PX`` gate of
  ``DOWNLOAD_DELAY`` between request starts, so all processes together stay within what one process
  would do.

Every key of a crawl is under ``labelops:crawl:<crawl_id>:`` (:class:`FrontierKeys`).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import secrets
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import redis
import redis.asyncio
from scrapy import signals
from scrapy_redis.dupefilter import RFPDupeFilter
from scrapy_redis.queue import PriorityQueue
from scrapy_redis.scheduler import Scheduler

log = logging.getLogger(__name__)

BUSY_TTL_S = 60.0
"""A process's busy mark lives this long unless refreshed (every ``BUSY_TTL_S / 6`` while busy)."""
IDLE_POLL_S = 0.2
"""How often an idle process looks at the shared queue again (Scrapy's own heartbeat is 5 s)."""
START_TOGETHER_S = 60.0
"""How long a process waits at the start for the other processes started with it (the crawl's
``processes``) to open, so that one that is slower to start still gets its share of the work."""
SLOT_POLL_S = 0.02
"""How often a request waiting for a per-domain lease asks again, at most."""


class FrontierUnavailable(RuntimeError):
    """The crawl's Redis cannot be reached."""


@dataclass(frozen=True)
class FrontierKeys:
    """The Redis keys of one distributed crawl."""

    crawl_id: str

    @property
    def prefix(self) -> str:
        return f"labelops:crawl:{self.crawl_id}"

    @property
    def queue(self) -> str:
        return f"{self.prefix}:requests"

    @property
    def seen(self) -> str:
        return f"{self.prefix}:seen"

    @property
    def workers(self) -> str:
        return f"{self.prefix}:workers"

    @property
    def done(self) -> str:
        return f"{self.prefix}:done"

    @property
    def meta(self) -> str:
        return f"{self.prefix}:meta"

    def busy(self, worker: str) -> str:
        return f"{self.prefix}:busy:{worker}"

    def slot_leases(self, slot: str) -> str:
        return f"{self.prefix}:slot:{slot}:leases"

    def slot_gate(self, slot: str) -> str:
        return f"{self.prefix}:slot:{slot}:gate"


def connect(url: str) -> redis.Redis:
    """A client for the crawl's Redis, checked with a PING; :class:`FrontierUnavailable` names the URL."""
    try:
        client = redis.Redis.from_url(url, socket_connect_timeout=5, socket_timeout=30, retry_on_timeout=True)
        client.ping()
    except (redis.RedisError, ValueError, OSError) as error:
        raise FrontierUnavailable(f"cannot reach the crawl's Redis at {url}: {error}") from error
    return client


def clear_crawl(client: redis.Redis, keys: FrontierKeys) -> int:
    """Delete every key of a crawl; returns how many there were."""
    names = list(client.scan_iter(match=f"{keys.prefix}:*", count=500))
    if names:
        client.delete(*names)
    return len(names)


def write_meta(client: redis.Redis, keys: FrontierKeys, meta: dict) -> None:
    client.set(keys.meta, json.dumps(meta, sort_keys=True))


def read_meta(client: redis.Redis, keys: FrontierKeys) -> dict | None:
    raw = client.get(keys.meta)
    return json.loads(raw) if raw else None


# Take the request with the best score and mark this worker busy, in one step (nobody can see the
# queue without the request and without the mark).
_TAKE = """
local taken = redis.call('ZRANGE', KEYS[1], 0, 0)
if #taken == 0 then return false end
redis.call('ZREMRANGEBYRANK', KEYS[1], 0, 0)
redis.call('SET', KEYS[2], '1', 'PX', ARGV[1])
return taken[1]
"""

# This worker is idle: clear its mark; is any work left (queued, or taken by a busy worker)?
_PENDING = """
redis.call('DEL', KEYS[2])
if redis.call('ZCARD', KEYS[1]) > 0 then return 1 end
for _, worker in ipairs(redis.call('SMEMBERS', KEYS[3])) do
  if redis.call('EXISTS', ARGV[1] .. worker) == 1 then return 2 end
end
return 0
"""


class SharedQueue(PriorityQueue):
    """scrapy-redis's priority queue whose pop also marks the worker busy (atomically)."""

    def __init__(self, server: redis.Redis, spider: Any, key: str, busy_key: str, serializer: Any = None):
        super().__init__(server, spider, key, serializer)
        self.busy_key = busy_key
        self._take = server.register_script(_TAKE)

    def pop(self, timeout: int = 0) -> Any:
        data = self._take(keys=[self.key, self.busy_key], args=[int(BUSY_TTL_S * 1000)])
        return self._decode_request(data) if data else None


class SharedFrontierScheduler(Scheduler):
    """scrapy-redis's scheduler over this crawl's keys, finishing when the whole crawl is done.

    Settings: ``LABELOPS_REDIS_URL``, ``LABELOPS_CRAWL_ID``, ``LABELOPS_CRAWL_WORKER`` (this process's name).
    """

    @classmethod
    def from_crawler(cls, crawler: Any) -> "SharedFrontierScheduler":
        settings = crawler.settings
        keys = FrontierKeys(settings["LABELOPS_CRAWL_ID"])
        server = connect(settings["LABELOPS_REDIS_URL"])
        scheduler = cls(server=server, persist=True, queue_key=keys.queue,
                        dupefilter=RFPDupeFilter(server, key=keys.seen, debug=settings.getbool("DUPEFILTER_DEBUG")))
        scheduler.keys, scheduler.worker, scheduler.stats = keys, settings["LABELOPS_CRAWL_WORKER"], crawler.stats
        scheduler._pending = server.register_script(_PENDING)
        scheduler._busy = False
        scheduler._keep_alive: asyncio.Task | None = None
        # Scrapy polls a scheduler that has pending requests but returned none every 5 s; an idle
        # process should look at the shared queue sooner (a private attribute: if it goes away, the
        # crawl is only slower to pick up work, never wrong).
        if crawler.engine is not None:
            crawler.engine._SLOT_HEARTBEAT_INTERVAL = IDLE_POLL_S
        return scheduler

    def open(self, spider: Any) -> None:
        self.spider = spider
        self.queue = SharedQueue(self.server, spider, self.keys.queue, self.keys.busy(self.worker), self.serializer)
        self.server.sadd(self.keys.workers, self.worker)
        self._wait_for_the_others()
        if len(self.queue):
            log.info("worker %s joins crawl %s: %d requests queued", self.worker, self.keys.crawl_id, len(self.queue))
        with contextlib.suppress(RuntimeError):  # no running loop: nothing refreshes (a test calling open())
            self._keep_alive = asyncio.get_running_loop().create_task(self._refresh_busy_mark())

    def _wait_for_the_others(self) -> None:
        """Block (before any request is taken) until the processes started together have all opened."""
        expected = (read_meta(self.server, self.keys) or {}).get("processes", 1)
        deadline = time.monotonic() + START_TOGETHER_S
        while (opened := self.server.scard(self.keys.workers)) < expected and time.monotonic() < deadline:
            time.sleep(0.05)
        if opened < expected:
            log.warning("crawl %s: %d of %d processes opened within %.0f s; starting without the others",
                        self.keys.crawl_id, opened, expected, START_TOGETHER_S)

    async def _refresh_busy_mark(self) -> None:
        while True:
            await asyncio.sleep(BUSY_TTL_S / 6)
            if self._busy:
                await asyncio.to_thread(self.server.pexpire, self.keys.busy(self.worker), int(BUSY_TTL_S * 1000))

    def close(self, reason: str) -> None:
        if self._keep_alive is not None:
            self._keep_alive.cancel()
        self.server.delete(self.keys.busy(self.worker))

    # scrapy-redis's own enqueue/next pass ``spider=`` to the stats, which Scrapy 2.19 deprecates
    def enqueue_request(self, request: Any) -> bool:
        if not request.dont_filter and self.df.request_seen(request):
            self.df.log(request, self.spider)
            return False
        self.stats.inc_value("scheduler/enqueued/redis")
        self.queue.push(request)
        return True

    def next_request(self) -> Any:
        request = self.queue.pop()
        if request is not None:
            self._busy = True
            self.stats.inc_value("scheduler/dequeued/redis")
        return request

    def has_pending_requests(self) -> bool:
        """Scrapy asks only when this process is idle: clear its busy mark, then say whether the crawl
        still has work (queued, or taken by another process whose pages may add more)."""
        self._busy = False
        state = self._pending(keys=[self.keys.queue, self.keys.busy(self.worker), self.keys.workers],
                              args=[self.keys.busy("")])
        if state == 2:
            self.stats.inc_value("labelops/waits_for_other_workers")
        return bool(state)


# Per-domain lease: at most ARGV[1] leases at once, starts at least ARGV[2] ms apart. Returns 0 when
# the lease ARGV[4] (expiring in ARGV[3] ms) is taken, else the milliseconds to wait before asking again.
_ACQUIRE = """
local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000 + math.floor(tonumber(clock[2]) / 1000)
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[1]) then return -1 end
local gap = redis.call('PTTL', KEYS[2])
if gap > 0 then return gap end
if tonumber(ARGV[2]) > 0 then redis.call('SET', KEYS[2], '1', 'PX', ARGV[2]) end
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[3]), ARGV[4])
redis.call('PEXPIRE', KEYS[1], ARGV[3])
return 0
"""


class SharedPolitenessMiddleware:
    """Per-domain concurrency and delay held across every process of a distributed crawl.

    Before a request goes to Scrapy's downloader it takes a lease on its domain (Scrapy's download
    slot): at most ``CONCURRENT_REQUESTS_PER_DOMAIN`` leases at once across processes, and lease starts
    at least ``LABELOPS_SHARED_DOWNLOAD_DELAY`` seconds apart. The lease is given back with the
    response or the error, and expires by itself after the download timeout (a process that died).
    """

    def __init__(self, crawler: Any):
        settings = crawler.settings
        self.url = settings["LABELOPS_REDIS_URL"]
        self.keys = FrontierKeys(settings["LABELOPS_CRAWL_ID"])
        self.concurrency = settings.getint("CONCURRENT_REQUESTS_PER_DOMAIN")
        self.delay_ms = int(settings.getfloat("LABELOPS_SHARED_DOWNLOAD_DELAY") * 1000)
        self.lease_ms = int((settings.getfloat("DOWNLOAD_TIMEOUT") + 30) * 1000)
        self.stats = crawler.stats
        self._client: redis.asyncio.Redis | None = None
        self._acquire: Any = None
        crawler.signals.connect(self._close, signal=signals.spider_closed)

    @classmethod
    def from_crawler(cls, crawler: Any) -> "SharedPolitenessMiddleware":
        return cls(crawler)

    def _connect(self) -> None:
        self._client = redis.asyncio.Redis.from_url(self.url, socket_connect_timeout=5, socket_timeout=30)
        self._acquire = self._client.register_script(_ACQUIRE)

    @staticmethod
    def _slot(request: Any) -> str:
        return request.meta.get("download_slot") or urlsplit(request.url).hostname or ""

    async def process_request(self, request: Any, spider: Any = None) -> None:
        if self._client is None:
            self._connect()
        slot, token = self._slot(request), secrets.token_hex(8)
        keys = [self.keys.slot_leases(slot), self.keys.slot_gate(slot)]
        waited = 0.0
        while (wait := await self._acquire(keys=keys, args=[self.concurrency, self.delay_ms, self.lease_ms, token])) != 0:
            pause = SLOT_POLL_S if wait < 0 else max(wait / 1000, 0.001)
            waited += pause
            await asyncio.sleep(pause)
        if waited:
            self.stats.inc_value("labelops/politeness_wait_ms", int(waited * 1000))
        request.meta["labelops_lease"] = (slot, token)
        return None

    async def _release(self, request: Any) -> None:
        lease = request.meta.pop("labelops_lease", None)
        if lease is not None and self._client is not None:
            await self._client.zrem(self.keys.slot_leases(lease[0]), lease[1])

    async def process_response(self, request: Any, response: Any, spider: Any = None) -> Any:
        await self._release(request)
        return response

    async def process_exception(self, request: Any, exception: BaseException, spider: Any = None) -> None:
        await self._release(request)
        return None

    async def _close(self, spider: Any = None) -> None:
        if self._client is not None:
            await self._client.aclose()
