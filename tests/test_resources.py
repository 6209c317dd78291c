"""A process's peak memory is its own, not its parent's (what trained.json and the benchmarks report)."""

import subprocess
import sys

from labelops.resources import peak_rss_mib


def test_a_subprocess_reports_its_own_peak_not_its_parents():
    held = bytearray(400 * 2**20)
    held[::4096] = b"\1" * len(held[::4096])  # touch every page: 400 MiB resident here
    assert peak_rss_mib() > 400
    child = subprocess.run([sys.executable, "-c", "from labelops.resources import peak_rss_mib; print(peak_rss_mib())"],
                           capture_output=True, text=True, check=True)
    assert 5 < float(child.stdout) < 200, child.stdout  # getrusage's ru_maxrss said 400+ here
    del held
