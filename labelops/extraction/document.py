"""Turning page bytes into one lxml tree, safely, and reading small things off it.

Every layer reads the same plain lxml tree (the RDFa layer re-parses only the page's typed parts
with extruct's DOM-flavoured parser, see ``rdfa.py``). Pages that are empty, binary or not HTML give ``None``; huge pages are
cut to a bounded size first.
"""

from __future__ import annotations

import re
import threading
from urllib.parse import urljoin

import lxml.etree
import lxml.html
from w3lib.encoding import html_to_unicode

from labelops.normalize import clean_text

MAX_HTML_BYTES = 8 * 1024 * 1024
"""Pages are cut to this many bytes before parsing (bounds time and memory)."""

_local = threading.local()
_BOMS = (b"\xef\xbb\xbf", b"\xff\xfe", b"\xfe\xff")
_CONTROL_BYTES = re.compile(rb"[\x00-\x08\x0e-\x1a\x1c-\x1f]")
_NOT_LINKS = ("data:", "javascript:", "about:", "blob:")
_XP_TEXT = lxml.etree.XPath("descendant-or-self::text()[not(ancestor::script or ancestor::style)]")
_XP_CANONICAL = lxml.etree.XPath("//link[@href][contains(translate(@rel, 'CANONICAL', 'canonical'), 'canonical')]")
_XP_HAS_RDFA = lxml.etree.XPath("boolean(//*[@typeof or @vocab])")


def html_parser() -> lxml.html.HTMLParser:
    """One parser per thread (lxml parsers are not meant to be shared between threads).

    Not extruct's ``XmlDomHTMLParser``: it caches an element class per parsed document, so a
    long-lived one grows with every page (and is slower).
    """
    parser = getattr(_local, "parser", None)
    if parser is None:
        parser = _local.parser = lxml.html.HTMLParser(encoding="utf-8")
    return parser


def looks_binary(sample: bytes) -> bool:
    """True for bodies that are clearly not text (images, archives, PDFs...)."""
    if not sample or sample.startswith(_BOMS[1:]):  # UTF-16 text has NULs; its BOM says so
        return False
    return len(_CONTROL_BYTES.findall(sample)) > max(4, len(sample) // 100)


def decode_html(html: str | bytes, max_bytes: int = MAX_HTML_BYTES) -> tuple[bytes | None, list[str]]:
    """A page as UTF-8 bytes ready for lxml (or ``None`` when it is not HTML) plus warnings.

    Bytes are decoded by their BOM, HTTP-less ``<meta charset>`` or a guess (w3lib), then
    re-encoded as UTF-8; pages over ``max_bytes`` are cut first. Never raises.
    """
    warnings: list[str] = []
    try:
        if isinstance(html, str):
            body = html.encode("utf-8", "replace")
            declared = "utf-8"
        elif isinstance(html, (bytes, bytearray, memoryview)):
            body = bytes(html)
            declared = None
        else:
            return None, ["html: not str or bytes"]
        if len(body) > max_bytes:
            body = body[:max_bytes]
            warnings.append(f"html: page cut to {max_bytes} bytes")
        if not body.strip() or looks_binary(body[:4096]):
            return None, warnings
        if declared is None:
            _, text = html_to_unicode(None, body)
            body = text.encode("utf-8", "replace")
        body = body.replace(b"\x00", b"")
        if b"<" not in body[:65536]:
            return None, warnings
    except Exception as exc:  # codecs raise many kinds of errors on garbage
        return None, [*warnings, f"html: cannot decode ({type(exc).__name__})"]
    return body, warnings


def parse_utf8(body: bytes, warnings: list[str]) -> lxml.html.HtmlElement | None:
    """An lxml tree of UTF-8 page bytes, or ``None`` (with a warning) when lxml gives up."""
    try:
        return lxml.html.document_fromstring(body, parser=html_parser())
    except Exception as exc:  # lxml raises many kinds of errors on garbage
        warnings.append(f"html: cannot parse ({type(exc).__name__})")
        return None


def parse_html(html: str | bytes, max_bytes: int = MAX_HTML_BYTES) -> tuple[lxml.html.HtmlElement | None, list[str]]:
    """Parse a page into a tree (or ``None`` when it is not HTML) plus warnings. Never raises."""
    body, warnings = decode_html(html, max_bytes)
    if body is None:
        return None, warnings
    return parse_utf8(body, warnings), warnings


def node_text(node: object) -> str | None:
    """Visible text of an element (scripts and styles left out), cleaned; strings pass through."""
    if isinstance(node, str):
        return clean_text(node)
    if not isinstance(node, lxml.etree._Element):
        return None
    return clean_text("".join(_XP_TEXT(node)))


def canonical_url(tree: lxml.html.HtmlElement, url: str) -> str | None:
    """The absolute ``<link rel=canonical>`` of the page, if any."""
    for link in _XP_CANONICAL(tree):
        if "canonical" in (link.get("rel") or "").lower().split():
            href = (link.get("href") or "").strip()
            if href:
                return urljoin(url, href)
    return None


def has_rdfa(tree: lxml.html.HtmlElement) -> bool:
    """True when the page uses RDFa typing (``typeof``/``vocab``); OpenGraph metas do not count."""
    return bool(_XP_HAS_RDFA(tree))


def absolute_urls(values: object, base_url: str) -> list[str]:
    """Absolute URLs from a string or a list of strings, de-duplicated, order kept."""
    if isinstance(values, str) or values is None:
        values = [values]
    urls: list[str] = []
    for value in values:  # type: ignore[union-attr]
        if not isinstance(value, str) or not value.strip():
            continue
        url = urljoin(base_url, value.strip())
        if not url.startswith(_NOT_LINKS) and url not in urls:
            urls.append(url)
    return urls
