"""Property tests: the engine never raises, and its partition agrees with direct evaluation of any request."""

from __future__ import annotations

import json

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from auditor.policy import ANONYMOUS, Decision, Principal, analyze, evaluate, parse
from auditor.policy.evaluate import principal_test, principal_truth
from auditor.policy.explain import render_table, to_json

from .strategies import ARNS, BUCKET, SERVICES, policies, principal_spec, requests

SETTINGS = settings(max_examples=250, deadline=None, suppress_health_check=list(HealthCheck))

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | st.text(max_size=12),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4),
    max_leaves=25,
)

ELEMENT_NAMES = ["Version", "Statement", "Sid", "Effect", "Principal", "NotPrincipal", "Action", "NotAction",
                 "Resource", "NotResource", "Condition", "AWS", "Service", "statement", "effect", "StringEquals",
                 "ForAnyValue:StringLike", "NotIpAddressIfExists", "aws:SourceIp", "aws:SourceVpce", "Null",
                 "Bool", "IpAddress", "ArnLike", "NumericLessThan", "Allow", "Deny", "*"]

policy_like = st.recursive(
    st.none() | st.booleans() | st.integers() | st.sampled_from(ELEMENT_NAMES + ["10.0.0.0/8", "::/0", "vpce-1",
                                                                                 "arn:aws:s3:::b/*", "s3:*"]),
    lambda children: st.lists(children, max_size=4)
    | st.dictionaries(st.sampled_from(ELEMENT_NAMES), children, max_size=5),
    max_leaves=30,
)


def _exercise(document):
    p = parse(document)
    a = analyze(p, max_rows=2000)
    for d in a.to_json()["rows"]:
        assert d["decision"] in {x.value for x in Decision}
    analyze(p, action="s3:GetObject", force=("path",))
    analyze(p, action="s3:GetObject", bucket="b")
    parse(document, kind="identity")


@SETTINGS
@given(json_values)
def test_never_raises_on_any_json_value(value):
    _exercise(value)
    _exercise(json.dumps(value))


@SETTINGS
@given(policy_like)
def test_never_raises_on_policy_shaped_garbage(value):
    _exercise(value)
    _exercise({"Version": "2012-10-17", "Statement": value})


@SETTINGS
@given(st.text(max_size=60))
def test_never_raises_on_any_text(text):
    _exercise(text)


@SETTINGS
@given(policies(), st.lists(requests(), min_size=1, max_size=8))
def test_partition_verdict_equals_direct_evaluation(document, reqs):
    p = parse(document)
    a = analyze(p, bucket=BUCKET, owner="111122223333")
    assert a.complete
    for req in reqs:
        rows = a.rows_for(req)
        assert len(rows) == 1, (req, [(r.cells, r.decision) for r in rows])
        assert rows[0].decision is evaluate(p, req).decision, (req, rows[0])


@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
@given(policies())
def test_explain_renders_every_generated_policy(document):
    a = analyze(parse(document), action="s3:GetObject", force=("path",))
    assert "outcome" in render_table(a, "x.json")
    json.loads(to_json(a, "x.json"))


PRINCIPALS = st.one_of(
    st.just(ANONYMOUS),
    st.sampled_from(ARNS + ["arn:aws:iam::444455556666:root", "not-an-arn", ""]).map(lambda a: Principal("AWS", a)),
    st.sampled_from(SERVICES).map(lambda s: Principal("Service", s)),
    st.sampled_from(["CanonicalUser", "Federated"]).map(lambda k: Principal(k, "x")),
)


@SETTINGS
@given(st.sampled_from(["Principal", "NotPrincipal"]), principal_spec(), st.lists(PRINCIPALS, min_size=1, max_size=6))
def test_principal_test_is_principal_truth(element, spec, principals):
    """The analysis tests principals with sets made once per statement; the reference loops over the entries."""
    doc = {"Statement": {"Effect": "Deny", element: spec, "Action": "s3:*", "Resource": "*"}}
    parsed = parse(doc).statements[0].principal
    assert parsed is not None
    test = principal_test(parsed)
    for p in principals:
        assert test(p) == principal_truth(parsed, p), (spec, p)
