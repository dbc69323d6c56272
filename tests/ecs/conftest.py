"""Fixtures for the ECS / FireLens tests: one in-process scan of the seeded account."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from auditor import engine
from auditor.inventory import Inventory
from tests.ecs.stubs import stubbed_account


@pytest.fixture()
def stubbed(monkeypatch, tmp_path):
    """An account answered by botocore ``Stubber`` only (tests/ecs/stubs.py)."""
    yield from stubbed_account(monkeypatch, tmp_path)


@pytest.fixture(scope="module")
def seeded_scan(seeded_aws):
    """One in-process engine run of the ECS and FireLens checks over the seeded account.

    Also records every DescribeServices call's batch size (AWS rejects more than 10).
    """
    from auditor.checks import ecs_service_connect, firelens

    from auditor.inventory.aws import AwsAccount

    with pytest.MonkeyPatch.context() as mp:
        for key, value in seeded_aws.env().items():
            mp.setenv(key, value)
        aws = AwsAccount("demo")
        batches: list[int] = []
        aws.session.events.register(
            "provide-client-params.ecs.DescribeServices",
            lambda params, **_: batches.append(len(params.get("services", []))),
        )
        inv = Inventory(aws, ["us-east-1"])
        try:
            report = engine.run(inv, ecs_service_connect.CHECKS + firelens.CHECKS, target={})
        finally:
            inv.close()
    return SimpleNamespace(report=report, stats=report.stats, batches=batches, inventory=inv)
