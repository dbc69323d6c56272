"""The scan under injected AWS faults: wall time, requests, retries, and whether the report changed.

Seeds the demo account on a local moto server, puts the fault-injecting proxy of tests/faults.py between it
and `auditor scan` (default settings unless a row says otherwise), and prints one line per run. Asserts
nothing; docs/reliability.md quotes its figures. Run: `python benchmarks/bench_faults.py [SEEDS]` (SEEDS runs
per fault mix, default 3; 0 keeps only the clean, hang and Ctrl-C rows).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from auditor.demo import seed as seed_mod  # noqa: E402
from auditor.demo.servers import LocalAws  # noqa: E402
from tests.faults import Fault, FaultProxy  # noqa: E402

SCAN = ["scan", "--profile", "demo", "--format", "json", "--fail-on", "never"]
UNPROXIED = "s3control:GetPublicAccessBlock"  # sent to <account>.127.0.0.1 by botocore: never proxied


def _env(extra: dict[str, str]) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "DD_", "AUDITOR_"))}
    return {**env, **extra}


def _run(env: dict[str, str], *args: str) -> tuple[subprocess.CompletedProcess, float]:
    started = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "auditor", *SCAN, *args], env=_env(env), capture_output=True,
                          text=True, timeout=1800)
    return proc, time.perf_counter() - started


def _same(doc: dict, reference: dict) -> bool:
    def strip(d: dict) -> dict:
        return {k: v for k, v in d.items() if k not in ("started_at", "finished_at", "stats")}

    return strip(doc) == strip(reference)


def _counted(doc: dict) -> int:
    stats = doc["stats"]
    return sum(n + stats["retries"].get(op, 0) for op, n in stats["calls"].items() if op != UNPROXIED)


def row(name: str, proxy: FaultProxy, proc: subprocess.CompletedProcess, took: float, reference: dict) -> None:
    doc = json.loads(proc.stdout)
    injected = Counter(s.fault for s in proxy.requests if s.fault)
    deepest = max((s.attempt for s in proxy.requests), default=0)
    print(f"{name:<34} {took:6.1f}s  exit {proc.returncode}  requests {len(proxy.requests):4d}  "
          f"faults {dict(injected) or '-'}  max attempt {deepest}  counted {_counted(doc)}  "
          f"not evaluated {doc['summary']['not_evaluated']:2d}  same report: {_same(doc, reference)}", flush=True)


def main() -> None:
    seeds = int(sys.argv[1]) if len(sys.argv) > 1 else 3
    aws = LocalAws().start()
    try:
        seed_mod.seed(aws.client)
        proc, took = _run(aws.env())
        reference = json.loads(proc.stdout)
        print(f"{'clean, direct to moto':<34} {took:6.1f}s  exit {proc.returncode}  "
              f"calls {reference['stats']['total_calls']}", flush=True)
        with FaultProxy(aws) as proxy:
            row("clean, through the proxy", proxy, *_run(proxy.env()), reference)
        for kind in ("throttle", "500", "reset"):
            for seed in range(seeds):
                with FaultProxy(aws, [Fault("*", "*", kind, probability=0.3)], seed=seed) as proxy:
                    row(f"30 % {kind}, seed {seed}", proxy, *_run(proxy.env()), reference)
        with FaultProxy(aws, [Fault("sqs", "ListQueues", "hang")]) as proxy:
            row("ListQueues hangs", proxy, *_run(proxy.env()), reference)
        with FaultProxy(aws, [Fault("sqs", "ListQueues", "hang")]) as proxy:
            row("ListQueues hangs, --timeout 5s", proxy, *_run(proxy.env(), "--timeout", "5s"), reference)
        for _ in range(3):
            _interrupt(aws)
    finally:
        aws.stop()


def _interrupt(aws: LocalAws) -> None:
    """Ctrl-C while ListQueues hangs: seconds from SIGINT to exit, the exit code, what is left on disk."""
    out = Path(tempfile.mkdtemp())
    with FaultProxy(aws, [Fault("sqs", "ListQueues", "hang")]) as proxy:
        proc = subprocess.Popen([sys.executable, "-m", "auditor", *SCAN, "-o", str(out / "r.json")],
                                env=_env(proxy.env()), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        proxy.wait_for("sqs", "ListQueues")
        started = time.perf_counter()
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=120)
        took = time.perf_counter() - started
    print(f"{'Ctrl-C while ListQueues hangs':<34} {took:6.2f}s to exit  exit {proc.returncode}  "
          f"stderr lines {len(err.splitlines())}  files left {len(list(out.iterdir()))}", flush=True)


if __name__ == "__main__":
    main()
