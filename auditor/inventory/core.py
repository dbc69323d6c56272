"""The machinery every inventory module shares: memoisation, the worker pool, API-call accounting, the
read-only guard and the translation of AWS errors into "not evaluated" reasons."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable, Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, TypeVar

from botocore.exceptions import (
    BotoCoreError,
    ClientError,
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
        self.kind = kind  # denied | throttled | not-found | unreachable | error


class ConfigurationError(Exception):
    """A usage, configuration or credential problem: nothing can be scanned (exit code 2)."""


def translate(exc: BaseException, service: str, operation: str) -> NotAvailable:
    """Turn a botocore exception into a :class:`NotAvailable` with a reason a user can act on."""
    action = iam_action(service, operation)
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
    if isinstance(exc, (EndpointConnectionError, ConnectTimeoutError, ReadTimeoutError)):
        return NotAvailable(f"{operation}: the {service} endpoint could not be reached", action, kind="unreachable")
    if isinstance(exc, BotoCoreError):
        return NotAvailable(f"{operation} failed: {type(exc).__name__}", action)
    return NotAvailable(f"{operation} failed: {type(exc).__name__}: {exc}", action)


class CallStats:
    """Counts every AWS API call (by ``service:Operation``) and every retry, thread-safely."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.calls: Counter[str] = Counter()
        self.retries: Counter[str] = Counter()

    def record(self, key: str) -> None:
        with self._lock:
            self.calls[key] += 1

    def record_retry(self, key: str, n: int = 1) -> None:
        with self._lock:
            self.retries[key] += n

    @property
    def total(self) -> int:
        with self._lock:
            return sum(self.calls.values())

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            return {
                "total_calls": sum(self.calls.values()),
                "calls": dict(sorted(self.calls.items())),
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
        return fut.result()

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
        items = list(items)
        if len(items) <= 1:
            return [fn(i) for i in items]
        return list(self.detail.map(fn, items))

    def shutdown(self) -> None:
        self.listing.shutdown(wait=True, cancel_futures=True)
        self.detail.shutdown(wait=True, cancel_futures=True)


def capture(fn: Callable[[], T]) -> T | NotAvailable:
    """Run ``fn``; return its :class:`NotAvailable` instead of raising it (for per-resource fan-out)."""
    try:
        return fn()
    except NotAvailable as exc:
        return exc
