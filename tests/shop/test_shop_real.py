"""Real catalogs rendered as shops: JSON lines in the Listing shape and the Flipkart CSV."""

from __future__ import annotations

import csv
import json
import os
from pathlib import Path

import pytest
from PIL import Image

from labelops.shop import CatalogFormatError, load_catalog, render_catalog
from labelops.shop.real import parse_category_tree, parse_ruby_specs


def _json_ld_product(page: str) -> dict:
    start = page.index('<script type="application/ld+json">') + len('<script type="application/ld+json">')
    data = json.loads(page[start : page.index("</script>", start)])
    return next(item for item in data.get("@graph", [data]) if item["@type"] == "Product")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            '{"product_specification"=>[{"key"=>"Brand", "value"=>"Elegance"}, {"key"=>"Color", "value"=>"Red"}]}',
            {"Brand": "Elegance", "Color": "Red"},
        ),
        (
            '{"product_specification"=>{"key"=>"Number of Contents", "value"=>"Pack of 3"}}',
            {"Number of Contents": "Pack of 3"},
        ),
        (
            '{"product_specification"=>[{"value"=>"1 Year Warranty"}, {"key"=>"Type", "value"=>"Analog"}]}',
            {"Type": "Analog", "Notes": "1 Year Warranty"},
        ),
        ('{"product_specification"=>[{"key"=>"Size", "value"=>"13\\" MB003 {x}, y"}]}', {"Size": '13" MB003 {x}, y'}),
        ('{"product_specification"=>nil}', {}),
        ("", {}),
        ("not a hash at all", {}),
    ],
)
def test_parse_ruby_specs(text: str, expected: dict[str, str]) -> None:
    assert parse_ruby_specs(text) == expected


def test_parse_category_tree() -> None:
    name = "Elegance Polyester Multicolor Abstract Eyelet Door Curtain"
    tree = f'["Home Furnishing >> Curtains & Accessories >> Curtains >> {name[:44]}..."]'
    assert parse_category_tree(tree, name) == ["Home Furnishing", "Curtains & Accessories", "Curtains"]
    assert parse_category_tree('["Watches >> Wrist Watches >> Nexus Wrist Watches"]', "Nexus NX Watch") == [
        "Watches",
        "Wrist Watches",
        "Nexus Wrist Watches",
    ]
    assert parse_category_tree('["Pens >> Blue Pen"]', "Blue Pen") == ["Pens"]
    assert parse_category_tree("", "x") == []


def _photo(path: Path, colour: str, mode: str = "RGB") -> str:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new(mode, (120, 80), colour).save(path)
    return path.name


def test_render_jsonl_catalog(tmp_path: Path) -> None:
    _photo(tmp_path / "in" / "photos" / "a.png", "red", "RGBA")
    rows = [
        {
            "title": "Tea <Pot> & Co",
            "description": "A pot.",
            "price": 19.5,
            "currency": "GBP",
            "sku": "T1",
            "gtin": 4006381333931,
            "brand": "Kettle & Sons",
            "availability": "InStock",
            "category_path": ["Kitchen", "Tea"],
            "attributes": {"colour": "red", "capacity": "1 l"},
            "images": ["photos/a.png"],
            "url": "https://shop.example/p/tea-pot.html",
            "listing_id": "ignored",
        },
        {
            "title": "Cup",
            "price": "3",
            "currency": "GBP",
            "category_path": ["Kitchen", "Tea"],
            "images": ["missing.jpg"],
        },
        {"title": "Cup", "category_path": ["Kitchen"], "images": [str(tmp_path / "in" / "photos" / "a.png")]},
    ]
    catalog = tmp_path / "in" / "catalog.jsonl"
    catalog.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    summary = render_catalog(catalog, tmp_path / "site", shop_name="Tea Shop")
    assert summary.products == 3 and summary.images == 2 and summary.defects == {}
    truth = [json.loads(line) for line in (tmp_path / "site" / "_catalog" / "catalog.jsonl").read_text().splitlines()]
    assert [t["url"] for t in truth] == ["/product/tea-pot.html", "/product/cup-2.html", "/product/cup-3.html"]
    assert truth[0]["price"] == "19.50" and truth[0]["gtin"] == "4006381333931" and truth[1]["image"] is None
    page = (tmp_path / "site" / "product" / "tea-pot.html").read_text()
    product = _json_ld_product(page)
    assert product["name"] == "Tea <Pot> & Co" and product["color"] == "red" and product["gtin13"] == "4006381333931"
    assert product["offers"]["price"] == "19.50" and product["offers"]["priceCurrency"] == "GBP"
    with Image.open(tmp_path / "site" / "images" / "tea-pot.jpg") as image:
        assert image.format == "JPEG" and image.size == (120, 80)
        assert image.getpixel((5, 5))[0] > 200
    assert (tmp_path / "site" / "category" / "kitchen-tea" / "page-1.html").is_file()


def test_json_array_catalog(tmp_path: Path) -> None:
    catalog = tmp_path / "catalog.json"
    catalog.write_text(json.dumps([{"title": "One"}, {"title": "Two", "price": "x"}]))
    products = load_catalog(catalog)
    assert [p.title for p in products] == ["One", "Two"] and products[1].price is None


def test_bad_catalogs(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        load_catalog(tmp_path / "nope.jsonl")
    (tmp_path / "catalog.xlsx").write_text("x")
    with pytest.raises(CatalogFormatError, match="unknown catalog format"):
        load_catalog(tmp_path / "catalog.xlsx")
    (tmp_path / "broken.jsonl").write_text('{"title": "a"\n')
    with pytest.raises(CatalogFormatError):
        load_catalog(tmp_path / "broken.jsonl")
    (tmp_path / "other.csv").write_text("a,b\n1,2\n")
    with pytest.raises(CatalogFormatError, match="Flipkart"):
        load_catalog(tmp_path / "other.csv")


FLIPKART_COLUMNS = [
    "uniq_id",
    "crawl_timestamp",
    "product_url",
    "product_name",
    "product_category_tree",
    "pid",
    "retail_price",
    "discounted_price",
    "image",
    "is_FK_Advantage_product",
    "description",
    "product_rating",
    "overall_rating",
    "brand",
    "product_specifications",
]


def test_flipkart_csv_in_the_export_format(tmp_path: Path) -> None:
    _photo(tmp_path / "images" / "abc.jpg", "blue")
    rows = [
        [
            "abc",
            "2016-04-30",
            "http://www.flipkart.com/x/p/itm?pid=P1",
            'Nexus "Pro" <Watch>',
            '["Watches >> Wrist Watches >> Nexus Wrist Watches"]',
            "P1",
            "1999.0",
            "999.0",
            "abc.jpg",
            "False",
            "A watch & more.",
            "4.1",
            "4.1",
            "",
            '{"product_specification"=>[{"key"=>"Brand", "value"=>"Nexus"}, {"value"=>"1 Year Warranty"}]}',
        ],
        [
            "def",
            "2016-04-30",
            "http://www.flipkart.com/y/p/itm?pid=P2",
            "Towel",
            '["Bath >> Towels >> Towel"]',
            "P2",
            "",
            "",
            "missing.jpg",
            "False",
            "Soft.",
            "No rating available",
            "No rating available",
            "Sathiyas",
            "",
        ],
    ]
    catalog = tmp_path / "products.csv"
    with open(catalog, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(FLIPKART_COLUMNS)
        writer.writerows(rows)
    watch, towel = load_catalog(catalog)
    assert watch.title == 'Nexus "Pro" <Watch>' and watch.price == "999.00" and watch.currency == "INR"
    assert watch.brand == "Nexus" and watch.rating == 4.1 and watch.sku == "P1"
    assert watch.category_path == ("Watches", "Wrist Watches", "Nexus Wrist Watches")
    assert watch.attributes == {"Brand": "Nexus", "Notes": "1 Year Warranty"}
    assert (
        towel.price is None
        and towel.rating is None
        and towel.image is None
        and towel.category_path == ("Bath", "Towels")
    )
    summary = render_catalog(catalog, tmp_path / "site")
    assert summary.images == 1
    page = (tmp_path / "site" / watch.url.lstrip("/")).read_text()
    assert "<Watch>" not in page


@pytest.mark.shared_data
def test_real_flipkart_catalog(tmp_path: Path) -> None:
    shared = os.environ.get("LABELOPS_SHARED_DATA")
    if not shared:
        pytest.skip("LABELOPS_SHARED_DATA is not set")
    catalog = Path(shared) / "flipkart" / "products.csv"
    summary = render_catalog(catalog, tmp_path / "site")
    assert summary.products == 1050 and summary.images > 1000
    truth = [json.loads(line) for line in (tmp_path / "site" / "_catalog" / "catalog.jsonl").read_text().splitlines()]
    priced = [t for t in truth if t["price"]]
    assert len(priced) > 1000 and all(t["currency"] == "INR" for t in priced)
    assert sum(1 for t in truth if t["attributes"]) > 1000
    assert all(t["category_path"] and not t["category_path"][-1].endswith("...") for t in truth)
    for row in truth[:300]:
        if row["markup"] != "microdata":
            product = _json_ld_product((tmp_path / "site" / row["url"].lstrip("/")).read_text())
            assert product["name"] == row["title"] and product["description"] == row["description"]
