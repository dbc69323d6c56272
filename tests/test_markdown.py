"""The Markdown report (job summaries, PR comments): what it shows, that user text cannot break it, the 1 MiB cap."""

from __future__ import annotations

import dataclasses
import re

from auditor.reports import markdown

from auditor.check import Recorder
from auditor.model import Resource, Severity
from auditor.report import Report
from tests.factories import make_check, queue

CHECK = make_check()


def _report(n_fail=0, *, extra=(), waived=0, gaps=()):
    rec = Recorder(CHECK.meta)
    for i in range(n_fail):
        rec.fail(queue(f"q{i:05d}"), f"queue q{i:05d} is misconfigured", severity=Severity.HIGH if i % 2 else Severity.LOW)
    for res, msg in extra:
        rec.fail(res, msg, severity=Severity.CRITICAL)
    for res, reason, action in gaps:
        rec.not_evaluated(res, reason, action)
    findings = list(rec.findings)
    for i in range(waived):
        waiver = Recorder(CHECK.meta).fail(queue(f"w{i}"), f"w{i} is waived")
        findings.append(dataclasses.replace(waiver, suppressed="legacy, until Q3"))
    return Report(target={"provider": "aws", "account": "123456789012", "regions": ["us-east-1"]},
                  checks=[CHECK.meta], findings=findings)


def test_counts_findings_explain_commands_not_evaluated_by_permission_and_waivers():
    gaps = [(queue("a"), "access denied to sqs:GetQueueAttributes", "sqs:GetQueueAttributes"),
            (queue("b"), "access denied to sqs:GetQueueAttributes", "sqs:GetQueueAttributes"),
            (Resource("aws", "123456789012", "us-east-1", "region", "us-east-1/lambda-functions"),
             "lambda:ListFunctions was throttled beyond the retry budget", "lambda:ListFunctions")]
    text = markdown.render(_report(3, gaps=gaps, waived=1))
    assert "| 🟥 critical | 🟧 high | 🟨 medium | 🟦 low | ⬜ info | not evaluated | suppressed |" in text
    assert "| 0 | 1 | 0 | 2 | 0 | 3 | 1 |" in text
    assert "### Findings (3)" in text and "`auditor explain VT-1`" in text
    rows = [line for line in text.splitlines() if line.startswith("| sqs:") or line.startswith("| lambda:")]
    assert [r.split(" | ")[0:2] for r in rows] == [["| lambda:ListFunctions", "1"], ["| sqs:GetQueueAttributes", "2"]]
    assert "### Waived (1)" in text and "legacy, until Q3" in text
    assert "Incomplete" in text


def test_cells_cannot_break_the_table_or_inject_html():
    evil = queue("pipe|`tick`<script>alert(1)</script>")
    text = markdown.render(_report(extra=[(evil, "line one\nline two | <img src=x onerror=alert(1)> `code` **bold**")]))
    row = next(line for line in text.splitlines() if "line one" in line)
    assert row.count(" | ") == 4  # five cells, whatever the text holds
    assert "<script>" not in text and "<img" not in text and "&lt;script&gt;" in text
    assert "line one<br>line two" in row and r"\|" in row and r"\`code\`" in row and r"\*\*bold\*\*" in row
    assert "\n" not in row


def test_respects_githubs_step_summary_limit_with_a_note():
    n = 8_000  # ~170 bytes a row: 1.4 MB untruncated, which GitHub would reject
    text = markdown.render(_report(n))
    assert len(text.encode()) <= markdown.MAX_BYTES
    shown = text.count("`auditor explain VT-1`")
    assert 0 < shown < n
    m = re.search(r"\*\*Note:\*\* (\d+) row\(s\) are left out", text)
    assert m and int(m.group(1)) == n - shown
    assert "more not shown here" in text
    assert text.index("🟧 high") < text.index("🟦 low")  # the most severe rows are the ones kept
