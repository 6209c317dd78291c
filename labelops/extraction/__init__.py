"""Product extraction from HTML pages: structured data layers, declarative site profiles and page
heuristics, resolved by the weight of evidence.

``extract_product(html, url)`` is the one entry point the spider and ``labelops extract`` call.
"""

from labelops.extraction.extract import extract_product, merge
from labelops.extraction.fields import LAYER_ORDER, LayerResult
from labelops.extraction.profile import FieldRule, SiteProfile, SiteProfiles

__all__ = ["LAYER_ORDER", "FieldRule", "LayerResult", "SiteProfile", "SiteProfiles", "extract_product", "merge",
           "warm_up"]


def warm_up() -> None:
    """Build the tables extraction fills on first use (the currency symbols of every CLDR locale:
    about a second), so that no page waits for them. A crawl calls it before its first request: on
    Scrapy's event loop a second of building would stall every download in flight, and pages with a
    short timeout would fail."""
    from labelops.normalize import currency_code

    currency_code("€")
