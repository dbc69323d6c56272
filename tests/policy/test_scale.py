"""Policies past the size where the analysis used to stop (issue 9 §3): 24+ statements, each naming a condition
key of its own. The analysis must cover every request, or say that it does not; never a partial table that
reads as complete."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from auditor.policy import ANONYMOUS, Decision, Principal, Request, analyze, evaluate, parse

from .strategies import BUCKET, large_policies, requests

B = f"arn:aws:s3:::{BUCKET}"
RES = [B, f"{B}/*"]
OWNER = "123456789012"


def blocked_by_tag(n: int) -> dict:
    """Deny everything to a principal carrying any of n tags; the owner account may do anything. Analysed as
    far as the old row limit, this read as a lock-out of every action (BP-2)."""
    sts = [{"Sid": f"Blocked{i}", "Effect": "Deny", "Principal": "*", "Action": "s3:*", "Resource": RES,
            "Condition": {"StringEquals": {f"aws:PrincipalTag/blocked-{i}": "true"}}} for i in range(n)]
    sts.append({"Sid": "Owner", "Effect": "Allow", "Principal": {"AWS": OWNER}, "Action": "s3:*", "Resource": RES})
    return {"Version": "2012-10-17", "Statement": sts}


def team_prefixes_and_tagged_rw(n: int) -> dict:
    """n team prefixes, each denied to principals without their team's tag, and read/write on the whole bucket
    for any principal tagged access=rw. Analysed as far as the old row limit, BP-4 passed it."""
    sts = [{"Sid": f"Team{i}", "Effect": "Deny", "Principal": "*", "Action": "s3:*", "Resource": f"{B}/team{i}/*",
            "Condition": {"StringNotEquals": {f"aws:PrincipalTag/team{i}": "member"}}} for i in range(n)]
    sts.append({"Sid": "TaggedRW", "Effect": "Allow", "Principal": "*", "Action": ["s3:GetObject", "s3:PutObject"],
                "Resource": f"{B}/*", "Condition": {"StringEquals": {"aws:PrincipalTag/access": "rw"}}})
    return {"Version": "2012-10-17", "Statement": sts}


def tagged_prefixes(n: int) -> dict:
    """n Allow statements, each for its own prefix and tag."""
    return {"Version": "2012-10-17", "Statement": [
        {"Sid": f"Tag{i}", "Effect": "Allow", "Principal": "*", "Action": ["s3:GetObject", "s3:PutObject"],
         "Resource": f"{B}/t{i}/*", "Condition": {"StringEquals": {f"aws:PrincipalTag/t{i}": "yes"}}}
        for i in range(n)]}


def role(account: str = "999999999999") -> Principal:
    return Principal("AWS", f"arn:aws:iam::{account}:role/app")


def agree(policy, a, reqs) -> None:
    for r in reqs:
        rows = a.rows_for(r)
        assert len(rows) == 1, (r, [(x.cells, x.decision) for x in rows])
        assert rows[0].decision is evaluate(policy, r).decision, (r, rows[0])


@pytest.mark.parametrize("n", [24, 40])
def test_deny_by_tag_is_analysed_exactly_and_is_no_lockout(n):
    p = parse(blocked_by_tag(n))
    a = analyze(p, bucket=BUCKET, owner=OWNER)
    assert a.complete, a.notes
    get = [Request("s3:GetObject", f"{B}/k", role(acct), keys=keys)
           for acct in (OWNER, "999999999999")
           for keys in ({}, {"aws:PrincipalTag/blocked-0": "true"}, {f"aws:PrincipalTag/blocked-{n - 1}": "true"},
                        {"aws:PrincipalTag/blocked-3": "false"})]
    agree(p, a, [*get, Request("s3:GetObject", f"{B}/k", ANONYMOUS)])
    assert evaluate(p, get[0]).decision is Decision.ALLOWED
    assert any(r.decision is Decision.ALLOWED for r in a.rows)


def test_team_prefixes_with_tagged_read_write_are_analysed_exactly():
    p = parse(team_prefixes_and_tagged_rw(24))
    a = analyze(p, bucket=BUCKET, owner=OWNER)
    assert a.complete, a.notes
    reqs = [Request(action, f"{B}/{where}/k", who, keys=keys)
            for action in ("s3:GetObject", "s3:PutObject", "s3:DeleteObject")
            for where in ("team0", "team23", "other")
            for who in (role(), ANONYMOUS)
            for keys in ({}, {"aws:PrincipalTag/access": "rw"},
                         {"aws:PrincipalTag/access": "rw", "aws:PrincipalTag/team0": "member"})
            if who.kind == "AWS" or not keys]
    agree(p, a, reqs)
    outsider = Request("s3:PutObject", f"{B}/other/k", role(), keys={"aws:PrincipalTag/access": "rw"})
    assert evaluate(p, outsider).decision is Decision.ALLOWED
    assert any(r.decision is Decision.ALLOWED and "TaggedRW" in r.statements for r in a.rows)


@pytest.mark.parametrize("n", [24, 48])
def test_an_allow_per_prefix_and_tag_is_analysed_exactly(n):
    p = parse(tagged_prefixes(n))
    a = analyze(p, bucket=BUCKET, owner=OWNER)
    assert a.complete, a.notes
    agree(p, a, [Request("s3:GetObject", f"{B}/t{i}/k", role(), keys={f"aws:PrincipalTag/t{j}": "yes"})
                 for i in (0, 5, n - 1) for j in (0, 5, n - 1)])


def test_a_search_cut_short_says_so():
    a = analyze(parse(team_prefixes_and_tagged_rw(24)), bucket=BUCKET, owner=OWNER, max_rows=50)
    assert not a.complete
    assert any("cut" in n for n in a.notes)


@settings(max_examples=8, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.data())
def test_large_policies_are_exact_or_say_they_are_not(data):
    """(1) The analysis covers every request, or is marked incomplete with a note saying what was cut;
    (2) where it is complete, every concrete request falls in exactly one row, whose verdict is evaluate()'s."""
    doc = data.draw(large_policies(24, 28))
    p = parse(doc)
    a = analyze(p, bucket=BUCKET, owner="111122223333")
    if not a.complete:
        assert a.notes
        return
    named = p.keys()  # the condition keys the policy names (not a dict)
    own = tuple(k for k in named if k.split("/")[-1].startswith("k"))
    agree(p, a, data.draw(st.lists(requests(own), min_size=10, max_size=20)))
