"""Render an :class:`~auditor.policy.analysis.Analysis` as a truth table (rich) or as JSON (pure)."""

from __future__ import annotations

import json
import re
from typing import Any

from rich.console import Console, ConsoleOptions, RenderResult
from rich.segment import Segment
from rich.style import Style

from .analysis import Analysis
from .model import Decision

MAX_CELL = 44
STYLE = {
    Decision.ALLOWED: ("allowed", "bold green"),
    Decision.DENIED: ("denied", "bold red"),
    Decision.NOT_ALLOWED: ("not allowed by this policy", "yellow"),
    Decision.UNKNOWN: ("unknown", "bold magenta"),
}
BOLD, DIM = Style.parse("bold"), Style.parse("dim")
OUTCOME_STYLE = {decision: Style.parse(style) for decision, (_, style) in STYLE.items()}
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def to_json(analysis: Analysis, source: str = "") -> str:
    doc: dict[str, Any] = {"source": source, **analysis.to_json()}
    return json.dumps(doc, indent=2, sort_keys=False) + "\n"


def table(analysis: Analysis, source: str = "") -> Lines:
    """The truth table: one row per class of requests, with the outcome and the statement that decided it."""
    dims = [d for d in analysis.shown_dims() if d.name != "action"]
    title = f"{source}: " if source else ""
    title += f"who can {analysis.action or 'do what'}"
    if analysis.bucket:
        title += f" on {analysis.bucket}"
    has_action = analysis.action is None and analysis.dim("action") is not None
    body = []
    for r in analysis.rows:
        cells = [analysis.cell_text(r, d) for d in dims]
        cells += [STYLE[r.decision][0], ", ".join(r.statements) or "—"]
        if has_action:
            cells.append(r.cells["action"].label if "action" in r.cells else "any")
        body.append((r.decision, cells))
    heads = [d.title for d in dims] + ["outcome", "decided by"] + (["action"] if has_action else [])
    widths = [min(max([len(h)] + [len(c[1][i]) for c in body]), MAX_CELL) for i, h in enumerate(heads)]
    out = Lines()
    out.add(title, BOLD)
    out.add("  ".join(_fit(h, w) for h, w in zip(heads, widths, strict=True)), BOLD)
    out.add("  ".join("─" * w for w in widths), DIM)
    out_i = len(dims)
    start = sum(w + 2 for w in widths[:out_i])
    for decision, cells in body:
        out.add("  ".join(_fit(c, w) for c, w in zip(cells, widths, strict=True)),
                span=(start, start + widths[out_i], OUTCOME_STYLE[decision]))
    notes = []
    if analysis.not_modelled:
        notes.append("not modelled (every value the policy distinguishes is covered, but presence and relations "
                     "to other keys are not): " + ", ".join(analysis.not_modelled))
    notes += analysis.notes
    if any(r.decision is Decision.NOT_ALLOWED for r in analysis.rows):
        notes.append("'not allowed by this policy': no statement matches; an identity policy of the requester's "
                     "own account may still allow it")
    for d in analysis.policy.diagnostics:
        if d.severity != "info":
            notes.append(f"[{d.severity}] {d.message}")
    for n in notes:
        out.add(f"• {n}", DIM)
    return out


class Lines:
    """Laid-out lines, each with a style and at most one span styled otherwise, which rich prints as they are.

    (A rich ``Text`` per line is split, measured and scanned for control codes several times over: for
    a table of a few hundred rows that cost as much as the analysis.) Control characters — a Sid or a
    condition value may hold any — become spaces, so they neither break the layout nor reach the terminal."""

    def __init__(self) -> None:
        self.lines: list[tuple[str, Style | None, tuple[int, int, Style] | None]] = []

    def add(self, text: str, style: Style | None = None, span: tuple[int, int, Style] | None = None) -> None:
        self.lines.append((_CONTROL.sub(" ", text), style, span))

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        for text, style, span in self.lines:
            if span is None:
                yield Segment(text, style)
            else:
                start, end, span_style = span
                yield Segment(text[:start], style)
                yield Segment(text[start:end], span_style)
                yield Segment(text[end:], style)
            yield Segment.line()


def _fit(text: str, width: int) -> str:
    return text.ljust(width) if len(text) <= width else text[: width - 1] + "…"


def render_table(analysis: Analysis, source: str = "", *, width: int | None = None) -> str:
    console = Console(width=width or 160, record=True, force_terminal=False, color_system=None, file=_Null())
    console.print(table(analysis, source), soft_wrap=True)
    return console.export_text()


class _Null:
    def write(self, _: str) -> int:
        return 0

    def flush(self) -> None:
        pass
