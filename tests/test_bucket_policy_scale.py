"""BP-2 and BP-4 on policies past the size where the analysis used to stop (issue 9 §3): a verdict comes from an
analysis of every request, or the bucket is not evaluated, with the reason — never a lock-out that is not one,
never a pass for a policy that lets outsiders in."""

from __future__ import annotations

import json

import pytest
from auditor.checks import bucket_policy as bp
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from auditor import engine
from auditor.inventory import FileInputs, Inventory
from auditor.model import Status
from auditor.policy import ANONYMOUS, INTERNET, VPCE, Decision, Principal, Request, analyze, evaluate
from auditor.policy.actions import level
from auditor.policy.context import DERIVED_KEYS, RESTRICTING_KEYS, presence
from tests.conftest import run_auditor
from tests.policy.strategies import large_policies, requests, shaped_policies
from tests.policy.test_parser_bounds import large, nested_text
from tests.policy.test_scale import blocked_by_tag, team_prefixes_and_tagged_rw

RULES = ("BP-2", "BP-4")


def run(doc):
    """(BP-2 and BP-4 findings, the analysis they were made from)."""
    inv = Inventory(None, [], files=FileInputs(policies=[("p.json", doc)]))
    try:
        findings = [f for f in engine.run(inv, bp.CHECKS, target={}).findings if f.rule in RULES]
        return findings, bp.full_analysis(inv, next(bp.subjects(inv, None)))
    finally:
        inv.close()


def by_rule(findings):
    return {f.rule: f for f in findings}


def test_deny_by_tag_is_no_lockout():
    """24 "Deny everything to principals tagged blocked-<n>": BP-2 used to report every action locked out."""
    found = by_rule(run(blocked_by_tag(24))[0])
    assert found["BP-2"].status is Status.PASS, found["BP-2"].message
    assert found["BP-4"].status is Status.PASS  # only the owner account is allowed


def test_any_principal_tagged_access_rw_is_public():
    """24 team prefixes, and read/write for any principal tagged access=rw: BP-4 used to pass it."""
    found = by_rule(run(team_prefixes_and_tagged_rw(24))[0])
    bp4 = found["BP-4"]
    assert bp4.status is Status.FAIL
    assert str(bp4.severity) == "medium"  # a principal tag is chosen by whoever owns the principal
    assert bp4.evidence["statements"] == ["TaggedRW"]
    assert bp4.evidence["actions"] == ["s3:GetObject", "s3:PutObject"]
    # what stands in the way is the access tag every public request needs, named first
    assert bp4.evidence["only_weak_conditions"][0] == "rw for aws:PrincipalTag/access"
    assert "(rw for aws:PrincipalTag/access" in bp4.message
    assert found["BP-2"].status is Status.PASS


def test_an_analysis_cut_short_is_not_evaluated(monkeypatch):
    """Whatever the engine's limits, a table that does not cover every request gives no verdict."""
    monkeypatch.setattr(bp, "full_analysis", lambda inv, s: analyze(s.policy, bucket=s.bucket, max_rows=50))
    for doc in (blocked_by_tag(24), team_prefixes_and_tagged_rw(24)):
        found = by_rule(run(doc)[0])
        for rule in RULES:
            assert found[rule].status is Status.NOT_EVALUATED, (rule, found[rule].message)
            assert "cannot be determined" in found[rule].reason and "cut at 50 rows" in found[rule].reason


def _outsider(data, keys: list[str]) -> Request:
    """A request by anonymous or by a principal of an account the policy does not name, from a network it does
    not name; keys that restrict nothing (tags, headers, TLS) take any value."""
    path = data.draw(st.sampled_from([INTERNET, VPCE]))
    who = data.draw(st.sampled_from([ANONYMOUS, Principal("AWS", "arn:aws:iam::999999999999:role/any-role")]))
    values = {"aws:securetransport": data.draw(st.sampled_from(["true", "false"]))}
    if path == INTERNET:
        values["aws:sourceip"] = "8.8.8.8"
    else:
        values |= {"aws:sourcevpc": "vpc-0000000000000000f", "aws:sourcevpce": "vpce-0000000000000000f",
                   "aws:vpcsourceip": data.draw(st.sampled_from(["10.0.3.4", "172.16.0.1"]))}
    for k in keys:
        if k in values or k in RESTRICTING_KEYS or k in DERIVED_KEYS or presence(k, path, who) == "no":
            continue
        v = data.draw(st.sampled_from(["v", "vx", "other", "rw", "https://shop.example/x", "5", "11", None]))
        if v is not None:
            values[k] = v
    action = data.draw(st.sampled_from(["s3:GetObject", "s3:PutObject", "s3:ListBucket", "s3:DeleteBucket"]))
    where = data.draw(st.sampled_from(["x", "p0/o", "p5/o", "private/y"]))
    resource = "arn:aws:s3:::b" if level(action) == "bucket" else f"arn:aws:s3:::b/{where}"
    return Request(action, resource, who, path, values)


def _as(req: Request, action: str) -> Request:
    lv = level(action)
    resource = req.resource
    if lv == "bucket":
        resource = "arn:aws:s3:::b"
    elif lv == "object" and resource == "arn:aws:s3:::b":
        resource = "arn:aws:s3:::b/x"
    return Request(action, resource, req.principal, req.path, req.keys)


@settings(max_examples=10, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.data())
def test_bp2_bp4_verdicts_hold_for_concrete_requests(data):
    """Past the old limit: BP-2/BP-4 pass or fail only on a complete analysis (else not evaluated, reason
    named); a lock-out holds for every request of its actions; a pass means no outsider request is allowed."""
    doc = data.draw(st.one_of(large_policies(24, 28), shaped_policies()))
    findings, a = run(doc)
    found = by_rule(findings)
    policy = a.policy
    for rule in RULES:
        if a.complete:
            assert found[rule].status in (Status.PASS, Status.FAIL), found[rule].message
        else:
            assert found[rule].status is Status.NOT_EVALUATED and found[rule].reason
    keys = policy.keys()
    bp2 = found["BP-2"]
    if bp2.status is Status.FAIL:
        for action in bp2.evidence["actions"][:3]:
            for req in data.draw(st.lists(requests(tuple(keys)), min_size=5, max_size=10)):
                assert evaluate(policy, _as(req, action)).decision is Decision.DENIED, (action, req)
    if found["BP-4"].status is Status.PASS:
        for _ in range(20):
            req = _outsider(data, keys)
            assert evaluate(policy, req).decision is not Decision.ALLOWED, req


@pytest.mark.e2e
def test_scan_file_reads_past_a_policy_too_deep_or_too_large(tmp_path):
    """A document nested too deeply or larger than AWS accepts is that file's "cannot be read", not a crash or
    minutes of analysis: the other file is still judged. (A file nested past the JSON decoder's own limit is
    refused when it is loaded, as a usage error; one the decoder reads reaches the policy engine.)"""
    deep = tmp_path / "deep.json"
    deep.write_text(nested_text(900))
    huge = tmp_path / "huge.json"
    huge.write_text(json.dumps(large(60)))
    public = tmp_path / "public.json"
    public.write_text(json.dumps(team_prefixes_and_tagged_rw(24)))
    r = run_auditor("scan-file", str(deep), str(huge), str(public), "--format", "json")
    assert r.code == 1, r.stderr
    assert "Traceback" not in r.stderr and "internal error" not in r.stderr
    got = {(f["rule"], f["resource"]["id"]): f for f in json.loads(r.stdout)["findings"]}
    for path, why in ((deep, "nested more than 16 levels"), (huge, "more than any policy AWS accepts")):
        for rule in ("BP-1", "BP-2", "BP-4"):
            f = got[(rule, str(path))]
            assert f["status"] == "not-evaluated" and why in f["reason"], f
    assert got[("BP-4", str(public))]["status"] == "fail"
