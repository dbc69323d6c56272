"""IAM roles' identity policies (inline and attached managed), fetched on demand and cached (global)."""

from __future__ import annotations

import json
import urllib.parse
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .core import NotAvailable, capture

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

    def permissions_boundary(self, role_arn: str) -> IdentityPolicy | None:
        """The managed policy set as the role's permissions boundary (``GetRole``), None when it has none."""

        arn = self._boundary(role_arn)
        return self.managed_policy(arn) if arn else None

    def _boundary(self, role_arn: str) -> str:
        return self._inv.memo.get(("iam.boundary", role_arn), lambda: self._boundary_arn(role_arn))

    def prefetch_roles(self, role_arns, *, boundaries: bool = False) -> None:
        """Read many roles' policies concurrently: first every role's listings (and, with ``boundaries``, its
        permissions boundary), then every inline document and every distinct attached or boundary policy (a
        managed policy shared by many roles is read once)."""
        roles = sorted(set(role_arns))
        listed = self._inv.pools.map_detail(lambda a: capture(lambda: self._listing(a)), roles)
        bounds = self._inv.pools.map_detail(lambda a: capture(lambda: self._boundary(a)), roles) if boundaries else []
        jobs: list = [lambda p=b: self.managed_policy(p) for b in set(bounds) if isinstance(b, str) and b]
        for arn, got in zip(roles, listed, strict=True):
            if isinstance(got, NotAvailable):
                continue
            inline, attached = got
            jobs += [lambda a=arn, n=n: self._inline(a, n) for n in inline]
            jobs += [lambda p=p: self.managed_policy(p) for p in attached]
        self._inv.pools.map_detail(capture, jobs)
        for arn in roles:
            capture(lambda a=arn: self.role_policies(a))  # assembled from the memo, no calls

    def _boundary_arn(self, role_arn: str) -> str:
        got = self._aws().call("iam", self._region, "GetRole", RoleName=role_name(role_arn)).get("Role") or {}
        return str((got.get("PermissionsBoundary") or {}).get("PermissionsBoundaryArn") or "")

    def _aws(self):
        if self._inv.aws is None:
            raise NotAvailable("no AWS account to read IAM roles from")
        return self._inv.aws

    def _listing(self, role_arn: str) -> tuple[list[str], list[str]]:
        """(inline policy names, attached policy ARNs) of a role."""

        def load() -> tuple[list[str], list[str]]:
            aws, name = self._aws(), role_name(role_arn)
            inline: list[str] = []
            for page in aws.paginate("iam", self._region, "ListRolePolicies", page_size=1000, RoleName=name):
                inline.extend(page.get("PolicyNames") or [])
            attached: list[str] = []
            for page in aws.paginate("iam", self._region, "ListAttachedRolePolicies", page_size=1000,
                                     RoleName=name):
                attached.extend(p["PolicyArn"] for p in page.get("AttachedPolicies") or [] if p.get("PolicyArn"))
            return sorted(set(inline)), sorted(set(attached))

        return self._inv.memo.get(("iam.role_listing", role_arn), load)

    def _inline(self, role_arn: str, policy_name: str) -> IdentityPolicy:
        def load() -> IdentityPolicy:
            got = self._aws().call("iam", self._region, "GetRolePolicy", RoleName=role_name(role_arn),
                                   PolicyName=policy_name)
            return IdentityPolicy(policy_name, "inline", _document(got.get("PolicyDocument")))

        return self._inv.memo.get(("iam.inline", role_arn, policy_name), load)

    def _load_role(self, role_arn: str) -> list[IdentityPolicy]:
        inline, attached = self._listing(role_arn)
        out = self._inv.pools.map_detail(lambda n: self._inline(role_arn, n), inline)
        return out + self._inv.pools.map_detail(self.managed_policy, attached)

    def _load_managed(self, policy_arn: str) -> IdentityPolicy:
        aws = self._aws()
        meta = aws.call("iam", self._region, "GetPolicy", PolicyArn=policy_arn).get("Policy") or {}
        version = meta.get("DefaultVersionId") or "v1"
        got = aws.call("iam", self._region, "GetPolicyVersion", PolicyArn=policy_arn, VersionId=version)
        return IdentityPolicy(policy_arn, "managed", _document((got.get("PolicyVersion") or {}).get("Document")))


__all__ = ["IamInventory", "IdentityPolicy", "NotAvailable", "role_name"]
