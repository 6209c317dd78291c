"""Labelling on a Dask cluster (a scheduler and two worker processes on 127.0.0.1): the same labels,
in the same order, the same validation and report counts as labelling in one process."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from labelops import catalog
from labelops.distributed import ClusterError, cluster_client, parse_local
from labelops.gate import GateResult, Writer
from labelops.labelling import label_snapshot, partitions
from labelops.registry import IMAGE_MODEL
from labelops.snapshot import read_snapshot
from labelops.storage import DataRoot
from tests.helpers.dask_cluster import dask_cluster
from tests.helpers.listings import publish_demo_snapshot

RUN_FIELDS = ("label_id", "run_id", "created_at", "image")  # differ between two runs by design


def comparable(root: DataRoot, run_id: str) -> list[dict]:
    """A run's labels in stored order without what names the run; a generated image by its bytes."""
    rows = []
    for row in root.read_parquet(catalog.labels_path(run_id)).to_pylist():
        image = row["image"]
        row = {k: v for k, v in row.items() if k not in RUN_FIELDS}
        if row["image_generated"]:
            with root.open(image, "rb") as handle:
                image = handle.read()
        row["image"] = image
        rows.append(row)
    return rows


@pytest.mark.timeout(240)
def test_a_two_worker_cluster_writes_the_labels_one_process_writes(data_root: Path, tmp_path: Path):
    root = DataRoot(str(data_root))
    snapshot = publish_demo_snapshot(root, 48, images=True)
    listings = read_snapshot(root, snapshot).num_rows
    for photo in sorted((data_root / "images").iterdir())[::3]:
        photo.unlink()  # a third of the products have no photo: a class-mean image stands in
    # text by the retrieve-and-fill baseline (no champion), images by the class means, tagged by the evaluator
    gates = [GateResult(model_name=IMAGE_MODEL, challenger_version=None, champion_before=None, champion_after=None,
                        promoted=False, summary="no challenger (test)",
                        writer=Writer(system="class_mean", reason="no image model (test)"))]

    alone = label_snapshot(snapshot, gates, batch_size=8)
    with dask_cluster(tmp_path / "cluster") as address:
        spread = label_snapshot(snapshot, gates, batch_size=8, cluster=address)

    assert alone.cluster == "" and spread.cluster == address and spread.run_id != alone.run_id
    assert len(spread.workers) == 2 and all(n > 0 for n in spread.workers.values())  # both workers labelled
    assert sum(spread.workers.values()) == spread.counts.valid + spread.counts.quarantined == listings
    assert spread.counts == alone.counts and alone.counts.generated_images > 0
    assert alone.image_model_version == spread.image_model_version == "baseline:class_mean"
    one, many = comparable(root, alone.run_id), comparable(root, spread.run_id)
    assert [r["listing_id"] for r in many] == [r["listing_id"] for r in one]  # the snapshot's order
    assert many == one
    assert sum(r["image_category"] is not None for r in many) > 0  # photos were tagged on the workers
    assert sum(r["text_image_score"] is not None for r in many) > 0  # and scored against their texts
    assert sum(r["image_text_score"] is not None for r in many) > 0  # so were the generated images
    for run in (alone, spread):  # validated, reported and published by the driver, as in one process
        assert (data_root / catalog.report_path(run.run_id)).exists()
        assert (data_root / catalog.label_manifest_path(run.run_id)).exists()


def test_partitions_are_whole_batches_in_order():
    assert partitions(20, 8) == [(0, 8), (8, 16), (16, 20)]
    assert partitions(20, 8, batches_per_partition=2) == [(0, 16), (16, 20)]
    assert partitions(0, 8) == []


def test_an_unreachable_scheduler_is_one_line_naming_it():
    with socket.socket() as free:
        free.bind(("127.0.0.1", 0))
        port = free.getsockname()[1]
    address = f"tcp://127.0.0.1:{port}"  # nothing listens there
    with pytest.raises(ClusterError) as error, cluster_client(address, timeout=2):
        pass
    assert address in str(error.value) and "\n" not in str(error.value)
    with pytest.raises(ValueError, match="local:N"):
        parse_local("local:0")
    with pytest.raises(ValueError, match="scheduler address"):
        with cluster_client("127.0.0.1:8786"):
            pass
