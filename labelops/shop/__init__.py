"""The demo shop: a synthetic shop (and real catalogs) as static sites, and a server for them.

- :func:`generate_demo_shop` writes the synthetic demo shop (ground truth in ``_catalog/``);
- :func:`render_catalog` renders a real catalog (Listing JSON lines or the Flipkart CSV);
- :func:`serve_folder` serves any folder on 127.0.0.1 for the length of a ``with`` block.
"""

from labelops.shop.catalog import demo_products, generate_demo_shop
from labelops.shop.real import CatalogFormatError, load_catalog, render_catalog
from labelops.shop.server import serve_folder
from labelops.shop.site import BASE_URL_PLACEHOLDER, DEFECT_KINDS, ShopProduct, SiteSummary

__all__ = [
    "BASE_URL_PLACEHOLDER",
    "DEFECT_KINDS",
    "CatalogFormatError",
    "ShopProduct",
    "SiteSummary",
    "demo_products",
    "generate_demo_shop",
    "load_catalog",
    "render_catalog",
    "serve_folder",
]
