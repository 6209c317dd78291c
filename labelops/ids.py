"""Ids of things that happen: a crawl, a feedback collection. One way to make them."""

from __future__ import annotations

import secrets
from datetime import datetime, timezone


def time_ordered_id() -> str:
    """A sortable, unique id: the UTC time to the second plus a random suffix
    ("20261130T101500Z-3fa9c2"); ids made later sort later."""
    return datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ") + "-" + secrets.token_hex(3)
