"""--baseline on reports built in memory: new / unchanged / fixed, what is carried over, what a baseline file must be.

The end-to-end behaviour on the moto server is in tests/test_ci_e2e.py.
"""

from __future__ import annotations

import json

import pytest
from auditor.reports import json as json_report
from auditor.reports import sarif
from auditor.reports.markdown import render as markdown
from auditor.reports.table import render as table

from auditor import baseline
from auditor.baseline import covers
from auditor.check import Recorder
from auditor.cli import EXIT_FINDINGS, EXIT_INCOMPLETE, EXIT_OK, exit_code
from auditor.inventory.core import ConfigurationError
from auditor.model import Resource, Severity, Status
from tests.factories import make_check, queue
from tests.sarif_rules import assert_valid_sarif

ACCOUNT = "123456789012"
CHECK = make_check()
OTHER = make_check(rule="VT-2", id="sqs-lambda/other")


def _report(*outcomes, checks=(CHECK,), regions=("us-east-1",)):
    """outcomes: (check, kind, resource[, key]) with kind fail | ok | ne."""
    from auditor.report import Report

    findings = []
    for chk, kind, res, *key in outcomes:
        rec = Recorder(chk.meta)
        k = key[0] if key else ""
        if kind == "fail":
            rec.fail(res, f"{res.id} is misconfigured", severity=Severity.HIGH, key=k)
        elif kind == "ok":
            rec.ok(res, f"{res.id} is fine", key=k)
        else:
            rec.not_evaluated(res, "access denied to lambda:ListEventSourceMappings", "lambda:ListEventSourceMappings")
        findings += rec.findings
    return Report(target={"provider": "aws", "account": ACCOUNT, "regions": list(regions)},
                  checks=[c.meta for c in checks], findings=findings,
                  started_at="2026-01-01T00:00:00Z", finished_at="2026-01-01T00:00:01Z")


def _baseline_of(report, tmp_path, name="before.json"):
    path = tmp_path / name
    path.write_text(json_report.render(report))
    return baseline.load(path)


def _scope(what="lambda-event-source-mappings", region="us-east-1"):
    return Resource("aws", ACCOUNT, region, "region", f"{region}/{what}")


def _ne(chk, res):
    return _report((chk, "ne", res)).findings[0]


def _fail(chk, res, key=""):
    return _report((chk, "fail", res, key)).findings[0]


# -- covers -----------------------------------------------------------------------------------------------------
def test_covers_the_resource_itself_the_listing_that_holds_it_and_what_it_was_derived_from():
    orders, dlq = queue("orders"), queue("orders-dlq")
    assert covers(_ne(CHECK, orders), _fail(CHECK, orders))
    assert covers(_ne(CHECK, _scope()), _fail(CHECK, orders))  # the region's listing failed
    assert covers(_ne(CHECK, orders), _fail(CHECK, dlq, key=orders.arn))  # the DLQ's finding derives from orders
    account_wide = Resource("aws", ACCOUNT, "global", "s3-buckets", "s3-buckets")
    assert covers(_ne(CHECK, account_wide), _fail(CHECK, queue("x", region="eu-west-1")))
    role = Resource("aws", ACCOUNT, "global", "iam-role", "worker", f"arn:aws:iam::{ACCOUNT}:role/worker")
    assert covers(_ne(CHECK, _scope("lambda-functions")), _fail(CHECK, role))  # roles come from regional listings
    crashed = Resource("auditor", ACCOUNT, "-", "check", CHECK.id)
    assert covers(_ne(CHECK, crashed), _fail(CHECK, queue("anything", region="ap-south-1")))


def test_covers_nothing_of_another_check_another_region_or_another_resource():
    orders = queue("orders")
    assert not covers(_ne(OTHER, orders), _fail(CHECK, orders))  # each check records its own gaps
    assert not covers(_ne(CHECK, _scope(region="eu-west-1")), _fail(CHECK, orders))
    assert not covers(_ne(CHECK, queue("payments")), _fail(CHECK, orders))
    assert not covers(_fail(CHECK, orders), _fail(CHECK, orders))  # a failure is not a gap
    other_account = Resource("aws", "210987654321", "us-east-1", "region", "us-east-1/sqs-queues")
    assert not covers(_ne(CHECK, other_account), _fail(CHECK, orders))


def test_scope_types_are_defined_once_on_the_resource():
    assert _scope().is_scope and Resource("datadog", ACCOUNT, "", "monitors", "datadoghq.com").is_scope
    assert not queue().is_scope


# -- apply ----------------------------------------------------------------------------------------------------
def test_new_unchanged_fixed_by_fingerprint(tmp_path):
    a, b, c = queue("a"), queue("b"), queue("c")
    before = _baseline_of(_report((CHECK, "fail", a), (CHECK, "fail", b)), tmp_path)
    now = _report((CHECK, "fail", a), (CHECK, "ok", b), (CHECK, "fail", c))
    cmp = baseline.apply(now, before)
    assert (cmp.new, cmp.unchanged, cmp.carried_over) == (1, 1, 0)
    assert [f.resource.id for f in cmp.fixed] == ["b"]
    assert {f.resource.id: f.baseline for f in now.failures} == {"a": "unchanged", "c": "new"}
    assert exit_code(now, "never", "high") == EXIT_FINDINGS  # c is new and high
    assert exit_code(_report((CHECK, "fail", a)), "never", "high") == EXIT_FINDINGS  # no baseline: all new


def test_unchanged_findings_never_fail_fail_on_new(tmp_path):
    a = queue("a")
    before = _baseline_of(_report((CHECK, "fail", a)), tmp_path)
    now = _report((CHECK, "fail", a))
    baseline.apply(now, before)
    assert exit_code(now, "never", "info") == EXIT_OK
    assert exit_code(now, "high", "info") == EXIT_FINDINGS  # --fail-on still judges every finding


def test_a_finding_tonight_could_not_re_evaluate_is_carried_over_never_fixed_never_new(tmp_path):
    orders, dlq, other = queue("orders"), queue("orders-dlq"), queue("payments")
    before_report = _report((CHECK, "fail", orders), (CHECK, "fail", dlq, orders.arn), (CHECK, "fail", other))
    before = _baseline_of(before_report, tmp_path)
    # tonight the region's mapping listing failed: nothing of this check could be judged in us-east-1
    now = _report((CHECK, "ne", _scope()))
    cmp = baseline.apply(now, before)
    assert (cmp.new, cmp.unchanged, cmp.carried_over, cmp.fixed) == (0, 0, 3, [])
    carried = now.carried_over
    assert {f.resource.id for f in carried} == {"orders", "orders-dlq", "payments"}
    assert all(f.status is Status.CARRIED_OVER and f.baseline == "unchanged" for f in carried)
    assert all("not re-evaluated" in f.reason and f.iam_action == "lambda:ListEventSourceMappings" for f in carried)
    assert exit_code(now, "never", "info") == EXIT_INCOMPLETE  # carried never counts as new

    doc = assert_valid_sarif(sarif.render(now))
    results = doc["runs"][0]["results"]
    old = {r["partialFingerprints"]["primaryLocationLineHash"]: r["ruleId"]
           for r in json.loads(sarif.render(before_report))["runs"][0]["results"]}
    assert {r["partialFingerprints"]["primaryLocationLineHash"]: r["ruleId"] for r in results} == old
    assert {r["baselineState"] for r in results} == {"unchanged"}
    assert all(r["properties"]["carriedOver"] and "not re-evaluated" in r["properties"]["notReEvaluated"]
               for r in results)
    assert doc["runs"][0]["invocations"][0]["executionSuccessful"] is False

    js = json.loads(json_report.render(now))
    assert {f["status"] for f in js["findings"] if f["resource"]["type"] == "sqs-queue"} == {"carried-over"}
    assert js["baseline"]["carried_over"] == 3 and js["baseline"]["fixed"] == []
    assert "CARRIED OVER" in table(now) and "Carried over (3)" in markdown(now)


def test_a_carried_finding_stays_carried_night_after_night(tmp_path):
    orders = queue("orders")
    first = _report((CHECK, "fail", orders))
    second = _report((CHECK, "ne", _scope()))
    baseline.apply(second, _baseline_of(first, tmp_path, "1.json"))
    third = _report((CHECK, "ne", _scope()))
    cmp = baseline.apply(third, _baseline_of(second, tmp_path, "2.json"))
    assert cmp.carried_over == 1 and cmp.fixed == []
    fourth = _report((CHECK, "ok", orders))  # evaluated at last, and it passes
    cmp = baseline.apply(fourth, _baseline_of(third, tmp_path, "3.json"))
    assert [f.resource.id for f in cmp.fixed] == ["orders"] and cmp.carried_over == 0


def test_findings_this_run_did_not_look_for_are_neither_fixed_nor_carried(tmp_path):
    before = _baseline_of(_report((OTHER, "fail", queue("a")), (CHECK, "fail", queue("b", region="eu-west-1")),
                                  checks=(CHECK, OTHER), regions=("us-east-1", "eu-west-1")), tmp_path)
    now = _report((CHECK, "ok", queue("c")))  # only CHECK, only us-east-1
    cmp = baseline.apply(now, before)
    assert (cmp.fixed, cmp.carried_over, cmp.out_of_scope) == ([], 0, 2)
    assert any("not looked for" in n for n in now.notices)


def test_without_a_baseline_an_incomplete_sarif_says_github_may_close_alerts():
    now = _report((CHECK, "ne", _scope()))
    inv = json.loads(sarif.render(now))["runs"][0]["invocations"][0]
    assert inv["executionSuccessful"] is False
    texts = " ".join(n["message"]["text"] for n in inv["toolExecutionNotifications"])
    assert "may be closed" in texts and "--baseline" in texts
    complete = json.loads(sarif.render(_report((CHECK, "ok", queue()))))["runs"][0]["invocations"][0]
    assert not any("--baseline" in n["message"]["text"] for n in complete["toolExecutionNotifications"])


# -- the baseline file --------------------------------------------------------------------------------------------
@pytest.mark.parametrize(("content", "message"), [
    (None, "no such file"),
    ("not json", "is not JSON"),
    (json.dumps({"tool": {"name": "other"}, "findings": []}), "not an auditor JSON report"),
    (json.dumps({"schema_version": "2.0", "tool": {"name": "auditor"}, "findings": []}), "schema version 2.0"),
    (json.dumps({"schema_version": "1.0", "tool": {"name": "auditor"}, "findings": [{"status": "fail"}]}),
     "findings[0] is malformed"),
])
def test_a_baseline_that_is_not_a_report_of_ours_is_a_usage_error(tmp_path, content, message):
    path = tmp_path / "b.json"
    if content is not None:
        path.write_text(content)
    with pytest.raises(ConfigurationError, match=message.replace("[", r"\[").replace("]", r"\]")):
        baseline.load(path)


def test_a_baseline_of_another_account_is_refused(tmp_path):
    before = _baseline_of(_report((CHECK, "fail", queue("a"))), tmp_path)
    now = _report((CHECK, "fail", queue("a")))
    now.target["account"] = "210987654321"
    with pytest.raises(ConfigurationError, match="account 123456789012"):
        baseline.apply(now, before)
