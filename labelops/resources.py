"""What a process has used: its peak resident memory.

One home for it, because the obvious call is wrong for the processes labelops starts: Linux's
``getrusage(RUSAGE_SELF).ru_maxrss`` survives fork and exec, so a training subprocess (or a Dask
worker) started from a process that had once held 1.4 GB reports 1.4 GB, whatever it used itself.
The kernel's high-water mark of this process's own memory (``VmHWM`` in ``/proc/self/status``) does
not; ``ru_maxrss`` is the fallback where there is no ``/proc`` (macOS: bytes there, KiB on Linux).
"""

from __future__ import annotations

import resource
import sys
from pathlib import Path


def peak_rss_mib() -> float:
    """This process's own peak resident memory, in MiB."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 2**20 if sys.platform == "darwin" else peak / 1024
