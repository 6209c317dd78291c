"""The synthetic demo catalog: counts, defects, descriptions, images and determinism."""

from __future__ import annotations

import json
import re
from collections import Counter
from decimal import Decimal
from pathlib import Path

import pytest
from PIL import Image

from labelops.shop import DEFECT_KINDS, demo_products, generate_demo_shop
from labelops.shop.catalog import CATEGORIES, gtin13
from labelops.shop.images import COLOURS


def _files(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def test_counts(demo_shop: Path, demo_catalog: list[dict]) -> None:
    assert len(demo_catalog) == 500
    assert len(list((demo_shop / "product").glob("*.html"))) == 500
    leaves = Counter(tuple(row["category_path"]) for row in demo_catalog)
    assert len(leaves) >= 6
    assert all(len(path) == 2 for path in leaves)
    assert min(leaves.values()) >= 30
    assert {row["url"] for row in demo_catalog} == {f"/product/{p.name}" for p in (demo_shop / "product").iterdir()}


def test_defects_cover_every_kind(demo_shop: Path, demo_catalog: list[dict]) -> None:
    truth = json.loads((demo_shop / "_catalog" / "defects.json").read_text())
    kinds = Counter(entry["defect"] for entry in truth.values())
    assert set(kinds) == set(DEFECT_KINDS)
    assert sum(kinds.values()) == 15  # 3% of 500
    assert max(kinds.values()) - min(kinds.values()) <= 1
    assert {row["url"]: row["defect"] for row in demo_catalog if row["defect"]} == {
        url: entry["defect"] for url, entry in truth.items()
    }


def test_defects_are_what_they_say(demo_shop: Path, demo_catalog: list[dict]) -> None:
    skus = Counter(row["sku"] for row in demo_catalog)
    copied = {row["sku"] for row in demo_catalog if row["defect"] == "duplicate_sku"}
    for row in demo_catalog:
        page = (demo_shop / row["url"].lstrip("/")).read_text()
        kind = row["defect"]
        if kind == "missing_price":
            assert row["price"] is None
            assert '"price":' not in page and 'itemprop="price"' not in page and "Price on request" in page
        elif kind == "absurd_price":
            assert Decimal(row["price"]) in (Decimal("9999999.00"), Decimal(0))
        elif kind == "duplicate_sku":
            assert skus[row["sku"]] == 2
        elif kind == "broken_image":
            assert row["image"] and not (demo_shop / row["image"].lstrip("/")).exists()
            assert f'src="{row["image"]}"' in page
        elif kind == "empty_title":
            assert row["title"] == ""
            assert "<h1></h1>" in page or '<h1 itemprop="name"></h1>' in page
        elif kind == "malformed_jsonld":
            assert row["markup"] != "microdata"
        else:
            assert kind is None
            assert skus[row["sku"]] == (2 if row["sku"] in copied else 1)
            assert row["title"] and row["price"] and 1 <= Decimal(row["price"]) < 2000
            assert (demo_shop / row["image"].lstrip("/")).is_file()


def test_fields_look_real(demo_catalog: list[dict]) -> None:
    good = [row for row in demo_catalog if not row["defect"]]
    gtins = [row["gtin"] for row in good if row["gtin"]]
    assert len(gtins) > 0.75 * len(good)
    assert all(len(g) == 13 and gtin13(g[:12]) == g for g in gtins)
    currencies = Counter(row["currency"] for row in good)
    assert currencies["EUR"] + currencies["USD"] + currencies["GBP"] > 0.85 * len(good)
    assert {row["availability"] for row in good} == {"InStock", "OutOfStock"}
    rated = [row for row in good if row["rating"] is not None]
    assert len(rated) > 0.6 * len(good)
    assert all(1 <= row["rating"] <= 5 and row["review_count"] >= 1 for row in rated)
    assert all(row["brand"] and {"color", "material"} <= set(row["attributes"]) for row in good)


def test_prices_fit_their_category(demo_catalog: list[dict]) -> None:
    def median_eur(leaf: str) -> Decimal:
        prices = sorted(
            Decimal(r["price"])
            for r in demo_catalog
            if r["category_path"][1] == leaf and r["currency"] == "EUR" and not r["defect"]
        )
        return prices[len(prices) // 2]

    assert median_eur("Mugs") < median_eur("Sneakers") < median_eur("Watches")


def test_descriptions_state_attributes_in_varied_wording(demo_catalog: list[dict]) -> None:
    good = [row for row in demo_catalog if not row["defect"]]
    for row in good:
        sentences = re.split(r"(?<=[.!?])\s+", row["description"])
        assert 3 <= len(sentences) <= 5, row["description"]
        assert row["brand"] in row["description"]
        for value in row["attributes"].values():
            assert value in row["description"], (value, row["description"])
    assert len({row["description"] for row in good}) == len(good)
    openings = Counter(" ".join(row["description"].split()[:2]) for row in good)
    assert len(openings) >= 8
    # the sentence that states colour and material comes in several wordings
    wordings = set()
    for row in good:
        colour, material = row["attributes"]["color"], row["attributes"]["material"]
        for sentence in re.split(r"(?<=[.!?])\s+", row["description"]):
            if colour in sentence and material in sentence.lower():
                wordings.add(sentence.lower().replace(colour, "C").replace(material, "M").strip())
    assert len(wordings) >= 5


def test_images_show_category_colour(demo_shop: Path, demo_catalog: list[dict]) -> None:
    checked = 0
    for row in demo_catalog[:80]:
        if row["defect"] == "broken_image" or row["attributes"]["color"] in ("white", "grey", "beige"):
            continue
        with Image.open(demo_shop / row["image"].lstrip("/")) as image:
            assert image.format == "JPEG" and min(image.size) >= 64
            data = image.convert("RGB").tobytes()
        pixels = [data[i : i + 3] for i in range(0, len(data), 3)]
        fill = COLOURS[row["attributes"]["color"]]
        close = sum(1 for p in pixels if sum((a - b) ** 2 for a, b in zip(p, fill, strict=True)) < 40**2)
        assert close / len(pixels) > 0.05, row
        checked += 1
    assert checked > 40


def test_same_seed_same_bytes(tmp_path: Path) -> None:
    generate_demo_shop(tmp_path / "a", products=120, seed=7)
    generate_demo_shop(tmp_path / "b", products=120, seed=7)
    generate_demo_shop(tmp_path / "c", products=120, seed=8)
    a, b, c = _files(tmp_path / "a"), _files(tmp_path / "b"), _files(tmp_path / "c")
    assert a == b
    assert a != c


def test_products_do_not_depend_on_shop_size() -> None:
    small, large = demo_products(50), demo_products(200)
    same = [s for s in small if not s.defect and not large[s.n - 1].defect]
    assert same and all(s == large[s.n - 1] for s in same)


def test_every_category_has_a_shape_and_known_colours() -> None:
    from labelops.shop.images import SHAPES

    assert len({spec.shape for spec in CATEGORIES}) == len(CATEGORIES)
    assert all(spec.shape in SHAPES and set(spec.colours) <= set(COLOURS) for spec in CATEGORIES)


def test_out_dir_must_be_empty(tmp_path: Path) -> None:
    generate_demo_shop(tmp_path / "shop", products=5)
    with pytest.raises(FileExistsError):
        generate_demo_shop(tmp_path / "shop", products=5)
    summary = generate_demo_shop(tmp_path / "shop", products=6, overwrite=True)
    assert summary.products == 6 and len(list((tmp_path / "shop" / "product").iterdir())) == 6
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "notes.txt").write_text("keep me")
    with pytest.raises(FileExistsError):
        generate_demo_shop(tmp_path / "other", products=5, overwrite=True)
    assert (tmp_path / "other" / "notes.txt").exists()
