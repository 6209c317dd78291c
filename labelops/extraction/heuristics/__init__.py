"""Page heuristics: what a shopper sees on a product page, for pages whose structured data is
missing, partial or wrong.

Each module reads one kind of evidence from the shared :class:`~labelops.extraction.page.Page`
and returns weighted :class:`~labelops.extraction.fields.Candidate` values:

* ``price``: the selling price near the title and buy button (and its currency symbol);
* ``labels``: labelled values in many languages ("Art.-Nr.: 123", "Marke: X");
* ``identifiers``: sku/mpn/gtin from labels, ``data-sku`` attributes and the page's URL;
* ``availability``: stock texts and the buy button;
* ``brand``: labelled brands, brand links, brand elements;
* ``currency``: the page's locale (country domain, ``lang``) for prices written without one;
* ``scripts``: analytics data layers in inline scripts;
* ``data_attributes``: ``data-price``-like and analytics JSON attributes of any element.
"""

from __future__ import annotations

from dataclasses import dataclass

from labelops.extraction.fields import Candidate
from labelops.extraction.heuristics.availability import extract_availability
from labelops.extraction.heuristics.brand import brand_candidates
from labelops.extraction.heuristics.currency import locale_currency
from labelops.extraction.heuristics.data_attributes import SOURCE as ATTRIBUTE_SOURCE
from labelops.extraction.heuristics.data_attributes import data_attribute_candidates
from labelops.extraction.heuristics.identifiers import (
    attribute_candidates,
    label_candidates,
    loose_itemprop_candidates,
    named_candidates,
    url_candidates,
)
from labelops.extraction.heuristics.labels import labelled_values
from labelops.extraction.heuristics.price import extract_price
from labelops.extraction.heuristics.scripts import extract_scripts
from labelops.extraction.page import Page
from labelops.normalize import clean_text

SOURCE = "page"


@dataclass
class PageEvidence:
    """All candidates the heuristics found, and whether the page looks like a product page."""

    candidates: list[Candidate]
    is_product: bool


def page_evidence(page: Page) -> PageEvidence:
    """Run every heuristic on a page."""
    candidates: list[Candidate] = []
    labelled = labelled_values(page)
    winner, prices = extract_price(page)
    candidates += prices
    attributed = data_attribute_candidates(page)
    candidates += attributed
    has_price = winner is not None
    if not any(c.field == "currency" for c in (*prices, *attributed)) and (code := locale_currency(page)):
        candidates.append(Candidate("currency", code, 1.0, "page:locale"))
    candidates += label_candidates(page, labelled)
    candidates += attribute_candidates(page)
    candidates += named_candidates(page)
    candidates += url_candidates(page)
    candidates += loose_itemprop_candidates(page)
    candidates += brand_candidates(page, labelled)
    candidates += extract_availability(page, labelled, has_price)
    candidates += extract_scripts(page.tree)
    title = page.title_element
    if title is not None and (text := clean_text(page.text_of(title, 500))):
        candidates.append(Candidate("title", text, 1.0, "page:title"))
    description = next(iter(page.metas.get("description", [])), None)
    if description and (text := clean_text(description)):
        candidates.append(Candidate("description", text, 1.0, "page:meta"))
    has_button = page.buy_button is not None
    has_code = any(c.field == "sku" and c.source == "page:label" for c in candidates)
    # a title, a price, and a buy button or a labelled code; with both, a weaker price will do
    # (one nested deep in wrappers far from the title in tree steps)
    # (a price the markup names beside the title and buy button, data-price="12.50", counts as one)
    attribute_price = any(c.source == ATTRIBUTE_SOURCE and c.weight >= 1.0 for c in attributed)
    is_product = bool(
        title is not None
        and ((winner is not None and winner.score >= (1 if has_button and has_code else 2)) or attribute_price)
        and (has_button or has_code)
    )
    return PageEvidence(candidates, is_product)


__all__ = ["Page", "PageEvidence", "page_evidence"]
