"""The terminal report: failures grouped by severity, what was not evaluated and why, one summary line."""

from __future__ import annotations

import io
from typing import Any

from rich import box
from rich.console import Console
from rich.table import Table
from rich.text import Text

from auditor.model import Severity
from auditor.report import Report

_STYLE = {
    Severity.CRITICAL: "bold white on red",
    Severity.HIGH: "bold red",
    Severity.MEDIUM: "yellow",
    Severity.LOW: "cyan",
    Severity.INFO: "dim",
}


def _resource(f) -> str:
    r = f.resource
    where = "/".join(p for p in (r.account, r.region) if p)
    return f"{r.type} {r.id}" + (f"\n[{where}]" if where else "")


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


def _baseline_groups(console: Console, report: Report) -> None:
    """With ``--baseline``: new, unchanged, carried over (not re-evaluated) and fixed, each by severity."""
    cmp = report.comparison
    groups = [
        ("NEW SINCE BASELINE", "bold red", report.by_baseline("new"), False),
        ("UNCHANGED", "bold", report.by_baseline("unchanged"), False),
        ("CARRIED OVER — not re-evaluated in this run, still open", "magenta", report.carried_over, True),
        ("FIXED SINCE BASELINE", "green", report.fixed, False),
    ]
    for title, style, group, carried in groups:
        if not group:
            continue
        table = Table(title=Text(f"{title} ({len(group)})", style=style), title_justify="left",
                      box=box.SIMPLE_HEAVY, expand=True)
        table.add_column("Severity", no_wrap=True)
        table.add_column("Resource", ratio=2, overflow="fold")
        table.add_column("Finding", ratio=5, overflow="fold")
        table.add_column("Check", ratio=2, overflow="fold")
        for f in group:
            message = f.message + (f"\n({f.reason})" if carried and f.reason else "")
            table.add_row(Text(str(f.severity), style=_STYLE[f.severity]), Text(_resource(f)), Text(message),
                          Text(f"{f.rule} {f.check_id}"))
        console.print(table)
    if cmp is not None and cmp.out_of_scope:
        console.print(Text(f"{cmp.out_of_scope} baseline finding(s) were outside this run's scope.", style="dim"))


def account_rows(report: Report) -> list[tuple[str, str, str, dict[str, int], int, int]]:
    """Per account of a multi-account report: (account, name, status, failures by severity, not evaluated,
    passed); the table and the Markdown summary show the same."""
    rows = []
    for scan in report.accounts or []:
        own = [f for f in report.account_findings(scan.account)]
        part = Report(report.target, report.checks, own)
        if not scan.evaluated:
            status = f"not evaluated: {scan.reason}" + (f" ({scan.iam_action})" if scan.iam_action else "")
        elif report.account_complete(scan):
            status = "complete"
        else:
            status = "incomplete"
        rows.append((scan.account, scan.name, status, part.severity_counts(), len(part.not_evaluated),
                     len(part.passes)))
    return rows


def _accounts(console: Console, report: Report) -> None:
    """Totals per account of a multi-account report."""
    table = Table(title=Text(f"ACCOUNTS ({len(report.accounts or [])})", style="bold"), title_justify="left",
                  box=box.SIMPLE, expand=True)
    table.add_column("Account", no_wrap=True)
    table.add_column("Name", overflow="fold")
    table.add_column("Status", ratio=3, overflow="fold")
    for sev in sorted(Severity, reverse=True):
        table.add_column(str(sev).capitalize(), justify="right")
    table.add_column("Not evaluated", justify="right")
    table.add_column("Passed", justify="right")
    for account, name, status, counts, gaps, passed in account_rows(report):
        style = "green" if status == "complete" else ("magenta" if status.startswith("not") else "yellow")
        table.add_row(account, name or "-", Text(status, style=style), *(str(n) for n in counts.values()),
                      str(gaps), str(passed))
    console.print(table)


def render(report: Report, *, color: bool = False, width: int = 140, **_: Any) -> str:
    buf = io.StringIO()
    console = Console(file=buf, force_terminal=color, color_system="standard" if color else None,
                      width=width, no_color=not color, highlight=False, emoji=False)
    t = report.target
    where = t.get("account") or ", ".join(t.get("files", []) or []) or "-"
    if report.accounts is not None:
        where = f"{len(report.accounts)} account{'s' if len(report.accounts) != 1 else ''}"
    regions = ", ".join(t.get("regions", []) or [])
    title = f"auditor {report.tool_version} — {t.get('provider', 'aws')} {where}"
    if regions:
        title += f" ({regions})"
    console.print(Text(title, style="bold"))

    failures = report.failures
    if not failures and not report.carried_over:
        if report.complete:
            console.print(Text("No findings.", style="green"))
        else:
            console.print(Text("No findings among the resources that could be evaluated.", style="yellow"))
    if report.comparison is not None:
        _baseline_groups(console, report)
    for sev in sorted(Severity, reverse=True) if report.comparison is None else ():
        group = [f for f in failures if f.severity is sev]
        if not group:
            continue
        table = Table(title=Text(f"{str(sev).upper()} ({len(group)})", style=_STYLE[sev]), title_justify="left",
                      box=box.SIMPLE_HEAVY, show_lines=False, expand=True)
        table.add_column("Resource", ratio=2, overflow="fold")
        table.add_column("Finding", ratio=5, overflow="fold")
        table.add_column("Check", ratio=2, overflow="fold")
        for f in group:
            check = f"{f.rule} {f.check_id}"
            if f.confidence.value != "high":
                check += f"\n(confidence {f.confidence})"
            table.add_row(Text(_resource(f)), Text(f.message), Text(check))
        console.print(table)

    if report.suppressed:
        table = Table(title=Text(f"SUPPRESSED ({len(report.suppressed)})", style="dim"), title_justify="left",
                      box=box.SIMPLE, expand=True)
        table.add_column("Resource", ratio=2, overflow="fold")
        table.add_column("Check", ratio=2, overflow="fold")
        table.add_column("Justification", ratio=4, overflow="fold")
        for f in report.suppressed:
            table.add_row(Text(_resource(f)), Text(f"{f.rule} {f.check_id}"), Text(f.suppressed))
        console.print(table)

    if report.not_evaluated:
        table = Table(title=Text(f"NOT EVALUATED ({len(report.not_evaluated)})", style="magenta"),
                      title_justify="left", box=box.SIMPLE, expand=True)
        table.add_column("Resource", ratio=2, overflow="fold")
        table.add_column("Check", ratio=2, overflow="fold")
        table.add_column("Reason", ratio=4, overflow="fold")
        table.add_column("Permission needed", ratio=2, overflow="fold")
        for f in report.not_evaluated:
            table.add_row(Text(_resource(f)), Text(f"{f.rule} {f.check_id}"), Text(f.reason), Text(f.iam_action or "-"))
        console.print(table)

    if report.accounts is not None:
        _accounts(console, report)
    for w in report.warnings:
        console.print(Text(f"warning: {w}", style="yellow"))
    for n in report.notices:
        console.print(Text(f"note: {n}", style="dim"))
    console.print(Text(summary_line(report), style="bold"))
    return buf.getvalue()
