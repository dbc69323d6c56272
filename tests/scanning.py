"""Scans run inside the test process, through the same objects the CLI builds (profile, endpoint, credential
chain and the Datadog client), for tests that run many scans and assert on the engine's own results."""

from __future__ import annotations

import os
from collections.abc import Iterable
from unittest import mock

from auditor import engine
from auditor.check import Check
from auditor.inventory import Inventory
from auditor.inventory.aws import AwsAccount
from auditor.inventory.datadog import DatadogInventory, DatadogSettings
from auditor.report import Report

_ALL: list[Check] | None = None


def all_checks() -> list[Check]:
    global _ALL
    if _ALL is None:
        _ALL = engine.load_checks(plugins=False)
    return _ALL


def scan(env: dict[str, str], checks: Iterable[Check], *, profile: str = "demo", regions=("us-east-1",),
         deep: bool = True, workers: int = 8, warm: bool = True, on_check=None,
         fault=None) -> Report:
    """One scan of ``checks`` with ``env`` (AWS_CONFIG_FILE, DD_HOST…) in place of the process environment.

    ``warm=False`` skips the engine's up-front loads, so every read happens inside the checks.
    ``on_check(calls_before, calls_after)`` is called around each check's own run; ``fault(aws)`` may
    register botocore event handlers on the account's session before anything is called.
    """
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "DD_"))}
    with mock.patch.dict(os.environ, {**clean, **env}, clear=True):
        aws = AwsAccount(profile, workers=workers)
        if fault is not None:
            fault(aws)
        inventory = Inventory(aws, list(regions), workers=workers, deep=deep)
        try:
            inventory.datadog = DatadogInventory(DatadogSettings.resolve(environ=os.environ), stats=inventory.stats)
            checks = list(checks)
            if not warm:
                checks = [Check(c.meta, c.run, ()) for c in checks]
            if on_check is not None:
                checks = [Check(c.meta, _observed(c.run, inventory, on_check), c.requires) for c in checks]
            return engine.run(inventory, checks, target={"provider": "aws", "account": inventory.account})
        finally:
            inventory.close()


def _observed(run, inventory, on_check):
    def wrapped(inv, rec):
        before = dict(inventory.stats.snapshot()["calls"])
        try:
            run(inv, rec)
        finally:
            on_check(before, dict(inventory.stats.snapshot()["calls"]))

    return wrapped
