"""The JSON report: a versioned, documented schema (docs/json-report.md).

Version 1.x only ever adds fields; a removal or a change of meaning bumps the major version.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from importlib.resources import files
from typing import Any

from auditor.model import CheckMeta, Finding, fingerprint
from auditor.report import AccountScan, Report

from . import RenderError

SCHEMA_VERSION = "1.2"


def schema() -> dict[str, Any]:
    """The JSON Schema of this report, shipped in the package (``auditor/report.schema.json``)."""
    return json.loads(files("auditor").joinpath("report.schema.json").read_text(encoding="utf-8"))


def finding_dict(f: Finding) -> dict[str, Any]:
    r = f.resource
    out: dict[str, Any] = {
        "check_id": f.check_id,
        "rule": f.rule,
        "status": str(f.status),
        "severity": str(f.severity),
        "confidence": str(f.confidence),
        "resource": {
            "provider": r.provider,
            "account": r.account,
            "region": r.region,
            "type": r.type,
            "id": r.id,
            "arn": r.arn,
        },
        "message": f.message,
        "remediation": f.remediation,
        "evidence": dict(f.evidence),
        "fingerprint": fingerprint(f),
    }
    if f.baseline:
        out["baseline"] = f.baseline
    if f.key:
        out["key"] = f.key
    if f.reason:
        out["reason"] = f.reason
    if f.iam_action:
        out["iam_action"] = f.iam_action
    if f.suppressed:
        out["suppressed"] = f.suppressed
    return out


def check_dict(m: CheckMeta) -> dict[str, Any]:
    return {
        "id": m.id,
        "rule": m.rule,
        "title": m.title,
        "severity": str(m.severity),
        "confidence": str(m.confidence),
        "description": m.description,
        "risk": m.risk,
        "remediation": {"text": m.remediation.text, "cli": m.remediation.cli, "terraform": m.remediation.terraform},
        "docs": list(m.docs),
        "deep": m.deep,
        "security": m.security,
        "severities": [str(s) for s in m.severities],
        "former_rules": list(m.former_rules),
    }


def _comparison(report: Report) -> dict[str, Any] | None:
    cmp = report.comparison
    if cmp is None:
        return None
    return {
        "file": cmp.source,
        "new": cmp.new,
        "unchanged": cmp.unchanged,
        "carried_over": cmp.carried_over,
        "fixed": [finding_dict(f) for f in cmp.fixed],
        "out_of_scope": cmp.out_of_scope,
    }


def summary(report: Report) -> dict[str, Any]:
    return {
        "failed": len(report.failures),
        "by_severity": report.severity_counts(),
        "passed": len(report.passes),
        "not_evaluated": len(report.not_evaluated),
        "suppressed": len(report.suppressed),
        "carried_over": len(report.carried_over),
    }


def account_dict(report: Report, scan: AccountScan, own: Report | None = None) -> dict[str, Any]:
    """One account of a multi-account report: how it was reached, where it was read, its own totals (``own``:
    its part of the report, from ``Report.by_account``)."""
    own = own if own is not None else report.by_account().get(scan.account)
    own = own if own is not None else Report(report.target, report.checks, [])
    out: dict[str, Any] = {
        "account": scan.account,
        "name": scan.name,
        "role_arn": scan.role_arn,
        "status": "scanned" if scan.evaluated else "not-evaluated",
    }
    if not scan.evaluated:
        out["reason"] = scan.reason
        out["iam_action"] = scan.iam_action
    out.update({
        "complete": report.account_complete(scan, own),
        "regions": list(scan.regions),
        "regions_not_enabled": list(scan.regions_not_enabled),
        "sarif_category": scan.sarif_category,
        "started_at": scan.started_at,
        "finished_at": scan.finished_at,
        "summary": summary(own),
    })
    cmp = report.comparison
    if cmp is not None and scan.account in cmp.out_of_scope_by_account:
        out["baseline"] = {
            "new": len(own.by_baseline("new")),
            "unchanged": len(own.by_baseline("unchanged")),
            "carried_over": len(own.carried_over),
            "fixed": sum(1 for f in cmp.fixed if f.resource.account == scan.account),
            "out_of_scope": cmp.out_of_scope_by_account[scan.account],
        }
    out.update({"warnings": list(scan.warnings), "notices": list(scan.notices), "stats": scan.stats})
    return out


def document(report: Report, *, findings: bool = True) -> dict[str, Any]:
    """The report as JSON values; ``findings=False`` leaves the findings' list empty (see :func:`render_chunks`)."""
    several = report.accounts is not None
    doc = {
        "schema_version": SCHEMA_VERSION,
        "tool": {"name": "auditor", "version": report.tool_version},
        "target": report.target,
        "started_at": report.started_at,
        "finished_at": report.finished_at,
        "complete": report.complete,
        "summary": summary(report),
        "checks": [check_dict(m) for m in report.checks],
        "findings": [finding_dict(f) for f in report.findings] if findings else [],
        # Several accounts: in a canonical order, so that a report is its own merge (auditor/merge.py).
        "warnings": sorted(set(report.warnings)) if several else list(report.warnings),
        "notices": sorted(set(report.notices)) if several else list(report.notices),
        "stats": report.stats,
    }
    comparison = _comparison(report)
    if comparison is not None:
        doc["baseline"] = comparison
    if report.accounts is not None:
        parts = report.by_account()
        doc["accounts"] = [account_dict(report, scan, parts.get(scan.account)) for scan in report.accounts]
    return doc


def render(report: Report, **_: Any) -> str:
    return "".join(render_chunks(report))


#: Stands for the findings while the rest of the document is dumped (never a value of a real report).
_FINDINGS = "\x1fauditor-findings\x1f"


def render_chunks(report: Report, **_: Any) -> Iterator[str]:
    """:func:`render`'s text in pieces, one finding each: :func:`document` indented by two spaces, except that
    each finding is written on one line of its own (``grep RULE report.json`` finds a whole finding; ``jq .``
    indents it all).

    One line per finding is also what makes the report cheap to write: Python's JSON encoder runs in C only
    without ``indent``: encoding a 1x benchmark scan's 16,131 results took 1.3 s of CPU indented, 0.4 s on
    one line each (measured on a busy machine).

    Every piece ends with a newline and the next begins on a new line, so a text filter that never matches
    across a line (``auditor.redact.scrub_known``) gives the same result piece by piece as on the whole text.
    Piece by piece, the report holds the size of one finding's text, not the whole document (120 MB at its
    peak for those 16,000 results as one string and its dict).
    """
    doc = document(report, findings=False) | {"findings": _FINDINGS}
    head, sep, tail = json.dumps(doc, indent=2, sort_keys=False, ensure_ascii=False).partition(
        json.dumps(_FINDINGS))
    if not sep:  # pragma: no cover - the marker is always dumped as written
        raise RuntimeError("the findings' place was not found in the JSON report")
    if not report.findings:
        yield head + "[]" + tail + "\n"
        return
    yield head + "[\n"
    last = len(report.findings) - 1
    dumps = json.JSONEncoder(ensure_ascii=False).encode
    for i, f in enumerate(report.findings):
        yield "    " + dumps(finding_dict(f)) + (",\n" if i < last else "\n")
    yield "  ]" + tail + "\n"


@dataclass(frozen=True)
class Query:
    """``--query EXPR``: a JMESPath expression over :func:`document`, printed as JSON (the AWS CLI way).

    Passed to the CLI's writer in place of a :class:`~auditor.reports.Format`; ``value`` is what it says it
    wrote. Build it with :meth:`parse`, which raises :class:`ValueError` for a bad expression.
    """

    expression: str
    value: str = "json"

    @classmethod
    def parse(cls, expression: str) -> Query:
        import jmespath
        from jmespath.exceptions import JMESPathError

        try:
            jmespath.compile(expression)
        except JMESPathError as exc:
            detail = " ".join(str(exc).split())
            raise ValueError(f"--query: not a JMESPath expression: {detail}") from None
        return cls(expression)

    def render(self, report: Report, **_: Any) -> str:
        import jmespath
        from jmespath.exceptions import JMESPathError

        try:
            found = jmespath.search(self.expression, document(report))
        except JMESPathError as exc:  # e.g. a function given the wrong type for this document
            raise RenderError(f"--query: {' '.join(str(exc).split())}") from None
        return json.dumps(found, indent=2, ensure_ascii=False) + "\n"
