"""Parsing and normalisation: every shape AWS accepts, and every malformed one as a diagnostic, never a crash."""

from __future__ import annotations

import json

import pytest

from auditor.policy import parse
from auditor.policy.model import VALUE_CODES


def codes(policy):
    return {d.code for d in policy.diagnostics}


def doc(*statements, version="2012-10-17"):
    out = {"Statement": list(statements)}
    if version:
        out["Version"] = version
    return out


ALLOW = {"Sid": "A", "Effect": "Allow", "Principal": "*", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::b/*"}


def test_single_statement_object_and_strings_are_normalised():
    p = parse({"Version": "2012-10-17", "Statement": ALLOW})
    assert len(p.statements) == 1
    st = p.statements[0]
    assert st.effect == "Allow" and st.label == "A"
    assert st.actions.raw == ("s3:GetObject",) and st.resources.raw == ("arn:aws:s3:::b/*",)
    assert st.principal is not None and st.principal.is_everyone
    assert not p.diagnostics


def test_json_text_and_wrapped_json_string_are_read():
    text = json.dumps(doc(ALLOW))
    assert len(parse(text).statements) == 1
    assert len(parse(json.dumps(text)).statements) == 1  # get-bucket-policy prints the document as a string


@pytest.mark.parametrize("bad", ["{not json", "", "[1, 2]", "42", "null", '"just a string"', b"\xff\xfe"])
def test_unreadable_documents_are_fatal_with_a_reason(bad):
    p = parse(bad)
    assert p.fatal
    assert not p.statements
    assert codes(p) & {"not-json", "not-object"}


def test_missing_statement_and_wrong_statement_types():
    assert parse({"Version": "2012-10-17"}).fatal
    assert parse({"Statement": "Allow everything"}).fatal
    p = parse(doc(ALLOW, "oops", 3))
    assert len(p.statements) == 3
    assert p.statements[1].broken and p.statements[2].broken


def test_mixed_case_elements_are_read_and_reported():
    p = parse({"version": "2012-10-17", "statement": {"effect": "allow", "principal": "*", "action": "s3:GetObject",
                                                        "resource": "*"}})
    st = p.statements[0]
    assert st.effect == "Allow" and st.actions.raw == ("s3:GetObject",)
    assert {"element-case", "effect-case"} <= codes(p)


def test_operator_names_and_condition_keys_are_case_insensitive():
    st = dict(ALLOW, Condition={"stringequals": {"AWS:SOURCEVPCE": "vpce-1a2b3c4d"}})
    p = parse(doc(st))
    c = p.statements[0].clauses[0]
    assert c.base == "StringEquals" and c.key_lc == "aws:sourcevpce"
    assert "operator-case" in codes(p)


@pytest.mark.parametrize(
    "op,set_op,base,if_exists,negated",
    [
        ("ForAnyValue:StringLike", "ForAnyValue", "StringLike", False, False),
        ("ForAllValues:StringNotEqualsIfExists", "ForAllValues", "StringNotEquals", True, True),
        ("NotIpAddressIfExists", "", "NotIpAddress", True, True),
        ("forallvalues:stringequals", "ForAllValues", "StringEquals", False, False),
        ("Null", "", "Null", False, False),
        ("ArnNotLike", "", "ArnNotLike", False, True),
    ],
)
def test_operator_prefixes_and_suffixes(op, set_op, base, if_exists, negated):
    c = parse(doc(dict(ALLOW, Condition={op: {"aws:x": "v"}}))).statements[0].clauses[0]
    assert (c.set_op, c.base, c.if_exists, c.negated, c.error) == (set_op, base, if_exists, negated, "")


@pytest.mark.parametrize("op", ["StringEqualz", "ForSomeValues:StringEquals", "NullIfExists", "IpAddres"])
def test_unknown_operators_are_errors_naming_statement_and_key(op):
    p = parse(doc(dict(ALLOW, Condition={op: {"aws:SourceVpc": "vpc-1a2b3c4d"}})))
    c = p.statements[0].clauses[0]
    assert c.error
    d = next(d for d in p.diagnostics if d.code == "unknown-operator")
    assert d.statement == "A" and op in d.message


def test_values_lists_numbers_booleans_and_bad_values():
    st = dict(ALLOW, Condition={"Bool": {"aws:SecureTransport": True}, "NumericLessThan": {"s3:max-keys": 10},
                                "StringEquals": {"aws:UserAgent": [{"x": 1}, "ok"]}})
    p = parse(doc(st))
    vals = {c.key_lc: c.values for c in p.statements[0].clauses}
    assert vals["aws:securetransport"] == ("true",)
    assert vals["s3:max-keys"] == ("10",)
    assert vals["aws:useragent"] == (None, "ok")
    assert "bad-condition-value" in codes(p)


def test_missing_principal_notprincipal_allow_and_both_elements():
    p = parse(doc({"Effect": "Allow", "Action": "s3:*", "Resource": "*"}))
    assert "missing-principal" in codes(p) and p.statements[0].broken
    p = parse(doc({"Effect": "Allow", "NotPrincipal": {"AWS": "111122223333"}, "Action": "s3:*", "Resource": "*"}))
    assert "allow-with-notprincipal" in codes(p)
    p = parse(doc(dict(ALLOW, NotAction="s3:PutObject")))
    assert "both-elements" in codes(p) and p.statements[0].broken


def test_identity_policies_need_no_principal():
    p = parse(doc({"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}), kind="identity")
    assert not p.statements[0].broken and not p.diagnostics


def test_principal_forms():
    spec = {"AWS": ["111122223333", "arn:aws:iam::444455556666:root", "arn:aws:iam::444455556666:role/r", "*"],
            "Service": "cloudtrail.amazonaws.com", "CanonicalUser": "abc"}
    p = parse(doc(dict(ALLOW, Principal=spec)))
    entries = p.statements[0].principal.entries
    assert [(e.kind, e.account) for e in entries[:3]] == [("AWS", "111122223333"), ("AWS", "444455556666"),
                                                           ("AWS", "")]
    assert p.statements[0].principal.is_everyone


def test_value_diagnostics_bp3():
    st = dict(ALLOW, Condition={
        "IpAddress": {"aws:SourceIp": ["123.456.789.0/24", "10.0.0.0/8", "198.51.100.14/24", "2001:db8::/32",
                                       "2001:db8::1/32"]},
        "StringEquals": {"aws:SourceVpce": ["vpce-12345", "vpce-1a2b3c4d"], "aws:SourceVpc": "vpc-XYZ"},
        "StringLike": {"aws:SourceVpce": "vpce-*"},
    })
    p = parse(doc(st))
    found = {(d.code, d.value) for d in p.diagnostics if d.code in VALUE_CODES}
    assert found == {
        ("invalid-ip", "123.456.789.0/24"),
        ("private-ip", "10.0.0.0/8"),
        ("host-bits", "198.51.100.14/24"),
        ("host-bits", "2001:db8::1/32"),
        ("invalid-vpce-id", "vpce-12345"),
        ("invalid-vpc-id", "vpc-XYZ"),
    }
    sev = {d.code: d.severity for d in p.value_diagnostics}
    assert sev["host-bits"] == "low" and sev["invalid-ip"] == "high" and sev["private-ip"] == "high"


def test_private_range_in_vpc_source_ip_is_fine():
    p = parse(doc(dict(ALLOW, Condition={"IpAddress": {"aws:VpcSourceIp": "10.0.0.0/8"}})))
    assert not p.value_diagnostics


def test_duplicate_keys_are_reported():
    text = ('{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject",'
            ' "Resource": "*", "Condition": {"StringEquals": {"aws:SourceVpce": "vpce-1a2b3c4d"},'
            ' "StringEquals": {"aws:SourceVpc": "vpc-1a2b3c4d"}}}]}')
    assert "duplicate-key" in codes(parse(text))


def test_policy_variables_are_unknown_not_literal():
    st = dict(ALLOW, Resource="arn:aws:s3:::b/${aws:username}/*")
    p = parse(doc(st))
    assert p.statements[0].resources.patterns == (None,)
    assert "policy-variable" in codes(p)
    # Without Version 2012-10-17 a variable is literal text.
    p = parse(doc(st, version=""))
    assert p.statements[0].resources.patterns[0] is not None
