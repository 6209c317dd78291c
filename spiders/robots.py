"""robots.txt as RFC 9309 asks: a robots.txt that cannot be had says "disallow everything".

Scrapy's ``RobotsTxtMiddleware`` allows every page of a site whose robots.txt could not be fetched
(a network error, a middleware that dropped the request) and reads a server error's body as the
rules. RFC 9309 §2.3.1.3-4: a 4xx robots.txt means no rules (crawl), but when it is unreachable
(5xx, or the network failed) the crawler must assume complete disallow. This middleware does so and
counts each such site (``labelops/robots_unreachable``), so one failed robots.txt fetch, in any of a
distributed crawl's processes, never opens a site.
"""

from __future__ import annotations

import logging
from typing import Any

from scrapy.downloadermiddlewares.robotstxt import RobotsTxtMiddleware
from scrapy.exceptions import IgnoreRequest

log = logging.getLogger(__name__)


class DisallowAll:
    """A robots.txt parser that answers no to every URL (an unreachable robots.txt)."""

    def allowed(self, url: Any, user_agent: Any) -> bool:
        return False


class StrictRobotsTxtMiddleware(RobotsTxtMiddleware):
    """Scrapy's robots.txt middleware, with RFC 9309's answer when the rules cannot be read."""

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
