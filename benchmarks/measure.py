"""Run a command and report its own wall, CPU and peak RSS, measured by a small parent.

    python -m benchmarks.measure OUT.json -- COMMAND [ARGS...]

Linux hands an exec'd program the peak RSS of the process that forked it: ``exec`` keeps the old memory's
high-water mark in the new program's ``ru_maxrss`` (``setmax_mm_hiwater_rss``; with ``vfork``, as Python's
``subprocess`` uses, that is the parent's own). A contender started by the benchmark, which holds the account's
plan and clients (170 MB after building 1x), could never report less than the benchmark itself. Started from
this launcher (about 10 MB) it reports what it held. The command's exit code is this one's.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path


def main(argv: list[str]) -> int:
    if len(argv) < 3 or argv[1] != "--":
        print(__doc__, file=sys.stderr)
        return 2
    out, cmd = Path(argv[0]), argv[2:]
    t0 = time.monotonic()
    proc = subprocess.Popen(cmd)
    tree = {"peak": 0}
    stop = threading.Event()
    sampler = threading.Thread(target=_sample_tree, args=(proc.pid, tree, stop), daemon=True)
    sampler.start()
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.monotonic() - t0
    stop.set()
    sampler.join()
    # ru_maxrss is the largest single process the command waited for (itself or a helper it started), not
    # their sum: the sum, sampled every 50 ms while a helper process lives, is reported beside it.
    out.write_text(json.dumps({"wall": wall, "cpu": usage.ru_utime + usage.ru_stime,
                               "maxrss_kb": usage.ru_maxrss, "maxrss_tree_kb": tree["peak"]}))
    return os.waitstatus_to_exitcode(status)


def _rss_kb(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        pass
    return 0


def _sample_tree(pid: int, tree: dict[str, int], stop: threading.Event) -> None:
    """Every 50 ms while the command runs: the RSS of its processes that another process is a child of (the
    command and the helpers its main thread starts), summed; only while a helper lives, when the sum can be
    above the command's own peak."""
    children = Path(f"/proc/{pid}/task/{pid}/children")
    while not stop.wait(0.05):
        try:
            kids = [int(k) for k in children.read_text().split()]
        except (OSError, ValueError):
            continue
        if kids:
            tree["peak"] = max(tree["peak"], _rss_kb(pid) + sum(_rss_kb(k) for k in kids))


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
