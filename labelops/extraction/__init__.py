"""Product extraction from HTML pages: structured data layers, declarative site profiles and page
heuristics, resolved by the weight of evidence.

``extract_product(html, url)`` is the one entry point the spider and ``labelops extract`` call.
"""

from labelops.extraction.extract import extract_product, merge
from labelops.extraction.fields import LAYER_ORDER, LayerResult
from labelops.extraction.profile import FieldRule, SiteProfile, SiteProfiles

__all__ = ["LAYER_ORDER", "FieldRule", "LayerResult", "SiteProfile", "SiteProfiles", "extract_product", "merge"]
