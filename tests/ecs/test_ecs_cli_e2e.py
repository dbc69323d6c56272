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
    assert list(failed) == [str(DATA / "taskdef-no-router.json")]
    assert failed[str(DATA / "taskdef-no-router.json")]["severity"] == "critical"


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
