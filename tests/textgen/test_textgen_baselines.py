"""The two baselines the text generator must beat: a template and the nearest neighbour."""

from __future__ import annotations

import pytest

from labelops.textgen.baselines import NearestNeighbourBaseline, TemplateBaseline, listing_tags
from labelops.factcheck import FactChecker
from labelops.textgen.metrics import attribute_coverage

SHIRT = {
    "listing_id": "shirt",
    "title": "Kite Cotton T-Shirt",
    "brand": "Seabright",
    "category_path": ["Clothing", "T-Shirts"],
    "price": "30.99",
    "currency": "EUR",
    "attributes": {"color": "Red", "material": "Cotton", "size": "M"},
    "description": "A soft red T-shirt in pure cotton by Seabright.",
}
WALLET = {
    "listing_id": "wallet",
    "title": "Slim Leather Wallet",
    "brand": "Northfold",
    "category_path": ["Accessories", "Wallets"],
    "attributes": {"color": "Brown", "material": "Leather"},
    "description": "A slim brown leather wallet with six card slots.",
    "tags": ["wallet", "leather goods"],
}
MUG = {
    "listing_id": "mug",
    "title": "Stoneware Coffee Mug 350 ml",
    "brand": "Kiln & Co",
    "category_path": ["Kitchen", "Mugs"],
    "attributes": {"color": "Blue", "material": "Stoneware"},
    "description": "A blue stoneware mug that holds 350 ml of coffee.",
}
DENIM = {
    "listing_id": "denim",
    "category_path": ["上衣"],
    "attributes": {"类型": "上衣", "材质": "牛仔布", "颜色": "白色", "风格": "简约", "衣样式": "外套"},
    "description": "简约而不简单的牛仔外套，白色的衣身十分百搭。",
}
KNIT = {
    "listing_id": "knit",
    "category_path": ["裙"],
    "attributes": {"类型": "裙", "材质": "针织", "颜色": "纯色", "风格": "复古、文艺", "裙长": "连衣裙"},
    "description": "这款针织连衣裙，复古的纯色设计，很是文艺。",
}
TRAIN = [SHIRT, WALLET, MUG, DENIM, KNIT]


def test_template_states_every_value() -> None:
    template = TemplateBaseline().fit(TRAIN)
    shirt, denim = template.predict([SHIRT, DENIM])
    assert shirt["description"].startswith("Kite Cotton T-Shirt by Seabright.")
    assert "Color: Red." in shirt["description"]
    assert denim["description"].startswith("这款")
    assert "颜色为白色" in denim["description"] and denim["description"].endswith("。")
    descriptions = [p["description"] for p in template.predict(TRAIN)]
    assert attribute_coverage(descriptions, TRAIN) == pytest.approx(1.0)
    checker = FactChecker.from_listings(TRAIN)
    assert [checker.check(d, row) for d, row in zip(descriptions, TRAIN)] == [[]] * len(TRAIN)


def test_template_tags_are_category_then_values() -> None:
    assert TemplateBaseline().predict([SHIRT])[0]["tags"] == ["clothing", "t-shirts", "red", "cotton", "m"]
    # values in the order the prompt lists attributes (by key), each of a multi-valued one
    assert TemplateBaseline().predict([KNIT])[0]["tags"] == ["裙", "针织", "连衣裙", "纯色", "复古", "文艺"]
    no_title = {"brand": "Acme", "category_path": "Home > Lamps", "attributes": [("Color", "Grey")]}
    assert TemplateBaseline().predict([no_title])[0] == {
        "description": "Acme Lamps. Color: Grey.",
        "tags": ["home", "lamps", "grey"],
    }


def test_nearest_neighbour_returns_the_neighbours_description() -> None:
    baseline = NearestNeighbourBaseline().fit(TRAIN)
    query = {"title": "Slim Leather Card Wallet", "brand": "Northfold", "attributes": {"color": "Black"}}
    (prediction,) = baseline.predict([query])
    assert prediction == {"description": WALLET["description"], "tags": ["wallet", "leather goods"]}
    mug_like = {"title": "Coffee Mug", "attributes": {"material": "Stoneware"}}
    assert baseline.predict([mug_like])[0]["tags"] == listing_tags(MUG)  # no "tags": category + values


def test_nearest_neighbour_never_returns_the_query_itself() -> None:
    twin = dict(SHIRT, listing_id="shirt-2", description="Another red cotton tee by Seabright.")
    baseline = NearestNeighbourBaseline().fit([*TRAIN, twin])
    assert baseline.predict([SHIRT])[0]["description"] == twin["description"]
    assert baseline.predict([twin])[0]["description"] == SHIRT["description"]
    indices = baseline.neighbours([*TRAIN, twin])
    assert all(i != j for j, i in enumerate(indices))
    # without a listing_id, the row with the same facts and description is the query's own
    anonymous = {k: v for k, v in SHIRT.items() if k != "listing_id"}
    (prediction,) = NearestNeighbourBaseline().fit([anonymous, twin]).predict([anonymous])
    assert prediction["description"] == twin["description"]
    # nothing left to return
    assert NearestNeighbourBaseline().fit([SHIRT]).predict([SHIRT]) == [{"description": "", "tags": []}]


def test_nearest_neighbour_works_on_chinese() -> None:
    baseline = NearestNeighbourBaseline().fit(TRAIN)
    query = {"attributes": {"类型": "上衣", "材质": "牛仔布", "颜色": "蓝色", "衣样式": "外套"}}
    assert baseline.predict([query])[0]["description"] == DENIM["description"]
    query = {"attributes": {"类型": "裙", "材质": "针织", "风格": "文艺"}}
    assert baseline.predict([query])[0]["description"] == KNIT["description"]
    # it states the neighbour's facts: here a colour the query does not have
    checker = FactChecker.of(brands=["Seabright"], values={"颜色": ["白色", "蓝色", "纯色"]})
    denim_query = {"attributes": {"类型": "上衣", "材质": "牛仔布", "颜色": "蓝色", "衣样式": "外套"}}
    description = baseline.predict([denim_query])[0]["description"]
    assert [f.kind for f in checker.check(description, denim_query)] == ["attribute"]


def test_nearest_neighbour_needs_training_rows() -> None:
    with pytest.raises(ValueError):
        NearestNeighbourBaseline().fit([])
    with pytest.raises(RuntimeError):
        NearestNeighbourBaseline().predict([SHIRT])


def test_retrieve_and_fill_keeps_only_the_neighbours_sentences_that_state_a_fact() -> None:
    """The neighbour's care advice and its shop's returns are its claims, not this product's facts:
    a shopper would read them as promises about this product."""
    from labelops.textgen.baselines import RetrieveFillBaseline

    neighbour = {**SHIRT, "description": "A soft red T-shirt in pure cotton by Seabright. Wash it cold and it keeps "
                                         "its shape. Order now and enjoy free returns."}
    other = {**SHIRT, "listing_id": "other", "title": "Kite Linen T-Shirt", "brand": "Loomcraft",
             "attributes": {"color": "Olive", "material": "Linen", "size": "L"}, "description": None}
    (written,) = RetrieveFillBaseline().fit([neighbour, WALLET, MUG]).predict([other])
    assert "olive" in written["description"].casefold() and "linen" in written["description"].casefold()
    assert "Wash it cold" not in written["description"] and "free returns" not in written["description"]
