"""The data catalog: every path under the data root, named once and used by name.

```
raw/<crawl_id>/items.jsonl            what the spider saw, one product page a line
raw/<crawl_id>/crawl.json             the crawl's counts
raw/<crawl_id>/parts/<worker>/        items.jsonl + crawl.json of one process of a distributed crawl
raw/<crawl_id>/listings.parquet       the normalised rows, before validation
raw/<crawl_id>/valid.parquet          the rows that met the listings suite
raw/<crawl_id>/validation.json        the listings suite's result
raw/<crawl_id>/ingest.json            the ingest's summary
images/<sha1>.jpg                     downloaded product images
snapshots/<snapshot_id>/              listings.parquet + validation.json + manifest.json
snapshots/latest.json                 the snapshot the last successful ingest published
quarantine/<crawl_id>.parquet         listings that broke expectations, with their names
quarantine/labels-<run_id>.parquet    labels that broke expectations
quarantine/feedback-<batch_id>.parquet  feedback lines that were rejected, with why
labels/<run_id>/                      labels.parquet, report.html, images/, manifest.json (last)
feedback/inbox/*.jsonl                verdicts waiting to be collected
feedback/processed/<batch_id>/        inbox files once collected
feedback/table/<batch_id>.parquet     the feedback table, a part per batch
feedback/triggers/*.json              the retraining triggers
locks/<name>.lock, <name>.lease       locks (files on a disk, lease objects on an object store)
data_docs/                            Great Expectations Data Docs (every suite, every validation kept)
validation_results/                   the validation results Data Docs are built from (GX's store)
mlartifacts/                          MLflow's artifacts (without a tracking server)
```
Paths under the root are relative to it ("images/ab12.jpg"), so a data root can move
(:class:`labelops.storage.DataRoot` reads and writes them).

Some folders stay on this machine whatever the data root (:func:`local_dir`, :func:`scratch_dir`):
training work folders, the image evaluator, the demo shop, the embedded Prefect.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from labelops.settings import Settings, private_dir

# ---------------------------------------------------------------------------------------------- crawls
IMAGES = "images"


def raw_items(crawl_id: str) -> str:
    return f"raw/{crawl_id}/items.jsonl"


def crawl_stats(crawl_id: str) -> str:
    return f"raw/{crawl_id}/crawl.json"


CRAWL_PARTS = "parts"


def crawl_parts(crawl_id: str) -> str:
    """The folder of a distributed crawl's parts, one per crawl process."""
    return f"raw/{crawl_id}/{CRAWL_PARTS}"


def raw_items_part(crawl_id: str, worker: str) -> str:
    return f"{crawl_parts(crawl_id)}/{worker}/items.jsonl"


def crawl_stats_part(crawl_id: str, worker: str) -> str:
    return f"{crawl_parts(crawl_id)}/{worker}/crawl.json"


def crawl_listings(crawl_id: str) -> str:
    return f"raw/{crawl_id}/listings.parquet"


def crawl_valid(crawl_id: str) -> str:
    return f"raw/{crawl_id}/valid.parquet"


def crawl_validation(crawl_id: str) -> str:
    return f"raw/{crawl_id}/validation.json"


def ingest_summary_path(crawl_id: str) -> str:
    return f"raw/{crawl_id}/ingest.json"


def image(name: str) -> str:
    """A downloaded product image (``name`` as the images pipeline stores it)."""
    return f"{IMAGES}/{name}"


# ------------------------------------------------------------------------------------------- snapshots
SNAPSHOTS = "snapshots"
LATEST_SNAPSHOT = f"{SNAPSHOTS}/latest.json"


def snapshot_dir(snapshot_id: str) -> str:
    return f"{SNAPSHOTS}/{snapshot_id}"


def snapshot_listings(snapshot_id: str) -> str:
    return f"{SNAPSHOTS}/{snapshot_id}/listings.parquet"


def snapshot_staging(name: str) -> str:
    """A snapshot folder being assembled, before it moves to its id."""
    return f"{SNAPSHOTS}/.staging-{name}"


def snapshot_incoming(stamp: str) -> str:
    """A listings table waiting for its snapshot id."""
    return f"{SNAPSHOTS}/.incoming-{stamp}.parquet"


# ------------------------------------------------------------------------------------------ quarantine
QUARANTINE = "quarantine"
FEEDBACK_QUARANTINE_PREFIX = "feedback-"


def quarantine(crawl_id: str) -> str:
    """Listings of a crawl that broke expectations."""
    return f"{QUARANTINE}/{crawl_id}.parquet"


def labels_quarantine_path(run_id: str) -> str:
    return f"{QUARANTINE}/labels-{run_id}.parquet"


def feedback_quarantine_path(batch_id: str) -> str:
    return f"{QUARANTINE}/{FEEDBACK_QUARANTINE_PREFIX}{batch_id}.parquet"


# ---------------------------------------------------------------------------------------------- labels
LABELS = "labels"


def label_run_dir(run_id: str) -> str:
    return f"{LABELS}/{run_id}"


def labels_path(run_id: str) -> str:
    return f"{LABELS}/{run_id}/labels.parquet"


def label_manifest_path(run_id: str) -> str:
    return f"{LABELS}/{run_id}/manifest.json"


def report_path(run_id: str) -> str:
    return f"{LABELS}/{run_id}/report.html"


def generated_image(run_id: str, label_id: str) -> str:
    return f"{LABELS}/{run_id}/images/{label_id}.png"


# -------------------------------------------------------------------------------------------- feedback
FEEDBACK_INBOX = "feedback/inbox"
FEEDBACK_PROCESSED = "feedback/processed"
FEEDBACK_TABLE = "feedback/table"
RETRAINING_TRIGGERS = "feedback/triggers"


def feedback_table_part(batch_id: str) -> str:
    return f"{FEEDBACK_TABLE}/{batch_id}.parquet"


# ------------------------------------------------------------------------------------- locks, docs
LOCKS = "locks"
DATA_DOCS = "data_docs"
VALIDATION_RESULTS = "validation_results"


def lock_lease(safe_name: str) -> str:
    return f"{LOCKS}/{safe_name}.lease"


# ---------------------------------------------------------------------------------- on this machine
def local_dir(settings: Settings) -> Path:
    """A local data root, else this user's private folder (:func:`~labelops.settings.private_dir`):
    for what must not live on a remote data root (checkpoints that are loaded again)."""
    return settings.local_data_path if settings.data_is_local else private_dir(settings)


def scratch_dir(settings: Settings) -> Path:
    """A local data root, else a temporary folder: for what can be made again."""
    return settings.local_data_path if settings.data_is_local else Path(tempfile.gettempdir()) / "labelops"


def training_dir(kind: str, key: str, settings: Settings) -> Path:
    """A training's work folder (checkpoints are loaded again on resume: never on a remote data root)."""
    return local_dir(settings) / "training" / kind / key


def evaluator_dir(settings: Settings, snapshot_id: str, size: int) -> Path:
    return scratch_dir(settings) / "evaluation" / snapshot_id / f"image-evaluator-{size}"


def text_image_dir(settings: Settings, snapshot_id: str) -> Path:
    """The snapshot's text-image scorer (:mod:`labelops.textimage`), trained once and cached."""
    return scratch_dir(settings) / "evaluation" / snapshot_id / "text-image"


def demo_shop_dir(settings: Settings, products: int, seed: int) -> Path:
    return scratch_dir(settings) / f"demo-shop-{products}-{seed}"


PREFECT_HOME = "prefect"  # the embedded Prefect's home, under a local data root
MLFLOW_ARTIFACTS = "mlartifacts"  # MLflow's artifacts when no tracking server decides
