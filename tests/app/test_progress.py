"""Progress bars in a terminal: the crawl's, a training's and labelling's progress lines become
bars and leave the console; outside a terminal nothing changes."""

from __future__ import annotations

import io
import logging

from rich.console import Console

from app.progress import progress_bars, read_progress


def test_progress_lines_are_read_and_other_lines_are_not():
    crawl = read_progress("crawl progress: 120 product pages written")
    assert (crawl.bar, crawl.done, crawl.total) == ("crawl", 120, None)
    training = read_progress("labelops.training: progress: step 150/400 (38%), train/loss 2.5000, 5.00 steps/s, "
                             "ETA 0:00:50")
    assert (training.bar, training.done, training.total, training.note) == ("training", 150, 400, "train/loss 2.5000")
    labelling = read_progress("labelled 64 of 485 products (27/s)")
    assert (labelling.bar, labelling.done, labelling.total) == ("labelling", 64, 485)
    assert read_progress("training: python -m labelops.textgen.train /tmp/w") is None
    assert read_progress("labels of snapshot abc: text by version 1") is None


def test_in_a_terminal_progress_becomes_bars_and_leaves_the_log(monkeypatch):
    logger = logging.getLogger("labelops.progress-test")
    printed = io.StringIO()
    handler = logging.StreamHandler(printed)
    monkeypatch.setattr(logging.getLogger(), "handlers", [handler])
    screen = io.StringIO()
    terminal = Console(file=screen, force_terminal=True, force_interactive=True, width=120)
    with progress_bars(terminal, loggers=("labelops",)) as shown:
        logger.warning("labelled 10 of 40 products (20/s)")
        logger.warning("labelled 40 of 40 products (21/s)")
        logger.warning("progress: step 5/10 (50%), train/loss 1.0000, ETA 0:00:01")
        logger.warning("an ordinary line")
    assert shown
    assert printed.getvalue().splitlines() == ["an ordinary line"]  # progress left the log's console
    assert "labelling" in screen.getvalue() and "40/40" in screen.getvalue() and "training" in screen.getvalue()
    assert handler.filters == [] and not [h for h in logging.getLogger("labelops").handlers if type(h).__name__ == "_Bars"]


def test_outside_a_terminal_nothing_changes(monkeypatch):
    logger = logging.getLogger("labelops.progress-test")
    printed = io.StringIO()
    monkeypatch.setattr(logging.getLogger(), "handlers", [logging.StreamHandler(printed)])
    with progress_bars(Console(file=io.StringIO(), force_terminal=False)) as shown:
        logger.warning("labelled 10 of 40 products (20/s)")
    assert not shown and "labelled 10 of 40" in printed.getvalue()
