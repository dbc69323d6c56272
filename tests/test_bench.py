"""The benchmark's own machinery, so that `make bench` compares like with like.

* The bench server hands out ListFunctions / ListEventSourceMappings in AWS's page sizes (50 / 100, or the
  smaller MaxItems asked for) with tokens boto3's real paginator follows, where moto answers in one page.
* The plain loop makes exactly the calls `auditor scan` makes (its ``stats.calls``), and the server saw the
  same AWS calls (nothing retried or uncounted), on a small account built by the benchmark's own builder.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # benchmarks/ is part of the repository, not of the installed package
    sys.path.insert(0, str(ROOT))

from benchmarks import account, bench_scan  # noqa: E402


@pytest.fixture(scope="module")
def bench_account(tmp_path_factory):
    """A small account with 52 functions and mappings (two ListFunctions pages) and 10 buckets (one in
    eu-west-1) on a bench server, and the Datadog organisation beside it."""
    plan = account.plan(0.01, overrides={"functions": 52, "mapped_functions": 52, "mappings": 52, "buckets": 10})
    args = argparse.Namespace(workers=[8], latency=0.0, repeat=1, seed_workers=16, no_replay=True, verbose=False)
    bench = bench_scan.Bench(args, tmp_path_factory.mktemp("bench"))
    aws, dd = bench.start(plan)
    try:
        clients = bench.clients(aws, connections=32)
        account.build(plan, clients)
        assert account.verify(plan, clients) == {}
        yield bench, aws, dd, plan, clients
    finally:
        bench.stop(aws, dd)


def test_lambda_listings_come_in_aws_page_sizes_through_the_boto3_paginator(bench_account):
    _, _, _, plan, clients = bench_account
    lam = clients("lambda", account.REGION)

    pages = list(lam.get_paginator("list_functions").paginate(PaginationConfig={"PageSize": 1000}))
    assert [len(p["Functions"]) for p in pages] == [50, 2]  # at most 50, whatever is asked
    assert sorted(f["FunctionName"] for p in pages for f in p["Functions"]) == [f["name"] for f in plan.functions]

    pages = list(lam.get_paginator("list_event_source_mappings").paginate(PaginationConfig={"PageSize": 20}))
    assert [len(p["EventSourceMappings"]) for p in pages] == [20, 20, 12]
    assert len({m["UUID"] for p in pages for m in p["EventSourceMappings"]}) == len(plan.mappings)


def test_list_buckets_carries_each_bucket_region_as_aws_does(bench_account):
    """AWS adds ``BucketRegion`` to a ``ListBuckets`` answer when the request has a parameter (botocore's model:
    "if the request contains at least one valid parameter, it is included"); moto 5.2.5 never does."""
    _, _, _, plan, clients = bench_account
    s3 = clients("s3", account.REGION)
    listed = s3.list_buckets(MaxBuckets=10000)["Buckets"]
    assert {b["Name"]: b.get("BucketRegion") for b in listed} == {b["name"]: b["region"] for b in plan.buckets}
    assert {b["region"] for b in plan.buckets} == {account.REGION, account.OTHER_REGION}  # both kinds seen
    assert not any("BucketRegion" in b for b in s3.list_buckets()["Buckets"])  # no parameter: no region


def test_the_plain_loop_makes_exactly_the_calls_of_auditor_scan(bench_account):
    bench, aws, dd, _, _ = bench_account
    tool = bench.child("tool", 8, aws, dd)
    loop = bench.child("loop", 8, aws, dd)

    assert tool.not_evaluated == 0  # every call answered: the account is what the numbers say
    assert loop.calls == tool.calls
    if bench.perf:  # instructions counted where perf can: a Python start alone is over 10^8
        assert tool.instructions > 1e8 and loop.instructions > 1e8
    else:
        assert tool.instructions is None and loop.instructions is None
    aws_calls = {op: n for op, n in tool.calls.items() if not op.startswith("datadog:")}
    assert tool.server["calls"] == aws_calls  # the server saw each counted call once: no hidden retries


def test_instructions_are_read_from_perf_stat_or_reported_missing(tmp_path):
    out = tmp_path / "perf.txt"
    out.write_text("# started on Tue Dec  1 06:21:51 2026\n\n36123456789,,instructions,12000000,100.00,,\n")
    assert bench_scan._instructions(out) == 36123456789.0
    out.write_text("<not supported>,,instructions,0,100.00,,\n")
    assert bench_scan._instructions(out) is None
    assert bench_scan._instructions(tmp_path / "absent.txt") is None


def test_measure_reports_a_command_and_its_helper_process_summed(tmp_path):
    """ru_maxrss is the largest single process; a command whose helper holds memory while it runs is reported
    with the two summed (benchmarks/measure.py samples them)."""
    import json
    import subprocess

    helper = "x = b'x' * 60_000_000; import time; time.sleep(0.6)"
    parent = f"import subprocess, sys; y = b'y' * 30_000_000; subprocess.run([sys.executable, '-c', {helper!r}])"
    out = tmp_path / "m.json"
    run = subprocess.run([sys.executable, "-m", "benchmarks.measure", str(out), "--", sys.executable, "-c", parent],
                         cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stderr
    got = json.loads(out.read_text())
    assert got["maxrss_kb"] >= 60_000  # the helper alone
    assert got["maxrss_tree_kb"] >= got["maxrss_kb"] + 25_000  # and the command's own 30 MB beside it
