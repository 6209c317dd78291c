"""Reviewers' feedback on labels: the contract, the inbox, validation and the feedback table.

Feedback arrives as JSON lines, one verdict a line, in the data root's inbox
``feedback/inbox/*.jsonl`` (what a shop's back office exports, and what the review page writes,
see :mod:`labelops.review`), or as a file given by hand (``labelops feedback FILE``). Each
collection is a *batch* (a time-ordered id):

1. every line is read; a line that is not UTF-8 (``not_utf8``), longer than
   :data:`MAX_LINE_BYTES` (``line_too_long``) or not a JSON object (``not_json``: also nesting
   too deep and numbers too long for the parser) is rejected;
2. the lines are checked by the ``feedback`` Great Expectations suite
   (``expectations/feedback.json``): known label id, the listing that label belongs to,
   verdict ``accept``/``edit``/``reject``, an edit carries edited text, no markup in edited text,
   rating 1–5, a reviewer and a timestamp; then by the :class:`Feedback` contract (types);
3. valid lines are appended to the feedback table (``feedback/table/<batch_id>.parquet``) unless a
   row with the same ``feedback_id`` is already there: feeding the same file twice changes
   nothing. Invalid lines go to ``quarantine/feedback-<batch_id>.parquet`` with the raw line,
   where it came from and why it was rejected; nothing is lost;
4. inbox files are moved to ``feedback/processed/<batch_id>/`` (a file given by hand stays where it is).

What the stored verdicts change in a training set is :mod:`labelops.feedback_training`.

One collection runs at a time per data root (:func:`collection_lock`, across processes and
machines). A bad line never stops a collection: whatever goes wrong with one line, it is
quarantined with the reason and the other lines are stored.

A line may leave out ``feedback_id`` (then it is derived from its content: label, reviewer, verdict
and timestamp, or, without a timestamp, the whole line, so re-exports and files fed twice stay
idempotent), ``listing_id`` and the model versions (taken from the label), and ``timestamp`` (the
time it is read).
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import re
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Annotated, Any, Literal

import pandas as pd
import pyarrow as pa
from pydantic import BaseModel, Field, ValidationError, field_validator

from labelops import catalog
from labelops.arrow_schema import arrow_schema
from labelops.ids import time_ordered_id
from labelops.labels import contains_markup, read_labels
from labelops.locks import exclusive
from labelops.markdown import table
from labelops.storage import DataRoot
from labelops.validation import DataDocs, SuiteValidator

log = logging.getLogger(__name__)

SUITE = "feedback"
VERDICTS = ("accept", "edit", "reject")
MAX_EDIT_CHARS = 2000
MAX_REASON_CHARS = 2000
MAX_REVIEWER_CHARS = 200
MAX_ID_CHARS = 200
MAX_TAGS = 100
MAX_TAG_CHARS = 200
MAX_LINE_BYTES = 256 * 1024
"""A feedback line longer than this is not read (quarantined as ``line_too_long``)."""


class Feedback(BaseModel):
    """One reviewer's verdict on one label (a row of the feedback table)."""

    feedback_id: str = Field(min_length=1, max_length=MAX_ID_CHARS,
                             description="unique per verdict; the key that makes collection idempotent")
    label_id: str = Field(max_length=MAX_ID_CHARS)
    listing_id: str = Field(max_length=MAX_ID_CHARS)
    text_model_version: str | None = Field(None, max_length=MAX_ID_CHARS)
    image_model_version: str | None = Field(None, max_length=MAX_ID_CHARS)
    verdict: Literal["accept", "edit", "reject"]
    edited_description: str | None = Field(None, max_length=MAX_EDIT_CHARS)
    edited_tags: list[Annotated[str, Field(max_length=MAX_TAG_CHARS)]] | None = Field(None, max_length=MAX_TAGS)
    rating: int | None = Field(None, ge=1, le=5)
    reason: str | None = Field(None, max_length=MAX_REASON_CHARS)
    reviewer: str = Field(min_length=1, max_length=MAX_REVIEWER_CHARS)
    timestamp: datetime = Field(description="when the reviewer gave the verdict (UTC)")
    batch_id: str = Field("", description="the collection that stored it")
    received_at: datetime | None = Field(None, description="when labelops stored it (UTC)")

    @field_validator("timestamp", "received_at")
    @classmethod
    def _utc(cls, value: datetime | None) -> datetime | None:
        if value is not None and value.tzinfo is None:
            return value.replace(tzinfo=timezone.utc)
        return value.astimezone(timezone.utc) if value is not None else None


FEEDBACK_SCHEMA = arrow_schema(Feedback, not_null=("feedback_id", "label_id", "listing_id", "verdict", "reviewer",
                                                  "timestamp", "batch_id", "received_at"))
"""The feedback table's Arrow schema (from :class:`Feedback`; a stored verdict has its batch and time)."""
REJECTED_SCHEMA = pa.schema([
    pa.field("source", pa.string(), nullable=False),
    pa.field("line_number", pa.int64(), nullable=False),
    pa.field("line", pa.string(), nullable=False),
    pa.field("failed_expectations", pa.list_(pa.string()), nullable=False),
    pa.field("error", pa.string(), nullable=False),
    pa.field("batch_id", pa.string(), nullable=False),
])


# ------------------------------------------------------------------------------------ lines in
@dataclass
class Line:
    """One line of a feedback file, as read."""

    source: str
    number: int
    text: str
    problem: tuple[str, str] | None = None  # (expectation, reason) when the line could not be read


SAMPLE_CHARS = 500  # of a line too long to keep


def read_lines(root: DataRoot, relative: str | None = None, url: str | None = None) -> Iterator[Line]:
    """The non-blank lines of a file under the data root (``relative``) or anywhere fsspec reaches (``url``).

    Read as bytes, a line at a time and never more than :data:`MAX_LINE_BYTES` of one, so a line
    that is not UTF-8 or is too long comes back with its ``problem`` instead of stopping the file.
    An inbox file that cannot be read at all comes back as one line (number 0) with the reason; a
    file given by hand that cannot be read raises, for the person who named it.
    """
    import fsspec

    source = relative or str(url)
    try:
        opener = root.open(relative, "rb") if relative is not None else fsspec.open(url, "rb")
        with opener as handle:
            for number, (raw, complete) in enumerate(_raw_lines(handle, MAX_LINE_BYTES), start=1):
                line = _decoded(source, number, raw, complete)
                if line is not None:
                    yield line
    except OSError as error:
        if relative is None:
            raise
        yield Line(source, 0, "", ("file_readable", f"the file could not be read: {error}"))


def _raw_lines(handle: Any, limit: int, chunk: int = 1 << 16) -> Iterator[tuple[bytes, bool]]:
    """(line, whether it is whole) for each line of a binary file; a line over ``limit`` bytes
    comes back cut at ``limit`` and the rest of it is skipped, not held in memory."""
    pending, skipping = b"", False
    while True:
        block = handle.read(chunk)
        if not block:
            break
        pending += block
        while (end := pending.find(b"\n")) >= 0:
            if not skipping:
                yield (pending[:end], True) if end <= limit else (pending[:limit], False)
            pending, skipping = pending[end + 1:], False
        if len(pending) > limit and not skipping:
            yield pending[:limit], False
            skipping = True
        if skipping:
            pending = b""
    if pending and not skipping:
        yield pending, True


def _decoded(source: str, number: int, raw: bytes, complete: bool) -> Line | None:
    if not complete:
        sample = raw[:SAMPLE_CHARS].decode("utf-8", "backslashreplace")
        return Line(source, number, sample + "…",
                    ("line_too_long", f"the line is longer than {MAX_LINE_BYTES} bytes"))
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as error:
        return Line(source, number, raw.decode("utf-8", "backslashreplace").rstrip("\r"),
                    ("not_utf8", f"not UTF-8 text (byte {error.start + 1} is {raw[error.start]:#04x})"))
    return Line(source, number, text.rstrip("\r")) if text.strip() else None


def inbox_files(root: DataRoot) -> list[str]:
    """Feedback files waiting in the inbox (``*.jsonl``), relative to the data root, in name order."""
    return [f"{catalog.FEEDBACK_INBOX}/{name}" for name in root.listdir(catalog.FEEDBACK_INBOX) if name.endswith(".jsonl")]


def derived_feedback_id(record: Mapping[str, Any]) -> str:
    """An id from the line's content: label, reviewer, verdict and timestamp; a line without a
    timestamp hashes all of its fields, so the same line gives the same id whenever it is read."""
    if record.get("timestamp") in (None, ""):
        key = json.dumps({k: v for k, v in record.items() if k != "feedback_id"}, sort_keys=True, ensure_ascii=False,
                         separators=(",", ":"), default=str)
    else:
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
    except (ValueError, TypeError, OverflowError):
        return None
    if pd.isna(stamp):
        return None
    return (stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")).to_pydatetime()


def _rating(value: Any) -> float | None:
    if value is None or (isinstance(value, str) and not value):
        return None
    try:
        rating = float(value)
    except (TypeError, ValueError, OverflowError):
        return -1.0  # not a number, or too large for one: outside the rating bounds
    return rating if math.isfinite(rating) else -1.0


def check_row(record: Mapping[str, Any], labels: pd.DataFrame, now: datetime) -> dict[str, Any]:
    """The columns the ``feedback`` suite checks, of one parsed line."""
    label_id, listing_id = _text(record.get("label_id")), _text(record.get("listing_id"))
    label = labels.loc[label_id] if label_id is not None and label_id in labels.index else None
    verdict = _text(record.get("verdict"))
    edited = _text(record.get("edited_description"))
    tags = record.get("edited_tags")
    tags_ok = tags is None or (isinstance(tags, list) and all(isinstance(t, str) for t in tags))
    edited_text = " ".join([edited or "", *(tags if tags_ok and tags else [])])
    return {
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
    }


def to_feedback(record: dict[str, Any], label: Mapping[str, Any], batch_id: str, now: datetime) -> Feedback:
    """The contract row of a line that passed the suite (missing ids and versions from its label)."""
    values = {k: v for k, v in record.items() if k in Feedback.model_fields and v not in (None, "")}
    values.setdefault("listing_id", label["listing_id"])
    for key in ("text_model_version", "image_model_version"):
        if key not in values and not pd.isna(label.get(key)):
            values[key] = label.get(key)
    values["timestamp"] = _timestamp(record.get("timestamp"), now)
    values.setdefault("feedback_id", derived_feedback_id(record if record.get("timestamp") in (None, "") else
                                                         {**record, "timestamp": values["timestamp"].isoformat()}))
    for key in ("text_model_version", "image_model_version"):
        if values.get(key) is not None:
            values[key] = str(values[key])
    return Feedback(**values, batch_id=batch_id, received_at=now)


def _contract_error(error: ValidationError) -> str:
    return "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in error.errors())


# ------------------------------------------------------------------------------------ the table
def read_feedback(root: DataRoot) -> pd.DataFrame:
    """Every stored feedback row (the feedback table), oldest batch first."""
    parts = [name for name in root.listdir(catalog.FEEDBACK_TABLE) if name.endswith(".parquet")]
    if not parts:
        return FEEDBACK_SCHEMA.empty_table().to_pandas()
    return pa.concat_tables([root.read_parquet(f"{catalog.FEEDBACK_TABLE}/{name}").cast(FEEDBACK_SCHEMA) for name in parts]).to_pandas()


def stored_ids(root: DataRoot) -> set[str]:
    parts = [name for name in root.listdir(catalog.FEEDBACK_TABLE) if name.endswith(".parquet")]
    return {i for name in parts for i in root.read_parquet(f"{catalog.FEEDBACK_TABLE}/{name}", columns=["feedback_id"]).column(0).to_pylist()}


class FeedbackBatch(BaseModel):
    """What one collection did."""

    batch_id: str
    files: list[str] = Field(default_factory=list)
    lines: int = 0
    stored: int = 0
    duplicates: int = 0
    rejected: int = 0
    quarantined_before: int = Field(0, description="rejected lines already in the quarantine (not stored again)")
    verdicts: dict[str, int] = Field(default_factory=dict)
    failed_expectations: dict[str, int] = Field(default_factory=dict)
    errors: list[str] = Field(default_factory=list, description="the first rejected lines, one message each")
    table: str | None = None
    quarantine: str | None = None

    def to_markdown(self) -> str:
        counts = [["lines read", self.lines], ["stored", self.stored], ["already stored (ignored)", self.duplicates],
                  ["rejected (quarantined)", self.rejected]]
        if self.quarantined_before:
            counts.append(["rejected before (already quarantined)", self.quarantined_before])
        counts += [[f"verdict `{v}`", n] for v, n in sorted(self.verdicts.items())]
        counts += [[f"broke `{name}`", n] for name, n in sorted(self.failed_expectations.items())]
        lines = ["# Feedback collected", "", f"batch `{self.batch_id}` from {len(self.files)} file(s)", "",
                 *table(["", ""], counts)]
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
    return Incoming(batch_id=batch_id or time_ordered_id(), inbox=inbox, files=files, lines=lines)


def check_incoming(root: DataRoot, incoming: Incoming, now: datetime | None = None,
                   labels: pd.DataFrame | None = None, validator: SuiteValidator | None = None) -> Checked:
    """Parse every line, run the ``feedback`` suite and the contract, and set aside what is stored already.

    Idempotent on ``feedback_id``: a line whose id is stored already (or appeared earlier in the
    batch) is a duplicate and changes nothing. ``labels`` and ``validator`` may be given by a
    caller that checks many small batches (the review page); without ``validator`` the batch's
    validation joins the data root's Data Docs.
    """
    now = now or datetime.now(timezone.utc)
    rejected: list[Rejected] = []
    parsed: list[tuple[Line, dict[str, Any]]] = []
    for line in incoming.lines:
        record, problem = parse_line(line)
        if problem is not None:
            rejected.append(Rejected(line, [problem[0]], problem[1]))
        else:
            parsed.append((line, record))

    if labels is None:
        labels = read_labels(root) if parsed else read_labels(root, [])
    rows, checkable = [], []
    for line, record in parsed:
        try:
            rows.append(check_row(record, labels, now))
            checkable.append((line, record))
        except Exception as error:  # noqa: BLE001 - whatever one line does, the others are stored
            rejected.append(Rejected(line, ["checkable"],
                                     f"could not be checked: {type(error).__name__}: {_cut(error)}"))
    failures = {}
    if rows and validator is not None:
        failures = validator.validate(pd.DataFrame(rows)).failures
    elif rows:  # a collection: its validation joins the data root's Data Docs
        docs = DataDocs(root)
        failures = SuiteValidator(SUITE, docs=docs).validate(pd.DataFrame(rows)).failures
        log.info("feedback validation in the Data Docs: %s", docs.publish())
    known = stored_ids(root)
    valid: list[Feedback] = []
    duplicates = 0
    for position, (line, record) in enumerate(checkable):
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
        except Exception as error:  # noqa: BLE001
            rejected.append(Rejected(line, ["contract"], f"could not be read as feedback: {type(error).__name__}: "
                                                          f"{_cut(error)}"))
            continue
        if feedback.feedback_id in known:
            duplicates += 1
            continue
        known.add(feedback.feedback_id)
        valid.append(feedback)
    rejected.sort(key=lambda r: (r.line.source, r.line.number))
    return Checked(incoming=incoming, valid=valid, rejected=rejected, duplicates=duplicates)


def parse_line(line: Line) -> tuple[dict[str, Any] | None, tuple[str, str] | None]:
    """(the line's JSON object, None), or (None, (expectation, reason)) for a line that is not one."""
    if line.problem is not None:
        return None, line.problem
    try:
        record = json.loads(line.text)
    except json.JSONDecodeError as error:
        return None, ("not_json", f"not JSON: {error.msg} at column {error.colno}")
    except RecursionError:
        return None, ("not_json", "not JSON labelops can read: nested too deeply")
    except ValueError as error:  # int("1" * 5000): more digits than Python converts
        detail = "a number with too many digits" if "digits" in str(error) else _cut(error)
        return None, ("not_json", f"not JSON labelops can read: {detail} ({_cut(error, 60)})")
    if not isinstance(record, dict):
        return None, ("not_json", "not a JSON object")
    return record, None


def _cut(value: Any, limit: int = 200) -> str:
    text = str(value)
    return text if len(text) <= limit else text[:limit] + "…"


def quarantined_lines(root: DataRoot) -> set[tuple[str, int, str]]:
    """(source, line number, line) of every feedback line quarantined so far."""
    names = [name for name in root.listdir(catalog.QUARANTINE) if name.startswith(catalog.FEEDBACK_QUARANTINE_PREFIX) and name.endswith(".parquet")]
    return {(row["source"], row["line_number"], row["line"]) for name in names
            for row in root.read_parquet(f"{catalog.QUARANTINE}/{name}", columns=["source", "line_number", "line"]).to_pylist()}


def store_feedback(root: DataRoot, checked: Checked) -> FeedbackBatch:
    """Append the valid feedback to the table, quarantine the rejected lines, move inbox files to processed/.

    Each step can be repeated: a collection killed half-way and run again stores no verdict twice
    (ids) and quarantines no line twice (the same line of the same file is quarantined once)."""
    incoming, batch_id = checked.incoming, checked.incoming.batch_id
    batch = FeedbackBatch(batch_id=batch_id, files=[*incoming.inbox, *incoming.files], lines=len(incoming.lines),
                          stored=len(checked.valid), duplicates=checked.duplicates, rejected=len(checked.rejected))
    if checked.valid:
        table = pa.Table.from_pylist([f.model_dump() for f in checked.valid], schema=FEEDBACK_SCHEMA)
        with root.parquet_writer(catalog.feedback_table_part(batch_id), FEEDBACK_SCHEMA) as sink:
            sink.write(table)
        batch.table = root.uri(catalog.feedback_table_part(batch_id))
    known = quarantined_lines(root) if checked.rejected else set()
    new = [r for r in checked.rejected if (r.line.source, r.line.number, r.line.text) not in known]
    batch.quarantined_before = len(checked.rejected) - len(new)
    if new:
        with root.parquet_writer(catalog.feedback_quarantine_path(batch_id), REJECTED_SCHEMA) as sink:
            sink.write(pa.Table.from_pylist([
                {"source": r.line.source, "line_number": r.line.number, "line": r.line.text,
                 "failed_expectations": r.names, "error": r.message, "batch_id": batch_id} for r in new],
                schema=REJECTED_SCHEMA))
        batch.quarantine = root.uri(catalog.feedback_quarantine_path(batch_id))
    for relative in incoming.inbox:
        try:
            if root.exists(relative):
                root.move(relative, f"{catalog.FEEDBACK_PROCESSED}/{batch_id}/{relative.rsplit('/', 1)[-1]}")
        except OSError as error:  # it stays in the inbox; read again, it adds nothing twice
            log.warning("could not move %s to %s/: %s", root.uri(relative), catalog.FEEDBACK_PROCESSED, error)

    batch.verdicts = dict(Counter(f.verdict for f in checked.valid))
    batch.failed_expectations = dict(Counter(name for r in checked.rejected for name in r.names))
    batch.errors = [f"{r.line.source} line {r.line.number}: {r.message}" for r in checked.rejected[:MAX_ERRORS_SHOWN]]
    for error in batch.errors:
        log.warning("feedback rejected: %s", error)
    log.info("feedback batch %s: %d lines, %d stored (%s), %d already stored, %d rejected (%s)", batch_id, batch.lines,
             batch.stored, batch.table or "nothing new", batch.duplicates, batch.rejected, batch.quarantine or "none")
    return batch


COLLECTION_LOCK = "feedback-collection"


@contextmanager
def collection_lock(root: DataRoot, timeout: float = 600) -> Iterator[str]:
    """Hold while reading, checking and storing a batch: one collection at a time per data root, so
    two never read the same inbox file or store the same verdict (:func:`labelops.locks.exclusive`)."""
    with exclusive(root, COLLECTION_LOCK, timeout) as where:
        yield where


def collect_feedback(root: DataRoot, files: Iterable[str] = (), batch_id: str | None = None,
                     now: datetime | None = None) -> FeedbackBatch:
    """Read → check → store, in one call under :func:`collection_lock` (the feedback flow runs the
    three as tasks, under the same lock)."""
    with collection_lock(root):
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
    values = {k: _Shown(record.get(k)) for k in ("label_id", "listing_id", "verdict", "rating", "timestamp")}
    return "; ".join(EXPLANATIONS.get(name, name).format(**values) for name in names)


class _Shown:
    """A value as an explanation shows it: its repr, cut short (a 10**400 rating is not repeated in full)."""

    def __init__(self, value: Any) -> None:
        self.value = value

    def __repr__(self) -> str:
        try:
            return _cut(repr(self.value), 80)
        except ValueError:  # an int too long to print
            return "<a number too long to show>"

    __str__ = __repr__


def write_inbox(root: DataRoot, records: Iterable[Mapping[str, Any]], name: str) -> str:
    """Drop feedback records in the inbox as one JSON-lines file (its own file: safe on every
    filesystem, nothing is appended); returns its path relative to the data root. The file
    appears whole when it is complete (:meth:`DataRoot.open`), so a collection running meanwhile
    reads all of it or none of it."""
    if not re.fullmatch(r"[A-Za-z0-9_.-]+", name):
        raise ValueError(f"inbox file name {name!r} must be letters, digits, '.', '_' or '-'")
    relative = f"{catalog.FEEDBACK_INBOX}/{name}.jsonl"
    with root.open(relative, "w", encoding="utf-8") as handle:
        handle.writelines(json.dumps(dict(record), ensure_ascii=False, default=str) + "\n" for record in records)
    return relative


VERDICT_CONTENT = ("label_id", "reviewer", "verdict", "edited_description", "edited_tags", "rating", "reason")


def distinct_verdicts(feedback: pd.DataFrame) -> pd.DataFrame:
    """Feedback rows with each verdict once: the first row of each ``feedback_id``, then of each
    content (label, reviewer, verdict, edits, rating, reason), so a verdict stored twice (two
    collections at once, or an id derived from the time it was read) counts once."""
    if feedback.empty:
        return feedback
    once = feedback.drop_duplicates("feedback_id")
    columns = [c for c in VERDICT_CONTENT if c in once.columns]
    content = once[columns].apply(lambda row: json.dumps([_plain(v) for v in row], default=str), axis=1)
    return once[~content.duplicated()]


def _plain(value: Any) -> Any:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    return list(value) if hasattr(value, "__len__") and not isinstance(value, str) else value


def newest_verdicts(feedback: pd.DataFrame, per: str = "label_id") -> pd.DataFrame:
    """The newest verdict per ``label_id`` (or per ``listing_id``): a reviewer may change their mind."""
    if feedback.empty:
        return feedback
    return feedback.sort_values(["timestamp", "received_at"]).groupby(per, sort=False).tail(1)
