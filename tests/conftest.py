"""Shared fixtures: a seeded local AWS account (moto's HTTP server) and the real CLI as a subprocess."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from auditor.demo import seed as seed_mod
from auditor.demo.servers import LocalAws

ROOT = Path(__file__).resolve().parent.parent


@dataclass
class CliResult:
    code: int
    stdout: str
    stderr: str

    def json(self) -> dict:
        return json.loads(self.stdout)


def run_auditor(*args: str, env: dict[str, str] | None = None, cwd: Path | None = None,
                timeout: float = 300) -> CliResult:
    """Run the installed console entry point exactly as a user does (``python -m auditor``).

    Every JSON report the run writes is validated against the packaged schema (tests/report_schema.py)."""
    full_env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "DD_"))}
    full_env.update(env or {})
    proc = subprocess.run(
        [sys.executable, "-m", "auditor", *args],
        capture_output=True,
        text=True,
        env=full_env,
        cwd=cwd,
        timeout=timeout,
    )
    from tests.report_schema import check_cli_reports

    check_cli_reports(list(args), proc.stdout, cwd)
    return CliResult(proc.returncode, proc.stdout, proc.stderr)


@pytest.fixture(scope="session")
def seeded_aws():
    """One moto server for the session, seeded with the shop (read-only tests share it)."""
    aws = LocalAws().start()
    try:
        seed_mod.seed(aws.client)
        yield aws
    finally:
        aws.stop()


@pytest.fixture()
def fresh_aws():
    """A moto server of the test's own, empty, in its own process (moto's state is per process)."""
    aws = LocalAws().start_isolated()
    try:
        yield aws
    finally:
        aws.stop()


@pytest.fixture(scope="session")
def demo_datadog():
    """The shop's Datadog organisation (the demo's monitors) on 127.0.0.1; ``.env`` for the CLI."""
    from auditor.demo.__main__ import datadog_env, start_datadog

    server = start_datadog()
    try:
        server.cli_env = datadog_env(server)
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def demo_env(seeded_aws, demo_datadog) -> dict[str, str]:
    """Environment of `make demo`: the seeded AWS profile and the local Datadog API."""
    return {**seeded_aws.env(), **demo_datadog.cli_env}


@pytest.fixture(scope="session")
def demo_scan(demo_env, tmp_path_factory):
    """The JSON report of one full (deep) scan of the demo account, shared by the end-to-end assertions."""
    out = tmp_path_factory.mktemp("scan") / "report.json"
    result = run_auditor("scan", "--profile", "demo", "--deep", "--format", "json", "--output", str(out),
                         "--fail-on", "never", env=demo_env)
    assert result.code in (0, 3), result.stderr
    return json.loads(out.read_text())


@pytest.fixture()
def stubbed_aws(monkeypatch, tmp_path):
    """An account answered by botocore ``Stubber`` only; any call the test did not stub fails it."""
    from .ecs.stubs import stubbed_account

    yield from stubbed_account(monkeypatch, tmp_path)
