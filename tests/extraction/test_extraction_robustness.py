"""Hostile pages: empty, binary, truncated, enormous and absurdly nested pages give an empty
result (or a product with warnings), never an exception or a hang; each is bounded in time."""

from __future__ import annotations

import gzip
import time

import pytest

from labelops.extraction import extract_product
from labelops.extraction.pages import extract_page

from .helpers import ld, page

URL = "https://shop.example/p/1"
PRODUCT = ld({"@type": "Product", "name": "Big", "offers": {"price": "10", "priceCurrency": "EUR"}})
SECONDS = 20.0
"""Per page, on a loaded two-core machine (they take well under a few seconds)."""


def timed(html: bytes | str):
    started = time.perf_counter()
    result = extract_product(html, URL)
    elapsed = time.perf_counter() - started
    assert elapsed < SECONDS, f"took {elapsed:.1f} s"
    return result


@pytest.mark.parametrize(
    "html",
    [
        b"",
        b"\x00" * 10_000,
        bytes(range(256)) * 4_000,
        gzip.compress(b"<html><body>zipped</body></html>"),  # a .gz read as if it were HTML
        "\ufeff",
        b"<" * 100_000,
        b"<html><body>" + b"<div>" * 100_000 + b"</body></html>",  # deep, never closed
        b"<html><body>" + b"<table><tr><td>" * 20_000 + b"x",
    ],
    ids=["empty", "nul bytes", "binary", "gzip bytes", "bom only", "angle brackets", "deep divs", "deep tables"],
)
def test_garbage_gives_nothing(html):
    assert timed(html) is None
    assert extract_page(html) == {}


def test_truncated_page_still_gives_what_it_has():
    html = page(PRODUCT, "<h1>Big</h1><div class='price'>€ 10,00</div><button>Add to cart</button>").encode()
    product = timed(html[: len(html) - 40])
    assert product is not None and (product.title, product.price) == ("Big", "10.00")


def test_truncated_json_ld_block_alone_is_no_product():
    html = "<html><head><script type='application/ld+json'>{\"@type\": \"Product\", \"name\": \"Cut"
    assert timed(html) is None


def test_enormous_page_is_cut_and_bounded():
    cards = "".join(
        f'<div class="item"><span class="price">€ {i},99</span><a href="/p/{i}">Product {i}</a>'
        f'<button class="add-to-cart">Add to cart</button></div>'
        for i in range(70_000)
    )
    html = page(PRODUCT, "<h1>Big</h1>" + cards).encode()
    assert len(html) > 10_000_000
    product = timed(html)
    assert product is not None and product.price == "10.00"
    assert any(w.startswith("html: page cut") for w in product.warnings)


def test_one_enormous_text_and_script():
    html = page(PRODUCT + "<script>" + 'var a={"price":"1.00"};' * 200_000 + "</script>",
                "<h1>Big</h1><p>" + "word " * 1_000_000 + "</p>")
    product = timed(html)
    assert product is not None and product.price == "10.00"


def test_deeply_nested_structured_data():
    deep_json = "<script type='application/ld+json'>" + '{"@type":"Product","name":"x","isRelatedTo":' * 5_000 + "1" + "}" * 5_000 + "</script>"
    assert timed(page(deep_json)) is None
    deep_microdata = ('<div itemscope itemtype="http://schema.org/Product"><span itemprop="name">x</span>' * 1_500
                      + "</div>" * 1_500)
    product = timed(page(body=deep_microdata))
    assert product is None or any("microdata" in w for w in product.warnings)
    deep_rdfa = '<div vocab="http://schema.org/">' + '<div typeof="Product"><span property="name">x</span>' * 2_000 + "</div>" * 2_001
    timed(page(body=deep_rdfa))


def test_many_json_ld_blocks_are_capped():
    product = timed(page(PRODUCT * 5_000))
    assert product is not None and product.title == "Big"
    assert any("blocks" in w for w in product.warnings)


def test_odd_inputs_never_raise():
    assert extract_product(None, URL) is None  # type: ignore[arg-type]
    assert extract_product(b"<html><body><h1>x</h1></body></html>", None) is None  # type: ignore[arg-type]
    assert extract_product("<html><body><h1>\ud800</h1></body></html>", URL) is None
