import datetime as dt

import pytest

from auditor import config
from auditor.inventory.core import ConfigurationError
from tests.factories import queue, report_with


def test_suppression_by_rule_and_wildcard_with_expiry(tmp_path):
    (tmp_path / ".auditor.toml").write_text(
        '[[suppress]]\ncheck = "VT-1"\nresource = "arn:aws:sqs:*:*:scratch-*"\nreason = "disposable"\n'
        '[[suppress]]\ncheck = "VT-1"\nresource = "orders"\nreason = "old"\nexpires = 2020-01-01\n'
    )
    cfg = config.load(cwd=tmp_path)
    report = report_with(("fail", queue("scratch-1"), None), ("fail", queue("orders"), None))
    findings, warnings = config.apply(report.findings, cfg, today=dt.date(2026, 1, 1))
    by_id = {f.resource.id: f for f in findings}
    assert by_id["scratch-1"].suppressed == "disposable"
    assert by_id["orders"].suppressed == ""  # expired waiver no longer applies
    assert any("expired" in w for w in warnings)


def test_pyproject_section_and_missing_reason(tmp_path):
    (tmp_path / "pyproject.toml").write_text('[tool.auditor]\nfail_on = "high"\n')
    assert config.load(cwd=tmp_path).fail_on == "high"
    bad = tmp_path / "bad.toml"
    bad.write_text('[[suppress]]\ncheck = "VT-1"\nresource = "x"\n')
    with pytest.raises(ConfigurationError, match="reason"):
        config.load(bad)


@pytest.mark.parametrize(("text", "match"), [
    ('exclude_checks = "PB-2"', "list of strings"),
    ('fail_on = 3', "fail_on"),
    ('[[suppress]]\ncheck = "VT-1"\nresource = "x"\nreason = "r"\nexpires = 5', "date"),
    ('suppress = "all"', "array"),
    ('not toml = = 1', "invalid TOML"),
])
def test_wrong_types_are_clear_errors(tmp_path, text, match):
    path = tmp_path / "c.toml"
    path.write_text(text)
    with pytest.raises(ConfigurationError, match=match):
        config.load(path)


def test_directory_and_undecodable_files_are_clear_errors(tmp_path):
    with pytest.raises(ConfigurationError, match="directory"):
        config.load(tmp_path)
    bad = tmp_path / "latin1.toml"
    bad.write_bytes(b"fail_on = \"h\xe9\"")
    with pytest.raises(ConfigurationError, match="cannot be read"):
        config.load(bad)


def test_a_waiver_by_rule_code_waives_only_the_check_that_has_the_code_now(tmp_path):
    """A waiver for BP-3 no longer hides malformed-document findings (BP-6); a former code nobody took still
    reaches the renamed check."""
    import dataclasses

    from tests.factories import make_check

    values = make_check(rule="BP-3", id="s3-policy/invalid-values")
    malformed = make_check(rule="BP-6", id="s3-policy/malformed-document")
    malformed = type(malformed)(dataclasses.replace(malformed.meta, former_rules=("BP-3", "BP-9")), malformed.run)
    (tmp_path / ".auditor.toml").write_text(
        '[[suppress]]\ncheck = "BP-3"\nresource = "*"\nreason = "legacy"\n'
        '[[suppress]]\ncheck = "BP-9"\nresource = "old-*"\nreason = "renamed"\n')
    cfg = config.load(cwd=tmp_path)
    a = report_with(("fail", queue("bucket"), None), checks=[values]).findings
    b = report_with(("fail", queue("bucket"), None), ("fail", queue("old-bucket"), None), checks=[malformed]).findings
    findings, _ = config.apply(a + b, cfg, checks=[values.meta, malformed.meta])
    got = {(f.check_id, f.resource.id): f.suppressed for f in findings}
    assert got == {("s3-policy/invalid-values", "bucket"): "legacy",
                   ("s3-policy/malformed-document", "bucket"): "",
                   ("s3-policy/malformed-document", "old-bucket"): "renamed"}
