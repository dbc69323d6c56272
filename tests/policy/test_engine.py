"""The engine's answers for the issue's two seed policies and the presence rules behind them."""

from __future__ import annotations

import json

from auditor.policy import (
    ANONYMOUS,
    INTERNET,
    SERVICE,
    VPCE,
    Decision,
    Principal,
    Request,
    analyze,
    evaluate,
    parse,
)
from auditor.policy.context import can_co_occur, presence

BUCKET = "shop-reports"
RES = [f"arn:aws:s3:::{BUCKET}", f"arn:aws:s3:::{BUCKET}/*"]
OFFICE = "203.0.113.0/24"
VPC = "vpc-1a2b3c4d"
READ = {"Sid": "Read", "Effect": "Allow", "Principal": "*", "Action": "s3:GetObject", "Resource": RES[1]}

#: Seed policy 1: one Deny, NotIpAddress aws:SourceIp AND StringNotEquals aws:SourceVpc.
ONE_DENY = {"Version": "2012-10-17", "Statement": [
    {"Sid": "DenyUnlessIpOrVpc", "Effect": "Deny", "Principal": "*", "Action": "s3:*", "Resource": RES,
     "Condition": {"NotIpAddress": {"aws:SourceIp": OFFICE}, "StringNotEquals": {"aws:SourceVpc": VPC}}},
    READ]}
#: Seed policy 2: the same conditions split into two Deny statements.
SPLIT_DENY = {"Version": "2012-10-17", "Statement": [
    {"Sid": "DenyNotIp", "Effect": "Deny", "Principal": "*", "Action": "s3:*", "Resource": RES,
     "Condition": {"NotIpAddress": {"aws:SourceIp": OFFICE}}},
    {"Sid": "DenyNotVpc", "Effect": "Deny", "Principal": "*", "Action": "s3:*", "Resource": RES,
     "Condition": {"StringNotEquals": {"aws:SourceVpc": VPC}}},
    READ]}


def req(path=INTERNET, principal=ANONYMOUS, action="s3:GetObject", resource=f"arn:aws:s3:::{BUCKET}/k", **keys):
    return Request(action, resource, principal, path, {k.replace("_", ":", 1): v for k, v in keys.items()})


def rows_by(analysis, *names):
    return {tuple(r.cells[n].label if n in r.cells else "any" for n in names): r for r in analysis.rows}


def test_seed_one_deny_allows_from_the_ip_or_through_the_vpc():
    p = parse(ONE_DENY)
    assert evaluate(p, req(aws_SourceIp="203.0.113.9")).decision is Decision.ALLOWED
    assert evaluate(p, req(VPCE, aws_SourceVpc=VPC, aws_SourceVpce="vpce-1a2b3c4d")).decision is Decision.ALLOWED
    assert evaluate(p, req(aws_SourceIp="198.51.100.1")).decision is Decision.DENIED
    assert evaluate(p, req(VPCE, aws_SourceVpc="vpc-99999999")).decision is Decision.DENIED

    a = analyze(p, action="s3:GetObject", force=("path",))
    table = {(r.cells["path"].label, next((r.cells[n].label for n in r.cells if n.startswith("aws:")), "any")):
             (r.decision, r.statements) for r in a.rows}
    assert table == {  # internet and AWS-service requests both carry aws:SourceIp: one merged row each
        ("internet or AWS service principal", "in 203.0.113.0/24"): (Decision.ALLOWED, ("Read",)),
        ("internet or AWS service principal", "any other public address"): (Decision.DENIED, ("DenyUnlessIpOrVpc",)),
        ("VPC endpoint", VPC): (Decision.ALLOWED, ("Read",)),
        ("VPC endpoint", "other VPC"): (Decision.DENIED, ("DenyUnlessIpOrVpc",)),
    }
    assert a.complete and a.bucket == BUCKET


def test_seed_split_deny_denies_every_request():
    p = parse(SPLIT_DENY)
    a = analyze(p, action="s3:GetObject", force=("path",))
    assert a.decisions() == {Decision.DENIED}
    by_path = {r.cells["path"].label: r.statements for r in a.rows}
    assert by_path == {"internet or AWS service principal": ("DenyNotVpc",), "VPC endpoint": ("DenyNotIp",)}
    # ... even the request that satisfies "both" on paper cannot exist: each path lacks one key.
    assert evaluate(p, req(aws_SourceIp="203.0.113.9")).decision is Decision.DENIED
    assert evaluate(p, req(VPCE, aws_SourceVpc=VPC)).decision is Decision.DENIED


def test_presence_rules():
    assert presence("aws:sourceip", INTERNET, ANONYMOUS) == "yes"
    assert presence("aws:sourceip", VPCE, ANONYMOUS) == "no"
    assert presence("aws:sourcevpce", VPCE, ANONYMOUS) == "yes"
    assert presence("aws:sourcevpc", INTERNET, ANONYMOUS) == "no"
    assert presence("aws:principalorgid", INTERNET, Principal("AWS", "arn:aws:iam::1:role/r")) == "maybe"
    assert presence("aws:principalorgid", INTERNET, ANONYMOUS) == "no"
    assert presence("aws:sourceaccount", SERVICE, Principal("Service", "s3.amazonaws.com")) == "maybe"
    assert not can_co_occur("aws:sourceip", "aws:sourcevpce")
    assert can_co_occur("aws:principalorgid", "aws:sourcevpce")


def test_org_and_endpoint_in_one_deny_reads_either():
    p = parse({"Version": "2012-10-17", "Statement": [
        {"Sid": "D", "Effect": "Deny", "Principal": "*", "Action": "s3:*", "Resource": RES,
         "Condition": {"StringNotEquals": {"aws:PrincipalOrgID": "o-abc", "aws:SourceVpce": "vpce-1a2b3c4d"}}},
        READ]})
    outsider = Principal("AWS", "arn:aws:iam::999999999999:role/x")
    # an outsider through the endpoint gets in ...
    assert evaluate(p, req(VPCE, outsider, aws_SourceVpce="vpce-1a2b3c4d")).decision is Decision.ALLOWED
    # ... and so does an org member from the internet
    assert evaluate(p, req(INTERNET, outsider, aws_PrincipalOrgID="o-abc",
                           aws_SourceIp="8.8.8.8")).decision is Decision.ALLOWED
    assert evaluate(p, req(INTERNET, outsider, aws_SourceIp="8.8.8.8")).decision is Decision.DENIED


def test_ifexists_and_absent_keys():
    p = parse({"Version": "2012-10-17", "Statement": [dict(READ, Condition={
        "IpAddressIfExists": {"aws:SourceIp": OFFICE}, "StringEqualsIfExists": {"aws:SourceVpc": VPC}})]})
    assert evaluate(p, req(aws_SourceIp="203.0.113.1")).decision is Decision.ALLOWED
    assert evaluate(p, req(aws_SourceIp="8.8.8.8")).decision is Decision.NOT_ALLOWED
    assert evaluate(p, req(VPCE, aws_SourceVpc=VPC)).decision is Decision.ALLOWED
    a = analyze(p, action="s3:GetObject", force=("path",))
    assert {r.decision for r in a.rows} == {Decision.ALLOWED, Decision.NOT_ALLOWED}


def test_private_ranges_never_match_source_ip():
    p = parse({"Version": "2012-10-17", "Statement": [dict(READ, Condition={
        "IpAddress": {"aws:SourceIp": "10.0.0.0/8"}})]})
    a = analyze(p, action="s3:GetObject")
    assert a.decisions() == {Decision.NOT_ALLOWED}


def test_overlapping_and_ipv6_ranges_are_split_exactly():
    p = parse({"Version": "2012-10-17", "Statement": [
        dict(READ, Condition={"IpAddress": {"aws:SourceIp": ["203.0.113.0/24", "2001:db8::/32"]}}),
        {"Sid": "DenyHalf", "Effect": "Deny", "Principal": "*", "Action": "s3:GetObject", "Resource": RES[1],
         "Condition": {"IpAddress": {"aws:SourceIp": "203.0.113.128/25"}}}]})
    a = analyze(p, action="s3:GetObject")
    labels = {r.cells["aws:sourceip"].label: r.decision for r in a.rows if "aws:sourceip" in r.cells}
    # 203.0.113.0/24 minus its upper half, and 2001:db8::/32, behave the same: one class
    assert labels["in 203.0.113.0/24 or in 2001:db8::/32"] is Decision.ALLOWED
    assert labels["in 203.0.113.0/24, 203.0.113.128/25"] is Decision.DENIED
    assert labels["any other public address"] is Decision.NOT_ALLOWED
    assert evaluate(p, req(aws_SourceIp="2001:db8::5")).decision is Decision.ALLOWED
    assert evaluate(p, req(aws_SourceIp="203.0.113.200")).decision is Decision.DENIED


def test_principals_and_accounts():
    p = parse({"Version": "2012-10-17", "Statement": [
        {"Sid": "Partner", "Effect": "Allow", "Principal": {"AWS": "444455556666"}, "Action": "s3:GetObject",
         "Resource": RES[1]},
        {"Sid": "NotAdmin", "Effect": "Deny", "Principal": "*", "Action": "s3:GetObject", "Resource": RES[1],
         "Condition": {"ArnNotLike": {"aws:PrincipalArn": "arn:aws:iam::*:role/reader*"}}}]})
    reader = Principal("AWS", "arn:aws:sts::444455556666:assumed-role/reader-1/session")
    other = Principal("AWS", "arn:aws:iam::444455556666:role/writer")
    assert evaluate(p, req(principal=reader, aws_SourceIp="8.8.8.8")).decision is Decision.ALLOWED
    assert evaluate(p, req(principal=other, aws_SourceIp="8.8.8.8")).decision is Decision.DENIED
    a = analyze(p, action="s3:GetObject")
    allowed = [r for r in a.rows if r.decision is Decision.ALLOWED]
    assert len(allowed) == 1
    assert allowed[0].cells["principal"].value.account == "444455556666"


def test_unknown_operator_is_never_allowed():
    p = parse({"Version": "2012-10-17", "Statement": [
        READ, {"Sid": "D", "Effect": "Deny", "Principal": "*", "Action": "s3:*", "Resource": RES,
               "Condition": {"StringNotEqualz": {"aws:SourceVpce": "vpce-1a2b3c4d"}}}]})
    a = analyze(p, action="s3:GetObject")
    assert a.decisions() == {Decision.UNKNOWN}
    assert evaluate(p, req(aws_SourceIp="8.8.8.8")).decision is Decision.UNKNOWN


def test_not_modelled_keys_are_listed_and_partitioned():
    p = parse({"Version": "2012-10-17", "Statement": [dict(READ, Condition={
        "StringEquals": {"aws:Referer": "https://shop.example/"}})]})
    a = analyze(p, action="s3:GetObject")
    assert a.not_modelled == ["aws:Referer"]
    labels = {r.cells["aws:referer"].label: r.decision for r in a.rows}
    assert labels == {"https://shop.example/": Decision.ALLOWED, "any value": Decision.NOT_ALLOWED,
                      "(absent)": Decision.NOT_ALLOWED} or labels.get("https://shop.example/") is Decision.ALLOWED


def test_rows_for_finds_exactly_one_row():
    p = parse(ONE_DENY)
    a = analyze(p, bucket=BUCKET)
    for r in (req(aws_SourceIp="203.0.113.9"), req(VPCE, aws_SourceVpc="vpc-77777777"),
              req(action="s3:ListBucket", resource=f"arn:aws:s3:::{BUCKET}", aws_SourceIp="1.1.1.1")):
        rows = a.rows_for(r)
        assert len(rows) == 1 and rows[0].decision is evaluate(p, r).decision


def test_json_output_is_serialisable():
    a = analyze(parse(SPLIT_DENY), action="s3:GetObject", force=("path",))
    data = json.loads(json.dumps(a.to_json()))
    assert data["action"] == "s3:GetObject"
    assert {row["decision"] for row in data["rows"]} == {"denied"}
    assert [d["name"] for d in data["dimensions"]][:2] == ["action", "path"]


def test_all_actions_enumeration_groups_by_behaviour():
    a = analyze(parse(SPLIT_DENY), bucket=BUCKET)
    labels = {at.label for at in a.dim("action").atoms}
    assert "s3:GetObject" in labels and "any other S3 action" in labels
    assert a.decisions() == {Decision.DENIED}


def test_not_modelled_keys_are_listed_in_the_order_the_policy_names_them():
    def doc(*keys):
        return {"Statement": [{"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject", "Resource": "*",
                               "Condition": {"StringEquals": {k: "x"}}} for k in keys]}

    assert analyze(parse(doc("aws:Referer", "s3:x-amz-acl"))).not_modelled == ["aws:Referer", "s3:x-amz-acl"]
    assert analyze(parse(doc("s3:x-amz-acl", "aws:Referer"))).not_modelled == ["s3:x-amz-acl", "aws:Referer"]


def test_condition_keys_spelled_like_the_engines_own_names_are_just_keys():
    """No real condition key is called "Principal" or "@resource", but a document may say anything."""
    for key in ("Principal", "action", "@resource", "@path"):
        p = parse({"Statement": [{"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject",
                                  "Resource": "arn:aws:s3:::b/*", "Condition": {"StringEquals": {key: "x"}}}]})
        a = analyze(p, bucket="b")
        assert a.not_modelled == [key]
        for value in ("x", "y", None):
            r = Request("s3:GetObject", "arn:aws:s3:::b/k", keys={} if value is None else {key: value})
            rows = a.rows_for(r)
            assert len(rows) == 1 and rows[0].decision is evaluate(p, r).decision
            assert rows[0].decision is (Decision.ALLOWED if value == "x" else Decision.NOT_ALLOWED)
