"""Product pages on disk: finding ``.html``/``.html.gz`` files, reading them, and the
``labelops extract`` output for one page.

The output of one page is the benchmark's shape: ``price`` (plain decimal string), ``currency``
(ISO 4217), ``sku``, ``gtin``, ``mpn``, ``brand``, ``availability`` (``InStock``/``OutOfStock``),
``title``, ``description``; fields that were not found are left out.
"""

from __future__ import annotations

import gzip
import zlib
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from labelops.contracts import ExtractedProduct
from labelops.extraction.document import MAX_HTML_BYTES
from labelops.extraction.extract import extract_product
from labelops.extraction.profile import SiteProfiles

SUFFIXES = (".html.gz", ".htm.gz", ".html", ".htm")
"""File names ``labelops extract`` reads; the page id is the path without the suffix."""
OUTPUT_FIELDS = ("price", "currency", "sku", "gtin", "mpn", "brand", "availability", "title", "description")


class PageError(ValueError):
    """A path that cannot be read as product pages (missing, not HTML, not gzip...)."""


def page_id(path: str | Path, folder: str | Path | None = None) -> str:
    """The page id of a file: its path relative to ``folder`` (the folder it was found in; default:
    just its name), ``/``-separated, without ``.html``/``.html.gz``: ``ab12.html.gz`` → ``ab12``;
    ``shoes/index.html`` in the folder given → ``shoes/index``."""
    path = Path(path)
    name = path.relative_to(folder).as_posix() if folder is not None else path.name
    for suffix in SUFFIXES:
        if name.lower().endswith(suffix):
            return name[: -len(suffix)]
    return name


def is_page_file(path: Path) -> bool:
    return path.name.lower().endswith(SUFFIXES)


def find_page_ids(paths: Iterable[str | Path]) -> dict[str, Path]:
    """Page id → file for the HTML files named by ``paths``: files as given (id: the name), folders
    searched recursively (id: the path relative to that folder, so ``a/index.html`` and
    ``b/index.html`` stay apart), in order.

    Raises :class:`PageError` for a path that does not exist, a file that is not ``.html``/
    ``.html.gz``, or a folder holding none; and when two files would give the same page id.
    """
    found: dict[str, Path] = {}

    def add(file: Path, folder: Path | None) -> None:
        key = page_id(file, folder)
        other = found.setdefault(key, file)
        if other != file:
            raise PageError(f"{other} and {file} give the same page id {key!r}")

    for raw in paths:
        path = Path(raw)
        if not path.exists():
            raise PageError(f"{path}: no such file or folder")
        if path.is_dir():
            files = sorted(p for p in path.rglob("*") if p.is_file() and is_page_file(p))
            if not files:
                raise PageError(f"{path}: no .html or .html.gz files in this folder")
            for file in files:
                add(file, path)
        elif is_page_file(path):
            add(path, None)
        else:
            raise PageError(f"{path}: not an .html or .html.gz file")
    return found


def find_pages(paths: Iterable[str | Path]) -> list[Path]:
    """The HTML files named by ``paths`` (see :func:`find_page_ids`), in order."""
    return list(dict.fromkeys(find_page_ids(paths).values()))


def read_page(path: str | Path, max_bytes: int = MAX_HTML_BYTES) -> bytes:
    """The bytes of a page, gunzipped when the name ends in ``.gz``; at most ``max_bytes``
    (a gzip bomb stops there). Raises :class:`PageError` for unreadable or corrupt files."""
    path = Path(path)
    try:
        if path.name.lower().endswith(".gz"):
            with gzip.open(path, "rb") as f:
                return f.read(max_bytes)
        with path.open("rb") as f:
            return f.read(max_bytes)
    except (OSError, EOFError, zlib.error) as exc:
        raise PageError(f"{path}: cannot read ({exc})") from exc


def prediction(product: ExtractedProduct | None) -> dict[str, Any]:
    """The ``labelops extract`` fields of one page; missing fields left out."""
    if product is None:
        return {}
    values = product.model_dump(include=set(OUTPUT_FIELDS))
    return {name: values[name] for name in OUTPUT_FIELDS if values.get(name) not in (None, "")}


def extract_page(html: bytes | str, url: str = "", profiles: SiteProfiles | None = None) -> dict[str, Any]:
    """The ``labelops extract`` output of one page: :func:`extract_product` (the spider's
    function), then :func:`prediction`."""
    return prediction(extract_product(html, url, profiles=profiles))


def extract_file(path: str | Path, profiles: SiteProfiles | None = None) -> dict[str, Any]:
    """The ``labelops extract`` output of one ``.html``/``.html.gz`` file (:class:`PageError`
    when it cannot be read)."""
    return extract_page(read_page(path), profiles=profiles)
