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
    return text


def render(report: Report, *, color: bool = False, width: int = 140, **_: Any) -> str:
    buf = io.StringIO()
    console = Console(file=buf, force_terminal=color, color_system="standard" if color else None,
                      width=width, no_color=not color, highlight=False, emoji=False)
    t = report.target
    where = t.get("account") or ", ".join(t.get("files", []) or []) or "-"
    regions = ", ".join(t.get("regions", []) or [])
    title = f"auditor {report.tool_version} — {t.get('provider', 'aws')} {where}"
    if regions:
        title += f" ({regions})"
    console.print(Text(title, style="bold"))

    failures = report.failures
    if not failures:
        if report.complete:
            console.print(Text("No findings.", style="green"))
        else:
            console.print(Text("No findings among the resources that could be evaluated.", style="yellow"))
    for sev in sorted(Severity, reverse=True):
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

    for w in report.warnings:
        console.print(Text(f"warning: {w}", style="yellow"))
    for n in report.notices:
        console.print(Text(f"note: {n}", style="dim"))
    console.print(Text(summary_line(report), style="bold"))
    return buf.getvalue()
