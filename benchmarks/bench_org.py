"""Organisation scale: per-account scan time, the shared bound on calls in flight, shard sizes, merge cost.

An organization on a local moto server that adds LATENCY_MS to every request (concurrent requests overlap, as
with AWS): the demo's shop as the management account (auditor/demo/seed.py: queues, functions, mappings, ECS
services, buckets, roles) and MEMBERS member accounts, each with one healthy and BROKEN broken SQS → Lambda
consumers (auditor/demo/seed_org.py). Then, in this process, every check but Datadog's:

1. one account alone, through its role (after a warm-up scan): the per-account figures, shop and member;
2. every account, ``--workers 8``, 1 / 2 / 4 / 8 accounts at a time, on the shared pools: wall, calls, and the
   most calls ever in flight (on the pools' threads, and on the accounts' own threads: AssumeRole,
   DescribeRegions);
3. the same with one inventory's own pools per account (the design not taken): the bound it would break;
4. ``--shard I/N`` on 1,000 account ids: shard sizes for N = 4..256, and how many accounts move when 100 are
   added (by hash: none; by position in the list, as a naive split would: most);
5. ``auditor merge`` of 1,000 one-account reports: CPU seconds, and the JSON and Markdown renderings.

Prints numbers; asserts nothing. Run: ``python benchmarks/bench_org.py [MEMBERS] [BROKEN] [LATENCY_MS]``.
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
import sys
import threading
import time
from contextlib import contextmanager

from auditor.demo import seed as shop
from auditor.demo.seed_org import seed_organization
from auditor.demo.servers import LocalAws


@contextmanager
def in_flight():
    """Count calls in flight by kind of thread (pools, accounts) while the block runs."""
    from botocore.endpoint import Endpoint

    lock = threading.Lock()
    now = {"pools": 0, "accounts": 0}
    peak = dict(now)
    send = Endpoint._send

    def counted(self, request):
        name = threading.current_thread().name
        kind = "accounts" if name.startswith("auditor-account") else "pools"
        with lock:
            now[kind] += 1
            peak[kind] = max(peak[kind], now[kind])
            peak["all"] = max(peak.get("all", 0), now["pools"] + now["accounts"])
        try:
            return send(self, request)
        finally:
            with lock:
                now[kind] -= 1

    Endpoint._send = counted
    try:
        yield peak
    finally:
        Endpoint._send = send


def scan(organization, names, *, workers: int, parallel: int, shared: bool = True):
    from auditor import engine, org
    from auditor.accounts import AccountTarget
    from auditor.datadog.mode import reads_datadog
    from auditor.inventory import Inventory
    from auditor.inventory.aws import AwsAccount
    from auditor.inventory.core import CallStats

    checks = [c for c in engine.select(engine.load_checks(plugins=False), []) if not reads_datadog(c)]
    targets = [AccountTarget(m.account, m.role_arn, m.name) for m in map(organization.member, names)]
    plan = org.Plan(base=AwsAccount("demo"), targets=targets, checks=checks, regions=["us-east-1"],
                    workers=workers, parallel=parallel)
    original = Inventory.__init__
    if not shared:  # every account on pools of its own, as if scanned by separate processes in one
        def own_pools(self, *args, pools=None, **kw):
            original(self, *args, **kw)

        Inventory.__init__ = own_pools
    try:
        with in_flight() as peak:
            t0, c0 = time.perf_counter(), time.process_time()
            report = org.scan(plan, run_stats=CallStats())
            wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    finally:
        Inventory.__init__ = original
    threads = threading.active_count()
    return report, wall, cpu, peak, threads


def shards(n_accounts: int = 1000) -> None:
    from auditor.accounts import shard_of

    ids = [f"{int(hashlib.sha256(f'acct-{i}'.encode()).hexdigest(), 16) % 10**12:012d}" for i in range(n_accounts)]
    more = ids + [f"{int(hashlib.sha256(f'new-{i}'.encode()).hexdigest(), 16) % 10**12:012d}" for i in range(100)]
    print(f"\n--shard I/N over {n_accounts} account ids (sha256 of the id mod N):")
    print("    N   min  mean   max   accounts moved when 100 are added: by hash / by position in the sorted list")
    for n in (4, 16, 64, 128, 256):
        sizes = [0] * n
        for a in ids:
            sizes[shard_of(a, n) - 1] += 1
        moved_hash = 0  # shard_of(a, n) depends on a and n alone
        before = {a: i % n for i, a in enumerate(sorted(ids))}
        after = {a: i % n for i, a in enumerate(sorted(more))}
        moved_position = sum(before[a] != after[a] for a in ids)
        print(f"  {n:3d}  {min(sizes):4d}  {sum(sizes) / n:4.1f}  {max(sizes):4d}   {moved_hash:4d} / {moved_position:4d}")


def merge_cost(report, copies: int = 1000) -> None:
    from auditor.reports import json as json_report
    from auditor.reports import markdown

    from auditor.merge import account_report, merge

    member = max(report.accounts, key=lambda a: a.account != shop.ACCOUNT)  # a member, not the shop
    one = account_report(report, member.account)
    parts = []
    for i in range(copies):
        account = f"{100000000000 + i:012d}"
        sub = dataclasses.replace(one)
        sub.accounts = [dataclasses.replace(one.accounts[0], account=account)]
        sub.findings = [dataclasses.replace(f, resource=dataclasses.replace(f.resource, account=account))
                        for f in one.findings]
        parts.append(sub)
    c0 = time.process_time()
    merged = merge(parts)
    c1 = time.process_time()
    text = json_report.render(merged)
    c2 = time.process_time()
    md = markdown.render(merged)
    c3 = time.process_time()
    print(f"\nmerge of {copies} one-account reports ({len(merged.findings)} results): merge {c1 - c0:.2f} s CPU, "
          f"JSON {c2 - c1:.2f} s ({len(text) / 1e6:.1f} MB), Markdown {c3 - c2:.2f} s ({len(md) / 1e3:.0f} kB)")


def main() -> None:
    members = int(sys.argv[1]) if len(sys.argv) > 1 else 8
    broken = int(sys.argv[2]) if len(sys.argv) > 2 else 5
    latency = sys.argv[3] if len(sys.argv) > 3 else "50"
    os.environ["AUDITOR_MOTO_LATENCY_MS"] = latency
    aws = LocalAws().start_isolated()
    try:
        t0 = time.perf_counter()
        shop.seed(aws.client)
        organization = seed_organization(aws, [(f"member-{i}", broken, "ok") for i in range(members)])
        print(f"seeded the shop and {members} members with {broken + 1} consumers each in "
              f"{time.perf_counter() - t0:.1f}s (latency {latency} ms per request)")
        os.environ.update(aws.env())
        names = ["management"] + [f"member-{i}" for i in range(members)]
        scan(organization, names[1:2], workers=8, parallel=1)  # warm-up: imports, service models, connections
        for label, name in (("the shop (management)", "management"), ("a member", names[1])):
            report, wall, cpu, peak, _ = scan(organization, [name], workers=8, parallel=1)
            print(f"one account alone, {label} (--workers 8): {wall:.2f}s wall, {cpu:.2f}s CPU, "
                  f"{report.stats['total_calls']} API calls, {len(report.findings)} results, "
                  f"at most {peak['all']} in flight")
        print(f"\nall {len(names)} accounts (the shop and {members} members), --workers 8 (one gate of 8 requests in "
              "flight, shared):")
        print("  accounts at once   wall    CPU   calls  per account  in flight: pools + accounts' own")
        for parallel in (1, 2, 4, 8):
            report, wall, cpu, peak, _ = scan(organization, names, workers=8, parallel=parallel)
            print(f"  {parallel:16d}  {wall:5.2f}s {cpu:5.2f}s  {report.stats['total_calls']:5d}  "
                  f"{wall / len(names):9.2f}s   {peak['pools']:3d} + {peak['accounts']}")
        report, wall, cpu, peak, _ = scan(organization, names, workers=8, parallel=8, shared=False)
        print(f"  {8:16d}  {wall:5.2f}s {cpu:5.2f}s  {report.stats['total_calls']:5d}  {wall / len(names):9.2f}s   "
              f"{peak['pools']:3d} + {peak['accounts']}   <- pools of its own per account (not what auditor does)")
    finally:
        aws.stop()
    shards()
    merge_cost(report)  # of the last member-sized account, 1,000 times


if __name__ == "__main__":
    main()
