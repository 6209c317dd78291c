"""Reviewers' feedback on labels: the contract, the inbox, validation and the feedback table.

Feedback arrives as JSON lines, one verdict a line, in the data root's inbox
``feedback/inbox/*.jsonl`` (what a shop's back office exports, and what the review page writes,
see :mod:`labelops.review`), or as a file given by hand (``labelops feedback FILE``). Each
collection is a *batch* (a time-ordered id):

1. every line is read; a line that is not a JSON object is rejected as ``not_json``;
2. the lines are checked by the ``feedback`` Great Expectations suite
   (``expectations/feedback.json``): known label id, the listing that label belongs to,
   verdict ``accept``/``edit``/``reject``, an edit carries edited text, no markup in edited text,
   rating 1–5, a reviewer and a timestamp; then by the :class:`Feedback` contract (types);
3. valid lines are appended to the feedback table (``feedback/table/<batch_id>.parquet``) unless a
   row with the same ``feedback_id`` is already there: feeding the same file twice changes
   nothing. Invalid lines go to ``quarantine/feedback-<batch_id>.parquet`` with the raw line,
   where it came from and why it was rejected; nothing is lost;
4. inbox files are moved to ``feedback/processed/<batch_id>/`` (a file given by hand stays where it is).

A line may leave out ``feedback_id`` (then it is derived from label, reviewer, verdict and
timestamp, so re-exports stay idempotent), ``listing_id`` and the model versions (taken from the
label), and ``timestamp`` (the time it is read).
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Literal

import pandas as pd
import pyarrow as pa
from pydantic import BaseModel, Field, ValidationError, field_validator

from labelops.crawl import new_crawl_id
from labelops.labels import contains_markup
from labelops.storage import DataRoot
from labelops.validation import SuiteValidator

log = logging.getLogger(__name__)

SUITE = "feedback"
INBOX = "feedback/inbox"
PROCESSED = "feedback/processed"
TABLE = "feedback/table"
VERDICTS = ("accept", "edit", "reject")
MAX_EDIT_CHARS = 2000


class Feedback(BaseModel):
    """One reviewer's verdict on one label (a row of the feedback table)."""

    feedback_id: str = Field(min_length=1, description="unique per verdict; the key that makes collection idempotent")
    label_id: str
    listing_id: str
    text_model_version: str | None = None
    image_model_version: str | None = None
    verdict: Literal["accept", "edit", "reject"]
    edited_description: str | None = Field(None, max_length=MAX_EDIT_CHARS)
    edited_tags: list[str] | None = None
    rating: int | None = Field(None, ge=1, le=5)
    reason: str | None = None
    reviewer: str = Field(min_length=1)
    timestamp: datetime = Field(description="when the reviewer gave the verdict (UTC)")
    batch_id: str = Field("", description="the collection that stored it")
    received_at: datetime | None = Field(None, description="when labelops stored it (UTC)")

    @field_validator("timestamp", "received_at")
    @classmethod
    def _utc(cls, value: datetime | None) -> datetime | None:
        if value is not None and value.tzinfo is None:
            return value.replace(tzinfo=timezone.utc)
        return value.astimezone(timezone.utc) if value is not None else None


FEEDBACK_SCHEMA = pa.schema([
    pa.field("feedback_id", pa.string(), nullable=False),
    pa.field("label_id", pa.string(), nullable=False),
    pa.field("listing_id", pa.string(), nullable=False),
    pa.field("text_model_version", pa.string()),
    pa.field("image_model_version", pa.string()),
    pa.field("verdict", pa.string(), nullable=False),
    pa.field("edited_description", pa.string()),
    pa.field("edited_tags", pa.list_(pa.string())),
    pa.field("rating", pa.int64()),
    pa.field("reason", pa.string()),
    pa.field("reviewer", pa.string(), nullable=False),
    pa.field("timestamp", pa.timestamp("us", tz="UTC"), nullable=False),
    pa.field("batch_id", pa.string(), nullable=False),
    pa.field("received_at", pa.timestamp("us", tz="UTC"), nullable=False),
])
REJECTED_SCHEMA = pa.schema([
    pa.field("source", pa.string(), nullable=False),
    pa.field("line_number", pa.int64(), nullable=False),
    pa.field("line", pa.string(), nullable=False),
    pa.field("failed_expectations", pa.list_(pa.string()), nullable=False),
    pa.field("error", pa.string(), nullable=False),
    pa.field("batch_id", pa.string(), nullable=False),
])


def quarantine_path(batch_id: str) -> str:
    return f"quarantine/feedback-{batch_id}.parquet"


def table_part(batch_id: str) -> str:
    return f"{TABLE}/{batch_id}.parquet"


# ------------------------------------------------------------------------------------ labels
LABEL_COLUMNS = ["label_id", "listing_id", "run_id", "snapshot_id", "created_at", "title", "description", "tags",
                 "image", "image_generated", "text_model_version", "image_model_version"]


def label_runs(root: DataRoot) -> list[str]:
    """Ids of the label runs with a labels table, oldest first (run ids are not time-ordered)."""
    runs = [run for run in root.listdir("labels") if root.exists(f"labels/{run}/labels.parquet")]
    return sorted(runs, key=lambda run: root.fs.modified(root.path(f"labels/{run}/labels.parquet")))


def read_labels(root: DataRoot, run_ids: Iterable[str] | None = None) -> pd.DataFrame:
    """The valid labels of ``run_ids`` (default: every run), indexed by ``label_id``."""
    frames = [root.read_parquet(f"labels/{run}/labels.parquet", columns=LABEL_COLUMNS).to_pandas()
              for run in (label_runs(root) if run_ids is None else run_ids)]
    if not frames:
        return pd.DataFrame(columns=LABEL_COLUMNS).set_index("label_id", drop=False)
    labels = pd.concat(frames, ignore_index=True).drop_duplicates("label_id", keep="last")  # ids are unique; .loc stays scalar
    return labels.set_index("label_id", drop=False)


# ------------------------------------------------------------------------------------ lines in
@dataclass
class Line:
    """One line of a feedback file, as read."""

    source: str
    number: int
    text: str


def read_lines(root: DataRoot, relative: str | None = None, url: str | None = None) -> Iterator[Line]:
    """The non-blank lines of a file under the data root (``relative``) or anywhere fsspec reaches (``url``)."""
    import fsspec

    opener = root.open(relative, "r", encoding="utf-8") if relative is not None else \
        fsspec.open(url, "r", encoding="utf-8")
    with opener as handle:
        for number, text in enumerate(handle, start=1):
            if text.strip():
                yield Line(relative or str(url), number, text.rstrip("\n"))


def inbox_files(root: DataRoot) -> list[str]:
    """Feedback files waiting in the inbox (``*.jsonl``), relative to the data root, in name order."""
    return [f"{INBOX}/{name}" for name in root.listdir(INBOX) if name.endswith(".jsonl")]


def derived_feedback_id(record: Mapping[str, Any]) -> str:
    key = "\x00".join(str(record.get(k) or "") for k in ("label_id", "reviewer", "verdict", "timestamp"))
    return "fb-" + hashlib.sha256(key.encode()).hexdigest()[:16]


def _text(value: Any) -> str | None:
    if value is None or isinstance(value, (dict, list)):
        return None
    text = str(value).strip()
    return text or None


def _timestamp(value: Any, default: datetime) -> datetime | None:
    if value in (None, ""):
        return default
    try:
        stamp = pd.Timestamp(value)
    except (ValueError, TypeError):
        return None
    if pd.isna(stamp):
        return None
    return (stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")).to_pydatetime()


def _rating(value: Any) -> float | None:
    if value in (None, ""):
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        return -1.0  # not a number: outside the rating bounds


def check_frame(records: list[dict[str, Any]], labels: pd.DataFrame, now: datetime) -> pd.DataFrame:
    """One row per parsed line with the columns the ``feedback`` suite checks (derived, never stored)."""
    rows = []
    for record in records:
        label_id, listing_id = _text(record.get("label_id")), _text(record.get("listing_id"))
        label = labels.loc[label_id] if label_id is not None and label_id in labels.index else None
        verdict = _text(record.get("verdict"))
        edited = _text(record.get("edited_description"))
        tags = record.get("edited_tags")
        tags_ok = tags is None or (isinstance(tags, list) and all(isinstance(t, str) for t in tags))
        edited_text = " ".join([edited or "", *(tags if tags_ok and tags else [])])
        rows.append({
            "label_id": label_id,
            "verdict": verdict,
            "reviewer": _text(record.get("reviewer")),
            "rating": _rating(record.get("rating")),
            "label_known": label is not None,
            "listing_matches_label": label is not None and (listing_id is None or listing_id == label["listing_id"]),
            "edit_has_text": verdict != "edit" or bool(edited) or bool(tags_ok and tags),
            "edited_text_markup_free": not contains_markup(edited_text),
            "edited_tags_are_strings": tags_ok,
            "edited_description_length": len(edited or ""),
            "timestamp_valid": _timestamp(record.get("timestamp"), now) is not None,
        })
    return pd.DataFrame(rows)


def to_feedback(record: dict[str, Any], label: Mapping[str, Any], batch_id: str, now: datetime) -> Feedback:
    """The contract row of a line that passed the suite (missing ids and versions from its label)."""
    values = {k: v for k, v in record.items() if k in Feedback.model_fields and v not in (None, "")}
    values.setdefault("listing_id", label["listing_id"])
    for key in ("text_model_version", "image_model_version"):
        if key not in values and not pd.isna(label.get(key)):
            values[key] = label.get(key)
    values["timestamp"] = _timestamp(record.get("timestamp"), now)
    values.setdefault("feedback_id", derived_feedback_id({**record, "timestamp": values["timestamp"].isoformat()}))
    for key in ("text_model_version", "image_model_version"):
        if values.get(key) is not None:
            values[key] = str(values[key])
    return Feedback(**values, batch_id=batch_id, received_at=now)


def _contract_error(error: ValidationError) -> str:
    return "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in error.errors())


# ------------------------------------------------------------------------------------ the table
def read_feedback(root: DataRoot) -> pd.DataFrame:
    """Every stored feedback row (the feedback table), oldest batch first."""
    parts = [name for name in root.listdir(TABLE) if name.endswith(".parquet")]
    if not parts:
        return FEEDBACK_SCHEMA.empty_table().to_pandas()
    return pa.concat_tables([root.read_parquet(f"{TABLE}/{name}").cast(FEEDBACK_SCHEMA) for name in parts]).to_pandas()


def stored_ids(root: DataRoot) -> set[str]:
    parts = [name for name in root.listdir(TABLE) if name.endswith(".parquet")]
    return {i for name in parts for i in root.read_parquet(f"{TABLE}/{name}", columns=["feedback_id"]).column(0).to_pylist()}


class FeedbackBatch(BaseModel):
    """What one collection did."""

    batch_id: str
    files: list[str] = Field(default_factory=list)
    lines: int = 0
    stored: int = 0
    duplicates: int = 0
    rejected: int = 0
    verdicts: dict[str, int] = Field(default_factory=dict)
    failed_expectations: dict[str, int] = Field(default_factory=dict)
    errors: list[str] = Field(default_factory=list, description="the first rejected lines, one message each")
    table: str | None = None
    quarantine: str | None = None

    def to_markdown(self) -> str:
        lines = ["# Feedback collected", "", f"batch `{self.batch_id}` from {len(self.files)} file(s)", "",
                 "| | |", "|---|---|", f"| lines read | {self.lines} |", f"| stored | {self.stored} |",
                 f"| already stored (ignored) | {self.duplicates} |", f"| rejected (quarantined) | {self.rejected} |"]
        lines += [f"| verdict `{v}` | {n} |" for v, n in sorted(self.verdicts.items())]
        lines += [f"| broke `{name}` | {n} |" for name, n in sorted(self.failed_expectations.items())]
        if self.errors:
            lines += ["", "First rejected lines:", ""] + [f"- {e}" for e in self.errors]
        return "\n".join(lines)


MAX_ERRORS_SHOWN = 20


@dataclass
class Incoming:
    """The lines of one collection: the inbox's files and the files given by hand."""

    batch_id: str
    inbox: list[str]
    files: list[str]
    lines: list[Line]


@dataclass
class Rejected:
    line: Line
    names: list[str]
    message: str


@dataclass
class Checked:
    """Lines sorted into new valid feedback, duplicates of stored feedback, and rejected lines."""

    incoming: Incoming
    valid: list[Feedback]
    rejected: list[Rejected]
    duplicates: int


def read_incoming(root: DataRoot, files: Iterable[str] = (), batch_id: str | None = None) -> Incoming:
    """Every line waiting in the inbox, and in ``files`` (local paths or any fsspec URL)."""
    inbox, files = inbox_files(root), list(files)
    lines = [line for relative in inbox for line in read_lines(root, relative=relative)]
    lines += [line for url in files for line in read_lines(root, url=url)]
    return Incoming(batch_id=batch_id or new_crawl_id(), inbox=inbox, files=files, lines=lines)


def check_incoming(root: DataRoot, incoming: Incoming, now: datetime | None = None,
                   labels: pd.DataFrame | None = None, validator: SuiteValidator | None = None) -> Checked:
    """Parse every line, run the ``feedback`` suite and the contract, and set aside what is stored already.

    Idempotent on ``feedback_id``: a line whose id is stored already (or appeared earlier in the
    batch) is a duplicate and changes nothing. ``labels`` and ``validator`` may be given by a
    caller that checks many small batches (the review page).
    """
    now = now or datetime.now(timezone.utc)
    rejected: list[Rejected] = []
    parsed: list[tuple[Line, dict[str, Any]]] = []
    for line in incoming.lines:
        try:
            record = json.loads(line.text)
        except json.JSONDecodeError as error:
            rejected.append(Rejected(line, ["not_json"], f"not JSON: {error.msg} at column {error.colno}"))
            continue
        if not isinstance(record, dict):
            rejected.append(Rejected(line, ["not_json"], "not a JSON object"))
            continue
        parsed.append((line, record))

    if labels is None:
        labels = read_labels(root) if parsed else read_labels(root, [])
    frame = check_frame([record for _, record in parsed], labels, now)
    failures = (validator or SuiteValidator(SUITE)).validate(frame).failures if parsed else {}
    known = stored_ids(root)
    valid: list[Feedback] = []
    duplicates = 0
    for position, (line, record) in enumerate(parsed):
        if position in failures:
            names = sorted(set(failures[position]))
            rejected.append(Rejected(line, names, explain(names, record)))
            continue
        label = labels.loc[_text(record["label_id"])]
        try:
            feedback = to_feedback(record, label, incoming.batch_id, now)
        except ValidationError as error:
            rejected.append(Rejected(line, ["contract"], f"does not fit the Feedback contract: {_contract_error(error)}"))
            continue
        if feedback.feedback_id in known:
            duplicates += 1
            continue
        known.add(feedback.feedback_id)
        valid.append(feedback)
    rejected.sort(key=lambda r: (r.line.source, r.line.number))
    return Checked(incoming=incoming, valid=valid, rejected=rejected, duplicates=duplicates)


def store_feedback(root: DataRoot, checked: Checked) -> FeedbackBatch:
    """Append the valid feedback to the table, quarantine the rejected lines, move inbox files to processed/."""
    incoming, batch_id = checked.incoming, checked.incoming.batch_id
    batch = FeedbackBatch(batch_id=batch_id, files=[*incoming.inbox, *incoming.files], lines=len(incoming.lines),
                          stored=len(checked.valid), duplicates=checked.duplicates, rejected=len(checked.rejected))
    if checked.valid:
        table = pa.Table.from_pylist([f.model_dump() for f in checked.valid], schema=FEEDBACK_SCHEMA)
        with root.parquet_writer(table_part(batch_id), FEEDBACK_SCHEMA) as sink:
            sink.write(table)
        batch.table = root.uri(table_part(batch_id))
    if checked.rejected:
        with root.parquet_writer(quarantine_path(batch_id), REJECTED_SCHEMA) as sink:
            sink.write(pa.Table.from_pylist([
                {"source": r.line.source, "line_number": r.line.number, "line": r.line.text,
                 "failed_expectations": r.names, "error": r.message, "batch_id": batch_id} for r in checked.rejected],
                schema=REJECTED_SCHEMA))
        batch.quarantine = root.uri(quarantine_path(batch_id))
    for relative in incoming.inbox:
        root.move(relative, f"{PROCESSED}/{batch_id}/{relative.rsplit('/', 1)[-1]}")

    batch.verdicts = dict(Counter(f.verdict for f in checked.valid))
    batch.failed_expectations = dict(Counter(name for r in checked.rejected for name in r.names))
    batch.errors = [f"{r.line.source} line {r.line.number}: {r.message}" for r in checked.rejected[:MAX_ERRORS_SHOWN]]
    for error in batch.errors:
        log.warning("feedback rejected: %s", error)
    log.info("feedback batch %s: %d lines, %d stored (%s), %d already stored, %d rejected (%s)", batch_id, batch.lines,
             batch.stored, batch.table or "nothing new", batch.duplicates, batch.rejected, batch.quarantine or "none")
    return batch


def collect_feedback(root: DataRoot, files: Iterable[str] = (), batch_id: str | None = None,
                     now: datetime | None = None) -> FeedbackBatch:
    """Read → check → store, in one call (the feedback flow runs the three as tasks)."""
    return store_feedback(root, check_incoming(root, read_incoming(root, files, batch_id), now))


EXPLANATIONS = {
    "label_known": "label_id {label_id!r} is not a label labelops wrote",
    "listing_matches_label": "listing_id {listing_id!r} is not the listing of label {label_id!r}",
    "verdict_known": "verdict {verdict!r} is not one of accept, edit, reject",
    "edit_has_text": "an edit needs edited_description or edited_tags",
    "edited_text_markup_free": "edited text contains markup or script",
    "edited_tags_are_strings": "edited_tags must be a list of strings",
    "edited_description_length": f"edited_description is longer than {MAX_EDIT_CHARS} characters",
    "rating_in_bounds": "rating {rating!r} is not a whole number from 1 to 5",
    "reviewer_present": "reviewer is missing",
    "timestamp_valid": "timestamp {timestamp!r} is not a date and time",
}


def explain(names: list[str], record: Mapping[str, Any]) -> str:
    """One plain sentence per broken expectation, for the person who exported the file."""
    values = {k: record.get(k) for k in ("label_id", "listing_id", "verdict", "rating", "timestamp")}
    return "; ".join(EXPLANATIONS.get(name, name).format(**values) for name in names)


def write_inbox(root: DataRoot, records: Iterable[Mapping[str, Any]], name: str) -> str:
    """Drop feedback records in the inbox as one JSON-lines file (its own file: safe on every
    filesystem, nothing is appended); returns its path relative to the data root."""
    if not re.fullmatch(r"[A-Za-z0-9_.-]+", name):
        raise ValueError(f"inbox file name {name!r} must be letters, digits, '.', '_' or '-'")
    relative = f"{INBOX}/{name}.jsonl"
    with root.open(relative, "w", encoding="utf-8") as handle:
        handle.writelines(json.dumps(dict(record), ensure_ascii=False, default=str) + "\n" for record in records)
    return relative


# ------------------------------------------------------------------------------------ into training
class FeedbackTargets(BaseModel):
    """How reviewers' verdicts changed a training set."""

    edited: int = 0
    accepted_as_target: int = 0
    rejected: int = 0
    test_rows_untouched: int = 0


def latest_received(root: DataRoot) -> datetime | None:
    """When the newest stored feedback arrived (what a training that uses feedback records)."""
    table = read_feedback(root)
    return None if table.empty else table["received_at"].max().to_pydatetime()


def apply_to_training(rows: list[dict[str, Any]], feedback: pd.DataFrame, labels: pd.DataFrame,
                      until: datetime | None, is_test: Any) -> tuple[list[dict[str, Any]], FeedbackTargets]:
    """Reviewers' verdicts (received up to ``until``) applied to a snapshot's rows before training.

    Per listing, the newest verdict counts:

    - **edit**: the reviewer's description replaces the shop's as the target, and their tags (if
      any) replace the reference tags; a person's text is a better target than a scraped one;
    - **accept** of a listing the shop gave no description: the accepted generated description
      becomes its target (a person vouched for it); otherwise nothing changes;
    - **reject**: nothing changes: a rejected generated text never becomes a target (and generated
      text is never a target unless a person accepted it).

    Rows of the frozen test split (``is_test(listing_id)``) are left as the shop published them,
    so every model is still measured against the same references.
    """
    counts = FeedbackTargets()
    if feedback.empty or until is None:
        return rows, counts
    used = feedback[feedback["received_at"] <= pd.Timestamp(until)]
    newest = {r["listing_id"]: r for r in newest_verdicts(used, per="listing_id").to_dict("records")}
    out = []
    for row in rows:
        verdict = newest.get(row["listing_id"])
        if verdict is None:
            out.append(row)
            continue
        if is_test(row["listing_id"]):
            counts.test_rows_untouched += 1
            out.append(row)
            continue
        if verdict["verdict"] == "edit":
            tags = verdict.get("edited_tags")
            row = {**row, "description": verdict.get("edited_description") or row.get("description"),
                   "reviewed_tags": list(tags) if tags is not None and len(tags) else None}
            counts.edited += 1
        elif verdict["verdict"] == "accept" and not row.get("description") and verdict["label_id"] in labels.index:
            row = {**row, "description": labels.loc[verdict["label_id"], "description"]}
            counts.accepted_as_target += 1
        elif verdict["verdict"] == "reject":
            counts.rejected += 1
        out.append(row)
    return out, counts


def newest_verdicts(feedback: pd.DataFrame, per: str = "label_id") -> pd.DataFrame:
    """The newest verdict per ``label_id`` (or per ``listing_id``): a reviewer may change their mind."""
    if feedback.empty:
        return feedback
    return feedback.sort_values(["timestamp", "received_at"]).groupby(per, sort=False).tail(1)
