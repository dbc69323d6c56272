"""Plant Datadog keys, make the API echo them back in errors, and search every output for them."""

from __future__ import annotations

import logging

import pytest
from auditor.reports import renderer

from auditor import engine
from auditor.demo import seed_datadog
from auditor.demo.datadog_server import DatadogServer
from auditor.inventory import Inventory
from auditor.inventory.aws import AwsAccount
from auditor.inventory.datadog import DatadogInventory, DatadogSettings

from .conftest import FAST

API = "planted-API-key-3f9c1d"
APP = "planted-APP-key-77ab2e"


def outputs(report, inv) -> dict[str, str]:
    out = {fmt: renderer(fmt)(report) for fmt in ("table", "json", "sarif")}
    out["settings"] = f"{inv.datadog.settings!r} {inv.datadog.settings} {inv.datadog.settings.describe()}"
    out["findings"] = "\n".join(repr(f) for f in report.findings)
    if inv.datadog.downtimes_error is not None:
        out["downtimes_error"] = inv.datadog.downtimes_error.reason
    return out


@pytest.mark.parametrize("scenario", ["ok", "echoing-errors", "wrong-keys", "down"])
def test_keys_never_leave_the_process(scenario, seeded_aws, monkeypatch, caplog):
    for k, v in seeded_aws.env().items():
        monkeypatch.setenv(k, v)
    caplog.set_level(logging.DEBUG)
    echo = {"errors": [f"request with DD-API-KEY={API} DD-APPLICATION-KEY={APP} failed"]}
    keys = ("other-api-key-000000", "other-app-key-000000") if scenario == "wrong-keys" else (API, APP)
    server = DatadogServer(seed_datadog.monitors(), seed_datadog.downtimes(), api_key=keys[0], app_key=keys[1])
    server.start()
    if scenario == "echoing-errors":
        server.fail(500, times=1, path_prefix="/api/v1/monitor", body=echo)
        server.fail(400, times=1, path_prefix="/api/v2/downtime", body=echo)
    elif scenario == "down":
        server.fail(503, times=100, body=echo)
    elif scenario == "wrong-keys":
        server.fail(403, times=100, body=echo)
    try:
        settings = DatadogSettings.resolve(environ={"DD_HOST": server.url, "DD_API_KEY": API, "DD_APP_KEY": APP},
                                           tuning=FAST)
        inv = Inventory(AwsAccount("demo"), ["us-east-1"])
        inv.datadog = DatadogInventory(settings, stats=inv.stats)
        checks = [c for c in engine.load_checks(plugins=False) if c.meta.family in ("datadog-dlq", "sqs-lambda")]
        report = engine.run(inv, checks, target={"datadog": settings.describe()})
        inv.close()
    finally:
        server.stop()
    texts = outputs(report, inv)
    texts["logs"] = caplog.text
    for name, text in texts.items():
        assert API not in text, f"API key in {name}"
        assert APP not in text, f"application key in {name}"
    dd = [f for f in report.findings if f.rule.startswith("DD-")]
    if scenario == "ok":
        assert not [f for f in dd if str(f.status) == "not-evaluated"]
    elif scenario == "echoing-errors":  # the downtime listing failed: only mute verdicts are unknown
        assert {f.rule for f in dd if str(f.status) == "not-evaluated"} == {"DD-4"}
    else:
        assert dd and all(str(f.status) == "not-evaluated" for f in dd)
    if scenario == "echoing-errors":
        assert "<redacted>" in texts["downtimes_error"]


def test_cli_refuses_credentials_in_dd_host_without_echoing_them(seeded_aws):
    from tests.conftest import run_auditor

    password = "proxy-pass-Cl1e"
    env = {**seeded_aws.env(), "DD_API_KEY": API, "DD_APP_KEY": APP,
           "DD_HOST": f"https://proxy-user-Cl1e:{password}@proxy.example/"}
    r = run_auditor("scan", "--profile", "demo", "--check", "DD-1", "--format", "json", env=env)
    assert r.code == 2, (r.stdout, r.stderr)
    assert "must not contain credentials" in r.stderr and "https://proxy.example/" in r.stderr
    for text in (r.stdout, r.stderr):
        assert password not in text and "proxy-user-Cl1e" not in text and API not in text
