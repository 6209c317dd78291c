"""A real Dask cluster on 127.0.0.1 for tests: a ``dask scheduler`` process and ``dask worker``
processes (each with its nanny), stopped after."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tests.helpers.servers import start, stop

PROJECT = Path(__file__).resolve().parents[2]


def _dask(*args: str, log: Path) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(PROJECT), os.environ.get("PYTHONPATH")]))}
    return start([sys.executable, "-m", "distributed.cli.dask_" + args[0], *args[1:]], log, env=env, cwd=PROJECT)


@contextmanager
def dask_cluster(folder: Path, workers: int = 2, timeout: float = 60) -> Iterator[str]:
    """The address (``tcp://127.0.0.1:<port>``) of a scheduler with ``workers`` single-threaded
    worker processes, all on 127.0.0.1; their output goes to ``folder/*.log``."""
    folder.mkdir(parents=True, exist_ok=True)
    scheduler_file = folder / "scheduler.json"
    processes = [_dask("scheduler", "--host", "127.0.0.1", "--port", "0", "--no-dashboard",
                       "--scheduler-file", str(scheduler_file), log=folder / "scheduler.log")]
    try:
        deadline = time.monotonic() + timeout
        while not scheduler_file.exists():
            if time.monotonic() > deadline or processes[0].poll() is not None:
                raise RuntimeError(f"the scheduler did not start: {(folder / 'scheduler.log').read_text()[-2000:]}")
            time.sleep(0.1)
        time.sleep(0.1)  # written whole
        address = json.loads(scheduler_file.read_text())["address"]
        for n in range(workers):
            processes.append(_dask("worker", address, "--host", "127.0.0.1", "--nthreads", "1", "--no-dashboard",
                                   "--name", f"worker-{n + 1}", log=folder / f"worker-{n + 1}.log"))
        from distributed import Client

        with Client(address, timeout=timeout) as client:
            client.wait_for_workers(workers, timeout=timeout)
        yield address
    finally:
        for process in reversed(processes):  # the workers first, then the scheduler
            stop(process)
