"""Datadog sites: the ``DD_SITE`` values, their API hosts and the web app hosts monitor links point to.

From "Getting Started with Datadog Sites" (https://docs.datadoghq.com/getting_started/site/): the site
parameter names the deployment, the API lives at ``https://api.<site>`` and the web app at the "site URL"
below (``app.`` only for US1, EU1 and US1-FED).
"""

from __future__ import annotations

from urllib.parse import urlsplit

DEFAULT_SITE = "datadoghq.com"

#: site parameter → web app URL
APP_URLS: dict[str, str] = {
    "datadoghq.com": "https://app.datadoghq.com",
    "us3.datadoghq.com": "https://us3.datadoghq.com",
    "us5.datadoghq.com": "https://us5.datadoghq.com",
    "datadoghq.eu": "https://app.datadoghq.eu",
    "ap1.datadoghq.com": "https://ap1.datadoghq.com",
    "ap2.datadoghq.com": "https://ap2.datadoghq.com",
    "ddog-gov.com": "https://app.ddog-gov.com",
}

#: names people use for a site (the docs' short names) → site parameter
_ALIASES = {
    "us1": "datadoghq.com",
    "us": "datadoghq.com",
    "us3": "us3.datadoghq.com",
    "us5": "us5.datadoghq.com",
    "eu": "datadoghq.eu",
    "eu1": "datadoghq.eu",
    "ap1": "ap1.datadoghq.com",
    "ap2": "ap2.datadoghq.com",
    "gov": "ddog-gov.com",
    "us1-fed": "ddog-gov.com",
}

SITES = tuple(APP_URLS)


def normalise_site(value: str) -> str:
    """``DD_SITE`` as users write it (``datadoghq.eu``, ``EU1``, ``https://app.datadoghq.eu/``) → site.

    Raises :class:`ValueError` naming the accepted values for anything else.
    """
    text = (value or "").strip().lower()
    if "://" in text:
        text = urlsplit(text).hostname or ""
    text = text.strip("/").rstrip(".")
    if text in _ALIASES:
        return _ALIASES[text]
    for prefix in ("api.", "app."):
        if text.startswith(prefix) and text[len(prefix):] in APP_URLS:
            text = text[len(prefix):]
    if text in APP_URLS:
        return text
    raise ValueError(
        f"unknown Datadog site {shown_url(value or '')!r} (expected one of: {', '.join(SITES)}; "
        "use DD_HOST / --datadog-host for any other API URL)"
    )


def split_userinfo(value: str) -> tuple[str, str, str]:
    """``(before, userinfo, after)`` of a URL as written, with or without a scheme; userinfo "" if none.

    ``https://u:p@host/x`` → ``("https://", "u:p", "host/x")``; ``u:p@host`` → ``("", "u:p", "host")``.
    Everything up to the last ``@`` counts as credentials, so a password with an unescaped ``/``, ``?`` or
    ``#`` is hidden too (an API URL has no business with an ``@`` anywhere else).
    """
    text = (value or "").strip()
    scheme, sep, rest = text.partition("://")
    prefix, rest = (scheme + sep, rest) if sep else ("", text)
    userinfo, at, host = rest.rpartition("@")
    return (prefix, userinfo, host) if at else (prefix, "", rest)


def shown_url(value: str) -> str:
    """``value`` fit to show: a URL's ``user:password@`` removed, everything else kept."""
    prefix, _, rest = split_userinfo(value)
    return prefix + rest


def api_url(site: str) -> str:
    return f"https://api.{site}"


def app_url(site: str) -> str:
    return APP_URLS[site]


def site_of_api_host(url: str) -> str | None:
    """The site whose API a full URL points at (``https://api.datadoghq.eu`` → ``datadoghq.eu``), if any."""
    host = (urlsplit(url).hostname or "").lower()
    if host.startswith("api."):
        host = host[4:]
    return host if host in APP_URLS else None
