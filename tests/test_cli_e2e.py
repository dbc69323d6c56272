"""The real `auditor` CLI against moto's HTTP server, reached through an ordinary AWS profile."""

from __future__ import annotations

import json

import pytest

from auditor import engine
from auditor.demo import seed as seed_mod
from tests.conftest import run_auditor
from tests.sarif_rules import assert_valid_sarif

IMPLEMENTED = {c.meta.rule for c in engine.load_checks(plugins=False)}


def _fails(report: dict) -> set[tuple[str, str]]:
    return {(f["rule"], f["resource"]["id"]) for f in report["findings"] if f["status"] == "fail"}


def _expectations(kind: str):
    for rid, want in sorted(seed_mod.expected().items()):
        for rule in sorted(want[kind]):
            yield rid, rule


def test_every_expected_rule_exists():
    named = {rule for want in seed_mod.expected().values() for kind in want.values() for rule in kind}
    assert named - IMPLEMENTED == set()


@pytest.mark.parametrize(("rid", "rule"), list(_expectations("fail")))
def test_broken_seeded_resource_is_reported(demo_scan, rid, rule):
    assert (rule, rid) in _fails(demo_scan), f"{rule} did not fire on {rid}"


@pytest.mark.parametrize(("rid", "rule"), list(_expectations("clean")))
def test_healthy_seeded_resource_is_not_reported(demo_scan, rid, rule):
    assert (rule, rid) not in _fails(demo_scan), f"{rule} fired on healthy {rid}"


def test_demo_scan_is_complete_and_json_is_versioned(demo_scan):
    assert demo_scan["schema_version"] == "1.2"
    assert demo_scan["target"]["account"] == "123456789012"
    assert demo_scan["target"]["regions"] == ["us-east-1"]
    assert [f["message"] for f in demo_scan["findings"] if f["status"] == "not-evaluated"] == []
    assert demo_scan["complete"] is True


def test_alias_mapping_is_judged_with_the_alias_timeout(demo_scan):
    (f,) = [f for f in demo_scan["findings"] if f["rule"] == "VT-2" and f["resource"]["id"] == "invoices"]
    assert f["evidence"]["function_timeout_s"] == 120  # version 1 behind alias "live", not $LATEST's 20


def test_disabled_mapping_is_ignored(demo_scan):
    assert not [f for f in demo_scan["findings"] if f["resource"]["id"] in ("legacy", "legacy-consumer")]


def test_exit_code_1_on_findings_and_0_below_threshold(seeded_aws):
    env = seeded_aws.env()
    r = run_auditor("scan", "--profile", "demo", "--check", "VT-1", "--format", "json", env=env)
    assert r.code == 1, r.stderr
    doc = json.loads(r.stdout)  # stdout holds only the document
    assert {f["rule"] for f in doc["findings"]} == {"VT-1"}
    r = run_auditor("scan", "--profile", "demo", "--check", "VT-2", "--fail-on", "high", env=env)
    assert r.code == 0, r.stderr
    assert "VT-2" in r.stdout and "invoices" in r.stdout


def test_table_groups_by_severity_with_summary(seeded_aws):
    r = run_auditor("scan", "--profile", "demo", "--check", "sqs-lambda", env=seeded_aws.env())
    assert "HIGH (" in r.stdout and "MEDIUM (" in r.stdout
    assert r.stdout.index("HIGH (") < r.stdout.index("MEDIUM (")
    assert "passed" in r.stdout.splitlines()[-1]


def test_one_run_writes_table_sarif_and_json(demo_env, tmp_path):
    sarif_path, json_path = tmp_path / "r.sarif", tmp_path / "r.json"
    r = run_auditor("scan", "--profile", "demo", "--sarif-output", str(sarif_path), "--json-output", str(json_path),
                    env=demo_env)
    assert r.code == 1 and "CRITICAL (" in r.stdout
    doc = assert_valid_sarif(sarif_path.read_text())
    results = doc["runs"][0]["results"]
    assert len(results) == json.loads(json_path.read_text())["summary"]["failed"]
    prints = [res["partialFingerprints"]["primaryLocationLineHash"] for res in results]
    keyed = {(res["ruleId"], res["locations"][0]["physicalLocation"]["artifactLocation"]["uri"],
              json.dumps(res["properties"]["evidence"], sort_keys=True)) for res in results}
    assert len(set(prints)) == len(keyed)  # distinct resources keep distinct alert identities
    assert not any("redacted" in p for p in prints)


def test_sarif_output_file_is_valid(seeded_aws, tmp_path):
    out = tmp_path / "r.sarif"
    r = run_auditor("scan", "--profile", "demo", "--format", "sarif", "--output", str(out), env=seeded_aws.env())
    assert r.code in (1, 3) and r.stdout == ""
    doc = assert_valid_sarif(out.read_text())
    assert doc["runs"][0]["results"]


def test_stats_count_api_calls_by_operation(seeded_aws):
    r = run_auditor("scan", "--profile", "demo", "--check", "sqs-lambda", "--stats", env=seeded_aws.env())
    assert "sqs:ListQueues" in r.stderr and "lambda:ListEventSourceMappings" in r.stderr


def test_stats_in_json_count_mappings_listed_once_per_region(demo_scan):
    calls = demo_scan["stats"]["calls"]
    assert calls["lambda:ListEventSourceMappings"] == 1
    assert calls["sqs:ListQueues"] == 1
    assert calls["lambda:ListFunctions"] == 1


@pytest.mark.parametrize("args", [
    ("scan", "--profile", "nope"),
    ("scan", "--profile", "demo", "--check", "[/x]"),
    ("scan", "--profile", "demo", "--config", "/"),
    ("scan", "--profile", "demo", "--check", "NO-SUCH"),
    ("scan", "--profile", "demo", "--format", "xml"),
    ("explain", "NOPE-1"),
])
def test_usage_and_credential_errors_exit_2_without_traceback_or_file(seeded_aws, tmp_path, args):
    out = tmp_path / "never.json"
    r = run_auditor(*args, "--output", str(out), env=seeded_aws.env()) if args[0] == "scan" else run_auditor(
        *args, env=seeded_aws.env())
    assert r.code == 2, (r.code, r.stderr)
    assert "Traceback" not in r.stderr
    assert not out.exists()


def test_no_credentials_is_exit_2(tmp_path):
    env = {"AWS_CONFIG_FILE": str(tmp_path / "none"), "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "none"),
           "AWS_EC2_METADATA_DISABLED": "true", "AWS_DEFAULT_REGION": "us-east-1",
           "AWS_ENDPOINT_URL": "http://127.0.0.1:9"}
    r = run_auditor("scan", env=env)
    assert r.code == 2 and "credentials" in r.stderr and "Traceback" not in r.stderr


def test_aws_endpoint_url_env_works_without_profile_endpoint(seeded_aws, tmp_path):
    cfg = tmp_path / "config"
    cfg.write_text("[default]\nregion = us-east-1\n")
    env = {**seeded_aws.env(), "AWS_CONFIG_FILE": str(cfg), "AWS_ENDPOINT_URL": seeded_aws.endpoint,
           "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}
    r = run_auditor("scan", "--check", "VT-1", "--format", "json", env=env)
    assert r.code == 1, r.stderr
    assert ("VT-1", "payments") in _fails(json.loads(r.stdout))


def test_checks_and_explain(seeded_aws):
    r = run_auditor("checks", "--format", "json")
    ids = {c["id"] for c in json.loads(r.stdout)}
    assert "sqs-lambda/visibility-timeout-below-function-timeout" in ids
    r = run_auditor("explain", "VT-1")
    assert r.code == 0 and "6" in r.stdout and "docs.aws.amazon.com" in r.stdout and "aws sqs" in r.stdout


def test_config_suppression_marks_finding_and_changes_exit(seeded_aws, tmp_path):
    (tmp_path / ".auditor.toml").write_text(
        '[[suppress]]\ncheck = "VT-1"\nresource = "payments"\nreason = "migrating next sprint"\n'
        '[[suppress]]\ncheck = "VT-1"\nresource = "retired-queue"\nreason = "fixed long ago"\n'
        '[[suppress]]\ncheck = "sqs-lambda/visibility-timout"\nresource = "*"\nreason = "typo"\n')
    (tmp_path / "sub").mkdir()  # found from a folder below, as pyproject tools do
    r = run_auditor("scan", "--profile", "demo", "--check", "VT-1", "--format", "json", env=seeded_aws.env(),
                    cwd=tmp_path / "sub")
    assert r.code == 0, r.stderr
    doc = json.loads(r.stdout)
    (f,) = [f for f in doc["findings"] if f["status"] == "fail"]
    assert f["suppressed"] == "migrating next sprint"
    stale = [n for n in doc["notices"] if "suppress[" in n]
    assert len(stale) == 2 and "suppress[1] (check 'VT-1', resource 'retired-queue') matched no finding" in stale[0]
    assert "suppress[2]" in stale[1] and "names no check (did you mean" in stale[1]


def test_unknown_region_is_a_usage_error_before_any_call(tmp_path):
    cfg = tmp_path / "config"
    cfg.write_text("[profile typo]\nregion = us-east-1\n")
    creds = tmp_path / "credentials"
    creds.write_text("[typo]\naws_access_key_id = testing\naws_secret_access_key = testing\n")
    env = {"AWS_CONFIG_FILE": str(cfg), "AWS_SHARED_CREDENTIALS_FILE": str(creds), "AWS_EC2_METADATA_DISABLED": "true"}
    r = run_auditor("scan", "--profile", "typo", "--region", "us-nowhere-1", env=env)
    assert r.code == 2 and "us-nowhere-1" in r.stderr and "Traceback" not in r.stderr


def test_user_text_is_never_read_as_markup(seeded_aws, tmp_path):
    out = tmp_path / "out[/p]" / "r.json"
    r = run_auditor("scan", "--profile", "demo", "--check", "VT-1", "-f", "json", "-o", str(out), env=seeded_aws.env())
    assert r.code == 1 and out.exists() and "Traceback" not in r.stderr
    assert "out[/p]" in r.stderr.replace("\n", "")
    missing = run_auditor("scan-file", str(tmp_path / "td[prod].json"))
    assert missing.code == 2 and "td[prod].json" in missing.stderr


def test_expired_waiver_is_a_notice_not_an_incomplete_scan(seeded_aws, tmp_path):
    (tmp_path / ".auditor.toml").write_text(
        '[[suppress]]\ncheck = "VT-1"\nresource = "nothing"\nreason = "old"\nexpires = 2020-01-01\n')
    r = run_auditor("scan", "--profile", "demo", "--check", "VT-2", "--fail-on", "never", "-f", "json",
                    env=seeded_aws.env(), cwd=tmp_path)
    assert r.code == 0, r.stderr
    doc = json.loads(r.stdout)
    assert doc["complete"] is True and any("expired" in n for n in doc["notices"])


def test_malformed_aws_config_is_exit_2(tmp_path):
    cfg = tmp_path / "config"
    cfg.write_text("[profile broken\nregion = us-east-1\n")
    r = run_auditor("scan", "--profile", "broken", env={"AWS_CONFIG_FILE": str(cfg)})
    assert r.code == 2 and "Traceback" not in r.stderr
