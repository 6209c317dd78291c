"""``labelops generate --cluster``: a malformed address is a usage error, a scheduler that does not
answer is one line naming it; both before any gate runs or Prefect starts."""

from __future__ import annotations

import socket
from pathlib import Path

from labelops.storage import DataRoot
from tests.app.test_cli_errors import assert_no_prefect, run_cli
from tests.helpers.listings import publish_demo_snapshot


def test_generate_refuses_a_cluster_it_cannot_use_before_anything_runs(data_root: Path):
    publish_demo_snapshot(DataRoot(str(data_root)), 10)
    with socket.socket() as free:
        free.bind(("127.0.0.1", 0))
        address = f"tcp://127.0.0.1:{free.getsockname()[1]}"  # nothing listens there
    done, _ = run_cli("generate", "--cluster", address, data=data_root)
    assert done.returncode == 1, done.stderr
    (line,) = [line for line in done.stderr.splitlines() if line.strip()]
    assert line.startswith("error: the Dask scheduler at " + address + " is unreachable"), line
    assert_no_prefect(done, data_root)

    done, _ = run_cli("generate", "--cluster", "127.0.0.1:8786", data=data_root)
    assert done.returncode == 2 and "scheduler address" in done.stderr, done.stderr
    assert_no_prefect(done, data_root)
