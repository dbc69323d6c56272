"""The terminal report: failures grouped by severity, what was not evaluated summarised by cause, one summary line.

Laid out for the width it is given (see :mod:`auditor.term`): a table when every check id and resource fits on
one line beside a readable message column, else one block per finding. Either way no check id, rule code or
resource id is ever split or cut, and colour changes no character of the layout.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from auditor.model import Finding, Severity
from auditor.report import Report
from auditor.term import MIN_WIDTH, PIPE_WIDTH, Doc, wrap

_STYLE = {
    Severity.CRITICAL: "bold white on red",
    Severity.HIGH: "bold red",
    Severity.MEDIUM: "bold yellow",
    Severity.LOW: "bold cyan",
    Severity.INFO: "bold",
}
#: The message column of the table layout is never narrower than this; below it, findings become blocks.
MIN_MESSAGE = 48
GAP = "  "
INDENT = "  "


def summary_line(report: Report) -> str:
    counts = report.severity_counts()
    failed = len(report.failures)
    parts = [f"{n} {sev}" for sev, n in counts.items() if n]
    text = f"{failed} finding{'s' if failed != 1 else ''}"
    if parts:
        text += " (" + ", ".join(parts) + ")"
    text += f" · {len(report.passes)} passed · {len(report.not_evaluated)} not evaluated"
    if report.suppressed:
        text += f" · {len(report.suppressed)} suppressed"
    cmp = report.comparison
    if cmp is not None:
        text += f" · baseline: {cmp.new} new, {cmp.unchanged} unchanged, {len(cmp.fixed)} fixed"
        if cmp.carried_over:
            text += f", {cmp.carried_over} carried over"
    return text


def render(report: Report, *, color: bool = False, width: int = PIPE_WIDTH, show_not_evaluated: bool = False,
           **_: Any) -> str:
    return layout(report, width=width, show_not_evaluated=show_not_evaluated).render(color=color)


def layout(report: Report, *, width: int = PIPE_WIDTH, show_not_evaluated: bool = False) -> Doc:
    width = max(MIN_WIDTH, width)
    doc = Doc()
    t = report.target
    where = t.get("account") or ", ".join(t.get("files", []) or []) or "-"
    if report.accounts is not None:
        where = f"{len(report.accounts)} account{'s' if len(report.accounts) != 1 else ''}"
    regions = ", ".join(t.get("regions", []) or [])
    title = f"auditor {report.tool_version} — {t.get('provider', 'aws')} {where}" + (f" ({regions})" if regions else "")
    doc.text(title, width, style="bold")

    failures = report.failures
    if not failures and not report.carried_over:
        if report.complete:
            doc.line(("No findings.", "green"))
        else:
            doc.line(("No findings among the resources that could be evaluated.", "yellow"))
    if report.comparison is not None:
        doc.extend(_baseline_groups(report, width))
    columns = _table_columns(failures, width)
    for sev in sorted(Severity, reverse=True) if report.comparison is None else ():
        group = [f for f in failures if f.severity is sev]
        if group:
            doc.blank().line((f"{str(sev).upper()} ({len(group)})", _STYLE[sev]))
            doc.extend(_table(group, columns) if columns else _blocks(group, width))

    if report.suppressed:
        doc.blank().line((f"SUPPRESSED ({len(report.suppressed)})", "dim"))
        doc.extend(_blocks(report.suppressed, width, text=lambda f: f"waived: {f.suppressed}"))

    if report.not_evaluated:
        doc.blank().extend(not_evaluated_summary(report.not_evaluated, width, detail=show_not_evaluated))

    if report.accounts is not None:
        doc.blank().extend(_accounts(report, width))

    if report.warnings or report.notices:
        doc.blank()
    for w in report.warnings:
        doc.text(w, width, style="yellow", indent=INDENT, first="warning: ")
    for n in report.notices:
        doc.text(n, width, style="dim", indent=INDENT, first="note: ")
    doc.blank().lines_of(join_parts(summary_line(report).split(" · "), width), "bold")
    return doc


def account_rows(report: Report) -> list[tuple[str, str, str, dict[str, int], int, int]]:
    """Per account of a multi-account report: (account, name, status, failures by severity, not evaluated,
    passed); the terminal and the Markdown summary show the same."""
    rows = []
    parts = report.by_account()
    for scan in report.accounts or []:
        part = parts.get(scan.account) or Report(report.target, report.checks, [])
        if not scan.evaluated:
            status = f"not evaluated: {scan.reason}" + (f" ({scan.iam_action})" if scan.iam_action else "")
        elif report.account_complete(scan, part):
            status = "complete"
        else:
            status = "incomplete"
        rows.append((scan.account, scan.name, status, part.severity_counts(), len(part.not_evaluated),
                     len(part.passes)))
    return rows


def _accounts(report: Report, width: int) -> Doc:
    """Totals per account of a multi-account report, one account per line (folded when long)."""
    doc = Doc()
    doc.line((f"ACCOUNTS ({len(report.accounts or [])})", "bold"))
    for account, name, status, counts, gaps, passed in account_rows(report):
        failed = sum(counts.values())
        found = ", ".join(f"{n} {sev}" for sev, n in counts.items() if n)
        parts = [f"{account} {name}".strip() + f" — {status}",
                 f"{failed} finding{'s' if failed != 1 else ''}" + (f" ({found})" if found else ""),
                 f"{passed} passed", f"{gaps} not evaluated"]
        style = "green" if status == "complete" else ("magenta" if status.startswith("not") else "yellow")
        doc.text(" · ".join(parts), width, style=style, indent=INDENT * 2, first=INDENT)
    return doc


def join_parts(parts: list[str], width: int, sep: str = " · ") -> list[str]:
    """``parts`` joined by ``sep`` on as few lines as fit ``width``, breaking only between parts."""
    lines: list[str] = []
    for part in parts:
        if lines and len(lines[-1]) + len(sep) + len(part) <= width:
            lines[-1] += sep + part
        else:
            lines.append(part)
    return lines


def _baseline_groups(report: Report, width: int) -> Doc:
    """With ``--baseline``: new, unchanged, carried over (not re-evaluated) and fixed, each by severity."""
    cmp = report.comparison
    groups = [
        ("NEW SINCE BASELINE", "bold red", report.by_baseline("new"), False),
        ("UNCHANGED", "bold", report.by_baseline("unchanged"), False),
        ("CARRIED OVER — not re-evaluated in this run, still open", "magenta", report.carried_over, True),
        ("FIXED SINCE BASELINE", "green", report.fixed, False),
    ]
    every = [f for _, _, group, _ in groups for f in group]
    columns = _table_columns(every, width, severity=True)
    doc = Doc()
    for title, style, group, carried in groups:
        if not group:
            continue
        doc.blank().line((f"{title} ({len(group)})", style))
        text = (lambda f: f.message + (f" ({f.reason})" if f.reason else "")) if carried else None
        doc.extend(_table(group, columns, text=text, severity=True) if columns
                   else _blocks(group, width, text=text, severity=True))
    if cmp is not None and cmp.out_of_scope:
        doc.blank().text(f"{cmp.out_of_scope} baseline finding(s) were outside this run's scope.", width, style="dim")
    return doc


# -- failures ---------------------------------------------------------------------------------------------------------
def _check_label(f: Finding, severity: bool = False) -> str:
    return (f"{f.severity} " if severity else "") + f"{f.rule} {f.check_id}"


def _where(f: Finding) -> str:
    return "/".join(p for p in (f.resource.account, f.resource.region) if p)


def _table_columns(findings: list[Finding], width: int, *, severity: bool = False) -> tuple[int, int, int] | None:
    """Widths of Check, Resource and Finding when every check and resource fits on one line beside a message
    column of at least MIN_MESSAGE; else None (one block per finding)."""
    if not findings:
        return None
    check_w = max(len("Check"), *(len(_check_label(f, severity)) for f in findings))
    res_w = max(len("Resource"), *(max(len(f.resource.display), len(_where(f))) for f in findings))
    msg_w = width - check_w - res_w - 2 * len(GAP)
    return (check_w, res_w, msg_w) if msg_w >= MIN_MESSAGE else None


def _table(findings: list[Finding], columns: tuple[int, int, int], *, text=None, severity: bool = False) -> Doc:
    """Check | Resource | Finding: the first two never wrap, the message takes the rest of the line. ``severity``
    puts each finding's severity before its check (groups that mix severities)."""
    check_w, res_w, msg_w = columns
    doc = Doc()
    doc.line(("Check".ljust(check_w) + GAP + "Resource".ljust(res_w) + GAP + "Finding", "bold"))
    doc.line(("─" * check_w + GAP + "─" * res_w + GAP + "─" * msg_w, "dim"))
    for n, f in enumerate(findings):
        if n:
            doc.line()
        left = [_check_label(f, severity)] + ([f"(confidence {f.confidence})"] if f.confidence.value != "high" else [])
        mid = [f.resource.display] + ([_where(f)] if _where(f) else [])
        right = wrap(text(f) if text else f.message, msg_w)
        for i in range(max(len(left), len(mid), len(right))):
            a = left[i] if i < len(left) else ""
            b = mid[i] if i < len(mid) else ""
            c = right[i] if i < len(right) else ""
            doc.line((a.ljust(check_w), "bold" if i == 0 else "dim"), GAP, b.ljust(res_w), GAP, c)
    return doc


def _blocks(findings: list[Finding], width: int, *, text=None, severity: bool = False) -> Doc:
    """One block per finding: the check on its own line (after its severity with ``severity``), then the
    resource, then the message, indented."""
    doc = Doc()
    for f in findings:
        confidence = f"(confidence {f.confidence})" if f.confidence.value != "high" else ""
        head = _check_label(f, severity)
        sev = [(str(f.severity), _STYLE[f.severity]), " "] if severity else []
        if confidence and len(head) + 2 + len(confidence) <= width:
            doc.blank().line(*sev, (f.rule, "bold"), " ", (f.check_id, "bold"), (f"  {confidence}", "dim"))
        else:
            doc.blank().line(*sev, (f.rule, "bold"), " ", (f.check_id, "bold"))
            if confidence:
                doc.line((INDENT + confidence, "dim"))
        where = _where(f)
        resource = f"{INDENT}{f.resource.display}"
        if where and len(resource) + len(where) + 3 <= width:
            doc.line(resource, (f"  [{where}]", "dim"))
        else:
            doc.line(resource)
            if where:
                doc.line((f"{INDENT}[{where}]", "dim"))
        doc.text(text(f) if text else f.message, width, indent=INDENT)
    return doc


# -- not evaluated ----------------------------------------------------------------------------------------------------
@dataclass
class Cause:
    """One reason many results were not evaluated: a permission to grant, or one failure seen many times."""

    text: str
    actions: list[str] = field(default_factory=list)  # AWS IAM actions to grant (the access-denied cause)
    findings: list[Finding] = field(default_factory=list)

    def scope(self) -> str:
        """``182 results on 23 resources: 20 sqs-queue, 3 s3-bucket``."""
        n = len(self.findings)
        resources = {f.resource for f in self.findings}
        types = Counter(r.type for r in resources)
        kinds = ", ".join(f"{c} {t}" for t, c in sorted(types.items(), key=lambda kv: (-kv[1], kv[0])))
        return (f"{n} result{'s' if n != 1 else ''} on {len(resources)} resource{'s' if len(resources) != 1 else ''}"
                f": {kinds}")


def _is_aws_denial(f: Finding) -> bool:
    return ":" in f.iam_action and "access denied" in f.reason.lower()


def causes(findings: list[Finding]) -> list[Cause]:
    """Not-evaluated results grouped by what would fix them, the largest group first; every AWS access
    denial is one cause (grant these actions), every other distinct reason is a cause of its own."""
    denied = [f for f in findings if _is_aws_denial(f)]
    out: list[Cause] = []
    if denied:
        actions = sorted({f.iam_action for f in denied})
        n = len(actions)
        out.append(Cause(f"access denied: grant {'this action' if n == 1 else f'these {n} actions'}: "
                         + ", ".join(actions), actions, denied))
    by_reason: dict[tuple[str, str], Cause] = {}
    for f in findings:
        if _is_aws_denial(f):
            continue
        text = (f.reason or f.message) + _needs(f)
        by_reason.setdefault((text, f.iam_action), Cause(text)).findings.append(f)
    out += sorted(by_reason.values(), key=lambda c: (-len(c.findings), c.text))
    return out


def grant_statement(actions: list[str]) -> str:
    """The IAM policy statement that grants ``actions``: add it to the scanning identity's policy."""
    stmt = {"Sid": "AuditorReadOnlyMissing", "Effect": "Allow", "Action": sorted(actions), "Resource": "*"}
    return json.dumps(stmt, indent=2)


def not_evaluated_detail(found: list[Cause], width: int) -> Doc:
    """Each not-evaluated result, one line each (folded between its parts when long), under its cause."""
    doc = Doc()
    total = sum(len(c.findings) for c in found)
    doc.line((f"NOT EVALUATED ({total}), each result", "bold magenta"))
    for cause in found:
        groups = [(f"needs {a}", [f for f in cause.findings if f.iam_action == a]) for a in cause.actions] \
            or [(cause.text, cause.findings)]
        for heading, group in groups:
            doc.blank().text(f"{heading} ({len(group)})", width, style="bold", indent=INDENT)
            for f in group:
                parts = [f"{f.rule} {f.check_id}", f.resource.display] + ([f"[{_where(f)}]"] if _where(f) else [])
                lines = join_parts(parts, width - len(INDENT) * 3, sep="  ")
                doc.lines_of([INDENT * 2 + lines[0]] + [INDENT * 3 + ln for ln in lines[1:]])
    return doc


def not_evaluated_summary(findings: list[Finding], width: int, *, detail: bool = False) -> Doc:
    """What was not evaluated, by cause: the AWS actions to grant (with the statement that grants them), then
    every other reason once with how many results it stands for. ``detail`` lists each result first."""
    found = causes(findings)
    doc = Doc()
    if detail:
        doc.extend(not_evaluated_detail(found, width)).blank()
    n = len(findings)
    doc.line((f"NOT EVALUATED ({n})", "bold magenta"), f" — {len(found)} cause{'s' if len(found) != 1 else ''}")
    for cause in found:
        doc.text(cause.text, width, indent=INDENT * 2, first=f"{INDENT}• ")
        doc.text(f"({cause.scope()})", width, style="dim", indent=INDENT * 2)
        if cause.actions:
            doc.line(f"{INDENT * 2}add this statement to the scanning identity's IAM policy:")
            doc.lines_of((INDENT * 2 + ln for ln in grant_statement(cause.actions).splitlines()), "cyan")
    if not detail:
        doc.text("Each result: --show-not-evaluated (or --format json).", width, style="dim", indent=INDENT,
                 first=INDENT)
    return doc


def _needs(f: Finding) -> str:
    """`` (needs ACTION)`` for a refusal that does not name the permission it lacked."""
    refused = any(w in f.reason.lower() for w in ("denied", "forbidden", "unauthorized"))
    return f" (needs {f.iam_action})" if refused and f.iam_action and f.iam_action not in f.reason else ""
