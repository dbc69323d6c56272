"""The result of one scan, as every report format sees it."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from . import __version__
from .model import CheckMeta, Finding, Severity, Status

if TYPE_CHECKING:  # pragma: no cover
    from .baseline import Comparison


@dataclass
class AccountScan:
    """What one account of a multi-account scan was: how it was reached, where it was read, whether at all.

    Its findings are the report's findings about its resources (:meth:`Report.by_account`); the counts
    of every output are derived from them, so merging reports only has to choose each account's scan.
    """

    account: str
    name: str = ""  # from the organization (--org-role) or the accounts file
    role_arn: str = ""  # the role assumed into it
    #: False when the account could not be scanned at all (the role could not be assumed, the regions could
    #: not be listed): ``reason`` and ``iam_action`` say why, and every check has a not-evaluated entry for it.
    evaluated: bool = True
    reason: str = ""
    iam_action: str = ""
    regions: list[str] = field(default_factory=list)
    regions_not_enabled: list[str] = field(default_factory=list)  # --all-regions: not opted in, not read
    sarif_category: str = ""  # its own SARIF analysis (automationDetails.id)
    started_at: str = ""
    finished_at: str = ""
    stats: dict[str, Any] = field(default_factory=dict)  # the API calls made for it (assume-role included)
    warnings: list[str] = field(default_factory=list)
    notices: list[str] = field(default_factory=list)


@dataclass
class Report:
    target: dict[str, Any]  # provider, account, regions, profile, datadog_site, files
    checks: list[CheckMeta]
    findings: list[Finding]
    started_at: str = ""
    finished_at: str = ""
    stats: dict[str, Any] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)  # problems that make the scan incomplete
    notices: list[str] = field(default_factory=list)  # configuration remarks (expired waivers…)
    tool_version: str = __version__
    comparison: Comparison | None = None  # with --baseline: new/unchanged/carried-over counts, what was fixed
    #: A scan of several accounts (``--role-arn``, ``--org-role``, ``--accounts-file``) or a merge of such scans:
    #: one entry per account, sorted by id. None for a scan of the profile's own account (and of files).
    accounts: list[AccountScan] | None = None

    def __post_init__(self) -> None:
        self.findings = sorted(self.findings, key=Finding.sort_key)

    @property
    def failures(self) -> list[Finding]:
        return [f for f in self.findings if f.status is Status.FAIL and not f.suppressed]

    @property
    def suppressed(self) -> list[Finding]:
        return [f for f in self.findings if f.status is Status.FAIL and f.suppressed]

    @property
    def passes(self) -> list[Finding]:
        return [f for f in self.findings if f.status is Status.PASS]

    @property
    def not_evaluated(self) -> list[Finding]:
        return [f for f in self.findings if f.status is Status.NOT_EVALUATED]

    @property
    def carried_over(self) -> list[Finding]:
        """Failures of the baseline this run could not re-evaluate (``--baseline``), still open."""
        return [f for f in self.findings if f.status is Status.CARRIED_OVER]

    @property
    def fixed(self) -> list[Finding]:
        """Failures of the baseline that this run evaluated and found gone (``--baseline``)."""
        return list(self.comparison.fixed) if self.comparison is not None else []

    def by_baseline(self, state: str) -> list[Finding]:
        """Tonight's unsuppressed failures marked ``state`` ("new" or "unchanged") by ``--baseline``."""
        return [f for f in self.failures if f.baseline == state]

    @property
    def complete(self) -> bool:
        return not self.not_evaluated and not self.warnings

    def severity_counts(self) -> dict[str, int]:
        counts = Counter(str(f.severity) for f in self.failures)
        return {str(s): counts.get(str(s), 0) for s in sorted(Severity, reverse=True)}

    def by_account(self) -> dict[str, Report]:
        """Each account's part of the report: the findings about its resources (its not-evaluated entries
        included), as a report whose counts are that account's. One pass over the findings."""
        grouped: dict[str, list[Finding]] = {}
        for f in self.findings:
            grouped.setdefault(f.resource.account, []).append(f)
        return {account: Report(self.target, self.checks, found) for account, found in grouped.items()}

    @staticmethod
    def account_complete(scan: AccountScan, part: Report | None) -> bool:
        """Whether ``scan``'s account was read in full: reached, every resource evaluated, no warning (``part``:
        its share of the report, from :meth:`by_account`)."""
        return scan.evaluated and not scan.warnings and not (part is not None and part.not_evaluated)

    def meta_for(self, check_id: str) -> CheckMeta | None:
        for meta in self.checks:
            if meta.id == check_id:
                return meta
        return None
