"""What GitHub code scanning shows for each result is the finding's own severity, in every check.

The verdicts come from :func:`tests.sarif_rules.github_shows`, written from GitHub's documentation, never from
the renderer's own tables.
"""

from __future__ import annotations

import json
import re

import pytest
from auditor.checks import bucket_policy as bp
from auditor.reports import json as json_report
from auditor.reports import sarif, table

from auditor import engine
from auditor.check import Recorder
from auditor.demo.seed_s3 import POLICIES
from auditor.inventory import FileInputs, Inventory
from auditor.model import Resource, Severity, Status
from auditor.report import Report
from tests.factories import make_check, queue, report_with
from tests.sarif_rules import assert_valid_sarif, github_shows

#: What a user must see on GitHub for a finding of each severity (issue 9, docs/sarif.md).
SECURITY_SHOWS = {Severity.CRITICAL: "Critical", Severity.HIGH: "High", Severity.MEDIUM: "Medium",
                  Severity.LOW: "Low", Severity.INFO: "Note"}
RELIABILITY_SHOWS = {Severity.CRITICAL: "Error", Severity.HIGH: "Error", Severity.MEDIUM: "Warning",
                     Severity.LOW: "Note", Severity.INFO: "Note"}
#: What an "it is fine" (info) result must never be shown as.
ALERTS_MEDIUM_OR_ABOVE = {"Critical", "High", "Medium", "Error", "Warning"}


def _doc(rules: list[dict], results: list[dict]) -> dict:
    return {"runs": [{"tool": {"driver": {"name": "t", "rules": rules}}, "results": results}]}


# -- the resolver itself, on hand-written documents ------------------------------------------------------------
@pytest.mark.parametrize(("score", "shown"), [
    ("10.0", "Critical"), ("9.5", "Critical"), ("9.1", "Critical"), ("8.9", "High"), ("7.0", "High"),
    ("6.9", "Medium"), ("4.0", "Medium"), ("3.9", "Low"), ("0.1", "Low"),
    ("0.0", "Note"), ("11.0", "Note")])  # out of range: "no security severity", so the level decides
def test_resolver_security_severity_bands(score, shown):
    rule = {"id": "r", "defaultConfiguration": {"level": "note"},
            "properties": {"tags": ["security"], "security-severity": score}}
    res = {"ruleId": "r", "ruleIndex": 0, "level": "note"}
    assert github_shows(_doc([rule], [res]), res) == shown


def test_resolver_reads_no_per_result_score_and_uses_level_only_without_one():
    scored = {"id": "s", "properties": {"tags": ["security"], "security-severity": "8.0"}}
    plain = {"id": "p", "properties": {"tags": ["security"]}, "defaultConfiguration": {"level": "error"}}
    bare = {"id": "b"}
    results = [
        {"ruleId": "s", "level": "note", "properties": {"security-severity": "2.0"}},  # the rule's score wins
        {"ruleId": "p", "level": "note"},  # a tag alone is not a score: the result's level
        {"ruleId": "p"},  # no result level: the rule's default
        {"ruleId": "b"},  # neither: warning
    ]
    doc = _doc([scored, plain, bare], results)
    assert [github_shows(doc, r) for r in results] == ["High", "Note", "Error", "Warning"]


def test_resolver_refuses_what_the_documentation_leaves_open():
    undecided = {"id": "u", "properties": {"tags": ["security"], "security-severity": "9.0"}}
    untagged = {"id": "x", "properties": {"security-severity": "8.0"}}
    other = {"id": "o"}
    for rules, res in (([undecided], {"ruleId": "u"}), ([untagged], {"ruleId": "x"}),
                       ([other, untagged], {"ruleId": "o", "ruleIndex": 1}), ([other], {"ruleId": "o", "level": "none"})):
        with pytest.raises(AssertionError):
            github_shows(_doc(rules, [res]), res)


# -- every check, every severity it can emit ----------------------------------------------------------------------
def _every_check_at_every_severity() -> tuple[Report, dict[str, tuple]]:
    checks = engine.load_checks(plugins=False)
    findings, expected = [], {}
    for chk in checks:
        rec = Recorder(chk.meta)
        for sev in chk.meta.severities:
            res = Resource("aws", "123456789012", "us-east-1", "thing", f"{chk.id.replace('/', '-')}-{sev}")
            msg = f"{chk.id} at {sev}"
            findings.append(rec.fail(res, msg, severity=sev, evidence={"n": 1}))
            expected[msg] = (chk.meta, sev)
    report = Report(target={"provider": "aws", "account": "123456789012", "regions": ["us-east-1"]},
                    checks=[c.meta for c in checks], findings=findings)
    return report, expected


def test_every_check_at_every_severity_it_can_emit_shows_that_severity_on_github():
    report, expected = _every_check_at_every_severity()
    assert {str(s) for _, s in expected.values()} == {str(s) for s in Severity}  # the matrix covers them all
    doc = assert_valid_sarif(sarif.render(report))
    results = doc["runs"][0]["results"]
    assert len(results) == len(expected)
    table_rows = []
    for res in results:
        meta, sev = expected[res["message"]["text"]]
        shown = github_shows(doc, res)
        want = (SECURITY_SHOWS if meta.security else RELIABILITY_SHOWS)[sev]
        table_rows.append((meta.rule, meta.id, str(sev), shown))
        assert shown == want, f"{meta.id} at {sev}: GitHub shows {shown}, the finding says {sev}"
        if sev is Severity.INFO:
            assert shown not in ALERTS_MEDIUM_OR_ABOVE
        if sev is meta.severity:  # existing alerts keep their identity
            assert res["ruleId"] == meta.id
    print("\n" + "\n".join(" | ".join(row) for row in sorted(table_rows)))  # the severity table (pytest -s)


def test_table_and_json_show_the_same_severity_as_sarif():
    report, expected = _every_check_at_every_severity()
    for f in json.loads(json_report.render(report))["findings"]:
        assert f["severity"] == str(expected[f["message"]][1])
    text = table.render(report, width=400)
    sections = re.split(r"^(CRITICAL|HIGH|MEDIUM|LOW|INFO) \(\d+\)\s*$", text, flags=re.MULTILINE)
    under = {sev.lower(): body for sev, body in zip(sections[1::2], sections[2::2], strict=True)}
    for msg, (_, sev) in expected.items():
        assert msg in under[str(sev)], f"{msg!r} is not in the table's {sev} section"
        assert all(msg not in body for s, body in under.items() if s != str(sev))


# -- descriptors, ids, fingerprints --------------------------------------------------------------------------------
def test_only_severities_that_occur_get_a_descriptor_and_the_default_keeps_the_bare_id():
    chk = make_check(id="sqs-lambda/low-max-receive-count", rule="DLQ-2", severity=Severity.MEDIUM)
    doc = assert_valid_sarif(sarif.render(report_with(("fail", queue("a"), None), ("fail", queue("b"), Severity.HIGH),
                                                      checks=[chk])))
    rules = doc["runs"][0]["tool"]["driver"]["rules"]
    assert [r["id"] for r in rules] == ["sqs-lambda/low-max-receive-count", "sqs-lambda/low-max-receive-count/high"]
    by_queue = {r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"].rsplit("/", 1)[1]: r
                for r in doc["runs"][0]["results"]}
    assert (by_queue["a"]["ruleId"], by_queue["a"]["ruleIndex"]) == ("sqs-lambda/low-max-receive-count", 0)
    assert (by_queue["b"]["ruleId"], by_queue["b"]["ruleIndex"]) == ("sqs-lambda/low-max-receive-count/high", 1)
    assert [github_shows(doc, by_queue[q]) for q in "ab"] == ["Warning", "Error"]


def test_a_check_without_results_still_has_its_default_descriptor():
    chk = make_check(severity=Severity.MEDIUM, security=True)
    doc = assert_valid_sarif(sarif.render(report_with(("ok", queue(), None), checks=[chk])))
    assert [r["id"] for r in doc["runs"][0]["tool"]["driver"]["rules"]] == [chk.id]


def test_fingerprint_leaves_out_the_severity_so_a_changed_severity_is_the_same_problem():
    """An escalation moves the result to another descriptor (GitHub then opens an alert at the new severity and
    closes the old one); the fingerprint still names the same pitfall on the same resource."""
    chk = make_check(severity=Severity.MEDIUM, security=True)
    night1 = json.loads(sarif.render(report_with(("fail", queue("orders"), None), checks=[chk])))
    night2 = json.loads(sarif.render(report_with(("fail", queue("orders"), Severity.HIGH), checks=[chk])))
    one, two = night1["runs"][0]["results"][0], night2["runs"][0]["results"][0]
    assert one["partialFingerprints"] == two["partialFingerprints"]
    assert (one["ruleId"], two["ruleId"]) == (chk.id, f"{chk.id}/high")
    assert (github_shows(night1, one), github_shows(night2, two)) == ("Medium", "High")


# -- a real check: BP-1's "this is fine" (info) next to its high ------------------------------------------------
def test_bp1_info_this_is_fine_is_a_note_and_bp1_high_is_high():
    inv = Inventory(None, [], files=FileInputs(policies=[
        ("ip-or-vpc.json", POLICIES["shop-assets-ip-or-vpc"]), ("partner.json", POLICIES["shop-partner-exchange"])]))
    try:
        report = engine.run(inv, [bp.negated_conditions_or], target={"provider": "file"})
    finally:
        inv.close()
    doc = assert_valid_sarif(sarif.render(report))
    shown = {}
    for res in doc["runs"][0]["results"]:
        shown[res["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]] = github_shows(doc, res)
    assert shown == {"ip-or-vpc.json": "Note", "partner.json": "High"}
    fine = next(f for f in report.findings if f.status is Status.FAIL and f.resource.id == "ip-or-vpc.json")
    assert fine.severity is Severity.INFO and "This is fine" in fine.message
