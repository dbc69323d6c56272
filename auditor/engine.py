"""Loads checks and runs them over one inventory. Knows nothing of the CLI or of output formats."""

from __future__ import annotations

import functools
import importlib
import logging
import threading
import time
from collections.abc import Callable, Iterable
from concurrent.futures import FIRST_COMPLETED, Future, wait
from datetime import UTC, datetime
from importlib.metadata import entry_points

from .check import Check, Recorder
from .inventory import Inventory, loads
from .inventory.core import active_deadline
from .model import Finding, Resource, current_rule, former_rule_notice
from .report import Report

log = logging.getLogger("auditor")

#: Built-in check modules, in the order of check-rules.md.
BUILTIN_MODULES = (
    "auditor.checks.ecs_service_connect",
    "auditor.checks.firelens",
    "auditor.checks.concurrency",
    "auditor.checks.batch_failures",
    "auditor.checks.sqs_lambda",
    "auditor.checks.datadog_dlq",
    "auditor.checks.bucket_policy",
    "auditor.checks.pipeline",
)

ENTRY_POINT_GROUP = "auditor.checks"


class CheckLoadError(Exception):
    pass


def _checks_in(obj: object) -> list[Check]:
    if isinstance(obj, Check):
        return [obj]
    if isinstance(obj, (list, tuple)):
        return [c for c in obj if isinstance(c, Check)]
    found = getattr(obj, "CHECKS", None)
    if found is not None:
        return list(found)
    return [v for v in vars(obj).values() if isinstance(v, Check)] if hasattr(obj, "__dict__") else []


def load_checks(*, plugins: bool = True, warnings: list[str] | None = None) -> list[Check]:
    """Built-in checks plus those of installed plugins (entry-point group ``auditor.checks``), sorted."""
    found: dict[str, Check] = {}
    for name in BUILTIN_MODULES:
        for chk in _checks_in(importlib.import_module(name)):
            found[chk.id] = chk
    if plugins:
        for ep in sorted(entry_points(group=ENTRY_POINT_GROUP), key=lambda e: e.name):
            dist = getattr(ep.dist, "name", "?")
            try:
                loaded = _checks_in(ep.load())
            except Exception as exc:  # noqa: BLE001 - a broken plugin is reported, not fatal
                msg = f"check plugin {ep.name!r} from package {dist!r} failed to load: {type(exc).__name__}: {exc}"
                if warnings is None:
                    raise CheckLoadError(msg) from exc
                warnings.append(msg)
                continue
            for chk in loaded:
                if chk.id in found:
                    msg = f"check plugin {ep.name!r} from package {dist!r} redefines {chk.id}; ignored"
                    if warnings is not None:
                        warnings.append(msg)
                    continue
                found[chk.id] = chk
    return sorted(found.values(), key=lambda c: c.id)


def select(
    checks: list[Check], include: Iterable[str] = (), exclude: Iterable[str] = (), *, deep: bool = False
) -> list[Check]:
    """Filter by id, rule code (``VT-1``) or family (``sqs-lambda``); unknown names are an error.

    A rule code always means the check that has it now; a former code (``CheckMeta.former_rules``) selects
    the renamed check only while no other check has taken it. :func:`rule_notices` says so to the user.
    """
    include, exclude = list(include), list(exclude)
    metas = [c.meta for c in checks]

    def matches(chk: Check, name: str) -> bool:
        n = name.strip()
        return (n == chk.id or current_rule(n, metas) == chk.meta.rule or n == chk.meta.family
                or n.rstrip("/*") == chk.meta.family)

    for name in include + exclude:
        if not any(matches(c, name) for c in checks):
            raise KeyError(name)
    chosen = [c for c in checks if not include or any(matches(c, n) for n in include)]
    chosen = [c for c in chosen if not any(matches(c, n) for n in exclude)]
    # Deep checks run only when asked for: by --deep, or by naming the check itself (not its family).
    named = {n.strip() for n in include} | {current_rule(n, metas) for n in include}
    return [c for c in chosen if deep or not c.meta.deep or c.id in named or c.meta.rule in named]


def rule_notices(checks: list[Check], names: Iterable[str]) -> list[str]:
    """One line for each name the user wrote that is a former rule code (``BP-3`` → ``BP-6``)."""
    metas = [c.meta for c in checks]
    out: list[str] = []
    for name in names:
        note = former_rule_notice(name, metas)
        if note and note not in out:
            out.append(note)
    return out


def run(
    inventory: Inventory,
    checks: list[Check],
    *,
    target: dict,
    on_progress: Callable[[str], None] | None = None,
    warnings: list[str] | None = None,
) -> Report:
    """Start every load the checks declare at once, and run each check as soon as its own loads are done.

    Loads run on the inventory's pools (I/O); checks run here, one at a time, while the remaining loads are
    still fetching, so their CPU overlaps the network. The order checks run in never changes a finding:
    the report sorts them.
    """
    started = _now()
    wanted = {key for chk in checks for key in chk.requires}
    pending: dict[str, list[Future]] = {}
    for key, job in loads.jobs(inventory, wanted):
        pending.setdefault(key, []).append(inventory.pools.submit(job, rank=loads.built_on(key)))
    _log_progress(pending)
    if on_progress:
        on_progress(f"fetching {len(pending)} kinds of resources")
    needs = {chk.id: [f for key in loads.closure(chk.requires, deep=inventory.deep) for f in pending.get(key, [])]
             for chk in checks}
    waiting = list(checks)
    findings: list[Finding] = []
    deadline = active_deadline()
    while waiting:
        # Past the scan deadline every check runs at once: the reads still pending end with the deadline's
        # reason, so what was not fetched in time is "not evaluated", never waited for.
        ready = [c for c in waiting if deadline.expired or all(f.done() for f in needs[c.id])]
        if not ready:
            outstanding = {f for c in waiting for f in needs[c.id] if not f.done()}
            wait(outstanding, timeout=deadline.remaining(), return_when=FIRST_COMPLETED)
            continue
        for chk in ready:
            waiting.remove(chk)
            if on_progress:
                on_progress(f"checking {chk.id}")
            found = _dedupe(_run_one(inventory, chk))  # here, while the network is busy, not after the last check
            log.debug("%s: %d results", chk.id, len(found))
            findings.extend(found)
    stats = inventory.stats.snapshot()
    return Report(
        target=target,
        checks=[c.meta for c in checks],
        findings=findings,
        started_at=started,
        finished_at=_now(),
        stats=stats,
        warnings=list(warnings or []),
    )


def _log_progress(pending: dict[str, list[Future]]) -> None:
    """``-v``: one line when each kind of resource has been read (in every region it is read in)."""
    if not log.isEnabledFor(logging.INFO):
        return
    log.info("reading %d kinds of resources: %s", len(pending), ", ".join(sorted(pending)))
    start = time.monotonic()
    lock = threading.Lock()
    left = {key: len(futures) for key, futures in pending.items()}

    def done(key: str, _: Future) -> None:
        with lock:
            left[key] -= 1
            finished = left[key] == 0
        if finished:
            scopes = len(pending[key])
            log.info("read %s%s after %.2fs", key, f" ({scopes} regions)" if scopes > 1 else "",
                     time.monotonic() - start)

    for key, futures in pending.items():
        for future in futures:
            future.add_done_callback(functools.partial(done, key))


def _run_one(inventory: Inventory, chk: Check) -> list[Finding]:
    rec = Recorder(chk.meta)
    try:
        chk.run(inventory, rec)
    except Exception as exc:  # noqa: BLE001 - one broken check must not hide the others
        log.debug("check %s crashed", chk.id, exc_info=True)
        scope = Resource("auditor", inventory.account or "-", "-", "check", chk.id)
        rec.not_evaluated(scope, f"internal error in the check ({type(exc).__name__}: {exc})")
    return rec.findings


def _dedupe(findings: list[Finding]) -> list[Finding]:
    """One check's results without repeats (the same status, resource and message). Results of two checks never
    repeat each other (the check's id is part of a result), so each check's are deduplicated as it ends: 32,000
    results at 2x took 0.11 s after the last response when they were deduplicated together."""
    seen, out = set(), []
    for f in findings:
        key = (f.check_id, f.status, f.resource, f.message)
        if key not in seen:
            seen.add(key)
            out.append(f)
    return out


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
