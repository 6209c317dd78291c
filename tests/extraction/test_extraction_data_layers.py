"""Issue 20, item 4: ``data-*`` price attributes on any element, analytics JSON attributes, and
storefront product JSON (``data-product-json``, ``ProductJson-*``, ``var meta = {"product": ...}``)
with integer minor-unit prices decided from evidence."""

from __future__ import annotations

import html as html_lib
import json

import pytest

from labelops.extraction import extract_product
from labelops.extraction.heuristics.data_attributes import price_kind
from labelops.extraction.state import minor_units_first

from .helpers import page

URL = "https://shop.example/p/walnut-desk"


def _product(body: str, head: str = "", lang: str = "en") -> object:
    product = extract_product(page(head=head, body=body, html_attrs=f'lang="{lang}"'), URL)
    assert product is not None
    return product


# ------------------------------------------------------------------------ data-* attributes


@pytest.mark.parametrize(
    ("name", "kind"),
    [
        ("data-price", "price"), ("data-product-price", "price"), ("data-price-amount", "price"),
        ("data-final-price", "current"), ("data-sale-price", "current"), ("data-salePrice", "current"),
        ("data-regular-price", "old"), ("data-compare-at-price", "old"), ("data-old-price", "old"),
        ("data-price-min", None), ("data-price-per-unit", None), ("data-price-type", None), ("data-sku", None),
    ],
)
def test_attribute_names_are_read_as_words(name, kind):
    assert price_kind(name) == kind


def test_data_price_on_a_product_container_with_its_currency():
    body = ('<main><div class="product" data-price="1299.00" data-currency="EUR"><h1>Walnut Desk</h1>'
            '<button>Add to cart</button><p>SKU: WD-100</p></div></main>')
    product = _product(body)
    assert (product.price, product.currency) == ("1299.00", "EUR")


def test_data_product_price_on_the_buy_button():
    body = ('<main><h1>Walnut Desk</h1><p>SKU: WD-100</p>'
            '<button class="add" data-product-price="12.50">Add to cart</button></main>')
    product = _product(body)
    assert product.price == "12.50"


def test_regular_price_attribute_loses_to_the_sale_price():
    body = ('<main><h1>Walnut Desk</h1><p>SKU: WD-100</p>'
            '<div class="buy-box" data-regular-price="89.00" data-sale-price="69.00">'
            '<button>Add to cart</button></div></main>')
    product = _product(body, head='<meta property="og:type" content="product">')
    assert product.price == "69.00"


def test_regular_price_attribute_counts_against_a_structured_list_price():
    # the structured data carries the list price; the attributes name it the regular one
    head = ('<script type="application/ld+json">' + json.dumps(
        {"@type": "Product", "name": "Walnut Desk", "sku": "WD-100",
         "offers": {"@type": "Offer", "price": "89.00", "priceCurrency": "EUR"}}) + "</script>")
    shown = '<main><h1>Walnut Desk</h1><div{}><span>69,00 €</span><button>Add to cart</button></div></main>'
    without = _product(shown.format(""), head, lang="de")
    with_attributes = _product(shown.format(' data-regular-price="89.00" data-final-price="69.00"'), head, lang="de")
    assert without.price == "89.00"  # the structured price outweighs a plain visible one...
    assert with_attributes.price == "69.00"  # ...but not one the attributes name the regular price


def test_attribute_prices_in_related_products_do_not_count():
    body = ('<main><h1>Walnut Desk</h1><p>SKU: WD-100</p><button>Add to cart</button></main>'
            '<section class="related-products"><div class="item" data-price="15.00"><a href="/x">Lamp</a></div>'
            '</section>')
    product = _product(body, head='<meta property="og:type" content="product">')
    assert product.price is None


def test_analytics_json_attribute_gives_price_brand_and_sku():
    data = html_lib.escape(json.dumps({"ecommerce": {"items": [
        {"item_name": "Walnut Desk", "price": "349.00", "item_brand": "Oakline", "sku": "WD-349",
         "currency": "GBP"}]}}))
    body = (f'<main><h1>Walnut Desk</h1><div class="buy" data-gtm="{data}">'
            '<button>Add to basket</button></div></main>')
    product = _product(body, head='<meta property="og:type" content="product">')
    assert (product.price, product.brand, product.sku, product.currency) == ("349.00", "Oakline", "WD-349", "GBP")


# ------------------------------------------------------------------ storefront product JSON


def _product_json(price, *, compare=None, variants=None) -> dict:
    variants = variants or [{"id": 1, "title": "Default Title", "sku": "WD-1299", "price": price,
                             "compare_at_price": compare, "available": True}]
    return {"id": 7, "title": "Walnut Desk", "vendor": "Oakline", "price": price, "price_min": price,
            "price_max": price, "compare_at_price": compare, "available": True, "variants": variants}


def test_cents_product_json_beside_a_visible_european_price():
    head = f'<script type="application/json" data-product-json>{json.dumps(_product_json(129900))}</script>'
    body = '<main><h1>Walnut Desk</h1><span>1.299,00 €</span><button>In den Warenkorb</button></main>'
    product = _product(body, head, lang="de")
    assert (product.price, product.sku, product.brand) == ("1299.00", "WD-1299", "Oakline")
    assert "state" in product.sources


def test_cents_product_json_alone_is_read_as_cents_by_its_shape():
    head = f'<script type="application/json" id="ProductJson-main">{json.dumps(_product_json(4950))}</script>'
    product = _product('<main><h1>Walnut Desk</h1><button>Add to cart</button></main>', head)
    assert product.price == "49.50"


def test_unit_product_json_is_read_as_units_when_the_page_shows_units():
    # the same shape, but the amounts are units: the page shows "1,299" dollars
    head = f'<script type="application/json" data-product-json>{json.dumps(_product_json(1299))}</script>'
    body = '<main><h1>Walnut Desk</h1><span class="price">$1,299</span><button>Add to cart</button></main>'
    product = _product(body, head, lang="en-US")
    assert product.price == "1299.00"


def test_decimal_amounts_in_the_object_mean_units():
    obj = _product_json(1299, compare="1499.00")
    assert minor_units_first(obj, 1299, "USD") is False
    assert minor_units_first(_product_json(129900), 129900, "USD") is True
    assert minor_units_first({"price": 129900}, 129900, "USD") is False  # no schema, no evidence: as written
    assert minor_units_first(_product_json(1500), 1500, "JPY") is True
    assert minor_units_first(_product_json(1550), 1550, "JPY") is False  # yen cents would end in 00
    assert minor_units_first(_product_json("12.50"), "12.50", "USD") is None  # nothing to decide


def test_analytics_meta_assignment_with_variant_prices_in_cents():
    meta = {"product": {"id": 7, "vendor": "Oakline", "type": "Desks", "variants": [
        {"id": 1, "price": 34900, "name": "Walnut Desk", "sku": "WD-349"}]}, "page": {"pageType": "product"}}
    head = (f"<script>var meta = {json.dumps(meta)};\nfor (var attr in meta) {{ window.ShopifyAnalytics.meta[attr] = "
            "meta[attr]; }</script>")
    body = '<main><h1>Walnut Desk</h1><p class="price">€349,00</p><button>Add to cart</button></main>'
    product = _product(body, head, lang="de")
    assert (product.price, product.sku, product.brand) == ("349.00", "WD-349", "Oakline")


def test_dotted_assignment_is_read_and_units_win_when_shown():
    meta = {"product": {"title": "Walnut Desk", "vendor": "Oakline", "variants": [
        {"price": 349, "sku": "WD-349", "compare_at_price": None}]}}
    head = f"<script>window.ShopAnalytics.meta = {json.dumps(meta)};</script>"
    body = '<main><h1>Walnut Desk</h1><p class="price">349 €</p><button>Add to cart</button></main>'
    product = _product(body, head, lang="fr")
    assert product.price == "349.00"
    assert product.sku == "WD-349"
