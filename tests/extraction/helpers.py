"""Small HTML builders for the extraction tests."""

from __future__ import annotations

import json
from typing import Any

URL = "https://shop.example/products/widget?id=7"


def page(head: str = "", body: str = "", *, html_attrs: str = "") -> str:
    """A minimal HTML page."""
    return f"<!DOCTYPE html><html {html_attrs}><head><title>Shop</title>{head}</head><body>{body}</body></html>"


def ld(*blocks: Any) -> str:
    """``<script type="application/ld+json">`` blocks; strings are written as they are."""
    return "".join(
        f'<script type="application/ld+json">{b if isinstance(b, str) else json.dumps(b)}</script>' for b in blocks
    )


def og(**props: str) -> str:
    """OpenGraph meta tags: og(og__title="x") → <meta property="og:title" content="x">."""
    return "".join(f'<meta property="{k.replace("__", ":")}" content="{v}">' for k, v in props.items())
