import dataclasses
import json

import pytest
from auditor.reports import sarif

from auditor.model import Resource, Severity
from tests.factories import make_check, queue, report_with
from tests.sarif_rules import assert_valid_sarif, github_errors


def test_sarif_is_valid_against_schema_and_github_rules():
    report = report_with(("fail", queue("orders"), None), ("fail", queue("payments"), Severity.MEDIUM),
                         ("ok", queue("fine"), None), ("ne", queue("hidden"), None))
    doc = assert_valid_sarif(sarif.render(report))
    run = doc["runs"][0]
    assert len(run["results"]) == 2  # passes are not results; not-evaluated are notifications
    assert run["automationDetails"]["id"] == "auditor/aws-123456789012/"
    note = run["invocations"][0]["toolExecutionNotifications"][0]
    assert "hidden" in note["message"]["text"] and "sqs:GetQueueAttributes" in note["message"]["text"]
    assert run["invocations"][0]["executionSuccessful"] is False


def test_location_is_schemeless_pseudo_path_and_arn_is_logical():
    arn_name = "weird name:with/chars"
    res = Resource("aws", "123456789012", "us-east-1", "sqs-queue", arn_name, "arn:aws:sqs:us-east-1:1:q")
    doc = assert_valid_sarif(sarif.render(report_with(("fail", res, None))))
    loc = doc["runs"][0]["results"][0]["locations"][0]
    uri = loc["physicalLocation"]["artifactLocation"]["uri"]
    assert uri == "aws/123456789012/us-east-1/sqs-queue/weird%20name%3Awith%2Fchars"
    assert loc["physicalLocation"]["region"]["startLine"] == 1
    assert loc["logicalLocations"] == [{"fullyQualifiedName": "arn:aws:sqs:us-east-1:1:q", "kind": "resource"}]


def test_global_resources_use_global_segment():
    res = Resource("aws", "123456789012", "", "s3-bucket", "my-bucket", "arn:aws:s3:::my-bucket")
    doc = assert_valid_sarif(sarif.render(report_with(("fail", res, None))))
    uri = doc["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
    assert uri == "aws/123456789012/global/s3-bucket/my-bucket"


def test_file_resources_and_category():
    res = Resource("file", "", "", "bucket-policy", "/tmp/x/policy.json")
    report = report_with(("fail", res, None))
    report.target = {"provider": "file", "files": ["/tmp/x/policy.json"]}
    doc = assert_valid_sarif(sarif.render(report))
    assert doc["runs"][0]["automationDetails"]["id"] == "auditor/files/"
    assert doc["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == (
        "tmp/x/policy.json")


@pytest.mark.parametrize(("sev", "level", "score"), [
    (Severity.CRITICAL, "error", "9.5"), (Severity.HIGH, "error", "8.0"), (Severity.MEDIUM, "warning", "5.5"),
    (Severity.LOW, "note", "2.0"), (Severity.INFO, "note", None)])
@pytest.mark.parametrize("security", [True, False])
def test_levels_and_security_severity(sev, level, score, security):
    chk = make_check(severity=sev, security=security)
    doc = assert_valid_sarif(sarif.render(report_with(("fail", queue(), None), checks=[chk])))
    rule = doc["runs"][0]["tool"]["driver"]["rules"][0]
    assert rule["defaultConfiguration"]["level"] == level
    assert doc["runs"][0]["results"][0]["level"] == level
    scored = score if security else None
    assert rule["properties"].get("security-severity") == scored
    assert ("security" in rule["properties"]["tags"]) == (scored is not None)


def test_fingerprint_stable_across_runs_and_messages_and_distinct_per_resource():
    a = sarif.render(report_with(("fail", queue("orders"), None)))
    b = report_with(("fail", queue("orders"), None))
    b.findings = [dataclasses.replace(f, message="reworded message about orders") for f in b.findings]
    fa = json.loads(a)["runs"][0]["results"][0]["partialFingerprints"]["primaryLocationLineHash"]
    fb = json.loads(sarif.render(b))["runs"][0]["results"][0]["partialFingerprints"]["primaryLocationLineHash"]
    assert fa == fb
    fc = json.loads(sarif.render(report_with(("fail", queue("other"), None))))["runs"][0]["results"][0]
    assert fc["partialFingerprints"]["primaryLocationLineHash"] != fa


def test_output_is_deterministic():
    outcomes = [("fail", queue(n), None) for n in ("b", "a", "c")]
    one = report_with(*outcomes)
    two = report_with(*reversed(outcomes))
    assert sarif.render(one) == sarif.render(two)
    names = [r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"].rsplit("/", 1)[1]
             for r in json.loads(sarif.render(one))["runs"][0]["results"]]
    assert names == ["a", "b", "c"]


def test_suppressed_findings_carry_external_suppression():
    report = report_with(("fail", queue("orders"), None))
    report.findings = [dataclasses.replace(f, suppressed="accepted risk") for f in report.findings]
    doc = assert_valid_sarif(sarif.render(report))
    assert doc["runs"][0]["results"][0]["suppressions"] == [{"kind": "external", "justification": "accepted risk"}]


def test_hard_limit_fails_loudly(monkeypatch):
    monkeypatch.setattr(sarif, "MAX_RESULTS", 2)
    report = report_with(*[("fail", queue(f"q{i}"), None) for i in range(3)])
    with pytest.raises(sarif.SarifLimitError):
        sarif.render(report)


def test_github_rules_catch_what_the_schema_allows():
    """The validator itself must reject the documents GitHub rejects (else the tests above prove nothing)."""
    good = json.loads(sarif.render(report_with(("fail", queue("orders"), None))))
    bad = json.loads(json.dumps(good))
    res = bad["runs"][0]["results"][0]
    res["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] = "arn:aws:sqs:us-east-1:1:q"
    bad["runs"][0]["tool"]["driver"]["rules"][0]["properties"]["security-severity"] = 8.0
    errs = github_errors(bad)
    assert any("scheme" in e for e in errs) and any("security-severity" in e for e in errs)
    empty = json.loads(json.dumps(good))
    empty["runs"][0]["results"][0]["locations"] = []
    assert any("no locations" in e for e in github_errors(empty))


def test_github_rules_catch_a_result_shown_at_another_severity():
    """The validator rejects documents whose results GitHub would show at a severity that is not theirs."""
    chk = make_check(severity=Severity.MEDIUM, security=True)
    good = json.loads(sarif.render(report_with(("fail", queue("a"), Severity.HIGH), checks=[chk])))
    assert not github_errors(good)
    untagged = json.loads(json.dumps(good))
    untagged["runs"][0]["tool"]["driver"]["rules"][1]["properties"]["tags"].remove("security")
    assert any("must come together" in e for e in github_errors(untagged))
    pointing_elsewhere = json.loads(json.dumps(good))
    pointing_elsewhere["runs"][0]["results"][0]["ruleIndex"] = 0
    assert any("does not point at" in e for e in github_errors(pointing_elsewhere))
    other_level = json.loads(json.dumps(good))
    other_level["runs"][0]["results"][0]["level"] = "note"
    assert any("differs from its rule's default" in e for e in github_errors(other_level))


def test_the_gzip_limit_is_checked_on_documents_near_it(monkeypatch):
    """GitHub refuses a SARIF upload over 10 MB gzipped: a document near the limit is compressed to know;
    one well below it is not compressed at all (it cannot be over)."""
    report = report_with(*[("fail", queue(f"q{i}"), None) for i in range(40)])
    size = len(sarif.render(report).encode())
    compressed = []
    monkeypatch.setattr(sarif.gzip, "compress", lambda data, **kw: compressed.append(len(data)) or data)
    monkeypatch.setattr(sarif, "MAX_GZIP_BYTES", size + 10_000)  # well below: never compressed
    sarif.render(report)
    assert compressed == []
    monkeypatch.setattr(sarif, "MAX_GZIP_BYTES", size - 1)  # "compressed" (here: as is) over the limit
    with pytest.raises(sarif.SarifLimitError):
        sarif.render(report)
    assert compressed == [size]
