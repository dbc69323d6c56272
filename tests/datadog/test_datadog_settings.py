"""Where Datadog is: DD_SITE / DD_HOST / keys, flags over environment, links on the right site, no key leaks."""

from __future__ import annotations

import pytest

from auditor.datadog import sites
from auditor.inventory.datadog import DatadogSettings, DatadogTuning
from auditor.redact import scrub

KEYS = {"DD_API_KEY": "k" * 6 + "api-secret-value", "DD_APP_KEY": "k" * 6 + "app-secret-value"}


@pytest.mark.parametrize(
    ("site", "api", "app"),
    [
        ("datadoghq.com", "https://api.datadoghq.com", "https://app.datadoghq.com"),
        ("datadoghq.eu", "https://api.datadoghq.eu", "https://app.datadoghq.eu"),
        ("us3.datadoghq.com", "https://api.us3.datadoghq.com", "https://us3.datadoghq.com"),
        ("us5.datadoghq.com", "https://api.us5.datadoghq.com", "https://us5.datadoghq.com"),
        ("ap1.datadoghq.com", "https://api.ap1.datadoghq.com", "https://ap1.datadoghq.com"),
        ("ddog-gov.com", "https://api.ddog-gov.com", "https://app.ddog-gov.com"),
    ],
)
def test_sites_from_env(site, api, app):
    s = DatadogSettings.resolve(environ={"DD_SITE": site, **KEYS})
    assert (s.site, s.api_url, s.app_url) == (site, api, app)
    assert s.monitor_url(42) == f"{app}/monitors/42"
    assert s.configured and not s.host_overridden


@pytest.mark.parametrize(
    ("written", "site"),
    [("EU1", "datadoghq.eu"), ("eu", "datadoghq.eu"), ("https://app.datadoghq.eu/", "datadoghq.eu"),
     ("api.us5.datadoghq.com", "us5.datadoghq.com"), (" DATADOGHQ.COM ", "datadoghq.com"), ("US1-FED", "ddog-gov.com")],
)
def test_site_spellings(written, site):
    assert sites.normalise_site(written) == site


def test_default_site_is_us1():
    s = DatadogSettings.resolve(environ=KEYS)
    assert s.site == "datadoghq.com" and s.app_url == "https://app.datadoghq.com"


def test_unknown_site_is_a_usage_error():
    with pytest.raises(ValueError, match="unknown Datadog site 'datadoghq.org'"):
        DatadogSettings.resolve(environ={"DD_SITE": "datadoghq.org"})


def test_flags_override_environment():
    env = {"DD_SITE": "datadoghq.eu", "DD_API_KEY": "envapikey1", "DD_APP_KEY": "envappkey1"}
    s = DatadogSettings.resolve(api_key="flagapikey", app_key="flagappkey", site="us3.datadoghq.com", environ=env)
    assert (s.api_key, s.app_key, s.site) == ("flagapikey", "flagappkey", "us3.datadoghq.com")
    assert s.key_sources == ("--datadog-api-key", "--datadog-app-key")
    s2 = DatadogSettings.resolve(host="https://api.datadoghq.com", environ=env)
    assert s2.api_url == "https://api.datadoghq.com"
    assert s2.site == "datadoghq.eu"  # DD_SITE still names the site for links


def test_host_override_like_the_terraform_provider():
    s = DatadogSettings.resolve(environ={"DD_HOST": "https://api.datadoghq.eu/", **KEYS})
    assert (s.api_url, s.site, s.app_url) == ("https://api.datadoghq.eu", "datadoghq.eu", "https://app.datadoghq.eu")
    s = DatadogSettings.resolve(environ={"DD_HOST": "https://dd-proxy.internal.example/api/v1", **KEYS})
    assert s.api_url == "https://dd-proxy.internal.example"
    assert s.app_url == "https://dd-proxy.internal.example" and s.host_overridden
    s = DatadogSettings.resolve(environ={"DD_HOST": "http://127.0.0.1:8126", **KEYS})
    assert s.api_url == "http://127.0.0.1:8126" and s.monitor_url(7) == "http://127.0.0.1:8126/monitors/7"
    s = DatadogSettings.resolve(host="http://localhost:9", environ={"DD_HOST": "https://ignored.example", **KEYS})
    assert s.api_url == "http://localhost:9"


@pytest.mark.parametrize("host", ["api.datadoghq.com", "ftp://x.example", "http://dd-proxy.example", "https://"])
def test_bad_hosts_are_usage_errors(host):
    with pytest.raises(ValueError):
        DatadogSettings.resolve(environ={"DD_HOST": host, **KEYS})


@pytest.mark.parametrize(
    ("env", "missing"),
    [({}, "DD_API_KEY and DD_APP_KEY are"), ({"DD_API_KEY": "abcdefgh"}, "DD_APP_KEY is"),
     ({"DD_APP_KEY": "abcdefgh"}, "DD_API_KEY is"), ({"DD_API_KEY": "  ", "DD_APP_KEY": "\n"}, "DD_API_KEY and")],
)
def test_not_configured_says_why(env, missing):
    s = DatadogSettings.resolve(environ=env)
    assert not s.configured
    assert missing in s.reason
    assert "not configured" in s.describe()


def test_application_key_alias():
    s = DatadogSettings.resolve(environ={"DD_API_KEY": "abcdefgh", "DD_APPLICATION_KEY": "ijklmnop"})
    assert s.configured and s.key_sources == ("DD_API_KEY", "DD_APPLICATION_KEY")


def test_keys_never_shown_and_registered_for_scrubbing():
    api, app = "planted-api-key-Zq81", "planted-app-key-Xw27"
    s = DatadogSettings.resolve(environ={"DD_API_KEY": api, "DD_APP_KEY": app, "DD_SITE": "datadoghq.eu"})
    for text in (s.describe(), str(s), repr(s), f"{s!r}"):
        assert api not in text and app not in text
    assert "datadoghq.eu" in s.describe()
    assert scrub(f"x {api} y {app} z") == "x <redacted> y <redacted> z"


def test_tuning_from_environment():
    s = DatadogSettings.resolve(environ={"AUDITOR_DATADOG_MAX_RETRIES": "1", "AUDITOR_DATADOG_MAX_WAIT": "0.5",
                                         "AUDITOR_DATADOG_TIMEOUT": "2", "AUDITOR_DATADOG_PAGE_SIZE": "7"})
    assert s.tuning == DatadogTuning(max_retries=1, max_wait=0.5, read_timeout=2.0, page_size=7)
    with pytest.raises(ValueError, match="AUDITOR_DATADOG_PAGE_SIZE"):
        DatadogSettings.resolve(environ={"AUDITOR_DATADOG_PAGE_SIZE": "5000"})
    with pytest.raises(ValueError, match="AUDITOR_DATADOG_MAX_RETRIES"):
        DatadogSettings.resolve(environ={"AUDITOR_DATADOG_MAX_RETRIES": "many"})
