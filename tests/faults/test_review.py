"""The review server against a hostile web page and hostile clients: DNS rebinding, slow and
malformed requests, oversized fields, and image paths that lead out of the data root."""

from __future__ import annotations

import http.client
import json
import os
import socket
import time
from urllib.parse import urlsplit

import pytest

from labelops.catalog import FEEDBACK_INBOX
from labelops.feedback import MAX_REASON_CHARS
from labelops.labels import read_labels
from labelops.review import serve_review
from labelops.storage import DataRoot
from tests.helpers.feedback import write_labels


@pytest.fixture
def root(data_root) -> DataRoot:
    root = DataRoot(str(data_root))
    (data_root.parent / "secret.txt").write_text("the neighbour's password")
    (data_root / "images").mkdir()
    (data_root / "images" / "red.png").write_bytes(b"\x89PNG\r\n\x1a\nnot really")
    os.symlink(data_root.parent / "secret.txt", data_root / "images" / "link.png")
    write_labels(root, "run-h", 6, changes={0: {"image": "../secret.txt"}, 1: {"image": "images/link.png"},
                                             2: {"image": "images/red.png"}})
    return root


def request(url: str, method: str = "GET", path: str = "/", body: bytes | None = None,
            headers: dict[str, str] | None = None, timeout: float = 10) -> tuple[int, bytes]:
    parts = urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=timeout)
    connection.putrequest(method, path, skip_host=True, skip_accept_encoding=True)
    headers = {"Host": parts.netloc, **(headers or {})}
    if body is not None:
        headers.setdefault("Content-Length", str(len(body)))
    for name, value in headers.items():
        connection.putheader(name, value)
    connection.endheaders(body)
    response = connection.getresponse()
    try:
        return response.status, response.read()
    finally:
        connection.close()


def token_of(url: str) -> str:
    status, html = request(url)
    assert status == 200
    return html.decode().split('TOKEN = "', 1)[1].split('"', 1)[0]


def verdict(root: DataRoot, **extra) -> bytes:
    label = read_labels(root).iloc[4]
    return json.dumps({"label_id": label["label_id"], "verdict": "accept", "reviewer": "Bo", **extra}).encode()


def post(url: str, body: bytes, token: str, headers: dict[str, str] | None = None) -> tuple[int, dict]:
    status, reply = request(url, "POST", "/feedback", body, {"X-Review-Token": token,
                                                            "Content-Type": "application/json", **(headers or {})})
    return status, json.loads(reply)


def test_a_foreign_host_gets_neither_the_page_nor_its_token(root):
    with serve_review(root) as url:
        token = token_of(url)
        port = urlsplit(url).port
        for host in ("attacker.example", f"attacker.example:{port}", f"127.0.0.1.attacker.example:{port}"):
            status, body = request(url, headers={"Host": host})
            assert status in (403, 421) and token.encode() not in body, host
            status, _ = post(url, verdict(root), token, {"Host": host})
            assert status in (403, 421), host
        status, _ = post(url, verdict(root), token, {"Origin": "http://attacker.example"})
        assert status == 403
        assert request(url, headers={"Host": f"localhost:{port}"})[0] == 200
        assert post(url, verdict(root), token, {"Origin": f"http://127.0.0.1:{port}"})[0] == 201
    assert len(root.listdir(FEEDBACK_INBOX)) == 1  # only the same-origin verdict


def test_a_configured_host_is_accepted(root, monkeypatch):
    from labelops.settings import get_settings

    monkeypatch.setenv("LABELOPS_REVIEW_HOSTS", "review.shop.internal, labels.example:8443")
    get_settings.cache_clear()
    with serve_review(root) as url:
        assert request(url, headers={"Host": "review.shop.internal"})[0] == 200
        assert request(url, headers={"Host": "labels.example:8443"})[0] == 200
        assert request(url, headers={"Host": "labels.example:9999"})[0] in (403, 421)


def test_malformed_requests_get_a_clean_400(root):
    with serve_review(root) as url:
        token = token_of(url)
        nested = b'{"label_id": ' + b"[" * 30_000 + b"]" * 30_000 + b"}"
        cases = {
            "nested 30,000 deep": nested,
            "a number of 5,000 digits": verdict(root)[:-1] + b', "rating": ' + b"9" * 5000 + b"}",
            "a rating of 10**400": verdict(root)[:-1] + b', "rating": 1' + b"0" * 400 + b"}",
            "not UTF-8": b'{"reviewer": "\xff"}',
        }
        for case, body in cases.items():
            status, reply = post(url, body, token)
            assert status == 400 and reply["errors"], case
        for length in ("abc", "-5", "1e3"):
            status, reply = request(url, "POST", "/feedback", b"{}",
                                    {"X-Review-Token": token, "Content-Length": length})
            assert status == 400 and b"Content-Length" in reply, length
        assert post(url, verdict(root), token)[0] == 201  # and the server still works


def test_text_fields_are_limited(root):
    with serve_review(root) as url:
        token = token_of(url)
        status, reply = post(url, verdict(root, verdict="reject", reason="r" * (MAX_REASON_CHARS + 1)), token)
        assert status == 400 and "reason" in reply["errors"][0]
        status, reply = post(url, verdict(root, reviewer="n" * 500), token)
        assert status == 400 and "reviewer" in reply["errors"][0]
        status, reply = post(url, verdict(root, reason="x" * 100_000), token)
        assert status == 413
    assert root.listdir(FEEDBACK_INBOX) == []


def test_a_slow_body_times_out_and_does_not_block_the_server(root):
    with serve_review(root, request_timeout=1.0) as url:
        token = token_of(url)
        parts = urlsplit(url)
        slow = socket.create_connection((parts.hostname, parts.port), timeout=10)
        slow.sendall(f"POST /feedback HTTP/1.1\r\nHost: {parts.netloc}\r\nX-Review-Token: {token}\r\n"
                     "Content-Type: application/json\r\nContent-Length: 100\r\n\r\n".encode() + b'{"label_id"')
        started = time.monotonic()
        assert request(url)[0] == 200  # another client is served meanwhile
        reply = slow.recv(4096)
        assert time.monotonic() - started < 5
        assert reply.startswith(b"HTTP/1.0 408") or reply.startswith(b"HTTP/1.1 408") or reply == b""
        slow.close()


def test_the_image_route_serves_only_images_inside_the_data_root(root):
    labels = read_labels(root).sort_values("listing_id")
    with serve_review(root) as url:
        outside, linked, inside = (labels.iloc[i]["label_id"] for i in range(3))
        for label_id in (outside, linked):
            status, body = request(url, path=f"/image/{label_id}")
            assert status == 404 and b"password" not in body
        status, body = request(url, path=f"/image/{inside}")
        assert status == 200 and body.startswith(b"\x89PNG")
