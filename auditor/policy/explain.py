"""Render an :class:`~auditor.policy.analysis.Analysis` as a truth table (laid out for a width) or as JSON."""

from __future__ import annotations

import json
from typing import Any

from ..term import MIN_WIDTH, PIPE_WIDTH, Doc
from .analysis import Analysis
from .model import Decision

STYLE = {
    Decision.ALLOWED: ("allowed", "bold green"),
    Decision.DENIED: ("denied", "bold red"),
    Decision.NOT_ALLOWED: ("not allowed by this policy", "yellow"),
    Decision.UNKNOWN: ("unknown", "bold magenta"),
}


def to_json(analysis: Analysis, source: str = "") -> str:
    doc: dict[str, Any] = {"source": source, **analysis.to_json()}
    return json.dumps(doc, indent=2, sort_keys=False) + "\n"


def layout(analysis: Analysis, source: str = "", *, width: int = PIPE_WIDTH) -> Doc:
    """The truth table: one row per class of requests, with the outcome and the statement that decided it.

    A table when every cell fits whole on one line of ``width``; else one block per row (its outcome and
    deciding statements, then each dimension that applies to it), so no value is ever cut."""
    width = max(MIN_WIDTH, width)
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
    widths = [max([len(h)] + [len(c[1][i]) for c in body]) for i, h in enumerate(heads)]
    doc = Doc()
    doc.text(title, width, style="bold")
    if sum(widths) + 2 * (len(widths) - 1) <= width:
        doc.line(("  ".join(h.ljust(w) for h, w in zip(heads, widths, strict=True)), "bold"))
        doc.line(("  ".join("─" * w for w in widths), "dim"))
        out_i = len(dims)
        for decision, cells in body:
            parts: list[str | tuple[str, str]] = []
            for i, (c, w) in enumerate(zip(cells, widths, strict=True)):
                text = c.ljust(w) + ("  " if i < len(cells) - 1 else "")
                parts.append((text, STYLE[decision][1]) if i == out_i else text)
            doc.line(*parts)
    else:
        doc.text("each class of requests: its outcome, the statement that decided it, and what sets the class "
                 "apart (a dimension not listed does not apply to it)", width, style="dim")
        label_w = max(len(h) for h in heads)
        for decision, cells in body:
            outcome, decided = cells[len(dims)], cells[len(dims) + 1]
            doc.blank().line("• ", (outcome, STYLE[decision][1]),
                             *([f" · decided by {decided}"] if decided != "—" else []))
            rest = list(zip(heads[: len(dims)], cells[: len(dims)], strict=True))
            if has_action:
                rest.append((heads[-1], cells[-1]))
            for head, cell in rest:
                if cell != "—":
                    doc.text(cell, width, indent=" " * (4 + label_w + 2), first=f"    {head.ljust(label_w)}  ")
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
    if notes:
        doc.blank()
    for n in notes:
        doc.text(n, width, style="dim", indent="  ", first="• ")
    return doc


def render_table(analysis: Analysis, source: str = "", *, width: int | None = None) -> str:
    """The truth table as plain text (no colour), laid out for ``width`` columns (default: 160)."""
    return layout(analysis, source, width=width or 160).plain()
