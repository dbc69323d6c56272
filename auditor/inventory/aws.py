"""One AWS account seen through one boto3 session: clients, the read-only guard, call counting, retries.

Credentials come from boto3's standard chain (``--profile``, environment, SSO, instance roles) and the
endpoint from ``AWS_ENDPOINT_URL`` or the profile's ``endpoint_url``, so a local moto server and a live
account take the same code path.

Retries use botocore's adaptive mode (exponential backoff, and a client-side rate limit that slows down once
AWS throttles), with auditor's budget on top, so that one broken endpoint costs seconds, not minutes:

* throttling, 5xx answers and dropped connections: up to ``max_attempts`` attempts (default 10), so a busy
  account is waited out rather than reported as not evaluated;
* a timeout (connect or read) or an endpoint that cannot be connected to: one retry only — an endpoint that
  did not answer within the timeout once seldom does the second time, and ten times the read timeout would
  be minutes;
* past the scan deadline (:class:`~auditor.inventory.core.Deadline`): no new attempt at all.
"""

from __future__ import annotations

import functools
import logging
import os
import threading
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    ConnectTimeoutError,
    EndpointConnectionError,
    NoCredentialsError,
    NoRegionError,
    PartialCredentialsError,
    ProfileNotFound,
    ReadTimeoutError,
    SSOError,
    TokenRetrievalError,
    UnauthorizedSSOTokenError,
)

from .core import (
    READ_ONLY_PREFIXES,
    THROTTLE_CODES,
    CallStats,
    ConfigurationError,
    NotAvailable,
    ReadOnlyViolation,
    UndeclaredRead,
    active_deadline,
    call_slot,
    env_number,
    translate,
)

log = logging.getLogger("auditor")


@dataclass(frozen=True)
class AwsTuning:
    """Retry budget and timeouts of every AWS call (environment: ``AUDITOR_AWS_*``)."""

    max_attempts: int = 10  # per call, for throttling, 5xx and dropped connections
    connect_timeout: float = 5.0  # seconds to open a connection
    read_timeout: float = 10.0  # seconds without a byte of the answer; Describe/List/Get answer in ~1 s
    timeout_attempts: int = 2  # a call that times out, or cannot connect, is retried once

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> AwsTuning:
        """Read ``AUDITOR_AWS_MAX_ATTEMPTS``/``_CONNECT_TIMEOUT``/``_READ_TIMEOUT``; bad values are usage errors."""
        return cls(
            max_attempts=env_number(environ, "AUDITOR_AWS_MAX_ATTEMPTS", cls.max_attempts, low=1, high=50,
                                    integer=True),
            connect_timeout=env_number(environ, "AUDITOR_AWS_CONNECT_TIMEOUT", cls.connect_timeout, low=0,
                                       high=600, above=True),
            read_timeout=env_number(environ, "AUDITOR_AWS_READ_TIMEOUT", cls.read_timeout, low=0, high=3600,
                                    above=True),
        )


_loader_lock = threading.Lock()
_loader: Any = None


def _shared_loader() -> Any:
    """One botocore data loader for the process: service models are parsed once, however many sessions (one
    per account, one per scan) are made. The loader only reads botocore's bundled JSON; its cache is a dict.

    It keeps of each service model only what auditor's calls need (see :func:`lean_service_model`): botocore's
    whole models, parsed, held 45 MB for the ten services a scan reads (EC2's alone 23 MB, for two of its
    830 operations), a third of an empty account's scan."""
    global _loader
    with _loader_lock:
        if _loader is None:
            _loader = _lean_loader()
        return _loader


@functools.cache
def declared_operations() -> dict[str, frozenset[str]]:
    """Every AWS operation auditor calls, by botocore service name: the declared reads of every load
    (:mod:`auditor.inventory.loads`), the discovery and base-account operations of a multi-account scan, and
    ``sts:GetCallerIdentity``."""
    from .loads import BASE, DISCOVERY, LOADS, operations

    out: dict[str, set[str]] = {"sts": {"GetCallerIdentity"}}
    for op in (*operations(LOADS), *DISCOVERY, *BASE):
        out.setdefault(op.service, set()).add(op.name)
    return {service: frozenset(names) for service, names in out.items()}


def lean_service_model(model: dict[str, Any], keep: frozenset[str]) -> dict[str, Any]:
    """``model`` (a botocore ``service-2`` model) with the operations in ``keep`` whole and the shapes they
    reach, without documentation. Every other operation stays as a stub (its name and HTTP binding, no
    shapes), so that its client method still exists and the read-only guard refuses it by name."""
    operations = model.get("operations") or {}
    shapes = model.get("shapes") or {}
    kept_ops: dict[str, Any] = {}
    todo: list[str] = []
    for name, op in operations.items():
        if name in keep:
            kept_ops[name] = {k: v for k, v in op.items() if k != "documentation"}
            todo += [ref["shape"] for ref in (op.get("input"), op.get("output")) if ref]
            todo += [ref["shape"] for ref in op.get("errors") or ()]
        else:
            kept_ops[name] = {"name": op.get("name", name), "http": op.get("http") or {}}
    kept_shapes: dict[str, Any] = {}
    while todo:
        name = todo.pop()
        if name in kept_shapes or name not in shapes:
            continue
        shape = kept_shapes[name] = {k: v for k, v in shapes[name].items() if k != "documentation"}
        refs = [shape.get("member"), shape.get("key"), shape.get("value"), *(shape.get("members") or {}).values()]
        for ref in refs:
            if isinstance(ref, dict) and "shape" in ref:
                todo.append(ref["shape"])
        if isinstance(shape.get("members"), dict):
            shape["members"] = {k: {a: b for a, b in v.items() if a != "documentation"}
                                for k, v in shape["members"].items()}
    lean = {k: v for k, v in model.items() if k not in ("operations", "shapes", "documentation")}
    lean["operations"] = kept_ops
    lean["shapes"] = kept_shapes
    return lean


def _lean_loader() -> Any:
    import json
    from collections.abc import Sequence
    from functools import cached_property

    from botocore.exceptions import DataNotFoundError
    from botocore.loaders import JSONFileLoader, Loader

    class PlainJSONFileLoader(JSONFileLoader):
        """botocore's JSON files as plain dicts (botocore parses into OrderedDicts: 1.5 times the memory;
        plain dicts keep the order too)."""

        def _load_file(self, full_path: str, open_method: Any) -> Any:
            if not os.path.isfile(full_path):
                return None
            with open_method(full_path, "rb") as fp:
                return json.loads(fp.read().decode("utf-8"))

    class LeanLoader(Loader):
        def load_data_with_path(self, name: str) -> tuple[Any, str]:
            key = ("load_data_with_path", name)  # botocore's own cache key (loaders.instance_cache)
            if key in self._cache:
                return self._cache[key]
            for possible_path in self._potential_locations(name):
                found = self.file_loader.load_file(possible_path)
                if found is not None:
                    service, _, kind = name.partition("/")
                    if kind.endswith("/service-2") and isinstance(found, dict):
                        found = lean_service_model(found, declared_operations().get(service, frozenset()))
                    self._cache[key] = (found, possible_path)
                    return found, possible_path
            raise DataNotFoundError(data_path=name)

        def list_available_services(self, type_name: str) -> Any:
            # botocore asks whether a service exists by listing every one it has data for (about 900
            # directories listed and 1,800 files looked for, the first time each model type is loaded: 0.05 s
            # of every start). The same answer for one service is in its own directory.
            return _KnownServices(self, type_name)

    class _KnownServices(Sequence):
        """botocore's sorted list of services with data of one type, for ``name in services`` looked up for that
        name alone; the whole list is made only when something reads it (UnknownServiceError's message)."""

        def __init__(self, loader: Any, type_name: str) -> None:
            self.loader, self.type_name = loader, type_name

        def __contains__(self, name: object) -> bool:
            try:
                return bool(self.loader.list_api_versions(name, self.type_name))
            except DataNotFoundError:
                return False

        @cached_property
        def _all(self) -> list[str]:
            return Loader.list_available_services(self.loader, self.type_name)

        def __getitem__(self, index: Any) -> Any:
            return self._all[index]

        def __len__(self) -> int:
            return len(self._all)

    return LeanLoader(file_loader=PlainJSONFileLoader())


#: The one call auditor makes that is not a read: exchanging the base credentials for a role in each scanned
#: account (``--role-arn``, ``--org-role``). It changes nothing in any account. Nothing else that is not a
#: Describe/List/Get passes the guard (tests/test_org.py tries the other STS operations).
CREDENTIAL_CALLS = frozenset({("sts", "AssumeRole")})


def _guard(model: Any, **_: Any) -> None:
    service = model.service_model.service_name
    if (service, model.name) in CREDENTIAL_CALLS:
        return
    if not model.name.startswith(READ_ONLY_PREFIXES):
        raise ReadOnlyViolation(f"auditor is read-only: refusing to call {service}:{model.name}")


def _declared(model: Any, **_: Any) -> None:
    """After :func:`_guard`: a read no load declares has no shapes in the shared loader (a bug: see loads.py)."""
    service = model.service_model.service_name
    if model.name not in declared_operations().get(service, ()):
        raise UndeclaredRead(f"{service}:{model.name} is not a declared operation (auditor.inventory.loads)")


class AwsAccount:
    """Clients for every (service, region) of one account, sharing one call counter."""

    def __init__(self, profile: str | None = None, *, workers: int = 8, stats: CallStats | None = None,
                 tuning: AwsTuning | None = None) -> None:
        self.stats = stats or CallStats()
        self.tuning = tuning = tuning or AwsTuning.from_env(os.environ)
        try:
            # AWS_REGION is what every other AWS SDK and the CLI read first; botocore reads only
            # AWS_DEFAULT_REGION and the profile's region, so it is passed on explicitly.
            self.session = boto3.Session(profile_name=profile, region_name=os.environ.get("AWS_REGION") or None)
            self.session._session.register_component("data_loader", _shared_loader())
            scoped = self.session._session.get_scoped_config()
        except ProfileNotFound as exc:
            raise ConfigurationError(f"AWS profile not found: {exc.kwargs.get('profile', profile)}") from None
        except BotoCoreError as exc:  # e.g. a malformed ~/.aws/config
            raise ConfigurationError(f"the AWS configuration cannot be read: {exc}") from None
        self.profile = profile
        self.endpoint_overridden = endpoint_overridden = bool(os.environ.get("AWS_ENDPOINT_URL")) or bool(
            scoped.get("endpoint_url")
        )
        self._config = Config(
            retries={"mode": "adaptive", "max_attempts": tuning.max_attempts},
            max_pool_connections=max(10, workers * 2),
            user_agent_extra="auditor",
            # Host-prefixed operations would try data-127.0.0.1 against a local endpoint.
            inject_host_prefix=not endpoint_overridden,
            connect_timeout=tuning.connect_timeout,
            read_timeout=tuning.read_timeout,
        )
        events = self.session.events
        # Before botocore validates the parameters: an operation auditor never calls has no shapes here.
        events.register("before-parameter-build.*.*", _guard)
        events.register("before-parameter-build.*.*", _declared)
        events.register("before-call.*.*", self._count)
        # First in line, ahead of botocore's own handlers (the adaptive rate limiter, the retry policy).
        events.register_first("before-send.*.*", _stop_at_deadline)
        events.register_first("needs-retry.*.*", self._attempted)
        self._clients: dict[tuple[str, str], Any] = {}
        self._lock = threading.Lock()
        self._account_id: str | None = None

    # -- accounting ---------------------------------------------------------------------------------------
    def _count(self, model: Any, **_: Any) -> None:
        if not self.stats.admit(f"{model.service_model.service_name}:{model.name}"):
            raise NotAvailable("the scan had ended before this was fetched", kind="deadline")

    def _attempted(self, attempts: int = 1, operation: Any = None, response: Any = None,
                   caught_exception: BaseException | None = None, **_: Any) -> bool | None:
        """``needs-retry`` fires once per attempt sent, whatever its outcome: count it, and veto a retry that
        the budget does not allow (returning False wins over botocore's own handler; None lets it decide)."""
        key = f"{operation.service_model.service_name}:{operation.name}" if operation is not None else ""
        if isinstance(caught_exception, NotAvailable):  # stopped by _stop_at_deadline: nothing was sent
            if key and attempts == 1:
                self.stats.record(key, -1)  # counted by before-call, never made
            return False
        if key:
            self.stats.record_attempt(key, attempts)
            if attempts > 1:
                log.info("%s: attempt %d (the previous one was throttled or failed)", key, attempts)
        if not _failed_retryably(response, caught_exception):
            return None
        if active_deadline().expired:
            raise active_deadline().exceeded()
        if isinstance(caught_exception, (ReadTimeoutError, ConnectTimeoutError, EndpointConnectionError)) and \
                attempts >= self.tuning.timeout_attempts:
            return False
        return None

    def validate_regions(self, regions: list[str]) -> None:
        """Refuse region names no AWS partition knows (a typo would otherwise look like an outage)."""
        if self.endpoint_overridden:
            return  # a local or custom endpoint may use any name
        known: set[str] = set()
        for partition in self.session.get_available_partitions():
            known.update(self.session.get_available_regions("sqs", partition_name=partition))
        unknown = [r for r in regions if r not in known]
        if unknown and known:
            raise ConfigurationError(f"unknown AWS region(s): {', '.join(unknown)}")

    # -- identity -----------------------------------------------------------------------------------------
    @property
    def default_region(self) -> str | None:
        return self.session.region_name

    def account_id(self) -> str:
        """Resolve the account behind the credentials, turning credential problems into ConfigurationError."""
        if self._account_id is None:
            region = self.default_region or "us-east-1"
            try:
                ident = self.client("sts", region).get_caller_identity()
            except (NoCredentialsError, PartialCredentialsError) as exc:
                raise ConfigurationError(
                    f"no usable AWS credentials ({exc}); set --profile, AWS_PROFILE or the AWS_* variables"
                ) from None
            except (SSOError, TokenRetrievalError, UnauthorizedSSOTokenError) as exc:
                profile = self.profile or os.environ.get("AWS_PROFILE")
                login = f"aws sso login --profile {profile}" if profile else "aws sso login"
                raise ConfigurationError(
                    f"the SSO session is not logged in or has expired ({type(exc).__name__}); run `{login}`"
                ) from None
            except ClientError as exc:
                code = str(exc.response.get("Error", {}).get("Code", ""))
                status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0
                if code in THROTTLE_CODES or status == 429 or status >= 500:
                    raise ConfigurationError(
                        f"could not verify the identity (throttled/unavailable): sts:GetCallerIdentity answered "
                        f"{code or status}; nothing was scanned, try again later"
                    ) from None
                raise ConfigurationError(f"the AWS credentials were rejected ({code or status})") from None
            except NotAvailable as exc:  # the scan deadline
                raise ConfigurationError(f"could not verify the identity: {exc.reason}") from None
            except BotoCoreError as exc:
                reason = translate(exc, "sts", "GetCallerIdentity").reason
                raise ConfigurationError(
                    f"could not verify the identity (throttled/unavailable): {reason}; nothing was scanned"
                ) from None
            self._account_id = ident["Account"]
        return self._account_id

    # -- clients ------------------------------------------------------------------------------------------
    def client(self, service: str, region: str) -> Any:
        key = (service, region)
        cli = self._clients.get(key)  # made once, then read by every call: no lock needed to find it
        if cli is not None:
            return cli
        with self._lock:  # boto3 sessions are not thread-safe; clients are.
            cli = self._clients.get(key)
            if cli is None:
                try:
                    cli = self.session.client(service, region_name=region, config=self._config)
                except NoRegionError:
                    raise ConfigurationError("no AWS region: pass --region or set one in the profile") from None
                self._clients[key] = cli
        return cli

    def call(self, service: str, region: str, operation: str, **params: Any) -> dict:
        """Call one read operation; any failure becomes NotAvailable naming the IAM action."""
        method = getattr(self.client(service, region), _snake(operation))
        try:
            with call_slot():
                return method(**params)
        except ReadOnlyViolation:
            raise
        except Exception as exc:  # noqa: BLE001 - translated, never swallowed
            raise translate(exc, service, operation) from exc

    def close(self) -> None:
        """Close every client's connections (an account of a multi-account scan, once it is done)."""
        with self._lock:
            clients, self._clients = list(self._clients.values()), {}
        for cli in clients:
            cli.close()

    def paginate(
        self, service: str, region: str, operation: str, *, page_size: int | None = None, **params: Any
    ) -> Iterator[dict]:
        """Yield every page, asking for the largest page the API allows."""
        paginator = self.client(service, region).get_paginator(_snake(operation))
        config = {"PageSize": page_size} if page_size else {}
        try:
            pages = iter(paginator.paginate(PaginationConfig=config, **params))
            while True:
                with call_slot():  # one slot per page: none is held while the caller reads the page
                    page = next(pages, None)
                if page is None:
                    return
                yield page
        except ReadOnlyViolation:
            raise
        except Exception as exc:  # noqa: BLE001
            raise translate(exc, service, operation) from exc


def _stop_at_deadline(**_: Any) -> None:
    """``before-send``: past the scan deadline, no request leaves (the call fails as "not evaluated")."""
    deadline = active_deadline()
    if deadline.expired:
        raise deadline.exceeded()


def _failed_retryably(response: Any, caught_exception: BaseException | None) -> bool:
    """Whether an attempt failed in a way botocore may retry (a connection error, 5xx, 429 or throttling)."""
    if caught_exception is not None:
        return True
    if not response:
        return False
    http, parsed = response
    status = getattr(http, "status_code", 0) or 0
    code = ((parsed or {}).get("Error") or {}).get("Code", "")
    return status >= 500 or status == 429 or code in THROTTLE_CODES


@functools.lru_cache(maxsize=512)
def _snake(operation: str) -> str:
    out = []
    for i, ch in enumerate(operation):
        if ch.isupper() and i and (not operation[i - 1].isupper() or (i + 1 < len(operation) and operation[i + 1].islower())):
            out.append("_")
        out.append(ch.lower())
    return "".join(out)
