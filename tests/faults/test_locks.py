"""One feedback collection at a time per data root, also on an object store (a lease object)."""

from __future__ import annotations

import json
import threading
import time
from datetime import datetime, timedelta, timezone

import pytest

from labelops.feedback import collect_feedback, read_feedback, write_inbox
from labelops.locks import LockTimeout, exclusive
from labelops.storage import DataRoot
from tests.helpers.feedback import write_labels
from tests.helpers.s3 import object_keys


@pytest.fixture
def s3_data(s3_root) -> DataRoot:
    client, bucket = s3_root
    return DataRoot(f"s3://{bucket}/labelops")


def test_a_lease_on_s3_lets_one_holder_in_at_a_time(s3_data, s3_root):
    order: list[str] = []
    inside = threading.Event()

    def first() -> None:
        with exclusive(s3_data, "collect", timeout=30):
            order.append("first in")
            inside.set()
            time.sleep(2)
            order.append("first out")

    thread = threading.Thread(target=first)
    thread.start()
    inside.wait(10)
    with pytest.raises(LockTimeout):
        with exclusive(s3_data, "collect", timeout=0.5):
            pass
    with exclusive(s3_data, "collect", timeout=30):
        order.append("second in")
    thread.join()
    assert order == ["first in", "first out", "second in"]
    client, bucket = s3_root
    assert not any(key.endswith(".lease") for key in object_keys(client, bucket))  # released


def test_an_expired_lease_of_a_dead_holder_is_broken(s3_data):
    expired = datetime.now(timezone.utc) - timedelta(minutes=1)
    with s3_data.open("locks/collect.lease", "wb") as handle:
        handle.write(json.dumps({"owner": "crashed-host:123", "expires_at": expired.isoformat()}).encode())
    with exclusive(s3_data, "collect", timeout=5) as where:
        assert where.endswith("locks/collect.lease")
        held = s3_data.read_json("locks/collect.lease")
        assert held["owner"] != "crashed-host:123"


def test_feedback_collects_on_s3_under_the_lease(s3_data):
    labels = write_labels(s3_data, "run-s3", 3)
    write_inbox(s3_data, [{"label_id": label.label_id, "verdict": "accept", "reviewer": "ana"} for label in labels],
                "export")
    assert collect_feedback(s3_data).stored == 3
    assert len(read_feedback(s3_data)) == 3 and collect_feedback(s3_data).lines == 0
