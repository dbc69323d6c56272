"""Glob patterns and the exact witness search."""

from __future__ import annotations

import itertools

from hypothesis import given, settings
from hypothesis import strategies as st

from auditor.policy.glob import _regex, _witnesses, compile_arn, compile_glob, literal, witnesses


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


@settings(max_examples=300, deadline=None)
@given(st.lists(st.text(alphabet="ab*?/x", max_size=5), min_size=1, max_size=4),
       st.sampled_from(["arn:aws:s3:::bkt", "arn:aws:s3:::x-bucket", "q"]), st.booleans())
def test_a_shared_literal_prefix_is_searched_once_with_the_same_answer(suffixes, prefix, with_literal):
    """Patterns that all begin with the same text (one bucket's ARNs) are searched without it: the answer is
    exactly the whole search's — the same signatures, the same shortest witnesses in the same order, the same
    spare character (``x`` inside a bucket name is not "any other character")."""
    pats = [compile_arn(prefix + s) for s in suffixes] + ([literal(prefix)] if with_literal else [])
    whole, whole_complete = _witnesses(tuple(pats), 4000, (), None)
    found, complete = witnesses(pats)
    assert list(found.items()) == list(whole.items()) and complete == whole_complete


def test_one_search_serves_every_bucket_written_from_one_template():
    _witnesses.cache_clear()
    for name in ("orders", "invoices", "logs-2026"):
        found, complete = witnesses([literal(f"arn:aws:s3:::{name}"), compile_arn(f"arn:aws:s3:::{name}/*")])
        assert complete and found[(False, True)] == f"arn:aws:s3:::{name}/"
    assert _witnesses.cache_info().misses == 1 and _witnesses.cache_info().hits == 2
