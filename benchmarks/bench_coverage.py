"""Datadog coverage without servers: which of 10,000 monitors watch each of 2,000 dead-letter queues.

    .venv/bin/python -m benchmarks.bench_coverage [--monitors 10000] [--dlqs 2000] [--repeat 3]

The organisation is :func:`benchmarks.account.datadog_org`'s: exact ``queuename:`` scopes (with
``aws_account``/``region``), team wildcards with ``by {queuename}``, composites over muted members,
thresholds, decoys on ``number_of_messages_sent``, one backlog monitor per source queue (thousands of distinct
exact scopes), Lambda/ECS/log/APM monitors. Each repetition runs in a fresh process (no cache survives
between them) and measures CPU seconds of: building the monitors from the API's JSON (parsing every query),
indexing them (:class:`auditor.datadog.coverage.MonitorIndex`), ``coverage(target)`` for every DLQ, once, and
the same pass again (the index keeps each answer: DD-1..DD-3 share one index, DD-4 has its own with the
downtimes, so a scan computes coverage twice). Target: coverage ≤ 1 s. A pass that reaches ``--limit``
seconds of CPU stops and is extrapolated to all DLQs (said so); a pass slower than 20 s is not repeated.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time

TARGET_S = 1.0
SLOW_S = 20.0  # a pass slower than this is not repeated
DD_CHECKS = 4  # DD-1..DD-4 each ask for every DLQ's coverage
INDEXES = 2  # ... of two indexes: without downtimes (DD-1..DD-3) and with them (DD-4)


def once(monitors: int, dlqs: int, limit: float) -> dict[str, float]:
    """One fresh measurement (call in a fresh process: nothing cached from an earlier one). A coverage pass
    that has used ``limit`` seconds of CPU stops there and is extrapolated to every DLQ."""
    from auditor.datadog.coverage import MonitorIndex, QueueTarget
    from auditor.datadog.monitors import Downtime, Monitor
    from benchmarks.account import ACCOUNT, REGION, TEAMS, datadog_org, dlq_name

    names = [dlq_name(d) for d in range(dlqs)]
    sources = [f"{TEAMS[k % len(TEAMS)]}-q-{k:05d}" for k in range(5 * dlqs)]
    raw, raw_downtimes = datadog_org(
        dlqs=names, sources=sources, functions=[f"fn-{i:05d}" for i in range(5 * dlqs)],
        services=[f"svc-{k:04d}" for k in range(max(1, dlqs // 2))], total=monitors, downtimes=max(1, dlqs // 20))
    targets = [QueueTarget(n, REGION, ACCOUNT) for n in names]
    out: dict[str, float] = {}

    c = time.process_time()
    parsed = [Monitor.from_api(m) for m in raw]
    downtimes = [x for x in (Downtime.from_v2(d) for d in raw_downtimes) if x is not None]
    out["parse"] = time.process_time() - c

    c = time.process_time()
    index = MonitorIndex(parsed, downtimes)
    out["index"] = time.process_time() - c

    c = time.process_time()
    covered = done = 0
    for t in targets:
        covered += index.coverage(t).covered
        done += 1
        if time.process_time() - c > limit:
            break
    spent = time.process_time() - c
    out["coverage"] = spent * len(targets) / done
    out["measured_dlqs"] = done

    c = time.process_time()
    for t in targets[:done]:
        index.coverage(t)
    out["again"] = (time.process_time() - c) * len(targets) / done

    out["covered"] = covered
    out["sqs_monitors"] = len(index.sqs_monitors)
    out["distinct_scopes"] = len({m["query"].split("{", 1)[1].split("}", 1)[0] for m in raw
                                  if "queuename:" in m["query"]})
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.bench_coverage", description=__doc__.splitlines()[0])
    parser.add_argument("--monitors", type=int, default=10_000)
    parser.add_argument("--dlqs", type=int, default=2_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--limit", type=float, default=20.0,
                        help="CPU seconds after which a coverage pass stops and is extrapolated (default 20)")
    parser.add_argument("--once", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.once:
        print(json.dumps(once(args.monitors, args.dlqs, args.limit)))
        return 0
    runs: list[dict[str, float]] = []
    for _ in range(args.repeat):
        if runs and runs[-1]["coverage"] > SLOW_S:
            print(f"(one pass took {runs[-1]['coverage']:.0f}s of CPU: not repeated)")
            break
        proc = subprocess.run([sys.executable, "-m", "benchmarks.bench_coverage", "--once", "--monitors",
                               str(args.monitors), "--dlqs", str(args.dlqs), "--limit", str(args.limit)],
                              capture_output=True, text=True)
        if proc.returncode:
            print(proc.stderr, file=sys.stderr)
            return proc.returncode
        runs.append(json.loads(proc.stdout))
    med = {k: statistics.median(r[k] for r in runs) for k in runs[0]}
    print(f"Datadog coverage: {args.monitors} monitors ({med['sqs_monitors']:.0f} on SQS metrics, "
          f"{med['distinct_scopes']:.0f} distinct queuename scopes) × {args.dlqs} DLQs, "
          f"CPU seconds, median of {len(runs)} fresh processes:")
    print(f"  build monitors from JSON (parse queries) {med['parse']:7.2f}s")
    print(f"  index                                    {med['index']:7.2f}s")
    partial = min(r["measured_dlqs"] for r in runs) < args.dlqs
    print(f"  coverage, once per DLQ                   {med['coverage']:7.2f}s   target ≤ {TARGET_S:g}s: "
          f"{'met' if med['coverage'] <= TARGET_S else 'MISSED'}  (runs: "
          + ", ".join(f"{r['coverage']:.2f}" for r in runs) + ")"
          + (f"\n    extrapolated: the pass stopped after {args.limit:g}s of CPU, at "
             + ", ".join(f"{r['measured_dlqs']:.0f}" for r in runs) + f" of {args.dlqs} DLQs" if partial else ""))
    print(f"  the same pass again (answers kept)       {med['again']:7.2f}s")
    print(f"  a scan: {DD_CHECKS} DD checks ask, {INDEXES} indexes compute: about "
          f"{INDEXES * med['coverage'] + (DD_CHECKS - INDEXES) * med['again']:.2f}s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
