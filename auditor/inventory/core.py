"""The machinery every inventory module shares: memoisation, the worker pool, API-call accounting, the
read-only guard, the scan deadline, tuning from the environment and the translation of AWS errors into
"not evaluated" reasons."""

from __future__ import annotations

import contextlib
import math
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, TypeVar

from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    ConnectionClosedError,
    ConnectTimeoutError,
    EndpointConnectionError,
    ReadTimeoutError,
)

T = TypeVar("T")
R = TypeVar("R")

#: Operation-name prefixes of the only AWS calls auditor may make.
READ_ONLY_PREFIXES = ("Describe", "List", "Get", "BatchGet")

#: IAM actions whose name differs from the API operation.
_IAM_ACTION_OVERRIDES = {
    ("s3", "ListBuckets"): "s3:ListAllMyBuckets",
    ("s3", "GetPublicAccessBlock"): "s3:GetBucketPublicAccessBlock",
    ("s3", "GetBucketPolicyStatus"): "s3:GetBucketPolicyStatus",
    ("s3", "GetBucketNotificationConfiguration"): "s3:GetBucketNotification",
    ("s3control", "GetPublicAccessBlock"): "s3:GetAccountPublicAccessBlock",
    ("lambda", "GetFunctionConfiguration"): "lambda:GetFunctionConfiguration",
    ("lambda", "ListFunctions"): "lambda:ListFunctions",
    ("sts", "GetCallerIdentity"): "sts:GetCallerIdentity",
}
_IAM_PREFIX = {"servicediscovery": "servicediscovery", "lambda": "lambda"}

_DENIED_CODES = {
    "AccessDenied",
    "AccessDeniedException",
    "UnauthorizedOperation",
    "UnauthorizedException",
    "AuthorizationError",
    "403",
    "Forbidden",
    "UnrecognizedClientException",
    "InvalidClientTokenId",
    "ExpiredToken",
    "ExpiredTokenException",
}
_THROTTLE_CODES = {
    "Throttling",
    "ThrottlingException",
    "ThrottledException",
    "RequestLimitExceeded",
    "TooManyRequestsException",
    "SlowDown",
    "RequestThrottled",
    "RequestThrottledException",
}
_NOT_FOUND_CODES = {
    "ResourceNotFoundException",
    "AWS.SimpleQueueService.NonExistentQueue",
    "QueueDoesNotExist",
    "NoSuchBucket",
    "NoSuchEntity",
    "ServiceNotFound",
    "NamespaceNotFound",
    "ServiceNotFoundException",
    "ClusterNotFoundException",
    "NotFoundException",
    "404",
}


def iam_action(service: str, operation: str) -> str:
    """The IAM action that authorises ``service``'s API ``operation``."""
    return _IAM_ACTION_OVERRIDES.get((service, operation), f"{_IAM_PREFIX.get(service, service)}:{operation}")


class ReadOnlyViolation(RuntimeError):
    """Raised before any AWS call that is not a Describe/List/Get reaches the network."""


class NotAvailable(Exception):
    """Data the tool could not obtain. Becomes a "not evaluated" entry naming ``reason`` and ``iam_action``."""

    def __init__(self, reason: str, iam_action: str = "", *, kind: str = "error") -> None:
        super().__init__(reason)
        self.reason = reason
        self.iam_action = iam_action
        self.kind = kind  # denied | throttled | not-found | unreachable | timeout | deadline | error


class ConfigurationError(Exception):
    """A usage, configuration or credential problem: nothing can be scanned (exit code 2)."""


class SettingError(ConfigurationError, ValueError):
    """An ``AUDITOR_*`` environment variable with a value auditor cannot use."""


def env_number(environ: Mapping[str, str], name: str, default: float, *, low: float, high: float,
               integer: bool = False, above: bool = False) -> Any:
    """``environ[name]`` as a number in [``low``, ``high``] (``(low, high]`` when ``above``), else ``default``.

    A value that is not such a number raises :class:`SettingError` naming the variable and what it accepts,
    so a typo is a usage error at startup rather than a traceback or a silently different scan.
    """
    raw = environ.get(name)
    if raw is None or not str(raw).strip():
        return default
    text = str(raw).strip()
    try:
        value: float = int(text) if integer else float(text)
    except ValueError:
        value = math.nan
    if math.isnan(value) or value > high or value < low or (above and value == low):
        what = "a whole number" if integer else "a number"
        lo, hi = (f"{int(b)}" if integer or b == int(b) else f"{b:g}" for b in (low, high))
        bounds = f"greater than {lo} and at most {hi}" if above else f"between {lo} and {hi}"
        raise SettingError(f"{name} must be {what} {bounds}, got {text!r}")
    return value


class Deadline:
    """The moment a scan stops waiting (``auditor scan --timeout``).

    Past it, no new AWS or Datadog request is sent, and every wait for data (a memoised load, a fan-out) ends
    at once with :meth:`exceeded` — a "not evaluated" reason — instead of blocking on a call that hangs.
    Requests already in flight are abandoned to their own (short) timeouts on the worker threads.
    """

    def __init__(self, seconds: float | None = None, *, label: str = "",
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.seconds = seconds
        self.label = label or (format_duration(seconds) if seconds is not None else "none")
        self._clock = clock
        self._at = None if seconds is None else clock() + seconds

    def remaining(self) -> float | None:
        """Seconds left (never negative), or None when there is no deadline."""
        return None if self._at is None else max(0.0, self._at - self._clock())

    @property
    def expired(self) -> bool:
        return self._at is not None and self._clock() >= self._at

    @property
    def reason(self) -> str:
        return f"scan deadline of {self.label} reached"

    def exceeded(self, iam_action: str = "") -> NotAvailable:
        return NotAvailable(f"{self.reason} before this was fetched", iam_action, kind="deadline")

    def result(self, fut: Future[T]) -> T:
        """``fut.result()``, waiting no later than the deadline."""
        try:
            return fut.result(timeout=self.remaining())
        except TimeoutError:
            if fut.done():  # the work itself raised a TimeoutError: that is its own failure
                raise
            raise self.exceeded() from None


_NO_DEADLINE = Deadline(None)
_deadline = _NO_DEADLINE


def active_deadline() -> Deadline:
    """The deadline of the scan running in this process (none unless :func:`scan_deadline` set one)."""
    return _deadline


@contextlib.contextmanager
def scan_deadline(seconds: float | None, label: str = "") -> Iterator[Deadline]:
    """Bound every wait of the scan run inside this block to ``seconds`` from now (None: no bound).

    ``label`` is how messages name the deadline (the user's own ``--timeout`` text); by default
    :func:`format_duration`.

    One process runs one scan at a time, and the worker threads must see the same deadline as the thread
    that started them, so it is process-wide rather than passed through every inventory object.
    """
    global _deadline
    previous, _deadline = _deadline, Deadline(seconds, label=label)
    try:
        yield _deadline
    finally:
        _deadline = previous


def format_duration(seconds: float) -> str:
    """``45`` → ``"45s"``, ``900`` → ``"15m"``, ``5400`` → ``"1h30m"``."""
    if seconds < 60 or seconds != int(seconds):
        return f"{seconds:g}s"
    hours, rest = divmod(int(seconds), 3600)
    minutes, secs = divmod(rest, 60)
    return "".join(f"{n}{unit}" for n, unit in ((hours, "h"), (minutes, "m"), (secs, "s")) if n) or "0s"


def translate(exc: BaseException, service: str, operation: str) -> NotAvailable:
    """Turn a botocore exception into a :class:`NotAvailable` with a reason a user can act on."""
    action = iam_action(service, operation)
    if isinstance(exc, NotAvailable):  # raised by auditor's own hooks inside botocore (the deadline)
        exc.iam_action = exc.iam_action or action
        return exc
    if isinstance(exc, ClientError):
        err = exc.response.get("Error", {})
        code = str(err.get("Code", ""))
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        if code in _DENIED_CODES or status == 403:
            return NotAvailable(f"access denied to {action}", action, kind="denied")
        if code in _THROTTLE_CODES or status == 429:
            return NotAvailable(f"{action} was throttled beyond the retry budget", action, kind="throttled")
        if code in _NOT_FOUND_CODES or status == 404:
            return NotAvailable(f"{operation} found no such resource ({code})", action, kind="not-found")
        return NotAvailable(f"{operation} failed: {code or status}", action)
    if isinstance(exc, ReadTimeoutError):
        return NotAvailable(f"{operation}: the {service} endpoint timed out (no answer within the read timeout)",
                            action, kind="timeout")
    if isinstance(exc, ConnectTimeoutError):
        return NotAvailable(f"{operation}: connecting to the {service} endpoint timed out", action, kind="timeout")
    if isinstance(exc, EndpointConnectionError):
        return NotAvailable(f"{operation}: the {service} endpoint could not be reached", action, kind="unreachable")
    if isinstance(exc, ConnectionClosedError):
        return NotAvailable(f"{operation}: the {service} endpoint dropped the connection", action, kind="unreachable")
    if isinstance(exc, BotoCoreError):
        return NotAvailable(f"{operation} failed: {type(exc).__name__}", action)
    return NotAvailable(f"{operation} failed: {type(exc).__name__}: {exc}", action)


class CallStats:
    """Counts every API call (by ``service:Operation``) and every retry, thread-safely.

    A call is one request of the caller (one page); its retries are the attempts after its first, whether the
    call succeeds in the end or not (throttling, 5xx, dropped connections, timeouts).
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.calls: Counter[str] = Counter()
        self.retries: Counter[str] = Counter()
        self._closed = False

    def record(self, key: str, n: int = 1) -> None:
        with self._lock:
            self.calls[key] += n

    def admit(self, key: str) -> bool:
        """Count a call about to be made, unless the scan it belongs to has ended (:meth:`close`): then the call
        must not be made at all, so that the report's counts are the calls sent (a worker thread may still reach
        a call after the scan gave up waiting for it, at its deadline)."""
        with self._lock:
            if self._closed:
                return False
            self.calls[key] += 1
            return True

    def close(self) -> None:
        """No call is admitted from now on (the scan is over; its counts are final)."""
        with self._lock:
            self._closed = True

    def record_retry(self, key: str, n: int = 1) -> None:
        with self._lock:
            self.retries[key] += n

    def record_attempt(self, key: str, attempt: int) -> None:
        """Attempt number ``attempt`` (1-based) of a call was sent: every one after the first is a retry."""
        if attempt > 1:
            self.record_retry(key)

    @property
    def total(self) -> int:
        with self._lock:
            return sum(self.calls.values())

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            return {
                "total_calls": sum(self.calls.values()),
                "calls": dict(sorted((k, n) for k, n in self.calls.items() if n)),
                "retries": dict(sorted(self.retries.items())),
            }


class Memo:
    """Compute each key once, even when several threads ask at the same moment; failures are cached too."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._futures: dict[Any, Future] = {}

    def get(self, key: Any, loader: Callable[[], T]) -> T:
        with self._lock:
            fut = self._futures.get(key)
            owner = fut is None
            if owner:
                fut = Future()
                self._futures[key] = fut
        if owner:
            try:
                fut.set_result(loader())
            except BaseException as exc:  # cached: every caller sees the same reason
                fut.set_exception(exc)
        return active_deadline().result(fut)

    def __contains__(self, key: Any) -> bool:
        with self._lock:
            return key in self._futures


class Pools:
    """Two bounded pools: one for listings (service × region), one for per-resource details.

    Listing loaders fan out into the detail pool and wait on it; detail tasks never wait on anything, so the
    two-level split cannot deadlock however small the pools are.
    """

    def __init__(self, workers: int) -> None:
        self.workers = max(1, workers)
        self.listing = ThreadPoolExecutor(self.workers, thread_name_prefix="auditor-list")
        self.detail = ThreadPoolExecutor(self.workers, thread_name_prefix="auditor-detail")

    def map_detail(self, fn: Callable[[T], R], items: Iterable[T]) -> list[R]:
        """``[fn(i) for i in items]`` on the detail pool; past the scan deadline, :class:`NotAvailable`."""
        items = list(items)
        if len(items) <= 1:
            return [fn(i) for i in items]
        futures = [self.detail.submit(fn, i) for i in items]
        deadline = active_deadline()
        try:
            return [deadline.result(f) for f in futures]
        finally:
            for f in futures:
                f.cancel()

    def shutdown(self) -> None:
        """Stop taking work without waiting for it: a call that hangs must not hold the process."""
        self.listing.shutdown(wait=False, cancel_futures=True)
        self.detail.shutdown(wait=False, cancel_futures=True)


def capture(fn: Callable[[], T]) -> T | NotAvailable:
    """Run ``fn``; return its :class:`NotAvailable` instead of raising it (for per-resource fan-out)."""
    try:
        return fn()
    except NotAvailable as exc:
        return exc
