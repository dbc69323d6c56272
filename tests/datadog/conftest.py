"""Fixtures for the Datadog family: the local Datadog API with the shop's monitors, and fast retry settings."""

from __future__ import annotations

import pytest

from auditor.demo import seed_datadog
from auditor.demo.datadog_server import DatadogServer
from auditor.inventory.datadog import DatadogInventory, DatadogSettings, DatadogTuning

API_KEY = "0123456789abcdef0123456789abcdef"
APP_KEY = "0123456789abcdef0123456789abcdef01234567"

#: Retries in milliseconds, timeouts well under a second: fault tests stay fast.
FAST = DatadogTuning(max_retries=2, max_wait=5.0, backoff=0.01, backoff_max=0.02, connect_timeout=1.0,
                     read_timeout=0.4, page_size=100)


def settings_for(server: DatadogServer, *, api_key: str = API_KEY, app_key: str = APP_KEY,
                 tuning: DatadogTuning = FAST, **env: str) -> DatadogSettings:
    environ = {"DD_HOST": server.url, "DD_API_KEY": api_key, "DD_APP_KEY": app_key, **env}
    return DatadogSettings.resolve(environ=environ, tuning=tuning)


def inventory_for(server: DatadogServer, **kw) -> DatadogInventory:
    sleep = kw.pop("sleep", None)
    extra = {"sleep": sleep} if sleep is not None else {}
    return DatadogInventory(settings_for(server, **kw), **extra)


@pytest.fixture()
def dd_server():
    """The shop's Datadog organisation on 127.0.0.1, with keys enforced."""
    server = DatadogServer(seed_datadog.monitors(), seed_datadog.downtimes(), api_key=API_KEY, app_key=APP_KEY)
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture()
def empty_dd():
    server = DatadogServer([], [], api_key=API_KEY, app_key=APP_KEY).start()
    try:
        yield server
    finally:
        server.stop()
