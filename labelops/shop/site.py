"""Static shop sites: the HTML, sitemap and robots.txt shared by the demo and by real catalogs.

:func:`write_site` turns a list of :class:`ShopProduct` into a folder a plain HTTP server can
serve: a home page, paginated listing pages for every node of the category tree, one page per
product (schema.org JSON-LD or microdata plus visible HTML), product images, ``sitemap.xml``,
``robots.txt`` and, never linked from any page, the ground truth in ``_catalog/``.

The pages' markup is in the Jinja templates ``labelops/templates/shop/``; this module decides
what each page shows. Everything written is deterministic (sorted keys, no timestamps, fixed
JPEG settings) and every piece of catalog text is escaped (the templates autoescape and mark
no catalog text safe), since real catalogs carry third-party text.
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
from functools import lru_cache
from pathlib import Path
from typing import Literal, NamedTuple
from urllib.parse import quote

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape
from markupsafe import Markup as MarkupText  # "Markup" here names the structured-data style
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


# --- templates ----------------------------------------------------------------------------
#
# The pages' markup lives in labelops/templates/shop/ (base, home, listing, product and the
# shared _macros). Python decides what a page shows (the category tree, prices as text, the
# JSON-LD objects, microdata or not, related products); the templates only write it out.


def _escape(value: object) -> object:
    """Every ``{{ }}`` value, HTML-escaped as the stdlib does (``&quot;``, ``&#x27;``).

    Autoescaping is on; this ``finalize`` runs first and spells the entities like
    ``html.escape(quote=True)`` instead of markupsafe's ``&#34;``/``&#39;``, so the pages stay
    byte-identical with those the shop wrote before it used templates. Values already marked
    safe (macro output, the JSON-LD text) pass unchanged. Filters that escape by themselves
    (``|e``, ``|join``) would use markupsafe's spelling; the shop's templates use none.
    """
    if hasattr(value, "__html__"):
        return value
    return MarkupText(html.escape(str(value), quote=True))


@lru_cache(maxsize=1)
def _templates() -> Environment:
    environment = Environment(
        loader=PackageLoader("labelops", "templates"),
        autoescape=select_autoescape(["html"]),
        finalize=_escape,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    environment.globals.update(schema=SCHEMA, partner_url=PARTNER_URL)
    return environment


def _render(template: str, **context: object) -> str:
    return _templates().get_template(f"shop/{template}").render(**context)


class _Link(NamedTuple):
    """A link to a page of the site."""

    name: str
    url: str


class _Card(NamedTuple):
    """A product in a listing grid (``shop/_macros.html``'s ``product_card``)."""

    url: str
    title: str
    image: str | None
    price: str | None  # the visible price text; None: "Price on request"


def _card(product: ShopProduct) -> _Card:
    price = format_price(product.price, product.currency, product.n) if product.price else None
    return _Card(product.url, product.title, product.image, price)


def _json_ld(data: dict, malformed: bool = False) -> MarkupText:
    """A JSON-LD block's text; ``<``, ``>`` and ``&`` are escaped so no text can end the script.

    ``malformed`` drops the final closing brace, the kind of break a broken template makes.
    Marked safe because the template writes it inside ``<script>``, where HTML entities would
    corrupt the JSON; script_safe_json has already made it safe there.
    """
    text = script_safe_json(data, sort_keys=True)
    if malformed:
        text = text[:-1]
    return MarkupText(text)


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

    @property
    def link(self) -> _Link:
        return _Link(self.name, self.page_url(1))


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


def _breadcrumb_items(path: tuple[str, ...], nodes: dict[tuple[str, ...], _Node]) -> list[_Link]:
    """(name, url) for each level of a category path."""
    return [nodes[path[:depth]].link for depth in range(1, len(path) + 1)]


# --- product pages ------------------------------------------------------------------------


def _product_json_ld(product: ShopProduct, crumbs: list[_Link]) -> tuple[dict, dict]:
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


def _structured_data(product: ShopProduct, crumbs: list[_Link]) -> list[MarkupText]:
    """The texts of a product page's JSON-LD blocks (none for microdata pages)."""
    if product.markup == "microdata":
        return []
    data, breadcrumb = _product_json_ld(product, crumbs)
    malformed = product.defect == "malformed_jsonld"
    if product.markup == "jsonld-graph":
        return [_json_ld({"@context": SCHEMA, "@graph": [data, breadcrumb]}, malformed)]
    return [_json_ld({"@context": SCHEMA, **data}, malformed), _json_ld({"@context": SCHEMA, **breadcrumb})]


def _product_page(
    product: ShopProduct, related: Sequence[ShopProduct], crumbs: list[_Link], nav: list[_Link], shop_name: str
) -> str:
    """The HTML of one product page. ``crumbs`` are (name, url) of its category levels."""
    colour, material, rest = _split_attributes(product.attributes)
    price = format_price(product.price, product.currency, product.n) if product.price is not None else None
    return _render(
        "product.html",
        shop_name=shop_name,
        nav=nav,
        product=product,
        micro=product.markup == "microdata",
        crumbs=crumbs,
        json_ld=_structured_data(product, crumbs),
        meta_description=product.description[:160],
        gtin_key=_gtin_key(product.gtin) if product.gtin else None,
        price_text=price,
        cart_url=f"/cart/add/{quote(product.sku or product.slug, safe='')}.html",
        colour=colour,
        material=material,
        rest=rest,
        related=[_card(other) for other in related],
    )


# --- listing pages, home, sitemap, robots -------------------------------------------------


def _listing_page(
    node: _Node, page: int, nodes: dict[tuple[str, ...], _Node], nav: list[_Link], shop_name: str
) -> str:
    """Page ``page`` (1-based) of a category listing, with prev/next links."""
    start = (page - 1) * PAGE_SIZE
    return _render(
        "listing.html",
        shop_name=shop_name,
        nav=nav,
        name=node.name,
        crumbs=_breadcrumb_items(node.path, nodes)[:-1],
        count=len(node.products),
        subcategories=[nodes[child].link for child in node.children],
        cards=[_card(p) for p in node.products[start : start + PAGE_SIZE]],
        page=page,
        pages=node.pages,
        prev_url=node.page_url(page - 1) if page > 1 else None,
        next_url=node.page_url(page + 1) if page < node.pages else None,
    )


def _home_page(
    top_level: Sequence[_Node],
    nodes: dict[tuple[str, ...], _Node],
    featured: Sequence[ShopProduct],
    nav: list[_Link],
    shop_name: str,
) -> str:
    """The home page: every category and a few featured products."""
    return _render(
        "home.html",
        shop_name=shop_name,
        nav=nav,
        categories=[(node.link, [nodes[child].link for child in node.children]) for node in top_level],
        featured=[_card(p) for p in featured],
    )


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
    nav = [node.link for node in top_level]
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
