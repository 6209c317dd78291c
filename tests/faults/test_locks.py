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


def test_a_held_lease_is_renewed_so_a_long_holder_keeps_it(s3_data):
    """A holder that outlives ``lease_seconds`` keeps its lease (renewed every third of it)."""
    with exclusive(s3_data, "gate", timeout=5, lease_seconds=1.5):
        first = s3_data.read_json("locks/gate.lease")
        time.sleep(2.5)  # past the first expiry
        with pytest.raises(LockTimeout):
            with exclusive(s3_data, "gate", timeout=0.5, lease_seconds=1.5):
                pass
        renewed = s3_data.read_json("locks/gate.lease")
        assert renewed["owner"] == first["owner"] and renewed["expires_at"] > first["expires_at"]
    assert not s3_data.exists("locks/gate.lease")


def test_named_locks_live_in_the_data_root_on_s3(s3_root):
    """The gate's lock per model (and every named lock) is a lease in the bucket, so it holds across machines."""
    from labelops.promotion import champion_lock
    from labelops.settings import get_settings

    client, bucket = s3_root
    root = DataRoot(get_settings().data)
    with champion_lock("product-text-generator"):
        assert root.exists("locks/product-text-generator.lease")
        with pytest.raises(Exception, match="another gate"):
            with champion_lock("product-text-generator", timeout=0.5):
                pass
    assert not any(key.endswith(".lease") for key in object_keys(client, bucket))


def test_named_locks_on_a_local_root_are_files_under_its_locks_folder(data_root):
    from labelops.locks import named_lock

    with named_lock("retrain-trigger") as where:
        assert where == str(data_root / "locks" / "retrain-trigger.lock")
