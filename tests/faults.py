"""A fault-injecting HTTP proxy between the real CLI and the moto server (test code only).

The CLI reaches AWS exactly as in production (a profile whose ``endpoint_url`` is the proxy); the proxy
forwards every request to moto unchanged, except those a :class:`Fault` rule picks, which it answers itself
the way AWS would — in the error shape of the service's own protocol — or drops, or never answers::

    with FaultProxy(seeded_aws, [Fault("sqs", "ListQueues", "denied")]) as proxy:
        result = run_auditor("scan", "--profile", "demo", env=proxy.env())
        assert proxy.injected(kind="denied") == 1

Each request is identified as ``(service, operation)`` with botocore's own service models: the service from
the SigV4 credential scope (``Authorization: ... Credential=KEY/DATE/REGION/SERVICE/aws4_request``), the
operation from ``X-Amz-Target`` (JSON protocol), ``Action=`` (query and EC2 protocols), the
``/service/S/operation/O`` path (Smithy RPC v2 CBOR, e.g. Cloud Map) or, for REST protocols (Lambda, S3),
the method and path matched against each operation's ``http.requestUri`` template.

Fault kinds, answered per protocol as AWS does:

==========  ===========================================================================================
throttle    query ``Throttling`` 400 · EC2 ``RequestLimitExceeded`` 503 · JSON ``ThrottlingException``
            400 · SQS ``RequestThrottled`` 400 · Lambda ``TooManyRequestsException`` 429 with
            ``Retry-After`` · S3 ``SlowDown`` 503 · CBOR ``ThrottlingException`` 400
denied      ``AccessDenied`` 403 (query, S3) · ``UnauthorizedOperation`` 403 (EC2) ·
            ``AccessDeniedException`` (JSON/CBOR 400, Lambda 403)
500, 503    ``InternalFailure``/``InternalError`` 500 · ``ServiceUnavailable`` 503 (S3: ``InternalError``,
            Lambda: ``ServiceException``)
reset       the request is read, then the connection is closed with a TCP reset
hang        the request is read and never answered (until the client gives up or the proxy stops)
==========  ===========================================================================================

A failure "past the retries" is a rule with ``probability=1`` and the CLI's retry budget made small, e.g.
``proxy.env(AUDITOR_AWS_MAX_ATTEMPTS="1")``. Every request is logged (:attr:`FaultProxy.requests`) with the
SDK's attempt number (``amz-sdk-request``) and the fault injected, so a test can compare what the server saw
with what the CLI reports.
"""

from __future__ import annotations

import contextlib
import hashlib
import http.client
import json
import re
import select
import socket
import struct
import tempfile
import threading
import time
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

KINDS = ("throttle", "denied", "500", "503", "reset", "hang")

def _called_services() -> tuple[str, ...]:
    from auditor.inventory.loads import LOADS, operations

    return ("sts", *sorted({op.service for op in operations(LOADS) if op.service != "datadog"}))


#: Services the proxy can name by default: every service auditor calls (the identity lookup, and every service
#: behind a declared load, so a new check's service is known without editing this list).
SERVICES = _called_services()


@dataclass(frozen=True)
class Fault:
    """Answer requests of ``service:operation`` (``"*"`` matches any) with ``kind`` instead of forwarding.

    ``probability`` is decided per request by a hash of (proxy seed, rule, the request itself, its attempt
    number), not by a shared random stream: the same request on the same attempt always meets the same
    fate, whatever order the scanner's threads send in (across runs too, for requests that do not carry the
    server's port — SQS queue URLs do). ``count`` caps how many times the rule fires (``None``: no cap).
    The first rule that matches and fires wins.
    """

    service: str
    operation: str
    kind: str
    probability: float = 1.0
    count: int | None = None

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"unknown fault kind {self.kind!r}; one of {', '.join(KINDS)}")

    def matches(self, service: str, operation: str) -> bool:
        return self.service in ("*", service) and self.operation in ("*", operation)


@dataclass(frozen=True)
class Seen:
    """One request as the proxy saw it."""

    service: str
    operation: str
    attempt: int  # the SDK's attempt number (1 for a first attempt), 0 when the header is missing
    fault: str | None  # the kind injected, None when forwarded to the server


# -- identifying the operation ------------------------------------------------------------------------------
@dataclass(frozen=True)
class _Service:
    name: str
    protocol: str
    signing_name: str
    target_prefix: str
    json_version: str
    api_version: str
    query_compatible: bool
    rest_ops: tuple[tuple[str, re.Pattern, tuple[tuple[str, str | None], ...], int, str], ...]


def _uri_pattern(uri: str) -> tuple[re.Pattern, tuple[tuple[str, str | None], ...], int]:
    """``/{Bucket}?policy`` → (path regex, required query (key, value|None), specificity)."""
    path, _, query = uri.partition("?")
    path = path.rstrip("/") or "/"
    regex, literal = "", 0
    for part in re.split(r"(\{[^}]+\})", path):
        if part.startswith("{"):
            regex += "(.+)" if part.endswith("+}") else "([^/]+)"
        else:
            regex += re.escape(part)
            literal += len(part)
    required = []
    for item in filter(None, query.split("&")):
        key, eq, value = item.partition("=")
        required.append((key, value if eq else None))
    return re.compile(f"^{regex}/?$"), tuple(required), literal + 100 * len(required)


@cache
def _models(names: tuple[str, ...]) -> tuple[_Service, ...]:
    import botocore.session

    session = botocore.session.get_session()
    out = []
    for name in names:
        model = session.get_service_model(name)
        meta = model.metadata
        rest = []
        if model.protocol in ("rest-json", "rest-xml"):  # REST operations are told apart by method and path
            for op_name in model.operation_names:
                op = model.operation_model(op_name)
                http = op.http
                pattern, required, score = _uri_pattern(http.get("requestUri", "/"))
                # Of two operations on one URI (S3's GetBucketNotification, deprecated, and
                # GetBucketNotificationConfiguration), the current one is the name a request goes by.
                score -= 1 if op.deprecated else 0
                rest.append((http.get("method", "GET"), pattern, required, score, op_name))
        out.append(_Service(
            name=name, protocol=getattr(model, "resolved_protocol", model.protocol),
            signing_name=model.signing_name or name,
            target_prefix=meta.get("targetPrefix", ""), json_version=meta.get("jsonVersion", "1.0"),
            api_version=meta.get("apiVersion", ""), query_compatible="awsQueryCompatible" in meta,
            rest_ops=tuple(rest),
        ))
    return tuple(out)


_SCOPE = re.compile(r"Credential=[^/,\s]+/\d{8}/[^/]+/([^/]+)/aws4_request")


def identify(services: Iterable[_Service], method: str, target: str, headers: Any, body: bytes
             ) -> tuple[_Service | None, str, str]:
    """The service model, operation name and protocol of one request (None, "?" when it cannot be told).

    The protocol is the one the request speaks (a service may offer several, e.g. Cloud Map JSON and CBOR):
    an error must come back in that one.
    """
    services = list(services)
    scope = _SCOPE.search(headers.get("Authorization", "") or "")
    signing = scope.group(1) if scope else ""
    signed = [s for s in services if s.signing_name == signing] or services
    url = urlsplit(target)
    amz_target = headers.get("X-Amz-Target")
    if amz_target:
        prefix, _, op = amz_target.rpartition(".")
        return next((s for s in signed if s.target_prefix == prefix), None), op, "json"
    rpc = re.match(r"^/service/([^/]+)/operation/([^/?]+)", url.path)
    if rpc:
        svc = next((s for s in signed if s.target_prefix == rpc.group(1)), None)
        return svc, rpc.group(2), "smithy-rpc-v2-cbor"
    form = [s for s in signed if s.protocol in ("query", "ec2")]
    if form:
        fields = parse_qs(body.decode("utf-8", "replace")) if body else {}
        fields = fields or parse_qs(url.query)
        if "Action" in fields:
            return form[0], fields["Action"][0], form[0].protocol
    query = parse_qs(url.query, keep_blank_values=True)
    path = url.path.rstrip("/") or "/"
    best: tuple[int, _Service | None, str] = (-1, None, "?")
    for svc in signed:
        for verb, pattern, required, score, op_name in svc.rest_ops:
            if verb != method or not pattern.match(path):
                continue
            if all(k in query and (v is None or v in query[k]) for k, v in required) and score > best[0]:
                best = (score, svc, op_name)
    return best[1], best[2], best[1].protocol if best[1] else "json"


# -- answering like AWS -------------------------------------------------------------------------------------
def _cbor_text(value: str) -> bytes:
    data = value.encode()
    return _cbor_head(3, len(data)) + data


def _cbor_head(major: int, n: int) -> bytes:
    if n < 24:
        return bytes([major << 5 | n])
    if n < 256:
        return bytes([major << 5 | 24, n])
    return bytes([major << 5 | 25]) + struct.pack(">H", n)


def _cbor_map(items: dict[str, str]) -> bytes:
    return _cbor_head(5, len(items)) + b"".join(_cbor_text(k) + _cbor_text(v) for k, v in items.items())


_CODES = {
    # kind: protocol (or service) → (code, HTTP status)
    "throttle": {"query": ("Throttling", 400), "ec2": ("RequestLimitExceeded", 503), "json": ("ThrottlingException", 400),
                 "sqs": ("RequestThrottled", 400), "rest-json": ("TooManyRequestsException", 429),
                 "rest-xml": ("SlowDown", 503), "smithy-rpc-v2-cbor": ("ThrottlingException", 400)},
    "denied": {"query": ("AccessDenied", 403), "ec2": ("UnauthorizedOperation", 403),
               "json": ("AccessDeniedException", 400), "sqs": ("AccessDenied", 403),
               "rest-json": ("AccessDeniedException", 403), "rest-xml": ("AccessDenied", 403),
               "smithy-rpc-v2-cbor": ("AccessDeniedException", 400)},
    "500": {"ec2": ("InternalError", 500), "rest-json": ("ServiceException", 500), "rest-xml": ("InternalError", 500),
            "*": ("InternalFailure", 500)},
    "503": {"rest-json": ("ServiceException", 503), "rest-xml": ("ServiceUnavailable", 503),
            "*": ("ServiceUnavailable", 503)},
}
_MESSAGES = {"throttle": "Rate exceeded", "denied": "User is not authorized to perform this operation",
             "500": "An internal error occurred", "503": "The service is unavailable"}


def error_response(svc: _Service | None, kind: str, protocol: str) -> tuple[int, dict[str, str], bytes]:
    """Status, headers and body of an AWS error of ``kind``, as ``svc`` answers in ``protocol``."""
    table = _CODES[kind]
    code, status = table.get(svc.name if svc else "", table.get(protocol, table.get("*", ("InternalFailure", 500))))
    message = _MESSAGES[kind]
    rid = str(uuid.uuid4())
    headers = {"x-amzn-RequestId": rid}
    if protocol == "query":
        ns = f"https://{svc.signing_name if svc else 'sts'}.amazonaws.com/doc/{svc.api_version if svc else ''}/"
        kind_of = "Receiver" if status >= 500 else "Sender"
        body = (f'<ErrorResponse xmlns="{ns}"><Error><Type>{kind_of}</Type><Code>{code}</Code>'
                f"<Message>{message}</Message></Error><RequestId>{rid}</RequestId></ErrorResponse>")
        headers["Content-Type"] = "text/xml"
        return status, headers, body.encode()
    if protocol == "ec2":
        body = (f'<?xml version="1.0" encoding="UTF-8"?>\n<Response><Errors><Error><Code>{code}</Code>'
                f"<Message>{message}</Message></Error></Errors><RequestID>{rid}</RequestID></Response>")
        headers["Content-Type"] = "text/xml;charset=UTF-8"
        return status, headers, body.encode()
    if protocol == "rest-xml":
        if svc and svc.name == "s3":
            body = (f'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>{code}</Code><Message>{message}</Message>'
                    f"<RequestId>{rid}</RequestId><HostId>proxy</HostId></Error>")
            headers["x-amz-request-id"] = rid
        else:
            body = (f"<ErrorResponse><Error><Type>Sender</Type><Code>{code}</Code><Message>{message}</Message>"
                    f"</Error><RequestId>{rid}</RequestId></ErrorResponse>")
        headers["Content-Type"] = "application/xml"
        return status, headers, body.encode()
    if protocol == "rest-json":
        headers["x-amzn-ErrorType"] = f"{code}:http://internal.amazon.com/coral/com.amazonaws.awslambda/"
        headers["Content-Type"] = "application/json"
        if status == 429:
            headers["Retry-After"] = "1"
            payload = {"Type": "User", "Reason": "CallerRateLimitExceeded", "message": message}
        else:
            payload = {"Type": "User" if status < 500 else "Service", "message": message}
        return status, headers, json.dumps(payload).encode()
    if protocol == "smithy-rpc-v2-cbor":
        headers["Content-Type"] = "application/cbor"
        headers["smithy-protocol"] = "rpc-v2-cbor"
        return status, headers, _cbor_map({"__type": f"com.amazonaws.{svc.name if svc else 'x'}#{code}",
                                           "message": message})
    # JSON protocol (ECS, SQS, ...); SQS is "query compatible": the legacy code travels in a header.
    headers["Content-Type"] = f"application/x-amz-json-{svc.json_version if svc else '1.0'}"
    if svc and svc.query_compatible:
        headers["x-amzn-query-error"] = f"{code};{'Receiver' if status >= 500 else 'Sender'}"
    namespace = f"com.amazonaws.{svc.name}" if svc else "com.amazon.coral.service"
    return status, headers, json.dumps({"__type": f"{namespace}#{code}", "message": message}).encode()


# -- the proxy ----------------------------------------------------------------------------------------------
def _draw(seed: int, rule: int, identity: bytes) -> float:
    """A number in [0, 1) fixed by the seed, the rule and the request (method, path, attempt, body)."""
    digest = hashlib.blake2b(identity, digest_size=8, key=f"{seed}/{rule}".encode()).digest()
    return int.from_bytes(digest, "big") / 2**64


_HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "te", "trailer", "upgrade", "proxy-connection",
               "content-length"}


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base class's name
        pass

    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        self._handle()

    do_POST = do_PUT = do_DELETE = do_HEAD = do_PATCH = do_GET

    def _handle(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        proxy = self.server.proxy
        svc, operation, protocol = identify(proxy.services, self.command, self.path, self.headers, body)
        service = svc.name if svc else "?"
        found = re.search(r"attempt=(\d+)", self.headers.get("amz-sdk-request", ""))
        attempt = int(found.group(1)) if found else 0
        identity = b"%s %s %d\n%s" % (self.command.encode(), self.path.encode(), attempt, body)
        fault = proxy._choose(service, operation, identity)
        proxy._log(Seen(service, operation, attempt, fault))
        if fault == "reset":
            self._reset()
        elif fault == "hang":
            self._hang()
        elif fault is not None:
            self._answer(*error_response(svc, fault, protocol))
        else:
            self._forward(body)

    def _answer(self, status: int, headers: dict[str, str], body: bytes) -> None:
        self.send_response(status)
        for key, value in headers.items():
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _forward(self, body: bytes) -> None:
        upstream = urlsplit(self.server.proxy.upstream)
        conn = http.client.HTTPConnection(upstream.hostname, upstream.port, timeout=120)
        try:
            # The Host header is part of the SigV4 signature: it goes through unchanged.
            conn.putrequest(self.command, self.path, skip_host=True, skip_accept_encoding=True)
            for key, value in self.headers.items():
                if key.lower() not in _HOP_BY_HOP:
                    conn.putheader(key, value)
            conn.putheader("Content-Length", str(len(body)))
            conn.endheaders(body)
            resp = conn.getresponse()
            data = resp.read()
            headers = {k: v for k, v in resp.getheaders() if k.lower() not in _HOP_BY_HOP}
            status = resp.status
        finally:
            conn.close()
        self._answer(status, headers, data)

    def _reset(self) -> None:
        self.close_connection = True
        sock = self.connection
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        sock.close()  # a RST, not a FIN: the client sees "connection reset by peer"

    def _hang(self) -> None:
        """Answer nothing until the client goes away or the proxy stops, then drop the connection."""
        sock = self.connection
        while not self.server.proxy._stopping.is_set():
            readable, _, _ = select.select([sock], [], [], 0.1)
            if readable:
                try:
                    if not sock.recv(1, socket.MSG_PEEK):
                        break  # the client closed its end
                except OSError:
                    break
                # More data on a hung request (a pipelined one): keep hanging without reading it.
                time.sleep(0.1)
        self._reset()

    def finish(self) -> None:
        with contextlib.suppress(OSError):  # the socket was reset on purpose
            super().finish()


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    proxy: FaultProxy

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # a client that gave up (timeouts, Ctrl-C) is part of the experiment


class FaultProxy:
    """See the module docstring. ``upstream`` is a :class:`~auditor.demo.servers.LocalAws` or a URL."""

    def __init__(self, upstream: Any, rules: Iterable[Fault] = (), *, seed: int = 0,
                 services: Iterable[str] = SERVICES, profile: str = "demo", region: str = "us-east-1") -> None:
        self.upstream = upstream if isinstance(upstream, str) else upstream.endpoint
        self.rules = list(rules)
        self.services = _models(tuple(services))
        self.profile = profile
        self.region = region
        self.requests: list[Seen] = []
        self._fired: dict[int, int] = {}
        self.seed = seed
        self._lock = threading.Condition()
        self._stopping = threading.Event()
        self._server: _Server | None = None
        self._home = Path(tempfile.mkdtemp(prefix="auditor-faults-"))

    # -- lifecycle ----------------------------------------------------------------------------------------
    def start(self) -> FaultProxy:
        self._server = _Server(("127.0.0.1", 0), _Handler)
        self._server.proxy = self
        threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                         name="fault-proxy", daemon=True).start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> FaultProxy:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def url(self) -> str:
        assert self._server is not None, "the proxy is not started"
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def env(self, **extra: str) -> dict[str, str]:
        """Environment for the CLI: profile ``demo`` (or the one given) reaches AWS through this proxy."""
        from auditor.demo.servers import DEMO_ACCESS_KEY, DEMO_SECRET_KEY

        config, credentials = self._home / "config", self._home / "credentials"
        config.write_text(f"[profile {self.profile}]\nregion = {self.region}\nendpoint_url = {self.url}\n")
        credentials.write_text(f"[{self.profile}]\naws_access_key_id = {DEMO_ACCESS_KEY}\n"
                               f"aws_secret_access_key = {DEMO_SECRET_KEY}\n")
        return {
            "AWS_CONFIG_FILE": str(config),
            "AWS_SHARED_CREDENTIALS_FILE": str(credentials),
            "AWS_DISABLE_HOST_PREFIX_INJECTION": "true",
            "AWS_EC2_METADATA_DISABLED": "true",
            **extra,
        }

    # -- rules and records --------------------------------------------------------------------------------
    def _choose(self, service: str, operation: str, identity: bytes) -> str | None:
        with self._lock:
            for i, rule in enumerate(self.rules):
                if not rule.matches(service, operation):
                    continue
                if rule.count is not None and self._fired.get(i, 0) >= rule.count:
                    continue
                if rule.probability < 1 and _draw(self.seed, i, identity) >= rule.probability:
                    continue
                self._fired[i] = self._fired.get(i, 0) + 1
                return rule.kind
        return None

    def _log(self, seen: Seen) -> None:
        with self._lock:
            self.requests.append(seen)
            self._lock.notify_all()

    def seen(self, service: str = "*", operation: str = "*") -> list[Seen]:
        with self._lock:
            return [s for s in self.requests if service in ("*", s.service) and operation in ("*", s.operation)]

    def injected(self, kind: str | None = None, service: str = "*", operation: str = "*") -> int:
        """How many requests were answered with a fault (of ``kind``, for ``service:operation``)."""
        return sum(1 for s in self.seen(service, operation) if s.fault and (kind is None or s.fault == kind))

    def wait_for(self, service: str, operation: str, timeout: float = 30.0) -> bool:
        """Block until a request of ``service:operation`` has arrived (e.g. before sending Ctrl-C)."""
        deadline = time.monotonic() + timeout
        with self._lock:
            while not any(s.service == service and s.operation == operation for s in self.requests):
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._lock.wait(left)
        return True
