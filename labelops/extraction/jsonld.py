"""JSON-LD layer: ``<script type="application/ld+json">`` blocks, one at a time.

Each block is read with extruct's JSON-LD extractor on its own, so a malformed block only
costs a warning; the readable ones are searched for a Product (top-level arrays, ``@graph``,
nested things) and a BreadcrumbList.
"""

from __future__ import annotations

import lxml.etree
from extruct.jsonld import JsonLdExtractor

from labelops.extraction.fields import LayerResult
from labelops.extraction.schemaorg import schema_fields

SOURCE = "json-ld"
MAX_BLOCK_CHARS = 2_000_000
"""Blocks longer than this are skipped (with a warning)."""

MAX_BLOCKS = 100
"""JSON-LD blocks read from one page."""
_XP_BLOCKS = lxml.etree.XPath('descendant-or-self::script[@type="application/ld+json"]')
_extractor = JsonLdExtractor()


def jsonld_items(tree: lxml.etree._Element, warnings: list[str]) -> list[object]:
    """The JSON-LD items of a page; malformed or oversized blocks become warnings."""
    items: list[object] = []
    blocks = _XP_BLOCKS(tree)
    if len(blocks) > MAX_BLOCKS:
        warnings.append(f"{SOURCE}: {len(blocks)} blocks, only the first {MAX_BLOCKS} read")
    for block in blocks[:MAX_BLOCKS]:
        if len(block.text or "") > MAX_BLOCK_CHARS:
            warnings.append(f"{SOURCE}: block over {MAX_BLOCK_CHARS} characters skipped")
            continue
        try:
            items.extend(_extractor.extract_items(block))
        except Exception as exc:  # json/jstyleson errors, RecursionError on absurd nesting
            warnings.append(f"{SOURCE}: malformed block ({type(exc).__name__})")
    return items


def extract_jsonld(tree: lxml.etree._Element, url: str, warnings: list[str]) -> LayerResult:
    """Product fields from the page's JSON-LD."""
    items = jsonld_items(tree, warnings)
    if not items:
        return LayerResult(SOURCE)
    fields, is_product = schema_fields(items, url)
    return LayerResult(SOURCE, fields, is_product)
