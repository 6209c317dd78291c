"""Writes under the data root are whole or absent: a failure mid-write never leaves half a file."""

from __future__ import annotations

import os

import pyarrow as pa
import pytest

from labelops.snapshot import latest_snapshot_id, set_latest
from labelops.storage import DataRoot
from tests.helpers.s3 import object_keys

SCHEMA = pa.schema([pa.field("n", pa.int64()), pa.field("text", pa.string())])
TABLE = "labels/run-a/labels.parquet"


def rows(n: int, start: int = 0) -> pa.Table:
    return pa.table({"n": list(range(start, start + n)), "text": [f"row {i} " * 20 for i in range(start, start + n)]},
                    schema=SCHEMA)


def write_table(root: DataRoot, relative: str, n: int) -> None:
    with root.parquet_writer(relative, SCHEMA) as sink:
        sink.write(rows(n))


def test_a_table_write_that_fails_leaves_the_previous_table_readable(tmp_path):
    root = DataRoot(str(tmp_path))
    write_table(root, TABLE, 3)
    with pytest.raises(OSError, match="disk full"):
        with root.parquet_writer(TABLE, SCHEMA) as sink:
            sink.write(rows(5000))
            raise OSError("disk full")  # the writer dies with half a table written
    assert root.read_parquet(TABLE).num_rows == 3  # not ArrowInvalid: the old table, whole
    assert os.listdir(tmp_path / "labels" / "run-a") == ["labels.parquet"]  # and no debris


def test_a_table_being_written_is_not_visible_until_it_is_complete(tmp_path):
    root = DataRoot(str(tmp_path))
    with root.parquet_writer(TABLE, SCHEMA) as sink:
        sink.write(rows(100))
        assert not root.exists(TABLE)  # a reader finds no table rather than a truncated one
        assert root.listdir("labels/run-a") == []  # the temporary file is not listed
    assert root.read_parquet(TABLE).num_rows == 100


def test_latest_json_is_replaced_whole(tmp_path):
    root = DataRoot(str(tmp_path))
    set_latest(root, "snap-a", "crawl-a")
    with pytest.raises(KeyboardInterrupt):
        with root.open("snapshots/latest.json", "w", encoding="utf-8") as handle:
            handle.write('{"snapshot_id": "snap-b", ')
            raise KeyboardInterrupt  # cancelled mid-write
    assert latest_snapshot_id(root) == "snap-a"
    set_latest(root, "snap-b", "crawl-b")
    assert latest_snapshot_id(root) == "snap-b"


def test_an_exclusive_write_fails_when_the_file_exists_and_keeps_it(tmp_path):
    root = DataRoot(str(tmp_path))
    with root.open("locks/one.json", "x", encoding="utf-8") as handle:
        handle.write("first")
    with pytest.raises(FileExistsError):
        with root.open("locks/one.json", "x", encoding="utf-8") as handle:
            handle.write("second")
    with root.open("locks/one.json", "r", encoding="utf-8") as handle:
        assert handle.read() == "first"
    assert root.listdir("locks") == ["one.json"]


def test_on_s3_a_failed_write_publishes_nothing(s3_root):
    client, bucket = s3_root
    root = DataRoot(f"s3://{bucket}/labelops")
    write_table(root, TABLE, 3)
    with pytest.raises(OSError, match="disk full"):
        with root.parquet_writer(TABLE, SCHEMA) as sink:
            sink.write(rows(5000))
            raise OSError("disk full")
    with pytest.raises(RuntimeError):
        with root.open("feedback/inbox/half.jsonl", "w", encoding="utf-8") as handle:
            handle.write('{"label_id": "x", ')
            raise RuntimeError
    assert root.read_parquet(TABLE).num_rows == 3
    assert object_keys(client, bucket) == {f"labelops/{TABLE}"}
    with root.open("locks/one.json", "xb") as handle:
        handle.write(b"first")
    with pytest.raises(FileExistsError):  # S3's If-None-Match
        with root.open("locks/one.json", "xb") as handle:
            handle.write(b"second")
