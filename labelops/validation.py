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


SUITES = ("listings", "labels", "feedback")
"""Every suite of the project; Data Docs have a page for each."""


class DataDocs:
    """Great Expectations Data Docs of a data root: a page for every suite and every validation ever run.

    GX builds the site from its validation results store, so the results are kept under the data
    root (``validation_results/``) and each validation adds its page to the site (``data_docs/``)
    and its line to the index, beside the earlier ones. A local root is written in place; for an
    object-store root the results and the site are fetched into a temporary folder (GX's index lists
    the validations whose pages the site holds), built there and uploaded again by :meth:`publish`.
    """

    def __init__(self, root: DataRoot):
        self.root = root
        self.remote = not (root.is_local or root.url.startswith("file://"))
        if self.remote:
            scratch = Path(tempfile.mkdtemp(prefix="labelops-docs-"))
            self.site, self.results = scratch / "site", scratch / "results"
            for kept, local in ((catalog.VALIDATION_RESULTS, self.results), (catalog.DATA_DOCS, self.site)):
                if root.exists(kept):
                    root.fs.get(root.path(kept) + "/", str(local) + "/", recursive=True)
        else:
            self.site = Path(root.path(catalog.DATA_DOCS))
            self.results = Path(root.path(catalog.VALIDATION_RESULTS))
        self.site.mkdir(parents=True, exist_ok=True)
        self.results.mkdir(parents=True, exist_ok=True)

    @property
    def stores(self) -> dict[str, dict]:
        """GX's validation results store, on disk."""
        return {"validation_results_store": {"class_name": "ValidationResultsStore", "store_backend": {
            "class_name": "TupleFilesystemStoreBackend", "base_directory": str(self.results)}}}

    @property
    def sites(self) -> dict[str, dict]:
        """GX's data docs site config."""
        return {"local_site": {"class_name": "SiteBuilder", "store_backend": {
            "class_name": "TupleFilesystemStoreBackend", "base_directory": str(self.site)},
            "site_index_builder": {"class_name": "DefaultSiteIndexBuilder"}}}

    def publish(self) -> str:
        """Upload what a remote root's validations added (local roots are written in place); the index URL."""
        if self.remote:
            self.root.fs.put(str(self.results) + "/", self.root.path(catalog.VALIDATION_RESULTS), recursive=True)
            self.root.fs.put(str(self.site) + "/", self.root.path(catalog.DATA_DOCS), recursive=True)
            return self.root.uri(f"{catalog.DATA_DOCS}/index.html")
        return (self.site / "index.html").as_uri()


class SuiteValidator:
    """Validate DataFrames against one suite with an ephemeral GX context; with ``docs``, each
    validation is kept and shown in the data root's Data Docs (:class:`DataDocs`)."""

    def __init__(self, suite_name: str, docs: DataDocs | None = None):
        self.suite_name = suite_name
        self.suite_dict = load_suite(suite_name)
        self.names = [expectation_name(e) for e in self.suite_dict["expectations"]]
        self.docs = docs

    @cached_property
    def _gx(self) -> tuple[Any, Any]:
        import great_expectations as gx
        from great_expectations.checkpoint import UpdateDataDocsAction
        from great_expectations.data_context.types.base import (DataContextConfig, InMemoryStoreBackendDefaults,
                                                                ProgressBarsConfig)
        from great_expectations.data_context.types.resource_identifiers import ExpectationSuiteIdentifier

        # An ephemeral context announces the temporary docs site it makes; that is not news.
        logging.getLogger("great_expectations.data_context.types.base").setLevel(logging.WARNING)
        if self.docs is None:
            context = gx.get_context(mode="ephemeral")
        else:  # results kept on disk, the site under the data root
            config = DataContextConfig(store_backend_defaults=InMemoryStoreBackendDefaults(init_temp_docs_sites=False))
            config.stores.update(self.docs.stores)
            config.data_docs_sites = self.docs.sites
            context = gx.get_context(mode="ephemeral", project_config=config)
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
        if self.docs is not None:
            # a page for every suite, not only this one (another expectations folder may lack some)
            shown = [self.suite_name]
            for name in SUITES:
                if name != self.suite_name:
                    try:
                        context.suites.add(gx.ExpectationSuite(**load_suite(name)))
                    except FileNotFoundError:
                        continue
                    shown.append(name)
            context.build_data_docs(resource_identifiers=[ExpectationSuiteIdentifier(name) for name in shown])
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
