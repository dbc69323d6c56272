"""The run around the scan, through the real CLI: where outputs go, and one clear line for every error."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import threading

import pytest

from tests.conftest import run_auditor

pytestmark = pytest.mark.e2e

VT1 = ("scan", "--profile", "demo", "--check", "VT-1")


def _reader(path) -> tuple[threading.Thread, list[bytes]]:
    """Read a FIFO to its end on a daemon thread (a FIFO the CLI replaced would block it forever)."""
    got: list[bytes] = []

    def read() -> None:
        with open(path, "rb") as fh:
            got.append(fh.read())

    thread = threading.Thread(target=read, daemon=True)
    thread.start()
    return thread, got


# -- outputs ------------------------------------------------------------------------------------------------
def test_devices_fifos_and_links_to_them_are_written_in_place(seeded_aws, tmp_path):
    """`-o /dev/null` as root, a FIFO, a symlink to a FIFO: before, each was replaced by a regular file."""
    null = tmp_path / "null"
    try:
        os.mknod(null, 0o666 | stat.S_IFCHR, os.makedev(1, 3))  # /dev/null's device, in a scratch directory
    except PermissionError:
        pytest.skip("creating a character device needs root")
    os.mkfifo(tmp_path / "fifo")
    os.mkfifo(tmp_path / "fifo2")
    (tmp_path / "to-fifo").symlink_to("fifo2")
    sarif, got_sarif = _reader(tmp_path / "fifo")
    js, got_json = _reader(tmp_path / "fifo2")
    r = run_auditor(*VT1, "-f", "table", "-o", str(null), "--sarif-output", str(tmp_path / "fifo"),
                    "--json-output", str(tmp_path / "to-fifo"), env=seeded_aws.env(), timeout=120)
    sarif.join(10)
    js.join(10)
    assert r.code == 1, r.stderr
    assert stat.S_ISCHR(null.lstat().st_mode) and stat.S_ISFIFO((tmp_path / "fifo").lstat().st_mode)
    assert (tmp_path / "to-fifo").is_symlink() and stat.S_ISFIFO((tmp_path / "fifo2").lstat().st_mode)
    assert json.loads(got_sarif[0])["version"] == "2.1.0"
    assert json.loads(got_json[0])["findings"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["fifo", "fifo2", "null", "to-fifo"]  # no temp files


def test_dash_is_stdout_a_link_keeps_its_target_and_dev_fd_is_a_pipe(seeded_aws, tmp_path):
    """`-o -`, a symlink to a regular file, and `-o >(jq …)` (a /dev/fd/N path)."""
    real = tmp_path / "real.sarif"
    real.write_text("old")
    real.chmod(0o640)
    (tmp_path / "link.sarif").symlink_to("real.sarif")
    read_end, write_end = os.pipe()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "DD_"))} | seeded_aws.env()
    proc = subprocess.Popen(
        [sys.executable, "-m", "auditor", *VT1, "-f", "json", "-o", "-", "--sarif-output", "link.sarif",
         "--json-output", f"/dev/fd/{write_end}"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, cwd=tmp_path, pass_fds=(write_end,))
    os.close(write_end)
    with os.fdopen(read_end, "rb") as pipe:
        piped = pipe.read()
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 1, err
    assert json.loads(out)["findings"] and json.loads(piped)["findings"]
    assert not (tmp_path / "-").exists()
    assert (tmp_path / "link.sarif").is_symlink()
    assert json.loads(real.read_text())["version"] == "2.1.0"
    assert stat.S_IMODE(real.stat().st_mode) == 0o640
    assert sorted(p.name for p in tmp_path.iterdir()) == ["link.sarif", "real.sarif"]


def test_an_output_that_fails_is_named_and_the_others_are_written(seeded_aws, tmp_path):
    (tmp_path / "afile").write_text("")
    bad = tmp_path / "afile" / "report.sarif"
    r = run_auditor(*VT1, "-f", "json", "-o", str(tmp_path / "ok.json"), "--sarif-output", str(bad),
                    env=seeded_aws.env())
    assert r.code == 5, r.stderr
    assert json.loads((tmp_path / "ok.json").read_text())["findings"]
    (line,) = [x for x in r.stderr.splitlines() if x.startswith("error:")]
    assert "report.sarif" in line and "the scan itself completed (1 of 2 outputs written)" in line
    assert "Traceback" not in r.stderr


@pytest.mark.parametrize("args", [(*VT1, "-f", "json"), (*VT1, "-f", "table"), ("checks",), ("explain", "VT-1")])
def test_a_closed_stdout_ends_quietly(seeded_aws, args):
    """`auditor scan … | head -0`: exit 141 like any filter whose reader went away, no traceback."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "DD_"))} | seeded_aws.env()
    proc = subprocess.Popen([sys.executable, "-m", "auditor", *args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=env)
    proc.stdout.close()
    err = proc.stderr.read()
    proc.wait(timeout=120)
    assert proc.returncode == 141
    assert "Traceback" not in err and "error" not in err.lower()


# -- errors: one line, the right exit code ------------------------------------------------------------------
@pytest.mark.parametrize(("env", "args", "named"), [
    ({"AUDITOR_AWS_MAX_ATTEMPTS": "abc"}, (), "AUDITOR_AWS_MAX_ATTEMPTS must be a whole number between 1 and 50"),
    ({"AUDITOR_MAX_CODE_BYTES": "abc"}, (), "AUDITOR_MAX_CODE_BYTES must be a whole number between 1 and"),
    ({"AUDITOR_AWS_READ_TIMEOUT": "0"}, (), "AUDITOR_AWS_READ_TIMEOUT must be a number greater than 0"),
    ({"AUDITOR_DATADOG_MAX_RETRIES": "-1"}, (), "AUDITOR_DATADOG_MAX_RETRIES must be a whole number between 0"),
    ({}, ("--region", ""), "--region needs a region name"),
    ({}, ("--timeout", "5x"), "--timeout must be a duration such as 90s"),
    ({}, ("-o", "-", "--json-output", "-"), "only one output can go to stdout"),
])
def test_bad_settings_are_one_line_usage_errors(seeded_aws, tmp_path, env, args, named):
    r = run_auditor(*VT1, *args, env={**seeded_aws.env(), **env}, cwd=tmp_path)
    assert r.code == 2, (r.code, r.stderr)
    (line,) = r.stderr.strip().splitlines()
    assert line.startswith("error: ") and named in line, r.stderr
    assert list(tmp_path.iterdir()) == []


def test_an_sso_profile_not_logged_in_says_how_to_log_in(tmp_path):
    config = tmp_path / "config"
    config.write_text(
        "[profile dev]\nsso_session = corp\nsso_account_id = 123456789012\nsso_role_name = ReadOnly\n"
        "region = us-east-1\n\n[sso-session corp]\nsso_start_url = https://example.awsapps.com/start\n"
        "sso_region = us-east-1\nsso_registration_scopes = sso:account:access\n")
    env = {"HOME": str(tmp_path), "AWS_CONFIG_FILE": str(config), "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "no"),
           "AWS_EC2_METADATA_DISABLED": "true"}
    r = run_auditor("scan", "--profile", "dev", env=env)
    assert r.code == 2
    (line,) = r.stderr.strip().splitlines()  # before: botocore's 18-line tracebacks came first
    assert "`aws sso login --profile dev`" in line
