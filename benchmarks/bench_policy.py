"""How long explaining a 20-statement bucket policy takes (target: well under 100 ms), and analysing one of 25
statements that each name a key of their own (the shape the analysis used to cut short).

    .venv/bin/python benchmarks/bench_policy.py

Prints the median and worst wall time, and the median CPU time of this process (steadier on a busy machine),
of parse + analyze + render for one action, and of the all-actions analysis that BP-2/BP-4 run per bucket:
for the same policy over and over (what a second look at a bucket finds: compiled patterns and automata are
kept), and for a policy seen for the first time (every iteration another bucket name and other accounts).
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable

from auditor.policy import analyze, parse
from auditor.policy.explain import render_table

BUCKET = "bench-bucket"


def policy_20(n: int = 0) -> dict:
    """The benchmark policy; ``n`` > 0 gives the same policy for another bucket and other accounts."""
    bucket = f"{BUCKET}-{n}" if n else BUCKET
    res = [f"arn:aws:s3:::{bucket}", f"arn:aws:s3:::{bucket}/*"]
    team = f"{n:06d}2233" if n else "1111222233"  # + 2 digits: 12-digit accounts
    writer = f"{n:06d}55666" if n else "44445555666"  # + 1 digit
    sts = [
        {"Sid": "DenyOutsideNetworks", "Effect": "Deny", "Principal": "*", "Action": "s3:*", "Resource": res,
         "Condition": {"NotIpAddress": {"aws:SourceIp": ["203.0.113.0/24", "198.51.100.0/24", "2001:db8::/32"]},
                       "StringNotEquals": {"aws:SourceVpce": ["vpce-0a1b2c3d4e5f60718", "vpce-1a2b3c4d"]}}},
        {"Sid": "DenyNoTls", "Effect": "Deny", "Principal": "*", "Action": "s3:*", "Resource": res,
         "Condition": {"Bool": {"aws:SecureTransport": "false"}}},
        {"Sid": "DenyOutsideOrg", "Effect": "Deny", "Principal": "*", "Action": "s3:*", "Resource": res,
         "Condition": {"StringNotEquals": {"aws:PrincipalOrgID": "o-abc123"},
                       "Bool": {"aws:PrincipalIsAWSService": "false"}}},
        {"Sid": "DenyUnencryptedPut", "Effect": "Deny", "Principal": "*", "Action": "s3:PutObject",
         "Resource": res[1], "Condition": {"StringNotEquals": {"s3:x-amz-server-side-encryption": "aws:kms"}}},
        {"Sid": "DenyDeleteBucket", "Effect": "Deny", "Principal": "*", "Action": "s3:DeleteBucket",
         "Resource": res[0]},
    ]
    for i in range(10):
        sts.append({"Sid": f"TeamRead{i}", "Effect": "Allow",
                    "Principal": {"AWS": f"arn:aws:iam::{team}{i:02d}:role/reader"},
                    "Action": ["s3:GetObject", "s3:ListBucket"], "Resource": [res[0], f"{res[0]}/team{i}/*"]})
    for i in range(3):
        sts.append({"Sid": f"Writer{i}", "Effect": "Allow", "Principal": {"AWS": f"{writer}{i}"},
                    "Action": "s3:PutObject", "Resource": f"{res[0]}/inbox/{i}/*",
                    "Condition": {"ArnLike": {"aws:PrincipalArn": f"arn:aws:iam::{writer}{i}:role/etl-*"}}})
    sts.append({"Sid": "Logs", "Effect": "Allow", "Principal": {"Service": "logging.s3.amazonaws.com"},
                "Action": "s3:PutObject", "Resource": f"{res[0]}/logs/*",
                "Condition": {"StringEquals": {"aws:SourceAccount": "123456789012"}}})
    sts.append({"Sid": "PublicAssets", "Effect": "Allow", "Principal": "*", "Action": "s3:GetObject",
                "Resource": f"{res[0]}/public/*", "Condition": {"StringLike": {"aws:Referer": "https://shop.example/*"}}})
    assert len(sts) == 20
    return {"Version": "2012-10-17", "Statement": sts}


def policy_teams(n: int = 0, teams: int = 24) -> dict:
    """Past the row limit the analysis used to stop at (issue 9 §3): each team's prefix denied to principals
    without the team's tag, and read/write on the bucket for any principal tagged access=rw."""
    bucket = f"{BUCKET}-{n}" if n else BUCKET
    b = f"arn:aws:s3:::{bucket}"
    sts = [{"Sid": f"Team{i}", "Effect": "Deny", "Principal": "*", "Action": "s3:*", "Resource": f"{b}/team{i}/*",
            "Condition": {"StringNotEquals": {f"aws:PrincipalTag/team{i}": "member"}}} for i in range(teams)]
    sts.append({"Sid": "TaggedRW", "Effect": "Allow", "Principal": "*", "Action": ["s3:GetObject", "s3:PutObject"],
                "Resource": f"{b}/*", "Condition": {"StringEquals": {"aws:PrincipalTag/access": "rw"}}})
    return {"Version": "2012-10-17", "Statement": sts}


def bench(fn: Callable[[int], object], n: int) -> tuple[float, float, float]:
    """(median wall ms, worst wall ms, median CPU ms of this process — steadier on a busy machine)."""
    fn(0)  # warm up the interpreter and the caches that do not depend on the policy
    wall, cpu = [], []
    for i in range(1, n + 1):
        t, c = time.perf_counter(), time.process_time()
        fn(i)
        wall.append((time.perf_counter() - t) * 1000)
        cpu.append((time.process_time() - c) * 1000)
    return statistics.median(wall), max(wall), statistics.median(cpu)


def main() -> None:
    doc = policy_20()
    fresh = {n: policy_20(n + 1000) for n in range(61)}  # not seen before by this process

    def explain_one(doc: dict, bucket: str) -> None:
        a = analyze(parse(doc), action="s3:GetObject", bucket=bucket, force=("path",))
        render_table(a, "bench.json")

    def all_actions(doc: dict, bucket: str) -> None:
        analyze(parse(doc), bucket=bucket, owner="123456789012")

    def report(what: str, rows: int, fn: Callable[[dict, str], None], n: int) -> None:
        med, worst, cpu = bench(lambda _: fn(doc, BUCKET), n)
        print(f"{what}, {rows} rows: median {med:.1f} ms (CPU {cpu:.1f} ms), max {worst:.1f} ms")
        med, worst, cpu = bench(lambda i: fn(fresh[i], f"{BUCKET}-{i + 1000}"), n)
        print(f"  … a policy seen for the first time: median {med:.1f} ms (CPU {cpu:.1f} ms), "
              f"max {worst:.1f} ms")

    a = analyze(parse(doc), action="s3:GetObject", bucket=BUCKET, force=("path",))
    report("explain s3:GetObject (parse + analyze + table), 20 statements", len(a.rows), explain_one, 30)
    full = analyze(parse(doc), bucket=BUCKET, owner="123456789012")
    report("all S3 actions (what BP-2/BP-4 analyse per bucket)", len(full.rows), all_actions, 30)

    teams = analyze(parse(policy_teams()), bucket=BUCKET, owner="123456789012")
    for i in range(6):
        fresh[i] = policy_teams(i + 1000)
    doc = policy_teams()
    report(f"all S3 actions, 25 statements with a tag key each ({'complete' if teams.complete else 'CUT SHORT'})",
           len(teams.rows), all_actions, 5)


if __name__ == "__main__":
    main()
