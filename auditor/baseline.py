"""``--baseline``: what is new since the previous run, what is unchanged, what was fixed — and what tonight
could not tell.

The previous run's JSON report is the baseline. Findings are matched by :func:`auditor.model.fingerprint`
(check + resource + key, the SARIF fingerprint), so a finding whose message or severity changed is still the
same problem. Tonight's failures are marked ``new`` or ``unchanged``; a baseline failure missing tonight is:

* **carried over** when this run could not re-evaluate it: a not-evaluated entry of the same check
  :func:`covers` it (its resource, the resource it was derived from, or a listing that would have held it).
  It stays in every output with status ``carried-over`` and the reason, so GitHub code scanning, which closes
  every alert absent from the newest analysis, keeps the alert open. It never counts as new, never as fixed.
* **fixed** otherwise: its check ran and nothing covers it, so its resource was evaluated and passed, or is
  gone from a complete listing of its service and region.
* **out of scope** when tonight did not look for it at all (its check was not selected, its region not
  scanned, its file not given): neither fixed nor carried; a notice counts them.

A baseline of another tool, another major schema version, or another account is a usage error, as is a file
that is missing or is not a JSON report. Night one has no baseline: leave ``--baseline`` out and every
finding counts as new (docs/ci.md shows the workflow step that does this).
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .config import read_user_file
from .inventory.core import ConfigurationError
from .model import Confidence, Finding, Resource, Severity, Status, fingerprint
from .report import Report

#: JSON report major version this module reads (``schema_version`` "1.x").
SCHEMA_MAJOR = "1"
NEW, UNCHANGED = "new", "unchanged"


@dataclass
class Baseline:
    """The open findings of a previous run, by fingerprint."""

    source: str
    target: dict[str, Any]
    findings: dict[str, Finding] = field(default_factory=dict)
    tool_version: str = ""


@dataclass
class Comparison:
    """What :func:`apply` found, kept on the report for every output format."""

    source: str
    new: int = 0
    unchanged: int = 0
    carried_over: int = 0
    fixed: list[Finding] = field(default_factory=list)
    out_of_scope: int = 0
    #: In a report of several accounts: each account's share of ``out_of_scope``.
    out_of_scope_by_account: dict[str, int] = field(default_factory=dict)
    #: Baseline findings of accounts this run did not scan at all (another shard's): neither fixed nor carried.
    other_accounts: int = 0


def read_document(path: Path, role: str = "baseline") -> dict[str, Any]:
    """A JSON report file as a dict: an existing, readable auditor report of this schema major. Anything else
    raises :class:`ConfigurationError` (exit 2) with one clear line; ``role`` says what the file was for."""
    what = "baseline " if role == "baseline" else ""
    first = " (on the first run there is no baseline: leave --baseline out)" if role == "baseline" else ""
    text = read_user_file(path, name=f"{what}{path}", missing=f"{what}{path}: no such file{first}",
                          directory=f"{what}{path} is a directory, not a JSON report")
    try:
        doc = json.loads(text)
    except ValueError:
        raise ConfigurationError(f"{what}{path} is not JSON: pass the JSON report of a previous run "
                                 "(--format json or --json-output)") from None
    if not isinstance(doc, dict) or (doc.get("tool") or {}).get("name") != "auditor":
        raise ConfigurationError(f"{what}{path} is not an auditor JSON report (--format json)")
    version = str(doc.get("schema_version", ""))
    if version.split(".")[0] != SCHEMA_MAJOR:
        again = "scan once without --baseline to start anew" if role == "baseline" else "merge reports of one version"
        raise ConfigurationError(f"{what}{path} has JSON schema version {version or '(none)'}; this auditor "
                                 f"reads version {SCHEMA_MAJOR}.x: {again}")
    return doc


def load(path: Path) -> Baseline:
    """Read a previous JSON report. Raises :class:`ConfigurationError` (exit 2) with one clear line."""
    doc = read_document(path)
    findings = doc.get("findings")
    if not isinstance(findings, list):
        raise ConfigurationError(f"baseline {path}: `findings` is not a list")
    out = Baseline(str(path), dict(doc.get("target") or {}), tool_version=str(doc["tool"].get("version", "")))
    for i, item in enumerate(findings):
        try:
            if item.get("status") not in (Status.FAIL.value, Status.CARRIED_OVER.value):
                continue
            f = from_dict(item)
        except (AttributeError, KeyError, TypeError, ValueError) as exc:
            raise ConfigurationError(f"baseline {path}: findings[{i}] is malformed ({type(exc).__name__}: "
                                     f"{exc})") from None
        out.findings[fingerprint(f)] = f
    return out


def from_dict(d: dict[str, Any]) -> Finding:
    """A finding of a JSON report (``reports/json.py finding_dict``) back as a :class:`Finding`."""
    r = d["resource"]
    return Finding(
        check_id=d["check_id"],
        rule=d["rule"],
        severity=Severity.parse(d["severity"]),
        confidence=Confidence.parse(d.get("confidence", "high")),
        status=Status(d["status"]),
        resource=Resource(r["provider"], r.get("account", ""), r.get("region", ""), r["type"], r["id"],
                          r.get("arn", "")),
        message=d["message"],
        remediation=d.get("remediation", ""),
        evidence=dict(d.get("evidence") or {}),
        reason=d.get("reason", ""),
        iam_action=d.get("iam_action", ""),
        key=d.get("key", ""),
    )


def covers(not_evaluated: Finding, finding: Finding) -> bool:
    """Whether the not-evaluated entry ``not_evaluated`` of a run leaves ``finding`` (a failure or pass of the
    same check, from this run or a previous one) unjudged in that run.

    True when it is about the same check and names: ``finding``'s resource itself; the resource ``finding``
    was derived from (``finding.key`` holds its ARN, e.g. the source queue whose redrive policy names a DLQ);
    or a listing that would have held it (``Resource.is_scope``, :data:`auditor.model.SCOPE_TYPES`): one
    in the same region, or an account-wide one, or any listing at all for a global resource such as an IAM
    role (the roles judged are those the regions' functions and tasks run as). A crashed check
    (scope type ``check``) covers all of its findings.
    """
    if not_evaluated.status is not Status.NOT_EVALUATED or not_evaluated.check_id != finding.check_id:
        return False
    n, r = not_evaluated.resource, finding.resource
    if (n.type, n.id, n.account) == (r.type, r.id, r.account):
        return True
    if n.arn and n.arn in (finding.key, r.arn):
        return True
    if not n.is_scope:
        return False
    if n.type == "check":
        return True
    if n.account and r.account and n.account != r.account:
        return False
    return n.is_global or r.is_global or n.region == r.region


def _scanned_account(f: Finding, report: Report) -> bool:
    """Whether ``f``'s account is one this run scanned (always, for files and for a report naming no account)."""
    r, t = f.resource, report.target
    if r.provider == "file" or not r.account:
        return True
    if report.accounts is not None:
        return any(a.account == r.account for a in report.accounts)
    return not t.get("account") or r.account == t["account"]


def _in_scope(f: Finding, report: Report) -> bool:
    """Whether tonight's run looked for ``f`` at all: its check ran, over its region or its file."""
    if report.meta_for(f.check_id) is None:
        return False
    t = report.target
    r = f.resource
    if r.provider == "file":
        return r.id in set(t.get("files") or [])
    regions = t.get("regions")
    if report.accounts is not None:  # each account was read in its own regions (--all-regions)
        scan = next(a for a in report.accounts if a.account == r.account)
        regions = scan.regions if scan.evaluated else None  # an account not reached: every region is covered
    return r.is_global or regions is None or r.region in regions


def check_target(baseline: Baseline, target: dict[str, Any]) -> None:
    """A baseline of another provider or account would mark everything fixed and new: refuse it."""
    before, now = baseline.target.get("provider", "aws"), target.get("provider", "aws")
    if before != now:
        raise ConfigurationError(f"baseline {baseline.source} is a report of {before} resources; this run scans "
                                 f"{now} resources")
    if now == "aws" and baseline.target.get("account") and target.get("account") and \
            baseline.target["account"] != target["account"]:
        raise ConfigurationError(f"baseline {baseline.source} is a report of account {baseline.target['account']}; "
                                 f"this scan is of account {target['account']}")


def apply(report: Report, baseline: Baseline) -> Comparison:
    """Mark tonight's failures new/unchanged, carry over what tonight could not re-evaluate, list what was
    fixed. Changes ``report`` in place (findings, ``report.comparison``, a notice) and returns the comparison."""
    check_target(baseline, report.target)
    cmp = Comparison(baseline.source)
    gaps = report.not_evaluated
    seen: set[str] = set()
    findings: list[Finding] = []
    for f in report.findings:
        if f.status is Status.FAIL:
            fp = fingerprint(f)
            seen.add(fp)
            state = UNCHANGED if fp in baseline.findings else NEW
            if not f.suppressed:  # counted as the reports show them: waived findings apart
                cmp.new += state == NEW
                cmp.unchanged += state == UNCHANGED
            f = dataclasses.replace(f, baseline=state)
        findings.append(f)
    for fp, old in baseline.findings.items():
        if fp in seen:
            continue
        if not _scanned_account(old, report):
            cmp.other_accounts += 1
            continue
        if not _in_scope(old, report):
            cmp.out_of_scope += 1
            if report.accounts is not None:
                account = old.resource.account
                cmp.out_of_scope_by_account[account] = cmp.out_of_scope_by_account.get(account, 0) + 1
            continue
        gap = next((g for g in gaps if covers(g, old)), None)
        if gap is None:
            cmp.fixed.append(dataclasses.replace(old, status=Status.FAIL, reason="", iam_action="", baseline=""))
            continue
        why = gap.reason or gap.message
        findings.append(dataclasses.replace(
            old, status=Status.CARRIED_OVER, baseline=UNCHANGED, suppressed="",
            reason=f"not re-evaluated in this run: {why}", iam_action=gap.iam_action))
        cmp.carried_over += 1
    report.findings = sorted(findings, key=Finding.sort_key)
    cmp.fixed.sort(key=Finding.sort_key)
    report.comparison = cmp
    if report.accounts is not None:
        for scan in report.accounts:
            cmp.out_of_scope_by_account.setdefault(scan.account, 0)
    if cmp.out_of_scope:
        report.notices.append(
            f"{cmp.out_of_scope} finding(s) of the baseline were not looked for in this run (their check was not "
            "selected, their region not scanned or their file not given): neither fixed nor carried over")
    if cmp.other_accounts:
        report.notices.append(
            f"{cmp.other_accounts} finding(s) of the baseline are of accounts this run did not scan (another shard's, "
            "or no longer listed): neither fixed nor carried over")
    return cmp
