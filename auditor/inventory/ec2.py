"""EC2 subnets and security groups, for network-reachability heuristics (SC-2).

Reach it as ``region.ec2`` (a cached property of :class:`~auditor.inventory.RegionInventory`); its listings are
cached in the region's memo, so every check shares one ``DescribeSubnets``/``DescribeSecurityGroups`` walk.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from . import RegionInventory


@dataclass(frozen=True)
class Subnet:
    id: str
    vpc_id: str
    cidr: str


@dataclass(frozen=True)
class SecurityGroup:
    id: str
    name: str
    vpc_id: str
    raw: dict[str, Any] = field(compare=False, hash=False, repr=False)

    def admits_group(self, source_group_ids: set[str], port: int) -> list[str]:
        """Source groups of ``source_group_ids`` this group admits on TCP ``port`` (ingress rules)."""
        hits = []
        for perm in self.raw.get("IpPermissions") or []:
            if not _covers(perm, port):
                continue
            for pair in perm.get("UserIdGroupPairs") or []:
                gid = pair.get("GroupId")
                if gid in source_group_ids:
                    hits.append(gid)
        return sorted(set(hits))

    def admits_cidr_of(self, cidrs: list[str], port: int) -> list[str]:
        """Ingress CIDRs (other than 0.0.0.0/0) that contain one of ``cidrs`` on TCP ``port``."""
        hits = []
        nets = [ipaddress.ip_network(c, strict=False) for c in cidrs if c]
        for perm in self.raw.get("IpPermissions") or []:
            if not _covers(perm, port):
                continue
            for rng in perm.get("IpRanges") or []:
                try:
                    allowed = ipaddress.ip_network(rng.get("CidrIp", ""), strict=False)
                except ValueError:
                    continue
                if allowed.prefixlen == 0:
                    continue
                if any(n.version == allowed.version and n.subnet_of(allowed) for n in nets):  # type: ignore[arg-type]
                    hits.append(str(allowed))
        return sorted(set(hits))


def _covers(perm: dict[str, Any], port: int) -> bool:
    proto = str(perm.get("IpProtocol", ""))
    if proto == "-1":
        return True
    if proto not in ("tcp", "6"):
        return False
    lo, hi = perm.get("FromPort"), perm.get("ToPort")
    if lo is None or hi is None:
        return True
    return int(lo) <= port <= int(hi)


class Ec2Inventory:
    def __init__(self, region: RegionInventory) -> None:
        self._r = region

    def subnets(self) -> dict[str, Subnet]:
        """Every subnet of the region by id (DescribeSubnets, 1000 per page)."""
        return self._r.memo.get("ec2.subnets", self._load_subnets)

    def security_groups(self) -> dict[str, SecurityGroup]:
        """Every security group of the region by id (DescribeSecurityGroups, 1000 per page)."""
        return self._r.memo.get("ec2.security_groups", self._load_groups)

    def vpc_of_subnets(self, subnet_ids: list[str]) -> set[str]:
        subnets = self.subnets()
        return {subnets[s].vpc_id for s in subnet_ids if s in subnets}

    def _load_subnets(self) -> dict[str, Subnet]:
        out = {}
        for page in self._r.aws.paginate("ec2", self._r.name, "DescribeSubnets", page_size=1000):
            for raw in page.get("Subnets") or []:
                out[raw["SubnetId"]] = Subnet(raw["SubnetId"], str(raw.get("VpcId") or ""), str(raw.get("CidrBlock") or ""))
        return out

    def _load_groups(self) -> dict[str, SecurityGroup]:
        out = {}
        for page in self._r.aws.paginate("ec2", self._r.name, "DescribeSecurityGroups", page_size=1000):
            for raw in page.get("SecurityGroups") or []:
                out[raw["GroupId"]] = SecurityGroup(
                    raw["GroupId"], str(raw.get("GroupName") or ""), str(raw.get("VpcId") or ""), raw
                )
        return out


__all__ = ["Ec2Inventory", "SecurityGroup", "Subnet"]
