"""BP-1..BP-4 on policy documents (no AWS): positive and negative cases per rule, malformed input."""

from __future__ import annotations

import json

import pytest
from auditor.checks import bucket_policy as bp

from auditor import engine
from auditor.demo.seed_s3 import POLICIES, SEVERITIES
from auditor.inventory import FileInputs, Inventory
from auditor.model import Status
from tests.conftest import run_auditor

RULES = {"BP-1", "BP-2", "BP-3", "BP-4"}


def scan(**docs):
    inv = Inventory(None, [], files=FileInputs(policies=list(docs.items())))
    try:
        return engine.run(inv, bp.CHECKS, target={}).findings
    finally:
        inv.close()


def fails(findings, rule=None):
    return [f for f in findings if f.status is Status.FAIL and (rule is None or f.rule == rule)]


def by_rule(findings):
    return {f.rule for f in fails(findings)}


def doc(*statements):
    return {"Version": "2012-10-17", "Statement": list(statements)}


RES = ["arn:aws:s3:::b", "arn:aws:s3:::b/*"]


def deny(sid, **condition):
    return {"Sid": sid, "Effect": "Deny", "Principal": "*", "Action": "s3:*", "Resource": RES, "Condition": condition}


OWNER_READ = {"Sid": "Read", "Effect": "Allow", "Principal": {"AWS": "123456789012"}, "Action": "s3:GetObject",
              "Resource": RES[1]}


@pytest.mark.parametrize("bucket", sorted(POLICIES))
def test_seed_policies_as_files(bucket):
    from auditor.demo.seed_s3 import EXPECTED

    findings = scan(**{f"{bucket}.json": POLICIES[bucket]})
    got = by_rule(findings)
    want = EXPECTED[bucket]
    assert want.get("fail", set()) & RULES <= got
    assert not (want.get("clean", set()) & got), [f.message for f in fails(findings)]
    for (b, rule), sev in SEVERITIES.items():
        if b == bucket:
            assert {str(f.severity) for f in fails(findings, rule)} >= {sev}


# -- BP-1 -----------------------------------------------------------------------------------------------------
def test_bp1_high_for_keys_that_meet_in_one_request():
    f = fails(scan(p=doc(deny("D", StringNotEquals={"aws:PrincipalOrgID": "o-abc", "aws:SourceVpce": "vpce-1a2b3c4d"}),
                         OWNER_READ)), "BP-1")
    assert [str(x.severity) for x in f] == ["high"]
    assert f[0].evidence["keys_that_can_co_occur"] == [["aws:PrincipalOrgID", "aws:SourceVpce"]]
    assert f[0].key == "D"


def test_bp1_info_for_ip_or_vpc():
    f = fails(scan(p=doc(deny("D", NotIpAddress={"aws:SourceIp": "203.0.113.0/24"},
                              StringNotEquals={"aws:SourceVpce": "vpce-1a2b3c4d"}))), "BP-1")
    assert [str(x.severity) for x in f] == ["info"]
    assert "only achievable meaning" in f[0].message


def test_bp1_negative_cases():
    # one negated key, several values of one key, an Allow, IfExists on one key: nothing to say
    findings = scan(
        a=doc(deny("D", StringNotEquals={"aws:SourceVpce": ["vpce-1a2b3c4d", "vpce-2a2b3c4d"]})),
        b=doc({"Sid": "A", "Effect": "Allow", "Principal": "*", "Action": "s3:GetObject", "Resource": RES[1],
               "Condition": {"StringNotEquals": {"aws:PrincipalOrgID": "o-x", "aws:SourceVpce": "vpce-1a2b3c4d"}}}),
        c=doc(deny("D", StringNotEquals={"aws:PrincipalOrgID": "o-x"}, Bool={"aws:SecureTransport": "false"})),
    )
    assert not fails(findings, "BP-1")
    assert {f.resource.id for f in findings if f.rule == "BP-1" and f.status is Status.PASS} == {"a", "b", "c"}


# -- BP-2 -----------------------------------------------------------------------------------------------------
def test_bp2_split_deny_is_a_lockout_naming_action_and_paths():
    f = fails(scan(p=POLICIES["shop-reports-split-deny"]), "BP-2")
    assert len(f) == 1
    msg = f[0].message
    assert "s3:GetObject" in msg and "DenyOutsideOffice" in msg and "DenyOutsideVpc" in msg
    assert f[0].evidence["actions"][0] == "s3:GetObject"
    paths = f[0].evidence["paths"]
    assert any(k.startswith("internet") for k in paths) and any(k.startswith("VPC endpoint") for k in paths)


def test_bp2_single_deny_with_private_source_ip_locks_out():
    # aws:SourceIp never holds 10.0.0.0/8, so "deny unless from 10.0.0.0/8" denies every request
    f = fails(scan(p=doc(deny("D", NotIpAddress={"aws:SourceIp": "10.0.0.0/8"}), OWNER_READ)), "BP-2")
    assert len(f) == 1


def test_bp2_negative_cases():
    findings = scan(
        one=POLICIES["shop-assets-ip-or-vpc"],
        deliberate=doc({"Sid": "NoDelete", "Effect": "Deny", "Principal": "*", "Action": "s3:DeleteBucket",
                        "Resource": RES[0]}, OWNER_READ),
        partial=doc({"Sid": "D", "Effect": "Deny", "Principal": "*", "Action": "s3:GetObject",
                     "Resource": "arn:aws:s3:::b/private/*", "Condition": {"NotIpAddress": {"aws:SourceIp": "10.0.0.0/8"}}}),
        unknown=doc(deny("D", StringNotEqualz={"aws:SourceVpce": "vpce-1a2b3c4d"})),
    )
    assert not fails(findings, "BP-2")


# -- BP-3 -----------------------------------------------------------------------------------------------------
def test_bp3_values():
    f = fails(scan(p=POLICIES["shop-legacy-bad-values"]), "BP-3")
    values = {x.evidence.get("value"): str(x.severity) for x in f}
    assert values == {"123.456.789.0/24": "high", "10.0.0.0/8": "high", "vpce-12345": "high"}
    f = fails(scan(p=POLICIES["shop-host-bits"]), "BP-3")
    assert [(x.evidence["code"], str(x.severity)) for x in f] == [("host-bits", "low")]


def test_bp3_malformed_documents_give_findings_and_not_evaluated():
    findings = scan(**{
        "text.json": "{ this is not json",
        "list.json": [1, 2],
        "case.json": {"version": "2012-10-17", "statement": [{"effect": "allow", "principal": "*",
                                                              "action": "s3:GetObject", "resource": "*"}]},
        "op.json": doc(dict(OWNER_READ, Condition={"StringEqualz": {"aws:SourceVpce": "vpce-1a2b3c4d"}})),
        "ipv6.json": doc(dict(OWNER_READ, Condition={"IpAddress": {"aws:SourceIp": "2001:db8::/32"}})),
        "sets.json": doc(dict(OWNER_READ, Condition={"ForAnyValue:StringLike": {"aws:PrincipalOrgPaths": "o-a/*"},
                                                     "StringEqualsIfExists": {"aws:SourceVpce": "vpce-1a2b3c4d"}})),
    })
    bad = {f.resource.id: f for f in fails(findings) if f.check_id == "s3-policy/malformed-document"}
    assert set(bad) >= {"text.json", "list.json", "case.json", "op.json"}
    assert "not valid JSON" in bad["text.json"].message
    ne = {f.resource.id for f in findings if f.status is Status.NOT_EVALUATED}
    assert ne == {"text.json", "list.json"}
    for f in findings:
        if f.status is Status.NOT_EVALUATED:
            assert "cannot be read" in f.reason
    assert not [f for f in fails(findings) if f.resource.id in ("ipv6.json", "sets.json")]


# -- BP-4 -----------------------------------------------------------------------------------------------------
def test_bp4_public_read():
    f = fails(scan(p=POLICIES["shop-public-site"]), "BP-4")
    assert [str(x.severity) for x in f] == ["high"]
    assert f[0].evidence["actions"] == ["s3:GetObject"]


@pytest.mark.parametrize("principal", ["*", {"AWS": "*"}, {"AWS": ["*"]}])
def test_bp4_everyone_spellings(principal):
    p = doc({"Sid": "P", "Effect": "Allow", "Principal": principal, "Action": ["s3:GetObject", "s3:PutObject"],
             "Resource": RES[1]})
    f = fails(scan(p=p), "BP-4")
    assert f and set(f[0].evidence["actions"]) == {"s3:GetObject", "s3:PutObject"}


def test_bp4_medium_with_only_a_weak_condition():
    p = doc({"Sid": "P", "Effect": "Allow", "Principal": "*", "Action": "s3:GetObject", "Resource": RES[1],
             "Condition": {"StringLike": {"aws:Referer": "https://shop.example/*"}}})
    f = fails(scan(p=p), "BP-4")
    assert [str(x.severity) for x in f] == ["medium"]


def test_bp4_allow_with_notprincipal_is_public():
    p = doc({"Sid": "P", "Effect": "Allow", "NotPrincipal": {"AWS": "111122223333"}, "Action": "s3:GetObject",
             "Resource": RES[1]})
    assert fails(scan(p=p), "BP-4")


@pytest.mark.parametrize("condition", [
    {"StringEquals": {"aws:PrincipalOrgID": "o-abc"}},
    {"IpAddress": {"aws:SourceIp": "203.0.113.0/24"}},
    {"StringEquals": {"aws:SourceVpce": "vpce-1a2b3c4d"}},
    {"StringEquals": {"aws:SourceAccount": "111122223333"}},
])
def test_bp4_restricted_is_not_public(condition):
    p = doc({"Sid": "P", "Effect": "Allow", "Principal": "*", "Action": "s3:GetObject", "Resource": RES[1],
             "Condition": condition})
    assert not fails(scan(p=p), "BP-4")


def test_bp4_wide_cidr_does_not_restrict():
    p = doc({"Sid": "P", "Effect": "Allow", "Principal": "*", "Action": "s3:GetObject", "Resource": RES[1],
             "Condition": {"IpAddress": {"aws:SourceIp": "0.0.0.0/0"}}})
    assert fails(scan(p=p), "BP-4")


def test_bp4_public_allow_cancelled_by_deny_is_not_public():
    p = doc({"Sid": "P", "Effect": "Allow", "Principal": "*", "Action": "s3:GetObject", "Resource": RES[1]},
            deny("D", StringNotEquals={"aws:PrincipalOrgID": "o-abc"}))
    assert not fails(scan(p=p), "BP-4")


def test_bp4_unknown_statement_may_be_public():
    p = doc({"Sid": "P", "Effect": "Allow", "Principal": "*", "Action": "s3:GetObject", "Resource": RES[1],
             "Condition": {"StringEqualz": {"aws:SourceVpce": "vpce-1a2b3c4d"}}})
    f = fails(scan(p=p), "BP-4")
    assert [(str(x.severity), str(x.confidence)) for x in f] == [("medium", "low")]


@pytest.mark.parametrize("statements", [
    # Deny-only policies whose Deny statements the engine cannot fully interpret
    [deny("D", NotIpAddress={"aws:SourceIp": "203.0.113.0/33"})],
    [deny("D", StringEqualz={"aws:SourceVpce": "vpce-1a2b3c4d"})],
    [{"Sid": "D", "Effect": "Deny", "Action": "s3:*", "Resource": RES}],  # no Principal
    [deny("D", Bool={"aws:SecureTransport": "false"})],
    [],
], ids=["invalid-cidr", "unknown-operator", "no-principal", "plain-deny", "no-statement"])
def test_bp4_a_policy_without_an_allow_statement_cannot_make_a_bucket_public(statements):
    """check-rules.md §7: a policy with no Allow statement grants nothing, whatever its Deny statements say."""
    found = [f for f in scan(p=doc(*statements)) if f.rule == "BP-4"]
    assert [f.status for f in found] == [Status.PASS]
    assert "no Allow statement" in found[0].message


def test_bp4_a_statement_whose_effect_is_unreadable_may_still_be_an_allow():
    p = doc({"Sid": "P", "Effect": "Permit", "Principal": "*", "Action": "s3:GetObject", "Resource": RES[1]})
    assert not [f for f in scan(p=p) if f.rule == "BP-4" and f.status is Status.PASS]


# -- through the CLI ------------------------------------------------------------------------------------------
@pytest.mark.e2e
def test_scan_file_reports_policy_findings(tmp_path):
    split = tmp_path / "split.json"
    split.write_text(json.dumps(POLICIES["shop-reports-split-deny"]))
    broken = tmp_path / "broken.json"  # a policy by its shape, but no statement AWS could read
    broken.write_text('{"Version": "2012-10-17", "Statement": "everyone"}')
    r = run_auditor("scan-file", str(split), str(broken), "--format", "json")
    assert r.code == 1, r.stderr
    report = json.loads(r.stdout)
    got = {(f["rule"], f["status"], f["resource"]["id"]) for f in report["findings"]}
    assert ("BP-2", "fail", str(split)) in got
    assert ("BP-6", "fail", str(broken)) in got
    assert ("BP-2", "not-evaluated", str(broken)) in got
    assert "Traceback" not in r.stderr


@pytest.mark.e2e
def test_former_code_bp3_is_explained_and_no_longer_hides_malformed_documents(tmp_path):
    broken = tmp_path / "broken.json"
    broken.write_text('{"Version": "2012-10-17", "Statement": "everyone"}')
    r = run_auditor("scan-file", str(broken), "-x", "BP-3", "--format", "json")
    assert r.code == 1, r.stderr
    assert "BP-3 no longer covers s3-policy/malformed-document; it is BP-6" in " ".join(r.stderr.split())
    got = {(f["rule"], f["status"]) for f in json.loads(r.stdout)["findings"]}
    assert ("BP-6", "fail") in got and not any(rule == "BP-3" for rule, _ in got)
    e = run_auditor("explain", "BP-3")
    assert e.code == 0, e.stderr
    assert "s3-policy/invalid-values" in e.stdout and "malformed-document" not in e.stdout
    assert "it is BP-6" in " ".join(e.stderr.split())


# -- BP-5: a role's statements that cannot apply to s3:GetObject take no part ------------------------------------
_ROLE_DOCS = {
    # a table reached through a VPC endpoint only: a network condition, but not on S3
    "tables": {"Version": "2012-10-17", "Statement": [
        {"Sid": "Tables", "Effect": "Allow", "Action": ["dynamodb:GetItem"], "Resource": "arn:aws:dynamodb:*:*:table/t",
         "Condition": {"StringEquals": {"aws:SourceVpce": "vpce-0a1b2c3d4e5f60718"}}}]},
    "office": {"Version": "2012-10-17", "Statement": [
        {"Sid": "Read", "Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::reports/*",
         "Condition": {"IpAddress": {"aws:SourceIp": "203.0.113.0/24"}}}]},
    "anywhere": {"Version": "2012-10-17", "Statement": [
        {"Sid": "All", "Effect": "Allow", "Action": "s3:*", "Resource": "*"}]},
    "not-tables": {"Version": "2012-10-17", "Statement": [
        {"Sid": "NotTables", "Effect": "Allow", "NotAction": "dynamodb:*", "Resource": "*",
         "Condition": {"IpAddress": {"aws:SourceIp": "198.51.100.0/24"}}}]},
    "deny-outside": {"Version": "2012-10-17", "Statement": [
        {"Sid": "Outside", "Effect": "Deny", "Action": "s3:Get*", "Resource": "*",
         "Condition": {"NotIpAddress": {"aws:SourceIp": "203.0.113.0/24"}}},
        {"Sid": "Queues", "Effect": "Deny", "Action": "sqs:*", "Resource": "*",
         "Condition": {"Bool": {"aws:SecureTransport": "false"}}}]},
    "broken": {"Version": "2012-10-17", "Statement": [{"Sid": "Odd", "Effect": "Allow", "Action": "dynamodb:*"},
                                                        {"Sid": "Bad", "Effect": "Maybe", "Action": "s3:*"}]},
}


def _named(*names):
    from auditor.policy import parse

    return [(n, parse(json.dumps(_ROLE_DOCS[n]), kind="identity", name=n)) for n in names]


def test_bp5_keeps_only_statements_that_may_apply_to_the_action():
    kept = bp.identity_policy(_named(*_ROLE_DOCS), action="s3:GetObject")
    assert [st.sid for st in kept.statements] == [
        "office:Read", "anywhere:All", "not-tables:NotTables", "deny-outside:Outside", "broken:Odd", "broken:Bad"]
    assert all(st.broken for st in kept.statements[-2:])  # statements that cannot be read are always kept
    assert [st.index for st in kept.statements] == list(range(6))
    everything = bp.identity_policy(_named(*_ROLE_DOCS))
    assert len(everything.statements) == 8 and kept.diagnostics == everything.diagnostics


@pytest.mark.parametrize("roles", [("tables",), ("tables", "office"), ("tables", "anywhere"), ("office", "anywhere"),
                                   ("not-tables",), ("tables", "not-tables", "anywhere"), ("anywhere", "deny-outside"),
                                   ("tables", "office", "deny-outside")])
def test_bp5_verdict_is_the_same_with_only_the_statements_that_apply(roles):
    from auditor.policy import Principal, analyze

    role = Principal("AWS", "arn:aws:iam::123456789012:role/signer")
    verdicts = []
    for action in (None, "s3:GetObject"):
        a = analyze(bp.identity_policy(_named(*roles), action=action), action="s3:GetObject", principal=role)
        stmts = sorted({s for r in a.rows if r.decision.name == "ALLOWED" for s in r.statements})
        verdicts.append((bp.network_conditioned(a), stmts, a.complete))
    assert verdicts[0] == verdicts[1]
    # the table behind a VPC endpoint never makes GetObject network-conditioned
    assert verdicts[1][0][0] is (roles != ("tables",) and "anywhere" not in roles or "deny-outside" in roles)
