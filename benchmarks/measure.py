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
import time
from pathlib import Path


def main(argv: list[str]) -> int:
    if len(argv) < 3 or argv[1] != "--":
        print(__doc__, file=sys.stderr)
        return 2
    out, cmd = Path(argv[0]), argv[2:]
    t0 = time.monotonic()
    proc = subprocess.Popen(cmd)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.monotonic() - t0
    out.write_text(json.dumps({"wall": wall, "cpu": usage.ru_utime + usage.ru_stime,
                               "maxrss_kb": usage.ru_maxrss}))
    return os.waitstatus_to_exitcode(status)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
