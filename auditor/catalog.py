"""The checks for a person: ``auditor checks`` (the list) and ``auditor explain`` (one check), laid out for a
width so that no rule code, check id or command is ever split (see :mod:`auditor.term`)."""

from __future__ import annotations

from itertools import groupby

from .check import Check
from .model import CheckMeta
from .term import MIN_WIDTH, PIPE_WIDTH, Doc

#: The title column of the table layout is never narrower than this; below it, each check is a block.
MIN_TITLE = 30
GAP = "  "


def _title(m: CheckMeta) -> str:
    return m.title + (" (only with --deep)" if m.deep else "")


def _severities(m: CheckMeta) -> str:
    return ", ".join(map(str, m.severities))


def checks_layout(checks: list[Check], *, width: int = PIPE_WIDTH) -> Doc:
    """Every check: a table when the rule, id, severities and kind fit beside a readable title, else grouped by
    family, two lines a check (rule and id; severities, kind and title)."""
    width = max(MIN_WIDTH, width)
    metas = sorted((c.meta for c in checks), key=lambda m: (m.family, m.rule))
    doc = Doc()
    doc.text(f"{len(metas)} checks · auditor explain RULE tells more", width, style="bold")
    if not metas:
        return doc
    cols = [("Rule", [m.rule for m in metas]), ("Id", [m.id for m in metas]),
            ("Severities", [_severities(m) for m in metas]), ("Kind", [m.kind for m in metas])]
    widths = [max(len(head), *map(len, values)) for head, values in cols]
    title_w = width - sum(widths) - len(GAP) * len(widths)
    if title_w >= MIN_TITLE:
        doc.blank()
        doc.line((GAP.join(h.ljust(w) for (h, _), w in zip(cols, widths, strict=True)) + GAP + "Title", "bold"))
        doc.line((GAP.join("─" * w for w in widths) + GAP + "─" * title_w, "dim"))
        for i, m in enumerate(metas):
            lines = _wrap_title(m, title_w)
            cells = [values[i].ljust(w) for (_, values), w in zip(cols, widths, strict=True)]
            doc.line((cells[0], "bold"), GAP, cells[1], GAP, GAP.join(cells[2:]), GAP, lines[0])
            pad = " " * (sum(widths) + len(GAP) * len(widths))
            for more in lines[1:]:
                doc.line(pad + more)
        return doc
    rule_w = max(len(m.rule) for m in metas)
    indent = " " * (2 + rule_w + len(GAP))
    for family, group in groupby(metas, key=lambda m: m.family):
        doc.blank().line((family, "bold"))
        for m in group:
            doc.line("  ", (m.rule.ljust(rule_w), "bold"), GAP, m.id)
            doc.text(f"{_severities(m)} · {m.kind} · {_title(m)}", width, indent=indent)
    return doc


def _wrap_title(m: CheckMeta, width: int) -> list[str]:
    from .term import wrap

    return wrap(_title(m), width) or [""]


def explain_layout(meta: CheckMeta, *, width: int = PIPE_WIDTH) -> Doc:
    """One check: what it checks, why it matters, how to fix it. Commands and Terraform are printed exactly as
    they are, one command a line however long (a terminal soft-wraps it; copying gives it back whole)."""
    width = max(MIN_WIDTH, width)
    m = meta
    doc = Doc()
    heading = f"{m.rule} {m.id}"
    doc.line((heading, "bold"))
    doc.line(("─" * min(width, max(len(heading), len(m.title))), "dim"))
    doc.text(m.title, width, style="bold")
    facts = (f"severity: {m.severity} · confidence: {m.confidence} · {m.kind} rule · severities it can emit: "
             f"{_severities(m)}" + (f" · formerly {', '.join(m.former_rules)}" if m.former_rules else ""))
    doc.text(facts, width)
    for heading, text in (("What it checks", m.description), ("Why it matters", m.risk),
                          ("Remediation", m.remediation.text)):
        doc.blank().line((heading, "bold")).text(text, width)
    if m.remediation.cli:
        doc.blank().line(("AWS CLI", "bold"))
        doc.lines_of(m.remediation.cli.splitlines(), "cyan")
    if m.remediation.terraform:
        doc.blank().line(("Terraform", "bold"))
        doc.lines_of(m.remediation.terraform.splitlines())
    doc.blank().line(("Documentation", "bold"))
    doc.lines_of(f"  {url}" for url in m.docs)
    return doc
