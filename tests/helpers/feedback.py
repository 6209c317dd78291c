"""Helpers for the feedback tests: a labels table written as a generation run would."""

from __future__ import annotations

from datetime import datetime, timezone

import pyarrow as pa

from labelops.catalog import labels_path
from labelops.labels import LABEL_SCHEMA, Label, label_id_of, publish_label_run
from labelops.storage import DataRoot


def write_labels(root: DataRoot, run_id: str, count: int, snapshot_id: str = "snap", text_version: str = "3",
                 listing_ids: list[str] | None = None, changes: dict[int, dict] | None = None) -> list[Label]:
    """``count`` valid labels of run ``run_id`` in ``labels/<run_id>/labels.parquet``, published
    (the run's manifest); ``changes`` replaces fields of the i-th label."""
    listing_ids = listing_ids or [f"listing-{i}" for i in range(count)]
    now = datetime.now(timezone.utc)
    labels = [Label(label_id=label_id_of(run_id, listing), listing_id=listing, run_id=run_id, snapshot_id=snapshot_id,
                    created_at=now, title=f"Product {i}", description=f"A generated description of product {i}.",
                    tags=["clothing", f"tag{i}"], text_model_version=text_version, has_findings=False)
              for i, listing in enumerate(listing_ids[:count])]
    labels = [label.model_copy(update=(changes or {}).get(i, {})) for i, label in enumerate(labels)]
    with root.parquet_writer(labels_path(run_id), LABEL_SCHEMA) as sink:
        sink.write(pa.Table.from_pylist([label.model_dump() for label in labels], schema=LABEL_SCHEMA))
    publish_label_run(root, run_id, {"snapshot_id": snapshot_id, "labels": len(labels)})
    return labels
