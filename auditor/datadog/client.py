"""The only place auditor talks to Datadog: the official ``datadog-api-client`` with auditor's own retries.

The client's endpoint definitions, authentication headers and error classes are used as they are; its
response models are not (``preload_content=False``): auditor reads the JSON itself, so one monitor with an
unexpected field cannot make the whole listing unreadable (the models raise on e.g. an unparseable date).

Retries are auditor's, not urllib3's, so every attempt is counted and every wait is bounded:

* 429 — wait what ``X-RateLimit-Reset`` says (seconds until the window resets), at most ``max_wait``;
  a reset further away than that gives up at once rather than sleep through the scan.
* 5xx, refused connections — exponential backoff from ``backoff`` up to ``backoff_max``.
* timeouts — the same backoff, but one retry only (``timeout_retries``): minutes of waiting on a hung API
  would buy nothing.
* past the scan deadline (:func:`~auditor.inventory.core.active_deadline`) no request is sent, and no wait
  runs past it.
* 401/403 — never retried; the reason says which key to look at (``/api/v1/validate`` tells an invalid API
  key from an application key without ``monitors_read``).

Anything that still fails becomes :class:`~auditor.inventory.core.NotAvailable`, i.e. "not evaluated".
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable
from typing import Any

import urllib3
from datadog_api_client import ApiClient, Configuration
from datadog_api_client.exceptions import ApiException, OpenApiException
from datadog_api_client.v1.api.authentication_api import AuthenticationApi
from datadog_api_client.v1.api.monitors_api import MonitorsApi
from datadog_api_client.v2.api.downtimes_api import DowntimesApi

from ..inventory.core import CallStats, NotAvailable, active_deadline, call_slot
from ..redact import scrub
from .settings import DatadogSettings

log = logging.getLogger("auditor.datadog")

#: The Datadog permission every read here needs (reported where AWS findings name an IAM action).
PERMISSION = "monitors_read"
#: ``GET /api/v2/downtime`` needs its own permission ("Get all downtimes", Datadog API reference).
DOWNTIME_PERMISSION = "monitors_downtime"
_OP_PERMISSIONS = {"ListDowntimes": DOWNTIME_PERMISSION}


def permission_for(op: str) -> str:
    """The Datadog permission the API operation ``op`` needs."""
    return _OP_PERMISSIONS.get(op, PERMISSION)

_RETRY_STATUSES = frozenset({408, 500, 502, 503, 504})


def _header(headers: Any, name: str) -> str | None:
    if not headers:
        return None
    for key, value in dict(headers).items():
        if str(key).lower() == name.lower():
            return str(value)
    return None


def _short(text: str, limit: int = 200) -> str:
    """``text`` scrubbed, then shortened: cutting first could leave part of a key that scrub no longer knows."""
    return scrub(text)[:limit]


def _error_text(exc: ApiException) -> str:
    """The API's own error message, scrubbed and shortened (an echoing proxy must not leak a key)."""
    return _short(_raw_error_text(exc))


def _raw_error_text(exc: ApiException) -> str:
    body = getattr(exc, "body", None)
    if isinstance(body, dict):
        errors = body.get("errors")
        if isinstance(errors, list) and errors:
            return "; ".join(str(e) for e in errors)
    if isinstance(body, str) and body.strip():
        return body.strip().splitlines()[0]
    return str(getattr(exc, "reason", "") or "")


class DatadogClient:
    """Monitors, downtimes and key validation with bounded, counted retries."""

    def __init__(
        self,
        settings: DatadogSettings,
        *,
        stats: CallStats | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.settings = settings
        self.tuning = settings.tuning
        self.stats = stats or CallStats()
        self._sleep = sleep
        conf = Configuration(
            host=settings.api_url,
            api_key={"apiKeyAuth": settings.api_key, "appKeyAuth": settings.app_key},
            return_http_data_only=True,
            preload_content=False,
            request_timeout=(self.tuning.connect_timeout, self.tuning.read_timeout),
        )
        conf.retry_policy = False  # no hidden urllib3 retries: every attempt goes through _call
        self._api = ApiClient(conf)
        self._api.user_agent = f"auditor (read-only) {self._api.user_agent}"
        self._monitors = MonitorsApi(self._api)
        self._downtimes = DowntimesApi(self._api)
        self._auth = AuthenticationApi(self._api)
        self._validated: bool | None = None
        self._lock = threading.Lock()

    def close(self) -> None:
        self._api.close()

    # -- the calls ----------------------------------------------------------------------------------------
    def list_monitors(self) -> list[dict]:
        """Every monitor, page by page (``page``/``page_size``) until a short page; deduplicated by id."""
        size = self.tuning.page_size
        out: dict[Any, dict] = {}
        page = 0
        while True:
            batch = self._call("ListMonitors", lambda p=page: self._monitors.list_monitors(
                page=p, page_size=size, with_downtimes=True))
            if not isinstance(batch, list):
                raise NotAvailable(
                    f"ListMonitors returned {type(batch).__name__}, not a list of monitors", PERMISSION
                )
            for item in batch:
                if isinstance(item, dict):
                    out.setdefault(item.get("id", f"#{len(out)}"), item)
            if len(batch) < size:
                return list(out.values())
            page += 1
            if page >= 10_000:  # a server that never returns a short page
                raise NotAvailable("ListMonitors did not stop paginating after 10000 pages", PERMISSION)

    def get_monitor(self, monitor_id: int) -> dict | None:
        try:
            data = self._call("GetMonitor", lambda: self._monitors.get_monitor(monitor_id, with_downtimes=True))
        except NotAvailable as exc:
            if exc.kind == "not-found":
                return None
            raise
        return data if isinstance(data, dict) else None

    def list_downtimes(self, *, limit: int = 100) -> list[dict]:
        """Active downtimes (``current_only``), paged by ``page[offset]``/``page[limit]``."""
        out: list[dict] = []
        offset = 0
        while True:
            body = self._call("ListDowntimes", lambda o=offset: self._downtimes.list_downtimes(
                current_only=True, page_offset=o, page_limit=limit))
            data = body.get("data") if isinstance(body, dict) else None
            if not isinstance(data, list):
                raise NotAvailable("ListDowntimes returned no 'data' list", DOWNTIME_PERMISSION)
            out.extend(d for d in data if isinstance(d, dict))
            if len(data) < limit:
                return out
            offset += limit
            if offset >= 1_000_000:
                raise NotAvailable("ListDowntimes did not stop paginating", DOWNTIME_PERMISSION)

    def api_key_valid(self) -> bool | None:
        """``GET /api/v1/validate``: True/False, or None when that could not be determined."""
        with self._lock:
            if self._validated is not None:
                return self._validated
        try:
            body = self._call("Validate", self._auth.validate, retries=False, explain_denied=False)
            valid = bool(body.get("valid")) if isinstance(body, dict) else None
        except NotAvailable as exc:
            valid = False if exc.kind == "denied" else None
        with self._lock:
            self._validated = valid
        return valid

    # -- machinery ----------------------------------------------------------------------------------------
    def _call(self, op: str, fn: Callable[[], Any], *, retries: bool = True, explain_denied: bool = True) -> Any:
        key = f"datadog:{op}"
        permission = permission_for(op)
        attempt = 0
        max_retries = self.tuning.max_retries if retries else 0
        deadline = active_deadline()
        while True:
            if deadline.expired:
                raise deadline.exceeded(PERMISSION)
            self.stats.record(key)
            wait: float | None = None
            try:
                with call_slot():
                    resp = fn()
                    try:
                        data = resp.data
                    finally:
                        resp.release_conn()
                try:
                    return json.loads(data) if data else None
                except ValueError:
                    raise NotAvailable(f"{op}: the Datadog API answered with something that is not JSON",
                                       permission) from None
            except ApiException as exc:
                status = int(exc.status or 0)
                if status in (401, 403):
                    raise self._denied(op, status, explain_denied) from None
                if status == 404:
                    raise NotAvailable(
                        f"{op}: {self.settings.api_url} answered 404 Not Found ({_error_text(exc)})",
                        permission, kind="not-found",
                    ) from None
                if status == 429:
                    wait, reason = self._rate_limit_wait(op, exc, attempt, max_retries)
                    if wait is None:
                        raise NotAvailable(reason, permission, kind="throttled") from None
                elif status in _RETRY_STATUSES or status >= 500:
                    if attempt >= max_retries:
                        raise NotAvailable(
                            f"{op}: Datadog answered HTTP {status} on {attempt + 1} attempt(s) "
                            f"({_error_text(exc) or 'server error'})", permission,
                        ) from None
                elif status == 0:  # TLS and other transport errors the client wraps
                    if attempt >= max_retries:
                        raise NotAvailable(f"{op}: could not talk to {self.settings.api_url} "
                                           f"({_short(str(exc.reason or '').strip(), 120)})",
                                           permission, kind="unreachable") from None
                else:
                    raise NotAvailable(f"{op} failed: HTTP {status} ({_error_text(exc)})", permission) from None
            except (urllib3.exceptions.HTTPError, OSError) as exc:
                timed_out = "timeout" in type(exc).__name__.lower() or "timed out" in str(exc)
                if attempt >= (min(max_retries, self.tuning.timeout_retries) if timed_out else max_retries):
                    what = "timed out" if timed_out else f"failed ({type(exc).__name__})"
                    raise NotAvailable(
                        f"{op}: the Datadog API at {self.settings.api_url} {what} on {attempt + 1} attempt(s)",
                        permission, kind="unreachable",
                    ) from None
            except NotAvailable:
                raise
            except OpenApiException as exc:
                raise NotAvailable(f"{op} failed: {type(exc).__name__}: {_short(str(exc))}",
                                   permission) from None
            except Exception as exc:  # noqa: BLE001 - whatever the client or transport throws is "not evaluated"
                log.debug("%s failed unexpectedly", key, exc_info=True)
                raise NotAvailable(f"{op} failed: {type(exc).__name__}: {_short(str(exc))}",
                                   permission) from None
            if wait is None:
                wait = min(self.tuning.backoff * (2 ** attempt), self.tuning.backoff_max)
            left = deadline.remaining()
            if left is not None and wait >= left:
                raise deadline.exceeded(PERMISSION)
            attempt += 1
            self.stats.record_retry(key)
            log.info("%s: retry %d in %.2fs", key, attempt, wait)
            if wait > 0:
                self._sleep(wait)

    def _rate_limit_wait(self, op: str, exc: ApiException, attempt: int, max_retries: int) -> tuple[float | None, str]:
        headers = getattr(exc, "headers", None)
        limit, period = _header(headers, "X-RateLimit-Limit"), _header(headers, "X-RateLimit-Period")
        name = _header(headers, "X-RateLimit-Name")
        raw_reset = _header(headers, "X-RateLimit-Reset")
        try:
            reset = max(0.0, float(raw_reset)) if raw_reset is not None else None
        except ValueError:
            reset = None
        quota = f" (limit {limit} requests per {period}s{f' for {name}' if name else ''})" if limit and period else ""
        if attempt >= max_retries:
            return None, f"{op}: rate limited by Datadog{quota} on {attempt + 1} attempt(s)"
        if reset is None:
            return min(self.tuning.backoff * (2 ** attempt), self.tuning.backoff_max), ""
        if reset > self.tuning.max_wait:
            return None, (f"{op}: rate limited by Datadog{quota}; the limit resets in {reset:g}s, longer than "
                          f"the {self.tuning.max_wait:g}s auditor waits")
        return reset, ""

    def _denied(self, op: str, status: int, explain: bool) -> NotAvailable:
        if explain and self.api_key_valid() is False:
            reason = (f"Datadog rejected the API key (HTTP 403 from /api/v1/validate at {self.settings.api_url}); "
                      "check DD_API_KEY and that DD_SITE/DD_HOST name the key's site")
        elif status == 401:
            reason = (f"Datadog answered 401 Unauthorized to {op}: the API or application key is not accepted "
                      f"at {self.settings.api_url}")
        else:
            reason = (f"Datadog answered 403 Forbidden to {op}: the application key (DD_APP_KEY) is invalid, "
                      f"revoked or lacks the {permission_for(op)} permission")
        return NotAvailable(reason, permission_for(op), kind="denied")
