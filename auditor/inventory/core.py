"""The machinery every inventory module shares: memoisation, the worker pool, API-call accounting, the
read-only guard, the scan deadline, tuning from the environment and the translation of AWS errors into
"not evaluated" reasons."""

from __future__ import annotations

import contextlib
import functools
import heapq
import itertools
import logging
import math
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping
from concurrent.futures import Future
from typing import Any, TypeVar

from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    ConnectionClosedError,
    ConnectTimeoutError,
    EndpointConnectionError,
    ReadTimeoutError,
)

log = logging.getLogger("auditor")

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
#: Error codes AWS uses for "slow down" (botocore's list, plus SQS's query-compatible spelling): retried by the
#: client (:mod:`auditor.inventory.aws`) and, when retries run out, reported as throttled.
THROTTLE_CODES = frozenset({
    "Throttling", "ThrottlingException", "ThrottledException", "RequestThrottledException",
    "TooManyRequestsException", "ProvisionedThroughputExceededException", "RequestLimitExceeded",
    "BandwidthLimitExceeded", "LimitExceededException", "RequestThrottled", "SlowDown", "EC2ThrottledException",
    "PriorRequestNotComplete",
})
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


class UndeclaredRead(ReadOnlyViolation):
    """A read no load declares (:mod:`auditor.inventory.loads`): a bug of auditor, never a "not evaluated"."""


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
        if code in THROTTLE_CODES or status == 429:
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
        self._futures: dict[Any, Future] = {}  # being computed: the callers wait for these
        # Computed: (value, exception). Answered without a lock or a Future: a scan asks 200,000 times at 1x.
        self._done: dict[Any, tuple[Any, BaseException | None]] = {}

    def get(self, key: Any, loader: Callable[[], T]) -> T:
        hit = self._done.get(key)
        if hit is None:
            with self._lock:
                hit = self._done.get(key)
                if hit is None:
                    fut = self._futures.get(key)
                    owner = fut is None
                    if owner:
                        fut = Future()
                        self._futures[key] = fut
            if hit is None:
                if not owner:
                    return active_deadline().result(fut)
                try:
                    hit = (loader(), None)
                    fut.set_result(hit[0])
                except BaseException as exc:  # cached: every caller sees the same reason
                    hit = (None, exc)
                    fut.set_exception(exc)
                with self._lock:
                    self._done[key] = hit
                    del self._futures[key]
        value, exc = hit
        if exc is not None:
            raise exc
        return value

    def __contains__(self, key: Any) -> bool:
        with self._lock:
            return key in self._done or key in self._futures

    def holds(self, key: Any) -> bool:
        """Whether ``key`` has been computed (its value or its failure is kept): no lock, no waiting."""
        return key in self._done


class CallGate:
    """At most ``limit`` API requests in flight, shared by every thread that calls through it.

    The bound is on requests, not on threads: a thread waiting for data (a memoised load, its own fan-out) holds
    no slot, so however the loads are shaped, ``limit`` requests stay in flight while there are requests to
    make. A freed slot goes to the most urgent waiter (lowest ``priority``: a load's own listing calls before
    per-resource details, and among those the fan-out the pools serve first), then to the longest waiting.
    Past the scan deadline a waiter stops waiting (:meth:`Deadline.exceeded`).
    """

    def __init__(self, limit: int) -> None:
        self.limit = max(1, limit)
        self._lock = threading.Lock()
        self._free = self.limit
        self._waiters: list[tuple[tuple, int, threading.Lock]] = []  # heap: (priority, arrival, lock to release)
        self._arrivals = itertools.count()

    def acquire(self, priority: tuple = (0,)) -> None:
        with self._lock:
            if self._free and not self._waiters:
                self._free -= 1
                return
            baton = threading.Lock()
            baton.acquire()
            entry = (priority, next(self._arrivals), baton)
            heapq.heappush(self._waiters, entry)
        deadline = active_deadline()
        left = deadline.remaining()
        if baton.acquire(timeout=-1 if left is None else left):
            return  # handed over by release()
        with self._lock:
            if entry in self._waiters:  # still waiting: leave the line
                self._waiters.remove(entry)
                heapq.heapify(self._waiters)
                raise deadline.exceeded()
        self.release()  # handed over just as the deadline passed: pass it on
        raise deadline.exceeded()

    def release(self) -> None:
        with self._lock:
            if self._waiters:
                heapq.heappop(self._waiters)[2].release()  # the slot goes straight to the next waiter
            else:
                self._free += 1



_local = threading.local()


@contextlib.contextmanager
def call_slot() -> Iterator[None]:
    """Hold one slot of the gate of the pools this thread works for (:class:`Pools`) during one API request.

    Every AWS request (:class:`~auditor.inventory.aws.AwsAccount`) and Datadog request goes through here. A
    thread that is not working for any pools (the main thread resolving the account) is not bounded.
    """
    gate: CallGate | None = getattr(_local, "gate", None)
    if gate is None:
        yield
        return
    gate.acquire(getattr(_local, "priority", (LOAD,)))
    try:
        yield
    finally:
        gate.release()


#: Priorities of work on :class:`Pools` (lower first): a load's own calls (its listing pages), then the
#: per-resource calls it fans out. A fan-out's calls carry its place in the pools' queue after DETAIL.
LOAD, DETAIL = 0, 1
#: The ``rank`` of a fan-out made by a thread the pools do not own (a check, on the engine's thread): above any
#: chain of loads (:func:`auditor.inventory.loads.built_on`), since checks wait on it one after another.
JUDGE_RANK = 1 << 20


class _Batch:
    """One :meth:`Pools.map_detail` call: its items, which have started, their results."""

    def __init__(self, fn: Callable[[Any], Any], items: list[Any]) -> None:
        self.fn = fn
        self.items = items
        self.results: list[Any] = [None] * len(items)
        self.errors: list[BaseException | None] = [None] * len(items)
        self._started = [False] * len(items)
        self._left = len(items)
        self._lock = threading.Lock()
        self.done = threading.Event()
        self.cancelled = False
        self.skipped = 0  # items that never ran

    def claim(self, i: int) -> bool:
        with self._lock:
            if self._started[i] or self.cancelled:
                return False
            self._started[i] = True
            return True

    def run(self, i: int) -> None:
        """Run item ``i`` unless it has started elsewhere (on a pool thread, or on the thread that waits)."""
        if not self.claim(i):
            return
        try:
            self.results[i] = self.fn(self.items[i])
        except BaseException as exc:  # kept for the caller, who raises it in item order
            self.errors[i] = exc
            if not isinstance(exc, Exception):
                raise  # Ctrl-C on a thread running its own items stops at once
        finally:
            self._finished()

    def _finished(self) -> None:
        with self._lock:
            self._left -= 1
            if not self._left:
                self.done.set()

    def cancel(self) -> None:
        """Items that have not started never will (the deadline passed, the caller was interrupted, the pools
        were shut down)."""
        with self._lock:
            self.cancelled = True
            skipped = self._started.count(False)
            self._started = [True] * len(self.items)
            self.skipped += skipped
            self._left -= skipped
            if not self._left:
                self.done.set()


class Pools:
    """Where an inventory's work runs: worker threads, and a :class:`CallGate` of ``workers`` requests in flight.

    ``--workers`` is the number of API requests in flight, not of threads. Every request of the work done here
    takes a slot of :attr:`gate` for its duration (:func:`call_slot`); the threads are more (``threads``, by
    default twice the workers and 8), so that a thread waiting for data — a load waiting on the loads it
    builds on, on the last items of its fan-out — never leaves a slot unused. The threads are daemons, started
    as work arrives: :meth:`shutdown` never waits for a call that hangs, nor does the process at exit.

    * :meth:`submit` runs a load (see :mod:`auditor.inventory.loads`): loads go before fan-out items, and a
      load's own calls (its listing pages, the chain everything else waits on) take a freed slot before the
      per-resource calls.
    * :meth:`map_detail` fans per-resource calls out. The items wait in one queue, fan-out by fan-out (see
      ``rank``): one fan-out finishes before the next starts, so loads finish one by one and their checks run
      while the rest is fetched (interleaving every fan-out would make them all finish at the end). A worker thread that fans out runs its own items too while any
      has not started, so nested fan-out cannot deadlock however few the threads; any other thread (the main
      thread, an account's thread) only waits when the scan has a deadline, no later than it.

    Several inventories may share one ``Pools`` (many accounts in one run): the bound is then for all of them.
    """

    def __init__(self, workers: int, *, threads: int | None = None) -> None:
        self.workers = max(1, workers)
        # One worker: one thread, so that every request is made one after another in the order asked for.
        self.threads = max(1, threads or (1 if self.workers == 1 else 2 * self.workers + 8))
        self.gate = CallGate(self.workers)
        self._cond = threading.Condition(threading.Lock())
        self._queue: list[tuple[tuple, int, Callable[[], None], tuple, Callable[[], None]]] = []
        self._seq = itertools.count()
        self._batches = itertools.count()
        self._started = 0
        self._idle = 0
        self._closed = False

    # -- submitting -----------------------------------------------------------------------------------------
    def submit(self, fn: Callable[[], T], *, rank: int = 0) -> Future[T]:
        """Run ``fn`` (a load) on a worker thread; its :class:`~concurrent.futures.Future`.

        ``rank``: how long a chain of loads builds on this one (:func:`auditor.inventory.loads.built_on`). The
        fan-outs of a load of higher rank are served first, so that the loads waiting on it can start (ECS
        services → task definitions → the roles they run as); among equal ranks, smaller fan-outs first (a load
        read by most checks, like 1,200 queues' attributes, is ranked above the big leaves, like 800 functions'
        reserved concurrency, that one family reads).
        """
        fut: Future[T] = Future()

        def task() -> None:
            if not fut.set_running_or_notify_cancel():
                return
            _local.rank = rank
            try:
                fut.set_result(fn())
            except BaseException as exc:  # noqa: BLE001 - delivered to whoever waits on the future
                fut.set_exception(exc)
            finally:
                _local.rank = 0

        if not self._push([((LOAD,), task, (LOAD,), fut.cancel)]):
            raise RuntimeError("cannot submit work to pools that were shut down")
        return fut

    def map_detail(self, fn: Callable[[T], R], items: Iterable[T]) -> list[R]:
        """``[fn(i) for i in items]``, concurrently; the first exception (in item order) is raised once every
        item has ended. Past the scan deadline, :class:`NotAvailable` (items not yet started are dropped)."""
        items = list(items)
        if not items:
            return []
        batch = _Batch(fn, items)
        deadline = active_deadline()
        # A worker thread runs its own items (nested fan-out cannot deadlock). Another thread (the main thread, an
        # account's) only waits, no later than the deadline, so that a call that hangs cannot hold it past it;
        # without a deadline it helps too (it may own a memoised load the worker threads wait on).
        helping = getattr(_local, "pools", None) is self or deadline.remaining() is None
        # The fan-out's place: the queue serves it, and the gate its calls, in this order (see ``rank``), so
        # that one fan-out finishes before the next instead of every one finishing at the end. A thread that
        # does not work for these pools is a judge (the engine running a check): it waits, and every check after
        # it, so its fan-out goes first.
        rank = getattr(_local, "rank", 0) if getattr(_local, "pools", None) is self else JUDGE_RANK
        order = (DETAIL, -rank, len(items), next(self._batches))
        if helping and len(items) == 1:
            queued = False
        else:
            queued = self._push([((*order, i), functools.partial(batch.run, i), order, batch.cancel)
                                 for i in range(len(items))])
        if helping or not queued:  # (once shut down, the pools take nothing: this thread runs every item)
            with self._working(order):
                try:
                    for i in range(len(items)):  # in order, as the pool takes them: one worker is sequential
                        batch.run(i)
                except BaseException:
                    batch.cancel()
                    raise
        try:
            finished = batch.done.wait(deadline.remaining())
        finally:  # (Ctrl-C while waiting: what has not started never will)
            if not batch.done.is_set():
                batch.cancel()
        if not finished:
            raise deadline.exceeded()
        for err in batch.errors:
            if err is not None:
                raise err
        if batch.skipped:  # the pools were shut down under it
            raise NotAvailable("the scan stopped before this was fetched", kind="deadline")
        return batch.results

    def shutdown(self) -> None:
        """Stop taking work without waiting for it: a call that hangs must not hold the process. Loads and
        fan-out items not yet started are cancelled (whoever waits on them is told)."""
        with self._cond:
            self._closed = True
            dropped, self._queue = self._queue, []
            self._cond.notify_all()
        for *_, cancel in dropped:
            cancel()

    # -- the threads --------------------------------------------------------------------------------------------
    @contextlib.contextmanager
    def _working(self, priority: tuple) -> Iterator[None]:
        """This thread works for these pools (their gate, at ``priority``) inside the block."""
        saved = getattr(_local, "gate", None), getattr(_local, "priority", (LOAD,))
        _local.gate, _local.priority = self.gate, priority
        try:
            yield
        finally:
            _local.gate, _local.priority = saved

    def _push(self, entries: list[tuple[tuple, Callable[[], None], tuple, Callable[[], None]]]) -> bool:
        with self._cond:
            if self._closed:
                return False
            for order, task, priority, cancel in entries:
                heapq.heappush(self._queue, (order, next(self._seq), task, priority, cancel))
            wake = min(len(entries), self._idle)
            self._idle -= wake
            self._cond.notify(wake)
            for _ in range(min(len(entries) - wake, self.threads - self._started)):
                self._started += 1
                threading.Thread(target=self._work, name=f"auditor-pool_{self._started}", daemon=True).start()
        return True

    def _work(self) -> None:
        _local.pools = self
        while True:
            with self._cond:
                while not self._queue and not self._closed:
                    self._idle += 1
                    self._cond.wait()
                if self._closed:
                    return
                _, _, task, priority, _ = heapq.heappop(self._queue)
            with self._working(priority):
                try:
                    task()
                except BaseException:  # noqa: BLE001 - never raised by the tasks above; the thread must live on
                    log.exception("auditor: a pool task failed")


def capture(fn: Callable[[], T]) -> T | NotAvailable:
    """Run ``fn``; return its :class:`NotAvailable` instead of raising it (for per-resource fan-out)."""
    try:
        return fn()
    except NotAvailable as exc:
        return exc
