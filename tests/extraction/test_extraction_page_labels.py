"""Page heuristics for labelled values (sku, brand, mpn, gtin, stock status) and identifiers."""

from __future__ import annotations

import pytest

from labelops.extraction import extract_product
from labelops.extraction.heuristics.identifiers import url_identifiers
from labelops.extraction.heuristics.labels import labelled_values, match_label
from labelops.extraction.page import Page
from labelops.extraction.document import parse_html

from .helpers import ld, page

BUY = '<div class="price">€ 10,00</div><button type="submit">Add to cart</button>'


def product_page(details: str, title: str = "Trail Shoe", lang: str = "en") -> str:
    return page(body=f"<main><h1>{title}</h1>{BUY}<div class='details'>{details}</div></main>", html_attrs=f'lang="{lang}"')


def labels_of(html: str) -> list[tuple[str, str]]:
    tree, _ = parse_html(html)
    return [(item.field, item.value) for item in labelled_values(Page(tree))]


@pytest.mark.parametrize(
    ("markup", "field", "value"),
    [
        ("<p>Product code: 83810610</p>", "sku", "83810610"),
        ("<li><strong>Šifra:</strong> 0638</li>", "sku", "0638"),
        ("<table><tr><th>Artikelnummer</th><td>AB-1234</td></tr></table>", "sku", "AB-1234"),
        ("<dl><dt>Référence</dt><dd>TE502955-1293415</dd></dl>", "sku", "TE502955-1293415"),
        ("<div><span>Código do artigo</span><span>1236291</span></div>", "sku", "1236291"),
        ("<p>品番：AB-12</p>", "sku", "AB-12"),
        ("<p>Артикул: 445-221</p>", "sku", "445-221"),
        ("<p>eBay item number: 302474151804</p>", "sku", "302474151804"),
        ("<div class='lbl'> Anzeige: </div><strong><span> 278526196 </span></strong>", "sku", "278526196"),
        ("<p>SKU 9981</p>", "sku", "9981"),
        ("<li><strong>Proizvajalec:</strong> <a href='/m/13'>B&amp;S</a></li>", "brand", "B&S"),
        ("<span>make/manufacturer: <b>Consteel LTD</b></span>", "brand", "Consteel LTD"),
        ("<dl><dt><span title='Brand Name'>Brand Name:</span></dt><dd><div>YONGLI</div></dd></dl>", "brand", "YONGLI"),
        ("<tr><td>Marke</td><td>Bosch</td></tr>", "brand", "Bosch"),
        ("<p>Modèle : XR-200</p>", "mpn", "XR-200"),
        ("<p>EAN: 4006381333931</p>", "gtin", "4006381333931"),
        ("<li><strong>Razpoložljivost:</strong> Dobavljivo</li>", "availability", "Dobavljivo"),
        ("<p>Verfügbarkeit: <span>Auf Lager</span></p>", "availability", "Auf Lager"),
    ],
)
def test_labelled_value_in_any_markup(markup, field, value):
    assert (field, value) in labels_of(product_page(markup))


@pytest.mark.parametrize(
    "markup",
    [
        "<p>Brand new condition, barely used.</p>",  # starts with a label word, is a sentence
        "<p>Code of conduct applies to all sellers</p>",
        "<p>Reference books and more</p>",
    ],
)
def test_sentences_starting_with_a_label_word_are_not_labels(markup):
    assert labels_of(product_page(markup)) == []


def test_match_label_separators_and_prefixes():
    assert match_label("Art.-Nr.: 123") == ("sku", "123", True)
    assert match_label("Item #: 77") == ("sku", "77", True)
    assert match_label("Brand") == ("brand", "", False)
    assert match_label("Nothing here") is None


def test_labelled_sku_beats_an_internal_id_in_structured_data():
    # the JSON-LD sku is an internal id the page never shows; the page shows its product code
    data = {"@type": "Product", "name": "Speaker", "sku": "238368885",
            "offers": {"@type": "Offer", "price": "49", "priceCurrency": "GBP"}}
    html = page(ld(data), "<h1>Speaker</h1><p class='price'>£49.00</p><button>Add to basket</button>"
                          "<p class='product-code'>Product code: 83810610</p>")
    assert extract_product(html, "https://shop.example.co.uk/p4781720").sku == "83810610"


def test_structured_sku_shown_on_the_page_stays():
    data = {"@type": "Product", "name": "Mower", "sku": "763127", "offers": {"price": "978", "priceCurrency": "EUR"}}
    html = page(ld(data), "<h1>Mower</h1><p>Tootekood: 763127</p><p>Mudel: Indego 400</p>")
    assert extract_product(html, "https://shop.example.ee/p/1").sku == "763127"


def test_one_code_written_two_ways_takes_the_shown_form():
    html = page(body='<main><h1>Camera <span class="cat-number">466/7999</span></h1>'
                     '<div itemscope itemtype="http://schema.org/Product"><meta itemprop="name" content="Camera">'
                     '<meta itemprop="sku" content="4667999"></div>' + BUY + "</main>")
    assert extract_product(html, "https://shop.example.co.uk/product/4667999").sku == "466/7999"


def test_code_named_element_and_test_hooks():
    html = product_page('<p class="product-color"><span>Black</span> - <span data-qa-qualifier="product-reference">'
                        "1002/710</span></p>")
    assert extract_product(html, "https://shop.example/p/1").sku == "1002/710"


@pytest.mark.parametrize(
    ("url", "first"),
    [
        ("https://www.market.example/itm/Some-Thing-/302474151804", "302474151804"),
        ("https://classifieds.example/item/infinix-hot-10-iid-1021493409", "1021493409"),
        ("https://shop.example/catalog/p4781720", "p4781720"),
        ("https://shop.example/store/M67296549.htm", "M67296549"),
        ("https://shop.example/de/filzstift-24718?sku=1049084", "1049084"),
        ("https://ads.example/tv/c7200a278526196/fernbedienung", "c7200a278526196"),
    ],
)
def test_url_identifiers(url, first):
    assert url_identifiers(url)[0] == first


def test_url_identifier_counts_when_the_page_repeats_it():
    body = "<h1>Old Bike</h1><p class='price'>£50</p><p class='postinginfo'>post id: 7235216655</p>"
    html = page('<link rel="canonical" href="https://city.example.org/bik/d/old-bike/7235216655.html">', body)
    assert extract_product(html, "").sku == "7235216655"
    lonely = page('<link rel="canonical" href="https://city.example.org/bik/d/old-bike/7235216655.html">',
                  "<h1>Old Bike</h1><p class='price'>£50</p><button>Buy now</button>")
    assert extract_product(lonely, "").sku is None  # the page never repeats it: not an identifier


@pytest.mark.parametrize(
    ("details", "brand"),
    [
        ('<p>Marke: <a href="/marken/bosch">Bosch</a></p>', "Bosch"),
        ('<a class="brand-logo" href="/brand/tikkers"><img alt="Tikkers" src="/logo.png"></a>', "Tikkers"),
        ('<a href="/index.php?route=product/manufacturer/info&amp;manufacturer_id=13">B&amp;S</a>', "B&S"),
        ('<div class="product-brand">Roborock</div>', "Roborock"),
        ("<p>Бренд: Luminarc</p>", "Luminarc"),
        ("<p>ブランド：ユニフレーム</p>", "ユニフレーム"),
    ],
)
def test_brand_from_the_page(details, brand):
    assert extract_product(product_page(details), "https://shop.example/p/1").brand == brand


@pytest.mark.parametrize(
    "details",
    [
        '<div class="brand-story"><h3>From the Manufacturer</h3></div>',
        "<p>Marke: 12/09(수)</p>",
        '<nav class="menu"><a href="/brand/acme">Acme</a><a href="/brand/zeta">Zeta</a></nav>',
    ],
)
def test_not_brands(details):
    assert extract_product(product_page(details), "https://shop.example/p/1").brand is None


def test_brand_label_prefix_is_dropped_and_title_spelling_kept():
    data = {"@type": "Product", "name": "TP-Link Tapo C200 camera", "brand": "Ver mais artigos da Marca: TP Link"}
    html = page(ld(data), "<h1>TP-Link Tapo C200 camera</h1>")
    assert extract_product(html, "https://shop.example.pt/p/1").brand == "TP-Link"
