"""The review page: a person accepts, rejects and edits labels in a real browser; verdicts become feedback."""

from __future__ import annotations

import io
import json
import urllib.error
import urllib.request

import pytest
from PIL import Image

from labelops.catalog import FEEDBACK_INBOX
from labelops.feedback import collect_feedback, read_feedback
from labelops.review import NoLabelsError, serve_review
from labelops.storage import DataRoot
from tests.helpers.feedback import write_labels

EVIL_TITLE = "<script>alert(1)</script>"
EVIL_DESCRIPTION = 'Soft <img src=x onerror="window.__pwned=1;alert(2)"> cotton'


@pytest.fixture
def root(data_root) -> DataRoot:
    root = DataRoot(str(data_root))
    buffer = io.BytesIO()
    Image.new("RGB", (32, 32), (200, 30, 30)).save(buffer, format="PNG")
    with root.open("images/red.png", "wb") as handle:
        handle.write(buffer.getvalue())
    write_labels(root, "run-b", 30, changes={0: {"title": EVIL_TITLE, "description": EVIL_DESCRIPTION,
                                                  "image": "images/red.png"},
                                              1: {"has_findings": True, "findings": [FINDING],
                                                  "category": "Clothing", "text_category": "Home & Kitchen"}})
    return root


FINDING = "name: Ember (a name of other listings, not of this one)"


def post(url: str, body: dict, token: str | None) -> tuple[int, dict]:
    request = urllib.request.Request(url + "feedback", data=json.dumps(body).encode(), method="POST",
                                     headers={"Content-Type": "application/json", **({"X-Review-Token": token} if token else {})})
    try:
        with urllib.request.urlopen(request) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def test_reject_and_edit_in_the_browser_become_feedback_rows(page, root):
    from playwright.sync_api import expect

    expect.set_options(timeout=20_000)  # a verdict runs the feedback suite: about a second on a busy machine
    with serve_review(root) as url:
        page.goto(url)
        page.wait_for_selector(".card")
        assert page.text_content("#page-info") == "page 1 of 2 · 30 of 30 labels"
        first = page.locator(".card").first
        assert first.locator(".title").text_content() == EVIL_TITLE  # shown as text, never run
        assert first.locator(".description").text_content() == EVIL_DESCRIPTION
        assert first.locator("img").evaluate("img => img.complete && img.naturalWidth") == 32  # the photo, from the server
        assert first.locator(".finding").count() == 0
        assert page.locator(".card").nth(1).locator(".finding").text_content() == f"⚠ {FINDING}"  # beside the label
        assert "the text reads as another category" in page.locator(".card").nth(1).text_content()

        first.locator(".reject").click()  # no reviewer yet: nothing is sent
        assert "enter your name" in first.locator(".status").text_content()
        page.fill("#reviewer", "Ana")
        first.locator(".reason").fill("wrong material")
        first.locator(".reject").click()
        expect(first.locator(".status")).to_contain_text("saved as")

        second = page.locator(".card").nth(1)
        second.locator(".edit").click()
        second.locator(".edited-description").fill("A soft cotton shirt with a relaxed collar, in white.")
        second.locator(".edited-tags").fill("shirts, cotton")
        second.locator(".save").click()
        expect(page.locator(".card .status.ok")).to_have_count(2)

        third = page.locator(".card").nth(2)  # an edit with nothing in it is refused, with the reason
        third.locator(".edit").click()
        third.locator(".edited-description").fill("")
        third.locator(".edited-tags").fill("")
        third.locator(".save").click()
        expect(third.locator(".status.error")).to_have_count(1)
        assert "an edit needs edited_description or edited_tags" in third.locator(".status").text_content()

        assert page.evaluate("window.__pwned") is None and page.dialogs == []
        assert page.locator("img[src='x']").count() == 0

    assert len(root.listdir(FEEDBACK_INBOX)) == 2
    batch = collect_feedback(root)
    assert (batch.stored, batch.rejected) == (2, 0)
    rows = read_feedback(root).sort_values("verdict").to_dict("records")
    edit, reject = rows
    assert reject["verdict"] == "reject" and reject["reason"] == "wrong material" and reject["reviewer"] == "Ana"
    assert reject["listing_id"] == "listing-0" and reject["text_model_version"] == "3"
    assert edit["edited_description"] == "A soft cotton shirt with a relaxed collar, in white."
    assert list(edit["edited_tags"]) == ["shirts", "cotton"] and edit["listing_id"] == "listing-1"


def test_the_server_refuses_what_the_page_would_not_send(root):
    with serve_review(root) as url:
        html = urllib.request.urlopen(url)
        csp = html.headers["Content-Security-Policy"]
        assert "script-src 'nonce-" in csp and "unsafe-inline" not in csp.split("script-src")[1].split(";")[0]
        token = html.read().decode().split('TOKEN = "', 1)[1].split('"', 1)[0]
        from labelops.labels import read_labels

        label = read_labels(root).iloc[3]
        body = {"label_id": label["label_id"], "verdict": "accept", "reviewer": "Bo"}
        assert post(url, body, None)[0] == 403  # another site cannot post verdicts
        assert post(url, body, "wrong")[0] == 403
        status, reply = post(url, {**body, "label_id": "nope"}, token)
        assert status == 400 and "not a label labelops wrote" in reply["errors"][0]
        status, reply = post(url, {**body, "rating": 7}, token)
        assert status == 400 and "rating 7" in reply["errors"][0]
        assert post(url, {**body, "feedback_id": "mine"}, token)[0] == 400  # the server names verdicts
        status, reply = post(url, body, token)
        assert status == 201 and reply["feedback_id"].startswith("rv-")
        for path in ("image/nope", "image/..%2F..%2Fetc%2Fpasswd", "../mlflow.db"):
            with pytest.raises(urllib.error.HTTPError) as error:
                urllib.request.urlopen(url + path)
            assert error.value.code == 404
    assert len(root.listdir(FEEDBACK_INBOX)) == 1


def test_no_labels_no_page(data_root):
    with pytest.raises(NoLabelsError, match="run `labelops generate` first"):
        with serve_review(DataRoot(str(data_root))):
            pass


# ------------------------------------------------------------------------------------ the demo's reviewer
def test_the_demo_reviewer_never_accepts_a_wrong_label_and_its_edits_are_correct():
    from labelops.factcheck import FINDING_KINDS, FactChecker
    from labelops.review import simulated_verdicts
    from labelops.textgen.serialize import clean_description
    from tests.helpers.listings import demo_listings

    listings = [listing.model_dump() for listing in demo_listings(120)]
    by_id = {row["listing_id"]: row for row in listings}
    checker = FactChecker.from_listings(listings)
    labels = []
    for i, row in enumerate(listings[:40]):
        # every fourth label describes the next product (its name, brand, values), the others their own
        text = clean_description(listings[i + 1]["description"] if i % 4 == 0 else row["description"])
        labels.append({"label_id": f"label-{i}", "listing_id": row["listing_id"], "description": text,
                       "has_findings": False, "findings": []})
    wrong = {lab["label_id"] for lab in labels if checker.check(lab["description"], by_id[lab["listing_id"]])}
    assert len(wrong) >= 8  # the swapped descriptions are found wrong
    verdicts = {v["label_id"]: v for v in simulated_verdicts(labels, by_id, reject_share=0.4, edits=6, checker=checker)}
    assert not [i for i in wrong if verdicts[i]["verdict"] == "accept"]
    assert sum(v["verdict"] == "reject" for v in verdicts.values()) == round(0.4 * len(labels))
    edits = [v for v in verdicts.values() if v["verdict"] == "edit"]
    assert len(edits) == 6 and all(v["label_id"] in wrong for v in edits)  # corrections of wrong labels first
    for v in edits:
        row = by_id[v["listing_id"]]
        assert v["edited_description"] and not checker.check(v["edited_description"], row)
    rejected_wrong = [v for i, v in verdicts.items() if i in wrong and v["verdict"] == "reject"]
    assert rejected_wrong and all(v["reason"].split(":")[0] in FINDING_KINDS for v in rejected_wrong)
