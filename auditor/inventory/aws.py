"""One AWS account seen through one boto3 session: clients, the read-only guard, call counting, retries.

Credentials come from boto3's standard chain (``--profile``, environment, SSO, instance roles) and the
endpoint from ``AWS_ENDPOINT_URL`` or the profile's ``endpoint_url``, so a local moto server and a live
account take the same code path.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    NoCredentialsError,
    NoRegionError,
    PartialCredentialsError,
    ProfileNotFound,
    SSOError,
    TokenRetrievalError,
    UnauthorizedSSOTokenError,
)

from .core import READ_ONLY_PREFIXES, CallStats, ConfigurationError, ReadOnlyViolation, translate

_MAX_ATTEMPTS = int(os.environ.get("AUDITOR_AWS_MAX_ATTEMPTS", "8"))


_loader_lock = threading.Lock()
_loader: Any = None


def _shared_loader() -> Any:
    """One botocore data loader for the process: service models are parsed once, however many sessions (one
    per account, one per scan) are made. The loader only reads botocore's bundled JSON; its cache is a dict."""
    global _loader
    with _loader_lock:
        if _loader is None:
            from botocore.loaders import create_loader

            _loader = create_loader()
        return _loader


#: The one call auditor makes that is not a read: exchanging the base credentials for a role in each scanned
#: account (``--role-arn``, ``--org-role``). It changes nothing in any account. Nothing else that is not a
#: Describe/List/Get passes the guard (tests/test_org.py tries the other STS operations).
CREDENTIAL_CALLS = frozenset({("sts", "AssumeRole")})


def _guard(model: Any, **_: Any) -> None:
    if (model.service_model.service_name, model.name) in CREDENTIAL_CALLS:
        return
    if not model.name.startswith(READ_ONLY_PREFIXES):
        raise ReadOnlyViolation(
            f"auditor is read-only: refusing to call {model.service_model.service_name}:{model.name}"
        )


class AwsAccount:
    """Clients for every (service, region) of one account, sharing one call counter."""

    def __init__(self, profile: str | None = None, *, workers: int = 8, stats: CallStats | None = None) -> None:
        self.stats = stats or CallStats()
        try:
            self.session = boto3.Session(profile_name=profile)
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
            retries={"mode": "adaptive", "max_attempts": _MAX_ATTEMPTS},
            max_pool_connections=max(10, workers * 2),
            user_agent_extra="auditor",
            # Host-prefixed operations would try data-127.0.0.1 against a local endpoint.
            inject_host_prefix=not endpoint_overridden,
            connect_timeout=10,
            read_timeout=30,
        )
        events = self.session.events
        events.register("before-call.*.*", _guard)
        events.register("before-call.*.*", self._count)
        events.register("after-call.*.*", self._count_retry)
        self._clients: dict[tuple[str, str], Any] = {}
        self._lock = threading.Lock()
        self._account_id: str | None = None

    # -- accounting ---------------------------------------------------------------------------------------
    def _count(self, model: Any, **_: Any) -> None:
        self.stats.record(f"{model.service_model.service_name}:{model.name}")

    def _count_retry(self, parsed: Any = None, model: Any = None, **_: Any) -> None:
        # after-call fires once per API call, success or error, with the retries it took.
        attempts = ((parsed or {}).get("ResponseMetadata") or {}).get("RetryAttempts", 0)
        if attempts and model is not None:
            self.stats.record_retry(f"{model.service_model.service_name}:{model.name}", attempts)

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
                raise ConfigurationError(
                    f"the SSO session is not valid ({type(exc).__name__}); run `aws sso login`"
                ) from None
            except ClientError as exc:
                code = exc.response.get("Error", {}).get("Code", "")
                raise ConfigurationError(f"the AWS credentials were rejected ({code})") from None
            except BotoCoreError as exc:
                raise ConfigurationError(f"cannot reach AWS STS: {translate(exc, 'sts', 'GetCallerIdentity').reason}") from None
            self._account_id = ident["Account"]
        return self._account_id

    # -- clients ------------------------------------------------------------------------------------------
    def client(self, service: str, region: str) -> Any:
        key = (service, region)
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
            yield from paginator.paginate(PaginationConfig=config, **params)
        except ReadOnlyViolation:
            raise
        except Exception as exc:  # noqa: BLE001
            raise translate(exc, service, operation) from exc


def _snake(operation: str) -> str:
    out = []
    for i, ch in enumerate(operation):
        if ch.isupper() and i and (not operation[i - 1].isupper() or (i + 1 < len(operation) and operation[i + 1].islower())):
            out.append("_")
        out.append(ch.lower())
    return "".join(out)
