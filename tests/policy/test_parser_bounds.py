"""Documents past what AWS accepts — nested too deeply, or too large — "cannot be read" (``Policy.fatal``, and
a diagnostic), quickly and without an exception, whatever form they arrive in (issue 9 §3)."""

from __future__ import annotations

import json
import time

import pytest

from auditor.policy import parse
from auditor.policy.parser import MAX_SIZE, MAX_TEXT

ALLOW = {"Sid": "A", "Effect": "Allow", "Principal": "*", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::b/*"}


def nested_text(depth: int) -> str:
    """A policy whose one condition value is ``depth`` arrays inside one another."""
    return ('{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": "*", "Action": "s3:*", '
            '"Resource": "*", "Condition": {"StringEquals": {"aws:SourceVpce": ' + "[" * depth + "]" * depth +
            "}}}]}")


def nested_value(depth: int) -> dict:
    v: object = "vpce-1a2b3c4d"
    for _ in range(depth):
        v = [v]
    return {"Version": "2012-10-17", "Statement": [dict(ALLOW, Condition={"StringEquals": {"aws:SourceVpce": v}})]}


def large(statements: int) -> dict:
    return {"Version": "2012-10-17", "Statement": [
        dict(ALLOW, Sid=f"S{i}", Resource=[f"arn:aws:s3:::b/team-{i}/{j}/*" for j in range(40)])
        for i in range(statements)]}


@pytest.mark.parametrize("document", [
    nested_text(100_000),  # past the JSON decoder's own recursion limit (RecursionError territory)
    nested_text(900),  # the decoder reads it; what reads it after must not recurse
    json.loads(nested_text(900)),
    nested_value(100_000),  # an already-decoded value, far deeper than any JSON text could give
    json.dumps(nested_text(900)),  # get-bucket-policy output: the document inside a JSON string
], ids=["text-100000", "text-900", "value-900", "value-100000", "string-in-string-900"])
def test_a_document_nested_too_deeply_cannot_be_read(document):
    p = parse(document)
    assert "nested more than 16 levels deep" in p.fatal
    assert not p.statements and [d.code for d in p.diagnostics] == ["too-deep"]
    parse(document, kind="identity")


@pytest.mark.parametrize("document", [
    json.dumps(large(60)),  # about 75 KB
    large(60),
    " " * (MAX_TEXT + 1),
    json.dumps(large(60)).encode(),
], ids=["text", "value", "whitespace", "bytes"])
def test_a_document_larger_than_aws_accepts_cannot_be_read_and_costs_no_analysis(document):
    start = time.process_time()
    p = parse(document)
    assert "more than any policy AWS accepts" in p.fatal
    assert [d.code for d in p.diagnostics] == ["too-large"] and not p.statements
    assert time.process_time() - start < 5  # not a timing test: without the bound, analysis takes minutes


def test_a_policy_at_awss_largest_size_pretty_printed_is_read():
    doc = large(26)  # about 32 KB without whitespace, as large as a KMS key policy may be
    text = json.dumps(doc, indent=16)
    assert len(json.dumps(doc, separators=(",", ":"))) < MAX_SIZE < len(text)
    p = parse(text)
    assert not p.fatal and len(p.statements) == 26
