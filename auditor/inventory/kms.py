"""KMS keys the scanned queues are encrypted with: who manages each (AWS or the customer) and its key policy.

``KmsMasterKeyId`` may be a key id, a key ARN, an alias name (``alias/orders``) or an alias ARN. AWS managed
keys (``alias/aws/sqs``) are created on first use and cannot be read before (moto never creates them), so
they are recognised by name as well as by ``KeyManager``; their key policy cannot be changed and is never read.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from .arn import Arn
from .core import NotAvailable, capture

if TYPE_CHECKING:
    from . import RegionInventory

AWS_MANAGED_SQS_ALIAS = "alias/aws/sqs"


def aws_managed_alias(ref: str) -> bool:
    """``alias/aws/…`` (or its ARN): a key AWS manages."""
    tail = ref.split(":", 5)[-1] if ref.startswith("arn:") else ref
    return tail.startswith("alias/aws/")


@dataclass(frozen=True)
class Key:
    ref: str  # as the queue names it
    id: str
    arn: str
    manager: str  # "AWS" | "CUSTOMER"
    state: str = ""

    @property
    def aws_managed(self) -> bool:
        return self.manager == "AWS" or aws_managed_alias(self.ref)


class KmsInventory:
    def __init__(self, region: RegionInventory) -> None:
        self._r = region

    def key(self, ref: str) -> Key:
        """The key a queue's ``KmsMasterKeyId`` names (``DescribeKey``; an AWS managed alias needs no call)."""
        if aws_managed_alias(ref):
            arn = ref if ref.startswith("arn:") else f"arn:{self._r.partition}:kms:{self._r.name}:{self._r.account}:{ref}"
            return Key(ref, ref, arn, "AWS")
        return self._r.memo.get(("kms.key", ref), lambda: self._describe(ref))

    def key_policy(self, key: Key) -> str:
        """The key's ``default`` key policy (only readable for keys of the scanned account)."""
        return self._r.memo.get(("kms.policy", key.arn), lambda: self._policy(key))

    def prefetch_for(self, refs: list[str]) -> None:
        """Describe every key ``refs`` name, then read the policy of each customer managed one, concurrently."""
        keys = self._r.pools.map_detail(lambda r: capture(lambda: self.key(r)), sorted(set(refs)))
        customer = {k.arn: k for k in keys if isinstance(k, Key) and not k.aws_managed}
        self._r.pools.map_detail(lambda k: capture(lambda: self.key_policy(k)), list(customer.values()))

    def _describe(self, ref: str) -> Key:
        meta = self._r.aws.call("kms", self._r.name, "DescribeKey", KeyId=ref).get("KeyMetadata") or {}
        return Key(ref, str(meta.get("KeyId") or ref), str(meta.get("Arn") or ref),
                   str(meta.get("KeyManager") or "CUSTOMER"), str(meta.get("KeyState") or ""))

    def _policy(self, key: Key) -> str:
        try:
            owner = Arn.parse(key.arn).account
        except ValueError:
            owner = self._r.account
        if owner and owner != self._r.account:
            raise NotAvailable(f"key {key.arn} belongs to account {owner}; its key policy can only be read there",
                               "kms:GetKeyPolicy")
        got = self._r.aws.call("kms", self._r.name, "GetKeyPolicy", KeyId=key.id, PolicyName="default")
        return str(got.get("Policy") or "")


__all__ = ["AWS_MANAGED_SQS_ALIAS", "Key", "KmsInventory", "aws_managed_alias"]
