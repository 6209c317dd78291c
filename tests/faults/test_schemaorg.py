"""A hostile shop's JSON-LD cannot make a page's parse take exponential time."""

from __future__ import annotations

import json
import time

from labelops.extraction import extract_product
from labelops.extraction.schemaorg import first

URL = "https://shop.example/p/1"


def nested(value, depth: int):  # noqa: ANN001, ANN201
    for _ in range(depth):
        value = [value]
    return value


def product_page(**fields) -> str:
    data = {"@context": "https://schema.org", "@type": "Product",
            "offers": {"@type": "Offer", "price": "10.00", "priceCurrency": "EUR"}, **fields}
    return (f'<html><head><script type="application/ld+json">{json.dumps(data)}</script></head>'
            "<body><h1>Lamp</h1></body></html>")


def test_thirty_levels_of_nested_lists_parse_in_well_under_a_second():
    html = product_page(name=nested("Lamp", 30), description=nested("A lamp.", 30), brand=nested({"name": "Acme"}, 30),
                        sku=nested("L-1", 30))
    started = time.perf_counter()
    product = extract_product(html, URL)
    assert time.perf_counter() - started < 0.5  # before: about 10 minutes (doubling per level)
    assert product is not None and product.price == "10.00"  # the page still reads


def test_many_products_with_nested_values_stay_fast():
    products = [{"@type": "Product", "name": nested(f"Lamp {i}", 16), "description": nested("A lamp.", 16),
                 "offers": {"@type": "Offer", "price": nested(f"{10 + i}.00", 16), "priceCurrency": "EUR"}}
                for i in range(300)]
    html = (f'<html><head><script type="application/ld+json">{json.dumps(products)}</script></head>'
            "<body><h1>Lamp</h1></body></html>")
    started = time.perf_counter()
    assert extract_product(html, URL) is not None
    assert time.perf_counter() - started < 2.0  # before: 300 products × 2**16 steps each


def test_shallow_nesting_still_reads_the_first_value():
    assert first([[], [None, [{"@value": "Lamp"}]], "Other"]) == "Lamp"
    assert first(nested("deep", 3)) == "deep"
    product = extract_product(product_page(name=[[], ["Lamp"]]), URL)
    assert product is not None and product.title == "Lamp"
