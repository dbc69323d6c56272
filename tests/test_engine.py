"""Check loading (built-ins and entry-point plugins), selection, and isolation of a crashing check."""

from __future__ import annotations

import dataclasses
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest

from auditor import engine
from auditor.inventory import Inventory
from auditor.model import Status
from tests.factories import make_check


class _EP:
    def __init__(self, name, obj=None, exc=None, dist="acme-checks"):
        self.name, self._obj, self._exc, self.dist = name, obj, exc, SimpleNamespace(name=dist)

    def load(self):
        if self._exc:
            raise self._exc
        return self._obj


def test_plugins_load_in_sorted_order_and_broken_ones_are_named(monkeypatch):
    plugin = make_check(rule="ZZ-1", id="acme/custom-rule")
    eps = [_EP("b-broken", exc=ImportError("no module named acme_x")), _EP("a-good", obj=[plugin])]
    monkeypatch.setattr(engine, "entry_points", lambda group: eps if group == engine.ENTRY_POINT_GROUP else [])
    warnings: list[str] = []
    checks = engine.load_checks(warnings=warnings)
    assert "acme/custom-rule" in {c.id for c in checks}
    assert len(warnings) == 1 and "acme-checks" in warnings[0] and "b-broken" in warnings[0]
    with pytest.raises(engine.CheckLoadError, match="acme-checks"):
        engine.load_checks()


def test_selection_by_id_rule_family_and_unknown_names():
    checks = engine.load_checks(plugins=False)
    by_rule = engine.select(checks, ["vt-1"])
    assert [c.meta.rule for c in by_rule] == ["VT-1"]
    family = engine.select(checks, ["sqs-lambda"], ["DLQ-3"])
    assert "DLQ-3" not in {c.meta.rule for c in family} and "VT-2" in {c.meta.rule for c in family}
    assert "PB-3" not in {c.meta.rule for c in family}  # deep checks need --deep or their own name
    assert "PB-3" in {c.meta.rule for c in engine.select(checks, ["PB-3"])}
    with pytest.raises(KeyError):
        engine.select(checks, ["XX-9"])


def test_a_crashing_check_is_reported_not_fatal():
    @__import__("auditor.check", fromlist=["check"]).check(
        id="acme/crash", rule="ZZ-2", title="t", severity=make_check().meta.severity, description="d", risk="r",
        remediation="x", docs=("https://example.com/doc",))
    def crash(inv, rec):
        raise RuntimeError("boom")

    inv = Inventory(None, [])
    report = engine.run(inv, [crash, make_check()], target={})
    (f,) = report.findings
    assert f.status is Status.NOT_EVALUATED and "boom" in f.reason and not report.complete


def test_a_result_a_check_records_twice_is_reported_once_and_other_checks_keep_theirs():
    from auditor.check import check
    from auditor.model import Resource

    res = Resource("aws", "123456789012", "us-east-1", "sqs-queue", "orders")
    meta = make_check().meta

    def twice(check_id, rule):
        @check(id=check_id, rule=rule, title="t", severity=meta.severity, description="d",
               risk="r", remediation="x", docs=("https://example.com/doc",))
        def run(inv, rec):
            for _ in range(2):
                rec.fail(res, "the same pitfall, recorded twice")
            rec.fail(res, "another pitfall on the same queue")
        return run

    report = engine.run(Inventory(None, []), [twice("acme/a", "ZZ-3"), twice("acme/b", "ZZ-4")], target={})
    assert sorted((f.check_id, f.message) for f in report.findings) == [
        ("acme/a", "another pitfall on the same queue"), ("acme/a", "the same pitfall, recorded twice"),
        ("acme/b", "another pitfall on the same queue"), ("acme/b", "the same pitfall, recorded twice")]


def test_console_script_is_installed():
    script = Path(sys.executable).parent / "auditor"
    proc = subprocess.run([str(script), "version"], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0 and proc.stdout.startswith("auditor ")


def test_a_rule_code_names_one_check_and_a_former_code_says_what_it_means_now():
    """BP-3 was the code of two checks; it now means s3-policy/invalid-values only, malformed documents are BP-6."""
    checks = engine.load_checks(plugins=False)
    assert [c.id for c in engine.select(checks, ["BP-3"])] == ["s3-policy/invalid-values"]
    assert [c.id for c in engine.select(checks, ["bp-6"])] == ["s3-policy/malformed-document"]
    left = {c.id for c in engine.select(checks, ["s3-policy"], ["BP-3"])}
    assert "s3-policy/malformed-document" in left and "s3-policy/invalid-values" not in left
    (note,) = engine.rule_notices(checks, ["BP-3", "bp-3", "VT-1"])
    assert note.startswith("BP-3 no longer covers s3-policy/malformed-document; it is BP-6")
    assert engine.rule_notices(checks, ["BP-6", "s3-policy"]) == []


def test_a_former_code_nobody_took_keeps_selecting_the_renamed_check():
    renamed = make_check(rule="ZZ-7", id="acme/renamed", severity=make_check().meta.severity)
    renamed = type(renamed)(dataclasses.replace(renamed.meta, former_rules=("ZZ-1",)), renamed.run)
    other = make_check(rule="ZZ-2", id="acme/other")
    assert [c.id for c in engine.select([renamed, other], ["zz-1"])] == ["acme/renamed"]
    assert engine.select([renamed, other], [], ["ZZ-1"]) == [other]
    (note,) = engine.rule_notices([renamed, other], ["ZZ-1"])
    assert "ZZ-1 was renamed" in note and "ZZ-7" in note
