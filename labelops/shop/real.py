"""Real catalogs rendered with the demo shop's templates.

Two formats are read, chosen by file extension:

- ``.jsonl`` / ``.json``: one product per line in the Listing shape (``labelops.contracts``);
  a ``.json`` file may also hold one JSON array. ``images`` are local paths, relative to the
  catalog file or absolute; the first that exists becomes the product photo.
- ``.csv``: the Flipkart export (``product_category_tree``, ``product_specifications`` in Ruby
  hash syntax, photos in ``images/`` beside the CSV), priced in INR.
"""

from __future__ import annotations

import csv
import json
import re
from collections.abc import Callable, Iterable
from pathlib import Path
from urllib.parse import urlsplit

from PIL import Image
from pydantic import ConfigDict, Field, ValidationError

from labelops.contracts import ProductFields
from labelops.shop.site import (
    ShopProduct,
    SiteSummary,
    default_markup,
    normalize_price,
    prepare_out_dir,
    slugify,
    write_site,
)

JSON_SUFFIXES = (".jsonl", ".json")
CSV_SUFFIXES = (".csv",)
FLIPKART_CURRENCY = "INR"

_RUBY_STRING = r'"((?:[^"\\]|\\.)*)"'
_RUBY_HASH = re.compile(r"\{\s*((?:" + _RUBY_STRING + r"\s*=>\s*(?:" + _RUBY_STRING + r"|nil)\s*,?\s*)+)\}")
_RUBY_PAIR = re.compile(_RUBY_STRING + r"\s*=>\s*(?:" + _RUBY_STRING + r"|nil)")


class CatalogFormatError(ValueError):
    """The catalog file has an unknown extension or cannot be read as its format."""


class CatalogEntry(ProductFields):
    """One line of a JSON-lines catalog: the Listing's product fields, all optional, plus the page's
    URL and local image files. Unknown keys are ignored, numbers read as text ("price": 899)."""

    model_config = ConfigDict(extra="ignore", coerce_numbers_to_str=True)

    url: str | None = None
    images: list[str] = Field(default_factory=list)


def parse_ruby_specs(text: str) -> dict[str, str]:
    """Flipkart's ``product_specifications`` (a Ruby hash literal) as ``{key: value}``.

    Accepts a list of ``{"key"=>..., "value"=>...}`` hashes or a single one, ``nil`` and empty
    text. Entries with only a ``value`` (usually warranty notes) are joined under ``"Notes"``.
    """
    specs: dict[str, str] = {}
    notes: list[str] = []
    for entry in _RUBY_HASH.finditer(text or ""):
        fields = {
            _ruby_unescape(key): _ruby_unescape(value)
            for key, value in _RUBY_PAIR.findall(entry.group(1))
            if key != "product_specification"
        }
        key, value = fields.get("key", "").strip(), fields.get("value", "").strip()
        if key and value:
            specs.setdefault(key, value)
        elif value:
            notes.append(value)
    if notes:
        specs["Notes"] = "; ".join(notes)
    return specs


def _ruby_unescape(text: str) -> str:
    """Undo a Ruby double-quoted string's backslash escapes."""
    return re.sub(r"\\(.)", r"\1", text)


def parse_category_tree(text: str, product_name: str = "") -> list[str]:
    """Flipkart's ``["A >> B >> name..."]`` as ``["A", "B"]``; the truncated product name is dropped."""
    try:
        trees = json.loads(text) if text else []
    except json.JSONDecodeError:
        trees = [text.strip('[]"')]
    if not trees:
        return []
    parts = [part.strip() for part in str(trees[0]).split(">>") if part.strip()]
    if len(parts) > 1:
        last = parts[-1]
        name = product_name.strip()
        if last.endswith("...") or (name and (last == name or name.startswith(last))):
            parts.pop()
    return parts


def _unique_slug(base: str, n: int, used: set[str]) -> str:
    """``base`` if not yet used, else ``base-n``."""
    slug = base if base not in used else f"{base}-{n}"
    used.add(slug)
    return slug


def _slug_from_url(url: str | None) -> str | None:
    """The page name of a product URL (``/product/nova-mug-12.html`` → ``nova-mug-12``)."""
    if not url:
        return None
    segments = [s for s in urlsplit(url).path.split("/") if s]
    if segments:
        segments[-1] = segments[-1].split(".")[0]
        if segments[-1] == "index":
            segments.pop()
    return slugify(segments[-1]) if segments else None


def _first_existing(paths: Iterable[str], base: Path) -> Path | None:
    """The first of ``paths`` (relative to ``base`` unless absolute) that is a file."""
    for entry in paths:
        path = Path(entry) if Path(entry).is_absolute() else base / entry
        if path.is_file():
            return path
    return None


def load_listings_jsonl(path: Path) -> list[ShopProduct]:
    """Products from a JSON-lines (or JSON array) catalog in the Listing shape."""
    text = path.read_text(encoding="utf-8")
    try:
        if text.lstrip().startswith("["):
            rows = json.loads(text)
        else:
            rows = [json.loads(line) for line in text.splitlines() if line.strip()]
    except json.JSONDecodeError as error:
        raise CatalogFormatError(f"{path}: not JSON lines ({error})") from error
    products, used = [], set()
    for n, row in enumerate(rows, 1):
        try:
            entry = CatalogEntry.model_validate(row)
        except ValidationError as error:
            raise CatalogFormatError(f"{path}: entry {n} does not have the Listing shape: {error}") from error
        title = entry.title or ""
        slug = _unique_slug(_slug_from_url(entry.url) or f"{slugify(title)}-{n}", n, used)
        image_source = _first_existing(entry.images, path.parent)
        products.append(
            ShopProduct(
                n=n,
                slug=slug,
                title=title,
                description=entry.description or "",
                category_path=tuple(entry.category_path),
                price=normalize_price(entry.price),
                currency=entry.currency,
                sku=entry.sku,
                gtin=entry.gtin,
                brand=entry.brand,
                availability=entry.availability,
                rating=entry.rating,
                review_count=entry.review_count,
                attributes=entry.attributes,
                image=f"/images/{slug}.jpg" if image_source else None,
                image_source=image_source,
                markup=default_markup(n),
            )
        )
    return products


def _rating(text: str) -> float | None:
    """A Flipkart rating ("4.1", "No rating available")."""
    try:
        return float(text)
    except ValueError:
        return None


def load_flipkart_csv(path: Path) -> list[ShopProduct]:
    """Products from the Flipkart CSV export; photos are read from ``images/`` beside it."""
    with open(path, encoding="utf-8", newline="") as handle:
        reader = csv.DictReader(handle)
        missing = {"product_name", "product_category_tree", "pid", "discounted_price"} - set(reader.fieldnames or ())
        if missing:
            raise CatalogFormatError(f"{path}: not a Flipkart CSV, missing columns {sorted(missing)}")
        rows = list(reader)
    products, used = [], set()
    for n, row in enumerate(rows, 1):
        title = (row.get("product_name") or "").strip()
        specs = parse_ruby_specs(row.get("product_specifications", ""))
        slug = _unique_slug(f"{slugify(title)}-{n}", n, used)
        image_name = (row.get("image") or "").strip()
        image_source = _first_existing([f"images/{image_name}"], path.parent) if image_name else None
        price = normalize_price(row.get("discounted_price") or row.get("retail_price"))
        products.append(
            ShopProduct(
                n=n,
                slug=slug,
                title=title,
                description=(row.get("description") or "").strip(),
                category_path=tuple(parse_category_tree(row.get("product_category_tree", ""), title)),
                price=price,
                currency=FLIPKART_CURRENCY if price else None,
                sku=(row.get("pid") or "").strip() or None,
                brand=(row.get("brand") or "").strip() or specs.get("Brand"),
                rating=_rating(row.get("product_rating", "")),
                attributes=specs,
                image=f"/images/{slug}.jpg" if image_source else None,
                image_source=image_source,
                markup=default_markup(n),
            )
        )
    return products


def load_catalog(path: Path) -> list[ShopProduct]:
    """Products from a catalog file, the format chosen by its extension."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"catalog {path} does not exist")
    suffix = path.suffix.lower()
    if suffix in JSON_SUFFIXES:
        return load_listings_jsonl(path)
    if suffix in CSV_SUFFIXES:
        return load_flipkart_csv(path)
    known = ", ".join(JSON_SUFFIXES + CSV_SUFFIXES)
    raise CatalogFormatError(f"{path}: unknown catalog format {suffix or '(no extension)'!r}; expected one of {known}")


def _copy_image(product: ShopProduct) -> Image.Image | None:
    """The product's source photo as RGB (transparency on white); ``None`` when it cannot be read."""
    if product.image_source is None:
        return None
    try:
        with Image.open(product.image_source) as image:
            if image.mode in ("RGBA", "LA", "PA", "P"):
                rgba = image.convert("RGBA")
                flat = Image.new("RGB", rgba.size, "white")
                flat.paste(rgba, mask=rgba.getchannel("A"))
                return flat
            return image.convert("RGB")
    except OSError:
        return None


def render_products(
    products: list[ShopProduct],
    out_dir: Path,
    *,
    shop_name: str = "Catalog Store",
    overwrite: bool = False,
    progress: Callable[[int], None] | None = None,
) -> SiteSummary:
    """Render loaded catalog products as a static shop in ``out_dir``; unreadable photos are left out."""
    out_dir = Path(out_dir)
    prepare_out_dir(out_dir, overwrite)
    return write_site(out_dir, products, _copy_image, shop_name=shop_name, progress=progress)


def render_catalog(
    catalog: Path,
    out_dir: Path,
    *,
    shop_name: str = "Catalog Store",
    overwrite: bool = False,
    progress: Callable[[int], None] | None = None,
) -> SiteSummary:
    """Render a real catalog file as a static shop in ``out_dir``, with the demo shop's templates."""
    products = load_catalog(Path(catalog))
    return render_products(products, out_dir, shop_name=shop_name, overwrite=overwrite, progress=progress)
