"""The product's brand as the page shows it: a labelled brand ("Marke: Bosch"), a link to the
brand's page (``/brand/bosch``, ``?manufacturer_id=13``), or an element named for the brand; a
brand that the product's title also names counts more.
"""

from __future__ import annotations

import re
from urllib.parse import parse_qsl, unquote, urlsplit

import lxml.etree

from labelops.extraction.fields import Candidate
from labelops.extraction.heuristics.labels import Labelled
from labelops.extraction.page import Page
from labelops.extraction.vocabulary import BRAND_LABELS, PhraseSet, normalize_words
from labelops.normalize import clean_text

SOURCE = "page:brand"
BRAND_PATH_WORDS = frozenset({
    "brand", "brands", "marke", "marken", "marque", "marques", "marca", "marcas", "merk", "merken", "merke",
    "marka", "marki", "značka", "znacka", "znamka", "manufacturer", "manufacturers", "hersteller", "fabricant",
    "fabricante", "produttore", "producer", "proizvajalec", "proizvodjac", "vyrobce", "vyrobca", "gyarto",
    "brend", "бренд", "бренды", "brendy", "brands-a-z", "designer", "designers", "maker", "makers",
})
BRAND_QUERY_KEYS = frozenset({"brand", "brand_id", "brandid", "manufacturer", "manufacturer_id", "manufacturers_id",
                              "marke", "marque", "marca", "hersteller"})
BRAND_TOKENS = frozenset({"brand", "brandname", "brand-name", "product-brand", "productbrand", "manufacturer",
                          "marke", "marque", "marca", "merk", "hersteller", "brand-logo", "brandlogo"})
MAX_BRAND = 50
_SENTENCE = re.compile(r"[.!?]\s|\n")
_NOT_A_BRAND = PhraseSet((
    "brand", "brands", "manufacturer", "manufacturers", "marke", "marken", "marque", "marques", "hersteller",
    "fabricant", "more from", "see all", "view all", "shop all", "alle artikel", "voir tous", "ver todos",
    "vedi tutti", "ver mais",
))
"""Words that make a text about a brand rather than a brand name ("From the Manufacturer")."""
_BRAND_LABELS = frozenset(normalize_words(label) for label in BRAND_LABELS)
_XP_HREFS = lxml.etree.XPath("//body//a/@href")
# (matched against the lower-cased href: case-sensitive patterns are much faster)
_MAYBE_BRAND_HREF = re.compile("|".join(sorted(BRAND_PATH_WORDS | BRAND_QUERY_KEYS, key=len, reverse=True)))


def clean_brand(value: object) -> str | None:
    """A brand name from a text: label prefixes ("See more from the brand: X") dropped; ``None``
    for sentences, dates, prices, long texts and texts that are a brand label themselves
    ("Marke", "From the Manufacturer")."""
    text = clean_text(value)
    if not text:
        return None
    if ":" in text and len(text.split()) > 2:
        text = text.rsplit(":", 1)[1].strip()
    if not text or len(text) > MAX_BRAND or len(text.split()) > 6 or _SENTENCE.search(text):
        return None
    letters = sum(c.isalpha() for c in text)
    if letters < 2 or letters < sum(c.isdigit() for c in text):
        return None
    if normalize_words(text) in _BRAND_LABELS or _NOT_A_BRAND.search(text):
        return None
    return text


def _in_title(page: Page, brand: str) -> bool:
    title = page.title_element
    names = [page.text_of(title, 300)] if title is not None else []
    names += page.title_texts
    folded = brand.casefold()
    return any(folded in n.casefold() for n in names)


def _is_brand_link(href: str) -> bool:
    parts = urlsplit(href)
    segments = {unquote(s).lower() for s in parts.path.split("/") if s}
    if segments & BRAND_PATH_WORDS:
        return True
    return any(key.lower() in BRAND_QUERY_KEYS or "manufacturer" in value.lower() for key, value in parse_qsl(parts.query))


def brand_candidates(page: Page, labelled: list[Labelled]) -> list[Candidate]:
    weights: dict[str, float] = {}
    names: dict[str, str] = {}

    def add(value: str | None, weight: float, element: lxml.etree._Element) -> None:
        brand = clean_brand(value)
        if not brand or page.in_side_region(element):
            return
        if (distance := page.anchor_distance(element)) is not None and distance > 16:
            weight *= 0.6
        if _in_title(page, brand):
            weight += 1.0
        key = brand.casefold()
        names.setdefault(key, brand)
        weights[key] = max(weights.get(key, 0.0), weight)

    for item in labelled:
        if item.field == "brand":
            add(item.value, 2.5, item.label_element)
    for href in _XP_HREFS(page.tree):
        if not _MAYBE_BRAND_HREF.search(href.lower()):
            continue
        link = href.getparent()
        if link not in page.index or not _is_brand_link(str(href)):
            continue
        text = page.text_of(link, 80)
        if not text:
            image = link.find(".//img")
            text = (image.get("alt") or image.get("title") or "") if image is not None else ""
        add(text, 1.5, link)
    for element in page.named(BRAND_TOKENS):
        if element.tag not in ("a", "img", "body", "html"):
            text = page.text_of(element, 80)
            if not text:
                image = element.find(".//img")
                text = (image.get("alt") or "") if image is not None else ""
            add(text, 1.5, element)
    return [Candidate("brand", names[key], weight, SOURCE) for key, weight in weights.items()]


def spelled_as_in(brand: str, titles: list[str]) -> str:
    """The brand as a title writes it ("TP Link" → "TP-Link" when the title says "TP-Link Tapo")."""
    words = re.findall(r"\w+", brand)
    if not words:
        return brand
    pattern = re.compile(r"(?<!\w)" + r"[\s\-./&+]*".join(map(re.escape, words)) + r"(?!\w)", re.IGNORECASE)
    for title in titles:
        match = pattern.search(title)
        if match:
            return match.group(0)
    return brand
