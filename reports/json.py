"""The JSON report: a versioned, documented schema (docs/json-report.md).

Version 1.x only ever adds fields; a removal or a change of meaning bumps the major version.
"""

from __future__ import annotations

import json
from typing import Any

from auditor.model import CheckMeta, Finding
from auditor.report import Report

SCHEMA_VERSION = "1.0"


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
    }
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


def document(report: Report) -> dict[str, Any]:
    return {
        "schema_version": SCHEMA_VERSION,
        "tool": {"name": "auditor", "version": report.tool_version},
        "target": report.target,
        "started_at": report.started_at,
        "finished_at": report.finished_at,
        "complete": report.complete,
        "summary": {
            "failed": len(report.failures),
            "by_severity": report.severity_counts(),
            "passed": len(report.passes),
            "not_evaluated": len(report.not_evaluated),
            "suppressed": len(report.suppressed),
        },
        "checks": [check_dict(m) for m in report.checks],
        "findings": [finding_dict(f) for f in report.findings],
        "warnings": list(report.warnings),
        "notices": list(report.notices),
        "stats": report.stats,
    }


def render(report: Report, **_: Any) -> str:
    return json.dumps(document(report), indent=2, sort_keys=False, ensure_ascii=False) + "\n"
