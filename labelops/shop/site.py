"""Static shop sites: the HTML, sitemap and robots.txt shared by the demo and by real catalogs.

:func:`write_site` turns a list of :class:`ShopProduct` into a folder a plain HTTP server can
serve: a home page, paginated listing pages for every node of the category tree, one page per
product (schema.org JSON-LD or microdata plus visible HTML), product images, ``sitemap.xml``,
``robots.txt`` and, never linked from any page, the ground truth in ``_catalog/``.

Everything written is deterministic (sorted keys, no timestamps, fixed JPEG settings) and every
piece of catalog text is escaped, since real catalogs carry third-party text.
"""

from __future__ import annotations

import html
import json
import re
import shutil
import unicodedata
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Literal
from urllib.parse import quote

from PIL import Image

from labelops.contracts import Availability
from labelops.shop.images import save_jpeg
from labelops.web import script_safe_json

Markup = Literal["jsonld", "jsonld-graph", "microdata"]
"""How a product page carries its structured data: two JSON-LD blocks, one ``@graph``, or microdata."""

Defect = Literal["missing_price", "malformed_jsonld", "duplicate_sku", "absurd_price", "broken_image", "empty_title"]
DEFECT_KINDS: tuple[Defect, ...] = (
    "missing_price",
    "malformed_jsonld",
    "duplicate_sku",
    "absurd_price",
    "broken_image",
    "empty_title",
)

BASE_URL_PLACEHOLDER = "__BASE_URL__"
"""Written where sitemap.xml and robots.txt need absolute URLs; the server substitutes it."""

PAGE_SIZE = 24
CATALOG_DIR = "_catalog"
DISALLOWED_PATH = "/cart/"
PARTNER_URL = "https://example.com/partner"
SCHEMA = "https://schema.org"

_COLOUR_KEYS = ("color", "colour")
_MATERIAL_KEYS = ("material",)
_CURRENCY_SYMBOLS = {"USD": "$", "GBP": "£", "INR": "₹", "JPY": "¥"}
_STYLE = (
    "body{font-family:sans-serif;max-width:60rem;margin:auto;padding:1rem}"
    "ul.grid{list-style:none;display:flex;flex-wrap:wrap;gap:1rem;padding:0}"
    "ul.grid li{width:10rem}ul.grid img{width:96px;height:96px;object-fit:contain}article img{max-width:24rem}"
    ".price{font-weight:bold}table.specs th{text-align:left;padding-right:1rem}"
)


@dataclass(frozen=True)
class ShopProduct:
    """What one product page shows; also the ground truth written to ``_catalog/catalog.jsonl``.

    ``price`` is a plain decimal string ("24.99"), ``image`` the image's path from the site root
    (the file may be missing on purpose: the ``broken_image`` defect), ``image_source`` a local
    file to copy into the site (real catalogs; the demo draws its images instead).
    """

    n: int
    slug: str
    title: str
    description: str
    category_path: tuple[str, ...]
    price: str | None = None
    currency: str | None = None
    sku: str | None = None
    gtin: str | None = None
    brand: str | None = None
    availability: Availability | None = None
    rating: float | None = None
    review_count: int | None = None
    attributes: dict[str, str] = field(default_factory=dict)
    image: str | None = None
    image_source: Path | None = None
    markup: Markup = "jsonld"
    defect: Defect | None = None

    @property
    def url(self) -> str:
        """The page's path from the site root."""
        return f"/product/{self.slug}.html"

    def record(self) -> dict:
        """The Listing-like ground-truth row for ``_catalog/catalog.jsonl``."""
        return {
            "title": self.title,
            "description": self.description,
            "price": self.price,
            "currency": self.currency,
            "sku": self.sku,
            "gtin": self.gtin,
            "brand": self.brand,
            "availability": self.availability,
            "category_path": list(self.category_path),
            "attributes": self.attributes,
            "rating": self.rating,
            "review_count": self.review_count,
            "url": self.url,
            "image": self.image,
            "markup": self.markup,
            "defect": self.defect,
        }


@dataclass(frozen=True)
class SiteSummary:
    """What :func:`write_site` wrote."""

    out_dir: Path
    products: int
    categories: int
    listing_pages: int
    images: int
    defects: dict[str, int]


def default_markup(n: int) -> Markup:
    """The structured-data style of the ``n``-th product: a quarter microdata, a quarter ``@graph``."""
    return ("microdata", "jsonld", "jsonld-graph", "jsonld")[n % 4]


def slugify(text: str, max_len: int = 60) -> str:
    """A lowercase ASCII slug (``"Nova T-Shirt, Navy"`` → ``"nova-t-shirt-navy"``); ``"item"`` if nothing is left."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")
    return slug[:max_len].rstrip("-") or "item"


def normalize_price(value: object) -> str | None:
    """A price as a plain two-decimal string ("899.0" → "899.00"); ``None`` when it is no number."""
    if value is None or isinstance(value, bool):
        return None
    try:
        number = Decimal(str(value).strip())
    except InvalidOperation:
        return None
    return str(number.quantize(Decimal("0.01"))) if number.is_finite() else None


def format_price(price: str, currency: str | None, n: int) -> str:
    """The visible price text, in a currency-specific style (euro prices alternate two styles)."""
    number = Decimal(price)
    english = f"{number:,.2f}"
    if currency == "EUR":
        if n % 2:
            return english.replace(",", " ").replace(".", ",").replace(" ", ".") + " €"
        return "€" + english
    if currency == "INR":
        return f"₹{number:,.0f}" if number == number.to_integral_value() else "₹" + english
    if currency in _CURRENCY_SYMBOLS:
        return _CURRENCY_SYMBOLS[currency] + english
    return f"{currency} {english}" if currency else english


def prepare_out_dir(out_dir: Path, overwrite: bool) -> None:
    """Make sure ``out_dir`` is empty. With ``overwrite`` an earlier shop there is removed.

    Only a folder that holds a ``_catalog/catalog.jsonl`` (one this module wrote) is removed;
    any other non-empty folder is an error, so a typo never deletes someone's files.
    """
    if out_dir.exists() and any(out_dir.iterdir()):
        if not overwrite:
            raise FileExistsError(f"{out_dir} is not empty (--overwrite replaces an earlier shop)")
        if not (out_dir / CATALOG_DIR / "catalog.jsonl").is_file():
            raise FileExistsError(f"{out_dir} is not empty and holds no shop; refusing to delete it")
        shutil.rmtree(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)


# --- small HTML helpers -------------------------------------------------------------------


def _e(text: object) -> str:
    """Escape text for HTML element content and quoted attribute values."""
    return html.escape(str(text), quote=True)


def _json_ld(data: dict, malformed: bool = False) -> str:
    """A JSON-LD script block; ``<``, ``>`` and ``&`` are escaped so no text can end the script.

    ``malformed`` drops the final closing brace, the kind of break a broken template makes.
    """
    text = script_safe_json(data, sort_keys=True)
    if malformed:
        text = text[:-1]
    return f'<script type="application/ld+json">\n{text}\n</script>'


def _page(title: str, body: str, nav: str, head: str = "") -> str:
    """The page skeleton every page shares."""
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{_e(title)}</title>\n<style>{_STYLE}</style>\n{head}</head>\n<body>\n"
        f"{nav}\n<main>\n{body}\n</main>\n"
        '<footer><p><a href="/">Home</a> · '
        f'<a href="{PARTNER_URL}" rel="nofollow">Our delivery partner</a></p></footer>\n'
        "</body>\n</html>\n"
    )


def _split_attributes(attributes: dict[str, str]) -> tuple[str | None, str | None, dict[str, str]]:
    """Colour, material and the remaining attributes (keys matched case-insensitively)."""
    colour = material = None
    rest: dict[str, str] = {}
    for key, value in attributes.items():
        if key.lower() in _COLOUR_KEYS and colour is None:
            colour = value
        elif key.lower() in _MATERIAL_KEYS and material is None:
            material = value
        else:
            rest[key] = value
    return colour, material, rest


def _gtin_key(gtin: str) -> str:
    """The schema.org property for a GTIN of this length."""
    return f"gtin{len(gtin)}" if len(gtin) in (8, 12, 13, 14) else "gtin"


# --- the category tree --------------------------------------------------------------------


@dataclass
class _Node:
    """One node of the category tree: a listing with its own pages."""

    path: tuple[str, ...]
    slug: str
    products: list[ShopProduct] = field(default_factory=list)
    children: list[tuple[str, ...]] = field(default_factory=list)

    @property
    def name(self) -> str:
        return self.path[-1]

    def page_url(self, page: int) -> str:
        return f"/category/{self.slug}/page-{page}.html"

    @property
    def pages(self) -> int:
        return max(1, -(-len(self.products) // PAGE_SIZE))


def _category_tree(products: Sequence[ShopProduct]) -> dict[tuple[str, ...], _Node]:
    """Every prefix of every category path, with the products under it, in catalog order."""
    nodes: dict[tuple[str, ...], _Node] = {}
    used_slugs: set[str] = set()
    for product in products:
        for depth in range(1, len(product.category_path) + 1):
            path = product.category_path[:depth]
            if path not in nodes:
                slug = base = slugify(" ".join(path), max_len=80)
                suffix = 2
                while slug in used_slugs:
                    slug, suffix = f"{base}-{suffix}", suffix + 1
                used_slugs.add(slug)
                nodes[path] = _Node(path, slug)
                if depth > 1:
                    nodes[path[:-1]].children.append(path)
            nodes[path].products.append(product)
    return nodes


def _breadcrumb_items(path: tuple[str, ...], nodes: dict[tuple[str, ...], _Node]) -> list[tuple[str, str]]:
    """(name, url) for each level of a category path."""
    return [(path[depth - 1], nodes[path[:depth]].page_url(1)) for depth in range(1, len(path) + 1)]


def _nav(top_level: Iterable[_Node]) -> str:
    """The header with the shop's top-level categories."""
    links = "".join(f'<li><a href="{_e(node.page_url(1))}">{_e(node.name)}</a></li>' for node in top_level)
    return f'<header><a href="/">Home</a><nav><ul>{links}</ul></nav></header>'


def _product_card(product: ShopProduct) -> str:
    """A product in a listing grid."""
    name = product.title or "Untitled product"
    image = f'<img src="{_e(product.image)}" alt="{_e(name)}" loading="lazy">' if product.image else ""
    price = format_price(product.price, product.currency, product.n) if product.price else "Price on request"
    return (
        f'<li><a href="{_e(product.url)}">{image}<span class="name">{_e(name)}</span></a>'
        f' <span class="price">{_e(price)}</span></li>'
    )


# --- product pages ------------------------------------------------------------------------


def _product_json_ld(product: ShopProduct, crumbs: list[tuple[str, str]]) -> tuple[dict, dict]:
    """The schema.org Product and BreadcrumbList objects (without ``@context``)."""
    colour, material, rest = _split_attributes(product.attributes)
    offer: dict = {"@type": "Offer", "url": product.url}
    if product.price is not None:
        offer["price"] = product.price
        if product.currency:
            offer["priceCurrency"] = product.currency
    if product.availability:
        offer["availability"] = f"{SCHEMA}/{product.availability}"
    data: dict = {
        "@type": "Product",
        "name": product.title,
        "description": product.description,
        "url": product.url,
        "category": " > ".join(product.category_path),
        "offers": offer,
    }
    optional = {
        "sku": product.sku,
        "brand": {"@type": "Brand", "name": product.brand} if product.brand else None,
        "color": colour,
        "material": material,
        "image": product.image,
    }
    data.update({key: value for key, value in optional.items() if value is not None})
    if product.gtin:
        data[_gtin_key(product.gtin)] = product.gtin
    if product.rating is not None:
        data["aggregateRating"] = {"@type": "AggregateRating", "ratingValue": product.rating, "bestRating": 5}
        if product.review_count is not None:
            data["aggregateRating"]["reviewCount"] = product.review_count
    if rest:
        data["additionalProperty"] = [{"@type": "PropertyValue", "name": k, "value": v} for k, v in rest.items()]
    breadcrumb = {
        "@type": "BreadcrumbList",
        "itemListElement": [
            {"@type": "ListItem", "position": i, "name": name, "item": url} for i, (name, url) in enumerate(crumbs, 1)
        ],
    }
    return data, breadcrumb


def _structured_data(product: ShopProduct, crumbs: list[tuple[str, str]]) -> str:
    """The JSON-LD script blocks of a product page (none for microdata pages)."""
    if product.markup == "microdata":
        return ""
    data, breadcrumb = _product_json_ld(product, crumbs)
    malformed = product.defect == "malformed_jsonld"
    if product.markup == "jsonld-graph":
        return _json_ld({"@context": SCHEMA, "@graph": [data, breadcrumb]}, malformed)
    return _json_ld({"@context": SCHEMA, **data}, malformed) + "\n" + _json_ld({"@context": SCHEMA, **breadcrumb})


def _breadcrumb_nav(title: str, crumbs: list[tuple[str, str]], micro: bool) -> str:
    """The visible breadcrumb; a microdata BreadcrumbList when ``micro``."""
    items = ['<li><a href="/">Home</a></li>']
    for position, (name, url) in enumerate(crumbs, 1):
        if micro:
            items.append(
                f'<li itemprop="itemListElement" itemscope itemtype="{SCHEMA}/ListItem">'
                f'<a itemprop="item" href="{_e(url)}"><span itemprop="name">{_e(name)}</span></a>'
                f'<meta itemprop="position" content="{position}"></li>'
            )
        else:
            items.append(f'<li><a href="{_e(url)}">{_e(name)}</a></li>')
    items.append(f"<li>{_e(title)}</li>")
    scope = f' itemscope itemtype="{SCHEMA}/BreadcrumbList"' if micro else ""
    return f'<nav aria-label="breadcrumb"><ol{scope}>{"".join(items)}</ol></nav>'


def _product_page(
    product: ShopProduct, related: Sequence[ShopProduct], crumbs: list[tuple[str, str]], nav: str, shop_name: str
) -> str:
    """The HTML of one product page. ``crumbs`` are (name, url) of its category levels."""
    micro = product.markup == "microdata"

    def prop(name: str) -> str:
        return f' itemprop="{name}"' if micro else ""

    def scope(kind: str) -> str:
        return f' itemscope itemtype="{SCHEMA}/{kind}"' if micro else ""

    colour, material, rest = _split_attributes(product.attributes)
    parts = [_breadcrumb_nav(product.title, crumbs, micro), f"<article{scope('Product')}>"]
    parts.append(f"<h1{prop('name')}>{_e(product.title)}</h1>")
    if product.image:
        parts.append(f'<img{prop("image")} src="{_e(product.image)}" alt="{_e(product.title)}">')
    if micro and product.sku:
        parts.append(f'<meta itemprop="sku" content="{_e(product.sku)}">')
    if micro and product.gtin:
        parts.append(f'<meta itemprop="{_gtin_key(product.gtin)}" content="{_e(product.gtin)}">')
    if product.brand:
        parts.append(
            f'<p class="brand"{prop("brand")}{scope("Brand")}>Brand: <span{prop("name")}>{_e(product.brand)}</span></p>'
        )

    offer = [f'<div class="offer"{prop("offers")}{scope("Offer")}>']
    if product.price is not None:
        if micro:
            offer.append(f'<meta itemprop="price" content="{_e(product.price)}">')
            if product.currency:
                offer.append(f'<meta itemprop="priceCurrency" content="{_e(product.currency)}">')
        offer.append(f'<p class="price">{_e(format_price(product.price, product.currency, product.n))}</p>')
    else:
        offer.append('<p class="price">Price on request</p>')
    if product.availability:
        label = "In stock" if product.availability == "InStock" else "Out of stock"
        link = f'<link itemprop="availability" href="{SCHEMA}/{product.availability}">' if micro else ""
        offer.append(f'<p class="availability">{link}{label}</p>')
    cart = f"/cart/add/{quote(product.sku or product.slug, safe='')}.html"
    offer.append(f'<p><a class="add-to-cart" href="{_e(cart)}" rel="nofollow">Add to cart</a></p>')
    parts.append("".join(offer) + "</div>")

    if product.rating is not None:
        count = ""
        if product.review_count is not None:
            count = f" from <span{prop('reviewCount')}>{product.review_count}</span> reviews"
        parts.append(
            f'<p class="rating"{prop("aggregateRating")}{scope("AggregateRating")}>Rated '
            f"<span{prop('ratingValue')}>{product.rating}</span> out of 5{count}</p>"
        )
    parts.append(f'<p class="description"{prop("description")}>{_e(product.description)}</p>')

    rows = []
    if colour is not None:
        rows.append(f"<tr><th>Colour</th><td{prop('color')}>{_e(colour)}</td></tr>")
    if material is not None:
        rows.append(f"<tr><th>Material</th><td{prop('material')}>{_e(material)}</td></tr>")
    for key, value in rest.items():
        rows.append(
            f"<tr{prop('additionalProperty')}{scope('PropertyValue')}>"
            f"<th{prop('name')}>{_e(key)}</th><td{prop('value')}>{_e(value)}</td></tr>"
        )
    for label, value in (("SKU", product.sku), ("GTIN", product.gtin)):
        if value:
            rows.append(f"<tr><th>{label}</th><td>{_e(value)}</td></tr>")
    parts.append(f'<table class="specs">{"".join(rows)}</table>')
    parts.append("</article>")

    cards = "".join(_product_card(other) for other in related)
    parts.append(f'<section class="related"><h2>Related products</h2><ul class="grid">{cards}</ul></section>')

    head = (
        f'<meta name="description" content="{_e(product.description[:160])}">\n'
        '<meta property="og:type" content="product">\n'
        f'<meta property="og:title" content="{_e(product.title)}">\n'
        + (f'<meta property="og:image" content="{_e(product.image)}">\n' if product.image else "")
        + f'<link rel="canonical" href="{_e(product.url)}">\n'
        + _structured_data(product, crumbs)
        + "\n"
    )
    title = f"{product.title} | {shop_name}" if product.title else shop_name
    return _page(title, "\n".join(parts), nav, head)


# --- listing pages, home, sitemap, robots -------------------------------------------------


def _listing_page(node: _Node, page: int, nodes: dict[tuple[str, ...], _Node], nav: str, shop_name: str) -> str:
    """Page ``page`` (1-based) of a category listing, with prev/next links."""
    crumbs = _breadcrumb_items(node.path, nodes)
    trail = "".join(f'<li><a href="{_e(url)}">{_e(name)}</a></li>' for name, url in crumbs[:-1])
    parts = [
        f'<nav aria-label="breadcrumb"><ol><li><a href="/">Home</a></li>{trail}<li>{_e(node.name)}</li></ol></nav>',
        f"<h1>{_e(node.name)}</h1>",
        f"<p>{len(node.products)} products</p>",
    ]
    if node.children:
        links = "".join(f'<li><a href="{_e(nodes[c].page_url(1))}">{_e(nodes[c].name)}</a></li>' for c in node.children)
        parts.append(f'<section class="subcategories"><h2>Subcategories</h2><ul>{links}</ul></section>')
    start = (page - 1) * PAGE_SIZE
    cards = "".join(_product_card(p) for p in node.products[start : start + PAGE_SIZE])
    parts.append(f'<ul class="grid products">{cards}</ul>')
    pager = []
    if page > 1:
        pager.append(f'<a rel="prev" href="{_e(node.page_url(page - 1))}">Previous</a>')
    pager.append(f"<span>Page {page} of {node.pages}</span>")
    if page < node.pages:
        pager.append(f'<a rel="next" href="{_e(node.page_url(page + 1))}">Next</a>')
    parts.append(f'<nav class="pagination">{" ".join(pager)}</nav>')
    head = "".join(
        f'<link rel="{rel}" href="{_e(node.page_url(p))}">\n'
        for rel, p in (("prev", page - 1), ("next", page + 1))
        if 1 <= p <= node.pages
    )
    return _page(f"{node.name}, page {page} | {shop_name}", "\n".join(parts), nav, head)


def _home_page(
    top_level: Sequence[_Node],
    nodes: dict[tuple[str, ...], _Node],
    featured: Sequence[ShopProduct],
    nav: str,
    shop_name: str,
) -> str:
    """The home page: every category and a few featured products."""
    sections = []
    for node in top_level:
        children = "".join(
            f'<li><a href="{_e(nodes[c].page_url(1))}">{_e(nodes[c].name)}</a></li>' for c in node.children
        )
        sections.append(f'<li><a href="{_e(node.page_url(1))}">{_e(node.name)}</a><ul>{children}</ul></li>')
    cards = "".join(_product_card(p) for p in featured)
    body = (
        f"<h1>{_e(shop_name)}</h1>\n"
        f'<section class="categories"><h2>Shop by category</h2><ul>{"".join(sections)}</ul></section>\n'
        f'<section class="featured"><h2>Featured</h2><ul class="grid">{cards}</ul></section>'
    )
    return _page(shop_name, body, nav)


def sitemap_xml(paths: Iterable[str]) -> str:
    """A sitemap of site paths, with the base-URL placeholder in front of each."""
    urls = "".join(f"<url><loc>{html.escape(BASE_URL_PLACEHOLDER + path, quote=False)}</loc></url>\n" for path in paths)
    return f'<?xml version="1.0" encoding="UTF-8"?>\n<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">\n{urls}</urlset>\n'


def robots_txt() -> str:
    """robots.txt: everything allowed except the cart, and where the sitemap is."""
    return f"User-agent: *\nDisallow: {DISALLOWED_PATH}\n\nSitemap: {BASE_URL_PLACEHOLDER}/sitemap.xml\n"


def _related(
    product: ShopProduct, pools: Sequence[tuple[Sequence[ShopProduct], int]], count: int = 4
) -> list[ShopProduct]:
    """Up to ``count`` other products: those after ``product`` in each pool in turn.

    Each pool (its category, then the whole catalog) comes with ``product``'s position in it.
    """
    picked: list[ShopProduct] = []
    seen = {product.n}
    for pool, position in pools:
        for step in range(1, len(pool)):
            if len(picked) == count:
                return picked
            candidate = pool[(position + step) % len(pool)]
            if candidate.n not in seen:
                picked.append(candidate)
                seen.add(candidate.n)
    return picked


def _write_text(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8", newline="\n")


def write_site(
    out_dir: Path,
    products: Sequence[ShopProduct],
    make_image: Callable[[ShopProduct], Image.Image | None],
    *,
    shop_name: str,
    progress: Callable[[int], None] | None = None,
) -> SiteSummary:
    """Write the static site for ``products`` into ``out_dir`` (which should be empty).

    ``make_image`` gives each product's picture (``None``: no file is written, so the page's
    image link 404s when the product has an image path). ``progress`` is called with 1 after
    each product page.
    """
    out_dir = Path(out_dir)
    nodes = _category_tree(products)
    top_level = [node for path, node in nodes.items() if len(path) == 1]
    nav = _nav(top_level)
    position_in_category = {
        p.n: i for path, node in nodes.items() for i, p in enumerate(node.products) if p.category_path == path
    }
    images = 0
    (out_dir / "product").mkdir(parents=True, exist_ok=True)
    (out_dir / CATALOG_DIR).mkdir(parents=True, exist_ok=True)
    with open(out_dir / CATALOG_DIR / "catalog.jsonl", "w", encoding="utf-8", newline="\n") as catalog:
        for index, product in enumerate(products):
            crumbs = _breadcrumb_items(product.category_path, nodes)
            pools = [(products, index)]
            if product.category_path:
                pools.insert(0, (nodes[product.category_path].products, position_in_category[product.n]))
            related = _related(product, pools)
            page = _product_page(product, related, crumbs, nav, shop_name)
            (out_dir / "product" / f"{product.slug}.html").write_text(page, encoding="utf-8", newline="\n")
            image = make_image(product) if product.image else None
            if image is not None:
                save_jpeg(image, out_dir / product.image.lstrip("/"))
                images += 1
            catalog.write(json.dumps(product.record(), ensure_ascii=False, sort_keys=True) + "\n")
            if progress:
                progress(1)

    listing_urls = []
    for node in nodes.values():
        for page in range(1, node.pages + 1):
            _write_text(out_dir / node.page_url(page).lstrip("/"), _listing_page(node, page, nodes, nav, shop_name))
            listing_urls.append(node.page_url(page))
    _write_text(out_dir / "index.html", _home_page(top_level, nodes, products[:8], nav, shop_name))
    _write_text(out_dir / "sitemap.xml", sitemap_xml(["/", *listing_urls, *(p.url for p in products)]))
    _write_text(out_dir / "robots.txt", robots_txt())

    defects = {p.url: {"defect": p.defect, "sku": p.sku, "slug": p.slug} for p in products if p.defect}
    _write_text(
        out_dir / CATALOG_DIR / "defects.json", json.dumps(defects, ensure_ascii=False, sort_keys=True, indent=2) + "\n"
    )
    return SiteSummary(
        out_dir=out_dir,
        products=len(products),
        categories=sum(1 for node in nodes.values() if not node.children),
        listing_pages=len(listing_urls),
        images=images,
        defects=dict(sorted(Counter(p.defect for p in products if p.defect).items())),
    )
