"""The demo scan's wall time: `make demo`'s scan part alone, measured from outside, start-up included.

Starts moto's server and the local Datadog API once, seeds the shop (as ``python -m auditor.demo`` does), then
runs the same ``auditor scan --profile demo --deep --stats …`` ``--repeat`` times and prints each run's wall,
the median, and the calls the scan made. ``--import-only`` also times ``python -c "import auditor.cli"`` and
``python -m auditor --version`` (start-up without a scan). ``--compare PYTHON`` runs the same scan with another
interpreter too (another checkout's ``.venv/bin/python``), interleaved run by run, so both meet the same load.
Prints numbers, judges nothing.

    .venv/bin/python -m benchmarks.bench_demo --repeat 7
    .venv/bin/python -m benchmarks.bench_demo --repeat 7 --compare ../main/.venv/bin/python
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def _timed(cmd: list[str], env: dict[str, str]) -> tuple[float, float, int]:
    """(wall seconds, user+sys CPU seconds, exit code) of one child process, measured from outside. It runs in
    the checkout its interpreter belongs to (``<checkout>/.venv/bin/python``): ``python -m`` imports from there."""
    start = time.perf_counter()
    checkout = Path(cmd[0]).absolute().parents[2]
    proc = subprocess.Popen(cmd, env=env, cwd=checkout if (checkout / "auditor").is_dir() else None, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    return wall, usage.ru_utime + usage.ru_stime, proc.returncode


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.bench_demo", description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5, help="scans to time (default 5)")
    parser.add_argument("--startup", action="store_true", help="also time the CLI's start-up alone")
    parser.add_argument("--compare", metavar="PYTHON", help="also scan with this interpreter, interleaved")
    args = parser.parse_args(argv)

    from auditor.demo import seed as seed_mod
    from auditor.demo.__main__ import datadog_env, start_datadog
    from auditor.demo.servers import LocalAws

    out = Path(tempfile.mkdtemp(prefix="auditor-bench-demo-"))
    aws = LocalAws(home=out / "aws").start()
    dd = start_datadog()
    try:
        seed_mod.seed(aws.client)
        env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "DD_"))}
        env.update({**aws.env(), **datadog_env(dd)})
        pythons = [sys.executable, *([args.compare] if args.compare else [])]
        scans = {py: [py, "-m", "auditor", "scan", "--profile", "demo", "--deep", "--stats", "--sarif-output",
                      str(out / f"demo{i}.sarif"), "--json-output", str(out / f"demo{i}.json")]
                 for i, py in enumerate(pythons)}
        for scan in scans.values():
            _timed(scan, env)  # warm-up: moto's first answers, the OS's file cache
        runs: dict[str, list[tuple[float, float]]] = {py: [] for py in pythons}
        loads = []
        for _ in range(args.repeat):
            for py, scan in scans.items():
                wall, cpu, code = _timed(scan, env)
                if code not in (0, 1, 3):
                    print(f"the scan with {py} exited {code}", file=sys.stderr)
                    return 1
                runs[py].append((wall, cpu))
            loads.append(os.getloadavg()[0])
        print(f"load average {min(loads):.1f}–{max(loads):.1f} on {os.cpu_count()} CPUs")
        for i, py in enumerate(pythons):
            walls, cpus = [r[0] for r in runs[py]], [r[1] for r in runs[py]]
            calls = json.loads((out / f"demo{i}.json").read_text())["stats"]["calls"]
            print(f"{py}: demo scan (--deep, table + SARIF + JSON), {args.repeat} runs: wall "
                  + ", ".join(f"{w:.2f}" for w in walls) + f" s, median {statistics.median(walls):.2f} s; CPU "
                  + ", ".join(f"{c:.2f}" for c in cpus) + f" s, median {statistics.median(cpus):.2f} s")
            print(f"  calls: {sum(calls.values())} — " + ", ".join(f"{k} {v}" for k, v in sorted(calls.items())))
        if args.startup:
            for label, cmd in (("import auditor.cli", [sys.executable, "-c", "import auditor.cli"]),
                               ("auditor --version", [sys.executable, "-m", "auditor", "--version"])):
                runs = [_timed(cmd, env) for _ in range(args.repeat)]
                print(f"{label}: wall median {statistics.median(r[0] for r in runs):.2f} s, "
                      f"CPU median {statistics.median(r[1] for r in runs):.2f} s")
    finally:
        dd.stop()
        aws.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
