"""``python -m auditor.docsgen``: write docs/checks.md from the checks' own metadata (a test keeps it current)."""

from __future__ import annotations

import sys

from . import engine


def render() -> str:
    checks = sorted(engine.load_checks(plugins=False), key=lambda c: (c.meta.family, _rule_key(c.meta.rule)))
    out = ["# Checks", "",
           "Generated from each check's metadata by `python -m auditor.docsgen > docs/checks.md`; "
           "`auditor explain ID` prints the same text.", "",
           "*Kind*: a **security** rule is shown by GitHub code scanning at its security severity (Critical, "
           "High, Medium, Low; info as a Note), a **reliability** rule by level (critical/high as Error, medium "
           "as Warning, low/info as Note). *Severities*: every severity the check's findings can have; each is "
           "shown as itself (see README, \"What GitHub shows\").", "",
           "| rule | id | severity | severities | kind | title |", "|---|---|---|---|---|---|"]
    for c in checks:
        m = c.meta
        anchor = m.id.replace("/", "")
        out.append(f"| {m.rule} | [`{m.id}`](#{anchor}) | {m.severity} | {', '.join(map(str, m.severities))} | "
                   f"{m.kind} | {m.title}{' (deep)' if m.deep else ''} |")
    for c in checks:
        m = c.meta
        formerly = f" (formerly {', '.join(m.former_rules)})" if m.former_rules else ""
        out += ["", f"## {m.id}", "",
                f"**{m.rule}{formerly} · {m.severity} · {m.kind} · confidence {m.confidence}** — {m.title}", "",
                f"Severities it can emit: {', '.join(map(str, m.severities))}.", "",
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
