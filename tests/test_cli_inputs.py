"""What the CLI accepts, and how it says no (issue 14): documents for scan-file, configuration flags, the
region from AWS_REGION, and the demo without its extra installed."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from auditor.cli import app
from auditor.inventory.aws import AwsAccount

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
runner = CliRunner()


def _scan_file(*args: str, input: str | None = None):
    return runner.invoke(app, ["scan-file", *args, "--format", "json", "--no-config"], input=input)


# -- scan-file ------------------------------------------------------------------------------------------------------
def test_the_shipped_examples_are_recognised_and_each_choice_is_said(tmp_path):
    r = _scan_file(str(EXAMPLES))
    assert r.exit_code == 1, r.output
    doc = json.loads(r.stdout)
    rules = {(f["rule"], Path(f["resource"]["id"]).name) for f in doc["findings"] if f["status"] == "fail"}
    assert {("FL-2", "taskdef-orders-web.json"), ("FL-3", "taskdef-orders-web.json"),
            ("BP-2", "policy-split-deny.json")} <= rules
    said = " ".join(r.stderr.split())
    # (named relative to the repository, as in the report)
    assert "examples/taskdef-orders-web.json: read as an ECS task definition (containerDefinitions)" in said
    assert "examples/policy-split-deny.json: read as a bucket policy (Statement)" in said


@pytest.mark.parametrize(("name", "text", "message"), [
    ("truncated.json", '{\n  "family": "web",\n  "containerDefinitions": [\n    {"name": "web", "ima',
     "truncated.json: not valid JSON, line 4, column 21: Unterminated string"),
    ("taskdef.yaml", "family: web\ncontainerDefinitions:\n  - name: web\n",
     "taskdef.yaml: not valid JSON, line 1, column 1: Expecting value (YAML is not read: convert it to JSON)"),
    ("package.json", '{"name": "web", "version": "1.0.0"}',
     "package.json: neither an ECS task definition (containerDefinitions) nor a bucket policy (Statement); it is "
     "an object with keys name, version"),
])
def test_input_auditor_cannot_read_is_a_usage_error_naming_the_file_and_where(tmp_path, name, text, message):
    path = tmp_path / name
    path.write_text(text)
    r = _scan_file(str(path))
    assert r.exit_code == 2 and r.stdout == ""
    assert message in " ".join(r.stderr.split())


def test_standard_input_and_directories(tmp_path):
    r = _scan_file("-", input=(EXAMPLES / "policy-split-deny.json").read_text())
    assert r.exit_code == 1, r.output
    assert {f["resource"]["id"] for f in json.loads(r.stdout)["findings"]} == {"<stdin>"}
    assert "<stdin>: read as a bucket policy (Statement)" in r.stderr
    tree = tmp_path / "infra"
    shutil.copytree(EXAMPLES, tree / "ecs")
    (tree / "web" / ".cache").mkdir(parents=True)
    (tree / "web" / "package.json").write_text('{"name": "web"}')  # beside the documents: skipped, said so
    (tree / "web" / ".cache" / "broken.json").write_text("{")  # hidden folders are not searched
    (tree / "notes.txt").write_text("not json")
    r = _scan_file(str(tree))
    assert r.exit_code == 1, r.output
    files = {Path(f["resource"]["id"]).name for f in json.loads(r.stdout)["findings"]}
    assert files == {"taskdef-orders-web.json", "policy-split-deny.json", "policy-ip-or-vpc.json"}
    said = " ".join(r.stderr.split())  # the notes wrap at the terminal's width, wherever the path ends
    assert "skipped " in said and "package.json: neither an ECS task definition" in said
    (tree / "web" / "broken.json").write_text('{"containerDefinitions": [')  # a .json file that is not JSON
    r = _scan_file(str(tree))
    assert r.exit_code == 2 and "broken.json: not valid JSON, line 1" in " ".join(r.stderr.split())


# -- configuration flags --------------------------------------------------------------------------------------------
def test_a_config_error_names_the_file_and_no_config_skips_it(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / ".auditor.toml").write_text('exclude_checks = ["PB-9"]\n')
    r = runner.invoke(app, ["scan-file", str(EXAMPLES), "--fail-on", "never"])
    assert r.exit_code == 2
    assert f"{tmp_path / '.auditor.toml'}: exclude_checks: unknown check 'PB-9'" in " ".join(r.stderr.split())
    assert runner.invoke(app, ["scan-file", str(EXAMPLES), "--fail-on", "never", "--no-config"]).exit_code == 0
    both = runner.invoke(app, ["scan-file", str(EXAMPLES), "--no-config", "--config", ".auditor.toml"])
    assert both.exit_code == 2 and "cannot be used together" in both.stderr


def test_an_unknown_check_suggests_the_closest():
    r = runner.invoke(app, ["scan-file", str(EXAMPLES), "--check", "FL-22", "--no-config"])
    assert r.exit_code == 2 and "unknown check 'FL-22' (did you mean 'FL-2'?)" in r.stderr


# -- AWS_REGION -----------------------------------------------------------------------------------------------------
def test_aws_region_is_honoured_before_aws_default_region(tmp_path, monkeypatch):
    for name in ("AWS_PROFILE", "AWS_DEFAULT_REGION", "AWS_REGION"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_REGION", "eu-west-1")
    assert AwsAccount().default_region == "eu-west-1"
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-2")
    assert AwsAccount().default_region == "eu-west-1"  # as the AWS CLI and every other SDK read it
    monkeypatch.delenv("AWS_REGION")
    assert AwsAccount().default_region == "us-east-2"


# -- the demo without its extra -------------------------------------------------------------------------------------
def test_the_demo_without_moto_is_one_line_naming_the_extra_to_install(tmp_path):
    code = ("import sys, runpy; sys.modules['moto'] = None; sys.argv = ['demo', '--out', sys.argv[1]]; "
            "runpy.run_module('auditor.demo', run_name='__main__')")
    r = subprocess.run([sys.executable, "-c", code, str(tmp_path / "out")], capture_output=True, text=True,
                       timeout=120)
    assert r.returncode == 2 and r.stdout == ""
    assert r.stderr.count("\n") == 1 and "Traceback" not in r.stderr
    assert "pip install 'auditor[demo]'" in r.stderr
    assert not (tmp_path / "out").exists()
