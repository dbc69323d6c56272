"""How long explaining a 20-statement bucket policy takes (target: well under 100 ms).

    .venv/bin/python benchmarks/bench_policy.py

Prints the median and worst time of parse + analyze + render for one action, and of the all-actions analysis
that BP-2/BP-4 run per bucket.
"""

from __future__ import annotations

import statistics
import time

from auditor.policy import analyze, parse
from auditor.policy.explain import render_table

BUCKET = "bench-bucket"
RES = [f"arn:aws:s3:::{BUCKET}", f"arn:aws:s3:::{BUCKET}/*"]


def policy_20() -> dict:
    sts = [
        {"Sid": "DenyOutsideNetworks", "Effect": "Deny", "Principal": "*", "Action": "s3:*", "Resource": RES,
         "Condition": {"NotIpAddress": {"aws:SourceIp": ["203.0.113.0/24", "198.51.100.0/24", "2001:db8::/32"]},
                       "StringNotEquals": {"aws:SourceVpce": ["vpce-0a1b2c3d4e5f60718", "vpce-1a2b3c4d"]}}},
        {"Sid": "DenyNoTls", "Effect": "Deny", "Principal": "*", "Action": "s3:*", "Resource": RES,
         "Condition": {"Bool": {"aws:SecureTransport": "false"}}},
        {"Sid": "DenyOutsideOrg", "Effect": "Deny", "Principal": "*", "Action": "s3:*", "Resource": RES,
         "Condition": {"StringNotEquals": {"aws:PrincipalOrgID": "o-abc123"},
                       "Bool": {"aws:PrincipalIsAWSService": "false"}}},
        {"Sid": "DenyUnencryptedPut", "Effect": "Deny", "Principal": "*", "Action": "s3:PutObject",
         "Resource": RES[1], "Condition": {"StringNotEquals": {"s3:x-amz-server-side-encryption": "aws:kms"}}},
        {"Sid": "DenyDeleteBucket", "Effect": "Deny", "Principal": "*", "Action": "s3:DeleteBucket",
         "Resource": RES[0]},
    ]
    for i in range(10):
        sts.append({"Sid": f"TeamRead{i}", "Effect": "Allow",
                    "Principal": {"AWS": f"arn:aws:iam::1111222233{i:02d}:role/reader"},
                    "Action": ["s3:GetObject", "s3:ListBucket"], "Resource": [RES[0], f"{RES[0]}/team{i}/*"]})
    for i in range(3):
        sts.append({"Sid": f"Writer{i}", "Effect": "Allow", "Principal": {"AWS": f"44445555666{i}"},
                    "Action": "s3:PutObject", "Resource": f"{RES[0]}/inbox/{i}/*",
                    "Condition": {"ArnLike": {"aws:PrincipalArn": f"arn:aws:iam::44445555666{i}:role/etl-*"}}})
    sts.append({"Sid": "Logs", "Effect": "Allow", "Principal": {"Service": "logging.s3.amazonaws.com"},
                "Action": "s3:PutObject", "Resource": f"{RES[0]}/logs/*",
                "Condition": {"StringEquals": {"aws:SourceAccount": "123456789012"}}})
    sts.append({"Sid": "PublicAssets", "Effect": "Allow", "Principal": "*", "Action": "s3:GetObject",
                "Resource": f"{RES[0]}/public/*", "Condition": {"StringLike": {"aws:Referer": "https://shop.example/*"}}})
    assert len(sts) == 20
    return {"Version": "2012-10-17", "Statement": sts}


def bench(fn, n: int) -> tuple[float, float, float]:
    """(median wall ms, worst wall ms, median CPU ms of this process — steadier on a busy machine)."""
    fn()  # warm caches the way a second bucket in a scan would find them
    wall, cpu = [], []
    for _ in range(n):
        t, c = time.perf_counter(), time.process_time()
        fn()
        wall.append((time.perf_counter() - t) * 1000)
        cpu.append((time.process_time() - c) * 1000)
    return statistics.median(wall), max(wall), statistics.median(cpu)


def main() -> None:
    doc = policy_20()

    def explain_one() -> None:
        a = analyze(parse(doc), action="s3:GetObject", bucket=BUCKET, force=("path",))
        render_table(a, "bench.json")

    def all_actions() -> None:
        analyze(parse(doc), bucket=BUCKET, owner="123456789012")

    a = analyze(parse(doc), action="s3:GetObject", bucket=BUCKET, force=("path",))
    med, worst, cpu = bench(explain_one, 30)
    print(f"explain s3:GetObject (parse + analyze + table), 20 statements, {len(a.rows)} rows: "
          f"median {med:.1f} ms (CPU {cpu:.1f} ms), max {worst:.1f} ms")
    full = analyze(parse(doc), bucket=BUCKET, owner="123456789012")
    med, worst, cpu = bench(all_actions, 10)
    print(f"all S3 actions (what BP-2/BP-4 analyse per bucket), {len(full.rows)} rows: "
          f"median {med:.1f} ms (CPU {cpu:.1f} ms), max {worst:.1f} ms")


if __name__ == "__main__":
    main()
