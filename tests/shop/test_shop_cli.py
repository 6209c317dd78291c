"""The ``labelops shop`` commands, run through Typer's test runner."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from labelops.shop.cli import shop_app

runner = CliRunner()


def test_demo_writes_a_shop(tmp_path: Path) -> None:
    result = runner.invoke(shop_app, ["demo", str(tmp_path / "shop"), "--products", "40", "--seed", "3"])
    assert result.exit_code == 0, result.output
    assert "40 products" in result.output and str(tmp_path / "shop") in result.output
    assert len(list((tmp_path / "shop" / "product").iterdir())) == 40

    again = runner.invoke(shop_app, ["demo", str(tmp_path / "shop"), "--products", "40"])
    assert again.exit_code == 1 and "not empty" in again.output
    assert runner.invoke(shop_app, ["demo", str(tmp_path / "shop"), "-n", "41", "--overwrite"]).exit_code == 0


def test_render_errors_are_clear(tmp_path: Path) -> None:
    missing = runner.invoke(shop_app, ["render", str(tmp_path / "nope.jsonl"), str(tmp_path / "out")])
    assert missing.exit_code == 1 and "does not exist" in missing.output
    (tmp_path / "catalog.txt").write_text("x")
    unknown = runner.invoke(shop_app, ["render", str(tmp_path / "catalog.txt"), str(tmp_path / "out")])
    assert unknown.exit_code == 1 and "unknown catalog format" in unknown.output


def test_render_a_jsonl_catalog(tmp_path: Path) -> None:
    catalog = tmp_path / "c.jsonl"
    catalog.write_text(
        json.dumps({"title": "Mug", "price": "4.00", "currency": "EUR", "category_path": ["Mugs"]}) + "\n"
    )
    result = runner.invoke(shop_app, ["render", str(catalog), str(tmp_path / "out"), "--name", "My Shop"])
    assert result.exit_code == 0, result.output
    assert "My Shop" in (tmp_path / "out" / "product" / "mug-1.html").read_text()


def test_serve_rejects_a_missing_folder(tmp_path: Path) -> None:
    result = runner.invoke(shop_app, ["serve", str(tmp_path / "nope"), "--port", "0"])
    assert result.exit_code == 1 and "not a folder" in result.output
