"""The review page: a person pages through the latest labels and accepts, rejects or edits them.

    labelops review [--run RUN_ID] [--port 8780]      # http://127.0.0.1:8780/

A small HTTP server on 127.0.0.1 (stdlib ``http.server``, one thread a request):

- ``GET /``: the page: each label beside its product photo (or the generated image), with
  Accept, Reject (with an optional reason) and Edit (description and tags), 20 a page, searchable;
- ``GET /image/<label_id>``: the image of a label of this run (the path comes from the labels
  table, never from the request);
- ``POST /feedback``: one verdict as JSON. It is checked like an inbox line (the ``feedback``
  suite and the :class:`~labelops.feedback.Feedback` contract) and, when valid, written to the
  feedback inbox as its own file (``feedback/inbox/review-<feedback_id>.jsonl``), where the next
  feedback flow collects it. Invalid verdicts are refused with the reasons (HTTP 400).

Every label string is untrusted: the page carries the labels as script-safe JSON and builds
every card with ``textContent``; a Content-Security-Policy lets only the page's own script (by
nonce) run and only this server be fetched. A POST must carry the page's token
(``X-Review-Token``), so another site open in the same browser cannot post verdicts.
"""

from __future__ import annotations

import json
import logging
import mimetypes
import secrets
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timezone
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from labelops.feedback import SUITE, Incoming, Line, check_incoming, label_runs, read_labels, write_inbox
from labelops.labels import labels_path
from labelops.report import template_environment, script_safe_json
from labelops.storage import DataRoot
from labelops.validation import SuiteValidator

log = logging.getLogger(__name__)

PAGE_SIZE = 20
MAX_BODY_BYTES = 64 * 1024
PAGE_COLUMNS = ("label_id", "listing_id", "title", "description", "tags", "image", "image_generated",
                "text_model_version", "image_model_version", "findings")
FIELDS = ("label_id", "verdict", "edited_description", "edited_tags", "rating", "reason", "reviewer")


class NoLabelsError(RuntimeError):
    """There is no labels table to review."""


class ReviewApp:
    """The labels of one run, and what the page may do with them."""

    def __init__(self, root: DataRoot, run_id: str | None = None):
        runs = label_runs(root)
        if not runs:
            raise NoLabelsError(f"no labels under {root.uri('labels')}: run `labelops generate` first")
        if run_id is not None and run_id not in runs:
            raise NoLabelsError(f"no labels of run {run_id!r} under {root.uri('labels')} (runs: {', '.join(runs)})")
        self.root, self.run_id = root, run_id or runs[-1]
        self.labels = read_labels(root, [self.run_id])
        self.token = secrets.token_urlsafe(24)
        self.validator = SuiteValidator(SUITE)
        self.validator.warm_up()  # the first verdict should not wait for Great Expectations to start
        self._lock = threading.Lock()  # one GX validation at a time

    def page(self, nonce: str) -> str:
        table = self.root.read_parquet(labels_path(self.run_id))
        rows = table.select([c for c in PAGE_COLUMNS if c in table.column_names]).to_pylist()  # older runs lack findings
        for row in rows:
            row["has_image"] = bool(row.pop("image", None))
        return template_environment().get_template("review.html").render(
            run_id=self.run_id, count=len(rows), labels_json=script_safe_json(rows), token=self.token, nonce=nonce,
            page_size=PAGE_SIZE)

    def image(self, label_id: str) -> tuple[bytes, str] | None:
        if label_id not in self.labels.index:
            return None
        relative = self.labels.loc[label_id]["image"]
        if not relative or not self.root.exists(relative):
            return None
        with self.root.open(relative, "rb") as handle:
            return handle.read(), mimetypes.guess_type(relative)[0] or "application/octet-stream"

    def submit(self, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        """Check one verdict from the page; valid ones go to the inbox. Returns (HTTP status, reply)."""
        unknown = sorted(set(body) - set(FIELDS))
        if unknown:
            return HTTPStatus.BAD_REQUEST, {"errors": [f"unknown field(s): {', '.join(unknown)}"]}
        now = datetime.now(timezone.utc)
        record = {**{k: v for k, v in body.items() if v not in (None, "", [])},
                  "feedback_id": f"rv-{uuid.uuid4().hex}", "timestamp": now.isoformat()}
        label_id = record.get("label_id")
        if isinstance(label_id, str) and label_id in self.labels.index:
            record["listing_id"] = self.labels.loc[label_id]["listing_id"]
        incoming = Incoming(batch_id="review", inbox=[], files=[],
                            lines=[Line("review page", 1, json.dumps(record, ensure_ascii=False))])
        with self._lock:
            checked = check_incoming(self.root, incoming, now, labels=self.labels, validator=self.validator)
        if checked.rejected:
            return HTTPStatus.BAD_REQUEST, {"errors": [r.message for r in checked.rejected]}
        (feedback,) = checked.valid
        path = write_inbox(self.root, [feedback.model_dump(mode="json", exclude={"batch_id", "received_at"})],
                           f"review-{feedback.feedback_id}")
        log.info("review: %s %s by %s → %s", feedback.verdict, feedback.label_id, feedback.reviewer, self.root.uri(path))
        return HTTPStatus.CREATED, {"feedback_id": feedback.feedback_id, "verdict": feedback.verdict,
                                    "inbox": self.root.uri(path)}


def _handler(app: ReviewApp) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        server_version = "labelops-review"

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the stdlib's name
            log.debug("review page: " + format, *args)

        def _send(self, status: int, body: bytes, content_type: str, headers: dict[str, str] | None = None) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("X-Content-Type-Options", "nosniff")
            self.send_header("Referrer-Policy", "no-referrer")
            self.send_header("Cache-Control", "no-store")
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(body)

        def _json(self, status: int, data: dict[str, Any]) -> None:
            self._send(status, json.dumps(data).encode(), "application/json")

        def do_GET(self) -> None:  # noqa: N802 - http.server's name
            path = self.path.split("?", 1)[0]
            if path == "/":
                nonce = secrets.token_urlsafe(16)
                csp = (f"default-src 'none'; script-src 'nonce-{nonce}'; style-src 'unsafe-inline'; img-src 'self'; "
                       "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'")
                self._send(HTTPStatus.OK, app.page(nonce).encode(), "text/html; charset=utf-8",
                           {"Content-Security-Policy": csp})
            elif path.startswith("/image/"):
                found = app.image(path.removeprefix("/image/"))
                if found is None:
                    self._json(HTTPStatus.NOT_FOUND, {"errors": ["no such image"]})
                else:
                    self._send(HTTPStatus.OK, found[0], found[1])
            else:
                self._json(HTTPStatus.NOT_FOUND, {"errors": [f"nothing at {path}"]})

        def do_POST(self) -> None:  # noqa: N802
            if self.path != "/feedback":
                return self._json(HTTPStatus.NOT_FOUND, {"errors": [f"nothing at {self.path}"]})
            if not secrets.compare_digest(self.headers.get("X-Review-Token", ""), app.token):
                return self._json(HTTPStatus.FORBIDDEN, {"errors": ["missing or wrong X-Review-Token"]})
            length = int(self.headers.get("Content-Length") or 0)
            if not 0 < length <= MAX_BODY_BYTES:
                return self._json(HTTPStatus.REQUEST_ENTITY_TOO_LARGE if length else HTTPStatus.BAD_REQUEST,
                                  {"errors": [f"a verdict is 1 to {MAX_BODY_BYTES} bytes of JSON"]})
            try:
                body = json.loads(self.rfile.read(length))
            except (json.JSONDecodeError, UnicodeDecodeError):
                return self._json(HTTPStatus.BAD_REQUEST, {"errors": ["the body is not JSON"]})
            if not isinstance(body, dict):
                return self._json(HTTPStatus.BAD_REQUEST, {"errors": ["the body is not a JSON object"]})
            status, reply = app.submit(body)
            self._json(status, reply)

    return Handler


@contextmanager
def serve_review(root: DataRoot, run_id: str | None = None, host: str = "127.0.0.1", port: int = 0) -> Iterator[str]:
    """Serve the review page in a background thread; yields its URL (``port=0``: a free port)."""
    app = ReviewApp(root, run_id)
    server = ThreadingHTTPServer((host, port), _handler(app))
    thread = threading.Thread(target=server.serve_forever, name="labelops-review", daemon=True)
    thread.start()
    url = f"http://{host}:{server.server_address[1]}/"
    log.info("review page for labels of run %s (%d labels) at %s", app.run_id, len(app.labels), url)
    try:
        yield url
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


# ------------------------------------------------------------------------------------ the demo's reviewer
def simulated_verdicts(labels: list[dict[str, Any]], listings: dict[str, dict[str, Any]], reject_share: float = 0.4,
                       edits: int = 30, reviewer: str = "demo-reviewer") -> list[dict[str, Any]]:
    """What a careful reviewer would say of ``labels``, for the demo: reject the ``reject_share`` whose
    descriptions have findings of the fact checker or are furthest from the shop's own (sentence chrF), rewrite
    the next ``edits`` (:func:`reviewed_description` of the label's text, and the reference tags),
    accept the rest.

    Verdicts are timestamped in label order (one a second), so rejections are spread over time.
    """
    from datetime import timedelta

    from sacrebleu.metrics import CHRF

    from labelops.textgen.serialize import clean_description, reference_tags

    chrf = CHRF()
    scored = []
    for label in labels:
        listing = listings.get(label["listing_id"]) or {}
        reference = clean_description(listing.get("description"))
        score = chrf.sentence_score(label["description"] or "", [reference]).score if reference else 50.0
        scored.append((-1.0 if label.get("has_findings") else score, label["label_id"]))
    order = [label_id for _, label_id in sorted(scored)]
    rejected = set(order[: round(reject_share * len(order))])
    edited = set(order[len(rejected):][:edits])
    start = datetime.now(timezone.utc) - timedelta(seconds=len(labels))
    verdicts = []
    for n, label in enumerate(labels):
        listing = listings.get(label["listing_id"]) or {}
        record: dict[str, Any] = {"feedback_id": f"demo-{label['label_id']}", "label_id": label["label_id"],
                                  "listing_id": label["listing_id"], "reviewer": reviewer,
                                  "timestamp": (start + timedelta(seconds=n)).isoformat()}
        if label["label_id"] in rejected:
            record.update(verdict="reject", reason="does not describe this product", rating=1)
        elif label["label_id"] in edited:
            record.update(verdict="edit", edited_description=reviewed_description(label["description"], listing),
                          edited_tags=reference_tags(listing), rating=3)
        else:
            record.update(verdict="accept", rating=4)
        verdicts.append(record)
    return verdicts


def reviewed_description(generated: str, listing: dict[str, Any]) -> str:
    """How the demo's reviewer corrects a generated description: drop the clauses the product's
    facts do not support, then state every fact it leaves out (the generator's own
    :func:`~labelops.textgen.grounding.ground` and :func:`~labelops.textgen.grounding.complete`)."""
    from labelops.textgen.grounding import complete, ground

    return complete(ground(generated or "", listing), listing) or (listing.get("title") or "")
