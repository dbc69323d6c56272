"""SQS queues with their attributes, fetched once per region."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Any

from .core import NotAvailable, capture

if TYPE_CHECKING:
    from . import RegionInventory


#: The longest RedrivePolicy auditor parses. AWS's is a JSON object of two keys (about 150 characters); a longer
#: value is not read, so parsing stays bounded work whatever an account (or a mock) returns.
MAX_REDRIVE_POLICY_CHARS = 10_000


@dataclass(frozen=True)
class RedrivePolicy:
    dead_letter_target_arn: str
    max_receive_count: int | None
    raw: str = ""
    error: str = ""  # non-empty: the policy exists but cannot be read (why); the queue is then not evaluated

    @staticmethod
    def unreadable(raw: str, why: str) -> RedrivePolicy:
        shown = raw if len(raw) <= 200 else raw[:199] + "…"
        return RedrivePolicy("", None, raw=shown, error=f"its RedrivePolicy {why}")


@dataclass(frozen=True)
class Queue:
    url: str
    name: str
    arn: str
    region: str
    account: str
    attributes: dict[str, str] = field(default_factory=dict, compare=False, hash=False)
    error: NotAvailable | None = field(default=None, compare=False, hash=False)

    @property
    def fifo(self) -> bool:
        return self.name.endswith(".fifo") or self.attributes.get("FifoQueue") == "true"

    def _int(self, name: str) -> int | None:
        value = self.attributes.get(name)
        try:
            return int(value) if value is not None else None
        except (TypeError, ValueError):
            return None

    @property
    def policy(self) -> str | None:
        """The queue's access policy (``Policy`` attribute), None when it has none."""
        return self.attributes.get("Policy") or None

    @property
    def kms_key(self) -> str | None:
        """``KmsMasterKeyId`` when SSE-KMS is on (a key id, key ARN, alias or alias ARN)."""
        return self.attributes.get("KmsMasterKeyId") or None

    @property
    def sse_sqs(self) -> bool:
        return str(self.attributes.get("SqsManagedSseEnabled", "")).lower() == "true"

    @property
    def visibility_timeout(self) -> int | None:
        return self._int("VisibilityTimeout")

    @property
    def retention(self) -> int | None:
        return self._int("MessageRetentionPeriod")

    @cached_property
    def redrive_policy(self) -> RedrivePolicy | None:
        """Parsed ``RedrivePolicy``; it is a JSON *string* whose values may be strings or numbers. Parsed once:
        five checks read it for every queue."""
        raw = self.attributes.get("RedrivePolicy")
        if not raw:
            return None
        if isinstance(raw, str) and len(raw) > MAX_REDRIVE_POLICY_CHARS:
            return RedrivePolicy.unreadable(raw, f"is {len(raw)} characters long; auditor reads at most "
                                                 f"{MAX_REDRIVE_POLICY_CHARS}")
        try:
            doc: Any = json.loads(raw) if isinstance(raw, str) else raw
        except RecursionError:
            return RedrivePolicy.unreadable(str(raw), "nests too deeply to be read")
        except ValueError:
            return RedrivePolicy.unreadable(str(raw), "is not valid JSON")
        if not isinstance(doc, dict):
            return RedrivePolicy.unreadable(str(raw), "is not a JSON object")
        count = doc.get("maxReceiveCount")
        try:
            count = int(count) if count is not None else None
        except (TypeError, ValueError):
            count = None
        return RedrivePolicy(str(doc.get("deadLetterTargetArn") or ""), count, raw=str(raw))


class SqsInventory:
    def __init__(self, region: RegionInventory) -> None:
        self._r = region

    def queues(self) -> list[Queue]:
        return self._r.memo.get("sqs.queues", self._load)

    def queue_by_arn(self, arn: str) -> Queue | None:
        return self._r.memo.get("sqs.by_arn", lambda: {q.arn: q for q in self.queues()}).get(arn)

    def dead_letter_queue_arns(self) -> set[str]:
        """Every queue named as a ``deadLetterTargetArn`` by a queue of this region."""
        out = set()
        for q in self.queues():
            rp = q.redrive_policy
            if rp and rp.dead_letter_target_arn:
                out.add(rp.dead_letter_target_arn)
        return out

    def _load(self) -> list[Queue]:
        aws, region = self._r.aws, self._r.name
        urls: list[str] = []
        for page in aws.paginate("sqs", region, "ListQueues", page_size=1000):
            urls.extend(page.get("QueueUrls", []))

        def attrs(url: str) -> Queue:
            name = url.rstrip("/").rsplit("/", 1)[-1]
            fallback_arn = f"arn:{self._r.partition}:sqs:{region}:{self._r.account}:{name}"
            got = capture(lambda: aws.call("sqs", region, "GetQueueAttributes", QueueUrl=url, AttributeNames=["All"]))
            if isinstance(got, NotAvailable):
                return Queue(url, name, fallback_arn, region, self._r.account, {}, got)
            a = got.get("Attributes", {})
            return Queue(url, name, a.get("QueueArn", fallback_arn), region, self._r.account, a)

        return self._r.pools.map_detail(attrs, sorted(urls))
