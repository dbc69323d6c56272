"""A local Datadog API on 127.0.0.1 for the demo and the tests, spoken to by the real ``datadog-api-client``.

It answers with the real API's JSON (every field the client's models know, with the real types) for

* ``GET /api/v1/validate`` — API key only, ``{"valid": true}``; 403 for another key;
* ``GET /api/v1/monitor`` — all monitors, or pages with ``page``/``page_size`` (1 to 1000, default 100 when
  ``page`` is given; a larger one is refused with 400 — the spec's maximum, which datadog-api-client
  enforces before sending — rather than answered with a short page), ``id_offset``, ``name``,
  ``monitor_tags``, ``tags`` and ``with_downtimes`` (default true: each monitor carries its active
  ``matching_downtimes``);
* ``GET /api/v1/monitor/{id}``;
* ``GET /api/v2/downtime`` (``current_only``, ``page[offset]``, ``page[limit]``) and ``/api/v2/downtime/{id}``;
* ``GET /monitors/{id}`` — a tiny HTML page, so monitor links of the local "site" open somewhere.

Anything but GET is refused with 405 and recorded: auditor is read-only and tests can assert it.
:meth:`DatadogServer.fail` makes the next N matching requests fail (401/403/429 with ``X-RateLimit-*``
headers/5xx) or answer slowly, the way a test needs.
"""

from __future__ import annotations

import copy
import datetime as dt
import html
import json
import threading
import time
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

ORG_ID = 321813
#: ``GET /api/v1/monitor`` paging: ``page_size`` when only ``page`` is given, and the spec's maximum.
DEFAULT_PAGE_SIZE = 100
MAX_PAGE_SIZE = 1000
CREATOR = {"id": 1445416, "handle": "platform@shop.example", "name": "Platform Team", "email": "platform@shop.example"}
CREATOR_UUID = "3ad549bf-eba0-11e9-a77a-0705486660d0"
_EPOCH = dt.datetime(2024, 5, 6, 9, 30, tzinfo=dt.UTC)

_REASONS = {
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    408: "Request Timeout",
    429: "Too Many Requests",
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Unavailable",
    504: "Gateway Timeout",
}


def _iso(t: dt.datetime) -> str:
    return t.astimezone(dt.UTC).isoformat(timespec="microseconds")


def _parse_time(value: Any) -> dt.datetime | None:
    if value is None:
        return None
    if isinstance(value, dt.datetime):
        return value if value.tzinfo else value.replace(tzinfo=dt.UTC)
    if isinstance(value, (int, float)):
        return dt.datetime.fromtimestamp(value, dt.UTC)
    return dt.datetime.fromisoformat(str(value).replace("Z", "+00:00"))


def _critical_threshold(query: str) -> float | None:
    try:
        from auditor.datadog.query import parse_metric_query

        return parse_metric_query(query).threshold
    except Exception:  # noqa: BLE001 - a fixture may hold any query
        return None


def monitor(id: int, name: str, query: str, **overrides: Any) -> dict[str, Any]:
    """A monitor exactly as ``GET /api/v1/monitor`` returns it.

    ``type`` defaults to ``query alert`` (``composite`` when the query is only ids and operators);
    ``options`` given here are merged into the API's defaults; every other keyword replaces the field.
    """
    created = _EPOCH + dt.timedelta(minutes=id % 997)
    is_composite = bool(query) and all(ch.isdigit() or ch in " &|!()" for ch in query)
    mtype = overrides.pop("type", "composite" if is_composite else "query alert")
    options: dict[str, Any] = {
        "notify_audit": False,
        "include_tags": True,
        "silenced": {},
        "new_host_delay": 300,
        "notify_no_data": False,
        "require_full_window": False,
        "renotify_interval": None,
        "escalation_message": "",
        "evaluation_delay": None,
        "new_group_delay": 60 if "by {" in query else None,
    }
    if mtype != "composite":
        threshold = _critical_threshold(query)
        if threshold is not None:
            options["thresholds"] = {"critical": threshold}
    else:
        options = {"notify_audit": False, "include_tags": True, "silenced": {}, "notify_no_data": False,
                   "new_host_delay": 300}
    given = overrides.pop("options", None)
    if isinstance(given, dict):
        options.update(given)
    elif given is not None:  # a test wants a malformed monitor
        options = given
    data: dict[str, Any] = {
        "id": int(id),
        "org_id": ORG_ID,
        "name": name,
        "type": mtype,
        "query": query,
        "message": f"{name}\n\n@slack-platform-alerts",
        "tags": [],
        "options": options,
        "multi": "by {" in query,
        "overall_state": "OK",
        "overall_state_modified": _iso(created + dt.timedelta(days=3)),
        "created": _iso(created),
        "created_at": int(created.timestamp() * 1000),
        "modified": _iso(created + dt.timedelta(days=1)),
        "creator": dict(CREATOR),
        "priority": None,
        "restricted_roles": None,
        "deleted": None,
        "draft_status": "published",
    }
    data.update(overrides)
    return data


def downtime(
    monitor_id: int | None = None,
    *,
    id: str | None = None,
    monitor_tags: list[str] | None = None,
    scope: str = "*",
    message: str = "",
    start: Any = None,
    end: Any = None,
    status: str | None = None,
    canceled: Any = None,
) -> dict[str, Any]:
    """A downtime exactly as ``GET /api/v2/downtime`` lists it (one element of ``data``).

    ``status`` is computed from ``start``/``end`` at request time unless given.
    """
    start_t = _parse_time(start) or (_EPOCH - dt.timedelta(days=1))
    end_t = _parse_time(end)
    ident = {"monitor_id": int(monitor_id)} if monitor_id is not None else {"monitor_tags": list(monitor_tags or ["*"])}
    attrs: dict[str, Any] = {
        "canceled": _iso(_parse_time(canceled)) if canceled is not None else None,
        "created": _iso(start_t),
        "display_timezone": "UTC",
        "message": message,
        "modified": _iso(start_t),
        "monitor_identifier": ident,
        "mute_first_recovery_notification": False,
        "notify_end_states": ["alert", "no data", "warn"],
        "notify_end_types": ["expired"],
        "schedule": {"start": _iso(start_t), "end": _iso(end_t) if end_t else None},
        "scope": scope,
    }
    if status is not None:
        attrs["status"] = status
    return {
        "type": "downtime",
        "id": id or str(uuid.uuid5(uuid.NAMESPACE_URL, f"auditor-demo/{monitor_id}/{monitor_tags}/{scope}/{start}")),
        "attributes": attrs,
        "relationships": {
            "created_by": {"data": {"type": "users", "id": CREATOR_UUID}},
            "monitor": {"data": {"type": "monitors", "id": str(monitor_id)} if monitor_id is not None else None},
        },
    }


@dataclass
class _Fault:
    status: int
    remaining: int
    path_prefix: str
    delay: float
    headers: dict[str, str] = field(default_factory=dict)
    body: Any = None
    path: str | None = None  # exact path, instead of the prefix


class DatadogServer:
    """The local Datadog API. ``with DatadogServer(monitors).start() as dd: …`` or start()/stop()."""

    def __init__(
        self,
        monitors: list[dict] | None = None,
        downtimes: list[dict] | None = None,
        api_key: str | None = None,
        app_key: str | None = None,
    ) -> None:
        self.monitors: list[dict] = [copy.deepcopy(m) for m in (monitors or [])]
        self.downtimes: list[dict] = [copy.deepcopy(d) for d in (downtimes or [])]
        self.api_key = api_key
        self.app_key = app_key
        self.requests: list[tuple[str, str, dict[str, list[str]]]] = []
        self.request_times: list[float] = []
        self._faults: list[_Fault] = []
        self.unlisted: set[int] = set()  # ids left out of the listing but readable by id (restricted monitors)
        self._lock = threading.Lock()
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self.now: dt.datetime | None = None  # fixed clock for downtime status; None = real time
        self.latency = 0.0  # seconds added to every request, concurrently (benchmarks)

    # -- lifecycle ----------------------------------------------------------------------------------------
    def start(self) -> DatadogServer:
        server = self

        class Handler(_Handler):
            owner = server

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05},
                                        name="datadog-api", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None

    def __enter__(self) -> DatadogServer:
        return self if self._httpd is not None else self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    @property
    def port(self) -> int:
        assert self._httpd is not None, "server not started"
        return self._httpd.server_address[1]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def env(self) -> dict[str, str]:
        """Environment for a process that should read this server (keys included when set)."""
        out = {"DD_HOST": self.url}
        if self.api_key:
            out["DD_API_KEY"] = self.api_key
        if self.app_key:
            out["DD_APP_KEY"] = self.app_key
        return out

    # -- test controls ------------------------------------------------------------------------------------
    def fail(
        self,
        status: int,
        times: int = 1,
        path_prefix: str = "/api/",
        delay: float = 0.0,
        headers: dict[str, str] | None = None,
        body: Any = None,
        path: str | None = None,
    ) -> None:
        """Make the next ``times`` requests under ``path_prefix`` (or to exactly ``path``) fail with ``status``
        after ``delay`` seconds.

        ``status`` 200 (or 0) with a delay answers normally, only late — a slow API. 429 carries
        ``X-RateLimit-Limit/Period/Remaining/Reset/Name`` (override any with ``headers``). ``body`` replaces
        the default ``{"errors": [...]}``.
        """
        hdrs = dict(headers or {})
        if status == 429:
            hdrs = {"X-RateLimit-Limit": "100", "X-RateLimit-Period": "10", "X-RateLimit-Remaining": "0",
                    "X-RateLimit-Reset": "1", "X-RateLimit-Name": "monitors_list", **hdrs}
        with self._lock:
            self._faults.append(_Fault(int(status), int(times), path_prefix, float(delay), hdrs, body, path))

    def clear_faults(self) -> None:
        with self._lock:
            self._faults.clear()

    def slow(self, delay: float, times: int = 1, path_prefix: str = "/api/") -> None:
        self.fail(200, times=times, path_prefix=path_prefix, delay=delay)

    def calls(self, path: str) -> int:
        with self._lock:
            return sum(1 for _, p, _ in self.requests if p == path)

    def _take_fault(self, path: str) -> _Fault | None:
        with self._lock:
            for f in self._faults:
                if f.remaining > 0 and (path == f.path if f.path is not None else path.startswith(f.path_prefix)):
                    f.remaining -= 1
                    return f
        return None

    # -- data ---------------------------------------------------------------------------------------------
    def _now(self) -> dt.datetime:
        return self.now or dt.datetime.now(dt.UTC)

    def _status(self, d: dict) -> str:
        attrs = d.get("attributes", {})
        if attrs.get("status"):
            return attrs["status"]
        if attrs.get("canceled"):
            return "canceled"
        sched = attrs.get("schedule") or {}
        start, end, now = _parse_time(sched.get("start")), _parse_time(sched.get("end")), self._now()
        if start and start > now:
            return "scheduled"
        if end and end <= now:
            return "ended"
        return "active"

    def _downtime_json(self, d: dict) -> dict:
        out = copy.deepcopy(d)
        out["attributes"]["status"] = self._status(d)
        return out

    def _matching_downtimes(self, m: dict) -> list[dict]:
        out = []
        for i, d in enumerate(self.downtimes):
            if self._status(d) != "active":
                continue
            ident = d["attributes"].get("monitor_identifier") or {}
            if "monitor_id" in ident:
                if ident["monitor_id"] != m.get("id"):
                    continue
            else:
                wanted = ident.get("monitor_tags") or []
                if "*" not in wanted and not set(wanted) <= set(m.get("tags") or []):
                    continue
            sched = d["attributes"].get("schedule") or {}
            start, end = _parse_time(sched.get("start")), _parse_time(sched.get("end"))
            scope = d["attributes"].get("scope") or "*"
            out.append({
                "id": 1_000_000 + i,
                "start": int(start.timestamp()) if start else None,
                "end": int(end.timestamp()) if end else None,
                "scope": [scope],
                "groups": [],
            })
        return out

    def _monitor_json(self, m: Any, with_downtimes: bool) -> Any:
        out = copy.deepcopy(m)
        if with_downtimes and isinstance(out, dict):
            out["matching_downtimes"] = self._matching_downtimes(m)
        return out


def _first(qs: dict[str, list[str]], name: str) -> str | None:
    values = qs.get(name)
    return values[0] if values else None


def _bool(value: str | None, default: bool) -> bool:
    if value is None:
        return default
    return value.strip().lower() in ("true", "1", "yes")


class _Error(Exception):
    def __init__(self, status: int, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers = headers or {}


class _Handler(BaseHTTPRequestHandler):
    owner: DatadogServer
    protocol_version = "HTTP/1.1"
    server_version = "auditor-local-datadog/1.0"

    def log_message(self, format: str, *args: Any) -> None:  # quiet: tests read .requests instead
        pass

    # -- plumbing -----------------------------------------------------------------------------------------
    def _send(
        self, status: int, body: Any, headers: dict[str, str] | None = None, content_type: str = "application/json"
    ) -> None:
        if isinstance(body, bytes):
            raw = body
        elif isinstance(body, str):
            raw = body.encode()
        else:
            raw = json.dumps(body).encode()
        try:
            self.send_response(status, _REASONS.get(status))
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(raw)))
            for k, v in (headers or {}).items():
                self.send_header(k, v)
            self.end_headers()
            self.wfile.write(raw)
        except (BrokenPipeError, ConnectionResetError):  # the client gave up (timeout test)
            pass

    def _record(self) -> tuple[str, dict[str, list[str]]]:
        parts = urlsplit(self.path)
        qs = parse_qs(parts.query, keep_blank_values=True)
        with self.owner._lock:
            self.owner.requests.append((self.command, parts.path, qs))
            self.owner.request_times.append(time.monotonic())
        return parts.path, qs

    def _refuse(self) -> None:
        self._record()
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            self.rfile.read(length)
        self._send(405, {"errors": ["auditor's local Datadog API is read-only"]})

    do_POST = do_PUT = do_PATCH = do_DELETE = _refuse

    def do_GET(self) -> None:
        if self.owner.latency:
            time.sleep(self.owner.latency)
        path, qs = self._record()
        fault = self.owner._take_fault(path)
        if fault is not None:
            if fault.delay:
                time.sleep(fault.delay)
            if fault.status >= 400:
                body = fault.body if fault.body is not None else {"errors": [self._fault_message(fault.status)]}
                self._send(fault.status, body, fault.headers)
                return
        try:
            status, body, ctype = self._route(path, qs)
        except _Error as err:
            self._send(err.status, {"errors": [err.message]}, err.headers)
            return
        self._send(status, body, content_type=ctype)

    @staticmethod
    def _fault_message(status: int) -> str:
        if status == 429:
            return "Rate limit of 100 requests in 10 seconds reached. Please try again later."
        return _REASONS.get(status, "Error")

    def _auth(self, app_key: bool) -> None:
        o = self.owner
        if o.api_key is not None and self.headers.get("DD-API-KEY") != o.api_key:
            raise _Error(403, "Forbidden")
        if app_key and o.app_key is not None and self.headers.get("DD-APPLICATION-KEY") != o.app_key:
            raise _Error(403, "Forbidden")

    # -- routes -------------------------------------------------------------------------------------------
    def _route(self, path: str, qs: dict[str, list[str]]) -> tuple[int, Any, str]:
        o = self.owner
        segs = [s for s in path.split("/") if s]
        if path == "/api/v1/validate":
            self._auth(app_key=False)
            return 200, {"valid": True}, "application/json"
        if segs[:3] == ["api", "v1", "monitor"]:
            self._auth(app_key=True)
            if len(segs) == 3:
                return 200, self._list_monitors(qs), "application/json"
            if len(segs) == 4:
                return 200, self._get_monitor(segs[3], qs), "application/json"
        if segs[:3] == ["api", "v2", "downtime"]:
            self._auth(app_key=True)
            if len(segs) == 3:
                return 200, self._list_downtimes(qs), "application/json"
            if len(segs) == 4:
                with o._lock:
                    found = [d for d in o.downtimes if d.get("id") == segs[3]]
                if not found:
                    raise _Error(404, "downtime not found")
                return 200, {"data": o._downtime_json(found[0])}, "application/json"
        if len(segs) == 2 and segs[0] == "monitors":
            return 200, self._monitor_page(segs[1]), "text/html; charset=utf-8"
        raise _Error(404, "Not found")

    def _int_param(self, qs: dict[str, list[str]], name: str, default: int | None, minimum: int = 0,
                   maximum: int | None = None) -> int | None:
        raw = _first(qs, name)
        if raw is None or raw == "":
            return default
        try:
            value = int(raw)
        except ValueError:
            raise _Error(400, f"Invalid value for '{name}': {raw!r} is not an integer") from None
        if value < minimum:
            raise _Error(400, f"Invalid value for '{name}': must be >= {minimum}")
        if maximum is not None and value > maximum:
            raise _Error(400, f"Invalid value for '{name}': must be <= {maximum}")
        return value

    def _list_monitors(self, qs: dict[str, list[str]]) -> list[dict]:
        o = self.owner
        page = self._int_param(qs, "page", None)
        # The Monitors API: page_size 1..1000 (100 when only `page` is given); a bigger one is refused, not
        # silently shortened (a short page would end a client's paging early).
        page_size = self._int_param(qs, "page_size", DEFAULT_PAGE_SIZE, minimum=1, maximum=MAX_PAGE_SIZE)
        id_offset = self._int_param(qs, "id_offset", None)
        with_downtimes = _bool(_first(qs, "with_downtimes"), True)
        name = (_first(qs, "name") or "").lower()
        monitor_tags = [t for t in (_first(qs, "monitor_tags") or "").split(",") if t]
        scope_tags = [t for t in (_first(qs, "tags") or "").split(",") if t]
        def mid(m: Any) -> int | None:
            value = m.get("id") if isinstance(m, dict) else None
            return value if isinstance(value, int) else None

        def text(m: Any, name: str) -> str:
            return str(m.get(name, "")) if isinstance(m, dict) else ""

        with o._lock:
            items = [m for m in o.monitors
                     if not (isinstance(m, dict) and (m.get("deleted") or mid(m) in o.unlisted))]
            items.sort(key=lambda m: (mid(m) is None, mid(m) or 0))  # by id, malformed entries last
            if id_offset is not None:
                items = [m for m in items if (mid(m) or 0) > id_offset]
            if name:
                items = [m for m in items if name in text(m, "name").lower()]
            if monitor_tags:
                items = [m for m in items if isinstance(m, dict) and set(monitor_tags) <= set(m.get("tags") or [])]
            if scope_tags:
                items = [m for m in items if all(t in text(m, "query") for t in scope_tags)]
            if page is not None:
                size = page_size or DEFAULT_PAGE_SIZE
                items = items[page * size : (page + 1) * size]
            return [o._monitor_json(m, with_downtimes) for m in items]

    def _get_monitor(self, raw_id: str, qs: dict[str, list[str]]) -> dict:
        o = self.owner
        try:
            mid = int(raw_id)
        except ValueError:
            raise _Error(404, "Monitor not found") from None
        with o._lock:
            for m in o.monitors:
                if isinstance(m, dict) and m.get("id") == mid and not m.get("deleted"):
                    return o._monitor_json(m, _bool(_first(qs, "with_downtimes"), True))
        raise _Error(404, "Monitor not found")

    def _list_downtimes(self, qs: dict[str, list[str]]) -> dict:
        o = self.owner
        current_only = _bool(_first(qs, "current_only"), False)
        offset = self._int_param(qs, "page[offset]", 0) or 0
        limit = self._int_param(qs, "page[limit]", 30, minimum=1) or 30
        with o._lock:
            items = [o._downtime_json(d) for d in o.downtimes]
        if current_only:
            items = [d for d in items if d["attributes"]["status"] == "active"]
        total = len(items)
        return {"data": items[offset : offset + limit], "meta": {"page": {"total_filtered_count": total}}}

    def _monitor_page(self, raw_id: str) -> bytes:
        o = self.owner
        with o._lock:
            found = [m for m in o.monitors if isinstance(m, dict) and str(m.get("id")) == raw_id]
        if not found:
            raise _Error(404, "Monitor not found")
        m = found[0]
        body = (
            "<!doctype html><meta charset=utf-8><title>{name}</title>"
            "<h1>{name}</h1><p>Monitor {id} · {type}</p><pre>{query}</pre><pre>{options}</pre>"
        ).format(
            name=html.escape(str(m.get("name"))),
            id=m.get("id"),
            type=html.escape(str(m.get("type"))),
            query=html.escape(str(m.get("query"))),
            options=html.escape(json.dumps(m.get("options"), indent=2)),
        )
        return body.encode()
