"""RDFa layer: ``typeof``/``property`` markup, read with extruct's RDFa extractor (pyRdfa).

RDFa is slow to read (pyRdfa visits every element), so the layer runs only when the page declares
RDFa types, and then only on a small document holding copies of the outermost typed elements
(with the vocabulary and prefixes they inherit), not on the whole page. The extractor gives
expanded JSON-LD (full IRIs, references by ``@id``); it is folded back into nested,
JSON-LD-shaped dicts with schema.org property names for the shared schema.org rules.
"""

from __future__ import annotations

import copy
from typing import Any

import lxml.etree
import lxml.html
from extruct.rdfa import RDFaExtractor
from extruct.xmldom import XmlDomHTMLParser

from labelops.extraction.document import has_rdfa
from labelops.extraction.fields import LayerResult
from labelops.extraction.schemaorg import schema_fields

SOURCE = "rdfa"
MAX_ELEMENTS = 30_000
"""Typed parts of a page bigger than this (in elements) skip the layer (with a warning)."""
_XP_ROOTS = lxml.etree.XPath("//*[@typeof][not(ancestor::*[@typeof])]")
_INHERITED = ("vocab", "prefix", "lang", "xml:lang")

_SCHEMA_PREFIXES = ("http://schema.org/", "https://schema.org/", "http://data-vocabulary.org/")
_extractor = RDFaExtractor()


def _local(iri: str) -> str | None:
    for prefix in _SCHEMA_PREFIXES:
        if iri.startswith(prefix):
            return iri[len(prefix):]
    return None


def nest(nodes: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Expanded JSON-LD nodes → nested dicts with local schema.org names, roots first."""
    by_id = {n["@id"]: n for n in nodes if isinstance(n, dict) and "@id" in n}
    referenced = {
        v["@id"]
        for n in nodes
        for key, values in n.items()
        if not key.startswith("@") and isinstance(values, list)
        for v in values
        if isinstance(v, dict) and "@id" in v
    }

    def build(node: dict[str, Any], path: frozenset[str]) -> dict[str, Any]:
        out: dict[str, Any] = {"@type": [t for t in node.get("@type", []) if isinstance(t, str)]}
        if "@id" in node:
            out["@id"] = node["@id"]
        for key, values in node.items():
            name = _local(key) if not key.startswith("@") else None
            if name is None or not isinstance(values, list):
                continue
            converted = [value(v, path) for v in values]
            out[name] = converted[0] if len(converted) == 1 else converted
        return out

    def value(v: Any, path: frozenset[str]) -> Any:
        if not isinstance(v, dict):
            return v
        if "@value" in v:
            return v["@value"]
        ref = v.get("@id")
        if ref in by_id and ref not in path and len(path) < 12:
            return build(by_id[ref], path | {ref})
        return ref

    roots = [n for n in nodes if isinstance(n, dict) and n.get("@id") not in referenced]
    others = [n for n in nodes if isinstance(n, dict) and n.get("@id") in referenced]
    return [build(n, frozenset({n.get("@id", "")})) for n in roots + others]


def typed_document(tree: lxml.etree._Element) -> lxml.etree._Element:
    """A small document with copies of the page's outermost ``typeof`` elements, each carrying
    the ``vocab``, ``prefix``, ``xmlns:*`` and language it inherits (the page itself when the
    ``<html>`` or ``<body>`` element is typed), parsed into the DOM-flavoured tree pyRdfa needs.

    A fresh ``XmlDomHTMLParser`` each time: it caches element classes per document, so a shared
    one would grow with every page.
    """
    roots = _XP_ROOTS(tree)
    if not roots or any(r.tag in ("html", "body") for r in roots):
        source = tree
    else:
        source = _typed_parts(roots)
    markup = lxml.etree.tostring(source, encoding="utf-8")
    return lxml.html.document_fromstring(markup, parser=XmlDomHTMLParser(encoding="utf-8"))


def _typed_parts(roots: list[lxml.etree._Element]) -> lxml.etree._Element:
    html = lxml.html.Element("html")
    lxml.etree.SubElement(html, "head")
    body = lxml.etree.SubElement(html, "body")
    for root in roots:
        part = copy.deepcopy(root)
        part.tail = None
        for ancestor in root.iterancestors():
            for name, value in ancestor.attrib.items():
                if (name in _INHERITED or name.startswith("xmlns:")) and name not in part.attrib:
                    part.set(name, value)
                elif name == "prefix" and value not in part.get("prefix", ""):
                    part.set("prefix", f"{part.get('prefix')} {value}")
        body.append(part)
    return html


def extract_rdfa(tree: lxml.etree._Element, url: str, warnings: list[str]) -> LayerResult:
    """Product fields from the page's RDFa (only when the page uses RDFa types)."""
    if not has_rdfa(tree):
        return LayerResult(SOURCE)
    try:
        document = typed_document(tree)
        if sum(1 for _ in document.iter()) > MAX_ELEMENTS:
            warnings.append(f"{SOURCE}: typed part over {MAX_ELEMENTS} elements, layer skipped")
            return LayerResult(SOURCE)
        nodes = _extractor.extract_items(document, base_url=url)
    except Exception as exc:
        warnings.append(f"{SOURCE}: cannot read ({type(exc).__name__})")
        return LayerResult(SOURCE)
    fields, is_product = schema_fields(nest(nodes), url)
    return LayerResult(SOURCE, fields, is_product)
