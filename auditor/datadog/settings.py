"""Where auditor finds Datadog: keys, site or full API URL, and how patiently it talks to it.

Resolution follows what Datadog users already have configured: ``DD_API_KEY``, ``DD_APP_KEY``, ``DD_SITE``
(the official clients) and ``DD_HOST`` for a full API URL (as the Datadog Terraform provider's ``api_url``).
Explicit arguments (CLI flags, configuration) override the environment. Keys are registered with
:mod:`auditor.redact` the moment they are read, so no output can carry them, and they never appear in
``repr()`` or :meth:`DatadogSettings.describe`.
"""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from urllib.parse import unquote, urlsplit

from ..redact import register_secret
from . import sites


@dataclass(frozen=True)
class DatadogTuning:
    """Retry, timeout and paging knobs. Defaults suit a live organisation; tests shrink them.

    A request that times out is retried once (not ``max_retries`` times): an API that did not answer within
    the read timeout seldom does the next time, and the scan deadline bounds everything anyway.
    """

    max_retries: int = 3  # retries after the first attempt, for 429, 5xx and refused connections
    max_wait: float = 60.0  # longest single wait for a rate-limit reset (X-RateLimit-Reset), seconds
    backoff: float = 1.0  # first wait after a 5xx/timeout; doubles per retry
    backoff_max: float = 20.0
    connect_timeout: float = 5.0
    read_timeout: float = 30.0  # a page of 1000 monitors answers in a few seconds
    page_size: int = 1000  # monitors per page: the largest the Monitors API allows (its maximum is 1000)
    timeout_retries: int = 1  # retries of a request that timed out

    # attribute: (variable, whole number, lowest, highest, lowest excluded)
    _ENV = {
        "max_retries": ("AUDITOR_DATADOG_MAX_RETRIES", True, 0, 20, False),
        "max_wait": ("AUDITOR_DATADOG_MAX_WAIT", False, 0, 3600, False),
        "backoff": ("AUDITOR_DATADOG_BACKOFF", False, 0, 600, False),
        "read_timeout": ("AUDITOR_DATADOG_TIMEOUT", False, 0, 3600, True),
        "connect_timeout": ("AUDITOR_DATADOG_CONNECT_TIMEOUT", False, 0, 600, True),
        "page_size": ("AUDITOR_DATADOG_PAGE_SIZE", True, 1, 1000, False),
    }

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> DatadogTuning:
        """Read the ``AUDITOR_DATADOG_*`` variables; a bad value raises a ``ValueError`` naming the variable."""
        from ..inventory.core import env_number

        values = {}
        for attr, (var, integer, low, high, above) in cls._ENV.items():
            values[attr] = env_number(environ, var, getattr(cls, attr), low=low, high=high, integer=integer,
                                      above=above)
        return cls(**values)


def _clean_key(value: str | None) -> str:
    return (value or "").strip()


def _register_userinfo(value: str) -> bool:
    """Register a URL's user name and password with the redactor (as written and decoded).

    True when the URL carries a userinfo part at all (even an empty one, ``https://@host``).
    """
    text = (value or "").strip()
    prefix, userinfo, rest = sites.split_userinfo(text)
    user, _, password = userinfo.partition(":")
    for secret in (userinfo, user, password):
        if secret:
            register_secret(secret)
            register_secret(unquote(secret))
    return prefix + rest != text


def _normalise_host(value: str) -> str:
    """``DD_HOST`` → ``scheme://host[:port][/prefix]`` without a trailing slash or ``/api/vN``.

    Credentials in the URL (``https://user:password@proxy.example``) are refused: ``datadog-api-client``
    never sends a URL's userinfo (no ``Authorization`` header, see ``test_client_ignores_userinfo``), so they
    would only end up in links, reports and logs. They are registered with the redactor and never shown.
    """
    text = value.strip()
    has_credentials = _register_userinfo(text)
    shown = sites.shown_url(text)
    parts = urlsplit(text)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"DD_HOST / --datadog-host must be a full http(s) URL, got {shown!r}")
    if has_credentials:
        raise ValueError(
            "DD_HOST / --datadog-host must not contain credentials (user:password@): datadog-api-client does "
            f"not send a URL's credentials, so they would never reach the server; use {shown!r}"
        )
    if parts.scheme == "http" and not _is_loopback(parts.hostname):
        raise ValueError(
            f"refusing to send Datadog keys over plain http to {parts.hostname}; use https "
            "(plain http is accepted only for a local API on a loopback address)"
        )
    path = parts.path.rstrip("/")
    for suffix in ("/api/v1", "/api/v2", "/api"):
        if path.endswith(suffix):
            path = path[: -len(suffix)]
            break
    return f"{parts.scheme}://{parts.netloc}{path}"


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@dataclass(frozen=True)
class DatadogSettings:
    """Resolved Datadog configuration. Build it with :meth:`resolve`."""

    api_key: str = field(default="", repr=False)
    app_key: str = field(default="", repr=False)
    site: str = sites.DEFAULT_SITE
    api_url: str = sites.api_url(sites.DEFAULT_SITE)
    app_url: str = sites.app_url(sites.DEFAULT_SITE)
    host_overridden: bool = False
    key_sources: tuple[str, ...] = ()  # where the keys came from, e.g. ("DD_API_KEY", "--datadog-app-key")
    tuning: DatadogTuning = field(default_factory=DatadogTuning)

    def __post_init__(self) -> None:
        # Whatever built these settings, no URL auditor shows (describe(), links, error messages) carries
        # credentials; the client would not send them anyway (see _normalise_host).
        for name in ("api_url", "app_url"):
            value = getattr(self, name)
            if _register_userinfo(value):
                object.__setattr__(self, name, sites.shown_url(value))

    @classmethod
    def resolve(
        cls,
        *,
        api_key: str | None = None,
        app_key: str | None = None,
        site: str | None = None,
        host: str | None = None,
        environ: Mapping[str, str] = os.environ,
        tuning: DatadogTuning | None = None,
    ) -> DatadogSettings:
        """Arguments override ``DD_API_KEY``, ``DD_APP_KEY``, ``DD_SITE`` and ``DD_HOST``.

        Raises :class:`ValueError` for an unknown site or a malformed/insecure host (a usage error).
        """
        sources = []
        api = _clean_key(api_key)
        if api:
            sources.append("--datadog-api-key")
        else:
            api = _clean_key(environ.get("DD_API_KEY"))
            if api:
                sources.append("DD_API_KEY")
        app = _clean_key(app_key)
        if app:
            sources.append("--datadog-app-key")
        else:
            app = _clean_key(environ.get("DD_APP_KEY") or environ.get("DD_APPLICATION_KEY"))
            if app:
                sources.append("DD_APP_KEY" if environ.get("DD_APP_KEY") else "DD_APPLICATION_KEY")
        register_secret(api)
        register_secret(app)

        site_text = (site or "").strip() or (environ.get("DD_SITE") or "").strip()
        host_text = (host or "").strip() or (environ.get("DD_HOST") or "").strip()
        _register_userinfo(site_text)
        chosen_site = sites.normalise_site(site_text) if site_text else None
        if host_text:
            api_url = _normalise_host(host_text)
            known = chosen_site or sites.site_of_api_host(api_url)
            if known:
                resolved_site, app_url = known, sites.app_url(known)
            else:
                parts = urlsplit(api_url)
                resolved_site, app_url = parts.netloc, f"{parts.scheme}://{parts.netloc}"
            overridden = True
        else:
            resolved_site = chosen_site or sites.DEFAULT_SITE
            api_url, app_url = sites.api_url(resolved_site), sites.app_url(resolved_site)
            overridden = False
        return cls(
            api_key=api,
            app_key=app,
            site=resolved_site,
            api_url=api_url,
            app_url=app_url,
            host_overridden=overridden,
            key_sources=tuple(sources),
            tuning=tuning or DatadogTuning.from_env(environ),
        )

    @property
    def configured(self) -> bool:
        return bool(self.api_key and self.app_key)

    @property
    def reason(self) -> str:
        """Why Datadog cannot be read, or "" when it is configured."""
        missing = [name for name, value in (("DD_API_KEY", self.api_key), ("DD_APP_KEY", self.app_key)) if not value]
        if not missing:
            return ""
        return (
            f"Datadog is not configured: {' and '.join(missing)} {'is' if len(missing) == 1 else 'are'} not set "
            "(an API key and an application key with the monitors_read permission are needed)"
        )

    def monitor_url(self, monitor_id: int | str) -> str:
        return f"{self.app_url}/monitors/{monitor_id}"

    def describe(self) -> str:
        """One line for reports and logs. Never contains a key."""
        where = f"Datadog {self.site} (API {self.api_url})"
        if not self.configured:
            return f"{where}: not configured — {self.reason.split(': ', 1)[-1]}"
        return f"{where}, keys from {', '.join(self.key_sources)}"

    def __str__(self) -> str:
        return self.describe()
