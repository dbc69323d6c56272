"""S3 buckets, their regions, bucket policies and Block Public Access settings (global, fetched once)."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit, urlunsplit

from botocore.exceptions import ClientError

from ..model import Resource
from .core import NotAvailable, capture

if TYPE_CHECKING:
    from . import Inventory

#: ListBuckets' MaxBuckets (1–10,000 in botocore's model). Sending it also makes S3 return each bucket's
#: ``BucketRegion``: "if the request contains at least one valid parameter, it is included in the response".
LIST_PAGE_SIZE = 10000


@dataclass(frozen=True)
class Bucket:
    name: str
    region: str
    account: str

    @property
    def arn(self) -> str:
        return f"arn:aws:s3:::{self.name}"

    @property
    def resource(self) -> Resource:
        return Resource("aws", self.account, self.region, "s3-bucket", self.name, self.arn)


@dataclass(frozen=True)
class QueueNotification:
    """One ``QueueConfigurations[]`` entry of a bucket's event notifications."""

    id: str
    queue_arn: str
    events: tuple[str, ...]


def _code(exc: NotAvailable) -> str:
    cause = exc.__cause__
    if isinstance(cause, ClientError):
        return str(cause.response.get("Error", {}).get("Code", ""))
    return ""


_ENDPOINT_LOCK = threading.Lock()


def _honour_custom_endpoint(client: Any, account: str) -> None:
    """Make an s3control client call the configured endpoint itself.

    s3control's endpoint rules prefix the account id to the host (``<account>.s3-control.<region>.amazonaws.com``)
    and do the same to a custom endpoint: ``http://127.0.0.1:PORT`` becomes ``<account>.127.0.0.1:PORT``, which
    does not resolve. The account travels in the ``x-amz-account-id`` header anyway, so for a custom endpoint
    only, the prefix is removed before the request is signed. Registered once per client.
    """
    with _ENDPOINT_LOCK:
        if getattr(client, "_auditor_endpoint_honoured", False):
            return
        host = urlsplit(client.meta.endpoint_url or "").netloc
        if not host:
            return

        def strip_account_prefix(request: Any, **_: Any) -> None:
            parts = urlsplit(request.url)
            if parts.netloc == f"{account}.{host}":
                request.url = urlunsplit(parts._replace(netloc=host))

        client.meta.events.register(f"before-sign.{client.meta.service_model.service_id.hyphenize()}",
                                    strip_account_prefix)
        client._auditor_endpoint_honoured = True


def _region(location: Any) -> str:
    """``GetBucketLocation``'s LocationConstraint → region (None means us-east-1, EU means eu-west-1)."""
    if not location:
        return "us-east-1"
    return "eu-west-1" if location == "EU" else str(location)


def may_be_public(text: str) -> bool:
    """Whether a policy text may grant access to anyone: an Allow statement with a wildcard principal or with
    NotPrincipal. Anything unreadable counts as "may" (the checks decide; this only chooses what to fetch)."""
    import json

    try:
        doc = json.loads(text)
    except (ValueError, RecursionError):
        return True
    statements = doc.get("Statement") if isinstance(doc, dict) else None
    if isinstance(statements, dict):
        statements = [statements]
    if not isinstance(statements, list):
        return True
    for st in statements:
        if not isinstance(st, dict):
            return True
        if str(st.get("Effect", "")).lower() != "allow":
            continue
        if "NotPrincipal" in st or "*" in json.dumps(st.get("Principal", "*")):
            return True
    return False


class S3Inventory:
    def __init__(self, inventory: Inventory) -> None:
        self._inv = inventory

    @property
    def _home(self) -> str:
        return self._inv.home_region

    # -- listings -----------------------------------------------------------------------------------------
    def bucket_names(self) -> list[str]:
        """Every bucket of the account (ListBuckets)."""
        return list(self._listing())

    def _listing(self) -> dict[str, str | None]:
        """Every bucket of the account → its region as ``ListBuckets`` reports it (``BucketRegion``), or None
        where the answer has none (S3 before October 2024, some S3-compatible endpoints, moto 5.2.5)."""
        return self._inv.memo.get("s3.listing", self._load_names)

    def buckets(self) -> list[Bucket | NotAvailable]:
        """Every bucket with its region: ``ListBuckets``' ``BucketRegion``, else ``GetBucketLocation`` for that
        bucket (concurrently); a bucket whose region cannot be read is its :class:`NotAvailable` (with
        ``.bucket`` set to the name)."""
        return self._inv.memo.get("s3.buckets", self._load_buckets)

    def policies(self) -> list[tuple[Bucket | str, str | None | NotAvailable]]:
        """(bucket, policy text | None when it has none | NotAvailable) for every bucket, fetched concurrently."""
        return self._inv.memo.get("s3.policies", self._load_policies)

    def notifications(self) -> list[tuple[Bucket | str, list[QueueNotification] | NotAvailable]]:
        """(bucket, its SQS event notifications | NotAvailable) for every bucket, fetched concurrently."""

        def one(b: Bucket | NotAvailable) -> tuple[Bucket | str, list[QueueNotification] | NotAvailable]:
            if isinstance(b, NotAvailable):
                return getattr(b, "bucket", "?"), b
            return b, capture(lambda: self._get_notifications(b))

        return self._inv.memo.get("s3.notifications", lambda: self._inv.pools.map_detail(one, self.buckets()))

    # -- details ------------------------------------------------------------------------------------------
    def region_of(self, name: str) -> str:
        """The bucket's region: from the listing when the buckets were listed and it says, else
        ``GetBucketLocation`` (once per bucket). One bucket alone (``auditor policy explain --bucket``) is never
        listed for: that would be a call more, and a bucket of another account is not in the listing."""
        listed = capture(self._listing) if "s3.listing" in self._inv.memo else None
        if isinstance(listed, dict) and listed.get(name):
            return str(listed[name])
        return self._inv.memo.get(("s3.region", name), lambda: self._get_region(name))

    def policy(self, name: str, region: str | None = None) -> str | None:
        """The bucket policy text, or None when the bucket has none (NoSuchBucketPolicy)."""
        return self._inv.memo.get(("s3.policy", name), lambda: self._get_policy(name, region))

    def public_access_block(self, name: str, region: str | None = None) -> dict[str, bool] | None:
        """The bucket's Block Public Access configuration (None when none is set)."""
        return self._inv.memo.get(("s3.pab", name), lambda: self._get_pab(name, region))

    def account_public_access_block(self) -> dict[str, bool] | None:
        """The account-wide Block Public Access configuration (s3control; None when none is set)."""
        return self._inv.memo.get("s3.account_pab", self._get_account_pab)

    def prefetch_public_access(self) -> None:
        """The account's Block Public Access settings, and each bucket's where its policy may be public (an
        Allow to a wildcard principal or with NotPrincipal), concurrently: the settings BP-4 reads."""
        jobs: list = [self.account_public_access_block]
        for bucket, text in self.policies():
            if isinstance(bucket, Bucket) and isinstance(text, str) and may_be_public(text):
                jobs.append(lambda b=bucket: self.public_access_block(b.name, b.region))
        self._inv.pools.map_detail(capture, jobs)

    def restricts_public(self, bucket: Bucket) -> bool | None:
        """Whether RestrictPublicBuckets (bucket or account) neutralises public policies; None if unknown (see
        :meth:`block_public_access_errors` for why)."""
        seen_unknown = False
        for getter in self._pab_getters(bucket):
            got = capture(getter)
            if isinstance(got, NotAvailable):
                seen_unknown = True
            elif got and got.get("RestrictPublicBuckets"):
                return True
        return None if seen_unknown else False

    def block_public_access_errors(self, bucket: Bucket) -> list[NotAvailable]:
        """Why the bucket's or the account's Block Public Access settings could not be read (empty: both read)."""
        return [got for got in (capture(g) for g in self._pab_getters(bucket)) if isinstance(got, NotAvailable)]

    def _pab_getters(self, bucket: Bucket) -> tuple:
        return (lambda: self.public_access_block(bucket.name, bucket.region), self.account_public_access_block)

    # -- loaders ------------------------------------------------------------------------------------------
    def _load_names(self) -> dict[str, str | None]:
        if self._inv.aws is None:
            return {}
        listed: dict[str, str | None] = {}
        for page in self._inv.aws.paginate("s3", self._home, "ListBuckets", page_size=LIST_PAGE_SIZE):
            for b in page.get("Buckets") or []:
                if b.get("Name"):
                    listed[b["Name"]] = b.get("BucketRegion") or listed.get(b["Name"])
        return dict(sorted(listed.items()))

    def _load_buckets(self) -> list[Bucket | NotAvailable]:
        def one(name: str) -> Bucket | NotAvailable:
            got = capture(lambda: self.region_of(name))  # no call when the listing gave the region
            if isinstance(got, NotAvailable):
                got.bucket = name  # type: ignore[attr-defined]
                return got
            return Bucket(name, got, self._inv.account)

        return self._inv.pools.map_detail(one, self.bucket_names())

    def _load_policies(self) -> list[tuple[Bucket | str, str | None | NotAvailable]]:
        def one(b: Bucket | NotAvailable) -> tuple[Bucket | str, str | None | NotAvailable]:
            if isinstance(b, NotAvailable):
                return getattr(b, "bucket", "?"), b
            return b, capture(lambda: self.policy(b.name, b.region))

        return self._inv.pools.map_detail(one, self.buckets())

    def _get_region(self, name: str) -> str:
        assert self._inv.aws is not None
        got = self._inv.aws.call("s3", self._home, "GetBucketLocation", Bucket=name)
        return _region(got.get("LocationConstraint"))

    def _get_policy(self, name: str, region: str | None) -> str | None:
        assert self._inv.aws is not None
        try:
            got = self._inv.aws.call("s3", region or self._home, "GetBucketPolicy", Bucket=name)
        except NotAvailable as exc:
            if _code(exc) == "NoSuchBucketPolicy":
                return None
            raise
        text = got.get("Policy")
        if hasattr(text, "read"):
            text = text.read()
        if isinstance(text, bytes):
            text = text.decode("utf-8", errors="replace")
        return text if text is not None else None

    def _get_notifications(self, bucket: Bucket) -> list[QueueNotification]:
        assert self._inv.aws is not None
        got = self._inv.aws.call("s3", bucket.region, "GetBucketNotificationConfiguration", Bucket=bucket.name)
        out = []
        for i, q in enumerate(got.get("QueueConfigurations") or []):
            if isinstance(q, dict) and q.get("QueueArn"):
                out.append(QueueNotification(str(q.get("Id") or f"#{i + 1}"), str(q["QueueArn"]),
                                             tuple(str(e) for e in q.get("Events") or ())))
        return out

    def _get_pab(self, name: str, region: str | None) -> dict[str, bool] | None:
        assert self._inv.aws is not None
        try:
            got = self._inv.aws.call("s3", region or self._home, "GetPublicAccessBlock", Bucket=name)
        except NotAvailable as exc:
            if _code(exc) == "NoSuchPublicAccessBlockConfiguration":
                return None
            raise
        return dict(got.get("PublicAccessBlockConfiguration") or {})

    def _get_account_pab(self) -> dict[str, bool] | None:
        assert self._inv.aws is not None
        if self._inv.aws.endpoint_overridden:
            _honour_custom_endpoint(self._inv.aws.client("s3control", self._home), self._inv.account)
        try:
            got = self._inv.aws.call("s3control", self._home, "GetPublicAccessBlock", AccountId=self._inv.account)
        except NotAvailable as exc:
            if _code(exc) in ("NoSuchPublicAccessBlockConfiguration", "NoSuchPublicAccessBlock"):
                return None
            exc.iam_action = "s3:GetAccountPublicAccessBlock"
            raise
        return dict(got.get("PublicAccessBlockConfiguration") or {})


__all__ = ["Bucket", "NotAvailable", "QueueNotification", "S3Inventory"]
