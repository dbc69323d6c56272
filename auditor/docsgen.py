"""``python -m auditor.docsgen``: write docs/checks.md from the checks' own metadata (a test keeps it current)."""

from __future__ import annotations

import sys

from . import engine


def render() -> str:
    checks = sorted(engine.load_checks(plugins=False), key=lambda c: (c.meta.family, _rule_key(c.meta.rule)))
    out = ["# Checks", "",
           "Generated from each check's metadata by `python -m auditor.docsgen > docs/checks.md`; "
           "`auditor explain ID` prints the same text.", "",
           "| rule | id | severity | title |", "|---|---|---|---|"]
    for c in checks:
        m = c.meta
        anchor = m.id.replace("/", "")
        out.append(f"| {m.rule} | [`{m.id}`](#{anchor}) | {m.severity} | {m.title}{' (deep)' if m.deep else ''} |")
    for c in checks:
        m = c.meta
        out += ["", f"## {m.id}", "", f"**{m.rule} · {m.severity} · confidence {m.confidence}** — {m.title}", "",
                m.description, "", f"**Why it matters.** {m.risk}", "", f"**Remediation.** {m.remediation.text}"]
        if m.remediation.cli:
            out += ["", "```sh", m.remediation.cli, "```"]
        if m.remediation.terraform:
            out += ["", "```hcl", m.remediation.terraform, "```"]
        out += ["", "Documentation: " + ", ".join(f"<{u}>" for u in m.docs)]
    return "\n".join(out) + "\n"


def _rule_key(rule: str) -> tuple[str, int]:
    prefix, _, num = rule.partition("-")
    return prefix, int(num) if num.isdigit() else 0


if __name__ == "__main__":
    sys.stdout.write(render())
