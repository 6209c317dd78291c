"""The labels report: escaped, searchable, paginated — checked in a real headless Chromium."""

from __future__ import annotations

from labelops.report import render_report, write_report
from labelops.web import script_safe_json
from labelops.storage import DataRoot

EVIL_TITLE = "<script>alert(1)</script>"
EVIL_DESCRIPTION = 'Looks nice <img src=x onerror="window.__pwned=1;alert(2)"> really'
EVIL_TAG = "</script><script>window.__pwned=3</script>"


def labels(n: int) -> list[dict]:
    rows = [{"listing_id": f"id{i:04d}", "title": f"Product {i}", "description": f"A plain product number {i}.",
             "tags": ["home", f"tag{i}"], "text_category": "Home", "text_model_version": "1", "has_findings": False}
            for i in range(n)]
    rows[0].update(title=EVIL_TITLE, description=EVIL_DESCRIPTION, tags=[EVIL_TAG, "kettle"])
    rows[1].update(title="Copper Kettle", description="A kettle for the stove.", has_findings=True,
                   findings=["number: 30 (its price is 25)"], image="labels/r/images/x.png", image_generated=True,
                   tags=["home", "steel"], guessed_tags=["steel"], category="Home", text_category="Clothing")
    return rows


def gate() -> dict:
    return {"model_name": "product-text-generator", "challenger_version": "2", "champion_before": "1",
            "champion_after": "1", "promoted": False, "summary": "refuse: chrf <b>bold</b>",
            "decision": {"model_name": "product-text-generator", "promote": False,
                         "challenger": {"chrf": 30.0}, "champion": {"chrf": 31.0},
                         "checks": [{"kind": "primary", "metric": "chrf", "against": "champion", "passed": False,
                                     "reason": "chrf 30 vs champion 31: gain -1 [-2.5, +0.4] (95%): not significantly better"}]},
            "champion_metrics": {"chrf": 31.0}, "baselines": {"template": {"chrf": 27.5}, "retrieve_fill": {"chrf": 47.8}},
            "writer": {"system": "retrieve_fill", "reason": "version 1 does not beat the baselines"}}


def render(n: int = 120) -> str:
    return render_report(run_id="r", snapshot_id="snap", labels=labels(n), gates=[gate()],
                         counts={"valid": n, "quarantined": 0, "with_findings": 1, "generated_images": 1},
                         models={"product-text-generator": "1", "product-image-gan": None})


def test_scraped_strings_never_appear_as_markup_in_the_page():
    html = render()
    assert "<script>alert(1)" not in html and "<img src=x" not in html and "</script><script>" not in html
    assert "<b>bold</b>" not in html and "&lt;b&gt;bold&lt;/b&gt;" in html  # the gate's text is escaped too
    assert script_safe_json({"t": "</script>&\u2028"}) == '{"t": "\\u003c/script\\u003e\\u0026\\u2028"}'


def test_the_report_says_who_wrote_the_labels_and_shows_every_system_the_gate_measured():
    html = render()
    assert "Labels written by <strong>the retrieve_fill baseline</strong>: version 1 does not beat the baselines" in html
    assert "<th>retrieve_fill baseline</th>" in html and "<td>47.8000</td>" in html
    assert "gain -1 [-2.5, +0.4] (95%): not significantly better" in html


def test_report_renders_pages_searches_and_executes_nothing_in_chromium(page, tmp_path):
    from labelops.shop import serve_folder

    root = DataRoot(str(tmp_path))
    write_report(root, "r", render(120))
    with serve_folder(tmp_path) as base_url:
        page.goto(f"{base_url}/labels/r/report.html")
        page.wait_for_selector(".card")
        assert page.text_content("#page-info") == "page 1 of 3 · 120 of 120 products"
        assert page.locator(".card").count() == 50
        first = page.locator(".card").first
        assert first.locator(".title").text_content() == EVIL_TITLE  # shown as text, not run
        assert first.locator(".description").text_content() == EVIL_DESCRIPTION
        assert first.locator(".tag").first.text_content() == EVIL_TAG
        assert page.locator(".card").nth(1).locator(".generated").text_content() == "generated image"
        assert page.locator(".card").nth(1).locator(".finding").text_content() == "⚠ number: 30 (its price is 25)"
        assert page.locator(".card").first.locator(".finding").count() == 0
        kettle = page.locator(".card").nth(1)
        assert kettle.locator(".tag.guessed").all_text_contents() == ["steel ?"]  # a guess, marked as one
        assert "the text reads as another category than the product's" in kettle.locator(".meta").first.text_content()

        page.click("#next")
        assert page.text_content("#page-info") == "page 2 of 3 · 120 of 120 products"
        assert page.locator(".card").first.get_attribute("data-listing-id") == "id0050"

        page.fill("#search", "kettle")
        assert page.text_content("#page-info") == "page 1 of 1 · 2 of 120 products"
        assert sorted(page.locator(".card").evaluate_all("cards => cards.map(c => c.dataset.listingId)")) == ["id0000", "id0001"]
        page.fill("#search", "")
        assert page.locator(".card").count() == 50

        page.screenshot(path=str(tmp_path / "report.png"))
        assert page.evaluate("window.__pwned") is None
        assert page.dialogs == []
        assert page.locator("img[src='x']").count() == 0


def test_the_image_models_sample_grid_is_shown_and_only_a_png_is_let_in():
    import base64
    import io

    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (4, 4), (200, 10, 10)).save(buffer, format="PNG")
    png = base64.b64encode(buffer.getvalue()).decode("ascii")
    image_gate = {**gate(), "model_name": "product-image-gan",
                  "grids": {"challenger v2 <b>": png, "champion v9": 'x" onload="window.__grid=1'}}
    html = render_report(run_id="r", snapshot_id="snap", labels=labels(3), gates=[image_gate], counts={"valid": 3},
                         models={})
    assert f'src="data:image/png;base64,{png}"' in html and "challenger v2 &lt;b&gt;" in html
    assert "__grid" not in html and "champion v9" not in html  # not base64 of a PNG: left out
