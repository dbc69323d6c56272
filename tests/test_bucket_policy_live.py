"""The S3 policy checks against the seeded moto account: inventory, checks, and the CLI end to end."""

from __future__ import annotations

import json

import pytest
from auditor.checks import bucket_policy as bp

from auditor import engine
from auditor.demo.seed_s3 import EXPECTED, POLICIES, SEVERITIES
from auditor.inventory import Inventory
from auditor.inventory.aws import AwsAccount
from auditor.model import Status
from tests.conftest import run_auditor

RULES = {"BP-1", "BP-2", "BP-3", "BP-4", "BP-5"}


@pytest.fixture(scope="module")
def live_report(seeded_aws):
    mp = pytest.MonkeyPatch()
    for k, v in seeded_aws.env().items():
        mp.setenv(k, v)
    try:
        inv = Inventory(AwsAccount("demo"), ["us-east-1"])
        try:
            yield engine.run(inv, bp.CHECKS, target={}), inv.stats.snapshot()
        finally:
            inv.close()
    finally:
        mp.undo()


def _fails(report):
    return {(f.rule, f.resource.id) for f in report.findings if f.status is Status.FAIL}


@pytest.mark.parametrize("rid", sorted(EXPECTED))
def test_expected_findings_on_the_seeded_account(live_report, rid):
    report, _ = live_report
    got = _fails(report)
    for rule in EXPECTED[rid].get("fail", set()) & RULES:
        assert (rule, rid) in got, f"{rule} did not fire on {rid}"
    for rule in EXPECTED[rid].get("clean", set()) & RULES:
        assert (rule, rid) not in got, f"{rule} fired on healthy {rid}"


def test_severities_and_resources(live_report):
    report, _ = live_report
    for (rid, rule), sev in SEVERITIES.items():
        found = [f for f in report.findings if f.rule == rule and f.resource.id == rid and f.status is Status.FAIL]
        assert sev in {str(f.severity) for f in found}, (rid, rule)
    bucket = next(f.resource for f in report.findings if f.resource.id == "shop-public-site")
    assert (bucket.provider, bucket.type, bucket.arn, bucket.account, bucket.region) == (
        "aws", "s3-bucket", "arn:aws:s3:::shop-public-site", "123456789012", "us-east-1")


def test_bp5_names_role_users_and_networks(live_report):
    report, _ = live_report
    (f,) = [f for f in report.findings if f.rule == "BP-5" and f.status is Status.FAIL]
    assert f.resource.type == "iam-role" and f.resource.arn.endswith(":role/shop-report-signer")
    assert "Lambda function report-link-signer" in f.evidence["used_by"]
    assert any("203.0.113.0/24" in w for w in f.evidence["works_from"])


def test_no_policy_is_not_an_error_and_calls_are_read_only(live_report, seeded_aws):
    report, stats = live_report
    assert not [f for f in report.findings if f.status is Status.NOT_EVALUATED]
    assert [f.message for f in report.findings if f.resource.id == "shop-no-policy"][0].endswith("no bucket policy")
    buckets = len(seeded_aws.client("s3").list_buckets()["Buckets"])
    assert stats["calls"]["s3:GetBucketPolicy"] == buckets  # once per bucket, cached across checks
    assert all(k.split(":")[1].startswith(("Get", "List", "Describe")) for k in stats["calls"])


def test_access_denied_is_not_evaluated(seeded_aws, monkeypatch):
    for k, v in seeded_aws.env().items():
        monkeypatch.setenv(k, v)
    inv = Inventory(AwsAccount("demo"), ["us-east-1"])
    from auditor.inventory.core import NotAvailable

    def denied(*_a, **_k):
        raise NotAvailable("access denied to s3:GetBucketPolicy", "s3:GetBucketPolicy", kind="denied")

    monkeypatch.setattr(inv.s3, "_get_policy", denied)
    try:
        report = engine.run(inv, [bp.deny_lockout], target={})
    finally:
        inv.close()
    ne = [f for f in report.findings if f.status is Status.NOT_EVALUATED]
    assert len(ne) == len(seeded_aws.client("s3").list_buckets()["Buckets"])  # one per bucket
    assert {f.iam_action for f in ne} == {"s3:GetBucketPolicy"}


# -- Block Public Access (BP-4's severity) --------------------------------------------------------------------
def _bp4(report, bucket: str = "shop-public-site") -> list:
    return [f for f in report.findings if f.rule == "BP-4" and f.resource.id == bucket]


def test_account_block_public_access_is_read_from_the_configured_endpoint(live_report):
    """s3control prefixes the account id to the host; against a custom endpoint that host does not resolve, so
    the call failed after every retry and every BP-4 finding said the settings could not be read."""
    report, stats = live_report
    assert stats["calls"]["s3control:GetPublicAccessBlock"] == 1
    assert "s3control:GetPublicAccessBlock" not in stats["retries"]
    (f,) = _bp4(report)
    assert f.status is Status.FAIL and f.evidence["restrict_public_buckets"] is False
    assert "could not be read" not in f.message and "unknown" not in f.message


def _scan_with(aws, checks, *, deny: str | None = None, when=lambda params: True):
    from botocore.exceptions import ClientError

    with pytest.MonkeyPatch.context() as mp:
        for k, v in aws.env().items():
            mp.setenv(k, v)
        account = AwsAccount("demo")
        if deny:
            service, operation = deny.split(".")

            def denied(params, **_):
                if when(params):
                    raise ClientError({"Error": {"Code": "AccessDenied", "Message": "no"},
                                       "ResponseMetadata": {"HTTPStatusCode": 403}}, operation)

            account.session.events.register(f"provide-client-params.{service}.{operation}", denied)
        inv = Inventory(account, ["us-east-1"])
        try:
            return engine.run(inv, checks, target={})
        finally:
            inv.close()


@pytest.mark.parametrize(("deny", "action"), [
    ("s3.GetPublicAccessBlock", "s3:GetBucketPublicAccessBlock"),
    ("s3-control.GetPublicAccessBlock", "s3:GetAccountPublicAccessBlock"),
])
def test_unreadable_block_public_access_is_not_evaluated(seeded_aws, deny, action):
    report = _scan_with(seeded_aws, [bp.public_access], deny=deny)
    got = _bp4(report)
    (fail,) = [f for f in got if f.status is Status.FAIL]  # the policy is public whatever the setting says
    assert str(fail.severity) == "high" and action in fail.message
    (ne,) = [f for f in got if f.status is Status.NOT_EVALUATED]
    assert ne.iam_action == action and "access denied" in ne.reason and "RestrictPublicBuckets" in ne.reason
    assert not report.complete
    # buckets that are not public do not depend on the setting
    assert {f.resource.id for f in report.not_evaluated} == {"shop-public-site"}


def test_account_restrict_public_buckets_lowers_bp4(fresh_aws, monkeypatch):
    from auditor.inventory.s3 import _honour_custom_endpoint

    s3 = fresh_aws.client("s3")
    s3.create_bucket(Bucket="site")
    s3.put_bucket_policy(Bucket="site", Policy=json.dumps(POLICIES["shop-public-site"]).replace(
        "shop-public-site", "site"))
    account = fresh_aws.client("sts").get_caller_identity()["Account"]
    control = fresh_aws.client("s3control")
    _honour_custom_endpoint(control, account)
    control.put_public_access_block(AccountId=account, PublicAccessBlockConfiguration={
        "BlockPublicAcls": False, "IgnorePublicAcls": False, "BlockPublicPolicy": False,
        "RestrictPublicBuckets": True})
    report = _scan_with(fresh_aws, [bp.public_access])
    (f,) = _bp4(report, "site")
    assert f.status is Status.FAIL and str(f.severity) == "low" and "RestrictPublicBuckets" in f.message
    assert report.complete


# -- CLI ------------------------------------------------------------------------------------------------------
@pytest.mark.e2e
def test_cli_scan_reports_the_lockout(seeded_aws):
    r = run_auditor("scan", "--profile", "demo", "--check", "BP-2", "--format", "json", env=seeded_aws.env())
    assert r.code == 1, r.stderr
    doc = json.loads(r.stdout)
    fails = [f for f in doc["findings"] if f["status"] == "fail"]
    assert [(f["rule"], f["resource"]["id"]) for f in fails] == [("BP-2", "shop-reports-split-deny")]
    assert "s3:GetObject" in fails[0]["message"]


@pytest.mark.e2e
def test_cli_explain_live_bucket(seeded_aws):
    r = run_auditor("policy", "explain", "--bucket", "shop-assets-ip-or-vpc", "--profile", "demo", "--format",
                    "json", env=seeded_aws.env())
    assert r.code == 0, r.stderr
    doc = json.loads(r.stdout)
    assert doc["source"] == "s3://shop-assets-ip-or-vpc" and doc["action"] == "s3:GetObject"
    allowed = {(row["context"]["path"], row["context"].get("aws:sourceip"), row["context"].get("aws:sourcevpc"))
               for row in doc["rows"] if row["decision"] == "allowed"}
    assert ("internet", "in 203.0.113.0/24", "—") in allowed
    assert ("VPC endpoint", "—", "vpc-0a1b2c3d4e5f60718") in allowed


@pytest.mark.e2e
def test_cli_explain_errors_are_clean(seeded_aws):
    r = run_auditor("policy", "explain", "--bucket", "no-such-bucket-here", "--profile", "demo",
                    env=seeded_aws.env())
    assert r.code == 2 and "error:" in r.stderr and "Traceback" not in r.stderr
    r = run_auditor("policy", "explain", "--bucket", "shop-no-policy", "--profile", "demo", env=seeded_aws.env())
    assert r.code == 0 and "no bucket policy" in r.stdout
