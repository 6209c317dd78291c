"""robots.txt as RFC 9309 asks, for every request: a robots.txt that cannot be had says "disallow everything".

Scrapy's ``RobotsTxtMiddleware`` allows every page of a site whose robots.txt could not be fetched
(a network error, a middleware that dropped the request) and reads a server error's body as the
rules. RFC 9309 §2.3.1.3-4: a 4xx robots.txt means no rules (crawl), but when it is unreachable
(5xx, or the network failed) the crawler must assume complete disallow. This middleware does so and
counts each such site (``labelops/robots_unreachable``), so one failed robots.txt fetch, in any of a
distributed crawl's processes, never opens a site.

It also mends a race: every request that arrives while a site's robots.txt is being fetched waits
on one Deferred, and Scrapy turns it into an asyncio future with a callback that returns None, so
only the first waiter got the rules and every other one got None, which Scrapy reads as "no rules":
a disallowed page requested in that moment was fetched. A distributed crawl's process starts with
many requests from the shared frontier at once, and fetched ``/cart/`` pages this way. Here a
waiter reads the site's rules from where they are kept, never from the Deferred's result.
"""

from __future__ import annotations

import logging
from typing import Any

from scrapy.downloadermiddlewares.robotstxt import RobotsTxtMiddleware
from scrapy.exceptions import IgnoreRequest
from scrapy.utils.httpobj import urlparse_cached

log = logging.getLogger(__name__)


class DisallowAll:
    """A robots.txt parser that answers no to every URL (an unreachable robots.txt)."""

    def allowed(self, url: Any, user_agent: Any) -> bool:
        return False


class StrictRobotsTxtMiddleware(RobotsTxtMiddleware):
    """Scrapy's robots.txt middleware, with RFC 9309's answer when the rules cannot be read, and the
    site's rules for every request that waited for them."""

    async def robot_parser(self, request: Any) -> Any:
        parser = await super().robot_parser(request)
        kept = self._parsers.get(urlparse_cached(request).netloc)
        if kept is not None and not hasattr(kept, "addCallback"):  # the rules, not the Deferred still pending
            return kept  # the rules themselves: a waiter on the Deferred may have been handed None
        return parser

    async def _parse_robots(self, response: Any, netloc: str, request: Any) -> None:
        if response.status >= 500:
            self._unreachable(netloc, f"HTTP {response.status}")
            return
        await super()._parse_robots(response, netloc, request)

    def _robots_error(self, exc: Exception, netloc: str) -> None:
        if not isinstance(exc, IgnoreRequest):
            self._stats.inc_value(f"robotstxt/exception_count/{type(exc)}")
        self._unreachable(netloc, type(exc).__name__)

    def _unreachable(self, netloc: str, why: str) -> None:
        log.warning("robots.txt of %s could not be read (%s): crawling nothing there (RFC 9309)", netloc, why)
        self._stats.inc_value("labelops/robots_unreachable")
        waiting = self._parsers[netloc]
        self._parsers[netloc] = parser = DisallowAll()
        if hasattr(waiting, "callback"):
            waiting.callback(parser)

