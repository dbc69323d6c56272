"""Glob patterns and the exact witness search."""

from __future__ import annotations

import itertools

from hypothesis import given, settings
from hypothesis import strategies as st

from auditor.policy.glob import _regex, compile_arn, compile_glob, literal, witnesses


def test_glob_matching():
    assert compile_glob("s3:Get*", ci=True).matches("S3:GETOBJECT")
    assert not compile_glob("s3:Get*").matches("S3:GETOBJECT")
    assert compile_glob("a?c").matches("abc") and not compile_glob("a?c").matches("ac")
    assert compile_glob("a*", wildcards=False).matches("a*") and not compile_glob("a*", wildcards=False).matches("ab")
    assert compile_arn("arn:aws:iam::*:role/*").matches("arn:aws:iam::1:role/a:b")
    assert not compile_arn("arn:aws:iam::*:role/x").matches("arn:aws:iam::1:2:role/x")


def test_witnesses_cover_every_combination():
    pats = [compile_glob("ve1*"), compile_glob("*2"), literal("ve12"), compile_glob("ve?")]
    found, complete = witnesses(pats)
    assert complete
    for sig, w in found.items():
        assert tuple(p.matches(w) for p in pats) == sig
    # brute force over short strings over the relevant alphabet finds no other combination
    seen = set()
    for n in range(0, 8):
        for t in itertools.product("ve12x", repeat=n):
            s = "".join(t)
            seen.add(tuple(p.matches(s) for p in pats))
    assert seen <= set(found)


def test_witnesses_case_insensitive():
    pats = [literal("AbC", ci=True), literal("abc")]
    found, _ = witnesses(pats)
    assert (True, False) in found and (True, True) in found


GLOB_CHARS = "ab*?:/ßK\u212aſ\n"


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=GLOB_CHARS, max_size=6), st.booleans(), st.text(alphabet=GLOB_CHARS + "AB", max_size=8))
def test_pattern_matching_agrees_with_its_regex(glob, ci, text):
    """Literals and ``literal*`` are compared as strings, without the regex: the answers must not change."""
    for pattern in (compile_glob(glob, ci=ci), compile_glob(glob, ci=ci, wildcards=False), compile_arn(glob)):
        assert pattern.matches(text) == (_regex(pattern.tokens, pattern.ci).fullmatch(text) is not None)


def test_witnesses_are_kept_but_every_caller_gets_its_own_answer():
    pats = [compile_glob("ve1*"), compile_glob("*2")]
    first, _ = witnesses(pats)
    first.clear()
    again, complete = witnesses(pats)
    assert again and complete and again == witnesses(list(pats))[0]
