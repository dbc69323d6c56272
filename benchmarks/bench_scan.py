"""Scan speed on a larger account with realistic API latency.

Seeds N functions, each with a queue, a DLQ and an SQS mapping, on a moto server that adds LATENCY_MS to
every request (concurrent requests overlap, as with AWS), then times `auditor scan` with 1 and with 8 workers.
Prints numbers; asserts nothing. Run: `make bench` or `python benchmarks/bench_scan.py [N] [LATENCY_MS]`.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

from auditor.demo.seed import SeedContext
from auditor.demo.servers import LocalAws


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 100
    latency = sys.argv[2] if len(sys.argv) > 2 else "40"
    os.environ["AUDITOR_MOTO_LATENCY_MS"] = "0"
    aws = LocalAws()
    os.environ["AUDITOR_MOTO_LATENCY_MS"] = latency
    aws.start_isolated()
    try:
        ctx = SeedContext(aws.client)
        lam = aws.client("lambda")
        t0 = time.perf_counter()
        for i in range(n):
            _, dlq = ctx.queue(f"bench-{i:03d}-dlq", MessageRetentionPeriod=1209600)
            _, q = ctx.queue(f"bench-{i:03d}", VisibilityTimeout=30 + i % 200,
                             RedrivePolicy={"deadLetterTargetArn": dlq, "maxReceiveCount": str(1 + i % 6)})
            ctx.function(f"bench-{i:03d}", timeout=10 + i % 50)
            lam.put_function_concurrency(FunctionName=f"bench-{i:03d}", ReservedConcurrentExecutions=5 + i % 10)
            lam.create_event_source_mapping(FunctionName=f"bench-{i:03d}", EventSourceArn=q, BatchSize=10)
        print(f"seeded {n} functions / {2 * n} queues / {n} mappings in {time.perf_counter() - t0:.1f}s "
              f"(latency {latency} ms per request)")
        env = {**os.environ, **aws.env()}
        for workers in (1, 8):
            t0 = time.perf_counter()
            proc = subprocess.run(
                [sys.executable, "-m", "auditor", "scan", "--profile", "demo", "--check", "sqs-lambda",
                 "--check", "lambda-concurrency", "--format", "json", "--fail-on", "never", "--workers", str(workers)],
                env=env, capture_output=True, text=True)
            elapsed = time.perf_counter() - t0
            doc = json.loads(proc.stdout)
            print(f"workers={workers}: {elapsed:.2f}s wall, {doc['stats']['total_calls']} API calls, "
                  f"{doc['summary']['failed']} findings, exit {proc.returncode}")
    finally:
        aws.stop()


if __name__ == "__main__":
    main()
