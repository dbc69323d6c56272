"""The shop's S3 buckets and their policies (check-rules.md §7), and a role that signs presigned URLs.

moto stores bucket policies verbatim (AWS would reject some of these on PutBucketPolicy), which lets the demo
carry the invalid values that BP-3 must find.
"""

from __future__ import annotations

import json
from typing import Any

ACCOUNT = "123456789012"
OFFICE = "203.0.113.0/24"
VPC = "vpc-0a1b2c3d4e5f60718"
VPCE = "vpce-0a1b2c3d4e5f60718"
ORG = "o-shop12345"

EXPECTED: dict[str, dict[str, set[str]]] = {
    # bucket (or role) name → rules that must fire ("fail") or must not ("clean")
    "shop-assets-ip-or-vpc": {"fail": {"BP-1"}, "clean": {"BP-2", "BP-3", "BP-4"}},  # BP-1 at info
    "shop-reports-split-deny": {"fail": {"BP-2"}, "clean": {"BP-1", "BP-3", "BP-4"}},
    "shop-partner-exchange": {"fail": {"BP-1"}, "clean": {"BP-2", "BP-3", "BP-4"}},  # BP-1 at high
    "shop-legacy-bad-values": {"fail": {"BP-3"}, "clean": {"BP-1", "BP-2", "BP-4"}},
    "shop-host-bits": {"fail": {"BP-3"}, "clean": {"BP-1", "BP-2", "BP-4"}},  # BP-3 at low
    "shop-public-site": {"fail": {"BP-4"}, "clean": {"BP-1", "BP-2", "BP-3"}},
    # Deny statements only, one with a mistyped range: BP-3, but no Allow, so it cannot be public (not BP-4).
    "shop-archive": {"fail": {"BP-3"}, "clean": {"BP-1", "BP-2", "BP-4"}},
    "shop-healthy": {"clean": {"BP-1", "BP-2", "BP-3", "BP-4"}},
    "shop-no-policy": {"clean": {"BP-1", "BP-2", "BP-3", "BP-4"}},
    "shop-report-signer": {"fail": {"BP-5"}},
    "shop-lambda-role": {"clean": {"BP-5"}},
}

#: Expected severities of the findings above, for the tests.
SEVERITIES = {
    ("shop-assets-ip-or-vpc", "BP-1"): "info",
    ("shop-partner-exchange", "BP-1"): "high",
    ("shop-reports-split-deny", "BP-2"): "high",
    ("shop-legacy-bad-values", "BP-3"): "high",
    ("shop-host-bits", "BP-3"): "low",
    ("shop-public-site", "BP-4"): "high",
    ("shop-archive", "BP-3"): "high",
    ("shop-report-signer", "BP-5"): "info",
}


def _both(bucket: str) -> list[str]:
    return [f"arn:aws:s3:::{bucket}", f"arn:aws:s3:::{bucket}/*"]


def _doc(*statements: dict[str, Any]) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": list(statements)}


def _owner_read(bucket: str, **condition: Any) -> dict[str, Any]:
    st: dict[str, Any] = {"Sid": "OwnerRead", "Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"},
                          "Action": "s3:GetObject", "Resource": f"arn:aws:s3:::{bucket}/*"}
    if condition:
        st["Condition"] = condition
    return st


POLICIES: dict[str, dict[str, Any]] = {
    # One Deny, two negated conditions on keys that never meet: "from the office OR through the VPC" (BP-1 info).
    "shop-assets-ip-or-vpc": _doc(
        {"Sid": "DenyUnlessOfficeOrVpc", "Effect": "Deny", "Principal": "*", "Action": "s3:*",
         "Resource": _both("shop-assets-ip-or-vpc"),
         "Condition": {"NotIpAddress": {"aws:SourceIp": OFFICE}, "StringNotEquals": {"aws:SourceVpc": VPC}}},
        _owner_read("shop-assets-ip-or-vpc"),
    ),
    # The same conditions split in two: every request lacks one of the keys, so everything is denied (BP-2).
    "shop-reports-split-deny": _doc(
        {"Sid": "DenyOutsideOffice", "Effect": "Deny", "Principal": "*", "Action": "s3:*",
         "Resource": _both("shop-reports-split-deny"), "Condition": {"NotIpAddress": {"aws:SourceIp": OFFICE}}},
        {"Sid": "DenyOutsideVpc", "Effect": "Deny", "Principal": "*", "Action": "s3:*",
         "Resource": _both("shop-reports-split-deny"), "Condition": {"StringNotEquals": {"aws:SourceVpc": VPC}}},
        _owner_read("shop-reports-split-deny"),
    ),
    # Meant "org members AND through our endpoint"; reads "either" (BP-1 high).
    "shop-partner-exchange": _doc(
        {"Sid": "DenyOutsideOrgOrEndpoint", "Effect": "Deny", "Principal": "*", "Action": "s3:*",
         "Resource": _both("shop-partner-exchange"),
         "Condition": {"StringNotEquals": {"aws:PrincipalOrgID": ORG, "aws:SourceVpce": VPCE}}},
        _owner_read("shop-partner-exchange"),
    ),
    # An impossible address, a private range in aws:SourceIp, and an endpoint id of the wrong shape (BP-3).
    "shop-legacy-bad-values": _doc(
        _owner_read("shop-legacy-bad-values", IpAddress={"aws:SourceIp": ["123.456.789.0/24", "10.0.0.0/8"]}),
        {"Sid": "ReadThroughEndpoint", "Effect": "Allow", "Principal": {"AWS": ACCOUNT}, "Action": "s3:GetObject",
         "Resource": "arn:aws:s3:::shop-legacy-bad-values/*",
         "Condition": {"StringEquals": {"aws:SourceVpce": "vpce-12345"}}},
    ),
    # 198.51.100.14/24 is read as 198.51.100.0/24 (BP-3 low).
    "shop-host-bits": _doc(_owner_read("shop-host-bits", IpAddress={"aws:SourceIp": "198.51.100.14/24"})),
    # Anyone may read (BP-4).
    "shop-public-site": _doc(
        {"Sid": "PublicRead", "Effect": "Allow", "Principal": "*", "Action": "s3:GetObject",
         "Resource": "arn:aws:s3:::shop-public-site/*"}),
    # Access comes from the owner account's IAM policies; the bucket policy only denies: deletes from outside the
    # office (whose range has a typo: BP-3) and requests without TLS. Without an Allow it grants nothing, so the
    # statement BP-3 cannot interpret does not make the bucket public (not BP-4).
    "shop-archive": _doc(
        {"Sid": "DenyDeletesOutsideOffice", "Effect": "Deny", "Principal": "*",
         "Action": ["s3:DeleteObject", "s3:DeleteObjectVersion"], "Resource": "arn:aws:s3:::shop-archive/*",
         "Condition": {"NotIpAddress": {"aws:SourceIp": "203.0.113.0/33"}}},
        {"Sid": "DenyWithoutTls", "Effect": "Deny", "Principal": "*", "Action": "s3:*",
         "Resource": _both("shop-archive"), "Condition": {"Bool": {"aws:SecureTransport": "false"}}},
    ),
    # Org members through the shop's endpoint only, required one key per statement (nothing to report).
    "shop-healthy": _doc(
        {"Sid": "DenyOutsideOrg", "Effect": "Deny", "Principal": "*", "Action": "s3:*",
         "Resource": _both("shop-healthy"), "Condition": {"StringNotEquals": {"aws:PrincipalOrgID": ORG}}},
        {"Sid": "DenyWithoutTls", "Effect": "Deny", "Principal": "*", "Action": "s3:*",
         "Resource": _both("shop-healthy"), "Condition": {"Bool": {"aws:SecureTransport": "false"}}},
        _owner_read("shop-healthy"),
    ),
}

SIGNER_POLICY = {
    "Version": "2012-10-17",
    "Statement": [{"Sid": "ReadReportsFromOffice", "Effect": "Allow", "Action": "s3:GetObject",
                   "Resource": "arn:aws:s3:::shop-reports-split-deny/*",
                   "Condition": {"IpAddress": {"aws:SourceIp": OFFICE}}}],
}


READER_POLICY = {
    "Version": "2012-10-17",
    "Statement": [{"Sid": "ReadReports", "Effect": "Allow", "Action": "s3:GetObject",
                   "Resource": "arn:aws:s3:::shop-reports-split-deny/*"}],
}


def seed(ctx) -> None:
    s3 = ctx.client("s3")
    for name in [*POLICIES, "shop-no-policy"]:
        s3.create_bucket(Bucket=name)
        if name in POLICIES:
            s3.put_bucket_policy(Bucket=name, Policy=json.dumps(POLICIES[name]))
    # A Lambda function whose role signs presigned URLs for the reports, but only from the office (BP-5).
    role = ctx.role("shop-report-signer", SIGNER_POLICY)
    ctx.function("report-link-signer", role=role, timeout=10)
    # The functions' shared role reads the reports through an attached (managed) policy with no network
    # condition: presigned URLs it signs work from anywhere (BP-5 passes it).
    iam = ctx.client("iam")
    arn = iam.create_policy(PolicyName="shop-read-reports", PolicyDocument=json.dumps(READER_POLICY))["Policy"]["Arn"]
    iam.attach_role_policy(RoleName="shop-lambda-role", PolicyArn=arn)
