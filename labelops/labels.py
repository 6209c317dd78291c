"""The labels table: one :class:`Label` per listing of a snapshot, its Arrow schema, where a run's
files go, and how a run is stored and published (writing the labels is :mod:`labelops.labelling`).

Every label records what wrote it (the model versions, or ``baseline:<name>`` when the gate found
no model better than a baseline), the snapshot and the run, and the fact checker's findings on
its description (``findings``: each "kind: text (why)", and ``has_findings``; :mod:`labelops.factcheck`),
and whether its text and image agree (``text_image_score``, ``image_text_score`` and
``text_image_disagreement``: :mod:`labelops.textimage`).

Labels are checked by the ``labels`` Great Expectations suite: failing ones go to
``quarantine/labels-<run_id>.parquet`` with the expectations they broke, the others to
``labels/<run_id>/labels.parquet``. Nothing is dropped.

A run is published by ``labels/<run_id>/manifest.json``, written after everything else of the
run (:func:`publish_label_run`); readers take only runs that have one (:func:`label_run_complete`),
so a run still being written, or cut short by a crash, is never shown or labelled from.
"""

from __future__ import annotations

import hashlib
import logging
import re
from collections.abc import Iterable, Mapping
from datetime import datetime, timezone
from typing import Any

import pandas as pd
import pyarrow as pa
from pydantic import BaseModel, Field

from labelops import catalog
from labelops.arrow_schema import arrow_schema
from labelops.storage import DataRoot
from labelops.validation import DataDocs, SuiteValidator

log = logging.getLogger(__name__)

SUITE = "labels"


class Label(BaseModel):
    """The label of one listing (the ``labels`` table's row)."""

    label_id: str = Field(description="sha256 of run id and listing id, 16 hex digits")
    listing_id: str
    run_id: str
    snapshot_id: str
    created_at: datetime
    title: str | None = None
    description: str
    tags: list[str]
    guessed_tags: list[str] = Field(default_factory=list, description="tags read from the product's words for "
                                    "facts its listing lacks (the tag classifier's; also in tags)")
    category: str | None = Field(None, description="the product's top-level category: its listing's, else the one "
                                 "its words read as")
    text_category: str | None = Field(None, description="the top-level category the label's text reads as (None: "
                                      "it reads as none clearly)")
    image_category: str | None = None
    image_category_confidence: float | None = None
    categories_agree: bool | None = Field(None, description="whether the text's and the photo's category are the "
                                                            "same (None: one of them is missing)")
    image: str | None = Field(None, description="the product photo, or the generated image, relative to the data root")
    image_generated: bool = False
    text_model_version: str = Field(description="the text model's version, or baseline:<name>")
    text_source: str | None = Field(None, description="who wrote this description: 'model', or the baseline "
                                                      "('baseline:<name>') it fell back to when no candidate of "
                                                      "the model's was free of findings")
    image_model_version: str | None = Field(None, description="the image model's version, or baseline:<name>")
    has_findings: bool
    findings: list[str] = Field(default_factory=list, description="the fact checker's findings: kind: text (why)")
    text_image_score: float | None = Field(None, description="how well the description fits the product's photo "
                                           "(the snapshot's text-image scorer, cosine in [-1, 1]; None: no photo)")
    image_text_score: float | None = Field(None, description="how well the generated image fits the listing's text "
                                           "(None: no image was generated)")
    text_image_disagreement: bool | None = Field(None, description="a score below the scorer's disagreement "
                                                 "threshold (None: no score, or the scorer is not trusted)")


LABEL_SCHEMA = arrow_schema(Label, not_null=("label_id", "listing_id", "run_id", "snapshot_id", "created_at"))
"""The labels table's Arrow schema (from :class:`Label`)."""
LABEL_QUARANTINE_SCHEMA = LABEL_SCHEMA.append(pa.field("failed_expectations", pa.list_(pa.string()), nullable=False))


def publish_label_run(root: DataRoot, run_id: str, manifest: Mapping[str, Any]) -> str:
    """Mark a labels run complete: its manifest, written last (after the table, the images and the report)."""
    finished = datetime.now(timezone.utc).isoformat()
    root.write_json(catalog.label_manifest_path(run_id), {"run_id": run_id, "finished_at": finished, **manifest})
    return catalog.label_manifest_path(run_id)


def label_run_complete(root: DataRoot, run_id: str) -> bool:
    """Whether a labels run finished (its manifest is there); an unfinished one is not read."""
    return root.exists(catalog.label_manifest_path(run_id))


def label_id_of(run_id: str, listing_id: str) -> str:
    return hashlib.sha256(f"{run_id}\x00{listing_id}".encode()).hexdigest()[:16]


# ------------------------------------------------------------------------------------ validation
_MARKUP = re.compile(r"<\s*/?\s*[A-Za-z!]|javascript:|\bon[a-z]+\s*=", re.I)


def contains_markup(text: str) -> bool:
    """Whether generated or edited text holds a tag, a ``javascript:`` URL or an event handler."""
    return bool(_MARKUP.search(text or ""))


def validation_frame(labels: pd.DataFrame, expects_image_model: bool) -> pd.DataFrame:
    """The label columns plus the derived ones the labels suite checks (never stored)."""
    frame = labels.copy().reset_index(drop=True)
    frame["tag_count"] = frame["tags"].map(lambda t: 0 if t is None else len(t)).astype("int64")
    frame["tags_text"] = frame["tags"].map(lambda t: " | ".join(t) if t is not None else "")
    frame["markup_free"] = ~(frame["description"].fillna("").str.contains(_MARKUP) | frame["tags_text"].str.contains(_MARKUP))
    versions = frame["text_model_version"].notna()
    if expects_image_model:
        versions &= frame["image_model_version"].notna()
    frame["model_versions_present"] = versions
    return frame


def to_table(labels: Iterable[Label]) -> pa.Table:
    return pa.Table.from_pylist([label.model_dump() for label in labels], schema=LABEL_SCHEMA)


class LabelCounts(BaseModel):
    valid: int = 0
    quarantined: int = 0
    with_findings: int = 0
    text_fallbacks: int = 0  # descriptions the model's best baseline wrote (no clean candidate of the model's)
    guessed_tags: int = 0  # tags the tag classifier read from products' words for facts their listings lack
    category_disagreements: int = 0  # labels whose text and photo name different categories
    text_image_disagreements: int = 0  # labels whose text and image the text-image scorer finds do not fit
    generated_images: int = 0
    failed_expectations: dict[str, int] = Field(default_factory=dict)


def store_labels(root: DataRoot, run_id: str, batches: Iterable[list[Label]], expects_image_model: bool,
                 data_docs: bool = True) -> LabelCounts:
    """Validate each batch with the ``labels`` suite; valid labels to the labels table, the
    others to the quarantine with the expectations they broke. Each batch's validation joins the
    data root's Data Docs (unless ``data_docs`` is off)."""
    docs = DataDocs(root) if data_docs else None
    validator = SuiteValidator(SUITE, docs=docs)
    counts = LabelCounts()
    root.makedirs(catalog.label_run_dir(run_id))
    with root.parquet_writer(catalog.labels_path(run_id), LABEL_SCHEMA) as good, \
            root.parquet_writer(catalog.labels_quarantine_path(run_id), LABEL_QUARANTINE_SCHEMA) as bad:
        for batch in batches:
            table = to_table(batch)
            frame = validation_frame(table.to_pandas(), expects_image_model)
            failures = validator.validate(frame).failures
            keep = [i for i in range(table.num_rows) if i not in failures]
            rejected = sorted(failures)
            good.write(table.take(pa.array(keep, pa.int64())))  # typed: an empty list would be a null array
            if rejected:
                names = [sorted(set(failures[i])) for i in rejected]
                bad.write(table.take(pa.array(rejected, pa.int64())).append_column("failed_expectations", pa.array(names, pa.list_(pa.string()))))
                for row_names in names:
                    for name in row_names:
                        counts.failed_expectations[name] = counts.failed_expectations.get(name, 0) + 1
            counts.valid += len(keep)
            counts.quarantined += len(rejected)
            counts.with_findings += sum(label.has_findings for label in batch)
            counts.text_fallbacks += sum(label.text_source not in (None, "model", label.text_model_version)
                                         for label in batch)
            counts.generated_images += sum(label.image_generated for label in batch)
            counts.guessed_tags += sum(len(label.guessed_tags) for label in batch)
            counts.category_disagreements += sum(label.categories_agree is False for label in batch)
            counts.text_image_disagreements += sum(bool(label.text_image_disagreement) for label in batch)
    if counts.quarantined == 0:
        root.remove(catalog.labels_quarantine_path(run_id))
    if docs is not None:
        log.info("labels validation of run %s in the Data Docs: %s", run_id, docs.publish())
    log.info("labels of run %s: %d valid in %s, %d quarantined", run_id, counts.valid,
             root.uri(catalog.labels_path(run_id)), counts.quarantined)
    return counts


# ------------------------------------------------------------------------------------ reading
LABEL_COLUMNS = ["label_id", "listing_id", "run_id", "snapshot_id", "created_at", "title", "description", "tags",
                 "image", "image_generated", "text_model_version", "image_model_version"]


def label_runs(root: DataRoot) -> list[str]:
    """Ids of the finished label runs, oldest first (run ids are not time-ordered); a run without
    its manifest (still being written, or cut short) is left out and logged."""
    runs, unfinished = [], []
    for run in root.listdir(catalog.LABELS):
        if label_run_complete(root, run):
            runs.append(run)
        elif root.exists(catalog.labels_path(run)):
            unfinished.append(run)
    if unfinished:
        log.info("labels runs not finished (being written, or cut short; ignored): %s", ", ".join(unfinished))
    return sorted(runs, key=lambda run: root.fs.modified(root.path(catalog.label_manifest_path(run))))


def read_labels(root: DataRoot, run_ids: Iterable[str] | None = None) -> pd.DataFrame:
    """The valid labels of ``run_ids`` (default: every run), indexed by ``label_id``."""
    frames = [root.read_parquet(catalog.labels_path(run), columns=LABEL_COLUMNS).to_pandas()
              for run in (label_runs(root) if run_ids is None else run_ids)]
    if not frames:
        return pd.DataFrame(columns=LABEL_COLUMNS).set_index("label_id", drop=False)
    labels = pd.concat(frames, ignore_index=True).drop_duplicates("label_id", keep="last")  # ids are unique; .loc stays scalar
    return labels.set_index("label_id", drop=False)
