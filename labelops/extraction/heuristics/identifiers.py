"""Product identifiers a page shows: labelled codes (sku, mpn, gtin), ``data-sku``-style attributes,
and the identifier in the page's own URL (``/itm/302474151804``, ``-iid-1021493409``,
``/p4781720``, ``?sku=1049084``) when the page repeats it elsewhere.
"""

from __future__ import annotations

import re
from urllib.parse import parse_qsl, unquote, urlsplit

import lxml.etree

from labelops.extraction.fields import Candidate
from labelops.extraction.heuristics.labels import Labelled, match_label
from labelops.extraction.page import Page
from labelops.extraction.vocabulary import token_set
from labelops.normalize import clean_code, currency_code, gtin_valid, normalize_availability, parse_gtin, parse_price

SOURCE_LABEL = "page:label"
SOURCE_ATTRIBUTE = "page:attribute"
SOURCE_URL = "page:url"
SOURCE_NAMED = "page:named"
CODE_NAME_TOKENS = frozenset({
    "sku", "skus", "product-reference", "productreference", "product-ref", "reference", "product-code",
    "productcode", "product-number", "productnumber", "article-number", "articlenumber", "artnr", "art-nr",
    "item-number", "itemnumber", "item-code", "itemcode", "product-sku", "productsku", "style-number",
    "stylenumber", "model-number", "part-number", "catnumber", "cat-number", "catalog-number",
    "catalognumber", "catalogue-number", "cataloguenumber", "ad-number", "adnumber", "adno", "ad-no", "ad-id",
    "adid", "listing-id", "listingid", "ref", "refcode", "ref-code",
})
"""Class/id/test-hook names of elements that hold the product's code."""

_CODE = re.compile(r"^[\w][\w./\-–#]{0,38}[\w]$|^\w$", re.UNICODE)
_SKU_ATTRIBUTES = ("data-sku", "data-product-sku", "data-item-sku", "data-product-code", "data-productcode",
                   "data-product-number", "data-item-number", "data-article-number", "data-articlenumber")
_TEST_HOOKS = ("data-testid", "data-test", "data-qa", "data-qa-qualifier", "data-test-id", "data-automation")
_XP_TEST_HOOKS = lxml.etree.XPath("//body//*[" + " or ".join(f"@{name}" for name in _TEST_HOOKS) + "]")
_MAYBE_CODE_HOOK = re.compile(
    rb"data-(?:testid|test|qa|qa-qualifier|test-id|automation)\s*=\s*[\"'][^\"'>]*(?:sku|ref|code|number|Sku|Ref|Code|Number)"
)
_MAYBE_SKU_ATTRIBUTE = re.compile(rb"data-(?:product-|item-|article-?)?(?:sku|code|productcode|number)\b")
# (case-sensitive: HTML attribute names are written in lower case, and IGNORECASE is slow)
_XP_SKU_ATTRIBUTES = lxml.etree.XPath("//body//*[" + " or ".join(f"@{name}" for name in _SKU_ATTRIBUTES) + "]")
_ID_QUERY_KEYS = frozenset({"sku", "id", "pid", "productid", "product_id", "products_id", "itemid", "item_id", "item",
                            "article", "artnr", "art", "code", "childsku", "variant", "v", "p"})
_URL_TOKEN = re.compile(r"[A-Za-z]*\d[A-Za-z0-9]*")
_DIGIT_RUN = re.compile(r"\d{5,}")


def looks_like_code(value: str) -> bool:
    """A product code: one token of letters, digits and ``-./#`` with a digit in it, 2-40 long."""
    return (2 <= len(value) <= 40 and " " not in value.strip() and any(c.isdigit() for c in value)
            and bool(_CODE.match(value.strip())))


def label_candidates(page: Page, labelled: list[Labelled]) -> list[Candidate]:
    """sku, mpn and gtin candidates from labelled values, weighed by where they are."""
    found: list[Candidate] = []
    for item in labelled:
        if item.field not in ("sku", "mpn", "gtin"):
            continue
        value = item.value.strip().split(" ")[0] if item.inline else item.value.strip()
        value = value.strip(".,;:()[]")
        if item.field == "gtin":
            gtin = parse_gtin(value)
            if gtin and gtin_valid(gtin):  # a labelled "EAN" whose check digit fails is some other number
                found.append(Candidate("gtin", gtin, _weight(page, item, 3.0), SOURCE_LABEL))
            continue
        if not looks_like_code(value):
            continue
        found.append(Candidate(item.field, clean_code(value), _weight(page, item, 4.0), SOURCE_LABEL))
        if len(value) >= 12 and gtin_valid(value):  # a code labelled "Art.-Nr." that is a GTIN is one too
            found.append(Candidate("gtin", value, _weight(page, item, 2.0), SOURCE_LABEL))
    return found


def _weight(page: Page, item: Labelled, base: float) -> float:
    if page.in_side_region(item.label_element):
        return base / 3
    distance = page.anchor_distance(item.label_element)
    if distance is not None and distance > 16:
        return base * 0.6
    return base


def attribute_candidates(page: Page) -> list[Candidate]:
    """sku candidates from ``data-sku``-like attributes of elements outside side regions."""
    found: list[Candidate] = []
    if page.source and not _MAYBE_SKU_ATTRIBUTE.search(page.source):
        return found  # (a quick look at the raw page spares a search of the tree)
    seen: set[str] = set()
    for element in _XP_SKU_ATTRIBUTES(page.tree):
        if element not in page.index:
            continue
        for name in _SKU_ATTRIBUTES:
            value = (element.get(name) or "").strip()
            if value and value not in seen and looks_like_code(value) and not page.in_side_region(element):
                seen.add(value)
                found.append(Candidate("sku", value, 1.5, SOURCE_ATTRIBUTE))
    return found


def named_candidates(page: Page) -> list[Candidate]:
    """sku candidates from elements whose class, id, itemprop or test hook names them a product
    code or reference (``<span data-qa-qualifier="product-reference">1002/710</span>``)."""
    elements = list(page.named(CODE_NAME_TOKENS))
    if not page.source or _MAYBE_CODE_HOOK.search(page.source):
        for element in _XP_TEST_HOOKS(page.tree):
            hooks = " ".join(element.get(name) or "" for name in _TEST_HOOKS)
            if token_set(hooks) & CODE_NAME_TOKENS and element in page.index:
                elements.append(element)
    found: list[Candidate] = []
    seen: set[lxml.etree._Element] = set()
    for element in elements:
        if element in seen or len(element) > 3 or page.in_side_region(element):
            continue
        seen.add(element)
        text = page.text_of(element, 60)
        match = match_label(text) if text else None
        if match and match[0] in ("sku", "mpn", "gtin"):
            continue  # "SKU: 123" in one element: the label reader has it
        weight = 3.5
        if not looks_like_code(text):  # "TE502955-1293415 Chair covers": the code, then words
            text = text.split()[0] if text else ""
            weight = 2.5
        if looks_like_code(text) and len(text) >= 4:
            distance = page.anchor_distance(element)
            if distance is not None and distance > 16:
                weight /= 2
            found.append(Candidate("sku", text, weight, SOURCE_NAMED))
    return found


SOURCE_ITEMPROP = "page:itemprop"
_XP_LOOSE_ITEMPROPS = lxml.etree.XPath("//*[@itemprop][@content][not(ancestor-or-self::*[@itemscope])]")
_LOOSE_FIELDS = {"price": "price", "lowprice": "price", "pricecurrency": "currency", "sku": "sku", "mpn": "mpn",
                 "gtin": "gtin", "gtin13": "gtin", "gtin12": "gtin", "gtin14": "gtin", "gtin8": "gtin", "brand": "brand",
                 "availability": "availability"}


def loose_itemprop_candidates(page: Page) -> list[Candidate]:
    """``<meta itemprop="price" content="19.99">`` outside any ``itemscope``: microdata readers
    skip these (no item holds them), shops still write them beside the product."""
    if page.source and b"itemprop" not in page.source:
        return []
    found: list[Candidate] = []
    for element in _XP_LOOSE_ITEMPROPS(page.tree):
        field = _LOOSE_FIELDS.get((element.get("itemprop") or "").strip().lower())
        content = (element.get("content") or "").strip()
        if field is None or not content or len(content) > 80:
            continue
        if field == "price":
            value, _ = parse_price(content)
        elif field == "currency":
            value = currency_code(content)
        elif field == "gtin":
            value = parse_gtin(content)
            value = value if value and gtin_valid(value) else None
        elif field == "availability":
            value = normalize_availability(content)
        elif field == "brand":
            value = content
        else:
            value = clean_code(content) if looks_like_code(content) else None
        if value:
            found.append(Candidate(field, value, 2.0, SOURCE_ITEMPROP))
    return found


def url_identifiers(url: str) -> list[str]:
    """Identifier-looking tokens of a URL, most specific first: query values under id-like keys,
    then tokens of the last path segments (``p4781720`` also gives ``4781720``)."""
    parts = urlsplit(url)
    tokens: list[str] = []
    for key, value in parse_qsl(parts.query):
        if key.lower() in _ID_QUERY_KEYS and looks_like_code(value):
            tokens.append(value)
    segments = [unquote(s) for s in parts.path.split("/") if s]
    for segment in reversed(segments[-3:]):
        stem = re.sub(r"\.(?:html?|php|aspx?|jsp)$", "", segment, flags=re.IGNORECASE)
        for token in reversed(_URL_TOKEN.findall(stem)):
            digits = sum(c.isdigit() for c in token)
            if digits < 4 or len(token) > 40:
                continue
            tokens.append(token)
            stripped = re.sub(r"^[A-Za-z]{1,2}(?=\d)", "", token)  # "p4781720" → "4781720"
            if stripped != token and len(stripped) >= 4:
                tokens.append(stripped)
            runs = _DIGIT_RUN.findall(token)  # "c7200a278526196" → "278526196"
            if runs and runs != [token]:
                tokens.extend(sorted(runs, key=len, reverse=True))
    return list(dict.fromkeys(tokens))


def url_candidates(page: Page) -> list[Candidate]:
    """The page URL's identifier, when the page mentions it as a whole token outside links."""
    found: list[Candidate] = []
    for url in page.page_urls[:1] or page.page_urls:
        for rank, token in enumerate(url_identifiers(url)):
            count = _mentions(token, page.source)
            if count:
                found.append(Candidate("sku", token, 1.5 if rank == 0 else 1.0, SOURCE_URL))
                break
    return found


def _mentions(token: str, html_text: bytes, limit: int = 50) -> int:
    """How often a token appears in the page as a whole token not inside a URL path."""
    needle = token.encode("utf-8")
    count = start = 0
    while count < limit:
        at = html_text.find(needle, start)
        if at < 0:
            break
        start = at + len(needle)
        before = html_text[at - 1 : at] if at else b" "
        after = html_text[start : start + 1] or b" "
        if not (before.isalnum() or before in b"/-.%_") and not (after.isalnum() or after == b"_"):
            count += 1
    return count
