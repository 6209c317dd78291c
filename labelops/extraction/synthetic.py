"""Synthetic product pages for training the candidate chooser: the demo shop's products (the
project's own catalog generator) shown through randomised templates.

Each page draws a language and currency (prices written by Babel in that locale), class names,
nesting depth, the order of title, price and buy button, and decoys: an old price struck through
or labelled "was", a per-unit price, an instalment, a mini-cart total in the header, related
products with their prices, and sometimes structured data that carries the list price instead of
the selling price. The truth is the catalog's own product, so every page is labelled for free.
"""

from __future__ import annotations

import html
import json
import random
from decimal import Decimal

LOCALES = (
    ("en_US", "USD", "Add to cart", "SKU", "Brand", "Was", "In stock", "Out of stock"),
    ("en_GB", "GBP", "Add to basket", "Product code", "Brand", "RRP", "In stock", "Out of stock"),
    ("de_DE", "EUR", "In den Warenkorb", "Art.-Nr.", "Marke", "statt", "Auf Lager", "Nicht verfügbar"),
    ("fr_FR", "EUR", "Ajouter au panier", "Référence", "Marque", "au lieu de", "En stock", "Épuisé"),
    ("pl_PL", "PLN", "Dodaj do koszyka", "Kod produktu", "Marka", "Cena regularna", "Dostępny", "Niedostępny"),
    ("it_IT", "EUR", "Aggiungi al carrello", "Codice", "Marca", "invece di", "Disponibile", "Esaurito"),
    ("nl_NL", "EUR", "In winkelwagen", "Artikelnummer", "Merk", "Van", "Op voorraad", "Uitverkocht"),
    ("sv_SE", "SEK", "Lägg i varukorgen", "Artikelnr", "Märke", "Ord. pris", "I lager", "Slutsåld"),
    ("ja_JP", "JPY", "カートに入れる", "品番", "ブランド", "通常価格", "在庫あり", "在庫切れ"),
    ("es_ES", "EUR", "Añadir al carrito", "Referencia", "Marca", "Antes", "En stock", "Agotado"),
)
PRICE_CLASSES = ("price", "product-price", "pdp-price", "amount", "current", "sale", "value", "c7", "money")
OLD_CLASSES = ("old-price", "was-price", "price-old", "strike", "regular-price", "list-price")
RELATED_CLASSES = ("related", "recommendations", "also-bought", "carousel", "upsell", "similar-products")


def _money(amount: Decimal, currency: str, locale: str) -> str:
    from babel.numbers import format_currency

    if currency == "JPY":
        amount = amount.to_integral_value()
    return format_currency(amount, currency, locale=locale)


def _wrap(rng: random.Random, inner: str) -> str:
    for _ in range(rng.randint(0, 3)):
        inner = f'<div class="{rng.choice(("box", "col", "wrap", "row", "inner", "x"))}">{inner}</div>'
    return inner


def synthetic_page(rng: random.Random, product, index: int) -> tuple[str, str, dict]:  # noqa: ANN001 - ShopProduct
    """``(html, url, truth)`` of one randomised page showing ``product``."""
    locale, currency, buy, sku_label, brand_label, was, in_stock, out_of_stock = rng.choice(LOCALES)
    lang = locale.replace("_", "-")
    price = Decimal(product.price)
    if currency == "JPY":
        price = (price * 150).to_integral_value()
    elif currency in ("SEK", "PLN"):
        price = (price * 10).quantize(Decimal("0.01"))
    old = (price * Decimal(rng.choice(("1.2", "1.25", "1.5", "2")))).quantize(price if currency == "JPY" else Decimal("0.01"))
    h = html.escape
    parts: dict[str, str] = {}
    parts["title"] = f"<h1 class=\"{rng.choice(('title', 'product-name', 'pdp-title', 'h1'))}\">{h(product.title)}</h1>"
    shown = f'<span class="{rng.choice(PRICE_CLASSES)}">{h(_money(price, currency, locale))}</span>'
    decoys = []
    if rng.random() < 0.5:
        style = rng.random()
        text = h(_money(old, currency, locale))
        if style < 0.33:
            decoys.append(f"<del>{text}</del>")
        elif style < 0.66:
            decoys.append(f'<span class="{rng.choice(OLD_CLASSES)}">{text}</span>')
        else:
            decoys.append(f"<span>{h(was)} {text}</span>")
    if rng.random() < 0.25:
        unit = (price / Decimal(rng.choice((4, 5, 10)))).quantize(Decimal("0.01"))
        decoys.append(f"<small>({h(_money(unit, currency, locale))} / 100 g)</small>")
    if rng.random() < 0.2:
        part = (price / 4).quantize(Decimal("0.01"))
        decoys.append(f"<small>4 × {h(_money(part, currency, locale))} / month</small>")
    rng.shuffle(decoys)
    before = rng.random() < 0.5
    parts["price"] = _wrap(rng, f'<div class="{rng.choice(("price-box", "offer", "buy-box", "pricing"))}">'
                                + ("".join(decoys) + shown if before else shown + "".join(decoys)) + "</div>")
    status = product.availability if rng.random() < 0.8 else "OutOfStock"
    stock = in_stock if status == "InStock" else out_of_stock
    disabled = " disabled" if status == "OutOfStock" else ""
    parts["buy"] = _wrap(rng, f'<p class="stock">{h(stock)}</p><button class="add-to-cart"{disabled}>{h(buy)}</button>')
    parts["codes"] = _wrap(rng, f"<p>{h(sku_label)}: {h(product.sku)}</p>"
                                + (f"<p>{h(brand_label)}: <a href=\"/b/{index}\">{h(product.brand)}</a></p>" if rng.random() < 0.7 else ""))
    order = ["title", "price", "buy", "codes"]
    if rng.random() < 0.5:
        order = ["title", "codes", "price", "buy"]
    main = "".join(parts[name] for name in order)
    cards = "".join(
        f'<div class="card"><a href="/p/{index}-{k}">Other item {k}</a>'
        f'<span class="{rng.choice(PRICE_CLASSES)}">{h(_money((price * Decimal(rng.uniform(0.3, 2.5))).quantize(Decimal("0.01")), currency, locale))}</span>'
        f'<button class="add-to-cart">{h(buy)}</button></div>'
        for k in range(rng.randint(2, 6)))
    related = f'<section class="{rng.choice(RELATED_CLASSES)}"><h2>…</h2>{cards}</section>'
    header = (f'<header><nav><a href="/">Home</a></nav><div class="minicart"><span class="{rng.choice(PRICE_CLASSES)}">'
              f"{h(_money(Decimal(0), currency, locale))}</span></div></header>")
    head = ""
    kind = rng.random()
    if kind < 0.35:
        offer_price = str(old if kind < 0.08 and decoys else price)  # sometimes the list price: a decoy in the markup
        data = {"@context": "https://schema.org", "@type": "Product", "name": product.title, "sku": product.sku,
                "brand": {"@type": "Brand", "name": product.brand},
                "offers": {"@type": "Offer", "price": offer_price, "priceCurrency": currency,
                           "availability": f"https://schema.org/{status}"}}
        head = f'<script type="application/ld+json">{json.dumps(data)}</script>'
    body = header + f"<main>{_wrap(rng, main)}</main>" + (related if rng.random() < 0.85 else "")
    page = f'<!DOCTYPE html><html lang="{lang}"><head><title>{h(product.title)}</title>{head}</head><body>{body}</body></html>'
    url = f"https://synthetic-{index % 7}.example/p/{product.slug}"
    truth = {"price": [str(price)], "sku": [product.sku], "brand": [product.brand], "availability": [status],
             "currency": [currency], "url": url}
    return page, url, truth


def synthetic_pages(count: int, seed: int = 0) -> list[tuple[str, str, dict]]:
    """``count`` randomised pages of demo-shop products: ``(html, url, truth)``."""
    from labelops.shop.catalog import demo_products

    rng = random.Random(seed)
    products = [p for p in demo_products(max(count, 1) * 2, seed=seed) if p.price and p.sku and p.brand and p.availability]
    return [synthetic_page(rng, product, i) for i, product in enumerate(products[:count])]
