"""The JSON report is written piece by piece, and the pieces are exactly the documented document."""

from __future__ import annotations

import json

from auditor.reports import Format
from auditor.reports import json as json_report

from auditor.baseline import Comparison
from auditor.model import Resource, Severity
from auditor.redact import MASK, register_secret, scrub_known
from tests.factories import queue, report_with


def _whole(report) -> str:
    """The documented text: the document indented by two spaces, each finding on one line of its own."""
    doc = json.loads(json.dumps(json_report.document(report), ensure_ascii=False))
    findings, doc["findings"] = doc["findings"], None
    head = json.dumps(doc, indent=2, ensure_ascii=False)
    before, _, after = head.rpartition('"findings": null')
    if not findings:
        return before + '"findings": []' + after + "\n"
    lines = ",\n".join("    " + json.dumps(f, ensure_ascii=False) for f in findings)
    return before + '"findings": [\n' + lines + "\n  ]" + after + "\n"


def test_each_finding_is_one_line_and_the_text_is_the_document():
    report = _report()
    text = json_report.render(report)
    assert json.loads(text) == json.loads(json.dumps(json_report.document(report), ensure_ascii=False))
    lines = text.splitlines()
    start = lines.index('  "findings": [')
    rows = lines[start + 1:start + 1 + len(report.findings)]
    assert [json.loads(r.strip().rstrip(",")) for r in rows] == json.loads(text)["findings"]
    assert lines[start + 1 + len(report.findings)].startswith("  ]")


def _report():
    report = report_with(("fail", queue("orders"), Severity.HIGH), ("ok", queue("billing → ≥ ×"), None),
                         ("ne", queue("audit"), None), ("fail", queue("dlq"), Severity.LOW))
    report.warnings.append("a warning — with a wide character")
    return report


def test_pieces_join_to_exactly_the_whole_document_and_break_at_line_ends():
    report = _report()
    pieces = list(json_report.render_chunks(report))
    assert len(pieces) == len(report.findings) + 2  # head, one per finding, tail
    assert "".join(pieces) == _whole(report) == json_report.render(report)
    assert all(p.endswith("\n") for p in pieces)


def test_pieces_of_a_report_without_findings_and_with_a_baseline():
    empty = report_with()
    assert "".join(json_report.render_chunks(empty)) == _whole(empty)
    assert json.loads(json_report.render(empty))["findings"] == []
    compared = _report()
    compared.comparison = Comparison("last.json", new=1, unchanged=1, fixed=[compared.findings[0]])
    assert "".join(json_report.render_chunks(compared)) == _whole(compared)


def test_the_cli_scrubs_every_piece_as_it_would_the_whole_text():
    from auditor.cli import _render

    secret = "s3cr3t-value-that-leaked"
    register_secret(secret)
    report = report_with(("fail", Resource("aws", "123456789012", "us-east-1", "sqs-queue", "q",
                                           f"https://user:{secret}@example.com/q"), Severity.HIGH))
    written = "".join(_render(report, Format.json, to_terminal=False))
    assert written == scrub_known(_whole(report))
    assert secret not in written and MASK in written
