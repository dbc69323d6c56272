"""GitHub-flavoured Markdown for a CI job summary (``$GITHUB_STEP_SUMMARY``) or a pull-request comment.

Counts by severity, the findings (with ``--baseline``: new, unchanged, carried over, fixed), what could not
be evaluated grouped by the IAM action that would allow it, and the waivers. Every cell is escaped, so a
resource name or message can neither break the table nor inject HTML. GitHub accepts at most 1 MiB per step
summary: past ``max_bytes`` rows are left out, most severe and newest first kept, with a note saying how many.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable
from typing import Any

from auditor.model import Finding, Severity
from auditor.report import Report

#: GitHub's limit for one step's summary.
MAX_BYTES = 1024 * 1024
_ICON = {Severity.CRITICAL: "🟥", Severity.HIGH: "🟧", Severity.MEDIUM: "🟨", Severity.LOW: "🟦", Severity.INFO: "⬜"}
_MD_SPECIAL = re.compile(r"([\\`*_\[\]{}#+!|~])")
_EXAMPLES = 5


def cell(text: Any) -> str:
    """One table cell: HTML and Markdown neutralised, line breaks as ``<br>``."""
    s = str(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    s = _MD_SPECIAL.sub(r"\\\1", s)
    s = s.replace("\r\n", "\n").replace("\r", "\n").strip()
    return s.replace("\n", "<br>") or " "


def _size(text: str) -> int:
    return len(text.encode("utf-8"))


def _resource(f: Finding) -> str:
    r = f.resource
    where = "/".join(p for p in (r.account, r.region) if p)
    return cell(f"{r.type} {r.id}") + (f"<br><sub>{cell(where)}</sub>" if where else "")


def _rule(f: Finding) -> str:
    return f"**{cell(f.rule)}**<br><sub>{cell(f.check_id)}</sub>"


def _explain(f: Finding) -> str:
    return f"`auditor explain {f.rule}`"


_FINDING_HEAD = "| Severity | Resource | Rule | Finding | Details |\n|---|---|---|---|---|\n"


def _finding_row(f: Finding, extra: str = "") -> str:
    message = cell(f.message) + (f"<br><sub>{extra}</sub>" if extra else "")
    return f"| {_ICON[f.severity]} {f.severity} | {_resource(f)} | {_rule(f)} | {message} | {_explain(f)} |\n"


class _Budget:
    """Bytes left for table rows; counts what did not fit."""

    def __init__(self, total: int) -> None:
        self.left = total
        self.dropped = 0

    def take(self, text: str) -> bool:
        n = _size(text)
        if self.dropped or n > self.left:
            self.dropped += 1
            return False
        self.left -= n
        return True


def _table(title: str, head: str, rows: Iterable[str], budget: _Budget, total: int) -> str:
    kept = [row for row in rows if budget.take(row)]
    out = f"### {title} ({total})\n\n"
    if kept:
        out += head + "".join(kept)
    if len(kept) < total:
        out += f"\n_{total - len(kept)} more not shown here (see the JSON or SARIF report)._\n"
    return out + "\n"


def _counts(report: Report) -> str:
    counts = report.severity_counts()
    head = "| " + " | ".join(f"{_ICON[Severity(s)]} {s}" for s in counts) + " | not evaluated | suppressed |\n"
    sep = "|" + "---:|" * (len(counts) + 2) + "\n"
    row = "| " + " | ".join(str(n) for n in counts.values()) + \
        f" | {len(report.not_evaluated)} | {len(report.suppressed)} |\n"
    out = head + sep + row
    cmp = report.comparison
    if cmp is not None:
        out += (f"\nCompared with the baseline {cell(cmp.source)}: **{cmp.new} new**, {cmp.unchanged} unchanged, "
                f"{cmp.carried_over} carried over (not re-evaluated), {len(cmp.fixed)} fixed.\n")
    return out + "\n"


def _not_evaluated(report: Report) -> str:
    gaps = report.not_evaluated
    if not gaps:
        return ""
    by_action: dict[str, list[Finding]] = defaultdict(list)
    for f in gaps:
        by_action[f.iam_action or "(no permission named)"].append(f)
    out = f"### Not evaluated ({len(gaps)})\n\nThese were not judged, so they are neither passes nor fixes.\n\n"
    out += "| Permission needed | Entries | Reason | Resources |\n|---|---:|---|---|\n"
    for action in sorted(by_action):
        group = by_action[action]
        reasons = sorted({f.reason or f.message for f in group})
        names = sorted({f"{f.resource.type} {f.resource.id}" for f in group})
        shown = "<br>".join(cell(n) for n in names[:_EXAMPLES]) + (
            f"<br>… and {len(names) - _EXAMPLES} more" if len(names) > _EXAMPLES else "")
        reason = cell(reasons[0]) + (f"<br><sub>and {len(reasons) - 1} other reason(s)</sub>" if len(reasons) > 1 else "")
        out += f"| {cell(action)} | {len(group)} | {reason} | {shown} |\n"
    return out + "\n"


def _accounts(report: Report) -> str:
    """Totals per account of a multi-account report."""
    if report.accounts is None:
        return ""
    from .table import account_rows

    sevs = [str(s) for s in sorted(Severity, reverse=True)]
    out = (f"### Accounts ({len(report.accounts)})\n\n| Account | Name | Status | "
           + " | ".join(f"{_ICON[Severity(s)]} {s}" for s in sevs) + " | not evaluated | passed |\n"
           + "|---|---|---|" + "---:|" * (len(sevs) + 2) + "\n")
    for account, name, status, counts, gaps, passed in account_rows(report):
        out += (f"| {cell(account)} | {cell(name or '-')} | {cell(status)} | "
                + " | ".join(str(counts[s]) for s in sevs) + f" | {gaps} | {passed} |\n")
    return out + "\n"


def _notes(report: Report) -> str:
    lines = [f"- ⚠️ {cell(w)}" for w in report.warnings[:20]] + [f"- {cell(n)}" for n in report.notices[:20]]
    return ("### Notes\n\n" + "\n".join(lines) + "\n\n") if lines else ""


def render(report: Report, *, max_bytes: int = MAX_BYTES, **_: Any) -> str:
    t = report.target
    where = t.get("account") or ", ".join(t.get("files", []) or []) or "-"
    if report.accounts is not None:
        where = f"{len(report.accounts)} account{'s' if len(report.accounts) != 1 else ''}"
    regions = ", ".join(t.get("regions", []) or [])
    title = f"## auditor {cell(report.tool_version)} — {cell(t.get('provider', 'aws'))} {cell(where)}"
    title += f" ({cell(regions)})\n\n" if regions else "\n\n"
    if report.complete:
        status = "✅ Every resource was evaluated.\n\n"
    else:
        status = (f"⚠️ **Incomplete:** {len(report.not_evaluated)} not evaluated"
                  + (f", {len(report.warnings)} warning(s)" if report.warnings else "") + ".\n\n")
    head = title + status + _counts(report) + _accounts(report)
    tail = _not_evaluated(report) + _notes(report)
    note_room = 300
    budget = _Budget(max(0, max_bytes - _size(head) - _size(tail) - note_room - 4096))

    body = ""
    failures = sorted(report.failures, key=Finding.sort_key)
    if report.comparison is not None:
        groups = [("New since the baseline", report.by_baseline("new")),
                  ("Unchanged since the baseline", report.by_baseline("unchanged"))]
        for name, group in groups:
            if group:
                body += _table(name, _FINDING_HEAD, (_finding_row(f) for f in group), budget, len(group))
        carried = report.carried_over
        if carried:
            body += ("_Carried over: open in the baseline, not re-evaluated in this run; still open._\n\n" +
                     _table("Carried over", _FINDING_HEAD, (_finding_row(f, cell(f.reason)) for f in carried),
                            budget, len(carried)))
        fixed = report.fixed
        if fixed:
            body += _table("Fixed since the baseline", _FINDING_HEAD, (_finding_row(f) for f in fixed), budget,
                           len(fixed))
        if not failures and not carried and not fixed:
            body += "No findings.\n\n"
    elif failures:
        body += _table("Findings", _FINDING_HEAD, (_finding_row(f) for f in failures), budget, len(failures))
    else:
        body += ("No findings.\n\n" if report.complete else "No findings among the resources that could be evaluated.\n\n")

    waived = report.suppressed
    if waived:
        body += _table("Waived", "| Resource | Rule | Justification |\n|---|---|---|\n",
                       (f"| {_resource(f)} | {_rule(f)} | {cell(f.suppressed)} |\n" for f in waived), budget,
                       len(waived))
    text = head
    if budget.dropped:
        text += (f"> **Note:** {budget.dropped} row(s) are left out to stay within GitHub's "
                 f"{max_bytes // 1024} KiB step-summary limit; the JSON and SARIF reports have everything.\n\n")
    return text + body + tail
