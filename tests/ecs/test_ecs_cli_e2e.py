"""The real CLI (subprocess) against the seeded moto server and on task-definition files."""

from __future__ import annotations

import json

import pytest

from auditor.demo.seed_ecs import PLANTED_DD_API_KEY
from tests.conftest import run_auditor
from tests.ecs.helpers import DATA

pytestmark = pytest.mark.e2e

FILE_KEY = "PLANTED-zq81xY-NOT-A-REAL-KEY"  # not key-shaped: only the secret registry can hide it


def _failed(doc: dict, rule: str) -> dict[str, dict]:
    return {f["resource"]["id"]: f for f in doc["findings"] if f["rule"] == rule and f["status"] == "fail"}


def test_scan_sc1_json(seeded_aws):
    result = run_auditor("scan", "--profile", "demo", "--check", "SC-1", "--format", "json", env=seeded_aws.env())
    assert result.code == 1, result.stderr
    doc = result.json()
    failed = _failed(doc, "SC-1")
    assert set(failed) == {"stock-sync", "search-indexer", "price-alerts"}
    f = failed["stock-sync"]
    assert f["severity"] == "high" and f["resource"]["type"] == "lambda-function"
    assert f["evidence"]["variable"] == "INVENTORY_API_URL" and f["evidence"]["endpoint"] == "inventory-api.shop"
    passed = {x["resource"]["id"] for x in doc["findings"] if x["rule"] == "SC-1" and x["status"] == "pass"}
    assert {"price-sync", "catalog-feed"} <= passed
    assert {x["rule"] for x in doc["findings"]} == {"SC-1"}


def test_scan_file_fl1_before_deploy():
    result = run_auditor("scan-file", str(DATA / "taskdef-no-router.json"), "--format", "json")
    assert result.code == 1, result.stderr
    failed = _failed(result.json(), "FL-1")
    named = (DATA / "taskdef-no-router.json").relative_to(DATA.parents[2]).as_posix()  # repository-relative
    assert list(failed) == [named]
    assert failed[named]["severity"] == "critical"


def test_scan_file_healthy_describe_output_passes():
    result = run_auditor("scan-file", str(DATA / "taskdef-healthy-describe.json"), "--format", "json")
    assert result.code == 0, result.stdout + result.stderr
    doc = result.json()
    assert not [f for f in doc["findings"] if f["status"] != "pass"]
    assert {f["rule"] for f in doc["findings"]} >= {"FL-1", "FL-2", "FL-3", "FL-4", "FL-5", "FL-7", "FL-8"}


@pytest.mark.parametrize("fmt", ["table", "json", "sarif"])
def test_api_key_never_in_any_output(seeded_aws, tmp_path, fmt):
    out = tmp_path / f"report.{fmt}"
    live = run_auditor("scan", "--profile", "demo", "--check", "firelens", "--format", fmt, "-v",
                       "--output", str(out), "--fail-on", "never", env=seeded_aws.env())
    assert live.code == 0, live.stderr
    text = out.read_text()
    assert "FL-2" in text and "catalog:1" in text  # the finding is there…
    for blob in (text, live.stdout, live.stderr):
        assert PLANTED_DD_API_KEY not in blob  # …its key is not

    offline = run_auditor("scan-file", str(DATA / "taskdef-planted-key.json"), "--format", fmt, "-v",
                          "--fail-on", "never")
    assert offline.code == 0, offline.stderr
    assert "FL-2" in offline.stdout
    for blob in (offline.stdout, offline.stderr):
        assert FILE_KEY not in blob and "zq81xY" not in blob
    if fmt == "json":
        fl2 = _failed(json.loads(offline.stdout), "FL-2")
        assert next(iter(fl2.values()))["evidence"]["apikey"] == "<redacted>"


URL_PASSWORD = "S3cr3t-in-URL-77"  # not key-shaped, not registered: only URL redaction can hide it
TRACED_TASK = {
    "family": "traced",
    "networkMode": "awsvpc",
    "requiresCompatibilities": ["FARGATE"],
    "cpu": "256",
    "memory": "512",
    "containerDefinitions": [{
        "name": "web",
        "image": "example/web:1",
        "essential": True,
        "environment": [{"name": "DD_SERVICE", "value": "web"},
                        {"name": "DD_TRACE_AGENT_URL", "value": f"http://tracer:{URL_PASSWORD}@agent:8126"}],
        "logConfiguration": {"logDriver": "awslogs", "options": {"awslogs-group": "/ecs/web"}},
    }],
}


@pytest.fixture()
def traced_service(fresh_aws):
    """A live ECS service whose task definition carries a URL with a password (FL-7 shows that variable)."""
    ec2, ecs = fresh_aws.client("ec2"), fresh_aws.client("ecs")
    vpc = ec2.create_vpc(CidrBlock="10.9.0.0/16")["Vpc"]["VpcId"]
    subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.9.1.0/24")["Subnet"]["SubnetId"]
    sg = ec2.create_security_group(GroupName="web", Description="web", VpcId=vpc)["GroupId"]
    ecs.create_cluster(clusterName="apm")
    arn = ecs.register_task_definition(**TRACED_TASK)["taskDefinition"]["taskDefinitionArn"]
    ecs.create_service(cluster="apm", serviceName="web", taskDefinition=arn, desiredCount=1, launchType="FARGATE",
                       networkConfiguration={"awsvpcConfiguration": {"subnets": [subnet], "securityGroups": [sg]}})
    return fresh_aws


@pytest.mark.parametrize("fmt", ["table", "json", "sarif"])
def test_url_password_never_in_any_output(traced_service, tmp_path, fmt):
    out = tmp_path / f"report.{fmt}"
    live = run_auditor("scan", "--profile", "demo", "--check", "FL-7", "--format", fmt, "-v", "--output", str(out),
                       "--fail-on", "never", env=traced_service.env())
    assert live.code == 0, live.stderr
    text = out.read_text()
    assert "FL-7" in text and "traced:1" in text  # the finding is there…
    for blob in (text, live.stdout, live.stderr):
        assert URL_PASSWORD not in blob  # …the password in its evidence is not
    if fmt != "table":  # the table shows messages, not evidence
        assert "http://tracer:***@agent:8126" in text  # and the URL stays recognisable

    taskdef = tmp_path / "traced.json"
    taskdef.write_text(json.dumps(TRACED_TASK))
    offline = run_auditor("scan-file", str(taskdef), "--check", "FL-7", "--format", fmt, "-v", "--fail-on", "never",
                          cwd=tmp_path)
    assert offline.code == 0, offline.stderr
    assert "FL-7" in offline.stdout
    for blob in (offline.stdout, offline.stderr):
        assert URL_PASSWORD not in blob
