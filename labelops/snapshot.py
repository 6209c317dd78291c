"""Snapshots: immutable, content-addressed tables of valid listings.

``snapshots/<snapshot_id>/`` holds ``listings.parquet``, the Great Expectations result
(``validation.json``) and ``manifest.json`` (counts, crawl, time). The id is a hash of the
rows' content, independent of row order and crawl time, so the same pages give the same id.
``snapshots/latest.json`` names the snapshot the last successful ingest published.

**Splits** (:func:`split_of`) are a pure function of ``listing_id`` (sha256 → 0..99: < 80 train,
< 90 val, else test), so a product never moves between splits and every model (text and GAN) and
every gate of a snapshot measure on the same held-out rows.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from datetime import datetime, timezone

import pyarrow as pa
import pyarrow.parquet as pq

from labelops import catalog
from labelops.storage import DataRoot

# crawled_at changes with every crawl; it is not part of a listing's content.
_VOLATILE_COLUMNS = {"crawled_at"}


def split_of(listing_id: str) -> str:
    """``train``, ``val`` or ``test``: the frozen split of a listing."""
    bucket = int(hashlib.sha256(listing_id.encode()).hexdigest()[:8], 16) % 100
    return "train" if bucket < 80 else "val" if bucket < 90 else "test"


def row_digests(table: pa.Table) -> Iterator[str]:
    """A content digest per row (volatile columns left out)."""
    columns = [c for c in table.column_names if c not in _VOLATILE_COLUMNS]
    for row in table.select(columns).to_pylist():
        canonical = json.dumps(row, sort_keys=True, ensure_ascii=False, default=str, separators=(",", ":"))
        yield hashlib.sha256(canonical.encode()).hexdigest()


def snapshot_id_of(root: DataRoot, relative_parquet: str, batch_rows: int = 5000) -> str:
    """The snapshot id of a listings Parquet file, streamed batch by batch."""
    digests: list[str] = []
    with root.open(relative_parquet, "rb") as handle:
        for batch in pq.ParquetFile(handle).iter_batches(batch_size=batch_rows):
            digests.extend(row_digests(pa.Table.from_batches([batch])))
    digests.sort()
    return hashlib.sha256("\n".join(digests).encode()).hexdigest()[:16]


def install_snapshot(root: DataRoot, staged_listings: str, manifest: dict, files: dict[str, str] | None = None,
                     staging_name: str = "new") -> tuple[str, bool]:
    """Publish a staged listings Parquet file (and ``files``: name → staged path) as an immutable snapshot.

    Returns the snapshot id and whether that snapshot already existed: then nothing is written,
    the staged listings (a copy of the snapshot's) are removed and the other files stay where they are.
    """
    snapshot_id = snapshot_id_of(root, staged_listings)
    if root.exists(catalog.snapshot_listings(snapshot_id)):
        root.remove(staged_listings)
        return snapshot_id, True
    staging = catalog.snapshot_staging(staging_name)
    root.move(staged_listings, f"{staging}/listings.parquet")
    for name, path in (files or {}).items():
        root.move(path, f"{staging}/{name}")
    root.write_json(f"{staging}/manifest.json", {
        "snapshot_id": snapshot_id, "created_at": datetime.now(timezone.utc).isoformat(), **manifest})
    # listings.parquet last: on an object store its presence marks a complete snapshot (see above)
    root.move(staging, catalog.snapshot_dir(snapshot_id), last="listings.parquet")
    return snapshot_id, False


def publish_table(root: DataRoot, listings: pa.Table, manifest: dict | None = None) -> str:
    """Publish listings that did not come from a crawl (a rendered catalog, test data) as the latest snapshot.

    No validation happens here: use the ingest flow for anything scraped.
    """
    from labelops.contracts import LISTING_SCHEMA

    staged = catalog.snapshot_incoming(datetime.now(timezone.utc).strftime('%Y%m%dT%H%M%S%f'))
    with root.parquet_writer(staged, LISTING_SCHEMA) as sink:
        sink.write(listings)
    snapshot_id, _ = install_snapshot(root, staged, {"rows": listings.num_rows, **(manifest or {})},
                                      staging_name=staged.rsplit("-", 1)[-1].removesuffix(".parquet"))
    set_latest(root, snapshot_id, crawl_id=(manifest or {}).get("crawl_id", "none"))
    return snapshot_id


def snapshot_or_latest(root: DataRoot, snapshot_id: str | None, purpose: str) -> str:
    """``snapshot_id``, else the latest snapshot; ``ValueError`` when there is none (``purpose``:
    what it was wanted for, e.g. "train on")."""
    snapshot_id = snapshot_id or latest_snapshot_id(root)
    if snapshot_id is None:
        raise ValueError(f"no snapshot to {purpose}: run `labelops ingest` first")
    return snapshot_id


def published_snapshots(root: DataRoot) -> list[dict]:
    """The manifests of every complete snapshot (listings and manifest there), oldest first."""
    if not root.exists(catalog.SNAPSHOTS):
        return []
    manifests = [root.read_json(f"{catalog.snapshot_dir(name)}/manifest.json") for name in root.listdir(catalog.SNAPSHOTS)
                 if root.exists(catalog.snapshot_listings(name)) and root.exists(f"{catalog.snapshot_dir(name)}/manifest.json")]
    return sorted(manifests, key=lambda m: str(m.get("created_at", "")))


def latest_snapshot_id(root: DataRoot) -> str | None:
    """The snapshot the last successful ingest published, or None before the first one."""
    return root.read_json(catalog.LATEST_SNAPSHOT)["snapshot_id"] if root.exists(catalog.LATEST_SNAPSHOT) else None


def set_latest(root: DataRoot, snapshot_id: str, crawl_id: str) -> None:
    root.write_json(
        catalog.LATEST_SNAPSHOT,
        {"snapshot_id": snapshot_id, "crawl_id": crawl_id, "published_at": datetime.now(timezone.utc).isoformat()},
    )


def read_snapshot(root: DataRoot, snapshot_id: str | None = None, columns: list[str] | None = None) -> pa.Table:
    """The listings of a snapshot (the latest when ``snapshot_id`` is None)."""
    snapshot_id = snapshot_id or latest_snapshot_id(root)
    if snapshot_id is None:
        raise FileNotFoundError(f"no snapshot in {root.url}: run `labelops ingest` first")
    path = catalog.snapshot_listings(snapshot_id)
    if not root.exists(path):
        raise FileNotFoundError(f"snapshot {snapshot_id} not found in {root.url}")
    return root.read_parquet(path, columns=columns)
