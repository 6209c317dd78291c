"""Great Expectations validation: which rows may join a snapshot, and why the others may not.

The suites are JSON files in ``expectations/`` (GX 1.x format, hand-written, never rewritten
by GX). Each expectation carries ``meta.name``; a row that breaks an expectation is quarantined
with those names. Validation runs on an ephemeral GX context batch by batch, so memory does
not grow with the crawl; uniqueness across batches is completed with key counts the caller
gathers while normalising (:class:`KeyCounts`).
"""

from __future__ import annotations

import json
import logging
import tempfile
from collections import Counter
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from functools import cached_property
from pathlib import Path
from typing import Any

import pandas as pd

from labelops import catalog
from labelops.settings import get_settings
from labelops.storage import DataRoot

log = logging.getLogger(__name__)

EXPECTATIONS_DIR = Path(__file__).resolve().parent.parent / "expectations"
"""The project's own suites; ``LABELOPS_EXPECTATIONS`` names another folder."""


def load_suite(name: str) -> dict:
    """The suite ``<expectations>/<name>.json`` as a dict."""
    path = (get_settings().expectations or EXPECTATIONS_DIR) / f"{name}.json"
    if not path.exists():
        raise FileNotFoundError(f"no expectation suite {name!r} at {path}")
    return json.loads(path.read_text(encoding="utf-8"))


def expectation_name(expectation: dict) -> str:
    """The name a quarantined row carries for a broken expectation."""
    meta_name = (expectation.get("meta") or {}).get("name")
    if meta_name:
        return meta_name
    kwargs = expectation.get("kwargs", {})
    target = kwargs.get("column") or ",".join(kwargs.get("column_list", []))
    return f"{expectation['type']}({target})"


def _price_value(price: Any) -> float | None:
    try:
        return float(Decimal(str(price))) if price not in (None, "") else None
    except (InvalidOperation, ValueError):
        return None


def validation_frame(listings: pd.DataFrame) -> pd.DataFrame:
    """The listing columns plus the derived ones the listings suite checks (never stored)."""
    frame = listings.copy()
    frame["price_value"] = frame["price"].map(_price_value).astype("float64")
    frame["image_count"] = frame["images"].map(lambda v: 0 if v is None else len(v)).astype("int64")
    return frame.reset_index(drop=True)


@dataclass
class KeyCounts:
    """How often each unique key occurs over the whole table, for uniqueness across batches."""

    listing_ids: Counter = field(default_factory=Counter)
    skus: Counter = field(default_factory=Counter)

    def add(self, listing_id: str, source: str, sku: str | None) -> None:
        self.listing_ids[listing_id] += 1
        if sku:
            self.skus[(source, sku)] += 1

    def duplicate_reasons(self, row: dict) -> list[str]:
        reasons = []
        if self.listing_ids[row["listing_id"]] > 1:
            reasons.append("listing_id_unique")
        if row.get("sku") and self.skus[(row["source"], row["sku"])] > 1:
            reasons.append("sku_unique_per_source")
        return reasons


@dataclass
class BatchResult:
    """Validation of one batch: failed expectation names per row position, and GX's result."""

    failures: dict[int, list[str]]
    result: dict

    @property
    def failed_rows(self) -> int:
        return len(self.failures)


class SuiteValidator:
    """Validate DataFrames against one suite with an ephemeral GX context; optionally build Data Docs."""

    def __init__(self, suite_name: str, data_docs_dir: Path | None = None):
        self.suite_name = suite_name
        self.suite_dict = load_suite(suite_name)
        self.names = [expectation_name(e) for e in self.suite_dict["expectations"]]
        self.data_docs_dir = data_docs_dir

    @cached_property
    def _gx(self) -> tuple[Any, Any]:
        import great_expectations as gx
        from great_expectations.checkpoint import UpdateDataDocsAction
        from great_expectations.data_context.types.base import ProgressBarsConfig

        # An ephemeral context announces the temporary docs site it makes; that is not news.
        logging.getLogger("great_expectations.data_context.types.base").setLevel(logging.WARNING)
        context = gx.get_context(mode="ephemeral")
        context.variables.progress_bars = ProgressBarsConfig(globally=False)
        suite = context.suites.add(gx.ExpectationSuite(**self.suite_dict))
        batch_definition = (
            context.data_sources.add_pandas("pandas")
            .add_dataframe_asset(self.suite_name)
            .add_batch_definition_whole_dataframe("batch")
        )
        definition = context.validation_definitions.add(
            gx.ValidationDefinition(name=f"{self.suite_name}-validation", data=batch_definition, suite=suite)
        )
        actions = []
        if self.data_docs_dir is not None:
            context.delete_data_docs_site("local_site")
            context.add_data_docs_site(
                site_name="local_site",
                site_config={
                    "class_name": "SiteBuilder",
                    "store_backend": {"class_name": "TupleFilesystemStoreBackend", "base_directory": str(self.data_docs_dir)},
                    "site_index_builder": {"class_name": "DefaultSiteIndexBuilder"},
                },
            )
            actions.append(UpdateDataDocsAction(name="data_docs"))
        checkpoint = context.checkpoints.add(
            gx.Checkpoint(
                name=f"{self.suite_name}-checkpoint",
                validation_definitions=[definition],
                actions=actions,
                result_format={"result_format": "COMPLETE"},
            )
        )
        return context, checkpoint

    def warm_up(self) -> None:
        """Build the GX context and checkpoint now rather than on the first batch."""
        self._gx  # noqa: B018 - a cached property: touching it builds it

    def validate(self, frame: pd.DataFrame) -> BatchResult:
        """Run the suite on ``frame`` (a fresh RangeIndex) and map failures back to row positions."""
        frame = frame.reset_index(drop=True)
        if frame.empty:
            return BatchResult({}, {"success": True, "results": [], "statistics": {"evaluated_expectations": 0}})
        _, checkpoint = self._gx
        checkpoint_result = checkpoint.run(batch_parameters={"dataframe": frame})
        (validation_result,) = checkpoint_result.run_results.values()
        failures: dict[int, list[str]] = {}
        for result in validation_result.results:
            if result.success:
                continue
            config = result.expectation_config.to_json_dict()
            name = expectation_name(config)
            if result.exception_info and result.exception_info.get("raised_exception"):
                raise RuntimeError(f"expectation {name} could not run: {result.exception_info.get('exception_message')}")
            for index in result.result.get("unexpected_index_list") or []:
                position = int(index["index"] if isinstance(index, dict) else index)
                failures.setdefault(position, []).append(name)
        return BatchResult(failures, _summarise(validation_result.to_json_dict()))


def _summarise(result: dict) -> dict:
    """GX's result without the per-row lists (they are in the quarantine), kept small for storage."""
    for item in result.get("results", []):
        for key in ("unexpected_index_list", "unexpected_list", "unexpected_index_query", "partial_unexpected_index_list"):
            item.get("result", {}).pop(key, None)
    return result


def publish_data_docs(local_dir: Path, root: DataRoot) -> str:
    """Copy Data Docs built in ``local_dir`` under the data root; return the index URL."""
    target = root.path(catalog.DATA_DOCS)
    root.fs.put(str(local_dir) + "/", target, recursive=True)
    return root.uri(f"{catalog.DATA_DOCS}/index.html")


def data_docs_dir(root: DataRoot) -> tuple[Path, bool]:
    """Where to build Data Docs: in place for a local root, else a temp dir to upload (second value True)."""
    if "://" not in root.url or root.url.startswith("file://"):
        path = Path(root.path(catalog.DATA_DOCS))
        path.mkdir(parents=True, exist_ok=True)
        return path, False
    return Path(tempfile.mkdtemp(prefix="labelops-docs-")), True
