"""Page heuristics for availability, currency from the locale, script data layers, and how the
resolver weighs evidence."""

from __future__ import annotations

import pytest

from labelops.extraction import extract_product
from labelops.extraction.fields import Candidate, LayerResult
from labelops.extraction.heuristics.availability import stock_text
from labelops.extraction.resolve import choose, resolve

from .helpers import ld, page


def product_page(buy: str, *, extra: str = "", lang: str = "en", head: str = "") -> str:
    body = f"<main><h1>Desk Lamp</h1><div class='price'>€ 39,00</div>{buy}{extra}</main>"
    return page(head, body, html_attrs=f'lang="{lang}"')


@pytest.mark.parametrize(
    ("text", "status"),
    [
        ("Out of stock", "OutOfStock"),
        ("Sold out!", "OutOfStock"),
        ("Derzeit nicht verfügbar", "OutOfStock"),
        ("Rupture de stock", "OutOfStock"),
        ("Agotado", "OutOfStock"),
        ("Esaurito", "OutOfStock"),
        ("Нет в наличии", "OutOfStock"),
        ("在庫切れ", "OutOfStock"),
        ("품절", "OutOfStock"),
        ("המוצר אינו במלאי", "OutOfStock"),  # Hebrew: "the product is not in stock" (holds "in stock")
        ("In stock", "InStock"),
        ("Auf Lager", "InStock"),
        ("Dobavljivo", "InStock"),
        ("En stock", "InStock"),
        ("В наличии", "InStock"),
        ("Free delivery over £50", None),
    ],
)
def test_stock_texts_in_many_languages(text, status):
    assert stock_text(text) == status


@pytest.mark.parametrize(
    ("buy", "lang"),
    [
        ("<button type='submit'>Add to cart</button>", "en"),
        ("<button class='btn'>In den Warenkorb</button>", "de"),
        ("<input type='submit' value='Ajouter au panier'>", "fr"),
        ("<a class='btn btn-aggiungi' href='#'>Aggiungi al carrello</a>", "it"),
        ("<button>Do košíka</button>", "sk"),
        ("<button>Ielikt grozā</button>", "lv"),
        ("<a href='/cart'>カートに入れる</a>", "ja"),
        ("<div class='buyBtn'><a href=\"javascript:buy_process('x')\">宅配</a></div>", "zh"),
        ("<button id='button-cart'>Naroči</button>", "sl"),
    ],
)
def test_buy_button_means_in_stock(buy, lang):
    product = extract_product(product_page(buy, lang=lang), "https://shop.example/p/1")
    assert product is not None and product.availability == "InStock"


def test_sold_out_text_and_disabled_button_mean_out_of_stock():
    html = product_page("<button disabled>Add to cart</button>", extra="<p class='stock'>Sold out</p>")
    assert extract_product(html, "https://shop.example/p/1").availability == "OutOfStock"


def test_labelled_stock_status():
    html = product_page("<button>Naroči</button>", extra="<li><strong>Razpoložljivost:</strong> Ni na zalogi</li>",
                        lang="sl")
    assert extract_product(html, "https://shop.example.si/p/1").availability == "OutOfStock"


def test_enabled_buy_button_beside_the_title_outweighs_stale_out_of_stock_markup():
    data = {"@type": "Product", "name": "Desk Lamp", "offers": {"price": "39", "priceCurrency": "EUR",
                                                               "availability": "https://schema.org/OutOfStock"}}
    html = product_page("<button>Add to cart</button>", head=ld(data))
    assert extract_product(html, "https://shop.example/p/1").availability == "InStock"
    # ...but not when the page also says it is sold out
    html = product_page("<button>Add to cart</button>", head=ld(data), extra="<p>Sold out</p>")
    assert extract_product(html, "https://shop.example/p/1").availability == "OutOfStock"


def test_any_offer_in_stock_makes_the_product_in_stock():
    data = {"@type": "Product", "name": "Shirt", "offers": [
        {"price": "20", "priceCurrency": "EUR", "availability": "OutOfStock"},
        {"price": "20", "priceCurrency": "EUR", "availability": "InStock"},
    ]}
    assert extract_product(page(ld(data)), "https://shop.example/p/1").availability == "InStock"


def test_buttons_of_other_products_do_not_count():
    related = ("<section class='recommendations'><div class='tile'><span class='price'>€ 5</span>"
               "<button>Add to cart</button></div></section>")
    data = {"@type": "Product", "name": "Desk Lamp", "offers": {"price": "39", "priceCurrency": "EUR",
                                                               "availability": "OutOfStock"}}
    html = page(ld(data), f"<main><h1>Desk Lamp</h1><div class='price'>€ 39,00</div></main>{related}")
    assert extract_product(html, "https://shop.example/p/1").availability == "OutOfStock"


@pytest.mark.parametrize(
    ("lang", "url", "price_text", "currency"),
    [
        ("de-AT", "https://shop.example/p/1", "20,-", "EUR"),
        ("en", "https://shop.example.si/p/1", "40.00", "EUR"),
        ("sv-SE", "https://shop.example/p/1", "199 kr", "SEK"),
        ("nb", "https://shop.example.no/p/1", "199 kr", "NOK"),
        ("en", "https://classifieds.example.com.pk/item/1", "Rs 23,450", "PKR"),
        ("en-AU", "https://shop.example/p/1", "$12.00", "AUD"),
        ("pl", "https://shop.example/p/1", "12,00", "PLN"),
    ],
)
def test_currency_from_symbol_and_locale(lang, url, price_text, currency):
    body = f"<main><h1>Desk Lamp</h1><div class='price'>{price_text}</div><button>Buy now</button></main>"
    product = extract_product(page(body=body, html_attrs=f'lang="{lang}"'), url)
    assert product.currency == currency


def test_data_layer_fills_gaps_but_does_not_override():
    script = ("<script>dataLayer.push({'ecommerce': {'currencyCode': 'EUR', 'detail': {'products': [{"
              "'name': 'Desk Lamp', 'id': 'L-1', 'price': '39.00', 'brand': 'Lumo', 'sku': 'L-1'}]}}});</script>")
    html = product_page("<button>Add to cart</button>", head=script)
    product = extract_product(html, "https://shop.example/p/1")
    assert (product.brand, product.sku, product.currency) == ("Lumo", "L-1", "EUR")
    data = {"@type": "Product", "name": "Desk Lamp", "brand": "Lumo Lighting", "sku": "LL-9",
            "offers": {"price": "39", "priceCurrency": "EUR"}}
    product = extract_product(product_page("<button>Add to cart</button>", head=script + ld(data)), "https://shop.example/p/1")
    assert (product.brand, product.sku) == ("Lumo Lighting", "LL-9")


def test_resolver_adds_up_equal_values_and_keeps_the_better_layer_on_ties():
    candidates = [
        Candidate("price", "40.00", 5, "json-ld"),
        Candidate("price", "38", 5, "microdata"),
        Candidate("price", "38.00", 3, "page:price"),
        Candidate("brand", "Acme", 5, "json-ld"),
        Candidate("brand", "ACME", 1, "page:brand"),
        Candidate("sku", "A1", 5, "json-ld"),
        Candidate("sku", "B2", 5, "microdata"),
    ]
    chosen = choose(candidates)
    assert chosen["price"].value == "38" and chosen["price"].weight == 8
    assert chosen["brand"].value == "Acme" and chosen["brand"].weight == 6
    assert chosen["sku"].value == "A1"  # a tie: the earlier (better) layer


def test_resolver_evidence_against_a_value():
    chosen = choose([Candidate("price", "219.99", 5, "microdata"), Candidate("price", "219.99", -3, "page:old-price"),
                     Candidate("price", "110.00", 3, "page:price")])
    assert chosen["price"].value == "110.00"
    assert "price" not in choose([Candidate("price", "5.00", -3, "page:old-price")])


def test_resolver_identifiers_shown_on_the_page_count_more():
    candidates = [Candidate("sku", "INTERNAL-9", 5, "json-ld"), Candidate("sku", "AB-12", 4, "page:label")]
    assert choose(candidates, frozenset({"AB-12"}))["sku"].value == "AB-12"
    assert choose(candidates, frozenset())["sku"].value == "INTERNAL-9"


def test_resolve_reports_the_sources_kept():
    layers = [LayerResult("json-ld", {"title": "A", "price": "1.00"}, True), LayerResult("opengraph", {"title": "B"}, False)]
    fields, sources = resolve(layers, [Candidate("brand", "Zed", 2, "page:brand")])
    assert fields == {"title": "A", "price": "1.00", "brand": "Zed"}
    assert sources == ["json-ld", "json-ld", "page:brand"]
