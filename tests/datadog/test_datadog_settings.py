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


PROXY_USER, PROXY_PW = "proxy-user-Qm4", "proxy-pass-Vb93x"


@pytest.mark.parametrize(
    ("how", "written", "shown"),
    [("env", f"https://{PROXY_USER}:{PROXY_PW}@proxy.example/", "https://proxy.example/"),
     ("flag", f"https://{PROXY_USER}:{PROXY_PW}@proxy.example:8443/api/v1", "https://proxy.example:8443/api/v1"),
     ("env", f"http://{PROXY_USER}:{PROXY_PW}@127.0.0.1:9", "http://127.0.0.1:9"),
     ("env", f"{PROXY_USER}:{PROXY_PW}@proxy.example", "proxy.example"),  # no scheme: still not echoed
     ("env", f"https://{PROXY_USER}:pw/with?odd#chars{PROXY_PW}@proxy.example", "https://proxy.example")],
)
def test_credentials_in_dd_host_are_refused_and_never_shown(how, written, shown):
    """The client never sends a URL's userinfo, so DD_HOST credentials are refused — without echoing them."""
    with pytest.raises(ValueError) as err:
        if how == "flag":
            DatadogSettings.resolve(host=written, environ=KEYS)
        else:
            DatadogSettings.resolve(environ={"DD_HOST": written, **KEYS})
    message = str(err.value)
    assert PROXY_PW not in message and PROXY_USER not in message
    assert "@" not in message.replace("(user:password@)", "")
    assert repr(shown) in message
    assert scrub(f"a {PROXY_PW} b {PROXY_USER} c") == "a <redacted> b <redacted> c"


def test_credentials_refused_with_a_clear_reason():
    with pytest.raises(ValueError, match=r"must not contain credentials \(user:password@\).*does not send"):
        DatadogSettings.resolve(environ={"DD_HOST": "https://someone:pw-123456@proxy.example", **KEYS})
    with pytest.raises(ValueError, match="must not contain credentials"):
        DatadogSettings.resolve(environ={"DD_HOST": "https://@proxy.example", **KEYS})


def test_percent_encoded_password_is_registered_in_both_forms():
    with pytest.raises(ValueError) as err:
        DatadogSettings.resolve(environ={"DD_HOST": "https://u:p%40ss-Zk71@proxy.example", **KEYS})
    assert "p%40ss-Zk71" not in str(err.value)
    assert scrub("p@ss-Zk71 / p%40ss-Zk71") == "<redacted> / <redacted>"


def test_settings_never_show_url_credentials_however_built():
    s = DatadogSettings(api_key="a" * 8, app_key="b" * 8, site="proxy.example",
                        api_url=f"https://{PROXY_USER}:{PROXY_PW}@proxy.example",
                        app_url=f"https://{PROXY_USER}:{PROXY_PW}@proxy.example", key_sources=("DD_API_KEY",))
    shown = f"{s.describe()} {s!r} {s.monitor_url(7)} {s.api_url} {s.app_url}"
    assert PROXY_PW not in shown and PROXY_USER not in shown
    assert s.monitor_url(7) == "https://proxy.example/monitors/7" and s.api_url == "https://proxy.example"


def test_unknown_site_with_credentials_is_not_echoed():
    with pytest.raises(ValueError) as err:
        DatadogSettings.resolve(environ={"DD_SITE": f"https://{PROXY_USER}:{PROXY_PW}@dd.example", **KEYS})
    assert PROXY_PW not in str(err.value) and "'https://dd.example'" in str(err.value)


def test_client_ignores_userinfo():
    """Why DD_HOST credentials are refused: datadog-api-client drops a URL's userinfo (no Authorization).

    If a new client version starts sending them, this fails and settings may accept them again.
    """
    import http.server
    import threading

    from datadog_api_client import ApiClient, Configuration
    from datadog_api_client.v1.api.monitors_api import MonitorsApi

    seen: list[dict[str, str]] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802
            seen.append({k.lower(): v for k, v in self.headers.items()})
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"[]")

        def log_message(self, *args):
            pass

    server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        conf = Configuration(host=f"http://{PROXY_USER}:{PROXY_PW}@127.0.0.1:{server.server_port}",
                             api_key={"apiKeyAuth": "a" * 32, "appKeyAuth": "b" * 40})
        with ApiClient(conf) as api:
            assert MonitorsApi(api).list_monitors(page=0, page_size=1) == []
    finally:
        server.shutdown()
        server.server_close()
    assert len(seen) == 1
    assert "authorization" not in seen[0] and "proxy-authorization" not in seen[0]
    assert not any(PROXY_PW in v or PROXY_USER in v for v in seen[0].values())
