"""IP ranges and VPC identifiers as IAM conditions use them (pure)."""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from functools import lru_cache

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Address = ipaddress.IPv4Address | ipaddress.IPv6Address

#: Ranges that never appear in ``aws:SourceIp``: it only holds public addresses (traffic from private
#: addresses reaches S3 through a VPC endpoint, where ``aws:VpcSourceIp`` carries them instead).
PRIVATE_RANGES: tuple[Network, ...] = tuple(
    ipaddress.ip_network(n)
    for n in (
        "10.0.0.0/8",
        "172.16.0.0/12",
        "192.168.0.0/16",
        "100.64.0.0/10",
        "127.0.0.0/8",
        "169.254.0.0/16",
        "fc00::/7",
        "fe80::/10",
        "::1/128",
    )
)

#: Listed ranges at least this wide do not restrict anything worth the name (0.0.0.0/0, ::/0 …).
BROAD_PREFIX = {4: 8, 6: 16}

VPC_ID_RE = re.compile(r"^vpc-(?:[0-9a-f]{8}|[0-9a-f]{17})$")
VPCE_ID_RE = re.compile(r"^vpce-(?:[0-9a-f]{8}|[0-9a-f]{17})$")


@dataclass(frozen=True)
class CidrCheck:
    network: Network | None  # None when the value is not an address or range at all
    host_bits: bool = False  # 10.0.0.1/24: accepted, but the host bits are ignored
    private: bool = False  # wholly inside a private/non-routable range

    @property
    def valid(self) -> bool:
        return self.network is not None


@lru_cache(maxsize=4096)
def check_cidr(text: str) -> CidrCheck:
    """Parse an IAM IP value (``a.b.c.d``, ``a.b.c.d/n``, IPv6 likewise)."""
    if not isinstance(text, str) or not text or text != text.strip():
        return CidrCheck(None)
    try:
        net = ipaddress.ip_network(text, strict=False)
    except ValueError:
        return CidrCheck(None)
    host_bits = False
    if "/" in text:
        try:
            ipaddress.ip_network(text, strict=True)
        except ValueError:
            host_bits = True
    private = any(net.version == p.version and net.subnet_of(p) for p in PRIVATE_RANGES)  # type: ignore[arg-type]
    return CidrCheck(net, host_bits, private)


@lru_cache(maxsize=8192)
def parse_ip(text: str) -> Address | None:
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        return None


def ip_in(addr_text: str, cidr_text: str) -> bool | None:
    """Whether the request's address is in the policy's range; None when the policy value is invalid."""
    chk = check_cidr(cidr_text)
    if chk.network is None:
        return None
    addr = parse_ip(addr_text)
    if addr is None or addr.version != chk.network.version:
        return False
    return addr in chk.network


def is_private(addr: Address) -> bool:
    return any(addr.version == p.version and addr in p for p in PRIVATE_RANGES)


def is_broad(net: Network) -> bool:
    return net.prefixlen < BROAD_PREFIX[net.version]


def intervals(networks: list[Network], version: int, *, split_private: bool) -> list[Address]:
    """Start addresses of the maximal intervals of one address family on which membership in every
    ``networks`` entry (and, with ``split_private``, in every private range) is constant."""
    cls = ipaddress.IPv4Address if version == 4 else ipaddress.IPv6Address
    top = 2**32 if version == 4 else 2**128
    bounds = {0}
    nets = [n for n in networks if n.version == version]
    if split_private:
        nets += [p for p in PRIVATE_RANGES if p.version == version]
    for n in nets:
        bounds.add(int(n.network_address))
        end = int(n.broadcast_address) + 1
        if end < top:
            bounds.add(end)
    return [cls(b) for b in sorted(bounds)]
