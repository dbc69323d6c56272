"""Read-only by construction, and the shipped least-privilege policy is exactly enough."""

from __future__ import annotations

import json
import urllib.request
from importlib.resources import files

import pytest

from auditor.demo import seed as seed_mod
from auditor.inventory.aws import AwsAccount
from auditor.inventory.core import READ_ONLY_PREFIXES, ReadOnlyViolation, iam_action
from tests.conftest import run_auditor

POLICY = json.loads(files("auditor").joinpath("iam_policy.json").read_text())
ACTIONS = {a for s in POLICY["Statement"] for a in s["Action"]}

#: moto 5.2.5 authorises two reads under other actions than AWS: s3control GetPublicAccessBlock as
#: "s3:GetPublicAccessBlock" (AWS: s3:GetAccountPublicAccessBlock) and the bucket's GetPublicAccessBlock as
#: s3:ListBucket (AWS: s3:GetBucketPublicAccessBlock). The enforced moto user gets moto's action beside the real
#: one until test_moto_still_authorises_public_access_block_reads_under_other_actions fails.
MOTO_ACTION_ALIASES = {"s3:GetAccountPublicAccessBlock": "s3:GetPublicAccessBlock",
                       "s3:GetBucketPublicAccessBlock": "s3:ListBucket"}


def test_write_calls_are_refused_before_reaching_aws(seeded_aws, monkeypatch):
    for k, v in seeded_aws.env().items():
        monkeypatch.setenv(k, v)
    acct = AwsAccount("demo")
    with pytest.raises(ReadOnlyViolation, match="CreateQueue"):
        acct.client("sqs", "us-east-1").create_queue(QueueName="must-not-exist")
    with pytest.raises(ReadOnlyViolation):
        acct.call("lambda", "us-east-1", "DeleteFunction", FunctionName="orders-consumer")
    urls = seeded_aws.client("sqs").list_queues(QueueNamePrefix="must-not").get("QueueUrls", [])
    assert urls == []
    assert seeded_aws.client("lambda").get_function(FunctionName="orders-consumer")
    assert acct.stats.snapshot()["calls"] == {}  # refused before anything was sent


def test_shipped_policy_is_read_only():
    assert ACTIONS
    for action in ACTIONS:
        service, op = action.split(":")
        assert op.startswith(READ_ONLY_PREFIXES), action
    assert all(s["Effect"] == "Allow" for s in POLICY["Statement"])


def test_shipped_policy_covers_every_call_of_a_full_scan(demo_scan):
    needed = set()
    for key in demo_scan["stats"]["calls"]:
        service, op = key.split(":", 1)
        if service in ("sts", "datadog", "download"):
            continue  # GetCallerIdentity needs no permission; the others are not AWS IAM actions
        needed.add(iam_action(service, op))
    assert needed, "the scan made no AWS calls"
    assert needed <= ACTIONS, f"missing from auditor/iam_policy.json: {sorted(needed - ACTIONS)}"


def test_shipped_policy_is_exactly_the_union_of_declared_reads():
    """Least privilege by construction: every action the policy grants is behind some check's declared load,
    and every declared operation is granted (tests/test_declared_reads.py proves checks call nothing else);
    its one other statement is exactly the declared region discovery of --all-regions, nothing of the base
    credentials' (those are `auditor iam-policy --base`, tests/test_org.py)."""
    from auditor.inventory.loads import base_actions, discovery_actions, iam_actions

    by_sid = {s["Sid"]: set(s["Action"]) for s in POLICY["Statement"]}
    assert set(by_sid) == {"AuditorReadOnly", "AuditorRegionDiscovery"}
    reads, declared = by_sid["AuditorReadOnly"], set(iam_actions())
    assert reads - declared == set(), f"granted but never read: {sorted(reads - declared)}"
    assert declared - reads == set(), f"read but not granted: {sorted(declared - reads)}"
    assert by_sid["AuditorRegionDiscovery"] == set(discovery_actions()) == {"ec2:DescribeRegions"}
    assert ACTIONS.isdisjoint(base_actions())


def _enforce_with_policy(aws, actions: set[str], *, moto_aliases: bool = True) -> None:
    if moto_aliases:
        actions = actions | {MOTO_ACTION_ALIASES[a] for a in actions if a in MOTO_ACTION_ALIASES}
    iam = aws.client("iam")
    iam.create_user(UserName="auditor")
    doc = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": sorted(actions), "Resource": "*"}]}
    iam.put_user_policy(UserName="auditor", PolicyName="auditor", PolicyDocument=json.dumps(doc))
    key = iam.create_access_key(UserName="auditor")["AccessKey"]
    aws.credentials_file.write_text(
        f"[demo]\naws_access_key_id = {key['AccessKeyId']}\naws_secret_access_key = {key['SecretAccessKey']}\n")
    req = urllib.request.Request(f"{aws.endpoint}/moto-api/reset-auth", data=b"0", method="POST",
                                 headers={"Content-Type": "text/plain"})
    urllib.request.urlopen(req).read()


@pytest.fixture()
def enforced_shop(fresh_aws):
    seed_mod.seed(fresh_aws.client)
    return fresh_aws


def test_scan_with_only_the_shipped_policy_is_never_denied(enforced_shop):
    _enforce_with_policy(enforced_shop, ACTIONS)
    r = run_auditor("scan", "--profile", "demo", "--deep", "--format", "json", "--fail-on", "never",
                    env=enforced_shop.env())
    assert r.code in (0, 3), r.stderr
    doc = json.loads(r.stdout)
    denied = [f for f in doc["findings"] if f["status"] == "not-evaluated" and "denied" in f["reason"]]
    assert denied == []
    assert [f for f in doc["findings"] if f["status"] == "fail"]


def test_missing_permission_is_reported_with_the_action_and_exit_3(enforced_shop):
    _enforce_with_policy(enforced_shop, ACTIONS - {"sqs:GetQueueAttributes"})
    r = run_auditor("scan", "--profile", "demo", "--check", "sqs-lambda", "--format", "json",
                    "--fail-on", "never", env=enforced_shop.env())
    assert r.code == 3, r.stderr
    doc = json.loads(r.stdout)
    ne = [f for f in doc["findings"] if f["status"] == "not-evaluated"]
    assert ne and {f["iam_action"] for f in ne} == {"sqs:GetQueueAttributes"}
    assert doc["complete"] is False
    table = run_auditor("scan", "--profile", "demo", "--check", "VT-1", "--fail-on", "never",
                        env=enforced_shop.env())
    assert "NOT EVALUATED" in table.stdout and "sqs:GetQueueAttributes" in table.stdout
    # Summarised by cause: the one action to grant, and the statement that grants it.
    assert "access denied: grant this action: sqs:GetQueueAttributes" in table.stdout
    assert '"Action": [\n' in table.stdout and "Each result: --show-not-evaluated" in table.stdout


def test_moto_still_authorises_public_access_block_reads_under_other_actions(fresh_aws):
    """When this fails, moto authorises these reads like AWS: drop the alias from MOTO_ACTION_ALIASES."""
    from auditor.inventory import Inventory
    from auditor.inventory.s3 import Bucket

    fresh_aws.client("s3").create_bucket(Bucket="any-bucket")
    _enforce_with_policy(fresh_aws, {"s3:GetAccountPublicAccessBlock", "s3:GetBucketPublicAccessBlock",
                                     "sts:GetCallerIdentity"}, moto_aliases=False)
    with pytest.MonkeyPatch.context() as mp:
        for k, v in fresh_aws.env().items():
            mp.setenv(k, v)
        inv = Inventory(AwsAccount("demo"), ["us-east-1"])
        try:
            errors = inv.s3.block_public_access_errors(Bucket("any-bucket", "us-east-1", inv.account))
        finally:
            inv.close()
    assert sorted((e.kind, e.iam_action) for e in errors) == [
        ("denied", "s3:GetAccountPublicAccessBlock"), ("denied", "s3:GetBucketPublicAccessBlock")]
