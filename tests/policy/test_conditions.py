"""Condition operators on present and absent keys, exactly as check-rules.md §7 states them."""

from __future__ import annotations

import pytest

from auditor.policy import ABSENT, parse
from auditor.policy.conditions import clause_truth


def clause(op, key, values):
    st = {"Effect": "Allow", "Principal": "*", "Action": "*", "Resource": "*", "Condition": {op: {key: values}}}
    return parse({"Version": "2012-10-17", "Statement": [st]}).statements[0].clauses[0]


@pytest.mark.parametrize(
    "op,values,value,expected",
    [
        ("StringEquals", ["a", "b"], "b", True),  # several values: OR
        ("StringEquals", ["a", "b"], "c", False),
        ("StringNotEquals", ["a", "b"], "b", False),  # negated: NOR
        ("StringNotEquals", ["a", "b"], "c", True),
        ("StringEquals", ["a"], ABSENT, False),  # absent key: normal operator false
        ("StringNotEquals", ["a"], ABSENT, True),  # ... negated operator true
        ("StringEqualsIfExists", ["a"], ABSENT, True),  # ... IfExists true
        ("StringNotEqualsIfExists", ["a"], "a", False),
        ("StringEqualsIgnoreCase", ["ABC"], "abc", True),
        ("StringEquals", ["ABC"], "abc", False),
        ("StringLike", ["vpce-1*"], "vpce-12", True),
        ("StringLike", ["vpce-1?"], "vpce-123", False),
        ("StringNotLike", ["vpce-1*"], "vpce-2", True),
        ("IpAddress", ["203.0.113.0/24"], "203.0.113.7", True),
        ("IpAddress", ["203.0.113.0/24"], "198.51.100.1", False),
        ("IpAddress", ["2001:db8::/32"], "2001:db8::1", True),
        ("IpAddress", ["2001:db8::/32"], "203.0.113.7", False),
        ("NotIpAddress", ["203.0.113.0/24"], ABSENT, True),
        ("IpAddress", ["123.456.789.0/24"], "1.2.3.4", None),  # invalid value: unknown, never "matches"
        ("IpAddress", ["203.0.113.0/24", "123.456.789.0/24"], "203.0.113.1", True),
        ("NumericLessThan", ["10"], "9", True),
        ("NumericLessThan", ["10"], "10", False),
        ("NumericGreaterThanEquals", ["10"], "10", True),
        ("NumericEquals", ["x"], "1", None),
        ("DateLessThan", ["2030-01-01T00:00:00Z"], "2029-12-31T23:59:59Z", True),
        ("Bool", ["true"], "TRUE", True),
        ("Bool", ["false"], "true", False),
        ("Null", ["true"], ABSENT, True),
        ("Null", ["true"], "x", False),
        ("Null", ["false"], "x", True),
        ("ArnLike", ["arn:aws:iam::*:role/admin"], "arn:aws:iam::111122223333:role/admin", True),
        ("ArnLike", ["arn:aws:iam::*:role/*"], "arn:aws:iam::1:2:role/x", False),  # * stays in its segment
        ("ArnEquals", ["arn:aws:iam::111122223333:role/*"], "arn:aws:iam::111122223333:role/a/b", True),
        ("ArnLike", ["arn:aws:iam::*:role/x"], "not-an-arn", False),
    ],
)
def test_single_valued(op, values, value, expected):
    assert clause_truth(clause(op, "aws:x", values), value) is expected


@pytest.mark.parametrize(
    "op,values,value,expected",
    [
        ("ForAnyValue:StringEquals", ["a"], ("a", "b"), True),
        ("ForAnyValue:StringEquals", ["a"], ("b", "c"), False),
        ("ForAnyValue:StringEquals", ["a"], ABSENT, False),
        ("ForAllValues:StringEquals", ["a", "b"], ("a", "b"), True),
        ("ForAllValues:StringEquals", ["a"], ("a", "b"), False),
        ("ForAllValues:StringEquals", ["a"], ABSENT, True),  # vacuous truth
        ("ForAnyValue:StringNotEquals", ["a"], ("a", "b"), True),
        ("ForAllValues:StringNotEquals", ["a"], ("a", "b"), False),
        ("ForAnyValue:StringLike", ["o-a/r-1/ou-1/*"], ("o-a/r-1/ou-1/x/",), True),
    ],
)
def test_multi_valued(op, values, value, expected):
    assert clause_truth(clause(op, "aws:PrincipalOrgPaths", values), value) is expected


def test_unknown_operator_is_unknown():
    assert clause_truth(clause("StringEqualz", "aws:x", ["a"]), "a") is None


def test_policy_variable_value_is_unknown():
    assert clause_truth(clause("StringEquals", "aws:x", ["${aws:username}"]), "bob") is None
    assert clause_truth(clause("StringLike", "aws:x", ["${*}x"]), "*x") is True  # ${*} is a literal *
    assert clause_truth(clause("StringLike", "aws:x", ["${*}x"]), "ax") is False
