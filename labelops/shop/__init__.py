"""The demo shop: a synthetic shop (and real catalogs) as static sites, and a server for them.

- :func:`generate_demo_shop` writes the synthetic demo shop (ground truth in ``_catalog/``);
- :func:`render_catalog` renders a real catalog (Listing JSON lines or the Flipkart CSV);
- :func:`serve_folder` serves any folder on 127.0.0.1 for the length of a ``with`` block.
"""

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from labelops.shop.catalog import demo_products, generate_demo_shop
    from labelops.shop.real import CatalogFormatError, load_catalog, render_catalog
    from labelops.shop.server import serve_folder
    from labelops.shop.site import BASE_URL_PLACEHOLDER, DEFECT_KINDS, ShopProduct, SiteSummary

_HOMES = {
    "demo_products": "catalog", "generate_demo_shop": "catalog",
    "CatalogFormatError": "real", "load_catalog": "real", "render_catalog": "real",
    "serve_folder": "server",
    "BASE_URL_PLACEHOLDER": "site", "DEFECT_KINDS": "site", "ShopProduct": "site", "SiteSummary": "site",
}


def __getattr__(name: str) -> Any:  # noqa: ANN401 - the names above, imported on first use (PEP 562)
    """Import the shop's modules (pyarrow, Jinja) on first use, so `labelops --help` stays quick."""
    if name in _HOMES:
        return getattr(import_module(f"labelops.shop.{_HOMES[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


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
