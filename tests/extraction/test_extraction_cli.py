"""``labelops extract``: folders and .gz files in, one JSON object keyed by page id out."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from app.cli import app
from labelops.extraction.pages import PageError, find_page_ids, find_pages, page_id, prediction, read_page
from labelops.extraction import extract_product

from .helpers import ld, page

LAMP = page(
    ld({"@type": "Product", "name": "Desk Lamp", "sku": "L-1", "gtin13": "4006381333931", "mpn": "DL-40",
        "brand": {"@type": "Brand", "name": "Lumo"}, "description": "A <b>bright</b> lamp.",
        "offers": {"@type": "Offer", "price": 39, "priceCurrency": "EUR", "availability": "https://schema.org/InStock"}}),
    "<h1>Desk Lamp</h1>",
)
SHOE = page(body="<main><h1>Trail Shoe</h1><div class='price'>£59.00</div><button>Add to basket</button>"
                 "<p>Product code: TS-900</p></main>")
ABOUT = page(body="<h1>About us</h1><p>We sell lamps.</p>")
runner = CliRunner()


@pytest.fixture
def pages(tmp_path: Path) -> Path:
    folder = tmp_path / "pages"
    (folder / "sub").mkdir(parents=True)
    (folder / "lamp.html").write_text(LAMP, encoding="utf-8")
    (folder / "sub" / "shoe.html.gz").write_bytes(gzip.compress(SHOE.encode("utf-8")))
    (folder / "about.htm").write_text(ABOUT, encoding="utf-8")
    (folder / "notes.txt").write_text("not a page")
    return folder


def test_extract_a_folder(pages: Path, tmp_path: Path):
    out = tmp_path / "preds.json"
    result = runner.invoke(app, ["extract", str(pages), "--out", str(out)])
    assert result.exit_code == 0, result.output
    predictions = json.loads(out.read_text(encoding="utf-8"))
    assert set(predictions) == {"lamp", "sub/shoe", "about"}  # ids: the path under the folder given
    assert predictions["lamp"] == {
        "price": "39.00", "currency": "EUR", "sku": "L-1", "gtin": "4006381333931", "mpn": "DL-40", "brand": "Lumo",
        "availability": "InStock", "title": "Desk Lamp", "description": "A bright lamp.",
    }
    assert predictions["sub/shoe"]["price"] == "59.00" and predictions["sub/shoe"]["sku"] == "TS-900"
    assert predictions["about"] == {}  # not a product page: no fields


def test_extract_one_gz_file_to_stdout(pages: Path):
    result = runner.invoke(app, ["extract", str(pages / "sub" / "shoe.html.gz"), "--out", "-"])
    assert result.exit_code == 0, result.output
    start = result.stdout.index("{")
    predictions = json.loads(result.stdout[start : result.stdout.rindex("}") + 1])
    assert list(predictions) == ["shoe"] and predictions["shoe"]["currency"] == "GBP"


def test_same_function_as_the_spider(pages: Path):
    # the command's output for a page is extract_product's, field for field
    product = extract_product(read_page(pages / "lamp.html"), "")
    assert prediction(product)["title"] == product.title == "Desk Lamp"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["extract", "missing-folder", "--out", "x.json"], "no such file or folder"),
        (["extract", "{notes}", "--out", "x.json"], "not an .html or .html.gz file"),
        (["extract", "{empty}", "--out", "x.json"], "no .html or .html.gz files"),
        (["extract", "{pages}", "--out", "{tmp}/no/such/dir/x.json"], "no such folder for --out"),
    ],
)
def test_bad_paths_are_clear_errors(pages: Path, tmp_path: Path, args, message):
    (tmp_path / "empty").mkdir()
    values = {"notes": pages / "notes.txt", "empty": tmp_path / "empty", "pages": pages, "tmp": tmp_path}
    result = runner.invoke(app, [a.format(**values) for a in args])
    assert result.exit_code == 2
    assert message in " ".join(result.output.split())


def test_corrupt_gz_is_reported_and_the_rest_extracted(pages: Path, tmp_path: Path):
    (pages / "broken.html.gz").write_bytes(b"\x1f\x8b\x08\x00not really gzip")
    out = tmp_path / "preds.json"
    result = runner.invoke(app, ["extract", str(pages), "--out", str(out)])
    assert result.exit_code == 1
    assert "cannot read" in result.output and "broken.html.gz" in result.output
    predictions = json.loads(out.read_text(encoding="utf-8"))
    assert predictions["broken"] == {} and predictions["lamp"]["price"] == "39.00"


def test_progress_on_many_files(tmp_path: Path):
    folder = tmp_path / "many"
    folder.mkdir()
    for i in range(25):
        (folder / f"p{i}.html").write_text(SHOE, encoding="utf-8")
    out = tmp_path / "preds.json"
    result = runner.invoke(app, ["extract", str(folder), "--out", str(out)])
    assert result.exit_code == 0
    assert len(json.loads(out.read_text())) == 25
    assert "25 page(s)" in result.output


def test_page_ids_and_duplicates(tmp_path: Path):
    assert page_id("a/b/ab12.html.gz") == "ab12" and page_id("X.HTM") == "X"
    assert page_id("pages/a/b/ab12.html.gz", "pages") == "a/b/ab12"
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "same.html").write_text(SHOE)
    (tmp_path / "same.html.gz").write_bytes(gzip.compress(SHOE.encode()))
    assert set(find_page_ids([tmp_path])) == {"a/same", "same"}  # relative to the folder given: apart
    with pytest.raises(PageError, match="same page id"):
        find_pages([tmp_path / "a", tmp_path])  # "same" from the folder a/ and from the top folder


def test_extract_a_folder_of_slug_index_pages(tmp_path: Path):
    """A mirrored site (``<slug>/index.html``): every page keeps its own id, the path under the folder."""
    folder = tmp_path / "site"
    for slug in ("red-shoe", "blue-shoe", "shoes/green"):
        (folder / slug).mkdir(parents=True)
        (folder / slug / "index.html").write_text(SHOE, encoding="utf-8")
    out = tmp_path / "preds.json"
    result = runner.invoke(app, ["extract", str(folder), "--out", str(out)])
    assert result.exit_code == 0, result.output
    predictions = json.loads(out.read_text())
    assert sorted(predictions) == ["blue-shoe/index", "red-shoe/index", "shoes/green/index"]
    assert all(fields.get("price") for fields in predictions.values())
