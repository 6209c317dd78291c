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

Requests must name this server: a ``Host`` header other than a loopback name (or the bound
address, or one of ``LABELOPS_REVIEW_HOSTS``) is refused with 421 and a foreign ``Origin`` with
403, so a web page cannot reach the server through a domain it points at 127.0.0.1 (DNS
rebinding). A request has :data:`REQUEST_SECONDS` to arrive (a slow body gets 408), a body is at
most :data:`MAX_BODY_BYTES` of JSON, and a malformed one (a bad ``Content-Length``, nesting too
deep, numbers too long) gets a plain 400. Images are served only from inside the data root.
"""

from __future__ import annotations

import json
import logging
import mimetypes
import secrets
import socket
import threading
import time
import uuid
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import datetime, timezone
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

from labelops import catalog
from labelops.factcheck import FactChecker
from labelops.feedback import SUITE, Incoming, Line, check_incoming, write_inbox
from labelops.labels import label_runs, read_labels
from labelops.report import template_environment
from labelops.settings import get_settings
from labelops.storage import DataRoot
from labelops.validation import SuiteValidator
from labelops.web import script_safe_json

log = logging.getLogger(__name__)

PAGE_SIZE = 20
MAX_BODY_BYTES = 64 * 1024
REQUEST_SECONDS = 10.0
"""How long a request (headers and body) may take to arrive."""
LOOPBACK_NAMES = frozenset({"127.0.0.1", "localhost", "::1"})
PAGE_COLUMNS = ("label_id", "listing_id", "title", "description", "tags", "guessed_tags", "image", "image_generated",
                "category", "text_category", "image_category", "image_category_confidence", "categories_agree",
                "text_model_version", "image_model_version", "findings", "text_image_score", "image_text_score",
                "text_image_disagreement")
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
        table = self.root.read_parquet(catalog.labels_path(self.run_id))
        rows = table.select([c for c in PAGE_COLUMNS if c in table.column_names]).to_pylist()  # older runs lack findings
        for row in rows:
            row["has_image"] = bool(row.pop("image", None))
        return template_environment().get_template("review.html").render(
            run_id=self.run_id, count=len(rows), labels_json=script_safe_json(rows), token=self.token, nonce=nonce,
            page_size=PAGE_SIZE)

    def image(self, label_id: str) -> tuple[bytes, str] | None:
        """The image of a label: a file inside the data root (after resolving links) that is an image."""
        if label_id not in self.labels.index:
            return None
        relative = self.root.inside(self.labels.loc[label_id]["image"] or "")
        content_type = mimetypes.guess_type(relative or "")[0] or ""
        if relative is None or not content_type.startswith("image/") or not self.root.exists(relative):
            return None
        with self.root.open(relative, "rb") as handle:
            return handle.read(), content_type

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


def allowed_hosts(host: str, port: int, configured: Iterable[str] = ()) -> frozenset[str]:
    """The ``Host``/``Origin`` names (``name`` or ``name:port``) the review server answers to:
    loopback names, the address it is bound to, and ``configured`` ones."""
    names = {*LOOPBACK_NAMES, *([host] if host not in ("", "0.0.0.0", "::") else [])}
    return frozenset({n.lower() for n in names} | {f"{n.lower()}:{port}" for n in names}
                     | {c.strip().lower() for c in configured if c.strip()})


def _host_allowed(value: str, allowed: frozenset[str]) -> bool:
    """Whether a ``Host`` header (``name``, ``name:port``, ``[v6]:port``) is one of ``allowed``."""
    value = value.strip().lower()
    try:
        parts = urlsplit(f"//{value}")
        name, port = parts.hostname, parts.port
    except ValueError:
        return False
    if not name:
        return False
    # a loopback name only with this server's port; a configured name without a port with any
    return (f"{name}:{port}" if port else name) in allowed or (name in allowed and name not in LOOPBACK_NAMES)


def _origin_allowed(origin: str, allowed: frozenset[str]) -> bool:
    parts = urlsplit(origin.strip())
    return parts.scheme in ("http", "https") and _host_allowed(parts.netloc, allowed)


class BadRequest(Exception):
    """A request the server answers with ``status`` and ``message``."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status, self.message = status, message


def _handler(app: ReviewApp, hosts: frozenset[str], request_seconds: float) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        server_version = "labelops-review"
        timeout = request_seconds  # each read of the socket

        def handle(self) -> None:
            # the whole connection has a deadline too, so a client trickling its headers a byte at a time
            # cannot hold a thread: past it the socket is shut and the handler ends
            watchdog = threading.Timer(request_seconds * 3, self._cut)
            watchdog.daemon = True
            watchdog.start()
            try:
                super().handle()
            finally:
                watchdog.cancel()

        def _cut(self) -> None:
            try:
                self.connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

        def _refused(self) -> bool:
            """Answer and return True when the request does not name this server."""
            if not _host_allowed(self.headers.get("Host", ""), hosts):
                self.close_connection = True
                self._json(HTTPStatus.MISDIRECTED_REQUEST, {"errors": ["this server answers only to its own address"]})
                return True
            origin = self.headers.get("Origin")
            if origin is not None and not _origin_allowed(origin, hosts):
                self._json(HTTPStatus.FORBIDDEN, {"errors": ["requests from other sites are refused"]})
                return True
            return False

        def _body(self) -> dict[str, Any]:
            """The request's JSON object, read within the deadline; :class:`BadRequest` otherwise."""
            if self.headers.get("Transfer-Encoding"):
                raise BadRequest(HTTPStatus.LENGTH_REQUIRED, "send the verdict with a Content-Length")
            text = (self.headers.get("Content-Length") or "").strip()
            if not text.isdigit():
                raise BadRequest(HTTPStatus.BAD_REQUEST, "Content-Length must be a whole number of bytes")
            length = int(text)
            if length > MAX_BODY_BYTES:
                self.close_connection = True
                raise BadRequest(HTTPStatus.REQUEST_ENTITY_TOO_LARGE, f"a verdict is at most {MAX_BODY_BYTES} bytes")
            if length == 0:
                raise BadRequest(HTTPStatus.BAD_REQUEST, f"a verdict is 1 to {MAX_BODY_BYTES} bytes of JSON")
            raw = self._read(length)
            try:
                body = json.loads(raw)
            except RecursionError:
                raise BadRequest(HTTPStatus.BAD_REQUEST, "the body is nested too deeply") from None
            except ValueError:  # not JSON, not UTF-8, or a number too long to read
                raise BadRequest(HTTPStatus.BAD_REQUEST, "the body is not JSON labelops can read") from None
            if not isinstance(body, dict):
                raise BadRequest(HTTPStatus.BAD_REQUEST, "the body is not a JSON object")
            return body

        def _read(self, length: int) -> bytes:
            deadline, chunks, got = time.monotonic() + request_seconds, [], 0
            try:
                while got < length:
                    remaining = deadline - time.monotonic()
                    if remaining <= 0:
                        raise TimeoutError
                    self.connection.settimeout(remaining)
                    chunk = self.rfile.read1(length - got)
                    if not chunk:
                        raise BadRequest(HTTPStatus.BAD_REQUEST, "the body ended before its Content-Length")
                    chunks.append(chunk)
                    got += len(chunk)
            except TimeoutError:
                self.close_connection = True
                raise BadRequest(HTTPStatus.REQUEST_TIMEOUT, f"the body did not arrive within {request_seconds:g} s") \
                    from None
            finally:
                self.connection.settimeout(request_seconds)
            return b"".join(chunks)

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
            if self._refused():
                return
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
            if self._refused():
                return
            if self.path != "/feedback":
                self.close_connection = True
                return self._json(HTTPStatus.NOT_FOUND, {"errors": [f"nothing at {self.path}"]})
            if not secrets.compare_digest(self.headers.get("X-Review-Token", "").encode(), app.token.encode()):
                self.close_connection = True
                return self._json(HTTPStatus.FORBIDDEN, {"errors": ["missing or wrong X-Review-Token"]})
            try:
                body = self._body()
            except BadRequest as error:
                return self._json(error.status, {"errors": [error.message]})
            try:
                status, reply = app.submit(body)
            except Exception:  # noqa: BLE001 - the client gets an answer, the log the traceback
                log.exception("review: could not check a verdict")
                status, reply = HTTPStatus.INTERNAL_SERVER_ERROR, {"errors": ["the server could not check the verdict"]}
            self._json(status, reply)

    return Handler


@contextmanager
def serve_review(root: DataRoot, run_id: str | None = None, host: str = "127.0.0.1", port: int = 0,
                 request_timeout: float = REQUEST_SECONDS) -> Iterator[str]:
    """Serve the review page in a background thread; yields its URL (``port=0``: a free port).

    It answers to loopback names, ``host`` and the names in ``LABELOPS_REVIEW_HOSTS`` only."""
    app = ReviewApp(root, run_id)
    server = ThreadingHTTPServer((host, port), None)
    hosts = allowed_hosts(host, server.server_address[1], get_settings().review_host_names)
    server.RequestHandlerClass = _handler(app, hosts, request_timeout)
    server.daemon_threads = True
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
                       edits: int = 30, reviewer: str = "demo-reviewer",
                       checker: FactChecker | None = None) -> list[dict[str, Any]]:
    """What a careful reviewer would say of ``labels``, for the demo. The reviewer knows the
    catalogue: ``checker`` (default: the fact checker of ``listings``) finds what is wrong.

    - A label with findings is never accepted: the first ``edits`` of them are corrected (the
      clauses with findings removed, the product's true facts stated: :func:`reviewed_description`),
      the others rejected with their findings as the reason.
    - Of the clean labels, the ones furthest from the shop's own description (sentence chrF) are
      rejected until ``reject_share`` of all labels are, and the next ones, while edits are left,
      rewritten from the shop's own description (grounded in the product's facts).
    - The rest are accepted. An edit never has findings itself, so a retraining learns from
      corrections, not from the model's own mistakes.

    Verdicts are timestamped in label order (one a second), so rejections are spread over time.
    """
    from datetime import timedelta

    from sacrebleu.metrics import CHRF

    from labelops.textgen.serialize import clean_description, reference_tags

    checker = checker or FactChecker.from_listings(listings.values())
    chrf = CHRF()
    wrong: dict[str, list[str]] = {}
    scored = []
    for label in labels:
        listing = listings.get(label["listing_id"]) or {}
        found = [str(f) for f in checker.check(label["description"], listing)] or list(label.get("findings") or [])
        if found:
            wrong[label["label_id"]] = found
            continue
        reference = clean_description(listing.get("description"))
        scored.append((chrf.sentence_score(label["description"] or "", [reference]).score if reference else 50.0,
                       label["label_id"]))
    corrected = set(list(wrong)[:edits])
    clean = [label_id for _, label_id in sorted(scored)]
    rejected = set(wrong) - corrected
    rejected |= set(clean[: max(0, round(reject_share * len(labels)) - len(rejected))])
    rewritten = set([label_id for label_id in clean if label_id not in rejected][: max(0, edits - len(corrected))])
    start = datetime.now(timezone.utc) - timedelta(seconds=len(labels))
    verdicts = []
    for n, label in enumerate(labels):
        listing = listings.get(label["listing_id"]) or {}
        record: dict[str, Any] = {"feedback_id": f"demo-{label['label_id']}", "label_id": label["label_id"],
                                  "listing_id": label["listing_id"], "reviewer": reviewer,
                                  "timestamp": (start + timedelta(seconds=n)).isoformat()}
        edit = None
        if label["label_id"] in corrected:
            edit = reviewed_description(label["description"], listing, checker)
        elif label["label_id"] in rewritten:
            edit = reviewed_description(clean_description(listing.get("description")), listing, checker)
        if label["label_id"] in rejected:
            reason = ("; ".join(wrong[label["label_id"]]) if label["label_id"] in wrong
                      else "reads unlike a description of this product")
            record.update(verdict="reject", reason=reason[:2000], rating=1)
        elif edit:
            record.update(verdict="edit", edited_description=edit, edited_tags=reference_tags(listing), rating=3)
        elif label["label_id"] in wrong:  # nothing of it could be kept: rejected, never accepted
            record.update(verdict="reject", reason="; ".join(wrong[label["label_id"]])[:2000], rating=1)
        else:
            record.update(verdict="accept", rating=4)
        verdicts.append(record)
    return verdicts


def reviewed_description(text: str, listing: dict[str, Any], checker: FactChecker | None = None) -> str:
    """How the demo's reviewer corrects a description: the clauses with findings of ``checker``
    (or stating what the product's facts do not support) removed, then every fact the text leaves
    out stated; if the whole still has findings, the product's facts alone. Empty when nothing
    can be said (no facts)."""
    from labelops.textgen.grounding import complete, ground

    checker = checker or FactChecker()
    edited = complete(ground(text or "", listing, checker), listing)
    if not edited.strip() or checker.check(edited, listing):
        edited = complete("", listing)
    return edited if edited.strip() and not checker.check(edited, listing) else ""
