"""SARIF 2.1.0 for GitHub code scanning, following docs/sarif.md (the contract for live cloud resources).

Live resources are not files, so each result points at a scheme-less pseudo-path
(``aws/<account>/<region>/<type>/<id>``) with line 1, carries the ARN as a logical location, and a
fingerprint of rule + resource identity so an alert keeps its identity from night to night.
"""

from __future__ import annotations

import gzip
import hashlib
import json
from pathlib import PurePosixPath
from typing import Any
from urllib.parse import quote

from auditor.model import CheckMeta, Finding, Severity
from auditor.report import Report

SCHEMA_URI = "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
MAX_RESULTS = 25_000
SHOWN_RESULTS = 5_000
MAX_GZIP_BYTES = 10 * 1024 * 1024

SECURITY_SEVERITY = {
    Severity.CRITICAL: "9.5",
    Severity.HIGH: "8.0",
    Severity.MEDIUM: "5.5",
    Severity.LOW: "2.0",
}
LEVEL = {
    Severity.CRITICAL: "error",
    Severity.HIGH: "error",
    Severity.MEDIUM: "warning",
    Severity.LOW: "note",
    Severity.INFO: "note",
}


class SarifLimitError(ValueError):
    """The document would be rejected by GitHub code scanning as a whole."""


def _rule_name(meta: CheckMeta) -> str:
    return "".join(part.capitalize() for part in meta.id.split("/", 1)[1].split("-"))


def rule(meta: CheckMeta) -> dict[str, Any]:
    links = "\n".join(f"- {u}" for u in meta.docs)
    rem = meta.remediation
    md = [f"**{meta.title}**", "", meta.risk, "", f"**Remediation:** {rem.text}"]
    if rem.cli:
        md += ["", "```sh", rem.cli, "```"]
    if rem.terraform:
        md += ["", "```hcl", rem.terraform, "```"]
    md += ["", "Documentation:", links]
    props: dict[str, Any] = {
        "tags": ["security", "aws", meta.family, meta.rule],
        "precision": {"high": "very-high", "medium": "high", "low": "medium"}[str(meta.confidence)],
        "problem.severity": {"error": "error", "warning": "warning", "note": "recommendation"}[LEVEL[meta.severity]],
    }
    if meta.severity in SECURITY_SEVERITY:
        props["security-severity"] = SECURITY_SEVERITY[meta.severity]
    return {
        "id": meta.id,
        "name": _rule_name(meta),
        "shortDescription": {"text": f"{meta.rule}: {meta.title}"},
        "fullDescription": {"text": (meta.description + " " + meta.risk)[:1000]},
        "help": {
            "text": f"{meta.risk}\n\nRemediation: {rem.text}\n\nDocumentation: {' '.join(meta.docs)}",
            "markdown": "\n".join(md),
        },
        "helpUri": meta.docs[0],
        "defaultConfiguration": {"level": LEVEL[meta.severity]},
        "properties": props,
    }


def location_uri(f: Finding) -> str:
    r = f.resource
    if r.provider == "file":
        path = PurePosixPath(r.id.replace("\\", "/"))
        parts = [p for p in path.parts if p not in ("/", "")]
        return "/".join(quote(p, safe="") for p in parts) or "policy"
    segments = [r.provider, r.account or "unknown", r.region or "global", r.type, r.id]
    return "/".join(quote(s, safe="") for s in segments)


def fingerprint(f: Finding) -> str:
    r = f.resource
    ident = "\x1f".join([f.check_id, r.provider, r.account, r.region, r.type, r.id, f.key])
    return hashlib.sha256(ident.encode()).hexdigest()[:32] + ":1"


def result(f: Finding, rule_index: dict[str, int]) -> dict[str, Any]:
    r = f.resource
    out: dict[str, Any] = {
        "ruleId": f.check_id,
        "ruleIndex": rule_index[f.check_id],
        "level": LEVEL[f.severity],
        "message": {"text": f.message},
        "locations": [
            {
                "physicalLocation": {
                    "artifactLocation": {"uri": location_uri(f)},
                    "region": {"startLine": 1},
                },
                "logicalLocations": [
                    {"fullyQualifiedName": r.arn or f"{r.provider}:{r.type}:{r.id}", "kind": "resource"}
                ],
            }
        ],
        "partialFingerprints": {"primaryLocationLineHash": fingerprint(f)},
        "properties": {
            "severity": str(f.severity),
            "confidence": str(f.confidence),
            "provider": r.provider,
            "account": r.account,
            "region": r.region,
            "resourceType": r.type,
            "resourceId": r.id,
            "arn": r.arn,
            "evidence": dict(f.evidence),
        },
    }
    if f.suppressed:
        out["suppressions"] = [{"kind": "external", "justification": f.suppressed}]
    return out


def notification(f: Finding) -> dict[str, Any]:
    r = f.resource
    text = f.message + (f" (IAM action needed: {f.iam_action})" if f.iam_action else "")
    return {
        "level": "warning",
        "message": {"text": text},
        "descriptor": {"id": f.check_id},
        "locations": [{"logicalLocations": [{"fullyQualifiedName": r.arn or f"{r.provider}:{r.type}:{r.id}",
                                             "kind": "resource"}]}],
        "properties": {"reason": f.reason, "iamAction": f.iam_action, "account": r.account, "region": r.region},
    }


def automation_id(report: Report) -> str:
    t = report.target
    if t.get("provider", "aws") == "aws" and t.get("account"):
        return f"auditor/aws-{t['account']}/"
    return "auditor/files/"


def document(report: Report) -> dict[str, Any]:
    metas = sorted(report.checks, key=lambda m: m.id)
    rule_index = {m.id: i for i, m in enumerate(metas)}
    shown = [f for f in report.findings if f.status.value == "fail"]
    for f in shown:  # a finding of a check not in the list (plugins) still gets a rule
        if f.check_id not in rule_index:
            raise ValueError(f"finding for unknown check {f.check_id}")
    if len(shown) > MAX_RESULTS:
        raise SarifLimitError(
            f"{len(shown)} results exceed GitHub's limit of {MAX_RESULTS} per run; narrow the scan with "
            "--check/--region or raise --fail-on"
        )
    results = sorted((result(f, rule_index) for f in shown),
                     key=lambda r: (r["ruleId"], r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"],
                                    r["partialFingerprints"]["primaryLocationLineHash"]))
    invocation: dict[str, Any] = {
        "executionSuccessful": report.complete,
        "toolExecutionNotifications": [notification(f) for f in report.not_evaluated]
        + [{"level": "warning", "message": {"text": w}} for w in report.warnings],
    }
    if report.notices:
        invocation["toolConfigurationNotifications"] = [{"level": "note", "message": {"text": n}}
                                                        for n in report.notices]
    if report.started_at:
        invocation["startTimeUtc"] = report.started_at
    if report.finished_at:
        invocation["endTimeUtc"] = report.finished_at
    return {
        "$schema": SCHEMA_URI,
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "auditor",
                        "version": report.tool_version,
                        "semanticVersion": report.tool_version,
                        "informationUri": "https://github.com/auditor-dev/auditor",
                        "rules": [rule(m) for m in metas],
                    }
                },
                "automationDetails": {"id": automation_id(report)},
                "invocations": [invocation],
                "results": results,
                "properties": {
                    "account": report.target.get("account", ""),
                    "regions": report.target.get("regions", []),
                },
            }
        ],
    }


def render(report: Report, **_: Any) -> str:
    text = json.dumps(document(report), indent=2, ensure_ascii=False) + "\n"
    if len(gzip.compress(text.encode())) > MAX_GZIP_BYTES:
        raise SarifLimitError("the SARIF document exceeds GitHub's 10 MB (gzipped) upload limit")
    return text


def too_many_to_show(report: Report) -> bool:
    return len([f for f in report.findings if f.status.value == "fail"]) > SHOWN_RESULTS
