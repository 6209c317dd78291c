"""Value normalisation and spider item → listing row."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from decimal import Decimal

import pyarrow as pa
import pytest

from labelops.contracts import LISTING_SCHEMA, RawItem
from labelops.normalize import (
    clean_text,
    currency_code,
    listing_id,
    listings_to_arrow,
    normalize_availability,
    parse_count,
    parse_gtin,
    parse_price,
    parse_rating,
    to_listing,
)


@pytest.mark.parametrize(
    ("value", "hint", "expected"),
    [
        ("£38.00", None, ("38.00", "GBP")),
        ("1.299,00 €", None, ("1299.00", "EUR")),
        ("$1,299.99", None, ("1299.99", "USD")),
        ("$1,299", None, ("1299.00", "USD")),
        ("Rs. 899", None, ("899.00", "INR")),
        ("₹ 1,499", None, ("1499.00", "INR")),
        ("12,50 EUR", None, ("12.50", "EUR")),
        ("JPY 1200", None, ("1200.00", "JPY")),
        ("¥1200", None, ("1200.00", "JPY")),
        ("1 299,00 zł", None, ("1299.00", "PLN")),
        ("CHF 12.-", None, ("12.00", "CHF")),
        ("R$ 10,00", None, ("10.00", "BRL")),
        ("1 000 ₽", None, ("1000.00", "RUB")),
        ("Preis: 19,99 € inkl. MwSt.", None, ("19.99", "EUR")),
        ("<span>£</span><b>5</b>", None, ("5.00", "GBP")),
        (38, None, ("38.00", None)),
        (38.5, "GBP", ("38.50", "GBP")),
        (Decimal("7"), "usd", ("7.00", "USD")),
        ("1299", "INR", ("1299.00", "INR")),
        ("1.299", None, ("1.299", None)),  # a machine number is read literally
        ("10", "$", ("10.00", "USD")),
        ("$10", "CAD", ("10.00", "CAD")),  # an ISO code hint wins over an ambiguous symbol
        ("249", "RUR", ("249.00", "RUB")),  # legacy code
        ("free", None, (None, None)),
        ("", None, (None, None)),
        (None, "EUR", (None, "EUR")),
        ("NaN", None, (None, None)),
        (float("nan"), None, (None, None)),
        (True, None, (None, None)),
    ],
)
def test_parse_price(value, hint, expected):
    assert parse_price(value, hint) == expected


@pytest.mark.parametrize(
    ("symbol", "code"),
    [("£", "GBP"), ("€", "EUR"), ("$", "USD"), ("₹", "INR"), ("Rs", "INR"), ("Rs.", "INR"), ("¥", "JPY"),
     ("元", "CNY"), ("zł", "PLN"), ("Kč", "CZK"), ("₽", "RUB"), ("руб.", "RUB"), ("gbp", "GBP"), ("US$", "USD"),
     ("CA$", "CAD"), ("kr", None), ("xyz", None), ("", None), (None, None)],
)
def test_currency_code(symbol, code):
    assert currency_code(symbol) == code


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("http://schema.org/InStock", "InStock"),
        ("https://schema.org/OutOfStock", "OutOfStock"),
        ("InStock", "InStock"),
        ("schema:InStock", "InStock"),
        ("SoldOut", "OutOfStock"),
        ("Discontinued", "OutOfStock"),
        ("PreOrder", "InStock"),
        ("LimitedAvailability", "InStock"),
        ("OnlineOnly", "InStock"),
        ("instock", "InStock"),
        ("oos", "OutOfStock"),
        ("In stock (1 available)", "InStock"),
        ("Out of stock", "OutOfStock"),
        ("Sold out", "OutOfStock"),
        ("Currently unavailable.", "OutOfStock"),
        ("Auf Lager", "InStock"),
        ("Nicht lieferbar", "OutOfStock"),
        ("En stock", "InStock"),
        ("Rupture de stock", "OutOfStock"),
        ("Agotado", "OutOfStock"),
        ("в наличии", "InStock"),
        ("нет в наличии", "OutOfStock"),
        (True, "InStock"),
        (False, "OutOfStock"),
        (["", "https://schema.org/InStock"], "InStock"),
        ("call us", None),
        ("", None),
        (None, None),
    ],
)
def test_normalize_availability(value, expected):
    assert normalize_availability(value) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("  Hello\n\t  world  ", "Hello world"),
        ("<p>Light &amp; fast<br>shoe</p>", "Light & fast shoe"),
        ("&lt;b&gt;escaped&lt;/b&gt; markup", "escaped markup"),
        ("a<script>var x = 1;</script>b", "ab"),
        ("1 < 2 and 3 > 2", "1 < 2 and 3 > 2"),
        ("non\xa0breaking", "non breaking"),
        (42, "42"),
        (["a", None, " b "], "a b"),
        ("   ", None),
        ("", None),
        (None, None),
        ({"k": "v"}, None),
    ],
)
def test_clean_text(value, expected):
    assert clean_text(value) == expected


def test_ratings_counts_and_gtins():
    assert parse_rating("Four") == 4.0
    assert parse_rating("4,5") == 4.5
    assert parse_rating("4.5 out of 5") == 4.5
    assert parse_rating(8, best=10) == 4.0
    assert parse_rating(80, best=100) == 4.0
    assert parse_rating(7) is None  # over 5 with no scale given
    assert parse_rating(None) is None
    assert parse_count("1,234 reviews") == 1234
    assert parse_count(12) == 12 and parse_count("none") is None
    assert parse_gtin("0 12345 67890 5") == "012345678905"
    assert parse_gtin("4006381333931") == "4006381333931"
    assert parse_gtin("ABC123") is None and parse_gtin("12345") is None


def _item(**overrides) -> RawItem:
    fields = {
        "url": "https://shop.example/p/1?b=2&a=1",
        "source": "shop.example",
        "crawled_at": datetime(2024, 5, 1, 12, 0, tzinfo=timezone(timedelta(hours=2))),
        "raw_hash": "abc",
        "title": "  Iron \n Pan ",
        "description": "<p>Heavy&nbsp;pan</p>",
        "price": "1299",
        "currency": "€",
        "sku": "  SKU-1 ",
        "gtin": "   ",
        "mpn": None,
        "brand": " PanCo ",
        "availability": "InStock",
        "category_path": [" Kitchen ", "", "  ", "Pans"],
        "rating": 4.5,
        "review_count": 3,
        "attributes": {" Diameter ": " 28 cm ", "": "x", "Empty": "  "},
        "image_urls": ["https://shop.example/a.jpg", "https://shop.example/a.jpg", " "],
    }
    fields.update(overrides)
    return RawItem(**fields)


def test_to_listing_cleans_every_field():
    listing = to_listing(_item())
    assert listing.title == "Iron Pan"
    assert listing.description == "Heavy pan"
    assert (listing.price, listing.currency) == ("1299.00", "EUR")
    assert (listing.sku, listing.gtin, listing.mpn, listing.brand) == ("SKU-1", None, None, "PanCo")
    assert listing.category_path == ["Kitchen", "Pans"]
    assert listing.attributes == {"Diameter": "28 cm"}
    assert listing.image_urls == ["https://shop.example/a.jpg"]
    assert listing.availability == "InStock" and listing.rating == 4.5 and listing.review_count == 3
    assert len(listing.listing_id) == 16 and int(listing.listing_id, 16) >= 0


def test_listing_id_is_stable_for_equivalent_urls():
    a = to_listing(_item(url="https://shop.example/p/1?b=2&a=1")).listing_id
    b = to_listing(_item(url="https://shop.example/p/1?a=1&b=2#reviews")).listing_id
    c = to_listing(_item(url="https://shop.example/p/2?a=1&b=2")).listing_id
    assert a == b != c


def test_listing_id_uses_canonical_url_on_the_same_host_only():
    canonical = "https://shop.example/p/1"
    same_host = listing_id("https://shop.example/p/1?utm_source=x", canonical)
    assert same_host == listing_id(canonical)
    other_host = listing_id("https://shop.example/p/1?utm_source=x", "https://tracker.example/p/1")
    assert other_host == listing_id("https://shop.example/p/1?utm_source=x")
    assert to_listing(_item(canonical_url=canonical)).listing_id == listing_id(canonical)


def test_listings_to_arrow_uses_the_schema_and_utc():
    listings = [to_listing(_item()), to_listing(_item(url="https://shop.example/p/2", crawled_at=datetime(2024, 5, 1, 12, 0)))]
    table = listings_to_arrow(listings)
    assert table.schema.equals(LISTING_SCHEMA)
    assert table.num_rows == 2
    crawled = table.column("crawled_at").to_pylist()
    assert crawled[0] == datetime(2024, 5, 1, 10, 0, tzinfo=timezone.utc)  # +02:00 → UTC
    assert crawled[1] == datetime(2024, 5, 1, 12, 0, tzinfo=timezone.utc)  # naive → taken as UTC
    assert table.column("attributes").to_pylist()[0] == [("Diameter", "28 cm")]
    assert table.column("category_path").type == pa.list_(pa.string())


def test_listings_to_arrow_empty():
    table = listings_to_arrow([])
    assert table.num_rows == 0 and table.schema.equals(LISTING_SCHEMA)
