"""The CI-minded options through the real CLI: --query, the datadog setting, repository-relative scan-file paths."""

from __future__ import annotations

import json
import shutil

import pytest

from auditor import engine
from auditor.datadog import mode as datadog_mode
from tests.conftest import run_auditor
from tests.ecs.helpers import DATA
from tests.sarif_rules import assert_valid_sarif

CHECKS = engine.load_checks(plugins=False)
#: Everything but the Datadog family, so the family is selected without being named.
ONLY_DATADOG = [arg for c in CHECKS if not datadog_mode.reads_datadog(c) for arg in ("-x", c.id)]


# -- --query ----------------------------------------------------------------------------------------------------
def test_query_selects_from_the_json_report_like_the_aws_cli(seeded_aws, tmp_path):
    full = tmp_path / "full.json"
    r = run_auditor("scan", "--profile", "demo", "--check", "sqs-lambda", "--json-output", str(full), "--query",
                    "findings[?severity=='high' && status=='fail'].resource.arn", env=seeded_aws.env())
    assert r.code == 1, r.stderr
    doc = json.loads(full.read_text())  # --json-output still gets the whole report
    want = [f["resource"]["arn"] for f in doc["findings"] if f["severity"] == "high" and f["status"] == "fail"]
    assert json.loads(r.stdout) == want and want


@pytest.mark.parametrize(("expr", "extra", "message"), [
    ("findings[?severity=='high'", (), "not a JMESPath expression"),
    ("summary", ("--format", "sarif"), "cannot be combined with --format sarif"),
])
def test_a_bad_query_is_a_usage_error_before_anything_is_scanned(tmp_path, expr, extra, message):
    out = tmp_path / "never.json"
    r = run_auditor("scan", "--profile", "no-such-profile", "--query", expr, *extra, "-o", str(out),
                    env={"AWS_CONFIG_FILE": str(tmp_path / "none")})
    assert r.code == 2 and message in r.stderr and "Traceback" not in r.stderr, r.stderr
    assert "no-such-profile" not in r.stderr and not out.exists()


def test_a_query_that_does_not_apply_to_the_report_is_a_usage_error(seeded_aws, tmp_path):
    out = tmp_path / "never.json"
    r = run_auditor("scan", "--profile", "demo", "--check", "VT-1", "--query", "length(findings[0].no_such_field)",
                    "-o", str(out), env=seeded_aws.env())
    assert r.code == 2 and "--query: " in r.stderr and "Traceback" not in r.stderr, r.stderr
    assert not out.exists()


# -- datadog = auto | required | off ------------------------------------------------------------------------------
def test_without_any_datadog_configuration_auto_skips_the_family_with_a_notice(seeded_aws):
    r = run_auditor("scan", "--profile", "demo", *ONLY_DATADOG, "-f", "json", env=seeded_aws.env())
    assert r.code == 0, r.stderr
    doc = r.json()
    assert doc["complete"] is True and doc["findings"] == []
    assert any("Datadog checks skipped" in n and "required" in n for n in doc["notices"])
    assert doc["target"]["datadog"]["mode"] == "auto" and doc["target"]["datadog"]["used"] is False


@pytest.mark.parametrize(("how", "env_extra", "config", "flag"), [
    ("half configured: DD_SITE without keys", {"DD_SITE": "datadoghq.eu"}, None, ()),
    ("--datadog required over datadog = off", {}, 'datadog = "off"\n', ("--datadog", "required")),
])
def test_a_team_that_uses_datadog_gets_exit_3_when_its_key_is_missing(seeded_aws, tmp_path, how, env_extra, config,
                                                                       flag):
    if config:
        (tmp_path / ".auditor.toml").write_text(config)
    r = run_auditor("scan", "--profile", "demo", *ONLY_DATADOG, *flag, "-f", "json",
                    env={**seeded_aws.env(), **env_extra}, cwd=tmp_path)
    assert r.code == 3, (how, r.stderr)
    gaps = [f for f in r.json()["findings"] if f["status"] == "not-evaluated"]
    assert gaps and all("DD_API_KEY" in f["reason"] for f in gaps)


def test_datadog_off_skips_the_family_even_when_configured(demo_env, tmp_path):
    (tmp_path / ".auditor.toml").write_text('datadog = "off"\n')  # the setting a team writes
    r = run_auditor("scan", "--profile", "demo", *ONLY_DATADOG, "-f", "json", env=demo_env, cwd=tmp_path)
    assert r.code == 0, r.stderr
    doc = r.json()
    assert doc["findings"] == [] and "datadog:ListMonitors" not in doc["stats"]["calls"]
    assert any('datadog = "off"' in n for n in doc["notices"])


def test_a_bad_datadog_setting_is_a_usage_error(tmp_path):
    (tmp_path / ".auditor.toml").write_text('datadog = "sometimes"\n')
    r = run_auditor("scan", cwd=tmp_path, env={"AWS_CONFIG_FILE": str(tmp_path / "none")})
    assert r.code == 2 and 'datadog = "sometimes" is not accepted' in r.stderr and "auto, required, off" in r.stderr


# -- scan-file: repository-relative locations -------------------------------------------------------------------
@pytest.fixture()
def repo(tmp_path):
    root = tmp_path / "repo"
    (root / ".git").mkdir(parents=True)
    (root / "deploy").mkdir()
    shutil.copy(DATA / "taskdef-no-router.json", root / "deploy" / "td.json")
    shutil.copy(DATA / "taskdef-no-router.json", tmp_path / "outside.json")
    return root


def _uris(sarif: dict) -> set[str]:
    return {r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] for r in sarif["runs"][0]["results"]}


def test_scan_file_names_each_file_by_its_repository_relative_path(repo):
    r = run_auditor("scan-file", "./deploy/td.json", "deploy/td.json", str(repo / "deploy" / "td.json"),
                    "-f", "sarif", "--fail-on", "never", cwd=repo)
    assert r.code == 0, r.stderr
    doc = assert_valid_sarif(r.stdout)
    assert _uris(doc) == {"deploy/td.json"}  # three spellings, one file, one alert each
    prints = [res["partialFingerprints"]["primaryLocationLineHash"] for res in doc["runs"][0]["results"]]
    assert len(prints) == len(set(prints))
    below = run_auditor("scan-file", "td.json", "-f", "sarif", "--fail-on", "never", cwd=repo / "deploy")
    assert assert_valid_sarif(below.stdout)["runs"][0]["results"] == doc["runs"][0]["results"]


def test_scan_file_refuses_a_file_outside_the_repository_for_sarif_unless_given_a_root(repo):
    outside = repo.parent / "outside.json"
    r = run_auditor("scan-file", str(outside), "-f", "sarif", cwd=repo)
    assert r.code == 2 and "outside the repository" in r.stderr and "--repo-root" in r.stderr
    r = run_auditor("scan-file", str(outside), "-f", "sarif", "--repo-root", str(repo.parent), "--fail-on", "never",
                    cwd=repo)
    assert r.code == 0, r.stderr
    assert _uris(assert_valid_sarif(r.stdout)) == {"outside.json"}
