"""Issue 3: reserved vs maximum concurrency, partial batch responses, and their API-call budget."""

from __future__ import annotations

import io
import json
import zipfile

import pytest

from auditor.demo.seed import SeedContext
from auditor.inventory.core import NotAvailable
from auditor.inventory.lambda_code import download, scan_zip
from tests.conftest import run_auditor


def _finding(scan, rule, rid):
    found = [f for f in scan["findings"] if f["rule"] == rule and f["resource"]["id"] == rid]
    assert found, f"no {rule} outcome on {rid}"
    return found[0]


def test_seed_examples_hold(demo_scan):
    # reserved 10, one mapping at maximum 9 → passes, headroom 1
    ok = _finding(demo_scan, "CC-2", "orders-consumer")
    assert ok["status"] == "pass" and ok["evidence"]["headroom"] == 1
    # reserved 10, a mapping without maximum → CC-3
    f = _finding(demo_scan, "CC-3", "payments-consumer")
    assert f["status"] == "fail" and "R=10" in f["message"] and "unset" in f["message"]
    # two mappings at 6 and 6 with reserved 10 → CC-2, stating R, each maximum, S and the headroom
    f = _finding(demo_scan, "CC-2", "notifications-consumer")
    assert f["status"] == "fail"
    assert "R=10" in f["message"] and "S=12" in f["message"] and "R−S=-2" in f["message"]
    assert sorted(m["maximum_concurrency"] for m in f["evidence"]["mappings"]) == [6, 6]


def test_pb1_escalates_when_max_receive_count_is_low(demo_scan):
    f = _finding(demo_scan, "PB-1", "payments")
    assert f["status"] == "fail" and f["severity"] == "high" and "maxReceiveCount 2" in f["message"]
    assert _finding(demo_scan, "PB-2", "notifications-priority")["severity"] == "info"


def test_pb3_reports_code_that_returns_failures_without_the_flag(demo_scan):
    f = _finding(demo_scan, "PB-3", "payments")
    assert f["status"] == "fail" and f["severity"] == "high" and f["confidence"] == "medium"
    assert f["evidence"]["matches_in_function_code"]["batchItemFailures"] == ["app.py"]
    reverse = _finding(demo_scan, "PB-3", "notifications")
    assert reverse["status"] == "fail" and reverse["severity"] == "medium" and reverse["confidence"] == "low"


def test_deep_check_is_opt_in(seeded_aws):
    r = run_auditor("scan", "--profile", "demo", "--check", "sqs-lambda", "--format", "json", env=seeded_aws.env())
    doc = json.loads(r.stdout)
    assert "PB-3" not in {f["rule"] for f in doc["findings"]}
    assert "lambda:GetFunction" not in doc["stats"]["calls"]


def test_pb3_degrades_to_not_evaluated_when_package_is_too_big(seeded_aws):
    env = {**seeded_aws.env(), "AUDITOR_MAX_CODE_BYTES": "10"}
    r = run_auditor("scan", "--profile", "demo", "--deep", "--check", "PB-3", "--format", "json",
                    "--fail-on", "never", env=env)
    assert r.code == 3, r.stderr  # incomplete, nothing at/above --fail-on
    doc = json.loads(r.stdout)
    ne = [f for f in doc["findings"] if f["status"] == "not-evaluated"]
    assert ne and all("cap" in f["reason"] and f["iam_action"] == "lambda:GetFunction" for f in ne)
    assert not [f for f in doc["findings"] if f["status"] == "fail"]


def test_download_refuses_unreachable_and_non_http():
    with pytest.raises(NotAvailable, match="could not be downloaded"):
        download("http://127.0.0.1:9/package.zip")
    with pytest.raises(NotAvailable, match="HTTP"):
        download("file:///etc/passwd")


def test_scan_zip_separates_own_code_from_bundled_libraries():
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("handler.py", "from aws_lambda_powertools.utilities.batch import process_partial_response\n")
        zf.writestr("node_modules/x/index.js", "return {batchItemFailures: []}")
        zf.writestr("README.md", "batchItemFailures")  # not source: ignored
    app, lib = scan_zip(io.BytesIO(buf.getvalue()))
    assert app == {"powertools-batch": ["handler.py"]}
    assert lib == {"batchItemFailures": ["node_modules/x/index.js"]}
    with pytest.raises(NotAvailable, match="zip"):
        scan_zip(io.BytesIO(b"not a zip"))


N_FUNCTIONS = 50


def test_api_call_budget_on_fifty_functions(fresh_aws):
    """Reserved concurrency: one call per function (not per mapping); mappings: one listing per region."""
    ctx = SeedContext(fresh_aws.client)
    lam = fresh_aws.client("lambda")
    for i in range(N_FUNCTIONS):
        name = f"worker-{i:02d}"
        ctx.function(name, timeout=10)
        lam.put_function_concurrency(FunctionName=name, ReservedConcurrentExecutions=10)
        for q in ("a", "b") if i % 5 == 0 else ("a",):  # every 5th function has two SQS mappings
            _, arn = ctx.queue(f"{name}-{q}", VisibilityTimeout=60)
            lam.create_event_source_mapping(FunctionName=name, EventSourceArn=arn, BatchSize=10,
                                            ScalingConfig={"MaximumConcurrency": 5})
    r = run_auditor("scan", "--profile", "demo", "--check", "lambda-concurrency", "--format", "json",
                    "--fail-on", "never", env=fresh_aws.env())
    assert r.code == 0, r.stderr
    doc = json.loads(r.stdout)
    calls = doc["stats"]["calls"]
    assert calls["lambda:GetFunctionConcurrency"] == N_FUNCTIONS  # 60 mappings, 50 functions
    assert calls["lambda:ListEventSourceMappings"] == 1
    two = [f for f in doc["findings"] if f["rule"] == "CC-2" and f["resource"]["id"] == "worker-00"]
    assert two[0]["status"] == "pass" and two[0]["evidence"]["sum_maximum_concurrency"] == 10
