"""Scanning many accounts in one process: one engine run per account, one shared bound on in-flight calls.

Each account gets its own :class:`~auditor.inventory.aws.AwsAccount` (the role assumed into it) and its own
:class:`~auditor.inventory.Inventory` (its caches), and :func:`auditor.engine.run` runs over it exactly as for a
single account. What the accounts share is the work: every inventory submits its reads to the same
:class:`~auditor.inventory.core.Pools`, so ``--workers`` bounds the calls in flight for the whole run however
many accounts it reads (50 accounts do not open 50 times the connections), and a few accounts are read at a
time (``parallel``) so that each finishes, closes its clients and frees its caches before the next starts.
Datadog, one organisation for every account, is read once and shared.

An account that cannot be reached — the role cannot be assumed, its regions cannot be listed, or anything
unexpected — is that account's outcome alone: it is reported as not evaluated (one entry per check, on the
scope ``account``, with the reason and the IAM action) and the others go on. The accounts' reports are
combined by :func:`auditor.merge.build`, which is also what ``auditor merge`` uses for shard reports.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from . import engine
from .accounts import AccountTarget, assume
from .check import Check, Recorder
from .engine import _now
from .inventory import Inventory
from .inventory.aws import AwsAccount
from .inventory.core import CallStats, ConfigurationError, NotAvailable, Pools
from .inventory.regions import enabled_regions
from .merge import Section, build
from .model import Resource
from .report import AccountScan, Report
from .reports.sarif import account_category

log = logging.getLogger("auditor")


@dataclass
class Plan:
    """What one multi-account scan reads, and how."""

    base: AwsAccount  # the base credentials: they assume the roles, and list the organization
    targets: list[AccountTarget]
    checks: list[Check]
    regions: list[str] | None  # None: every region each account has enabled (--all-regions)
    workers: int = 8
    parallel: int = 0  # accounts read at a time; 0: as many as the pools can keep busy
    deep: bool = False
    session_name: str = "auditor"
    external_id: str | None = None
    sarif_category: str = ""
    datadog: Any = None  # one DatadogInventory for every account
    settings: dict[str, Any] = field(default_factory=dict)  # the target's other keys (profile, datadog, shard…)
    warnings: list[str] = field(default_factory=list)
    notices: list[str] = field(default_factory=list)

    @property
    def accounts_at_once(self) -> int:
        return max(1, min(len(self.targets), self.parallel or default_parallel(self.workers)))


def default_parallel(workers: int) -> int:
    """Accounts read at a time: enough that the shared pools stay busy while each account's reads wait on
    those they build on (measured in benchmarks/bench_org.py), few enough that open clients and caches stay
    bounded."""
    return max(2, workers // 2)


def scan(plan: Plan, *, run_stats: CallStats, on_progress: Callable[[str], None] | None = None) -> Report:
    """Scan every target of ``plan`` and combine their reports into one (``Report.accounts`` set)."""
    if not plan.targets:
        raise ConfigurationError("no account to scan (the shard or the list is empty)")
    pools = Pools(plan.workers)
    done: list[str] = []

    def one(target: AccountTarget) -> Section:
        section = _scan_account(plan, target, pools)
        done.append(target.account)
        if on_progress:
            on_progress(f"scanned {len(done)}/{len(plan.targets)} accounts (last: {target.account})")
        return section

    try:
        with ThreadPoolExecutor(plan.accounts_at_once, thread_name_prefix="auditor-account") as accounts:
            sections = list(accounts.map(one, plan.targets))
    finally:
        pools.shutdown()
    return build(sections, checks=[c.meta for c in plan.checks], settings=plan.settings, warnings=plan.warnings,
                 notices=plan.notices, tool_version=_version(), run_stats=run_stats.snapshot())


def _scan_account(plan: Plan, target: AccountTarget, pools: Pools) -> Section:
    """One account, start to finish; never raises for the account's own problems."""
    scan = AccountScan(target.account, name=target.name, role_arn=target.role_arn, started_at=_now(),
                       sarif_category=account_category(target.account, plan.sarif_category))
    stats = CallStats()
    aws: AwsAccount | None = None
    inventory: Inventory | None = None
    try:
        aws = assume(plan.base, target, session_name=plan.session_name, external_id=plan.external_id,
                     workers=plan.workers, stats=stats)
        if plan.regions is None:
            found = enabled_regions(aws, plan.base.default_region or "us-east-1")
            if not found.enabled:  # nothing read would look like nothing wrong
                raise NotAvailable("the account lists no enabled region", "ec2:DescribeRegions")
            scan.regions, scan.regions_not_enabled = found.enabled, found.not_enabled
            if found.not_enabled:
                scan.notices.append(f"{len(found.not_enabled)} region(s) not enabled for the account were not "
                                    f"scanned: {', '.join(found.not_enabled)}")
        else:
            scan.regions = list(plan.regions)
        inventory = Inventory(aws, scan.regions, workers=plan.workers, deep=plan.deep, pools=pools)
        inventory.datadog = plan.datadog
        sub = engine.run(inventory, plan.checks, target={"provider": "aws", "account": target.account,
                                                         "regions": scan.regions})
        findings = sub.findings
        scan.warnings.extend(sub.warnings)
    except NotAvailable as exc:
        findings = _unreachable(scan, plan.checks, exc.reason, exc.iam_action)
    except ConfigurationError as exc:  # e.g. the assumed credentials were refused by STS afterwards
        findings = _unreachable(scan, plan.checks, str(exc), "sts:AssumeRole")
    except Exception as exc:  # noqa: BLE001 - one account's surprise must not end the others
        log.debug("scanning account %s failed", target.account, exc_info=True)
        findings = _unreachable(scan, plan.checks, f"internal error ({type(exc).__name__}: {exc})", "")
    finally:
        if inventory is not None:
            inventory.datadog = None  # shared by every account: closed once, by the caller
            inventory.close()
        if aws is not None:
            aws.close()
    scan.finished_at = _now()
    scan.stats = stats.snapshot()
    return Section(scan, findings)


def _unreachable(scan: AccountScan, checks: list[Check], reason: str, iam_action: str) -> list:
    """The account could not be read at all: every check is not evaluated for it, on the scope ``account``."""
    scan.evaluated, scan.reason, scan.iam_action = False, reason, iam_action
    where = Resource("aws", scan.account, "", "account", scan.account)
    findings = []
    for chk in checks:
        rec = Recorder(chk.meta)
        rec.not_evaluated(where, reason, iam_action)
        findings.extend(rec.findings)
    return findings


def _version() -> str:
    from . import __version__

    return __version__
