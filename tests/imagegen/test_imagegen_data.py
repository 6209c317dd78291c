"""Image loading: pad to square on white, classes by category, missing and unreadable images skipped and counted."""

from __future__ import annotations

import io

import pytest
import torch
from PIL import Image

from labelops.imagegen.data import (ImageDataModule, _is_file, ImageSet, build_image_set, category_of, class_of,
                                    colour_of, colour_vocabulary, denormalise, grid_image, normalise, open_image,
                                    pick_level, pil_to_uint8, to_square)
from labelops.storage import DataRoot


def jpeg(colour: tuple[int, int, int], size: tuple[int, int] = (40, 20)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, colour).save(buffer, format="JPEG", quality=95)
    return buffer.getvalue()


def test_to_square_pads_on_white_and_resizes():
    square = pil_to_uint8(to_square(Image.new("RGB", (40, 20), (200, 0, 0)), 16))
    assert square.shape == (3, 16, 16)
    assert square[:, 0, 8].tolist() == [255, 255, 255]  # the top band is padding
    assert square[:, 8, 8].tolist() == [200, 0, 0]
    transparent = Image.new("RGBA", (10, 10), (0, 0, 0, 0))
    assert pil_to_uint8(to_square(transparent, 4)).min() == 255  # transparency becomes white


def test_normalise_round_trip_and_grid():
    pixels = torch.randint(0, 256, (6, 3, 8, 8), dtype=torch.uint8)
    assert torch.equal(denormalise(normalise(pixels)), pixels)
    assert normalise(pixels).min() >= -1 and normalise(pixels).max() <= 1
    grid = grid_image(pixels, per_row=3, padding=2)
    assert grid.size == (3 * 10 + 2, 2 * 10 + 2)


def test_open_image_accepts_bytes_base64_and_paths(tmp_path):
    import base64

    data = jpeg((0, 0, 200))
    (tmp_path / "a.jpg").write_bytes(data)
    for source in (data, base64.b64encode(data).decode(), str(tmp_path / "a.jpg")):
        assert open_image(source).size == (40, 20)
    noise = Image.frombytes("RGB", (64, 64), bytes(range(256)) * 48)
    buffer = io.BytesIO()
    noise.save(buffer, format="PNG")
    assert open_image(base64.b64encode(buffer.getvalue()).decode()).size == (64, 64)
    assert not _is_file("A" * 300)  # too long a name for a file: no OSError, it is base64


def test_levels():
    assert category_of(["Clothing", "T-Shirts"]) == "Clothing"
    assert category_of(["Books", "Poetry"], 1) == "Poetry"
    assert category_of([], 0) is None
    assert pick_level([["Books", "Poetry"]] * 2 + [["Books", "Travel"]] * 2 + [None]) == 1  # all under "Books"
    # the deepest level at which products differ and the kept classes hold most products
    assert pick_level([["Clothing", "Shirts"]] * 3 + [["Home", "Mugs"]] * 3) == 1
    assert pick_level([["Clothing", "Shirts", "Polo"]] * 3 + [["Home", "Mugs", "Tall"]] * 3) == 2
    assert pick_level([["Clothing", "Shirts", "Polo"]] * 3 + [["Home", "Mugs", "Tall"]] * 3, max_level=1) == 1
    # one product per sub-category: the sub-categories are rare, the top level is kept
    assert pick_level([["Clothing", f"S{i}"] for i in range(4)] + [["Home", f"H{i}"] for i in range(4)]) == 0
    # level 2 holds only a minority (most paths stop at level 1): level 1
    assert pick_level([["A", "X"]] * 5 + [["B", "Y"]] * 5 + [["A", "X", "1"]] * 2 + [["B", "Y", "2"]] * 2) == 1


def test_class_of_maps_a_listing_to_its_class():
    classes = ["Clothing > Sneakers", "Clothing > T-Shirts", "Home & Kitchen > Mugs", "Toys"]
    assert class_of(["Clothing", "T-Shirts"], classes) == "Clothing > T-Shirts"
    assert class_of(["clothing", "t-shirts", "Polo"], classes) == "Clothing > T-Shirts"  # the longest prefix
    assert class_of(["Toys", "Robots"], classes) == "Toys"
    assert class_of(["Clothing"], classes) == "Clothing > Sneakers"  # the top level only: the first sub-class
    frequency = {"Clothing > Sneakers": 3, "Clothing > T-Shirts": 9}
    assert class_of(["Clothing"], classes, frequency) == "Clothing > T-Shirts"  # … or the most frequent
    assert class_of(["Garden", "Tools"], classes) is None and class_of(None, classes) is None
    assert class_of(["Clothing", "T-Shirts"], ["Clothing", "Home"]) == "Clothing"  # a model of top-level classes


def test_colours():
    assert colour_of({"color": " Navy  Blue "}) == "navy blue" and colour_of({"Colour": "Red"}) == "red"
    assert colour_of([("Brand", "X"), ("Color", "Black")]) == "black"  # Arrow's map: a list of pairs
    assert colour_of({"material": "cotton"}) is None and colour_of(None) is None
    assert colour_vocabulary(["red"] * 3 + ["blue"] * 5 + ["teal"] * 2 + [None]) == ["blue", "red"]
    assert colour_vocabulary(["a"] * 5 + ["b"] * 4 + ["c"] * 3, max_colours=2) == ["a", "b"]


def test_missing_and_unreadable_images_are_counted_and_skipped(tmp_path):
    root = DataRoot(str(tmp_path))
    with root.open("images/red.jpg", "wb") as handle:
        handle.write(jpeg((220, 0, 0)))
    with root.open("images/blue.jpg", "wb") as handle:
        handle.write(jpeg((0, 0, 220)))
    with root.open("images/broken.jpg", "wb") as handle:
        handle.write(b"\xff\xd8 this is not a jpeg")
    with root.open("images/truncated.jpg", "wb") as handle:
        handle.write(jpeg((0, 220, 0))[:60])
    rows = [
        {"listing_id": "a", "category_path": ["Clothing", "Shirts"], "images": ["images/red.jpg"]},
        {"listing_id": "b", "category_path": ["Home"], "images": ["images/blue.jpg"]},
        {"listing_id": "c", "category_path": ["Home"], "images": ["images/blue.jpg"]},
        {"listing_id": "d", "category_path": ["Home"], "images": ["images/not-downloaded.jpg"]},
        {"listing_id": "e", "category_path": ["Home"], "images": []},
        {"listing_id": "f", "category_path": ["Home"], "images": ["images/broken.jpg"]},
        {"listing_id": "g", "category_path": ["Clothing"], "images": ["images/truncated.jpg"]},
        {"listing_id": "h", "category_path": [], "images": ["images/red.jpg"]},
        {"listing_id": "i", "category_path": ["Toys"], "images": ["images/red.jpg"]},  # one image: a rare class
    ]
    image_set = build_image_set(rows, root, size=8, min_class_images=2)
    assert image_set.skipped == {"no_category": 1, "missing": 2, "unreadable": 2, "rare_category": 2}
    assert image_set.classes == ["Home"] and image_set.listing_ids == ["b", "c"]
    assert image_set.pixels.shape == (2, 3, 8, 8) and image_set.pixels.dtype == torch.uint8
    assert image_set.pixels[0, 2].float().mean() > 150  # blue
    counts = image_set.counts()
    assert counts["skipped_missing"] == 2 and counts["skipped_unreadable"] == 2 and counts["classes"] == 1

    image_set = build_image_set(rows, root, size=8, min_class_images=1)
    assert image_set.classes == ["Clothing", "Home", "Toys"]
    assert image_set.skipped["rare_category"] == 0

    image_set.save(tmp_path / "images.pt")
    again = ImageSet.load(tmp_path / "images.pt")
    assert again.listing_ids == image_set.listing_ids and torch.equal(again.pixels, image_set.pixels)
    data = ImageDataModule(tmp_path / "images.pt", batch_size=2)
    data.setup()
    pixels, labels, colours = next(iter(data.train_dataloader()))
    assert pixels.dtype == torch.uint8 and labels.dtype == torch.long and colours.tolist() == [-1, -1]


def test_sub_categories_and_colours_become_labels(tmp_path):
    root = DataRoot(str(tmp_path))
    with root.open("images/x.jpg", "wb") as handle:
        handle.write(jpeg((1, 2, 3)))
    rows = [{"listing_id": f"{sub}{colour}{i}", "category_path": ["Clothing", sub], "images": ["images/x.jpg"],
             "attributes": {"color": colour}}
            for sub, colour, n in (("Shirts", "Red", 3), ("Shirts", "Blue", 3), ("Shoes", "Red", 2), ("Shoes", "Gold", 1))
            for i in range(n)]
    rows.append({"listing_id": "plain", "category_path": ["Clothing", "Shoes"], "images": ["images/x.jpg"]})
    image_set = build_image_set(rows, root, size=8)
    assert image_set.level == 1 and image_set.classes == ["Clothing > Shirts", "Clothing > Shoes"]
    assert image_set.colours == ["blue", "red"]  # gold: one image, rare
    by_id = dict(zip(image_set.listing_ids, image_set.colour_labels.tolist()))
    assert by_id["ShirtsRed0"] == 1 and by_id["ShirtsBlue0"] == 0 and by_id["ShoesGold0"] == -1 and by_id["plain"] == -1
    assert image_set.counts()["colours"] == 2 and image_set.counts()["images_with_colour"] == 8
    assert image_set.class_frequency() == {"Clothing > Shirts": 6, "Clothing > Shoes": 4}
    assert build_image_set(rows, root, size=8, level=0).classes == ["Clothing"]  # a fixed level still works
    assert build_image_set(rows, root, size=8, max_colours=0).colours == []


def test_an_image_set_saved_before_colours_loads(tmp_path):
    old = {"pixels": torch.zeros((2, 3, 8, 8), dtype=torch.uint8), "labels": torch.tensor([0, 1]),
           "listing_ids": ["a", "b"], "splits": ["train", "test"], "classes": ["Home", "Toys"], "level": 0,
           "skipped": {}}
    torch.save(old, tmp_path / "images.pt")
    image_set = ImageSet.load(tmp_path / "images.pt")
    assert image_set.colours == [] and image_set.colour_labels.tolist() == [-1, -1]
    pixels, labels, colours = image_set.subset_with_colours("train")
    assert labels.tolist() == [0] and colours.tolist() == [-1]


def test_max_classes_keeps_the_most_frequent(tmp_path):
    root = DataRoot(str(tmp_path))
    with root.open("images/x.jpg", "wb") as handle:
        handle.write(jpeg((1, 2, 3)))
    rows = [{"listing_id": f"{c}{i}", "category_path": [c], "images": ["images/x.jpg"]}
            for c, n in (("A", 5), ("B", 3), ("C", 2)) for i in range(n)]
    image_set = build_image_set(rows, root, size=8, max_classes=2)
    assert image_set.classes == ["A", "B"] and image_set.skipped["rare_category"] == 2


@pytest.mark.parametrize("size", [32, 64])
def test_demo_photos_load(tmp_path, size):
    from tests.helpers.listings import demo_listings

    root = DataRoot(str(tmp_path))
    rows = [listing.model_dump() for listing in demo_listings(12, images_root=root)]
    image_set = build_image_set(rows, root, size=size, min_class_images=1)
    assert len(image_set.labels) == len(rows) and image_set.pixels.shape[-1] == size
    assert set(image_set.classes) <= {"Clothing > T-Shirts", "Clothing > Sneakers", "Home & Kitchen > Mugs",
                                      "Home & Kitchen > Lamps", "Home & Kitchen > Chairs", "Bags & Accessories > Backpacks",
                                      "Bags & Accessories > Watches", "Electronics > Headphones"}
    assert len(image_set.classes) >= 5 and image_set.level == 1


def test_prior_templates_never_copy_one_product():
    """A class × colour pair with fewer than ``min_images`` photos takes the class's mean, so no
    template is one product's photo; the last colour slot is the class's mean ("any colour")."""
    from labelops.imagegen.data import class_colour_means, normalise, prior_templates

    pixels = torch.stack([torch.full((3, 4, 4), v, dtype=torch.uint8) for v in (0, 100, 200, 50)])
    labels, colours = torch.tensor([0, 0, 0, 1]), torch.tensor([0, 0, 1, 0])
    templates = prior_templates(pixels, labels, colours, 2, 2, min_images=2)
    class_mean = normalise(torch.tensor(100.0))
    assert torch.allclose(templates[0, 0], normalise(torch.tensor(50.0)).expand(3, 4, 4))  # two photos: their mean
    assert torch.allclose(templates[0, 1], class_mean.expand(3, 4, 4))  # one photo: the class's mean
    assert torch.allclose(templates[0, 2], class_mean.expand(3, 4, 4))  # any colour
    assert torch.allclose(templates[1, 0], templates[1, 2])  # a class of one photo
    means, pairs = class_colour_means(pixels, labels, 2, colours, 2)  # the baseline: every pair with a photo
    assert torch.allclose(pairs[0, 1], normalise(torch.tensor(200.0)).expand(3, 4, 4)) and means.shape == (2, 3, 4, 4)
