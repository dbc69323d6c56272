"""A terminal that respects its user: readable and copyable at 80 columns, colour by the conventions and never
in the layout, not-evaluated results by cause, help with examples (issue 14).

Layouts are rendered in-process at 80 and 120 columns from one scan of the shop; the real CLI is driven on a
pseudo-terminal of 80×40 (tests/screen.py) for what a person sees, and through a pipe for what CI logs get.
"""

from __future__ import annotations

import io
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from auditor import term
from auditor.catalog import checks_layout, explain_layout
from auditor.check import Recorder
from auditor.cli import app
from auditor.demo.seed_s3 import POLICIES
from auditor.model import Resource, Severity, Status
from auditor.policy.analysis import analyze
from auditor.policy.explain import layout as policy_layout
from auditor.policy.parser import parse
from auditor.report import Report
from reports import table
from tests.conftest import run_auditor
from tests.factories import make_check, queue
from tests.scanning import all_checks, scan
from tests.screen import run_in_terminal

WIDTHS = (80, 120)
ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
runner = CliRunner()


def fits(lines: list[str], width: int) -> list[str]:
    """The lines that break the layout: longer than ``width`` though they could be broken (a single word
    longer than the line is left whole, on purpose), or padded at the end."""
    return [ln for ln in lines if (len(ln) > width and " " in ln.strip()) or ln != ln.rstrip()]


def on_one_line(text: str, lines: list[str]) -> bool:
    return any(text in ln for ln in lines)


def words(text: str) -> str:
    return " ".join(text.split())


# -- the scan report ------------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def shop_report(demo_env) -> Report:
    return scan(demo_env, all_checks(), deep=False)


@pytest.mark.parametrize("width", WIDTHS)
def test_scan_report_keeps_every_id_whole_and_fits_the_width(shop_report, width):
    text = table.render(shop_report, width=width)
    lines = text.splitlines()
    assert fits(lines, width) == []
    assert shop_report.failures
    flat = words(text)
    for f in shop_report.failures:
        assert on_one_line(f"{f.rule} {f.check_id}", lines), f"{f.rule} {f.check_id} is split"
        assert on_one_line(f.resource.display, lines), f"{f.resource.display} is split"
        assert words(f.message) in flat, f"the message of {f.rule} on {f.resource.id} is cut"
    assert "…" not in text


def test_a_wide_terminal_gets_a_table_and_still_no_split_id(shop_report):
    lines = table.render(shop_report, width=260).splitlines()
    assert any(ln.startswith("Check") and "Resource" in ln and ln.rstrip().endswith("Finding") for ln in lines)
    assert fits(lines, 260) == []
    for f in shop_report.failures:
        assert on_one_line(f"{f.rule} {f.check_id}", lines) and on_one_line(f.resource.display, lines)


@pytest.mark.parametrize("width", (*WIDTHS, 260))
def test_colour_changes_no_character_of_the_layout(shop_report, width):
    plain = table.render(shop_report, width=width)
    colored = table.render(shop_report, width=width, color=True)
    assert colored != plain and ANSI.sub("", colored) == plain


# -- not evaluated, by cause ----------------------------------------------------------------------------------------
def _incomplete_report() -> Report:
    chk = make_check()
    rec = Recorder(chk.meta)
    for i in range(60):
        rec.not_evaluated(queue(f"q{i}"), "access denied to sqs:GetQueueAttributes", "sqs:GetQueueAttributes")
    for i in range(40):
        fn = Resource("aws", "123456789012", "us-east-1", "lambda-function", f"fn{i}")
        rec.not_evaluated(fn, "access denied to lambda:GetFunctionConfiguration", "lambda:GetFunctionConfiguration")
    for i in range(28):
        rec.not_evaluated(queue(f"dlq{i}"), "Datadog rejected the API key (HTTP 403 from /api/v1/validate)",
                          "monitors_read")
    rec.fail(queue("orders"), "orders is misconfigured", severity=Severity.HIGH)
    return Report(target={"provider": "aws", "account": "123456789012", "regions": ["us-east-1"]},
                  checks=[chk.meta], findings=rec.findings)


@pytest.mark.parametrize("width", WIDTHS)
def test_not_evaluated_is_summarised_by_cause_with_the_statement_to_grant(width):
    report = _incomplete_report()
    text = table.render(report, width=width)
    lines = text.splitlines()
    assert fits(lines, width) == []
    assert "NOT EVALUATED (128) — 2 causes" in text
    assert "grant these 2 actions: lambda:GetFunctionConfiguration, sqs:GetQueueAttributes" in words(text)
    start = next(i for i, ln in enumerate(lines) if ln.strip() == "{")
    end = next(i for i, ln in enumerate(lines) if i > start and ln.strip() == "}")
    statement = json.loads("\n".join(lines[start: end + 1]))
    assert statement["Effect"] == "Allow" and statement["Resource"] == "*"
    assert statement["Action"] == ["lambda:GetFunctionConfiguration", "sqs:GetQueueAttributes"]
    assert words(text).count("Datadog rejected the API key") == 1  # one cause, not one row per queue
    assert "(28 results on 28 resources: 28 sqs-queue)" in words(text)
    assert not on_one_line("dlq7", lines) and "--show-not-evaluated" in text
    detail = table.render(report, width=width, show_not_evaluated=True)
    assert all(on_one_line(f"sqs-queue {name}", detail.splitlines()) for name in ("q0", "q59", "dlq27"))
    assert fits(detail.splitlines(), width) == []


# -- checks, explain, policy explain --------------------------------------------------------------------------------
@pytest.mark.parametrize("width", WIDTHS)
def test_check_list_and_explain_keep_ids_and_commands_whole(width):
    checks = all_checks()
    lines = checks_layout(checks, width=width).plain().splitlines()
    assert fits(lines, width) == []
    for c in checks:
        assert on_one_line(c.meta.rule, lines) and on_one_line(c.id, lines)
        assert words(c.meta.title) in words("\n".join(lines))
    for c in checks:
        out = explain_layout(c.meta, width=width).plain().splitlines()
        verbatim = set(c.meta.remediation.cli.splitlines()) | set(c.meta.remediation.terraform.splitlines())
        for cmd in c.meta.remediation.cli.splitlines():
            assert cmd.rstrip() in out, f"{c.meta.rule}: the CLI command is wrapped or cut"
        assert fits([ln for ln in out if ln not in verbatim and ln.strip() not in c.meta.docs], width) == []


@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.parametrize("name", ["shop-assets-ip-or-vpc", "shop-partner-exchange", "shop-reports-split-deny"])
def test_policy_truth_table_cuts_no_cell(name, width):
    analysis = analyze(parse(json.dumps(POLICIES[name])), action="s3:GetObject", bucket=name, force=("path",))
    lines = policy_layout(analysis, f"{name}.json", width=width).plain().splitlines()
    assert fits(lines, width) == [] and "…" not in "\n".join(lines)
    flat = words("\n".join(lines))
    for row in analysis.rows:
        for dim in analysis.shown_dims():
            cell = analysis.cell_text(row, dim)
            if cell == "—":  # the dimension does not apply to the row: not shown in a block
                continue
            assert words(cell) in flat
            for token in cell.split():  # ids, addresses, ARNs: never split
                assert on_one_line(token, lines)
        for sid in row.statements:
            assert on_one_line(sid, lines)


def test_policy_explain_refuses_a_misspelt_action_with_the_closest():
    r = runner.invoke(app, ["policy", "explain", "examples/policy-split-deny.json", "--action", "s3:GetObjekt"])
    assert r.exit_code == 2 and "did you mean s3:GetObject?" in r.output


# -- colour and width conventions -----------------------------------------------------------------------------------
class _Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.mark.parametrize(("env", "choice", "tty", "want"), [
    ({}, "auto", True, True),
    ({}, "auto", False, False),
    ({"NO_COLOR": "1"}, "auto", True, False),
    ({"FORCE_COLOR": "1"}, "auto", False, True),
    ({"NO_COLOR": "1", "FORCE_COLOR": "1"}, "auto", True, False),
    ({"TERM": "dumb"}, "auto", True, False),
    ({"NO_COLOR": "1"}, "always", False, True),
    ({"FORCE_COLOR": "1"}, "never", True, False),
])
def test_colour_follows_the_conventions(env, choice, tty, want):
    stream = _Tty() if tty else io.StringIO()
    assert term.wants_color(stream, choice=choice, environ=env) is want


def test_width_is_columns_else_the_terminal_else_a_fixed_pipe_width():
    assert term.width_for(io.StringIO(), environ={"COLUMNS": "80"}) == 80
    assert term.width_for(io.StringIO(), environ={}) == term.PIPE_WIDTH == 100
    assert term.width_for(io.StringIO(), environ={"COLUMNS": "junk"}) == 100


def test_piped_output_uses_columns_no_padding_and_colour_only_when_forced():
    narrow = runner.invoke(app, ["checks"], env={"COLUMNS": "80", "FORCE_COLOR": None, "NO_COLOR": None})
    assert narrow.exit_code == 0 and fits(narrow.stdout.splitlines(), 80) == [] and "\x1b" not in narrow.stdout
    default = runner.invoke(app, ["checks"], env={"COLUMNS": None, "FORCE_COLOR": None})
    assert fits(default.stdout.splitlines(), 100) == [] and max(map(len, default.stdout.splitlines())) > 80
    never = runner.invoke(app, ["scan-file", "examples/", "--color", "never"], env={"FORCE_COLOR": "1"})
    assert never.exit_code == 1 and "\x1b" not in never.stdout
    # The real CLI through a pipe: FORCE_COLOR colours `scan` output too, and only the colour differs.
    forced = run_auditor("scan-file", "examples/", env={"FORCE_COLOR": "1", "COLUMNS": "80"})
    plain = runner.invoke(app, ["scan-file", "examples/"], env={"COLUMNS": "80", "FORCE_COLOR": None})
    assert "\x1b[" in forced.stdout and ANSI.sub("", forced.stdout) == plain.stdout


# -- help -----------------------------------------------------------------------------------------------------------
COMMANDS = [[], ["scan"], ["scan-file"], ["checks"], ["explain"], ["iam-policy"], ["version"], ["policy"],
            ["policy", "explain"], ["accounts"], ["merge"]]


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: " ".join(c) or "auditor")
def test_help_fits_80_columns_with_examples_and_no_type_placeholders(command):
    r = runner.invoke(app, [*command, "--help"], env={"COLUMNS": "80"}, terminal_width=80)
    assert r.exit_code == 0, r.output
    lines = r.output.splitlines()
    assert fits(lines, 80) == []
    assert "<bool>" not in r.output and "<list" not in r.output and "<str>" not in r.output
    assert [ln for ln in lines if ln.endswith("...") and not ln.startswith("Usage:")] == []  # nothing elided
    assert "Example" in r.output and "  auditor " in r.output
    if command == ["scan"]:
        assert "critical" in r.output  # the accepted values, not split


def test_version_flag_and_shell_completion():
    r = runner.invoke(app, ["--version"])
    assert r.exit_code == 0 and re.fullmatch(r"auditor \d+\.\d+\.\d+\S*\n", r.output)
    assert "--install-completion" in runner.invoke(app, ["--help"]).output
    script = Path(sys.executable).with_name("auditor")  # the installed console script, as a user runs it
    r = subprocess.run([str(script), "--show-completion", "bash"], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0 and "_AUDITOR_COMPLETE=complete_bash" in r.stdout and r.stdout.rstrip().endswith(
        "auditor")


def test_checks_refuses_a_format_it_cannot_print():
    r = runner.invoke(app, ["checks", "--format", "sarif"])
    assert r.exit_code == 2


def test_verbose_logs_what_auditor_does_and_vv_adds_the_sdk(seeded_aws):
    one = run_auditor("scan", "--profile", "demo", "--check", "VT-1", "-v", "-f", "json", env=seeded_aws.env())
    assert one.code == 1, one.stderr
    for text in ("INFO auditor: regions: us-east-1", "INFO auditor: account 123456789012",
                 "INFO auditor: read sqs.queues", "INFO auditor: read lambda.mappings"):
        assert text in one.stderr
    assert "botocore" not in one.stderr
    two = run_auditor("scan", "--profile", "demo", "--check", "VT-1", "-vv", "-f", "json", env=seeded_aws.env())
    assert "DEBUG botocore" in two.stderr


# -- on a terminal: what a person sees at 80×40 ---------------------------------------------------------------------
def test_on_an_80_column_terminal_checks_are_readable_in_colour():
    shown = run_in_terminal("checks")
    assert shown.code == 0 and shown.colored
    assert fits(shown.lines, 80) == []
    for c in all_checks():
        assert on_one_line(c.meta.rule, shown.lines) and on_one_line(c.id, shown.lines)


def test_on_an_80_column_terminal_no_color_and_term_dumb_remove_the_colour_and_nothing_else():
    shown = run_in_terminal("scan-file", "examples/", "--no-config")
    assert shown.code == 1 and shown.colored and fits(shown.lines, 80) == []
    for env in ({"NO_COLOR": "1"}, {"TERM": "dumb"}):
        plain = run_in_terminal("scan-file", "examples/", "--no-config", env=env)
        assert not plain.colored, env
        assert plain.lines == shown.lines, env


def test_on_an_80_column_terminal_a_scan_of_the_local_account_reads_whole(seeded_aws, tmp_path):
    out = tmp_path / "r.json"
    shown = run_in_terminal("scan", "--profile", "demo", "--datadog", "required", "--json-output", str(out),
                            env=seeded_aws.env())  # Datadog required but not configured: not evaluated, by cause
    assert shown.code == 1, shown.text
    report_lines = [ln for ln in shown.lines if not ln.startswith("wrote json report to ")]  # a long path
    assert shown.colored and fits(report_lines, 80) == []
    doc = json.loads(out.read_text())
    failures = [f for f in doc["findings"] if f["status"] == Status.FAIL.value]
    assert failures
    for f in failures:
        assert on_one_line(f"{f['rule']} {f['check_id']}", shown.lines)
        assert on_one_line(f"{f['resource']['type']} {f['resource']['id']}", shown.lines)
    assert "NOT EVALUATED" in shown.text and shown.text.count("Datadog is not configured") == 1  # by cause
    assert "not evaluated" in report_lines[-1]  # the summary line ends the report


def test_on_an_80_column_terminal_policy_explain_fits_and_a_missing_bucket_is_missing(seeded_aws):
    shown = run_in_terminal("policy", "explain", "--bucket", "shop-assets-ip-or-vpc", "--profile", "demo",
                            env=seeded_aws.env())
    assert shown.code == 0, shown.text
    assert shown.colored and fits(shown.lines, 80) == [] and "…" not in shown.text
    for text in ("a principal of any other account or anonymous (unsigned request)", "vpc-0a1b2c3d4e5f60718",
                 "DenyUnlessOfficeOrVpc"):
        assert on_one_line(text, shown.lines)
    missing = run_in_terminal("policy", "explain", "--bucket", "no-such-bucket-here", "--profile", "demo",
                              env=seeded_aws.env())
    assert missing.code == 2 and "bucket no-such-bucket-here does not exist" in missing.text
    assert "GetBucketLocation" not in missing.text
