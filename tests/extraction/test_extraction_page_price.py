"""Page heuristics for the price: pages without structured data, in many languages and markups."""

from __future__ import annotations

import pytest

from labelops.extraction import extract_product

from .helpers import ld, page

HEADER = '<header><div class="minicart"><span class="price">€ 0,00</span></div><nav><a href="/sale">Sale</a></nav></header>'
RELATED = (
    '<section class="related-products"><h2>You may also like</h2>'
    '<div class="product-tile"><span class="price">€ 12,00</span><button class="add-to-cart">Add to cart</button></div>'
    '<div class="product-tile"><span class="price">€ 99,00</span><button class="add-to-cart">Add to cart</button></div></section>'
)


def shop_page(main: str, *, lang: str = "en", url: str = "https://shop.example/p/1") -> tuple[str, str]:
    body = f'{HEADER}<main><div class="product">{main}</div></main>{RELATED}'
    return page(body=body, html_attrs=f'lang="{lang}"'), url


@pytest.mark.parametrize(
    ("main", "lang", "url", "price", "currency"),
    [
        # English, symbol before, the struck-through old price beside it
        ('<h1>Walnut Desk</h1><p class="price"><del>£349.00</del> <span class="now">£299.00</span></p>'
         '<button>Add to basket</button>', "en-GB", "https://shop.example.co.uk/p/1", "299.00", "GBP"),
        # German, comma decimals, "statt" old price and a per-unit price
        ('<h1>Kaffeebohnen Espresso</h1><div class="preis"><span class="aktuell">12,99 €</span>'
         '<span class="streichpreis">statt 15,99 €</span></div><div>Grundpreis: 12,99 € / kg</div>'
         '<button>In den Warenkorb</button>', "de-DE", "https://shop.example.de/p/1", "12.99", "EUR"),
        # French, thousands with a space, price in a plain span beside the button
        ('<h1>Canapé d’angle</h1><div><span>1 299,00 €</span></div><button>Ajouter au panier</button>',
         "fr-FR", "https://boutique.example.fr/p/1", "1299.00", "EUR"),
        # Japanese yen, price split from its currency sign
        ('<h1>抹茶セット</h1><div class="item-price"><span>3,980</span><span>円</span></div>'
         '<button>カートに入れる</button>', "ja", "https://shop.example.jp/p/1", "3980.00", "JPY"),
        # Korean won written after the number in a child element, big inline font
        ('<h1>무선 이어폰</h1><p class="deal_price_sell"><strong style="font-size:27px">30,000<sub>원~</sub></strong></p>'
         '<button>장바구니</button>', "ko", "https://shop.example.co.kr/deal/1", "30000.00", "KRW"),
        # Polish złoty, unit price and instalments nearby
        ('<h1>Rower miejski</h1><div class="cena">1 599,00 zł</div><div class="installments">od 133,25 zł / mies.</div>'
         '<button>Dodaj do koszyka</button>', "pl", "https://sklep.example.pl/p/1", "1599.00", "PLN"),
        # a dollar sign on a Canadian page is CAD
        ('<h1>Snow Boots</h1><div class="product-price">$149.99</div><button>Add to Cart</button>',
         "en-CA", "https://shop.example.ca/p/1", "149.99", "CAD"),
        # Traditional Chinese, price labelled and followed by its unit, the list price struck
        ('<h1>不鏽鋼碗籃組</h1><table><tr><td>建議售價 <del>$420</del>元</td></tr>'
         '<tr><td>特價 <span style="font:bold 27px Verdana">294</span><span> 元 </span></td></tr></table>'
         '<a href="javascript:buy_process(1)">直接購買</a>', None, "https://shop.example.com.tw/M1.htm", "294.00", "TWD"),
    ],
)
def test_main_price_near_title_and_button(main, lang, url, price, currency):
    html, _ = shop_page(main, lang=lang or "")
    product = extract_product(html, url)
    assert product is not None, "a title, a price and a buy button make a product page"
    assert (product.price, product.currency) == (price, currency)
    assert "page" in product.sources


def test_visible_price_beats_a_structured_old_price():
    # structured data carries the list price; the page strikes it through and sells for less
    data = {"@type": "Product", "name": "Lamp", "offers": {"@type": "Offer", "price": "219.99", "priceCurrency": "EUR"}}
    body = ('<h1>Lamp</h1><div class="price-block"><s class="old-price">EUR219.99</s> <span>-50%</span>'
            '<span class="current-price">EUR110.00</span></div><button>Add to cart</button>')
    product = extract_product(page(ld(data), body), "https://shop.example/p/lamp")
    assert product.price == "110.00"


def test_structured_price_stays_when_the_page_agrees_or_is_silent():
    data = {"@type": "Product", "name": "Lamp", "offers": {"@type": "Offer", "price": "49.00", "priceCurrency": "EUR"}}
    silent = extract_product(page(ld(data), "<h1>Lamp</h1><p>Nice lamp.</p>"), "https://shop.example/p/lamp")
    assert silent.price == "49.00"
    agrees = extract_product(page(ld(data), '<h1>Lamp</h1><p class="price">49,00 €</p>'), "https://shop.example/p/lamp")
    assert agrees.price == "49.00"


def test_offers_at_several_prices_the_page_shows_which():
    data = {"@type": "Product", "name": "Book", "offers": [
        {"@type": "Offer", "price": "18.00", "priceCurrency": "EUR"},
        {"@type": "Offer", "price": "17.10", "priceCurrency": "EUR"},
    ]}
    body = ('<h1>Book</h1><div class="price"><strong>€ <span>17,10</span></strong>'
            '<span class="barred">€ 18,00</span> <span>-5%</span></div><a class="btn">Aggiungi al carrello</a>')
    assert extract_product(page(ld(data), body), "https://libri.example.it/p/1").price == "17.10"


def test_zero_price_in_structured_data_is_reported_as_is():
    # whether 0 is a real price is the listings validation's call (it quarantines absurd prices)
    data = {"@type": "Product", "name": "Pen", "offers": {"@type": "Offer", "price": "0", "priceCurrency": "ILS"}}
    product = extract_product(page(ld(data), "<h1>Pen</h1>"), "https://shop.example.co.il/p/1")
    assert product.price == "0.00"


def test_prices_of_other_products_do_not_stand_in_for_a_missing_price():
    data = {"@type": "Product", "name": "Sol Lamp", "sku": "L-14"}
    cards = "".join(f'<li><a href="/p/{i}">Lamp {i}</a> <span class="price">€{i}2.99</span></li>' for i in range(1, 6))
    body = (f'<article><h1>Sol Lamp</h1><p class="price">Price on request</p><a class="add-to-cart" href="/cart/add/L-14">'
            f'Add to cart</a></article><section class="related"><h2>Related products</h2><ul class="grid">{cards}'
            f'{cards}</ul></section>')
    assert extract_product(page(ld(data), body), "https://shop.example/p/14").price is None


def test_listing_page_is_not_a_product_page():
    # many products, each with a price and a button, and no single product title
    cards = "".join(
        f'<li class="product-card"><a href="/p/{i}">Item {i}</a><span class="price">€ {i},00</span></li>' for i in range(1, 30)
    )
    html = page(body=f"<h1>Garden tools</h1><ul class='grid'>{cards}</ul>")
    assert extract_product(html, "https://shop.example/c/garden") is None


def test_price_text_without_button_or_title_is_not_a_product():
    html = page(body="<h1>About us</h1><p>We sell things.</p><p class='price'>£10</p>")
    assert extract_product(html, "https://shop.example/about") is None
