"""One report of many accounts: the accounts of one run combined, and shard reports merged (``auditor merge``).

A report of several accounts is a set of **account sections** — an :class:`~auditor.report.AccountScan` with
the findings about that account's resources (and, with ``--baseline``, the findings fixed there and the
baseline findings not looked for) — plus what belongs to the run as a whole: its warnings and notices, and the
settings of its target. Everything else is derived from the sections: the target's ``accounts`` and
``regions``, the counts, ``complete``, the earliest start and latest finish, the API calls (summed over the
accounts), one SARIF run per account.

:func:`merge` takes reports apart into sections and builds one report of all of them. When an account is in
more than one input (a shard run twice), the section that finished last wins (then the one that started last,
then the larger digest of its content: a total order), so merging is **associative, commutative and
idempotent**: ``merge(a, merge(b, c)) == merge(merge(a, b), c)`` and ``merge(a, a) == merge(a)``, and a
report of several accounts is its own merge apart from the fields that describe a run rather than the
accounts: ``started_at``, ``finished_at`` and ``stats`` (a scan also counts the calls made for the run as a
whole — listing the organization, reading Datadog — which no account's section holds). Run-wide warnings and
notices are united; a setting of the target is kept when every input has the same value (so ``shard`` goes,
when shards are merged).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .inventory.core import ConfigurationError
from .model import CheckMeta, Confidence, Finding, Remediation, Severity, Status
from .report import AccountScan, Report

#: Target keys derived from the sections, never carried as settings.
_DERIVED = ("provider", "account", "accounts", "regions", "regions_not_enabled")


@dataclass
class Section:
    """One account of a report."""

    scan: AccountScan
    findings: list[Finding] = field(default_factory=list)
    fixed: list[Finding] = field(default_factory=list)  # with --baseline: fixed in this account
    out_of_scope: int = 0  # with --baseline: this account's baseline findings the run did not look for
    baseline: str | None = None  # the baseline file compared with (None: no --baseline)


@dataclass
class Parts:
    """A report taken apart: its sections, and what belongs to the run as a whole."""

    sections: dict[str, Section]
    checks: list[CheckMeta]
    settings: dict[str, Any]  # the target's keys other than the derived ones
    warnings: list[str]
    notices: list[str]
    tool_version: str


def prefixed(account: str, text: str) -> str:
    """How an account's own warning or notice is shown among the report's."""
    return f"account {account}: {text}"


def sum_stats(stats: Iterable[dict[str, Any]]) -> dict[str, Any]:
    """API-call counts (``CallStats.snapshot()`` dicts) added up."""
    calls: Counter[str] = Counter()
    retries: Counter[str] = Counter()
    for s in stats:
        calls.update(s.get("calls") or {})
        retries.update(s.get("retries") or {})
    return {"total_calls": sum(calls.values()), "calls": dict(sorted(calls.items())),
            "retries": dict(sorted((k, n) for k, n in retries.items() if n))}


def build(sections: Iterable[Section], *, checks: list[CheckMeta], settings: dict[str, Any], warnings: Iterable[str],
          notices: Iterable[str], tool_version: str, run_stats: dict[str, Any] | None = None) -> Report:
    """The report of ``sections`` (any order; one per account) and the run-wide rest."""
    from .baseline import NEW, UNCHANGED, Comparison

    secs = sorted(sections, key=lambda s: s.scan.account)
    findings = [f for s in secs for f in s.findings]
    target: dict[str, Any] = {
        "provider": "aws",
        "accounts": [s.scan.account for s in secs],
        "regions": sorted({r for s in secs for r in s.scan.regions}),
        **{k: settings[k] for k in sorted(settings) if k not in _DERIVED},
    }
    all_warnings = set(warnings) | {prefixed(s.scan.account, w) for s in secs for w in s.scan.warnings}
    all_notices = set(notices) | {prefixed(s.scan.account, n) for s in secs for n in s.scan.notices}
    comparison = None
    compared = [s for s in secs if s.baseline is not None]
    if compared:
        failures = [f for f in findings if f.status is Status.FAIL and not f.suppressed]
        comparison = Comparison(
            ", ".join(sorted({src for s in compared for src in s.baseline.split(", ") if src})),  # type: ignore[union-attr]
            new=sum(f.baseline == NEW for f in failures),
            unchanged=sum(f.baseline == UNCHANGED for f in failures),
            carried_over=sum(f.status is Status.CARRIED_OVER for f in findings),
            fixed=sorted((f for s in compared for f in s.fixed), key=Finding.sort_key),
            out_of_scope=sum(s.out_of_scope for s in compared),
            out_of_scope_by_account={s.scan.account: s.out_of_scope for s in compared},
        )
    started = [s.scan.started_at for s in secs if s.scan.started_at]
    finished = [s.scan.finished_at for s in secs if s.scan.finished_at]
    return Report(
        target=target,
        checks=sorted(checks, key=lambda m: m.id),
        findings=findings,
        started_at=min(started, default=""),
        finished_at=max(finished, default=""),
        stats=sum_stats([s.scan.stats for s in secs] + ([run_stats] if run_stats else [])),
        warnings=sorted(all_warnings),
        notices=sorted(all_notices),
        tool_version=tool_version,
        comparison=comparison,
        accounts=[s.scan for s in secs],
    )


def explode(report: Report, source: str = "report") -> Parts:
    """``report``'s sections and run-wide rest; a report of one account's own scan gives one section."""
    t = report.target
    if t.get("provider", "aws") != "aws":
        raise ConfigurationError(f"{source} is a report of {t.get('provider')} (scan-file): merge combines reports "
                                 "of AWS accounts")
    cmp = report.comparison
    if report.accounts is None:
        from .reports.sarif import automation_id

        account = str(t.get("account") or "")
        if not account:
            raise ConfigurationError(f"{source}: the report names no account")
        scans = [AccountScan(account, regions=list(t.get("regions") or []),
                             regions_not_enabled=list(t.get("regions_not_enabled") or []),
                             sarif_category=automation_id(report), started_at=report.started_at,
                             finished_at=report.finished_at, stats=dict(report.stats or {}),
                             warnings=list(report.warnings), notices=list(report.notices))]
        warnings: list[str] = []
        notices: list[str] = []
        by_account_out = {account: cmp.out_of_scope} if cmp is not None else {}
    else:
        scans = list(report.accounts)
        own_w = {prefixed(s.account, w) for s in scans for w in s.warnings}
        own_n = {prefixed(s.account, n) for s in scans for n in s.notices}
        warnings = [w for w in report.warnings if w not in own_w]
        notices = [n for n in report.notices if n not in own_n]
        by_account_out = dict(cmp.out_of_scope_by_account) if cmp is not None else {}
    sections = {s.account: Section(s, baseline=cmp.source if cmp is not None else None,
                                   out_of_scope=by_account_out.get(s.account, 0)) for s in scans}

    def section(account: str) -> Section:
        if account not in sections:  # a finding about an account the report has no scan of: keep it, as its own
            sections[account] = Section(AccountScan(account), baseline=cmp.source if cmp is not None else None)
        return sections[account]

    for f in report.findings:
        section(f.resource.account).findings.append(f)
    for f in cmp.fixed if cmp is not None else ():
        section(f.resource.account).fixed.append(f)
    settings = {k: v for k, v in t.items() if k not in _DERIVED}
    return Parts(sections, list(report.checks), settings, warnings, notices, report.tool_version)


def merge(reports: list[Report], sources: list[str] | None = None) -> Report:
    """One report of every account of ``reports`` (see the module's docstring for the rules)."""
    if not reports:
        raise ConfigurationError("merge needs at least one report")
    names = [(sources or [])[i] if sources and i < len(sources) else f"report {i + 1}" for i in range(len(reports))]
    parts = [explode(r, names[i]) for i, r in enumerate(reports)]
    ran = [{meta.id for meta in p.checks} for p in parts]
    every = set().union(*ran)
    for name, ids in zip(names, ran, strict=True):
        if ids != every:  # its accounts would read as passing checks that never ran for them
            raise ConfigurationError(f"{name} did not run {', '.join(sorted(every - ids))}, which another report "
                                     "ran: merge reports of the same checks")
    chosen: dict[str, Section] = {}
    for p in parts:
        for account, sec in p.sections.items():
            if account not in chosen or _rank(sec) > _rank(chosen[account]):
                chosen[account] = sec
    checks: dict[str, CheckMeta] = {}
    for p in parts:
        for meta in p.checks:
            if meta.id not in checks or _canonical(_check(meta)) > _canonical(_check(checks[meta.id])):
                checks[meta.id] = meta
    settings = {k: v for k, v in parts[0].settings.items()
                if all(k in p.settings and p.settings[k] == v for p in parts[1:])}
    return build(chosen.values(), checks=list(checks.values()), settings=settings,
                 warnings={w for p in parts for w in p.warnings}, notices={n for p in parts for n in p.notices},
                 tool_version=max((p.tool_version for p in parts), key=_version_key))


def account_report(report: Report, account: str) -> Report:
    """The report of one account of a multi-account ``report`` (its file in ``--output-dir``, its SARIF run)."""
    return account_reports(report)[account]


def account_reports(report: Report) -> dict[str, Report]:
    """Every account's own report (taking ``report`` apart once), by account id."""
    parts = explode(report)
    return {account: build([sec], checks=parts.checks, settings=parts.settings, warnings=parts.warnings,
                           notices=parts.notices, tool_version=parts.tool_version)
            for account, sec in sorted(parts.sections.items())}


def _check(meta: CheckMeta) -> dict[str, Any]:
    from .reports.json import check_dict

    return check_dict(meta)


def _canonical(doc: Any) -> str:
    return json.dumps(doc, sort_keys=True, ensure_ascii=False)


def _rank(sec: Section) -> tuple[str, str, str]:
    from .reports.json import finding_dict

    content = {"scan": dataclasses.asdict(sec.scan), "findings": [finding_dict(f) for f in sec.findings],
               "fixed": [finding_dict(f) for f in sec.fixed], "out_of_scope": sec.out_of_scope,
               "baseline": sec.baseline}
    digest = hashlib.sha256(_canonical(content).encode()).hexdigest()
    return (sec.scan.finished_at, sec.scan.started_at, digest)


def _version_key(version: str) -> tuple:
    return tuple((0, int(p)) if p.isdigit() else (1, p) for p in re.split(r"[.+-]", version))


# -- reading JSON reports back ---------------------------------------------------------------------------------
def finding_from_dict(d: dict[str, Any]) -> Finding:
    """A finding of a JSON report, with its waiver and baseline state (``baseline.from_dict`` leaves those)."""
    from .baseline import from_dict

    return dataclasses.replace(from_dict(d), suppressed=str(d.get("suppressed", "")),
                               baseline=str(d.get("baseline", "")))


def check_from_dict(d: dict[str, Any]) -> CheckMeta:
    """A check's metadata as ``reports/json.py check_dict`` wrote it."""
    rem = d.get("remediation") or {}
    return CheckMeta(
        id=d["id"], rule=d["rule"], title=d["title"], severity=Severity.parse(d["severity"]),
        description=d["description"], risk=d["risk"],
        remediation=Remediation(rem.get("text", ""), rem.get("cli", ""), rem.get("terraform", "")),
        docs=tuple(d["docs"]), confidence=Confidence.parse(d.get("confidence", "high")), deep=bool(d.get("deep")),
        security=bool(d.get("security")), severities=tuple(Severity.parse(s) for s in d.get("severities") or ()),
        former_rules=tuple(d.get("former_rules") or ()),
    )


def _scan_from_dict(d: dict[str, Any]) -> AccountScan:
    return AccountScan(
        account=str(d["account"]), name=str(d.get("name", "")), role_arn=str(d.get("role_arn", "")),
        evaluated=d.get("status", "scanned") != "not-evaluated", reason=str(d.get("reason", "")),
        iam_action=str(d.get("iam_action", "")), regions=list(d.get("regions") or []),
        regions_not_enabled=list(d.get("regions_not_enabled") or []), sarif_category=str(d.get("sarif_category", "")),
        started_at=str(d.get("started_at", "")), finished_at=str(d.get("finished_at", "")),
        stats=dict(d.get("stats") or {}), warnings=list(d.get("warnings") or []),
        notices=list(d.get("notices") or []),
    )


def from_document(doc: dict[str, Any]) -> Report:
    """A JSON report (``reports/json.py document``) back as a :class:`Report`."""
    from .baseline import Comparison

    accounts = [_scan_from_dict(a) for a in doc["accounts"]] if doc.get("accounts") is not None else None
    comparison = None
    b = doc.get("baseline")
    if b is not None:
        comparison = Comparison(
            str(b.get("file", "")), new=int(b.get("new", 0)), unchanged=int(b.get("unchanged", 0)),
            carried_over=int(b.get("carried_over", 0)), fixed=[finding_from_dict(f) for f in b.get("fixed") or []],
            out_of_scope=int(b.get("out_of_scope", 0)),
            out_of_scope_by_account={str(a["account"]): int((a.get("baseline") or {}).get("out_of_scope", 0))
                                     for a in doc.get("accounts") or [] if a.get("baseline") is not None})
    return Report(
        target=dict(doc.get("target") or {}),
        checks=[check_from_dict(c) for c in doc.get("checks") or []],
        findings=[finding_from_dict(f) for f in doc.get("findings") or []],
        started_at=str(doc.get("started_at", "")),
        finished_at=str(doc.get("finished_at", "")),
        stats=dict(doc.get("stats") or {}),
        warnings=list(doc.get("warnings") or []),
        notices=list(doc.get("notices") or []),
        tool_version=str((doc.get("tool") or {}).get("version", "")),
        comparison=comparison,
        accounts=accounts,
    )


def load(path: Path) -> Report:
    """A JSON report file as a :class:`Report`; anything else is a usage error naming the file."""
    from .baseline import read_document

    doc = read_document(Path(path), "merge")
    try:
        return from_document(doc)
    except (AttributeError, KeyError, TypeError, ValueError) as exc:
        raise ConfigurationError(f"{path}: not a well-formed auditor JSON report ({type(exc).__name__}: {exc})") \
            from None
