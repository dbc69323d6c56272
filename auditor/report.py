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

    def meta_for(self, check_id: str) -> CheckMeta | None:
        for meta in self.checks:
            if meta.id == check_id:
                return meta
        return None
