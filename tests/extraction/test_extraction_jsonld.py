"""JSON-LD layer: the shapes shops really publish."""

from __future__ import annotations

from labelops.extraction import extract_product

from .helpers import URL, ld, og, page

PRODUCT = {
    "@context": "https://schema.org",
    "@type": "Product",
    "name": "Trail Runner 2",
    "description": "<p>Light &amp; fast<br>trail shoe.</p>",
    "sku": "TR-2",
    "mpn": "M-100",
    "gtin13": "4006381333931",
    "brand": {"@type": "Brand", "name": "Acme"},
    "image": ["/img/1.jpg", {"@type": "ImageObject", "url": "https://cdn.example/2.jpg"}],
    "color": "Red",
    "material": ["Mesh", "Rubber"],
    "additionalProperty": [
        {"@type": "PropertyValue", "name": "Weight", "value": 280, "unitText": "g"},
        {"@type": "PropertyValue", "name": "Drop", "value": "8 mm"},
    ],
    "aggregateRating": {"@type": "AggregateRating", "ratingValue": "4.6", "reviewCount": "132"},
    "offers": {
        "@type": "Offer",
        "price": "1299.00",
        "priceCurrency": "INR",
        "availability": "https://schema.org/InStock",
    },
}

BREADCRUMB = {
    "@context": "https://schema.org",
    "@type": "BreadcrumbList",
    "itemListElement": [
        {"@type": "ListItem", "position": 3, "name": "Trail", "item": "https://shop.example/shoes/trail"},
        {"@type": "ListItem", "position": 1, "name": "Home", "item": "https://shop.example/"},
        {"@type": "ListItem", "position": 2, "item": {"@id": "https://shop.example/shoes", "name": "Shoes"}},
        {"@type": "ListItem", "position": 4, "name": "Trail Runner 2"},
    ],
}


def extract(html: str, url: str = URL):
    return extract_product(html, url)


def test_full_product():
    product = extract(page(ld(PRODUCT, BREADCRUMB)))
    assert product is not None
    assert product.title == "Trail Runner 2"
    assert product.description == "Light & fast trail shoe."
    assert (product.price, product.currency, product.availability) == ("1299.00", "INR", "InStock")
    assert (product.sku, product.mpn, product.gtin, product.brand) == ("TR-2", "M-100", "4006381333931", "Acme")
    assert product.image_urls == ["https://shop.example/img/1.jpg", "https://cdn.example/2.jpg"]
    assert product.rating == 4.6 and product.review_count == 132
    assert product.attributes == {"Weight": "280 g", "Drop": "8 mm", "color": "Red", "material": "Mesh, Rubber"}
    # sorted by position, "Home" and the product's own title dropped
    assert product.category_path == ["Shoes", "Trail"]
    assert product.sources == ["json-ld"]
    assert product.warnings == []


def test_graph_and_number_price_and_string_brand():
    data = {
        "@context": "https://schema.org",
        "@graph": [
            {"@type": "WebPage", "name": "Page"},
            {"@type": "Product", "name": "Mug", "brand": "Kiln", "offers": {"@type": "Offer", "price": 12.5, "priceCurrency": "EUR"}},
        ],
    }
    product = extract(page(ld(data)))
    assert (product.title, product.brand, product.price, product.currency) == ("Mug", "Kiln", "12.50", "EUR")


def test_top_level_array_and_nested_product():
    data = [
        {"@type": "Organization", "name": "Shop"},
        {"@type": "ItemPage", "mainEntity": {"@type": "Product", "name": "Lamp", "offers": [{"@type": "Offer", "price": "39", "priceCurrency": "GBP"}]}},
    ]
    product = extract(page(ld(data)))
    assert (product.title, product.price, product.currency) == ("Lamp", "39.00", "GBP")


def test_aggregate_offer_low_price():
    data = {
        "@type": "Product",
        "name": "Sofa",
        "offers": {"@type": "AggregateOffer", "lowPrice": "499.99", "highPrice": "899", "priceCurrency": "USD", "offerCount": 3},
    }
    assert extract(page(ld(data))).price == "499.99"


def test_aggregate_offer_with_nested_offers():
    data = {
        "@type": "Product",
        "name": "Desk",
        "offers": {
            "@type": "AggregateOffer",
            "offers": [
                {"@type": "Offer", "price": "210.00", "priceCurrency": "EUR", "availability": "http://schema.org/OutOfStock"},
            ],
        },
    }
    product = extract(page(ld(data)))
    assert (product.price, product.currency, product.availability) == ("210.00", "EUR", "OutOfStock")


def test_price_specification_skips_list_price():
    data = {
        "@type": "Product",
        "name": "Kettle",
        "offers": {
            "@type": "Offer",
            "availability": "SoldOut",
            "priceSpecification": [
                {"@type": "UnitPriceSpecification", "priceType": "https://schema.org/ListPrice", "price": 59.0, "priceCurrency": "CHF"},
                {"@type": "UnitPriceSpecification", "price": 49.0, "priceCurrency": "CHF"},
            ],
        },
    }
    product = extract(page(ld(data)))
    assert (product.price, product.currency, product.availability) == ("49.00", "CHF", "OutOfStock")


def test_text_price_in_json_ld():
    data = {"@type": "Product", "name": "Tea", "offers": {"@type": "Offer", "price": "1.299,00 €"}}
    product = extract(page(ld(data)))
    assert (product.price, product.currency) == ("1299.00", "EUR")


def test_product_group_takes_offer_from_variant():
    data = {
        "@type": "ProductGroup",
        "name": "Tee",
        "brand": {"@type": "Brand", "name": "Cotton Co"},
        "hasVariant": [
            {"@type": "Product", "name": "Tee S", "sku": "TEE-S", "offers": {"@type": "Offer", "price": 15, "priceCurrency": "USD"}},
            {"@type": "Product", "name": "Tee M", "sku": "TEE-M", "offers": {"@type": "Offer", "price": 16, "priceCurrency": "USD"}},
        ],
    }
    product = extract(page(ld(data)))
    assert (product.title, product.brand, product.sku, product.price) == ("Tee", "Cotton Co", "TEE-S", "15.00")


def test_gtin_variants_and_rating_scale():
    data = {
        "@type": "Product",
        "name": "Cable",
        "gtin": "0 12345 67890 5",
        "aggregateRating": {"ratingValue": 8, "bestRating": 10, "ratingCount": 20},
    }
    product = extract(page(ld(data)))
    assert product.gtin == "012345678905"
    assert product.rating == 4.0 and product.review_count == 20


def test_same_product_in_two_blocks_is_merged():
    first = {"@type": "Product", "name": "Chair", "brand": "Oak"}
    second = {"@type": "Product", "name": "Chair", "offers": {"@type": "Offer", "price": "80", "priceCurrency": "GBP"}}
    product = extract(page(ld(first, second)))
    assert (product.brand, product.price) == ("Oak", "80.00")


def test_related_products_do_not_leak_into_the_main_one():
    main = {"@type": "Product", "name": "Chair", "isRelatedTo": {"@type": "Product", "name": "Table", "sku": "T1"}}
    product = extract(page(ld(main)))
    assert product.title == "Chair" and product.sku is None


def test_malformed_block_warns_and_other_layers_still_count():
    html = page(
        ld('{"@type": "Product", "name": "Broken",,, ', {"@type": "BreadcrumbList", "itemListElement": []})
        + og(og__type="product", og__title="From OG", product__price__amount="9.99", product__price__currency="USD"),
        '<div itemscope itemtype="https://schema.org/Product"><h1 itemprop="name">From microdata</h1></div>',
    )
    product = extract(html)
    assert product is not None
    assert any(w.startswith("json-ld: malformed block") for w in product.warnings)
    assert product.title == "From microdata"
    assert (product.price, product.currency) == ("9.99", "USD")
    assert product.sources == ["microdata", "opengraph"]


def test_comments_in_json_ld_are_tolerated():
    block = '<!-- x -->\n// shop script\n{"@type": "Product", "name": "Comment Proof"}'
    product = extract(page(ld(block)))
    assert product.title == "Comment Proof" and product.warnings == []


def test_breadcrumb_alone_is_not_a_product_page():
    assert extract(page(ld(BREADCRUMB))) is None


def test_types_in_any_case_and_offers_without_a_product_type_name():
    data = {"@context": "http://schema.org", "@graph": [
        {"@type": "product", "name": "Cardigan", "brand": {"@type": "brand", "name": "Knitco"}, "gtin8": "57150936",
         "offers": {"@type": "offer", "price": "49.99", "priceCurrency": "EUR", "availability": "InStock"}},
    ]}
    product = extract_product(page(ld(data)), URL)
    assert product is not None
    assert (product.title, product.brand, product.price, product.availability) == ("Cardigan", "Knitco", "49.99", "InStock")


def test_og_price_tag_without_amount_suffix():
    from .helpers import og

    html = page(og(og__type="product", og__title="Bra set", og__price="2,900원~"))
    product = extract_product(html, "http://shop.example.co.kr/deal/1")
    assert (product.price, product.currency) == ("2900.00", "KRW")
