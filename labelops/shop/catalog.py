"""The synthetic demo catalog: products, descriptions in varied wording, and realistic defects.

Product ``n`` depends only on the seed and ``n`` (its own random generator), so a shop of 500
and one of 10,000 share their first 500 products; which products are defective depends on the
shop size. :func:`generate_demo_shop` writes the whole site.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

from PIL import Image

from labelops.shop.images import draw_product
from labelops.shop.site import (
    DEFECT_KINDS,
    Defect,
    ShopProduct,
    SiteSummary,
    default_markup,
    prepare_out_dir,
    slugify,
    write_site,
)

DEMO_SHOP_NAME = "Labelops Demo Store"
DEFECT_SHARE = 0.03
ABSURD_PRICES = ("9999999.00", "0.00")

# currency, share of products, rate from EUR
_CURRENCIES = (("EUR", 0.5, 1.0), ("USD", 0.28, 1.08), ("GBP", 0.17, 0.86), ("CHF", 0.05, 0.96))
_PRICE_ENDINGS = ((".99", 0.6), (".00", 0.2), (".50", 0.1), (".95", 0.1))
_MODELS = tuple(
    "Aria Nova Terra Pulse Drift Atlas Luna Echo Vista Orbit Zephyr Juno "
    "Kite Mesa Fjord Sol Ember Haven Alto Cove Ridge Bloom Flint Harbor".split()
)
_ADJECTIVES = ("versatile", "well-made", "thoughtfully designed", "dependable", "good-looking", "practical")

_INTROS = (
    "Meet the {model} {noun} from {brand}.",
    "The {brand} {model} is a {adj} {noun}.",
    "{brand} made the {model} {noun} for everyday use.",
    "This {noun} comes from the {model} line by {brand}.",
    "Say hello to the {model}, a {adj} {noun} by {brand}.",
    "If you want a {adj} {noun}, the {model} by {brand} is a great choice.",
)
_COLOUR_MATERIAL = (
    "It is made of {material} and finished in {color}.",
    "Crafted from {material}, it comes in {color}.",
    "The {color} {material} looks smart and wears well.",
    "You get it in {color}, made from {material}.",
    "A {color} shade and a {material} build give it a clean look.",
    "Its colour is {color} and the main material is {material}.",
)
_CLOSINGS = (
    "A reliable pick for years to come.",
    "Order now and enjoy free returns.",
    "It is a simple way to upgrade your everyday kit.",
    "Check the spec table below for all the details.",
    "Treat yourself or someone you love.",
)


@dataclass(frozen=True)
class CategorySpec:
    """One demo category: its path, vocabulary, price range (EUR) and attribute pools.

    ``sentences`` each state every attribute in ``attributes`` (named with ``_`` for spaces).
    """

    path: tuple[str, str]
    shape: str
    noun: str
    title_noun: str
    code: str
    price_range: tuple[float, float]
    brands: tuple[str, ...]
    materials: tuple[str, ...]
    colours: tuple[str, ...]
    attributes: dict[str, tuple[str, ...]]
    sentences: tuple[str, ...]
    uses: tuple[str, ...]


CATEGORIES: tuple[CategorySpec, ...] = (
    CategorySpec(
        path=("Clothing", "T-Shirts"),
        shape="tshirt",
        noun="t-shirt",
        title_noun="T-Shirt",
        code="TSH",
        price_range=(12, 45),
        brands=("Northwind", "Loomcraft", "Basic Theory", "Kova", "Seabright", "Urbanfolk"),
        materials=("cotton", "organic cotton", "linen", "cotton blend", "merino wool", "polyester"),
        colours=("black", "white", "grey", "navy", "red", "green", "olive", "yellow", "pink", "blue", "beige", "teal"),
        attributes={
            "size": ("XS", "S", "M", "L", "XL", "XXL"),
            "fit": ("slim", "regular", "relaxed", "oversized"),
            "sleeve length": ("short", "long", "three-quarter"),
        },
        sentences=(
            "It has a {fit} fit with {sleeve_length} sleeves, and this one is size {size}.",
            "Cut for a {fit} fit, the shirt features {sleeve_length} sleeves; size {size}.",
            "This listing is for size {size}: a {fit} cut with {sleeve_length} sleeves.",
            "Choose it for the {fit} fit and {sleeve_length} sleeves, here in size {size}.",
        ),
        uses=(
            "It layers easily under a jacket or works on its own.",
            "Wash it cold and it keeps its shape.",
            "Great for weekends, travel and the gym.",
        ),
    ),
    CategorySpec(
        path=("Clothing", "Sneakers"),
        shape="sneaker",
        noun="sneaker",
        title_noun="Sneakers",
        code="SNK",
        price_range=(45, 180),
        brands=("Stridewell", "Kova", "Pacer & Co", "Urbanfolk", "Trailmark", "Lumen"),
        materials=("leather", "canvas", "suede", "knit mesh", "recycled polyester"),
        colours=("white", "black", "grey", "navy", "red", "green", "blue", "beige", "pink", "orange", "yellow"),
        attributes={
            "size": tuple(f"EU {s}" for s in range(36, 47)),
            "closure": ("laces", "hook-and-loop straps", "an elastic slip-on opening"),
            "sole": ("rubber", "foam", "gum rubber"),
        },
        sentences=(
            "The pair is size {size}, closes with {closure} and sits on a {sole} sole.",
            "Expect a {sole} sole and {closure}; this pair is {size}.",
            "Size {size} with {closure} and a grippy {sole} sole.",
            "A {sole} sole and {closure} keep you moving, in size {size}.",
        ),
        uses=(
            "They are made for city walks and long days on your feet.",
            "Pair them with jeans or shorts.",
            "A cushioned insole adds comfort from the first wear.",
        ),
    ),
    CategorySpec(
        path=("Home & Kitchen", "Mugs"),
        shape="mug",
        noun="mug",
        title_noun="Mug",
        code="MUG",
        price_range=(6, 28),
        brands=("Claywork", "Hearth & Kiln", "Morning Ritual", "Studio Fen", "Potter's Lane"),
        materials=("ceramic", "stoneware", "porcelain", "enamel", "bone china"),
        colours=("white", "black", "blue", "red", "green", "yellow", "teal", "pink", "grey", "beige", "navy", "orange"),
        attributes={
            "capacity": ("250 ml", "300 ml", "350 ml", "400 ml", "450 ml"),
            "finish": ("glossy", "matte", "speckled"),
        },
        sentences=(
            "It holds {capacity} and has a {finish} finish.",
            "With a {capacity} capacity and a {finish} glaze, it suits tea and coffee alike.",
            "The {finish} surface feels good in the hand, and it takes {capacity} of your favourite drink.",
            "Capacity is {capacity}; the finish is {finish}.",
        ),
        uses=(
            "The handle is comfortable even for big hands.",
            "It makes a thoughtful gift for coffee lovers.",
            "Perfect for slow mornings at home or at the office.",
        ),
    ),
    CategorySpec(
        path=("Home & Kitchen", "Lamps"),
        shape="lamp",
        noun="lamp",
        title_noun="Lamp",
        code="LMP",
        price_range=(25, 220),
        brands=("Lumen", "Brightloft", "Nordlys", "Studio Fen", "Halo Works"),
        materials=("metal", "brushed brass", "oak", "glass", "ceramic", "concrete"),
        colours=("black", "white", "grey", "green", "blue", "beige", "yellow", "red", "navy", "teal", "pink"),
        attributes={
            "style": ("desk", "table", "bedside"),
            "socket": ("E27", "E14", "GU10"),
            "power": ("5 W", "7 W", "9 W", "12 W"),
        },
        sentences=(
            "This {style} lamp takes one {socket} bulb of up to {power}.",
            "Designed as a {style} lamp, it uses a {socket} socket rated for {power}.",
            "It is a {style} lamp with a {socket} socket and a maximum of {power}.",
            "Rated {power} with a {socket} fitting, it works well as a {style} lamp.",
        ),
        uses=(
            "It casts a warm, even light for reading.",
            "The shade directs light where you need it.",
            "A simple switch on the cable turns it on and off.",
        ),
    ),
    CategorySpec(
        path=("Home & Kitchen", "Chairs"),
        shape="chair",
        noun="chair",
        title_noun="Chair",
        code="CHR",
        price_range=(60, 480),
        brands=("Oakhaven", "Sitwell", "Nordlys", "Frame & Form", "Studio Fen"),
        materials=("oak", "walnut", "beech", "steel", "rattan", "recycled plastic"),
        colours=("black", "white", "grey", "brown", "beige", "green", "blue", "red", "yellow", "navy", "olive"),
        attributes={
            "style": ("dining", "office", "lounge", "kitchen"),
            "max load": ("100 kg", "120 kg", "150 kg"),
            "seat height": ("44 cm", "46 cm", "48 cm", "65 cm"),
        },
        sentences=(
            "It is a {style} chair with a seat height of {seat_height}, supporting up to {max_load}.",
            "This {style} chair carries {max_load} and its seat sits {seat_height} off the floor.",
            "Built as a {style} chair, it holds up to {max_load} at a seat height of {seat_height}.",
            "With a {seat_height} seat and a {max_load} load limit, it makes a sturdy {style} chair.",
        ),
        uses=(
            "The backrest is shaped to support good posture.",
            "Felt pads on the feet protect your floors.",
            "It stacks away neatly when you need the space.",
        ),
    ),
    CategorySpec(
        path=("Bags & Accessories", "Backpacks"),
        shape="backpack",
        noun="backpack",
        title_noun="Backpack",
        code="BPK",
        price_range=(30, 160),
        brands=("Trailmark", "Packhaus", "Northwind", "Roamer", "Kova"),
        materials=("nylon", "canvas", "recycled polyester", "leather", "waxed cotton"),
        colours=(
            "black",
            "grey",
            "navy",
            "green",
            "olive",
            "red",
            "blue",
            "beige",
            "brown",
            "yellow",
            "orange",
            "teal",
        ),
        attributes={
            "volume": ("15 L", "20 L", "25 L", "30 L", "35 L"),
            "laptop size": ("13-inch", "15-inch", "16-inch", "17-inch"),
            "pockets": ("2", "3", "4", "6"),
        },
        sentences=(
            "It offers {volume} of space, a padded sleeve for a {laptop_size} laptop and {pockets} pockets.",
            "Inside you get {volume}, {pockets} pockets and room for a {laptop_size} laptop.",
            "With {pockets} pockets and {volume} capacity, it also fits a {laptop_size} laptop.",
            "The {volume} main compartment holds a {laptop_size} laptop, and {pockets} pockets keep small things tidy.",
        ),
        uses=(
            "Padded straps keep heavy loads comfortable.",
            "It is ready for the commute as well as weekend trips.",
            "A water-repellent finish protects your things from light rain.",
        ),
    ),
    CategorySpec(
        path=("Bags & Accessories", "Watches"),
        shape="watch",
        noun="watch",
        title_noun="Watch",
        code="WCH",
        price_range=(60, 650),
        brands=("Tidewell", "Meridian", "Halden", "Chrono Bay", "Nordlys"),
        materials=("stainless steel", "titanium", "aluminium", "ceramic", "brass"),
        colours=("black", "white", "navy", "blue", "green", "red", "grey", "beige", "brown", "teal"),
        attributes={
            "movement": ("quartz", "automatic", "solar"),
            "water resistance": ("3 ATM", "5 ATM", "10 ATM", "20 ATM"),
            "case size": ("36 mm", "38 mm", "40 mm", "42 mm", "44 mm"),
            "strap": ("leather", "steel mesh", "silicone", "nylon"),
        },
        sentences=(
            "A {movement} movement sits in a {case_size} case, water resistant to {water_resistance}, "
            "on a {strap} strap.",
            "It runs on a {movement} movement, measures {case_size} across and comes on a {strap} strap; "
            "water resistance is {water_resistance}.",
            "The {case_size} case is rated {water_resistance} and houses a {movement} movement; the strap is {strap}.",
            "Expect {water_resistance} water resistance, a {movement} movement, a {case_size} case "
            "and a {strap} strap.",
        ),
        uses=(
            "Its clean dial is easy to read at a glance.",
            "It dresses up or down with ease.",
            "Scratch-resistant glass keeps the dial clear.",
        ),
    ),
    CategorySpec(
        path=("Electronics", "Headphones"),
        shape="headphones",
        noun="headset",
        title_noun="Headphones",
        code="HPH",
        price_range=(20, 380),
        brands=("Soundry", "Aurelio Audio", "Pulsewave", "Lumen", "Quietline"),
        materials=("plastic", "aluminium", "recycled plastic", "steel"),
        colours=("black", "white", "grey", "navy", "blue", "red", "pink", "green", "beige", "teal"),
        attributes={
            "type": ("over-ear", "on-ear"),
            "connectivity": ("Bluetooth 5.0", "Bluetooth 5.3"),
            "battery life": ("20 hours", "30 hours", "40 hours", "60 hours"),
        },
        sentences=(
            "These {type} headphones connect over {connectivity} and last {battery_life} on a charge.",
            "Battery life reaches {battery_life}, and the {type} design pairs via {connectivity}.",
            "Expect {battery_life} of playback from this {type} set, with {connectivity} for a stable link.",
            "Pairing uses {connectivity}; the {type} cups and {battery_life} of battery make long listening easy.",
        ),
        uses=(
            "Soft ear cushions keep them comfortable for hours.",
            "They fold flat to fit in a bag.",
            "A built-in microphone handles calls.",
        ),
    ),
)
_SPECS_BY_PATH: dict[tuple[str, ...], CategorySpec] = {spec.path: spec for spec in CATEGORIES}


def gtin13(body: str) -> str:
    """A GTIN-13 from its first 12 digits, with the check digit appended."""
    total = sum(int(d) * (3 if i % 2 else 1) for i, d in enumerate(body))
    return body + str((10 - total % 10) % 10)


def _weighted(rng: random.Random, options: tuple[tuple, ...]) -> tuple:
    """Pick the first element of one of ``options`` by the weight in its second element."""
    return rng.choices(options, weights=[o[1] for o in options])[0]


def _price(rng: random.Random, spec: CategorySpec, rate: float) -> str:
    """A plausible shelf price in the category's range, converted and rounded to a price ending."""
    low, high = spec.price_range
    euros = low * (high / low) ** rng.random()  # log-uniform: cheap items are more common
    whole = max(1, int(euros * rate))
    return f"{whole}{_weighted(rng, _PRICE_ENDINGS)[0]}"


def _description(rng: random.Random, spec: CategorySpec, brand: str, model: str, attributes: dict[str, str]) -> str:
    """Three to five sentences stating brand, colour, material and every category attribute."""
    fields = {key.replace(" ", "_"): value for key, value in attributes.items()}
    fields.update(brand=brand, model=model, noun=spec.noun, adj=rng.choice(_ADJECTIVES))
    body = [rng.choice(_COLOUR_MATERIAL), rng.choice(spec.sentences)]
    rng.shuffle(body)
    sentences = [rng.choice(_INTROS), *body]
    if rng.random() < 0.5:
        sentences.append(rng.choice(spec.uses))
    if rng.random() < 0.5:
        sentences.append(rng.choice(_CLOSINGS))
    return " ".join(sentence.format(**fields) for sentence in sentences)


def _title(rng: random.Random, spec: CategorySpec, brand: str, model: str, attributes: dict[str, str]) -> str:
    """A product name in one of a few common shapes."""
    colour = attributes["color"].capitalize()
    material = attributes["material"].title()
    return rng.choice(
        (
            f"{brand} {model} {spec.title_noun}",
            f"{brand} {model} {spec.title_noun} - {colour}",
            f"{model} {material} {spec.title_noun} by {brand}",
            f"{brand} {model} {colour} {spec.title_noun}",
        )
    )


def demo_product(n: int, seed: int = 0) -> ShopProduct:
    """The ``n``-th (1-based) product of the demo catalog for ``seed``, before any defect."""
    rng = random.Random(f"labelops-shop:{seed}:{n}")
    spec = rng.choice(CATEGORIES)
    brand, model = rng.choice(spec.brands), rng.choice(_MODELS)
    attributes = {"color": rng.choice(spec.colours), "material": rng.choice(spec.materials)}
    attributes.update({name: rng.choice(values) for name, values in spec.attributes.items()})
    currency, _, rate = _weighted(rng, _CURRENCIES)
    title = _title(rng, spec, brand, model, attributes)
    slug = f"{slugify(title)}-{n}"
    rated = rng.random() < 0.8
    return ShopProduct(
        n=n,
        slug=slug,
        title=title,
        description=_description(rng, spec, brand, model, attributes),
        category_path=spec.path,
        price=_price(rng, spec, rate),
        currency=currency,
        sku=f"{spec.code}-{n:06d}",
        gtin=gtin13(f"40{(n * 104729 + seed * 7919) % 10**10:010d}") if rng.random() < 0.85 else None,
        brand=brand,
        availability="InStock" if rng.random() < 0.85 else "OutOfStock",
        rating=round(rng.uniform(2.5, 5.0), 1) if rated else None,
        review_count=max(1, int(rng.expovariate(1 / 150))) if rated else None,
        attributes=attributes,
        image=f"/images/{slug}.jpg",
        markup=default_markup(n),
    )


def _with_defect(product: ShopProduct, kind: Defect, previous: ShopProduct, k: int) -> ShopProduct:
    """``product`` broken in the way ``kind`` names (``previous`` lends its SKU; ``k`` varies the break)."""
    if kind == "missing_price":
        return replace(product, price=None, currency=None, defect=kind)
    if kind == "malformed_jsonld":
        markup = product.markup if product.markup != "microdata" else "jsonld"
        return replace(product, markup=markup, defect=kind)
    if kind == "duplicate_sku":
        return replace(product, sku=previous.sku, defect=kind)
    if kind == "absurd_price":
        return replace(product, price=ABSURD_PRICES[k % len(ABSURD_PRICES)], defect=kind)
    if kind == "broken_image":
        return replace(product, defect=kind)
    if kind == "empty_title":
        return replace(product, title="", defect=kind)
    raise ValueError(f"unknown defect kind {kind!r}")


def demo_products(count: int = 500, seed: int = 0) -> list[ShopProduct]:
    """The demo catalog: ``count`` products, about 3% of them defective (every kind in turn)."""
    products = [demo_product(n, seed) for n in range(1, count + 1)]
    defect_count = min(count - 1, round(count * DEFECT_SHARE)) if count > 1 else 0
    chosen = sorted(random.Random(f"labelops-shop-defects:{seed}:{count}").sample(range(1, count), defect_count))
    for k, index in enumerate(chosen):
        kind = DEFECT_KINDS[k % len(DEFECT_KINDS)]
        products[index] = _with_defect(products[index], kind, products[index - 1], k // len(DEFECT_KINDS))
    return products


def demo_image_maker(seed: int = 0) -> Callable[[ShopProduct], Image.Image | None]:
    """Draws a demo product's photo from its category and colour; none for ``broken_image`` products."""

    def make(product: ShopProduct) -> Image.Image | None:
        if product.defect == "broken_image":
            return None
        shape = _SPECS_BY_PATH[product.category_path].shape
        return draw_product(shape, product.attributes["color"], seed=f"labelops-shop-image:{seed}:{product.n}")

    return make


def generate_demo_shop(
    out_dir: Path,
    products: int = 500,
    seed: int = 0,
    *,
    overwrite: bool = False,
    progress: Callable[[int], None] | None = None,
) -> SiteSummary:
    """Write the demo shop (``products`` products for ``seed``) as a static site into ``out_dir``."""
    if products < 1:
        raise ValueError("a demo shop needs at least one product")
    out_dir = Path(out_dir)
    prepare_out_dir(out_dir, overwrite)
    catalog = demo_products(products, seed)
    return write_site(out_dir, catalog, demo_image_maker(seed), shop_name=DEMO_SHOP_NAME, progress=progress)
