"""Declared reads are the truth about what a check reads.

Each check, scanned alone against the seeded demo account (moto server + local Datadog API):

* calls only the API operations its declared loads stand for — a read it did not declare would escape the
  dependency matrix (tests/test_dependencies.py), the up-front fetching and the shipped IAM policy;
* makes no API call of its own once its declared loads are warmed: everything it reads was fetched
  concurrently before it ran (nothing one at a time while the check runs).
"""

from __future__ import annotations

import pytest

from auditor.inventory import loads

from .scanning import all_checks, scan

#: Calls that are not reads of a load: the identity lookup, and the deep scan's package download (an HTTPS
#: GET of the presigned URL that lambda:GetFunction returns, counted for --stats).
_NOT_LOADS = {"sts:GetCallerIdentity", "download:lambda-code-package"}

CHECKS = all_checks()
_SCANS: dict[tuple[str, ...], tuple[set[str], dict[str, set[str]]]] = {}


def _scan_group(closure: tuple[str, ...], env: dict[str, str]) -> tuple[set[str], dict[str, set[str]]]:
    """One scan of every check whose loads are exactly ``closure`` (they read the same things, so the calls of
    the scan are the calls of each): (operations called, check id → operations called while it ran)."""
    if closure not in _SCANS:
        group = [c for c in CHECKS if tuple(loads.closure(c.requires)) == closure]
        during: dict[str, set[str]] = {c.id: set() for c in group}
        current = iter([c.id for c in group])  # the engine runs checks of one group in their given order

        def observe(before, after, ids=current):
            during[next(ids)].update(op for op, n in after.items() if n > before.get(op, 0))

        report = scan(env, group, on_check=observe)
        _SCANS[closure] = (set(report.stats["calls"]) - _NOT_LOADS, during)
    return _SCANS[closure]


@pytest.mark.parametrize("chk", CHECKS, ids=[c.meta.rule for c in CHECKS])
def test_check_calls_only_what_it_declares_and_nothing_while_it_runs(chk, demo_env):
    declared = {op.key for op in chk.operations}
    called, during = _scan_group(tuple(loads.closure(chk.requires)), demo_env)
    assert called, f"{chk.id} made no call at all: its seed is missing or its loads are wrong"
    assert called <= declared, f"{chk.id} calls {sorted(called - declared)} without declaring them"
    assert not during[chk.id], f"{chk.id} fetched {sorted(during[chk.id])} while running, " \
        "instead of through its declared loads"


def test_every_load_is_declared_by_some_check_and_every_declared_load_exists():
    used = {key for c in CHECKS for key in loads.closure(c.requires)}
    assert used == set(loads.LOADS), f"loads nobody reads: {sorted(set(loads.LOADS) - used)}"


def test_a_check_naming_an_unknown_load_fails_at_definition():
    from auditor.check import check
    from auditor.model import Severity

    with pytest.raises(ValueError, match="unknown inventory load"):
        check(id="x/y", rule="XX-1", title="t", severity=Severity.LOW, description="d", risk="r",
              remediation="m", docs=("https://example.com",), requires=("sqs.queue",))
