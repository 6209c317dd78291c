"""``extract_product``: one page in, one :class:`~labelops.contracts.ExtractedProduct` out.

The page is parsed once and every layer reads the same tree; a layer runs only when the page has
what it reads (JSON-LD blocks, ``itemscope``, RDFa types, OpenGraph tags). Then the page
heuristics look at what a shopper sees. Each field's value is chosen by the weight of evidence
(``resolve.py``): structured data by layer, heuristics by what backs them, equal values adding up.
List and map fields (images, categories, attributes, rating) come from the best layer that has them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import lxml.etree

from labelops.contracts import ExtractedProduct
from labelops.extraction.document import MAX_HTML_BYTES, canonical_url, decode_html, parse_utf8
from labelops.extraction.chooser import Chooser, shipped
from labelops.extraction.fields import Candidate, LayerResult, is_empty
from labelops.extraction.heuristics import page_evidence
from labelops.extraction.heuristics.brand import spelled_as_in
from labelops.extraction.jsonld import extract_jsonld
from labelops.extraction.microdata import extract_microdata
from labelops.extraction.opengraph import extract_opengraph
from labelops.extraction.page import Page
from labelops.extraction.profile import SiteProfiles
from labelops.extraction.rdfa import extract_rdfa
from labelops.extraction.state import extract_state, settle_price
from labelops.extraction.resolve import RESOLVED_FIELDS, choose, layer_candidates

_SCALAR_FIELDS = (
    "title", "description", "price", "currency", "sku", "gtin", "mpn", "brand", "availability",
    "rating", "review_count", "category_path", "image_urls",
)
_LIST_FIELDS = ("rating", "review_count", "category_path", "image_urls")
_XP_HAS_JSONLD = lxml.etree.XPath('boolean(//script[contains(translate(@type, "LDJSON", "ldjson"), "ld+json")])')
_STATE_HINT = re.compile(rb"__[A-Z_]+__\s*=|/json[\"' ]|json\+|=\s?\{\"")
"""A quick look at the raw page for embedded JSON state (``__NEXT_DATA__``, ``application/json``)."""
_XP_HAS_OG = lxml.etree.XPath('boolean(//meta[starts-with(@property, "og:") or starts-with(@property, "product:")])')


def merge(layers: list[LayerResult]) -> dict[str, Any]:
    """Fields from layers given best first: each field from the first layer that has it;
    ``attributes`` merged key by key (a better layer wins a key); ``sources`` lists contributors."""
    merged: dict[str, Any] = {}
    contributed: set[str] = set()
    for name in _SCALAR_FIELDS:
        for layer in layers:
            value = layer.fields.get(name)
            if not is_empty(value):
                merged[name] = value
                contributed.add(layer.source)
                break
    attributes: dict[str, str] = {}
    for layer in reversed(layers):
        if layer.fields.get("attributes"):
            attributes.update(layer.fields["attributes"])
    for layer in layers:
        if layer.fields.get("attributes"):
            contributed.add(layer.source)
    merged["attributes"] = attributes
    merged["sources"] = [layer.source for layer in layers if layer.source in contributed]
    return merged


def structured_layers(tree: lxml.etree._Element, url: str, profiles: SiteProfiles, warnings: list[str],
                      source: bytes | None = None) -> list[LayerResult]:
    """The structured-data layers the page can use, best first (the others are not run);
    ``source`` is the raw page (a quick look for embedded JSON state; without it the layer runs)."""
    layers = []
    if _XP_HAS_JSONLD(tree):
        layers.append(extract_jsonld(tree, url, warnings))
    layers.append(extract_microdata(tree, url, warnings))  # counts itemscope first: cheap when absent
    layers.append(extract_rdfa(tree, url, warnings))  # only when the page declares RDFa types
    layers.append(profiles.extract(tree, url, warnings))
    if source is None or _STATE_HINT.search(source):
        layers.append(extract_state(tree, url, warnings))
    if _XP_HAS_OG(tree):
        layers.append(extract_opengraph(tree, url, warnings))
    return [layer for layer in layers if layer]


@dataclass
class Gathered:
    """Everything read from one page before any field is chosen."""

    page: Page
    layers: list[LayerResult]
    candidates: list[Candidate]
    is_product: bool
    warnings: list[str]

    @property
    def titles(self) -> list[str]:
        return [t for t in (*(layer.fields.get("title") for layer in self.layers), *self.page.title_texts) if t]


def gather(html: str | bytes, url: str = "", *, profiles: SiteProfiles | None = None,
           max_bytes: int = MAX_HTML_BYTES) -> Gathered | None:
    """Parse a page and run every layer and heuristic: the candidates of every field (``None``
    when the page cannot be read)."""
    body, warnings = decode_html(html, max_bytes)
    if body is None:
        return None
    tree = parse_utf8(body, warnings)
    if tree is None:
        return None
    page = Page(tree, url, warnings, body)
    profiles = SiteProfiles.builtin() if profiles is None else profiles
    layers = structured_layers(tree, page.base_url, profiles, warnings, body)
    evidence = page_evidence(page)
    settle_price(layers, evidence.candidates)  # units or cents: the amount the page shows
    is_product = any(layer.is_product for layer in layers) or evidence.is_product
    return Gathered(page, layers, layer_candidates(layers) + evidence.candidates, is_product, warnings)


def extract_product(
    html: str | bytes,
    url: str = "",
    *,
    profiles: SiteProfiles | None = None,
    max_bytes: int = MAX_HTML_BYTES,
    chooser: Chooser | None | str = "default",
) -> ExtractedProduct | None:
    """The product on a page, or ``None`` when it is not a product page. Never raises on bad input.

    A page is a product page when JSON-LD, microdata or RDFa describe a Product, when
    ``og:type`` is product, when a site profile recognises it (``profiles`` defaults to the
    profiles shipped with labelops), or when the page shows a product title, a price and a buy
    button or a labelled product code. ``url`` is the page's address (relative links, URL
    identifiers); without it the page's canonical link stands in. Problems met on the way (a
    malformed JSON-LD block, a cut page) are listed in ``warnings``. ``chooser``: the learned
    chooser of price, sku, availability and brand (``chooser.py``, e.g. ``chooser.shipped()``);
    ``"default"`` uses it for the fields its training made the default, ``None`` the resolver's
    evidence weights alone.
    """
    gathered = gather(html, url, profiles=profiles, max_bytes=max_bytes)
    if gathered is None or not gathered.is_product:
        return None
    return finish(gathered, default_chooser() if chooser == "default" else chooser)


def default_chooser() -> Chooser | None:
    """The shipped chooser, for the fields its training made the default (where it beat the
    evidence weights on leave-one-shop-out); ``None`` when there are none."""
    model = shipped()
    fields = set(model.info.get("default_fields", ())) if model is not None else set()
    if not fields:
        return None
    return Chooser({name: m for name, m in model.models.items() if name in fields}, model.info)


def finish(gathered: Gathered, chooser: Chooser | None = None) -> ExtractedProduct:
    """The product from gathered candidates: each field chosen by the learned ``chooser`` where
    it has a model, by the weight of evidence otherwise."""
    page, layers = gathered.page, gathered.layers
    tree = page.tree
    fields = merge(layers)
    chosen = choose(gathered.candidates, page.visible_tokens)
    if chooser is not None:
        chosen.update(chooser.choose(gathered.candidates, page.visible_tokens, gathered.titles))
    chosen = {name: c for name, c in chosen.items() if c is not None}
    fields.update({name: chosen[name].value if name in chosen else None for name in RESOLVED_FIELDS})
    sources = [c.source for c in chosen.values()]
    if fields.get("brand"):
        titles = [t for t in (fields.get("title"), *page.title_texts) if t]
        fields["brand"] = spelled_as_in(fields["brand"], titles)
    fields["sources"] = _sources(layers, sources)
    return ExtractedProduct(**fields, canonical_url=canonical_url(tree, page.base_url), warnings=gathered.warnings)


def _sources(layers: list[LayerResult], winners: list[str]) -> list[str]:
    """Layers whose values were kept (resolved fields, or list fields taken from the best layer),
    in layer order, then ``page`` when a page heuristic's value was kept."""
    kept = {"page" if s.startswith("page") else s for s in winners}
    for name in _LIST_FIELDS:
        source = next((layer.source for layer in layers if not is_empty(layer.fields.get(name))), None)
        if source:
            kept.add(source)
    kept |= {layer.source for layer in layers if layer.fields.get("attributes")}
    return [layer.source for layer in layers if layer.source in kept] + (["page"] if "page" in kept else [])
