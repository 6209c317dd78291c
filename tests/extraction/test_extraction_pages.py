"""Whole pages: OpenGraph-only pages, non-product pages, bad input, encodings, canonical URLs."""

from __future__ import annotations

import pytest

from labelops.extraction import LayerResult, extract_product, merge
from labelops.extraction.document import parse_html

from .helpers import URL, ld, og, page


def test_opengraph_only_product_page():
    head = og(
        og__type="product",
        og__title="Linen Shirt",
        og__description="Breathable &amp; soft.",
        og__image="/img/shirt.jpg",
        product__price__amount="45",
        product__price__currency="GBP",
        product__availability="in stock",
        product__brand="Flax",
    )
    product = extract_product(page(head), URL)
    assert product is not None
    assert (product.title, product.description, product.brand) == ("Linen Shirt", "Breathable & soft.", "Flax")
    assert (product.price, product.currency, product.availability) == ("45.00", "GBP", "InStock")
    assert product.image_urls == ["https://shop.example/img/shirt.jpg"]
    assert product.sources == ["opengraph"]


def test_opengraph_of_another_type_is_not_a_product_page():
    assert extract_product(page(og(og__type="article", og__title="News")), URL) is None


def test_opengraph_fills_gaps_on_a_json_ld_product_page():
    head = ld({"@type": "Product", "name": "Bowl"}) + og(og__type="website", og__image="https://cdn.example/bowl.jpg")
    product = extract_product(page(head), URL)
    assert product.image_urls == ["https://cdn.example/bowl.jpg"]
    assert product.sources == ["json-ld", "opengraph"]


def test_plain_page_is_not_a_product_page():
    html = page(body="<h1>About us</h1><p>We sell things.</p><p class='price'>£10</p>")
    assert extract_product(html, URL) is None


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"   \n\t ",
        "",
        b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x01\x00" + bytes(range(256)) * 20,
        b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n" + bytes(range(256)) * 4,
        b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01" + b"\x00" * 1000,
        b"just some text, no markup at all",
        b"<<<<>>>>&&&&;;;;\x00\x01\x02<html",
        "<html><body><script type='application/ld+json'>{\"@type\": \"Product\"".encode(),
        b"<?xml version='1.0' encoding='utf-8'?><rss><channel><item>x</item></channel></rss>",
        "\ud800 lone surrogate <html>",
    ],
)
def test_garbage_gives_none_without_raising(body):
    assert extract_product(body, URL) is None


def test_not_text_at_all_gives_none():
    assert extract_product(12345, URL) is None  # type: ignore[arg-type]


def test_bytes_in_a_declared_legacy_encoding():
    html = page('<meta charset="windows-1252">' + ld({"@type": "Product", "name": "Caf\u00e9 cr\u00e8me"}))
    product = extract_product(html.encode("windows-1252"), URL)
    assert product is not None and product.title == "Caf\u00e9 cr\u00e8me"


def test_utf8_bytes_with_xml_declaration():
    html = "<?xml version='1.0' encoding='utf-8'?>" + page(ld({"@type": "Product", "name": "Gr\u00fcn"}))
    assert extract_product(html.encode("utf-8"), URL).title == "Gr\u00fcn"


def test_huge_page_is_cut_with_a_warning():
    html = page(ld({"@type": "Product", "name": "Big"}), "<p>filler</p>" * 50_000)
    product = extract_product(html, URL, max_bytes=100_000)
    assert product is not None and product.title == "Big"
    assert any(w.startswith("html: page cut") for w in product.warnings)


def test_canonical_url_is_absolute():
    head = '<link rel="canonical" href="/products/widget">' + ld({"@type": "Product", "name": "W"})
    assert extract_product(page(head), URL).canonical_url == "https://shop.example/products/widget"


def test_image_urls_are_absolute_and_deduplicated():
    data = {"@type": "Product", "name": "W", "image": ["a.jpg", "/img/b.jpg", "a.jpg", "data:image/png;base64,xx"]}
    product = extract_product(page(ld(data)), URL)
    assert product.image_urls == ["https://shop.example/products/a.jpg", "https://shop.example/img/b.jpg"]


def test_merge_precedence_field_by_field():
    layers = [
        LayerResult("json-ld", {"title": "A", "attributes": {"k": "json"}}, True),
        LayerResult("microdata", {"title": "B", "price": "1.00", "attributes": {"k": "md", "other": "x"}}, True),
        LayerResult("opengraph", {"currency": "EUR"}, False),
        LayerResult("rdfa", {}, False),
    ]
    merged = merge(layers)
    assert (merged["title"], merged["price"], merged["currency"]) == ("A", "1.00", "EUR")
    assert merged["attributes"] == {"k": "json", "other": "x"}
    assert merged["sources"] == ["json-ld", "microdata", "opengraph"]


def test_parse_html_accepts_str_and_bytes():
    for html in ("<p>x</p>", b"<p>x</p>"):
        tree, warnings = parse_html(html)
        assert tree is not None and warnings == []
