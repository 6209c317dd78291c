"""The ingest stages after the crawl: normalise → validate → publish.

Each stage streams through files in the data root, batch by batch, so memory stays flat
however many pages a crawl saw:

    raw/<crawl_id>/items.jsonl      (spider)      one raw product page a line
    raw/<crawl_id>/listings.parquet (normalise)   Listing rows (+ rows that could not be normalised)
    raw/<crawl_id>/valid.parquet    (validate)    rows that passed the listings suite
    quarantine/<crawl_id>.parquet   (validate)    rows that did not, with the expectation names
    snapshots/<snapshot_id>/        (publish)     the valid rows, immutable and content-addressed

Nothing is lost: every raw item is in ``valid`` or in the quarantine, and the reports count both.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Iterable, Iterator
from datetime import datetime, timezone
from itertools import islice

import pyarrow as pa
import pyarrow.parquet as pq
from pydantic import BaseModel, Field

from labelops import catalog
from labelops.contracts import LISTING_COLUMNS, LISTING_SCHEMA, QUARANTINE_SCHEMA, RawItem
from labelops.crawl import CrawlReport, raw_items_paths
from labelops.markdown import table
from labelops.normalize import to_listing
from labelops.snapshot import install_snapshot, set_latest
from labelops.storage import DataRoot
from labelops.validation import DataDocs, KeyCounts, SuiteValidator, validation_frame

log = logging.getLogger(__name__)

NOT_NORMALISABLE = "normalisable"


class IngestError(RuntimeError):
    """An ingest that must not publish (too many invalid rows, nothing crawled)."""


class NormalizeReport(BaseModel):
    crawl_id: str
    items: int
    listings: int
    not_normalisable: int
    path: str


class ValidationReport(BaseModel):
    crawl_id: str
    rows: int
    valid: int
    quarantined: int
    quarantined_by_reason: dict[str, int] = Field(default_factory=dict)
    valid_path: str
    quarantine_path: str
    validation_path: str
    data_docs: str | None = None

    @property
    def invalid_share(self) -> float:
        return self.quarantined / self.rows if self.rows else 0.0


class PublishReport(BaseModel):
    snapshot_id: str
    path: str
    rows: int
    already_existed: bool


def _batches(iterable: Iterable, size: int) -> Iterator[list]:
    iterator = iter(iterable)
    while batch := list(islice(iterator, size)):
        yield batch


def _unnormalisable_row(raw: dict, error: Exception) -> dict:
    """A row for the quarantine standing for a raw item that could not become a Listing."""
    row = {name: None for name in LISTING_COLUMNS}
    row.update(
        listing_id=str(raw.get("raw_hash") or "")[:16] or "unknown",
        url=str(raw.get("url") or ""),
        source=str(raw.get("source") or ""),
        crawled_at=raw.get("crawled_at") or datetime.now(timezone.utc),
        raw_hash=str(raw.get("raw_hash") or ""),
        category_path=[], attributes={}, image_urls=[], images=[],
    )
    log.warning("could not normalise %s: %s", row["url"], error)
    return row


def normalize_crawl(root: DataRoot, crawl_id: str, batch_rows: int = 2000) -> NormalizeReport:
    """Raw items of a crawl → Listing rows in ``raw/<crawl_id>/listings.parquet`` (a distributed
    crawl's parts, one per crawl process, all go into this one table)."""
    target = catalog.crawl_listings(crawl_id)
    items = listings = failed = 0
    sources = raw_items_paths(root, crawl_id) or [catalog.raw_items(crawl_id)]  # none: the missing file says so
    records = (record for path in sources for record in root.iter_jsonl(path))
    with root.parquet_writer(target, QUARANTINE_SCHEMA) as sink:
        for batch in _batches(records, batch_rows):
            rows = []
            for raw in batch:
                items += 1
                try:
                    row = to_listing(RawItem.model_validate(raw)).model_dump()
                    row["failed_expectations"] = []
                    listings += 1
                except Exception as error:  # noqa: BLE001 - kept in the quarantine, not dropped
                    row = _unnormalisable_row(raw, error)
                    row["failed_expectations"] = [NOT_NORMALISABLE]
                    failed += 1
                rows.append(row)
            sink.write(pa.Table.from_pylist(rows, schema=QUARANTINE_SCHEMA))
    log.info("normalised %d raw items of crawl %s: %d listings, %d not normalisable", items, crawl_id, listings, failed)
    return NormalizeReport(crawl_id=crawl_id, items=items, listings=listings, not_normalisable=failed, path=target)


def _key_counts(root: DataRoot, path: str) -> KeyCounts:
    counts = KeyCounts()
    keys = root.read_parquet(path, columns=["listing_id", "source", "sku"]).to_pylist()
    for row in keys:
        counts.add(row["listing_id"], row["source"], row["sku"])
    return counts


def validate_crawl(root: DataRoot, crawl_id: str, batch_rows: int = 20_000, data_docs: bool = True) -> ValidationReport:
    """Run the listings suite over a crawl's normalised rows; split them into valid and quarantined."""
    source = catalog.crawl_listings(crawl_id)
    valid_path, quarantine_path = catalog.crawl_valid(crawl_id), catalog.quarantine(crawl_id)
    validation_path = catalog.crawl_validation(crawl_id)
    docs = DataDocs(root) if data_docs else None
    validator = SuiteValidator("listings", docs=docs)
    keys = _key_counts(root, source)
    rows = valid = 0
    reasons: Counter[str] = Counter()
    results = []
    with root.open(source, "rb") as handle, root.parquet_writer(valid_path, LISTING_SCHEMA) as good, \
            root.parquet_writer(quarantine_path, QUARANTINE_SCHEMA) as bad:
        for record_batch in pq.ParquetFile(handle).iter_batches(batch_size=batch_rows):
            table = pa.Table.from_batches([record_batch], schema=QUARANTINE_SCHEMA)
            frame = table.select(LISTING_COLUMNS).to_pandas(maps_as_pydicts="strict")
            outcome = validator.validate(validation_frame(frame))
            results.append(outcome.result)
            records = table.to_pylist()
            passed, failed = [], []
            for position, record in enumerate(records):
                broken = list(dict.fromkeys(
                    record["failed_expectations"] + outcome.failures.get(position, []) + keys.duplicate_reasons(record)
                ))
                if broken:
                    record["failed_expectations"] = broken
                    reasons.update(broken)
                    failed.append(record)
                else:
                    passed.append({k: record[k] for k in LISTING_COLUMNS})
            good.write(pa.Table.from_pylist(passed, schema=LISTING_SCHEMA))
            bad.write(pa.Table.from_pylist(failed, schema=QUARANTINE_SCHEMA))
            rows += len(records)
            valid += len(passed)
    root.write_json(validation_path, results[0] if len(results) == 1 else {"batches": results})
    docs_url = docs.publish() if docs is not None else None
    report = ValidationReport(
        crawl_id=crawl_id, rows=rows, valid=valid, quarantined=rows - valid,
        quarantined_by_reason=dict(reasons.most_common()), valid_path=valid_path,
        quarantine_path=quarantine_path, validation_path=validation_path, data_docs=docs_url,
    )
    log.info("validated %d rows of crawl %s: %d valid, %d quarantined -> %s",
             rows, crawl_id, valid, report.quarantined, root.uri(quarantine_path))
    return report


def publish_snapshot(root: DataRoot, validation: ValidationReport, max_invalid_share: float,
                     manifest: dict | None = None) -> PublishReport:
    """Publish the valid rows as a content-addressed snapshot, unless too many rows were invalid."""
    if validation.rows == 0:
        raise IngestError(f"crawl {validation.crawl_id} found no product pages; nothing to publish")
    if validation.invalid_share > max_invalid_share:
        raise IngestError(
            f"{validation.quarantined} of {validation.rows} rows ({validation.invalid_share:.0%}) broke the listings "
            f"expectations, more than the allowed {max_invalid_share:.0%}; nothing was published. "
            f"Reasons: {validation.quarantined_by_reason}. Quarantine: {root.uri(validation.quarantine_path)}"
        )
    if validation.valid == 0:
        raise IngestError(f"no valid rows in crawl {validation.crawl_id}; nothing to publish")
    snapshot_id, existed = install_snapshot(
        root, validation.valid_path,
        manifest={"crawl_id": validation.crawl_id, "rows": validation.valid, "quarantined": validation.quarantined,
                  "quarantined_by_reason": validation.quarantined_by_reason, **(manifest or {})},
        files={"validation.json": validation.validation_path}, staging_name=validation.crawl_id,
    )
    target = catalog.snapshot_listings(snapshot_id)
    set_latest(root, snapshot_id, validation.crawl_id)
    log.info("snapshot %s %s: %d listings -> %s", snapshot_id, "unchanged" if existed else "published",
             validation.valid, root.uri(target))
    return PublishReport(snapshot_id=snapshot_id, path=root.uri(target), rows=validation.valid, already_existed=existed)


class IngestSummary(BaseModel):
    """Everything one ingest did, for people: saved as ``raw/<crawl_id>/ingest.json``."""

    data_root: str
    crawl: CrawlReport
    normalize: NormalizeReport | None = None
    validation: ValidationReport | None = None
    publish: PublishReport | None = None
    error: str | None = None

    @property
    def snapshot_id(self) -> str | None:
        return self.publish.snapshot_id if self.publish else None

    def reconciles(self) -> bool:
        """Every product page the spider saw is in the snapshot or in the quarantine."""
        if self.validation is None:
            return False
        return self.crawl.product_pages == self.crawl.items_written == self.validation.rows == (
            self.validation.valid + self.validation.quarantined
        )

    def counts(self) -> list[tuple[str, str]]:
        """What the ingest counted, in the order a person reads it (the CLI and the markdown)."""
        crawl, validation = self.crawl, self.validation
        rows = [
            ("pages seen", crawl.pages_seen),
            ("product pages (items)", crawl.product_pages),
            ("other pages", crawl.other_pages),
            ("pages failed", crawl.pages_failed),
            ("pages skipped (robots.txt)", crawl.pages_skipped_by_robots),
            ("images downloaded / failed", f"{crawl.images_downloaded} / {crawl.images_failed}"),
        ]
        if crawl.sites_robots_unreachable:
            rows.append(("sites not crawled: robots.txt unreachable", crawl.sites_robots_unreachable))
        if crawl.images_too_large or crawl.images_over_budget:
            rows.append(("images refused: too many pixels / over the crawl's budget",
                         f"{crawl.images_too_large} / {crawl.images_over_budget}"))
        if validation:
            rows += [("valid", validation.valid), ("quarantined", validation.quarantined)]
        rows.append(("crawl time", f"{crawl.seconds:.1f} s ({crawl.pages_per_second:.1f} pages/s)"))
        return [(name, str(value)) for name, value in rows]

    def locations(self) -> list[tuple[str, str]]:
        """Where each output went: ``(what, path or URL)``."""
        crawl, validation = self.crawl, self.validation
        rows = [("data root", self.data_root), ("raw items", crawl.items_path)]
        if validation:
            rows.append(("quarantine", validation.quarantine_path))
            if validation.data_docs:
                rows.append(("Data Docs", validation.data_docs))
        if self.publish:
            rows.append(("snapshot", self.publish.path))
        return [(what, str(where)) for what, where in rows]

    def to_markdown(self) -> str:
        crawl, validation = self.crawl, self.validation
        lines = [
            f"# Ingest {crawl.crawl_id}",
            "",
            f"**Result:** {'snapshot `' + self.snapshot_id + '`' if self.snapshot_id else 'nothing published'}"
            + (" (unchanged: same content as before)" if self.publish and self.publish.already_existed else ""),
            "",
            *table(["count", "value"], self.counts(), right={1}),
            "",
        ]
        if crawl.failures_by_reason:
            lines += ["## Failed pages by reason", "",
                      *table(["reason", "pages"], sorted(crawl.failures_by_reason.items()), right={1}), ""]
        if validation and validation.quarantined_by_reason:
            lines += ["## Quarantined by broken expectation", "",
                      *table(["expectation", "rows"], validation.quarantined_by_reason.items(), right={1}), ""]
        if self.error:
            lines += ["## Error", "", self.error, ""]
        lines += ["## Where things are", "",
                  *(f"- {what}: {where if what == 'Data Docs' else f'`{where}`'}" for what, where in self.locations())]
        return "\n".join(lines) + "\n"
