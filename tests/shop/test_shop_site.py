"""The HTML of the shop: structured data, visible parts, robots, sitemap, pagination, escaping."""

from __future__ import annotations

import json
import re
from collections import Counter
from decimal import Decimal
from pathlib import Path

import extruct
import pytest
from parsel import Selector
from price_parser import Price

from labelops.shop.site import BASE_URL_PLACEHOLDER, PAGE_SIZE, ShopProduct, format_price, write_site


def _json_ld_blocks(page: str) -> list[str]:
    return Selector(text=page).xpath('//script[@type="application/ld+json"]/text()').getall()


def _json_ld_items(page: str) -> list[dict]:
    """Every top-level JSON-LD object, with ``@graph`` entries flattened."""
    items = []
    for block in _json_ld_blocks(page):
        data = json.loads(block)
        items.extend(data.get("@graph", [data]))
    return items


def _page(site: Path, url: str) -> str:
    return (site / url.lstrip("/")).read_text(encoding="utf-8")


def test_json_ld_product_pages(demo_shop: Path, demo_catalog: list[dict]) -> None:
    styles = Counter()
    for row in demo_catalog:
        if row["markup"] == "microdata" or row["defect"] == "malformed_jsonld":
            continue
        page = _page(demo_shop, row["url"])
        styles[len(_json_ld_blocks(page))] += 1
        items = {item["@type"]: item for item in _json_ld_items(page)}
        product, breadcrumb = items["Product"], items["BreadcrumbList"]
        assert product["name"] == row["title"] and product["description"] == row["description"]
        assert product.get("sku") == row["sku"] and product.get("gtin13") == row["gtin"]
        assert product["brand"] == {"@type": "Brand", "name": row["brand"]}
        assert product["color"] == row["attributes"]["color"] and product["material"] == row["attributes"]["material"]
        assert product["image"] == row["image"]
        offer = product["offers"]
        assert offer.get("price") == row["price"] and offer.get("priceCurrency") == row["currency"]
        assert offer["availability"] == f"https://schema.org/{row['availability']}"
        extra = {p["name"]: p["value"] for p in product["additionalProperty"]}
        assert extra == {k: v for k, v in row["attributes"].items() if k not in ("color", "material")}
        if row["rating"] is not None:
            assert product["aggregateRating"]["ratingValue"] == row["rating"]
        assert [e["name"] for e in breadcrumb["itemListElement"]] == row["category_path"]
    assert styles[1] > 50 and styles[2] > 50  # @graph pages and two-block pages


def test_microdata_pages(demo_shop: Path, demo_catalog: list[dict]) -> None:
    micro = [row for row in demo_catalog if row["markup"] == "microdata"]
    assert 0.2 <= len(micro) / len(demo_catalog) <= 0.3
    for row in micro[:20]:
        page = _page(demo_shop, row["url"])
        assert not _json_ld_blocks(page)
        data = extruct.extract(page, base_url="http://shop.test/", syntaxes=["microdata"], uniform=True)["microdata"]
        items = {item["@type"]: item for item in data}
        product = items["Product"]
        assert product["name"] == row["title"] and product.get("sku") == row["sku"]
        assert product["brand"]["name"] == row["brand"]
        if row["price"] is not None:
            assert product["offers"]["price"] == row["price"]
            assert product["offers"]["priceCurrency"] == row["currency"]
        assert product["offers"]["availability"] == f"https://schema.org/{row['availability']}"
        assert [e["name"] for e in items["BreadcrumbList"]["itemListElement"]] == row["category_path"]


def test_malformed_json_ld_keeps_the_visible_page(demo_shop: Path, demo_catalog: list[dict]) -> None:
    rows = [row for row in demo_catalog if row["defect"] == "malformed_jsonld"]
    assert rows
    for row in rows:
        page = _page(demo_shop, row["url"])
        blocks = _json_ld_blocks(page)
        with pytest.raises(json.JSONDecodeError):
            json.loads(blocks[0])
        selector = Selector(text=page)
        assert selector.css('meta[property="og:type"]::attr(content)').get() == "product"
        assert selector.css("h1::text").get() == row["title"]


def test_visible_product_page(demo_shop: Path, demo_catalog: list[dict]) -> None:
    row = next(r for r in demo_catalog if not r["defect"])
    selector = Selector(text=_page(demo_shop, row["url"]))
    assert selector.css("h1::text").get() == row["title"]
    assert selector.css('meta[property="og:title"]::attr(content)').get() == row["title"]
    assert selector.css("p.description::text").get() == row["description"]
    assert Price.fromstring(selector.css("p.price::text").get()).amount == Decimal(row["price"])
    assert selector.css("article img::attr(src)").get() == row["image"]
    headers, cells = selector.css("table.specs th::text").getall(), selector.css("table.specs td::text").getall()
    specs = dict(zip(headers, cells, strict=True))
    assert specs["SKU"] == row["sku"] and specs["Colour"] == row["attributes"]["color"]
    assert selector.css('nav[aria-label="breadcrumb"] a::text').getall() == ["Home", *row["category_path"]]
    links = selector.css("a::attr(href)").getall()
    assert f"/cart/add/{row['sku']}.html" in links
    assert "https://example.com/partner" in links
    related = selector.css("section.related a::attr(href)").getall()
    assert len(related) == 4 and row["url"] not in related
    assert all((demo_shop / url.lstrip("/")).is_file() for url in related)


def test_robots_and_sitemap(demo_shop: Path, demo_catalog: list[dict]) -> None:
    robots = (demo_shop / "robots.txt").read_text()
    assert "User-agent: *" in robots
    assert re.findall(r"^Disallow: (.*)$", robots, re.M) == ["/cart/"]
    assert f"Sitemap: {BASE_URL_PLACEHOLDER}/sitemap.xml" in robots
    sitemap = (demo_shop / "sitemap.xml").read_text()
    locs = Selector(text=sitemap, type="xml").xpath("//*[local-name()='loc']/text()").getall()
    assert all(loc.startswith(BASE_URL_PLACEHOLDER + "/") for loc in locs)
    paths = {loc.removeprefix(BASE_URL_PLACEHOLDER) for loc in locs}
    assert {row["url"] for row in demo_catalog} <= paths
    category_pages = {"/" + str(p.relative_to(demo_shop)) for p in (demo_shop / "category").rglob("*.html")}
    assert category_pages <= paths
    assert not any("_catalog" in path for path in paths)


def test_ground_truth_is_never_linked(demo_shop: Path) -> None:
    for page in demo_shop.rglob("*.html"):
        assert "_catalog" not in page.read_text(encoding="utf-8")


def test_pagination_reaches_every_product(demo_shop: Path, demo_catalog: list[dict]) -> None:
    home = Selector(text=_page(demo_shop, "/index.html"))
    first_pages = {a.css("::text").get(): a.attrib["href"] for a in home.css("section.categories a")}
    assert len(first_pages) >= 6 + 2  # leaves and their parents
    for leaf in {tuple(row["category_path"]) for row in demo_catalog}:
        expected = {row["url"] for row in demo_catalog if tuple(row["category_path"]) == leaf}
        url, previous, seen, pages = first_pages[leaf[-1]], None, set(), 0
        while url:
            selector = Selector(text=_page(demo_shop, url))
            assert selector.css('a[rel="prev"]::attr(href)').get() == previous
            cards = selector.css("ul.products a::attr(href)").getall()
            assert 0 < len(cards) <= PAGE_SIZE
            seen.update(cards)
            previous, url = url, selector.css('a[rel="next"]::attr(href)').get()
            pages += 1
        assert seen == expected
        assert pages == -(-len(expected) // PAGE_SIZE) > 1


def test_price_styles() -> None:
    assert format_price("1299.50", "EUR", 2) == "€1,299.50"
    assert format_price("1299.50", "EUR", 1) == "1.299,50 €"
    assert format_price("899.00", "INR", 1) == "₹899"
    assert format_price("5.00", "GBP", 1) == "£5.00"
    assert format_price("5.00", "CHF", 1) == "CHF 5.00"


NASTY = "<script>alert(1)</script>"


@pytest.mark.parametrize("markup", ["jsonld", "jsonld-graph", "microdata"])
def test_untrusted_text_is_escaped(tmp_path: Path, markup: str) -> None:
    product = ShopProduct(
        n=1,
        slug="nasty-1",
        title=NASTY,
        description='Ends a script: </script><b onmouseover="x()">bold</b> & "quotes" \'too\' <!-- comment',
        category_path=("A & <B>", '"C"'),
        price="10.00",
        currency="EUR",
        sku='S"<1>',
        brand="</script>Brand",
        attributes={"color": "<red>", "<k>": "v & w"},
        markup=markup,
    )
    other = ShopProduct(n=2, slug="plain-2", title="Plain", description="Plain.", category_path=("A & <B>", '"C"'))
    write_site(tmp_path, [product, other], lambda p: None, shop_name="Shop <&>")
    page = (tmp_path / "product" / "nasty-1.html").read_text()
    assert NASTY not in page and "<b onmouseover" not in page and "<!-- comment" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert page.count("</script>") == len(_json_ld_blocks(page))
    if markup == "microdata":
        data = extruct.extract(page, base_url="http://shop.test/", syntaxes=["microdata"], uniform=True)["microdata"]
        found = next(item for item in data if item["@type"] == "Product")
    else:
        found = next(item for item in _json_ld_items(page) if item["@type"] == "Product")
        assert found["sku"] == product.sku and found["brand"]["name"] == product.brand
    assert found["name"] == NASTY and found["description"] == product.description
    for html_file in tmp_path.rglob("*.html"):
        assert NASTY not in html_file.read_text()


def test_script_and_quotes_are_escaped_on_every_page(tmp_path: Path) -> None:
    """Catalog text with a script and quotes shows up escaped on the product, listing and home pages."""
    title = f'{NASTY} "Deluxe" \'Mug\''
    description = f'{NASTY} A "quoted" description.'
    product = ShopProduct(
        n=1,
        slug="mug-1",
        title=title,
        description=description,
        category_path=("Kitchen",),
        price="9.50",
        currency="GBP",
        image="/images/mug-1.jpg",
    )
    write_site(tmp_path, [product], lambda p: None, shop_name="Shop")
    escaped_title = "&lt;script&gt;alert(1)&lt;/script&gt; &quot;Deluxe&quot; &#x27;Mug&#x27;"
    escaped_description = "&lt;script&gt;alert(1)&lt;/script&gt; A &quot;quoted&quot; description."
    product_page = _page(tmp_path, product.url)
    listing_page = _page(tmp_path, "/category/kitchen/page-1.html")
    home_page = _page(tmp_path, "/index.html")
    assert f"<h1>{escaped_title}</h1>" in product_page
    assert f'alt="{escaped_title}"' in product_page
    assert f"<title>{escaped_title} | Shop</title>" in product_page
    assert f'<p class="description">{escaped_description}</p>' in product_page
    assert f'<meta name="description" content="{escaped_description}">' in product_page
    for page in (listing_page, home_page):
        assert f'<span class="name">{escaped_title}</span>' in page
        assert f'alt="{escaped_title}"' in page
    for page in (product_page, listing_page, home_page):
        assert NASTY not in page and '"Deluxe"' not in page and '"quoted"' not in page
    # the JSON-LD keeps the text, with nothing that could end its script element
    assert json.loads(_json_ld_blocks(product_page)[0])["name"] == title
    assert product_page.count("</script>") == len(_json_ld_blocks(product_page)) == 2
