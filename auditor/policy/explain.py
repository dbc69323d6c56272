"""Render an :class:`~auditor.policy.analysis.Analysis` as a truth table (rich) or as JSON (pure)."""

from __future__ import annotations

import json
from typing import Any

from rich.console import Console, Group
from rich.text import Text

from .analysis import Analysis
from .model import Decision

MAX_CELL = 44
STYLE = {
    Decision.ALLOWED: ("allowed", "bold green"),
    Decision.DENIED: ("denied", "bold red"),
    Decision.NOT_ALLOWED: ("not allowed by this policy", "yellow"),
    Decision.UNKNOWN: ("unknown", "bold magenta"),
}


def to_json(analysis: Analysis, source: str = "") -> str:
    doc: dict[str, Any] = {"source": source, **analysis.to_json()}
    return json.dumps(doc, indent=2, sort_keys=False) + "\n"


def table(analysis: Analysis, source: str = "") -> Group:
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
    # One Text per line (not one renderable per cell): tables can have hundreds of rows.
    out_i = len(dims)
    lines: list[Any] = [Text(title, style="bold"), Text("  ".join(_fit(h, w) for h, w in zip(heads, widths,
                                                                                          strict=True)),
                                                        style="bold"),
                        Text("  ".join("─" * w for w in widths), style="dim")]
    start = sum(w + 2 for w in widths[:out_i])
    for decision, cells in body:
        line = Text("  ".join(_fit(c, w) for c, w in zip(cells, widths, strict=True)), no_wrap=True)
        line.stylize(STYLE[decision][1], start, start + widths[out_i])
        lines.append(line)
    t = Group(*lines)
    parts: list[Any] = [t]
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
        parts.append(Text(f"• {n}", style="dim"))
    return Group(*parts)


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
