"""The benchmark's moto server: latency injected outside the tool, AWS page sizes, a request counter.

A WSGI middleware in front of moto's app (installed by :class:`auditor.demo.servers.LocalAws` when
``AUDITOR_MOTO_BENCH`` is set, or when ``AUDITOR_MOTO_LATENCY_MS`` asks for latency):

* **latency** — every AWS request sleeps ``latency`` seconds before moto answers it. The server is threaded,
  so concurrent requests overlap as they do against AWS. The latency can be changed while the server runs
  (``POST /_bench/latency?ms=50``), so an account is seeded at full speed and measured with latency.
* **page sizes** — moto answers ``ListFunctions`` and ``ListEventSourceMappings`` with everything in one
  page; AWS hands out at most 50 functions and 100 mappings per page. The middleware slices moto's full answer
  into AWS-sized pages with ``NextMarker`` tokens that boto3's paginator passes back as ``Marker``. The full
  answer is taken when the first page is asked for (a request without ``Marker``) and the following pages are
  cut from it, so a listing is one consistent snapshot, as a marker walk over AWS is.
* **bucket regions** — AWS answers a ``ListBuckets`` request that carries any parameter (``max-buckets``,
  ``prefix``, …) with each bucket's ``BucketRegion``; moto 5.2.5 never does. The middleware adds it from
  moto's own record of the bucket, so the tool reads regions as it does on AWS (no ``GetBucketLocation``).
* **replay** (optional, ``POST /_bench/replay?on=1``) — once the account is built it does not change, and the
  tool only reads it: every read (``Describe*``/``List*``/``Get*``) is answered once by moto, and an identical
  request (same operation, region, path, query and body) later gets the same bytes without moto's ~5 ms of
  CPU per request. On a two-core machine that CPU would otherwise compete with the process being measured —
  AWS's servers cost the client nothing. ``POST /_bench/replay?on=0`` switches it off and forgets.
* **as a proxy** — botocore's endpoint rules put the account id in front of a custom endpoint's host for
  ``s3control`` (``123456789012.127.0.0.1``), a name no resolver knows. A client whose ``HTTP_PROXY`` is this
  server sends it the request unresolved (absolute URL); the middleware takes the account label off the host
  and moto answers as for a direct request. Requests for the server's own address arrive the same way and
  are served as if sent directly.
* **counting** — every AWS request is counted by ``service:Operation`` (what the server saw, retries
  included), with the largest number of requests in flight at once: ``GET /_bench/stats``; each request's
  operation, start and end (``time.monotonic()``, the same clock in every process of the machine):
  ``GET /_bench/timeline``; both reset with ``POST /_bench/reset``.

Nothing here runs unless asked for: the demo and the tests use moto as it is.
"""

from __future__ import annotations

import io
import json
import re
import threading
import time
from collections import Counter, OrderedDict
from typing import Any
from urllib.parse import parse_qs, urlencode

#: The most items AWS returns per page (Lambda API reference: ListFunctions, ListEventSourceMappings).
PAGE_SIZES = {
    "ListFunctions": ("Functions", 50),
    "ListEventSourceMappings": ("EventSourceMappings", 100),
}
_LISTINGS = {
    "/2015-03-31/functions": "ListFunctions",
    "/2015-03-31/event-source-mappings": "ListEventSourceMappings",
}
_MARKER = re.compile(r"^bench-(\d+)-(\d+)$")
_CREDENTIAL = re.compile(r"Credential=[^/]+/[^/]+/[^/]+/([^/]+)/")
_KEPT_LISTINGS = 64
_READS = ("Describe", "List", "Get")


class BenchState:
    """Latency, counters and listing snapshots shared by every request thread of one server."""

    def __init__(self, latency: float = 0.0) -> None:
        self.latency = latency
        self._lock = threading.Lock()
        self.calls: Counter[str] = Counter()
        self.timeline: list[tuple[str, float, float]] = []
        self.inflight = 0
        self.peak = 0
        self._snapshots: OrderedDict[int, list[Any]] = OrderedDict()
        self._next = 0
        self.replay = False
        self.responses: dict[tuple, tuple[str, list[tuple[str, str]], bytes]] = {}
        self.replayed = 0

    def enter(self, op: str) -> float:
        with self._lock:
            self.calls[op] += 1
            self.inflight += 1
            self.peak = max(self.peak, self.inflight)
        return time.monotonic()

    def leave(self, op: str, started: float) -> None:
        with self._lock:
            self.inflight -= 1
            self.timeline.append((op, started, time.monotonic()))

    def reset(self) -> None:
        with self._lock:
            self.calls.clear()
            self.timeline.clear()
            self.peak = self.inflight

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            return {"calls": dict(sorted(self.calls.items())), "total": sum(self.calls.values()),
                    "peak_inflight": self.peak, "latency_ms": self.latency * 1000, "replay": self.replay,
                    "replayed": self.replayed, "recorded": len(self.responses)}

    def recorded(self, key: tuple) -> tuple[str, list[tuple[str, str]], bytes] | None:
        with self._lock:
            got = self.responses.get(key)
            if got is not None:
                self.replayed += 1
            return got

    def record(self, key: tuple, response: tuple[str, list[tuple[str, str]], bytes]) -> None:
        with self._lock:
            self.responses.setdefault(key, response)

    def keep(self, items: list[Any]) -> int:
        with self._lock:
            self._next += 1
            self._snapshots[self._next] = items
            while len(self._snapshots) > _KEPT_LISTINGS:
                self._snapshots.popitem(last=False)
            return self._next

    def listing(self, ident: int) -> list[Any] | None:
        with self._lock:
            return self._snapshots.get(ident)


def operation(environ: dict[str, Any], body: bytes) -> str:
    """``service:Operation`` of an AWS request, as botocore names it (best effort, for counting)."""
    auth = environ.get("HTTP_AUTHORIZATION", "")
    m = _CREDENTIAL.search(auth)
    service = m.group(1) if m else "?"
    target = environ.get("HTTP_X_AMZ_TARGET")
    if target:
        return f"{service}:{target.rsplit('.', 1)[-1]}"
    method, path = environ.get("REQUEST_METHOD", "GET"), environ.get("PATH_INFO", "/")
    query = environ.get("QUERY_STRING", "")
    if service in ("ec2", "iam", "sts", "sqs") or environ.get("CONTENT_TYPE", "").startswith(
        "application/x-www-form-urlencoded"
    ):
        action = parse_qs(query).get("Action") or parse_qs(body.decode("utf-8", "replace")).get("Action")
        if action:
            return f"{service}:{action[0]}"
    if service == "lambda":
        return f"lambda:{_lambda_operation(method, path)}"
    if service == "s3":
        return _s3_operation(method, path, query)
    return f"{service}:{method} {path}"


def _lambda_operation(method: str, path: str) -> str:
    parts = [p for p in path.split("/") if p]
    if method != "GET" or len(parts) < 2:
        return f"{method} {path}"
    kind = parts[1]
    if kind == "functions":
        if len(parts) == 2:
            return "ListFunctions"
        if len(parts) == 3:
            return "GetFunction"
        return {"configuration": "GetFunctionConfiguration", "concurrency": "GetFunctionConcurrency",
                "aliases": "ListAliases", "versions": "ListVersionsByFunction",
                "policy": "GetPolicy"}.get(parts[3], f"GET {path}")
    if kind == "event-source-mappings":
        return "ListEventSourceMappings" if len(parts) == 2 else "GetEventSourceMapping"
    return f"GET {path}"


def _s3_operation(method: str, path: str, query: str) -> str:
    if path.startswith("/v20180820/"):
        return "s3control:GetPublicAccessBlock" if "publicAccessBlock" in path else f"s3control:{method} {path}"
    keys = set(parse_qs(query, keep_blank_values=True))
    if method == "GET" and path.strip("/") == "":
        return "s3:ListBuckets"
    if method == "GET" and "/" not in path.strip("/"):
        for key, op in (("location", "GetBucketLocation"), ("policy", "GetBucketPolicy"),
                        ("publicAccessBlock", "GetPublicAccessBlock"), ("tagging", "GetBucketTagging"),
                        ("policyStatus", "GetBucketPolicyStatus"), ("notification", "GetBucketNotificationConfiguration")):
            if key in keys:
                return f"s3:{op}"
    return f"s3:{method} {'?'.join([path, *sorted(keys)][:2])}"


class BenchMiddleware:
    """Wraps a WSGI app (moto's) with latency, AWS page sizes and counting; see the module docstring."""

    def __init__(self, app: Any, state: BenchState) -> None:
        self.app = app
        self.state = state

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        _unproxy(environ)
        path = environ.get("PATH_INFO", "")
        if path.startswith("/_bench/"):
            return self._control(environ, start_response)
        body = self._body(environ)
        op = operation(environ, body)
        started = self.state.enter(op)
        try:
            if self.state.latency:
                time.sleep(self.state.latency)
            if not (self.state.replay and op.split(":", 1)[-1].startswith(_READS)):
                return self._answer(environ, start_response)
            key = (op, _scope(environ), environ.get("REQUEST_METHOD"), path, environ.get("QUERY_STRING", ""), body)
            got = self.state.recorded(key)
            if got is None:
                got = _collect(self._answer, environ)
                self.state.record(key, got)
            status, headers, raw = got
            start_response(status, headers)
            return [raw]
        finally:
            self.state.leave(op, started)

    def _answer(self, environ: dict[str, Any], start_response: Any) -> Any:
        path = environ.get("PATH_INFO", "")
        listing = _LISTINGS.get(path.rstrip("/")) if environ.get("REQUEST_METHOD") == "GET" else None
        if listing is not None:
            return self._paged(listing, environ, start_response)
        if environ.get("REQUEST_METHOD") == "GET" and path.strip("/") == "" and _scope(environ).endswith("/s3") \
                and environ.get("QUERY_STRING"):
            status, headers, raw = self._call_moto(environ, environ["QUERY_STRING"])
            if status.startswith("200"):
                raw = _with_bucket_regions(raw)
                headers = [(k, v) for k, v in headers if k.lower() != "content-length"]
                headers.append(("Content-Length", str(len(raw))))
            start_response(status, headers)
            return [raw]
        return self.app(environ, start_response)

    @staticmethod
    def _body(environ: dict[str, Any]) -> bytes:
        """Read the request body (to name query-protocol operations) and put it back for moto."""
        try:
            length = int(environ.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        if length <= 0:
            return b""
        body = environ["wsgi.input"].read(length)
        environ["wsgi.input"] = io.BytesIO(body)
        return body

    def _control(self, environ: dict[str, Any], start_response: Any) -> list[bytes]:
        path, query = environ["PATH_INFO"], parse_qs(environ.get("QUERY_STRING", ""))
        if path == "/_bench/latency" and "ms" in query:
            self.state.latency = float(query["ms"][0]) / 1000
        elif path == "/_bench/replay" and "on" in query:
            with self.state._lock:
                self.state.replay = query["on"][0] not in ("0", "false", "")
                self.state.responses.clear()
                self.state.replayed = 0
        elif path == "/_bench/reset":
            self.state.reset()
        elif path == "/_bench/timeline":
            with self.state._lock:
                raw = json.dumps(self.state.timeline).encode()
            start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(raw)))])
            return [raw]
        elif path != "/_bench/stats":
            start_response("404 Not Found", [("Content-Type", "text/plain")])
            return [b"unknown bench control"]
        raw = json.dumps(self.state.snapshot()).encode()
        start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(raw)))])
        return [raw]

    def _paged(self, op: str, environ: dict[str, Any], start_response: Any) -> list[bytes]:
        key, limit = PAGE_SIZES[op]
        query = parse_qs(environ.get("QUERY_STRING", ""), keep_blank_values=True)
        marker = (query.pop("Marker", None) or [""])[0]
        try:
            size = min(limit, max(1, int((query.pop("MaxItems", None) or [limit])[0])))
        except ValueError:
            size = limit
        found = _MARKER.match(marker)
        items = self.state.listing(int(found.group(1))) if found else None
        offset = int(found.group(2)) if found else 0
        if items is None:  # the first page (or a snapshot long gone): take moto's whole answer now
            status, headers, raw = self._call_moto(environ, urlencode(query, doseq=True))
            if not status.startswith("200"):
                start_response(status, headers)
                return [raw]
            items = json.loads(raw).get(key) or []
            ident = self.state.keep(items)
        else:
            ident = int(found.group(1))  # type: ignore[union-attr]
        page: dict[str, Any] = {key: items[offset : offset + size]}
        if offset + size < len(items):
            page["NextMarker"] = f"bench-{ident}-{offset + size}"
        out = json.dumps(page).encode()
        start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(out)))])
        return [out]

    def _call_moto(self, environ: dict[str, Any], query: str) -> tuple[str, list[tuple[str, str]], bytes]:
        return _collect(self.app, dict(environ, QUERY_STRING=query))


def _with_bucket_regions(raw: bytes) -> bytes:
    """moto's ``ListAllMyBucketsResult`` with ``<BucketRegion>`` after each bucket's ``<Name>``, as AWS answers."""
    from moto.core.models import DEFAULT_ACCOUNT_ID
    from moto.s3.models import s3_backends

    buckets = s3_backends[DEFAULT_ACCOUNT_ID]["aws"].buckets

    def add(m: re.Match) -> bytes:
        bucket = buckets.get(m.group(1).decode())
        region = f"<BucketRegion>{bucket.region_name}</BucketRegion>".encode() if bucket is not None else b""
        return m.group(0) + region

    return re.sub(rb"<Name>([^<]+)</Name>", add, raw)


def _collect(app: Any, environ: dict[str, Any]) -> tuple[str, list[tuple[str, str]], bytes]:
    """Run a WSGI ``app`` and return its whole answer: (status, headers with Content-Length, body)."""
    got: dict[str, Any] = {}

    def capture(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
        got["status"], got["headers"] = status, headers
        return lambda data: None

    chunks = app(environ, capture)
    try:
        raw = b"".join(chunks)
    finally:
        close = getattr(chunks, "close", None)
        if close is not None:
            close()
    headers = [(k, v) for k, v in got["headers"] if k.lower() != "content-length"]
    return got["status"], [*headers, ("Content-Length", str(len(raw)))], raw


def _unproxy(environ: dict[str, Any]) -> None:
    """A request sent through the proxy (absolute URL) as it would have arrived directly."""
    for key in ("REQUEST_URI", "RAW_URI"):
        uri = environ.get(key, "")
        if uri.startswith(("http://", "https://")):
            environ[key] = "/" + uri.split("://", 1)[1].partition("/")[2]
    host = environ.get("HTTP_HOST", "")
    label, _, rest = host.partition(".")
    if label.isdigit() and len(label) == 12 and rest:  # s3control: {AccountId}.{endpoint host}
        environ["HTTP_HOST"] = rest


def _scope(environ: dict[str, Any]) -> str:
    """``region/service`` of the request's SigV4 credential scope (part of what identifies a request)."""
    m = re.search(r"Credential=[^/]+/[^/]+/([^/]+)/([^/]+)/", environ.get("HTTP_AUTHORIZATION", ""))
    return f"{m.group(1)}/{m.group(2)}" if m else ""


_state: BenchState | None = None


def install(latency: float = 0.0) -> BenchState:
    """Wrap moto's server app in this process with :class:`BenchMiddleware` (before the server starts)."""
    global _state
    if _state is not None:
        _state.latency = latency
        return _state
    from moto.moto_server import threaded_moto_server as tms

    base = tms.DomainDispatcherApplication
    state = _state = BenchState(latency)

    class Benched(base):  # type: ignore[misc, valid-type]
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self._bench = BenchMiddleware(super().__call__, state)

        def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
            return self._bench(environ, start_response)

    tms.DomainDispatcherApplication = Benched
    return state


# -- the client side: control a bench server from the benchmark process ----------------------------------------
def _request(endpoint: str, path: str, method: str = "GET") -> dict[str, Any]:
    import urllib.request

    req = urllib.request.Request(f"{endpoint}{path}", method=method, data=b"" if method == "POST" else None)
    with urllib.request.urlopen(req, timeout=30) as resp:
        return json.loads(resp.read())


def set_latency(endpoint: str, ms: float) -> None:
    _request(endpoint, f"/_bench/latency?ms={ms:g}", "POST")


def set_replay(endpoint: str, on: bool) -> None:
    _request(endpoint, f"/_bench/replay?on={int(on)}", "POST")


def reset_stats(endpoint: str) -> None:
    _request(endpoint, "/_bench/reset", "POST")


def stats(endpoint: str) -> dict[str, Any]:
    return _request(endpoint, "/_bench/stats")


def timeline(endpoint: str) -> list[tuple[str, float, float]]:
    """(operation, start, end) of every request since the last reset, ``time.monotonic()`` seconds."""
    return [tuple(x) for x in _request(endpoint, "/_bench/timeline")]  # type: ignore[misc]
