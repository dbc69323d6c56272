"""Helpers for the ECS / FireLens tests: offline task-definition inventories, finding filters."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from types import SimpleNamespace

from auditor import engine
from auditor.check import Check
from auditor.inventory import FileInputs, Inventory
from auditor.model import Status

DATA = Path(__file__).parent / "data"


def load_data(name: str) -> dict:
    return json.loads((DATA / name).read_text())


def run_files(checks: list[Check], *docs: dict, datadog=None) -> list:
    """Run checks over task-definition documents given as files (``scan-file``)."""
    files = FileInputs(task_definitions=[(f"td{i}.json", copy.deepcopy(d)) for i, d in enumerate(docs)])
    inv = Inventory(None, [], files=files)
    inv.datadog = datadog
    try:
        return engine.run(inv, checks, target={}).findings
    finally:
        inv.close()


def statuses(findings, rule: str | None = None) -> list[str]:
    return [f.status.value for f in findings if rule is None or f.rule == rule]


def fails(findings, rule: str | None = None) -> list:
    return [f for f in findings if f.status is Status.FAIL and (rule is None or f.rule == rule)]


def datadog_for(site: str):
    """A stand-in for the CLI's Datadog inventory: only ``settings.site``/``configured`` are read."""
    return SimpleNamespace(settings=SimpleNamespace(site=site, configured=True))
