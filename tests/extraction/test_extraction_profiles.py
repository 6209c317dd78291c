"""Site profiles: loading YAML, choosing a profile for a page, reading fields."""

from __future__ import annotations

import textwrap

import pytest

from labelops.extraction import SiteProfile, SiteProfiles, extract_product
from labelops.extraction.document import parse_html

from .helpers import ld, og, page

SHOP_PAGE = page(
    body="""
    <nav class="crumbs"><a href="/">Start</a> / <a href="/kitchen">Kitchen</a> / <a href="/kitchen/pans">Pans</a> / <span>Iron Pan</span></nav>
    <div class="pdp">
      <h1 class="name">Iron Pan</h1>
      <span class="cost">1.299,00 €</span>
      <span class="stock">Nicht lieferbar</span>
      <div class="stars" data-score="4.5 von 5"></div>
      <img class="hero" src="/media/pan.jpg"><img class="hero" src="/media/pan-2.jpg">
      <ul class="tags"><li>iron</li><li>pan</li></ul>
      <table class="specs"><tr><th>Diameter</th><td>28 cm</td></tr><tr><th>Weight</th><td> 2.1&nbsp;kg </td></tr></table>
      <span class="rating-word">rating-Four</span>
    </div>""",
)

SHOP_PROFILE = """
name: pans
domains: [pans.example]
product_page: div.pdp
fields:
  title: div.pdp h1.name
  price: span.cost
  availability: span.stock
  rating: {css: div.stars, attr: data-score}
  brand: {const: PanCo}
  description: {css: ul.tags li, join: ", "}
  image_urls: {css: img.hero, attr: src}
  category_path: {css: nav.crumbs a, drop_first: 1}
  attributes: {css: table.specs tr, key: th, value: td}
"""


def write_profile(tmp_path, text: str, name: str = "shop.yaml"):
    (tmp_path / name).write_text(textwrap.dedent(text), encoding="utf-8")
    return tmp_path


def test_builtin_profiles_load():
    profiles = SiteProfiles.builtin()
    assert "books.toscrape" in profiles.names
    assert SiteProfiles.builtin() is profiles  # loaded once


def test_profile_chosen_by_domain_reads_every_field(tmp_path):
    profiles = SiteProfiles.load(write_profile(tmp_path, SHOP_PROFILE), builtin=False)
    product = extract_product(SHOP_PAGE, "https://www.pans.example/p/iron-pan", profiles=profiles)
    assert product is not None
    assert product.sources == ["profile:pans"]
    assert product.title == "Iron Pan"
    assert (product.price, product.currency, product.availability) == ("1299.00", "EUR", "OutOfStock")
    assert product.rating == 4.5
    assert product.brand == "PanCo"
    assert product.description == "iron, pan"
    assert product.image_urls == ["https://www.pans.example/media/pan.jpg", "https://www.pans.example/media/pan-2.jpg"]
    assert product.category_path == ["Kitchen", "Pans"]
    assert product.attributes == {"Diameter": "28 cm", "Weight": "2.1 kg"}


def test_profile_does_not_apply_to_other_hosts_without_match(tmp_path):
    profiles = SiteProfiles.load(write_profile(tmp_path, SHOP_PROFILE), builtin=False)
    assert extract_product(SHOP_PAGE, "https://elsewhere.example/p/1", profiles=profiles) is None
    assert extract_product(SHOP_PAGE, "https://notpans.example/p/1", profiles=profiles) is None


def test_profile_chosen_by_match_selector_on_any_host(tmp_path):
    text = SHOP_PROFILE.replace("domains: [pans.example]", "match: nav.crumbs")
    profiles = SiteProfiles.load(write_profile(tmp_path, text), builtin=False)
    product = extract_product(SHOP_PAGE, "http://127.0.0.1:8000/p/1", profiles=profiles)
    assert product is not None and product.title == "Iron Pan"


def test_profile_needs_its_product_page_selector(tmp_path):
    profiles = SiteProfiles.load(write_profile(tmp_path, SHOP_PROFILE), builtin=False)
    listing_page = page(body="<nav class='crumbs'></nav><h1 class='name'>All pans</h1>")
    assert extract_product(listing_page, "https://pans.example/pans", profiles=profiles) is None


def test_regex_map_and_xpath_rules(tmp_path):
    text = """
    name: words
    match: "//div[@class='pdp']"
    product_page: "//h1"
    fields:
      title: "//h1[@class='name']/text()"
      rating: {css: span.rating-word, regex: 'rating-(\\w+)', map: {three: 3, four: 4}}
      sku: {xpath: "//table//tr[th='Diameter']/td", regex: '(\\d+)'}
    """
    profiles = SiteProfiles.load(write_profile(tmp_path, text), builtin=False)
    product = extract_product(SHOP_PAGE, "http://127.0.0.1/p", profiles=profiles)
    assert (product.title, product.rating, product.sku) == ("Iron Pan", 4.0, "28")


def test_structured_data_outranks_a_profile(tmp_path):
    profiles = SiteProfiles.load(write_profile(tmp_path, SHOP_PROFILE), builtin=False)
    html = SHOP_PAGE.replace("<head>", "<head>" + ld({"@type": "Product", "name": "From JSON-LD"}) + og(og__title="OG"))
    product = extract_product(html, "https://pans.example/p", profiles=profiles)
    assert product.title == "From JSON-LD"
    assert product.price == "1299.00"  # only the profile has it
    assert product.sources == ["json-ld", "profile:pans"]


def test_extra_folder_adds_to_and_overrides_builtin_profiles(tmp_path):
    write_profile(tmp_path, SHOP_PROFILE)
    write_profile(tmp_path, SHOP_PROFILE.replace("name: pans", "name: books.toscrape"), "override.yaml")
    profiles = SiteProfiles.load(tmp_path)
    assert sorted(profiles.names) == ["books.toscrape", "pans"]
    books = next(p for p in profiles if p.name == "books.toscrape")
    assert books.domains == ["pans.example"]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("name: x\nproduct_page: div\nfields: {title: h1}\n", "needs domains or match"),
        ("name: x\nmatch: div\nproduct_page: div\nfields: {colour: h1}\n", "unknown fields"),
        ("name: x\nmatch: div\nproduct_page: div\nfields: {title: 'h1[[['}\n", "bad selector"),
        ("name: x\nmatch: div\nproduct_page: div\nfields: {title: {css: h1, xpath: //h1}}\n", "exactly one of"),
        ("name: x\nmatch: div\nproduct_page: div\nfields: {attributes: table tr}\n", "key/value"),
        ("name: x\nmatch: div\nproduct_page: div\nfields: {title: {css: h1, colour: red}}\n", "colour"),
    ],
)
def test_bad_profiles_fail_loudly_at_load(tmp_path, text, message):
    with pytest.raises(ValueError, match=message):
        SiteProfiles.load(write_profile(tmp_path, text), builtin=False)


def test_missing_profile_folder(tmp_path):
    with pytest.raises(FileNotFoundError):
        SiteProfiles.load(tmp_path / "nope")


def test_profile_api_on_a_tree():
    profile = SiteProfile.model_validate(
        {"name": "t", "domains": ["t.example"], "product_page": "h1", "fields": {"title": "h1", "currency": {"const": "GBP"}, "price": "span.cost"}}
    )
    tree, _ = parse_html(SHOP_PAGE)
    assert profile.applies_to(tree, "https://shop.t.example/x")
    assert profile.is_product_page(tree)
    assert profile.extract(tree, "https://t.example/x") == {"title": "Iron Pan", "price": "1299.00", "currency": "GBP"}


def test_a_profile_chosen_by_host_beats_one_chosen_by_match(tmp_path):
    generic = SHOP_PROFILE.replace("name: pans", "name: generic").replace("domains: [pans.example]", "match: div.pdp")
    generic = generic.replace("title: div.pdp h1.name", "title: {const: generic}")
    write_profile(tmp_path, generic, "a_generic.yaml")
    write_profile(tmp_path, SHOP_PROFILE, "b_pans.yaml")
    profiles = SiteProfiles.load(tmp_path, builtin=False)
    assert extract_product(SHOP_PAGE, "https://pans.example/p", profiles=profiles).title == "Iron Pan"
    assert extract_product(SHOP_PAGE, "http://127.0.0.1/p", profiles=profiles).title == "generic"
