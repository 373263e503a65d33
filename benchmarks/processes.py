"""Measuring a benchmark step: one command in its own process, its wall time and peak memory.

Shared by run.py and metrics.py (``commit`` by bot.py and verbatims.py too). The parent stays
small (stdlib only here): Linux counts the parent's resident size at fork into the child's
``ru_maxrss``, so it is recorded beside.
"""

from __future__ import annotations

import os
import resource
import subprocess
import sys
import tempfile
import time
from typing import Any

PARCOURS = [sys.executable, "-m", "parcours.cli"]


def commit() -> str:
    """The short hash of the code measured ("unknown" outside a git checkout)."""
    try:
        return subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True,
                              cwd=os.path.dirname(os.path.abspath(__file__)), check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def measure(cmd: list[str], label: str, stdout: Any = None) -> dict[str, Any]:
    """Run ``cmd`` in its own process; its wall time and its own peak resident memory."""
    with tempfile.TemporaryFile("w+") as fout, tempfile.TemporaryFile("w+") as ferr:
        t0 = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=stdout if stdout is not None else fout, stderr=ferr, text=True)
        _, status, usage = os.wait4(proc.pid, 0)
        seconds = time.perf_counter() - t0
        code = os.waitstatus_to_exitcode(status)
        fout.seek(0)
        ferr.seek(0)
        out, err = fout.read(), ferr.read()
    rss = usage.ru_maxrss / 1024 / 1024  # KiB → GiB
    # Linux counts the parent's resident size at fork into the child's ru_maxrss: this process
    # stays small (stdlib only) so that the figure is the child's own; its size is recorded
    floor = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 / 1024
    if code != 0 and not (code == 1 and cmd[:3] == PARCOURS and "import" in cmd):  # 1: some rows quarantined
        raise RuntimeError(f"{label} failed ({code}):\n{out[-3000:]}\n{err[-3000:]}")
    print(f"  {label:<58} {seconds:8.2f} s  peak {rss:5.2f} GiB", flush=True)
    return {"step": label, "seconds": round(seconds, 3), "peak_rss_gib": round(rss, 3),
            "parent_rss_gib": round(floor, 3), "stdout": out[-2000:]}
