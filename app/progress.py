"""Progress bars for long work, when the command runs in a terminal.

The library and the spiders report progress as log lines (they also go to the Prefect run):

- the crawl: ``crawl progress: N product pages written`` (no total: a count that grows);
- a training: ``progress: step A/B (…), train/loss …, ETA …`` (from the training subprocess);
- labelling: ``labelled A of B products (…/s)``.

:func:`progress_bars` turns those lines into rich progress bars while the command runs, and keeps
them off the console (every other log line still shows). Outside a terminal nothing changes: the
lines are the progress, one every few seconds, as a log file or CI output wants them.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TextColumn,
    TimeRemainingColumn,
)


@dataclass(frozen=True)
class Reading:
    """What one progress line says: which bar, how far, out of how many (None: unknown)."""

    bar: str
    done: int
    total: int | None
    note: str = ""


_PATTERNS = (
    ("crawl", re.compile(r"crawl progress: (?P<done>\d+) product pages written")),
    ("training", re.compile(r"progress: step (?P<done>\d+)/(?P<total>\d+)[^,]*,?\s*(?P<note>[^,]*)")),
    ("labelling", re.compile(r"labelled (?P<done>\d+) of (?P<total>\d+) products")),
)
_NAMES = {"crawl": "crawling", "training": "training", "labelling": "labelling"}


def read_progress(message: str) -> Reading | None:
    """The progress a log message reports, or None when it reports none."""
    for bar, pattern in _PATTERNS:
        match = pattern.search(message)
        if match:
            found = match.groupdict()
            total = int(found["total"]) if found.get("total") else None
            return Reading(bar, int(found["done"]), total, (found.get("note") or "").strip())
    return None


class _NoProgress(logging.Filter):
    """Keeps progress lines off a console handler while the bars show them."""

    def filter(self, record: logging.LogRecord) -> bool:  # noqa: A003 - logging.Filter's name
        return read_progress(record.getMessage()) is None


class _Bars(logging.Handler):
    """Moves the bars as progress lines arrive."""

    def __init__(self, progress: Progress):
        super().__init__()
        self.progress = progress
        self.tasks: dict[str, int] = {}
        self.last: dict[str, int] = {}

    def emit(self, record: logging.LogRecord) -> None:
        reading = read_progress(record.getMessage())
        if reading is None:
            return
        task = self.tasks.get(reading.bar)
        if task is None or reading.done < self.last.get(reading.bar, 0):  # a new run of the same kind
            if task is not None:
                self.progress.update(task, visible=False)
            task = self.progress.add_task(_NAMES[reading.bar], total=reading.total, note="")
            self.tasks[reading.bar] = task
        self.last[reading.bar] = reading.done
        self.progress.update(task, completed=reading.done, total=reading.total, note=reading.note)


@contextmanager
def progress_bars(console: Console, loggers: tuple[str, ...] = ("labelops", "spiders", "prefect.task_runs",
                                                                  "prefect.flow_runs")) -> Iterator[bool]:
    """Show the progress lines of ``loggers`` as bars while the block runs, when ``console`` is a
    terminal; yields whether it does."""
    if not console.is_terminal:
        yield False
        return
    progress = Progress(SpinnerColumn(), TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                        TimeRemainingColumn(), TextColumn("{task.fields[note]}"), console=console, transient=False)
    bars, quiet = _Bars(progress), _NoProgress()
    targets = [logging.getLogger(name) for name in loggers]
    consoles = [handler for handler in logging.getLogger().handlers + _prefect_console_handlers()
                if isinstance(handler, logging.StreamHandler)]
    for logger in targets:
        logger.addHandler(bars)
    for handler in consoles:
        handler.addFilter(quiet)
    try:
        with progress:
            yield True
    finally:
        for logger in targets:
            logger.removeHandler(bars)
        for handler in consoles:
            handler.removeFilter(quiet)


def _prefect_console_handlers() -> list[logging.Handler]:
    """The console handlers of Prefect's loggers and of ours (Prefect puts its own on them)."""
    return [h for name in ("prefect", "prefect.flow_runs", "prefect.task_runs", "labelops", "spiders")
            for h in logging.getLogger(name).handlers if isinstance(h, logging.StreamHandler)]
