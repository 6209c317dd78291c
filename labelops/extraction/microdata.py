"""Microdata layer: ``itemscope``/``itemprop`` markup read with extruct's microdata extractor.

Microdata items are reshaped into JSON-LD-like dicts (``@type`` and plain property names) and
read by the same schema.org rules as JSON-LD.
"""

from __future__ import annotations

from typing import Any

import lxml.etree
from extruct.w3cmicrodata import MicrodataExtractor

from labelops.extraction.fields import LayerResult
from labelops.extraction.schemaorg import schema_fields

SOURCE = "microdata"
MAX_ITEMS = 2_000
"""Pages with more ``itemscope`` elements than this skip the layer (with a warning)."""
MAX_NESTING = 30
"""Pages with items nested deeper than this skip the layer (extruct's work grows with the square)."""

_XP_COUNT = lxml.etree.XPath("count(//*[@itemscope])")
_XP_TOO_DEEP = lxml.etree.XPath(f"boolean(//*[@itemscope][count(ancestor::*[@itemscope]) > {MAX_NESTING}])")
_extractor = MicrodataExtractor()


def as_jsonld(item: Any, depth: int = 0) -> Any:
    """A microdata item (``type``/``properties``) as a JSON-LD-shaped dict, recursively."""
    if isinstance(item, list):
        return [as_jsonld(v, depth) for v in item]
    if not isinstance(item, dict) or depth > 30:
        return item
    if "properties" not in item and "type" not in item:
        return item
    node: dict[str, Any] = {}
    if "type" in item:
        node["@type"] = item["type"]
    if "id" in item:
        node["@id"] = item["id"]
    for name, value in (item.get("properties") or {}).items():
        node[name.rsplit("/", 1)[-1]] = as_jsonld(value, depth + 1)
    if "value" in item and not node.get("name"):
        node.setdefault("name", item["value"])
    return node


def extract_microdata(tree: lxml.etree._Element, url: str, warnings: list[str]) -> LayerResult:
    """Product fields from the page's microdata."""
    count = _XP_COUNT(tree)
    if not count:
        return LayerResult(SOURCE)
    if count > MAX_ITEMS:
        warnings.append(f"{SOURCE}: {int(count)} items, layer skipped")
        return LayerResult(SOURCE)
    if count > MAX_NESTING and _XP_TOO_DEEP(tree):
        warnings.append(f"{SOURCE}: items nested over {MAX_NESTING} deep, layer skipped")
        return LayerResult(SOURCE)
    try:
        items = _extractor.extract_items(tree, base_url=url)
    except Exception as exc:
        warnings.append(f"{SOURCE}: cannot read ({type(exc).__name__})")
        return LayerResult(SOURCE)
    fields, is_product = schema_fields(as_jsonld(items), url)
    return LayerResult(SOURCE, fields, is_product)
