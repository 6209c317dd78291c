"""Run one write stage of labelops in this process and kill it (SIGKILL, as ``kill -9``) at a named point.

    python -m tests.faults.crash STAGE CRASH_POINT          # LABELOPS_DATA names the data root

The crash points patch a library function in this process only, so the library carries no test
hooks: the process dies before or inside a write, exactly where a power cut or the OOM killer
could stop it. The test then runs the same stage again (:func:`run_stage`) and compares the data
root with that of a run that was never interrupted.
"""

from __future__ import annotations

import os
import signal
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from labelops import storage
from labelops.storage import DataRoot

CRAWL_ID = "crash"


def die() -> None:
    os.kill(os.getpid(), signal.SIGKILL)


def kill_when(owner: Any, name: str, when: Callable[..., bool]) -> None:
    """Replace ``owner.name`` with a wrapper that dies (before calling it) when ``when(*args, **kwargs)``."""
    original = getattr(owner, name)

    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if when(*args, **kwargs):
            die()
        return original(*args, **kwargs)

    setattr(owner, name, wrapper)


def nth_write_to(suffix: str, n: int) -> Callable[..., bool]:
    """True at the ``n``-th batch written to a Parquet file whose path ends with ``suffix`` (mid-file)."""
    seen = {"writes": 0}

    def when(sink: storage.ParquetSink, table: Any) -> bool:
        if sink.relative.endswith(suffix) and table.num_rows:
            seen["writes"] += 1
        return seen["writes"] >= n

    return when


def nth_call(n: int, match: Callable[..., bool] = lambda *a, **k: True) -> Callable[..., bool]:
    seen = {"calls": 0}

    def when(*args: Any, **kwargs: Any) -> bool:
        if match(*args, **kwargs):
            seen["calls"] += 1
        return seen["calls"] >= n

    return when


CRASH_POINTS: dict[str, Callable[[], None]] = {
    # ingest
    "normalize: mid-table": lambda: kill_when(storage.ParquetSink, "write", nth_write_to("listings.parquet", 2)),
    "validate: tables written, not the result": lambda: kill_when(
        DataRoot, "write_json", lambda root, relative, obj: relative.endswith("validation.json")),
    "publish: staged, not moved": lambda: kill_when(
        DataRoot, "move", lambda root, src, dst, last=None: dst.startswith("snapshots/") and ".staging" not in dst),
    "publish: installed, latest.json not written": lambda: kill_when(
        DataRoot, "write_json", lambda root, relative, obj: relative == "snapshots/latest.json"),
    # labelling
    "labels: mid-table": lambda: kill_when(storage.ParquetSink, "write", nth_write_to("labels.parquet", 2)),
    "labels: table written, no report": lambda: _patch_labelling("write_report"),
    "labels: report written, not published": lambda: _patch_labelling("publish_label_run"),
    # feedback
    "feedback: mid-table": lambda: kill_when(storage.ParquetSink, "write", nth_write_to(".parquet", 1)),
    "feedback: table written, not the quarantine": lambda: kill_when(
        storage.ParquetSink, "write", lambda sink, table: sink.relative.startswith("quarantine/")),
    "feedback: one inbox file moved": lambda: kill_when(DataRoot, "move", nth_call(2)),
}


def _patch_labelling(name: str) -> None:
    from labelops import labelling

    kill_when(labelling, name, lambda *args, **kwargs: True)


# ------------------------------------------------------------------------------------ the stages
class EchoGenerator:
    """A text model that needs no training: describes a product from its title (labelling's input)."""

    def generate(self, rows: list[dict], options: Any = None) -> list[Any]:
        from labelops.textgen.generate import GeneratedText

        texts = [f"{row['title']}, as sold by {row.get('brand') or 'the shop'}." for row in rows]
        return [GeneratedText(description=text, tags=list(row.get("category_path") or ["misc"])[:2], own_description=text)
                for text, row in zip(texts, rows)]


@contextmanager
def with_echo_champion() -> Iterator[None]:
    """Labelling with :class:`EchoGenerator` as the champion text model (version 1) and no image
    model, for the time of the ``with`` block (the test process goes on with the real ones)."""
    from labelops import evaluation, labelling

    saved = labelling.champion_version, evaluation.load_text_generator
    labelling.champion_version = lambda model: "1" if model == labelling.TEXT_MODEL else None
    evaluation.load_text_generator = lambda version: EchoGenerator()
    try:
        yield
    finally:
        labelling.champion_version, evaluation.load_text_generator = saved


def run_stage(stage: str, root: DataRoot) -> Any:
    if stage == "ingest":
        from labelops.ingest import normalize_crawl, publish_snapshot, validate_crawl

        normalize_crawl(root, CRAWL_ID, batch_rows=10)
        validation = validate_crawl(root, CRAWL_ID, batch_rows=10, data_docs=False)
        return publish_snapshot(root, validation, max_invalid_share=0.5)
    if stage == "labels":
        from labelops.labelling import label_snapshot
        from labelops.settings import get_settings
        from labelops.snapshot import latest_snapshot_id

        with with_echo_champion():
            return label_snapshot(latest_snapshot_id(root), settings=get_settings(), batch_size=8)
    if stage == "feedback":
        from labelops.feedback import collect_feedback

        return collect_feedback(root)
    raise ValueError(f"no stage {stage!r}")


if __name__ == "__main__":
    stage, point = sys.argv[1], sys.argv[2]
    CRASH_POINTS[point]()
    run_stage(stage, DataRoot(os.environ["LABELOPS_DATA"]))
    sys.exit(3)  # the crash point was never reached
