"""Night after night through the real CLI on a moto server with IAM enforcement (issues 13 and 16).

Night 1 is complete. Night 2 runs without lambda:ListEventSourceMappings: every alert of night 1 must stay in
the SARIF with the same rule id and fingerprint, ``baselineState`` "unchanged", and nothing may be reported
fixed. Night 3 has the permission back; one queue was deleted and one broken queue added: exactly the deleted
queue's finding is fixed, exactly the added one is new.
"""

from __future__ import annotations

import json
import urllib.request

import boto3
import pytest

from auditor.demo import seed_sqs_lambda
from auditor.demo.seed import SeedContext
from tests.conftest import run_auditor
from tests.sarif_rules import assert_valid_sarif
from tests.test_readonly_iam import ACTIONS

DENIED = "lambda:ListEventSourceMappings"


def _users(aws, policies: dict[str, set[str]]) -> dict[str, dict[str, str]]:
    """One IAM user per policy, then IAM enforcement on (moto checks every later request)."""
    iam = aws.client("iam")
    keys = {}
    for name, actions in policies.items():
        iam.create_user(UserName=name)
        doc = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": sorted(actions), "Resource": "*"}]}
        iam.put_user_policy(UserName=name, PolicyName=name, PolicyDocument=json.dumps(doc))
        keys[name] = iam.create_access_key(UserName=name)["AccessKey"]
    req = urllib.request.Request(f"{aws.endpoint}/moto-api/reset-auth", data=b"0", method="POST",
                                 headers={"Content-Type": "text/plain"})
    urllib.request.urlopen(req).read()
    return keys


def _as(aws, key: dict[str, str]) -> None:
    """The profile the CLI uses now authenticates as this user."""
    aws.credentials_file.write_text(f"[demo]\naws_access_key_id = {key['AccessKeyId']}\n"
                                    f"aws_secret_access_key = {key['SecretAccessKey']}\n")


def _night(aws, out, name, *extra):
    r = run_auditor("scan", "--profile", "demo", "--check", "sqs-lambda", "--format", "sarif",
                    "--output", str(out / f"{name}.sarif"), "--json-output", str(out / f"{name}.json"),
                    "--markdown-output", str(out / f"{name}.md"), "--fail-on", "never", *extra, env=aws.env())
    sarif = assert_valid_sarif((out / f"{name}.sarif").read_text())
    return r, sarif, json.loads((out / f"{name}.json").read_text())


def _alerts(sarif: dict) -> dict[str, dict]:
    return {r["partialFingerprints"]["primaryLocationLineHash"]: r for r in sarif["runs"][0]["results"]}


@pytest.fixture()
def shop_with_users(fresh_aws):
    seed_sqs_lambda.seed(SeedContext(fresh_aws.client))  # the queues and consumers only: --check sqs-lambda
    keys = _users(fresh_aws, {"full": ACTIONS, "limited": ACTIONS - {DENIED}, "admin": {"*"}})
    admin = boto3.Session(aws_access_key_id=keys["admin"]["AccessKeyId"],
                          aws_secret_access_key=keys["admin"]["SecretAccessKey"], region_name="us-east-1")
    return fresh_aws, keys, lambda service: admin.client(service, endpoint_url=fresh_aws.endpoint)


def test_an_incomplete_night_closes_nothing_and_a_complete_one_reports_exactly_the_change(shop_with_users,
                                                                                           tmp_path):
    aws, keys, admin = shop_with_users

    _as(aws, keys["full"])
    r1, sarif1, json1 = _night(aws, tmp_path, "night1")
    assert r1.code == 0, r1.stderr
    night1 = _alerts(sarif1)
    assert len(night1) >= 8 and json1["complete"] is True

    # Night 2: the mapping listing is denied. Nothing of night 1 may disappear, nothing is fixed or new.
    _as(aws, keys["limited"])
    r2, sarif2, json2 = _night(aws, tmp_path, "night2", "--baseline", str(tmp_path / "night1.json"),
                               "--fail-on-new", "info")
    assert r2.code == 3, r2.stderr  # incomplete; the carried alerts never count as new
    night2 = _alerts(sarif2)
    assert {fp: r["ruleId"] for fp, r in night2.items()} == {fp: r["ruleId"] for fp, r in night1.items()}
    assert {r["baselineState"] for r in night2.values()} == {"unchanged"}
    carried = [r for r in night2.values() if r["properties"].get("carriedOver")]
    assert carried and all(DENIED in r["properties"]["notReEvaluated"] for r in carried)
    assert sarif2["runs"][0]["invocations"][0]["executionSuccessful"] is False
    assert json2["baseline"]["fixed"] == [] and json2["baseline"]["new"] == 0
    assert json2["summary"]["carried_over"] == len(carried)
    assert {f["status"] for f in json2["findings"] if f["fingerprint"] in night1} <= {"carried-over", "fail"}
    assert "Carried over" in (tmp_path / "night2.md").read_text()
    assert "carried over" in r2.stderr

    # Night 3: the permission is back; the invoices queue is gone and a broken one arrived.
    sqs, lam = admin("sqs"), admin("lambda")
    for m in lam.list_event_source_mappings(FunctionName="invoice-generator:live")["EventSourceMappings"]:
        lam.delete_event_source_mapping(UUID=m["UUID"])
    sqs.delete_queue(QueueUrl=sqs.get_queue_url(QueueName="invoices")["QueueUrl"])
    url = sqs.create_queue(QueueName="returns", Attributes={"VisibilityTimeout": "10"})["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    lam.create_event_source_mapping(FunctionName="orders-consumer", EventSourceArn=arn, BatchSize=1)
    _as(aws, keys["full"])
    r3, sarif3, json3 = _night(aws, tmp_path, "night3", "--baseline", str(tmp_path / "night2.json"),
                               "--fail-on-new", "high")
    assert r3.code == 1, r3.stderr  # a new high finding (VT-1 on returns)
    fixed = {(f["rule"], f["resource"]["id"]) for f in json3["baseline"]["fixed"]}
    assert fixed == {("VT-2", "invoices")}
    night3 = _alerts(sarif3)
    new = {(r["properties"]["rule"], r["properties"]["resourceId"]) for r in night3.values()
           if r["baselineState"] == "new"}
    assert new and {rid for _, rid in new} == {"returns"} and ("VT-1", "returns") in new
    unchanged = {fp for fp, r in night3.items() if r["baselineState"] == "unchanged"}
    assert unchanged == set(night1) - {f["fingerprint"] for f in json3["baseline"]["fixed"]}
    assert json3["summary"]["carried_over"] == 0 and json3["complete"] is True
    summary = (tmp_path / "night3.md").read_text()
    assert "New since the baseline" in summary and "Fixed since the baseline (1)" in summary
