"""Issue 20: locale-aware amounts, GTIN check digits, embedded JSON state, loose ``itemprop`` metas,
the learned candidate chooser, and leave-one-shop-out cross-validation."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest

from labelops.extraction import extract_product
from labelops.extraction.chooser import MODEL_PATH, Chooser, FieldModel, groups, shipped
from labelops.extraction.fields import Candidate
from labelops.extraction.numbers import decimal_mark_of, locale_decimal_mark, read_amount
from labelops.extraction.train_chooser import MIN_GAIN, shop_family
from labelops.normalize import gtin_valid

from .helpers import page

# ------------------------------------------------------------------------ locale-aware numbers


@pytest.mark.parametrize(
    ("text", "mark", "currency", "amount"),
    [
        ("1.234,56 €", ",", "EUR", "1234.56"),
        ("1,234", ".", "USD", "1234"),  # en-US: a thousands separator
        ("12,50 zł", ",", "PLN", "12.50"),
        ("1.250 KD", None, "KWD", "1.250"),  # the dinar has three decimals: not 1250
        ("1.250 ¥", ".", "JPY", "1250"),  # the yen has none
        ("1.299", ",", None, "1299"),  # no currency: the page's decimal mark decides...
        ("1.299", ".", None, "1.299"),  # ...both ways
        ("1'299.-", None, "CHF", "1299"),
        ("1 299,00 Kč", ",", "CZK", "1299.00"),
        ("₹1,23,456", ".", "INR", "123456"),
        ("30,000원~", None, "KRW", "30000"),
    ],
)
def test_read_amount(text, mark, currency, amount):
    assert read_amount(text, mark, currency) == Decimal(amount)


def test_decimal_marks_from_babel_and_from_the_page():
    assert locale_decimal_mark("de") == "," and locale_decimal_mark("en", "US") == "."
    assert locale_decimal_mark("de", "CH") == "."
    assert locale_decimal_mark(None, "PL") == ","  # the country's language
    assert decimal_mark_of(["12,50 €", "3,99 €", "1.234,00 €"]) == ","
    assert decimal_mark_of(["$12.50", "$1,234.99"]) == "."
    assert decimal_mark_of(["1.299 €"]) is None  # ambiguous: no vote


@pytest.mark.parametrize(
    ("lang", "shown", "price"),
    [
        ("de", "1.234,56 €", "1234.56"),
        ("en-US", "$1,234", "1234.00"),
        ("pl", "12,50 zł", "12.50"),
    ],
)
def test_locale_amounts_on_pages(lang, shown, price):
    html = page(body=f'<main><h1>Walnut Desk</h1><p class="price">{shown}</p><button>Add to cart</button>'
                     '<p>SKU: WD-100</p></main>', html_attrs=f'lang="{lang}"')
    product = extract_product(html, "https://shop.example/p/1")
    assert product is not None and product.price == price


# -------------------------------------------------------------------------------- identifiers


def test_gtin_check_digit():
    assert gtin_valid("4006381333931") and gtin_valid("012345678905") and gtin_valid("96385074")
    assert not gtin_valid("4006381333932") and not gtin_valid("40063813339") and not gtin_valid("ABCDEFGHIJKLM")


@pytest.mark.parametrize(("ean", "gtin"), [("4006381333931", "4006381333931"), ("4006381333932", None)])
def test_labelled_gtin_needs_its_check_digit(ean, gtin):
    html = page(body=f'<main><h1>Walnut Desk</h1><p class="price">€ 19,99</p><button>Add to cart</button>'
                     f'<p>Art.-Nr.: WD-100</p><p>EAN: {ean}</p></main>', html_attrs='lang="de"')
    product = extract_product(html, "https://shop.example/p/1")
    assert product is not None and product.gtin == gtin


# ------------------------------------------------------------------------------ more layers


NEXT_DATA = {"props": {"pageProps": {"menu": [{"name": "Sale", "url": "/sale"}], "product": {
    "name": "Walnut Desk", "sku": "WD-100", "brand": {"name": "Oakline"}, "inStock": True,
    "price": {"amount": 349.0, "currency": "EUR"}}}}}


def test_next_data_product_is_found():
    html = page(head=f'<script id="__NEXT_DATA__" type="application/json">{json.dumps(NEXT_DATA)}</script>',
                body='<div id="__next"><h1>Walnut Desk</h1><button>Add to cart</button></div>')
    product = extract_product(html, "https://shop.example/p/1")
    assert product is not None
    assert (product.price, product.currency, product.sku, product.availability) == ("349.00", "EUR", "WD-100", "InStock")
    assert "state" in product.sources


def test_initial_state_assignment_is_read():
    state = {"catalog": {"current": {"title": "Walnut Desk", "productCode": "WD-7", "salePrice": "129.50",
                                     "currencyCode": "GBP", "available": False}}}
    html = page(head=f"<script>window.__INITIAL_STATE__ = {json.dumps(state)};\nstart();</script>",
                body="<h1>Walnut Desk</h1><button>Add to basket</button>")
    product = extract_product(html, "https://shop.example/p/1")
    assert product is not None and (product.price, product.sku) == ("129.50", "WD-7")


def test_meta_itemprop_outside_any_itemscope():
    html = page(body='<main><h1>Walnut Desk</h1><span class="price">42.00</span><meta itemprop="price" content="42.00">'
                     '<meta itemprop="priceCurrency" content="EUR"><meta itemprop="sku" content="WD-42">'
                     '<button>Add to cart</button></main>')  # sku and currency are nowhere else
    product = extract_product(html, "https://shop.example/p/1")
    assert product is not None and (product.price, product.currency, product.sku) == ("42.00", "EUR", "WD-42")


# ------------------------------------------------------------------------------ the chooser


@pytest.mark.parametrize(
    ("url", "family"),
    [
        ("https://www.shop.co.uk/p/1", "shop"),
        ("https://www.shop.com/p/1", "shop"),
        ("https://de.shop.com/p/1", "shop"),
        ("https://kids.shop.by/x", "shop"),
        ("https://market.shop.com.tw/x", "shop"),
        ("https://other.example/p", "other"),
    ],
)
def test_shop_family(url, family):
    assert shop_family(url) == family


def test_chooser_abstains_below_its_threshold_and_round_trips_as_json():
    model = FieldModel(("src_json-ld",), (0.0,), (1.0,), (4.0,), -2.0, 0.5)
    chooser = Chooser({"price": model})
    strong = [Candidate("price", "10.00", 5.0, "json-ld"), Candidate("price", "12.00", 0.0, "page:price-seen", {"p_shown": 1.0})]
    assert chooser.choose(strong)["price"].value == "10.00"
    weak = [Candidate("price", "12.00", 0.0, "page:price-seen", {"p_shown": 1.0})]
    assert chooser.choose(weak)["price"] is None  # p = sigmoid(-2) < 0.5: left out, not guessed
    again = Chooser.from_json(json.loads(json.dumps(chooser.to_json())))
    assert again.choose(strong)["price"].value == "10.00"


def test_equal_values_form_one_group_with_features():
    found = groups([Candidate("price", "249", 5.0, "json-ld"), Candidate("price", "249.00", 0.0, "page:price-seen",
                                                                          {"p_currency": 1.0}),
                    Candidate("price", "19.00", 0.0, "page:price-seen", {"p_currency": 0.0})])["price"]
    assert len(found) == 2
    top = next(g for g in found if Decimal(str(g.value)) == 249)
    assert top.features["src_json-ld"] == 1.0 and top.features["p_currency"] == 1.0
    assert top.features["rel_share"] == 0.0


def test_the_shipped_chooser_is_data():
    assert MODEL_PATH.suffix == ".json"
    data = json.loads(MODEL_PATH.read_text(encoding="utf-8"))
    assert set(data["fields"]) == {"price", "sku", "availability", "brand"}
    assert all(len(m["coef"]) == len(m["features"]) == len(m["mean"]) for m in data["fields"].values())
    for field in data["info"]["default_fields"]:  # the default only where it beat the evidence weights
        assert data["info"]["loso_f1"][field] >= data["info"]["evidence_weights_fit_f1"][field] + MIN_GAIN
    chooser = shipped()
    html = page(body='<main><h1>Walnut Desk</h1><p class="price">€ 349,00 <del>€ 399,00</del></p>'
                     '<button>Add to cart</button><p>Art.-Nr.: WD-100</p></main>', html_attrs='lang="de"')
    product = extract_product(html, "https://shop.example/p/1", chooser=chooser)
    assert (product.price, product.sku) == ("349.00", "WD-100")


# --------------------------------------------------------------- leave-one-shop-out on dev pages


LOSO_FLOORS = {"price": 0.85, "sku": 0.90, "availability": 0.95, "brand": 0.75}
"""Floors under the measured leave-one-shop-out F1 (price is below the issue's 0.93 target)."""


@pytest.mark.shared_data
def test_leave_one_shop_out_figures(shared_data: Path):
    folder = shared_data / "extraction-benchmark-dev"
    if not (folder / "ground-truth.json").is_file():
        pytest.skip(f"no extraction benchmark in {shared_data}")
    from labelops.extraction.train_chooser import cross_validate, gather_folder

    truth, gathered = gather_folder(folder)
    cv = cross_validate(truth, gathered, LOSO_FLOORS)
    assert cv.families >= 25  # the country sites of one shop are one family
    low = {f: round(cv.learned_loso[f].f1, 3) for f, floor in LOSO_FLOORS.items() if cv.learned_loso[f].f1 < floor}
    assert not low, f"leave-one-shop-out below the floor: {low}"



# --------------------------------------------------------------------------- synthetic pages


def test_synthetic_pages_show_their_truth_among_decoys():
    from labelops.extraction.synthetic import synthetic_pages

    pages = synthetic_pages(40, seed=3)
    assert len(pages) == 40
    languages = {html.split('lang="')[1].split('"')[0] for html, _, _ in pages}
    assert len(languages) >= 5
    decoyed = sum(("<del>" in html or "/ 100 g" in html or "minicart" in html) for html, _, _ in pages)
    assert decoyed == 40  # every page has at least the mini-cart total
    for html, url, truth in pages:
        assert truth["sku"][0] in html and url.startswith("https://")
    products = [extract_product(html, url) for html, url, _ in pages]
    right = sum(p is not None and p.sku == t["sku"][0] for p, (_, _, t) in zip(products, pages))
    assert right >= 36  # labelled codes in ten languages
