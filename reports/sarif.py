"""SARIF 2.1.0 for GitHub code scanning, following docs/sarif.md (the contract for live cloud resources).

Live resources are not files, so each result points at a scheme-less pseudo-path
(``aws/<account>/<region>/<type>/<id>``) with line 1, carries the ARN as a logical location, and a
fingerprint of rule + resource identity so an alert keeps its identity from night to night.

What GitHub shows is the finding's own severity. GitHub shows every result of a rule that has a
``security-severity`` at that rule's value and reads no per-result one; other results it shows by ``level``.
So each check gets one rule descriptor per severity its failing results actually have: the check's default
severity keeps the bare check id (alerts opened before keep their identity), any other severity gets the id
``<check id>/<severity>`` (``s3-policy/negated-conditions-or/info``), and each result's ``ruleId`` and
``ruleIndex`` name the descriptor of its own severity.

- Security checks (``CheckMeta.security``: bucket policies, plain API keys, TLS off): the descriptor carries
  the tag ``security`` and ``security-severity`` (critical 9.5, high 8.0, medium 5.5, low 2.0), so GitHub
  shows Critical/High/Medium/Low exactly. An *info* descriptor of a security check carries neither (SARIF
  has no score for "nothing wrong"): GitHub shows it by level, as a Note, never as an open security alert.
- Reliability checks (everything else): no ``security`` tag, no score; shown by level: critical/high →
  Error, medium → Warning, low/info → Note. Descriptor default level and result level always agree.

The fingerprint (``primaryLocationLineHash``) is the hash of check id + resource + key and leaves the
severity out on purpose: it names "this pitfall on this resource", whatever its severity tonight. GitHub
matches alerts by rule id *and* fingerprint, so a result whose severity changes from one night to the next
moves to the descriptor of its new severity: GitHub closes the old alert and opens one at the new severity
(the honest outcome: the alert list never shows yesterday's severity), and any other consumer that keys on
the fingerprint alone still sees one continuing problem.
"""

from __future__ import annotations

import gzip
import json
from pathlib import PurePosixPath
from typing import Any
from urllib.parse import quote

from auditor import __url__
from auditor.model import CheckMeta, Finding, Severity, Status, fingerprint
from auditor.report import Report

from . import RenderError

SCHEMA_URI = "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
MAX_RESULTS = 25_000
MAX_RUNS = 20  # runs per file GitHub accepts
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


class SarifLimitError(RenderError):
    """The document would be rejected by GitHub code scanning as a whole."""


def _rule_name(meta: CheckMeta) -> str:
    return "".join(part.capitalize() for part in meta.id.split("/", 1)[1].split("-"))


def descriptor_id(meta: CheckMeta, severity: Severity) -> str:
    """The rule id of a check's results at ``severity``: the bare check id at its default severity."""
    return meta.id if severity is meta.severity else f"{meta.id}/{severity}"


def rule(meta: CheckMeta, severity: Severity | None = None) -> dict[str, Any]:
    """The rule descriptor of ``meta``'s results at ``severity`` (default: the check's own)."""
    sev = severity or meta.severity
    default = sev is meta.severity
    scored = meta.security and sev in SECURITY_SEVERITY
    links = "\n".join(f"- {u}" for u in meta.docs)
    rem = meta.remediation
    md = [f"**{meta.title}**", "", meta.risk, "", f"**Remediation:** {rem.text}"]
    if rem.cli:
        md += ["", "```sh", rem.cli, "```"]
    if rem.terraform:
        md += ["", "```hcl", rem.terraform, "```"]
    md += ["", "Documentation:", links]
    kind = ["security"] if scored else ([] if meta.security else ["reliability"])
    props: dict[str, Any] = {
        "tags": [*kind, "aws", meta.family, meta.rule],
        "precision": {"high": "very-high", "medium": "high", "low": "medium"}[str(meta.confidence)],
        "problem.severity": {"error": "error", "warning": "warning", "note": "recommendation"}[LEVEL[sev]],
        "checkId": meta.id,
        "severity": str(sev),
    }
    if scored:
        props["security-severity"] = SECURITY_SEVERITY[sev]
    return {
        "id": descriptor_id(meta, sev),
        "name": _rule_name(meta) + ("" if default else str(sev).capitalize()),
        "shortDescription": {"text": f"{meta.rule}: {meta.title}" + ("" if default else f" ({sev})")},
        "fullDescription": {"text": (meta.description + " " + meta.risk)[:1000]},
        "help": {
            "text": f"{meta.risk}\n\nRemediation: {rem.text}\n\nDocumentation: {' '.join(meta.docs)}",
            "markdown": "\n".join(md),
        },
        "helpUri": meta.docs[0],
        "defaultConfiguration": {"level": LEVEL[sev]},
        "properties": props,
    }


def descriptors(report: Report) -> list[tuple[CheckMeta, Severity]]:
    """(check, severity) of every rule descriptor: each check at its default severity, plus each other
    severity that a failing result of it has, sorted by descriptor id."""
    metas = {m.id: m for m in report.checks}
    needed = {(m.id, m.severity) for m in metas.values()}
    for f in shown(report):
        if f.check_id not in metas:
            raise ValueError(f"finding for unknown check {f.check_id}")
        needed.add((f.check_id, f.severity))
    pairs = [(metas[cid], sev) for cid, sev in needed]
    return sorted(pairs, key=lambda p: descriptor_id(*p))


def location_uri(f: Finding) -> str:
    r = f.resource
    if r.provider == "file":
        path = PurePosixPath(r.id.replace("\\", "/"))
        parts = [p for p in path.parts if p not in ("/", "")]
        return "/".join(quote(p, safe="") for p in parts) or "policy"
    segments = [r.provider, r.account or "unknown", r.region or "global", r.type, r.id]
    return "/".join(quote(s, safe="") for s in segments)


def shown(report: Report) -> list[Finding]:
    """The findings that become results: failures (waived ones as suppressed) and, with ``--baseline``, the
    failures carried over from it because this run could not re-evaluate them."""
    return [f for f in report.findings if f.status in (Status.FAIL, Status.CARRIED_OVER)]


def result(f: Finding, rule_index: dict[tuple[str, Severity], tuple[str, int]],
           compared: bool = False) -> dict[str, Any]:
    r = f.resource
    rule_id, index = rule_index[(f.check_id, f.severity)]
    out: dict[str, Any] = {
        "ruleId": rule_id,
        "ruleIndex": index,
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
            "checkId": f.check_id,
            "rule": f.rule,
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
    if compared:
        out["baselineState"] = f.baseline or "new"
    if f.status is Status.CARRIED_OVER:
        out["properties"]["carriedOver"] = True
        out["properties"]["notReEvaluated"] = f.reason
        if f.iam_action:
            out["properties"]["iamAction"] = f.iam_action
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
    """The analysis category: ``--sarif-category`` when given, else one per account (or one for files).

    A report of several accounts has one run per account, each with the category its account scan was given
    (:func:`account_category`); this is the category of a report of one of them."""
    t = report.target
    if report.accounts is not None and len(report.accounts) == 1 and report.accounts[0].sarif_category:
        return report.accounts[0].sarif_category
    if t.get("sarif_category"):
        category = str(t["sarif_category"])
        return category if category.endswith("/") else category + "/"
    if t.get("provider", "aws") == "aws" and t.get("account"):
        return f"auditor/aws-{t['account']}/"
    return "auditor/files/"


def account_category(account: str, category: str = "") -> str:
    """The analysis category of one account of a multi-account scan: ``auditor/aws-<account>/``, or under
    ``--sarif-category C`` ``C/aws-<account>/`` — distinct per account, so GitHub keeps each account's alerts
    apart, and the same whichever shard scans the account."""
    base = category.strip().rstrip("/") or "auditor"
    return f"{base}/aws-{account}/"


def closing_warning(report: Report) -> str:
    """For an incomplete scan without ``--baseline``: GitHub will close the alerts it could not re-evaluate."""
    if report.complete or report.comparison is not None:
        return ""
    return (f"this scan is incomplete ({len(report.not_evaluated)} not evaluated): GitHub code scanning closes "
            "every alert missing from the newest analysis, so alerts on the resources not evaluated may be "
            "closed as fixed. Pass the previous run's JSON report with --baseline to carry them over.")


def _baseline_notes(report: Report) -> list[str]:
    note = closing_warning(report)
    if note:
        return [note]
    if report.carried_over:
        return [f"{len(report.carried_over)} finding(s) of the baseline could not be re-evaluated in this run and "
                "are carried over unchanged (baselineState unchanged, properties.carriedOver)"]
    return []


def _run_properties(report: Report) -> dict[str, Any]:
    props: dict[str, Any] = {
        "account": report.target.get("account", ""),
        "regions": report.target.get("regions", []),
    }
    if report.accounts is not None and len(report.accounts) == 1:  # one account of a multi-account scan
        scan = report.accounts[0]
        props.update(account=scan.account, regions=list(scan.regions))
        if scan.name:
            props["accountName"] = scan.name
        if not scan.evaluated:
            props["notEvaluated"] = {"reason": scan.reason, "iamAction": scan.iam_action}
    cmp = report.comparison
    if cmp is not None:
        props["baseline"] = {"new": cmp.new, "unchanged": cmp.unchanged, "carriedOver": cmp.carried_over,
                             "fixed": len(cmp.fixed), "outOfScope": cmp.out_of_scope}
    return props


def document(report: Report) -> dict[str, Any]:
    """One run, or with several accounts one run per account (each its own analysis category)."""
    if report.accounts is None:
        runs = [_run(report)]
    else:
        from auditor.merge import account_reports

        if len(report.accounts) > MAX_RUNS:
            raise SarifLimitError(
                f"{len(report.accounts)} accounts would be {len(report.accounts)} SARIF runs; GitHub accepts at most "
                f"{MAX_RUNS} runs per file: write one file per account with --output-dir and upload each")
        each = account_reports(report)
        runs = [_run(each[scan.account]) for scan in report.accounts]
    return {"$schema": SCHEMA_URI, "version": "2.1.0", "runs": runs}


def _run(report: Report) -> dict[str, Any]:
    rules = descriptors(report)
    rule_index = {(m.id, sev): (descriptor_id(m, sev), i) for i, (m, sev) in enumerate(rules)}
    results_of = shown(report)
    if len(results_of) > MAX_RESULTS:
        raise SarifLimitError(
            f"{len(results_of)} results exceed GitHub's limit of {MAX_RESULTS} per run; narrow the scan with "
            "--check/--region or raise --fail-on"
        )
    compared = report.comparison is not None
    results = sorted((result(f, rule_index, compared) for f in results_of),
                     key=lambda r: (r["ruleId"], r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"],
                                    r["partialFingerprints"]["primaryLocationLineHash"]))
    invocation: dict[str, Any] = {
        "executionSuccessful": report.complete,
        "toolExecutionNotifications": [notification(f) for f in report.not_evaluated]
        + [{"level": "warning", "message": {"text": w}} for w in report.warnings]
        + [{"level": "warning", "message": {"text": t}} for t in _baseline_notes(report)],
    }
    if report.notices:
        invocation["toolConfigurationNotifications"] = [{"level": "note", "message": {"text": n}}
                                                        for n in report.notices]
    if report.started_at:
        invocation["startTimeUtc"] = report.started_at
    if report.finished_at:
        invocation["endTimeUtc"] = report.finished_at
    return {
        "tool": {
            "driver": {
                "name": "auditor",
                "version": report.tool_version,
                "semanticVersion": report.tool_version,
                "informationUri": __url__,
                "rules": [rule(m, sev) for m, sev in rules],
            }
        },
        "automationDetails": {"id": automation_id(report)},
        "invocations": [invocation],
        "results": results,
        "properties": _run_properties(report),
    }


def render(report: Report, **_: Any) -> str:
    """The SARIF document, compact: read by GitHub, not people (`jq .` indents it); smaller against GitHub's
    limit, and encoded in C rather than Python (the demo's document: 14 ms indented, 3 ms compact)."""
    text = json.dumps(document(report), ensure_ascii=False, separators=(",", ":")) + "\n"
    data = text.encode()
    # gzip adds at most 5 bytes per 16 KiB block and a small header to what it cannot compress: a text 1 %
    # below the limit needs no compressing to know that it is below it.
    if len(data) > MAX_GZIP_BYTES * 0.99 and len(gzip.compress(data)) > MAX_GZIP_BYTES:
        raise SarifLimitError("the SARIF document exceeds GitHub's 10 MB (gzipped) upload limit")
    return text


def too_many_to_show(report: Report) -> bool:
    return len(shown(report)) > SHOWN_RESULTS
