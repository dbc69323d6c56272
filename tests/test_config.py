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


# -- strict validation (issue 14): the file, the key and what is accepted, with the closest spelling ----------------
@pytest.mark.parametrize(("text", "expected"), [
    ('fail-on = "critical"', "c.toml: unknown key 'fail-on' (did you mean 'fail_on'?); accepted keys: fail_on, "
                             "exclude_checks, datadog, suppress"),
    ('datadog = "requried"', "c.toml: datadog = \"requried\" is not accepted (did you mean 'required'?); accepted "
                             "values: auto, required, off"),
    ('fail_on = "critcal"', "c.toml: fail_on = \"critcal\" is not accepted (did you mean 'critical'?); accepted "
                            "values: info, low, medium, high, critical, never"),
    ('[[suppress]]\ncheck = "VT-1"\nresource = "x"\nreason = "r"\nexpire = 2027-01-01',
     "c.toml: suppress[0]: unknown key 'expire' (did you mean 'expires'?); accepted keys: check, resource, reason, "
     "expires"),
    ('[[suppress]]\ncheck = 1\nresource = "x"\nreason = "r"', "c.toml: suppress[0]: check = 1 must be a string"),
])
def test_unknown_keys_and_values_name_the_file_the_key_and_what_is_accepted(tmp_path, text, expected):
    path = tmp_path / "c.toml"
    path.write_text(text)
    with pytest.raises(ConfigurationError) as err:
        config.load(path)
    assert str(err.value).startswith(str(tmp_path)) and expected in str(err.value)


def test_a_pyproject_section_is_checked_under_its_own_name(tmp_path):
    (tmp_path / "pyproject.toml").write_text('[tool.auditor]\nexclude-checks = ["PB-2"]\n')
    with pytest.raises(ConfigurationError, match=r"tool\.auditor\.unknown key 'exclude-checks' \(did you mean "
                                                 r"'exclude_checks'\?\)"):
        config.load(cwd=tmp_path)


def test_the_configuration_is_found_upwards_until_the_top_of_the_repository(tmp_path):
    outside = tmp_path / ".auditor.toml"
    outside.write_text('fail_on = "medium"\n')
    repo = tmp_path / "repo"
    deep = repo / "services" / "orders"
    deep.mkdir(parents=True)
    (repo / ".git").mkdir()
    assert config.find(deep) is None  # the repository's top ends the search: a file above it is not ours
    (repo / "pyproject.toml").write_text('[project]\nname = "x"\n')  # no [tool.auditor]: passed over
    (repo / "services" / "pyproject.toml").write_text('[tool.auditor]\nfail_on = "high"\n')
    assert config.find(deep) == repo / "services" / "pyproject.toml"
    assert config.load(cwd=deep).fail_on == "high"
    (deep / ".auditor.toml").write_text('fail_on = "critical"\n')
    assert config.load(cwd=deep).fail_on == "critical"
    elsewhere = tmp_path / "elsewhere"  # outside any repository: the nearest file above is found
    elsewhere.mkdir()
    assert config.find(elsewhere) == outside


def test_waivers_that_do_nothing_are_reported_as_stale(tmp_path):
    (tmp_path / ".auditor.toml").write_text(
        '[[suppress]]\ncheck = "VT-11"\nresource = "*"\nreason = "typo"\n'
        '[[suppress]]\ncheck = "VT-1"\nresource = "orders"\nreason = "in use"\n'
        '[[suppress]]\ncheck = "VT-1"\nresource = "gone"\nreason = "fixed since"\n'
        '[[suppress]]\ncheck = "VT-1"\nresource = "arn:aws:sqs:eu-west-1:*:gone"\nreason = "other region"\n')
    cfg = config.load(cwd=tmp_path)
    report = report_with(("fail", queue("orders"), None), ("ok", queue("gone"), None))
    metas = report.checks
    notes = config.stale(cfg, report.findings, ran=metas, known=metas, complete=True, regions=["us-east-1"])
    assert len(notes) == 2
    assert "suppress[0] (check 'VT-11', resource '*') names no check (did you mean 'VT-1'?)" in notes[0]
    assert "suppress[2] (check 'VT-1', resource 'gone') matched no finding in this complete scan" in notes[1]
    # An incomplete scan, or one that did not run the check, proves nothing about the resource.
    notes = config.stale(cfg, report.findings, ran=metas, known=metas, complete=False)
    assert len(notes) == 1 and "names no check" in notes[0]
    assert len(config.stale(cfg, report.findings, ran=[], known=metas, complete=True)) == 1
