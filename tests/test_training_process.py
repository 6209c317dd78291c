"""The fit's process seen from the caller (labelops.training.launch): its lines reach the caller's
logger, a time limit stops every process of the fit, progress lines come at a sensible rate."""

from __future__ import annotations

import logging
import os
import subprocess
import textwrap
import time
from pathlib import Path

import pytest

from labelops import training
from labelops.training import FitFailed, FitTimeout, ProgressLog


class Lines(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)

    def messages(self, level: int | None = None) -> list[str]:
        return [r.getMessage() for r in self.records if level is None or r.levelno == level]


@pytest.fixture
def run_logger() -> tuple[logging.Logger, Lines]:
    logger = logging.getLogger(f"test-run-logger-{time.monotonic_ns()}")  # stands in for a task's run logger
    logger.propagate = False
    logger.setLevel(logging.DEBUG)
    handler = Lines()
    logger.addHandler(handler)
    return logger, handler


FAKE_FIT = '''
import logging, subprocess, sys, time
from pathlib import Path
logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
log = logging.getLogger("fake.fit")
work = Path(sys.argv[1])
mode = (work / "mode").read_text()
log.info("fitting in %s", work)
log.warning("a warning from the fit")
print("a plain line on stdout", flush=True)
if mode == "ok":
    (work / "trained.json").write_text("{}")
elif mode == "fail":
    log.error("out of memory")
    sys.exit(3)
else:  # hang, with a child of its own (as DDP's other ranks are)
    (work / "checkpoints").mkdir()
    (work / "checkpoints" / "last.ckpt").write_text("")
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])
    (work / "child.pid").write_text(str(child.pid))
    log.info("now hanging")
    time.sleep(600)
'''


@pytest.fixture
def fake_fit(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    package = tmp_path / "fakes"
    package.mkdir()
    (package / "fake_fit.py").write_text(textwrap.dedent(FAKE_FIT))
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(filter(None, [str(package), os.environ.get("PYTHONPATH")])))

    def work(mode: str) -> Path:
        folder = tmp_path / f"work-{mode}"
        folder.mkdir()
        (folder / "mode").write_text(mode)
        return folder

    return work


def test_the_fits_lines_reach_the_given_logger_at_their_level(fake_fit, run_logger):
    logger, lines = run_logger
    work = fake_fit("ok")
    training.launch("fake_fit", work, logger=logger)
    assert any(m.startswith(f"fake.fit: fitting in {work}") for m in lines.messages(logging.INFO))  # no second timestamp
    assert any("a warning from the fit" in m for m in lines.messages(logging.WARNING))
    assert "a plain line on stdout" in lines.messages(logging.INFO)


def test_a_failed_fit_raises_with_its_last_lines(fake_fit, run_logger):
    logger, lines = run_logger
    work = fake_fit("fail")
    with pytest.raises(FitFailed) as raised:
        training.launch("fake_fit", work, logger=logger)
    assert isinstance(raised.value, subprocess.CalledProcessError) and raised.value.returncode == 3
    assert "out of memory" in str(raised.value) and "starts over" in str(raised.value)
    assert any("out of memory" in m for m in lines.messages(logging.ERROR))


def test_a_timeout_stops_every_process_of_the_fit_and_says_where_the_checkpoint_is(fake_fit, run_logger):
    logger, lines = run_logger
    work = fake_fit("hang")
    started = time.monotonic()
    with pytest.raises(FitTimeout) as raised:
        training.launch("fake_fit", work, timeout=4, logger=logger)
    assert time.monotonic() - started < 30
    message = str(raised.value)
    assert "time limit" in message and "fake_fit" in message
    assert str(work / "checkpoints" / "last.ckpt") in message and "resumes from it" in message
    assert "now hanging" in "\n".join(lines.messages())
    child = int((work / "child.pid").read_text())
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and _alive(child):
        time.sleep(0.2)
    assert not _alive(child), "the fit's own child process survived the timeout"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    stat = Path(f"/proc/{pid}/stat")  # a zombie (dead, not yet reaped by its parent) counts as gone
    return not (stat.exists() and stat.read_text().split(") ", 1)[1].startswith("Z"))


def test_progress_lines_at_most_every_ten_seconds_with_step_loss_and_eta():
    progress = ProgressLog(max_steps=400, seconds=10)
    progress.start(step=100, now=0.0)  # resumed at step 100
    assert not progress.due(110, now=5.0)
    assert progress.due(150, now=10.0)
    line = progress.report(150, {"train/loss": 2.5, "train/lr": 0.001}, now=10.0)
    assert line == "progress: step 150/400 (38%), train/loss 2.5000, 5.00 steps/s, ETA 0:00:50"
    assert not progress.due(160, now=12.0)
    assert progress.due(400, now=12.0)  # the last step always reports
    gan = ProgressLog(max_steps=200, seconds=10, unit=2)  # two optimizer steps per GAN iteration
    gan.start(0, 0.0)
    assert gan.report(100, {"train/d_loss": 1.0}, now=10.0).startswith("progress: step 50/100 (50%), train/d_loss")


def test_a_fit_that_timed_out_is_not_retried_a_crashed_one_is():
    from types import SimpleNamespace

    from tasks.train import _not_after_a_timeout

    def failed(error: Exception) -> SimpleNamespace:
        return SimpleNamespace(result=lambda raise_on_failure=True: error)

    assert not _not_after_a_timeout(None, None, failed(FitTimeout("ran past its time limit")))
    assert _not_after_a_timeout(None, None, failed(FitFailed(-9, ["python"], Path("w"), [])))
