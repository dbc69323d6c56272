"""IAM roles' identity policies (inline and attached managed), fetched on demand and cached (global)."""

from __future__ import annotations

import json
import urllib.parse
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .core import NotAvailable

if TYPE_CHECKING:
    from . import Inventory


@dataclass(frozen=True)
class IdentityPolicy:
    name: str  # inline policy name, or managed policy ARN
    kind: str  # "inline" | "managed"
    document: Any  # parsed JSON when it could be parsed, else the raw text


def role_name(role_arn: str) -> str:
    """``arn:aws:iam::123:role/path/name`` → ``name``."""
    res = role_arn.split(":", 5)[-1]
    return res.rsplit("/", 1)[-1] if res.startswith("role/") else res


def _document(raw: Any) -> Any:
    """IAM returns URL-encoded JSON; boto3 usually decodes it already."""
    if isinstance(raw, str):
        for text in (raw, urllib.parse.unquote(raw)):
            try:
                return json.loads(text)
            except ValueError:
                continue
    return raw


class IamInventory:
    def __init__(self, inventory: Inventory) -> None:
        self._inv = inventory

    @property
    def _region(self) -> str:
        return self._inv.home_region

    def role_policies(self, role_arn: str) -> list[IdentityPolicy]:
        """Every identity policy of a role: inline ones, then the default version of each attached one."""
        return self._inv.memo.get(("iam.role_policies", role_arn), lambda: self._load_role(role_arn))

    def managed_policy(self, policy_arn: str) -> IdentityPolicy:
        return self._inv.memo.get(("iam.managed", policy_arn), lambda: self._load_managed(policy_arn))

    def _load_role(self, role_arn: str) -> list[IdentityPolicy]:
        aws = self._inv.aws
        if aws is None:
            raise NotAvailable("no AWS account to read IAM roles from")
        name = role_name(role_arn)
        out: list[IdentityPolicy] = []
        inline: list[str] = []
        for page in aws.paginate("iam", self._region, "ListRolePolicies", page_size=1000, RoleName=name):
            inline.extend(page.get("PolicyNames") or [])
        attached: list[str] = []
        for page in aws.paginate("iam", self._region, "ListAttachedRolePolicies", page_size=1000, RoleName=name):
            attached.extend(p["PolicyArn"] for p in page.get("AttachedPolicies") or [] if p.get("PolicyArn"))

        def get_inline(pname: str) -> IdentityPolicy:
            got = aws.call("iam", self._region, "GetRolePolicy", RoleName=name, PolicyName=pname)
            return IdentityPolicy(pname, "inline", _document(got.get("PolicyDocument")))

        out += self._inv.pools.map_detail(get_inline, sorted(inline))
        out += self._inv.pools.map_detail(self.managed_policy, sorted(attached))
        return out

    def _load_managed(self, policy_arn: str) -> IdentityPolicy:
        aws = self._inv.aws
        assert aws is not None
        meta = aws.call("iam", self._region, "GetPolicy", PolicyArn=policy_arn).get("Policy") or {}
        version = meta.get("DefaultVersionId") or "v1"
        got = aws.call("iam", self._region, "GetPolicyVersion", PolicyArn=policy_arn, VersionId=version)
        return IdentityPolicy(policy_arn, "managed", _document((got.get("PolicyVersion") or {}).get("Document")))


__all__ = ["IamInventory", "IdentityPolicy", "NotAvailable", "role_name"]
