"""Whether the main product can be bought: a labelled stock status ("Verfügbarkeit: auf Lager"),
"sold out" / "in stock" texts near the product, and its buy button (present and enabled).

Evidence, strongest first: a labelled status; an out-of-stock text near the title or buy button
(unless an enabled buy button says otherwise); an enabled buy button; an in-stock text near the
product; and, weakest, a product offered for a visible price with no sign it is unavailable.
"""

from __future__ import annotations

from labelops.extraction.fields import Candidate
from labelops.extraction.heuristics.labels import Labelled
from labelops.extraction.page import Page
from labelops.extraction.vocabulary import IN_STOCK_PHRASES, OUT_OF_STOCK_PHRASES, PhraseSet

SOURCE = "page:availability"
NEAR = 12
"""Tree distance from the title or buy button within which a stock text counts."""
MAX_STOCK_TEXT = 60
WINDOW = 600
"""Elements before or after the title or buy button (document order) searched for stock texts."""

BUTTON_NEAR_TITLE = 10
AGAINST_OUT_OF_STOCK = -3.0

_OUT = PhraseSet(OUT_OF_STOCK_PHRASES)
_IN = PhraseSet(IN_STOCK_PHRASES)


def stock_text(text: str) -> str | None:
    """``OutOfStock``/``InStock`` for a short stock text in any of many languages, else ``None``."""
    if not text or len(text) > MAX_STOCK_TEXT:
        return None
    if _OUT.search(text):
        return "OutOfStock"
    if _IN.search(text):
        return "InStock"
    return None


def extract_availability(page: Page, labelled: list[Labelled], has_price: bool) -> list[Candidate]:
    found: list[Candidate] = []
    for item in labelled:
        if item.field == "availability" and not page.in_side_region(item.label_element):
            status = stock_text(item.value)
            if status:
                found.append(Candidate("availability", status, 3.0, SOURCE))
                break
    near_out = near_in = False
    if page.anchors:
        positions = [page.index.get(a, 0) for a in page.anchors]
        for text in page.texts:
            if len(text.text) > MAX_STOCK_TEXT or min(abs(text.index - p) for p in positions) > WINDOW:
                continue
            if page.in_side_region(text.element):
                continue
            distance = page.anchor_distance(text.element)
            if distance is None or distance > NEAR:
                continue
            status = stock_text(text.text)
            if status == "OutOfStock":
                near_out = True
            elif status == "InStock":
                near_in = True
    button = page.buy_button
    enabled = button is not None and not page.is_disabled(button) and not stock_text(page.text_of(button, 60)) == "OutOfStock"
    if near_out and not enabled:
        found.append(Candidate("availability", "OutOfStock", 2.5, SOURCE))
    elif enabled:
        found.append(Candidate("availability", "InStock", 2.5, SOURCE))
        title = page.title_element
        if not near_out and title is not None and page.distance(button, title) <= BUTTON_NEAR_TITLE:
            # the product can be put in the cart right beside its title and nothing says it is
            # sold out: structured data saying otherwise is stale or about one variant
            found.append(Candidate("availability", "OutOfStock", AGAINST_OUT_OF_STOCK, SOURCE))
    elif near_in:
        found.append(Candidate("availability", "InStock", 1.5, SOURCE))
    elif near_out:
        found.append(Candidate("availability", "OutOfStock", 1.5, SOURCE))
    elif has_price:
        found.append(Candidate("availability", "InStock", 0.5, SOURCE))
    return found
