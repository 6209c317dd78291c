"""Labelling at scale: products/s and peak memory of generation, validation and the report, beside
one-at-a-time generation.

    python benchmarks/generate.py [--products 10000] [--train-products 500] [--steps 150] [--baseline-products 200]

A demo snapshot of ``--products`` listings is published in a temporary data root; the text
generator is trained on a ``--train-products`` snapshot (``--steps``, CPU) and made champion; then
every listing of the big snapshot is labelled in batches (the generation flow's code path:
:func:`labelops.labelling.make_labels` → :func:`labelops.labels.store_labels` → the report) and, as the baseline,
``--baseline-products`` of them one at a time (batch size 1). Peak memory is the process's
resident set size, sampled every 50 ms during each stage. Prints one table, then how long the
report takes to show its first page and to search in headless Chromium (when installed).

Then the engine: the whole labelling run (:func:`labelops.labelling.label_snapshot`: generation,
validation, storing, report) in one process and on a Dask cluster of ``--workers`` single-threaded
worker processes on 127.0.0.1, at equal cores (one process with as many torch threads as there are
workers): products/s, the driver's peak RSS, each worker's peak RSS, and whether the labels are the
one-process path's. ``--engine-only`` skips the stage table (e.g. ``--products 100000 --engine-only``).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


class PeakRss:
    """Peak resident memory (MiB) of this process while the block runs."""

    def __enter__(self) -> PeakRss:
        self.peak, self._stop = self._rss(), threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)
        self._thread.start()
        self.started = time.perf_counter()
        return self

    @staticmethod
    def _rss() -> float:
        with open("/proc/self/statm") as handle:
            return int(handle.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20

    def _watch(self) -> None:
        while not self._stop.wait(0.05):
            self.peak = max(self.peak, self._rss())

    def __exit__(self, *exc: object) -> None:
        self.seconds = time.perf_counter() - self.started
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, self._rss())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--products", type=int, default=10_000)
    parser.add_argument("--train-products", type=int, default=500)
    parser.add_argument("--steps", type=int, default=150)
    parser.add_argument("--baseline-products", type=int, default=200)
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument("--workers", default="1,2", help="Dask worker counts to compare, comma-separated ('': none)")
    parser.add_argument("--engine-only", action="store_true", help="only the one process vs Dask comparison")
    parser.add_argument("--writer", choices=("champion", "baseline"), default="champion",
                        help="who writes in the engine comparison: the trained champion, or (no training) the "
                             "retrieve-and-fill baseline, as when the gate finds no model better")
    parser.add_argument("--one-process-cores", default=None,
                        help="core counts of the one-process runs (default: each worker count)")
    parser.add_argument("--progress", action="store_true",
                        help="log labelling's progress (partitions done, products labelled) to stderr")
    args = parser.parse_args()
    if args.progress:
        import logging

        logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(name)s: %(message)s")
        for name in ("labelops.labelling", "labelops.distributed", "labelops.textgen.tagging"):
            logging.getLogger(name).setLevel(logging.INFO)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ["LABELOPS_DATA"] = tempfile.mkdtemp(prefix="labelops-generate-bench-")

    from rich.console import Console
    from rich.table import Table

    from labelops.catalog import labels_path
    from labelops.evaluation import load_text_generator
    from labelops.labelling import make_labels
    from labelops.labels import store_labels
    from labelops.normalize import listings_to_arrow
    from labelops.promotion import promote
    from labelops.registry import TEXT_MODEL
    from labelops.report import render_report, write_report
    from labelops.settings import get_settings
    from labelops.snapshot import publish_table, read_snapshot
    from labelops.storage import DataRoot
    from labelops.textgen.train import TextTrainConfig, train_text
    from tests.helpers.listings import demo_listings

    get_settings.cache_clear()
    root = DataRoot(get_settings().data)
    console = Console(width=160)
    workers = [int(w) for w in args.workers.split(",") if w.strip()]
    cores = workers if args.one_process_cores is None else [int(c) for c in args.one_process_cores.split(",") if c]
    if args.writer == "baseline":
        if not args.engine_only:
            parser.error("--writer baseline measures only the engine: add --engine-only")
        big = publish_table(root, listings_to_arrow(demo_listings(args.products, seed=2)), {"source": "benchmark"})
        engine_table(console, big, read_snapshot(root, big).num_rows, workers, cores, args.batch_size,
                     "none, the retrieve-and-fill baseline writes")
        return
    small = publish_table(root, listings_to_arrow(demo_listings(args.train_products, seed=1)), {"source": "benchmark"})
    trained = train_text(TextTrainConfig(snapshot_id=small, max_steps=args.steps))
    promote(TEXT_MODEL, trained.version, None, "benchmark")
    big = publish_table(root, listings_to_arrow(demo_listings(args.products, seed=2)), {"source": "benchmark"})
    rows = read_snapshot(root, big).to_pylist()
    if workers:
        engine_table(console, big, len(rows), workers, cores, args.batch_size,
                     f"{args.steps} steps on {args.train_products} products")
    if args.engine_only:
        return
    generator = load_text_generator(trained.version)
    common = dict(run_id="bench", snapshot_id=big, text_version=trained.version, root=root)

    with PeakRss() as generation:
        labels = [label for batch in make_labels(rows, generator, batch_size=args.batch_size, **common) for label in batch]
    with PeakRss() as validation:
        counts = store_labels(root, "bench", [labels[i:i + args.batch_size] for i in range(0, len(labels), args.batch_size)],
                              expects_image_model=False)
    with PeakRss() as reporting:
        valid = root.read_parquet(labels_path("bench")).to_pylist()
        report = write_report(root, "bench", render_report(run_id="bench", snapshot_id=big, labels=valid, gates=[],
                                                           counts=counts.model_dump(), models={TEXT_MODEL: trained.version}))
    baseline_rows = rows[: args.baseline_products]
    with PeakRss() as one_at_a_time:
        for _ in make_labels(baseline_rows, generator, batch_size=1, **{**common, "run_id": "baseline"}):
            pass

    table = Table(title=f"labelling {len(rows):,} demo products (text model: {args.steps} steps on {args.train_products} products; CPU)")
    for column in ("stage", "products", "seconds", "products/s", "peak RSS MiB"):
        table.add_column(column, justify="left" if column == "stage" else "right")
    for name, stage, n in (("generation, batched (batch %d)" % args.batch_size, generation, len(rows)),
                           ("generation, one at a time (baseline)", one_at_a_time, len(baseline_rows)),
                           ("validation (Great Expectations)", validation, len(rows)),
                           ("report (render + write)", reporting, len(valid))):
        table.add_row(name, f"{n:,}", f"{stage.seconds:.1f}", f"{n / stage.seconds:.1f}", f"{stage.peak:.0f}")
    console.print(table)
    speedup = (len(rows) / generation.seconds) / (len(baseline_rows) / one_at_a_time.seconds)
    size = Path(report).stat().st_size / 2**20
    console.print(f"batched generation is {speedup:.1f}× one at a time; {counts.valid:,} valid labels, "
                  f"{counts.quarantined:,} quarantined; report {size:.1f} MiB, 50 products a page: {report}")
    opened = report_open_seconds(report) if valid else None
    if opened:
        console.print(f"report in headless Chromium: first page of cards after {opened[0]:.2f} s (median of 3), "
                      f"a search over all {len(valid):,} products {opened[1] * 1000:.0f} ms")


def _same_labels(root, run_id: str, reference: list[tuple] | None) -> tuple[list[tuple], int | None]:  # noqa: ANN001
    """The rows to compare later runs with, and how many of this run's differ (None: nothing to compare with yet)."""
    from labelops.catalog import labels_path

    table = root.read_parquet(labels_path(run_id), columns=["listing_id", "description", "tags", "category",
                                                            "text_category", "text_source", "findings"])
    rows = [tuple(str(v) for v in row.values()) for row in table.to_pylist()]
    if reference is None:
        return rows, None
    return reference, sum(a != b for a, b in zip(rows, reference)) + abs(len(rows) - len(reference))


def engine_table(console, snapshot: str, products: int, workers: list[int], one_process_cores: list[int],  # noqa: ANN001
                 batch_size: int, model: str) -> None:
    """The whole labelling run in one process and on Dask, at equal cores, as one table."""
    import torch
    from distributed import Client, LocalCluster
    from rich.table import Table

    from labelops.labelling import label_snapshot
    from labelops.resources import peak_rss_mib
    from labelops.settings import get_settings
    from labelops.storage import DataRoot

    root = DataRoot(get_settings().data)
    table = Table(title=f"labelling run of {products:,} demo products, one process vs Dask on 127.0.0.1 "
                        f"(text model: {model}; {os.cpu_count()} cores; batch {batch_size})")
    for column in ("engine", "cores", "seconds", "products/s", "vs one process", "cluster start s",
                   "driver peak RSS MiB", "peak RSS per worker MiB", "products per worker", "same labels"):
        table.add_column(column, justify="left" if column == "engine" else "right")
    threads, reference, alone = torch.get_num_threads(), None, {}
    for cores in sorted(set(workers) | set(one_process_cores)):
        if cores in one_process_cores:
            torch.set_num_threads(cores)
            with PeakRss() as measured:
                run = label_snapshot(snapshot, batch_size=batch_size, use_image_model=False, cluster="")
            torch.set_num_threads(threads)
            reference, differ = _same_labels(root, run.run_id, reference)
            alone[cores] = products / measured.seconds
            table.add_row("one process", str(cores), f"{measured.seconds:.1f}", f"{alone[cores]:.1f}", "1.00×", "-",
                          f"{measured.peak:.0f}", "-", "-", "- (first run)" if differ is None else "yes" if not differ else f"{differ} differ")
            console.print(f"one process, {cores} core(s): {alone[cores]:.1f} products/s")
        if cores in workers:
            started = time.perf_counter()
            with LocalCluster(n_workers=cores, threads_per_worker=1, processes=True, host="127.0.0.1",
                              dashboard_address=None) as cluster, Client(cluster) as client:
                start_s = time.perf_counter() - started
                with PeakRss() as measured:
                    run = label_snapshot(snapshot, batch_size=batch_size, use_image_model=False,
                                         cluster=cluster.scheduler_address)
                peaks = client.run(peak_rss_mib)  # each worker's own peak
            reference, differ = _same_labels(root, run.run_id, reference)
            rate = products / measured.seconds
            versus = f"{rate / alone[cores]:.2f}×" if cores in alone else "-"
            table.add_row(f"Dask, {cores} worker(s)", str(cores), f"{measured.seconds:.1f}", f"{rate:.1f}", versus,
                          f"{start_s:.1f}", f"{measured.peak:.0f}", " / ".join(f"{p:.0f}" for p in peaks.values()),
                          " / ".join(str(n) for n in run.workers.values()), "- (first run)" if differ is None else "yes" if not differ else f"{differ} differ")
            console.print(f"Dask, {cores} worker(s): {rate:.1f} products/s")
    console.print(table)


def report_open_seconds(report: str) -> tuple[float, float] | None:
    """Median seconds from navigation to the first cards, and for one search, in the OS's Chromium
    (Playwright); None when Chromium or Playwright is missing."""
    import shutil
    import statistics

    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        return None
    if chromium is None:
        return None
    opens, searches = [], []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, headless=True, args=["--no-sandbox", "--disable-gpu"])
        page = browser.new_page()
        for _ in range(3):
            started = time.perf_counter()
            page.goto(Path(report).resolve().as_uri())
            page.wait_for_selector(".card")
            opens.append(time.perf_counter() - started)
            started = time.perf_counter()
            page.fill("#search", "cotton")
            page.text_content("#page-info")
            searches.append(time.perf_counter() - started)
        browser.close()
    return statistics.median(opens), statistics.median(searches)


if __name__ == "__main__":
    main()
