"""Microdata and RDFa layers, and how they rank against JSON-LD."""

from __future__ import annotations

from labelops.extraction import extract_product

from .helpers import URL, ld, page

MICRODATA = """
<ol itemscope itemtype="https://schema.org/BreadcrumbList">
  <li itemprop="itemListElement" itemscope itemtype="https://schema.org/ListItem">
    <a itemprop="item" href="/"><span itemprop="name">Home</span></a><meta itemprop="position" content="1"></li>
  <li itemprop="itemListElement" itemscope itemtype="https://schema.org/ListItem">
    <a itemprop="item" href="/garden"><span itemprop="name">Garden</span></a><meta itemprop="position" content="2"></li>
  <li itemprop="itemListElement" itemscope itemtype="https://schema.org/ListItem">
    <a itemprop="item" itemscope itemtype="https://schema.org/WebPage" href="/garden/tools">
      <span itemprop="name">Tools</span></a><meta itemprop="position" content="3"></li>
</ol>
<div itemscope itemtype="http://schema.org/Product">
  <h1 itemprop="name">  Garden
     Spade </h1>
  <img itemprop="image" src="/img/spade.jpg">
  <span itemprop="brand" itemscope itemtype="http://schema.org/Brand"><span itemprop="name">Digger</span></span>
  <span itemprop="sku">SP-1</span>
  <div itemprop="description"><p>Forged steel.</p><p>Ash handle.</p></div>
  <div itemprop="aggregateRating" itemscope itemtype="http://schema.org/AggregateRating">
    <span itemprop="ratingValue">4,5</span> / <span itemprop="reviewCount">12</span></div>
  <div itemprop="offers" itemscope itemtype="http://schema.org/Offer">
    <span itemprop="price">£38.00</span>
    <link itemprop="availability" href="http://schema.org/InStock">In stock
  </div>
</div>
"""


def test_microdata_product_with_offer_and_breadcrumb():
    product = extract_product(page(body=MICRODATA), URL)
    assert product is not None
    assert product.title == "Garden Spade"
    assert product.description == "Forged steel. Ash handle."
    assert (product.price, product.currency, product.availability) == ("38.00", "GBP", "InStock")
    assert (product.brand, product.sku) == ("Digger", "SP-1")
    assert product.rating == 4.5 and product.review_count == 12
    assert product.image_urls == ["https://shop.example/img/spade.jpg"]
    assert product.category_path == ["Garden", "Tools"]
    assert product.sources == ["microdata"]


def test_json_ld_and_microdata_disagree_and_the_page_decides():
    # the microdata's name and price are the ones the page shows (the h1, "£38.00"): they win
    data = {"@type": "Product", "name": "JSON-LD name", "offers": {"@type": "Offer", "price": "40.00", "priceCurrency": "GBP"}}
    product = extract_product(page(ld(data), MICRODATA), URL)
    assert (product.title, product.price) == ("Garden Spade", "38.00")
    assert product.brand == "Digger"  # only microdata has it
    assert product.sources[:2] == ["json-ld", "microdata"]


def test_json_ld_wins_a_tie_and_microdata_fills_gaps():
    hidden = """<div itemscope itemtype="http://schema.org/Product"><meta itemprop="name" content="Microdata name">
      <meta itemprop="sku" content="MD-1"><div itemprop="offers" itemscope itemtype="http://schema.org/Offer">
      <meta itemprop="price" content="38.00"><meta itemprop="priceCurrency" content="GBP"></div></div>"""
    data = {"@type": "Product", "name": "JSON-LD name", "offers": {"@type": "Offer", "price": "40.00", "priceCurrency": "GBP"}}
    product = extract_product(page(ld(data), hidden), URL)
    assert (product.title, product.price) == ("JSON-LD name", "40.00")
    assert product.sku == "MD-1"
    assert product.sources == ["json-ld", "microdata"]


RDFA = """
<div vocab="https://schema.org/" typeof="Product">
  <span property="name">Cordless Drill</span>
  <img property="image" src="/img/drill.png">
  <span property="brand" typeof="Brand"><span property="name">Bolt</span></span>
  <span property="gtin13">4006381333931</span>
  <div property="offers" typeof="Offer">
    <meta property="priceCurrency" content="EUR"><span property="price" content="89.90">89,90 €</span>
    <link property="availability" href="https://schema.org/OutOfStock">
  </div>
</div>
<ol vocab="https://schema.org/" typeof="BreadcrumbList">
  <li property="itemListElement" typeof="ListItem"><a property="item" typeof="WebPage" href="/">
    <span property="name">Startseite</span></a><meta property="position" content="1"></li>
  <li property="itemListElement" typeof="ListItem"><a property="item" typeof="WebPage" href="/tools">
    <span property="name">Werkzeug</span></a><meta property="position" content="2"></li>
</ol>
"""


def test_rdfa_product():
    product = extract_product(page(body=RDFA), URL)
    assert product is not None
    assert (product.title, product.brand, product.gtin) == ("Cordless Drill", "Bolt", "4006381333931")
    assert (product.price, product.currency, product.availability) == ("89.90", "EUR", "OutOfStock")
    assert product.image_urls == ["https://shop.example/img/drill.png"]
    assert product.category_path == ["Werkzeug"]
    assert product.sources == ["rdfa"]


def test_rdfa_inherits_vocab_from_an_ancestor():
    body = '<main vocab="http://schema.org/"><div typeof="Product"><span property="name">Saw</span></div></main>'
    product = extract_product(page(body=body), URL)
    assert product is not None and product.title == "Saw"


def test_opengraph_metas_alone_do_not_trigger_rdfa():
    html = page('<meta property="og:title" content="Just a page">')
    assert extract_product(html, URL) is None
