"""Cloud Map (servicediscovery) namespaces and services, to tell DNS-resolvable names from API-only ones.

* :meth:`CloudMapInventory.service` — ``GetService`` once per service (by ARN or id).
* :meth:`CloudMapInventory.namespaces` — ``ListNamespaces`` once per region (100 a page): every namespace
  the account owns or that is shared with it, which answers every :meth:`~CloudMapInventory.namespace`
  lookup. One ``GetNamespace`` per namespace would cost a call for each namespace the services name.
* :meth:`CloudMapInventory.registry` — a ``serviceRegistries[].registryArn`` → (service, namespace).

Services stay one ``GetService`` per registry: ``ListServices`` filtered to a namespace (its summaries carry
no ``NamespaceId``, so the filter is the only way to learn a service's namespace from a listing) costs at least
one call per namespace holding services — and every Service Connect namespace holds its services' Cloud Map
services — which is more than one call per registry unless registries outnumber those namespaces
(docs/benchmarks.md, "Fewer calls").
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .arn import Arn
from .core import NotAvailable, capture

if TYPE_CHECKING:
    from . import RegionInventory

DNS_TYPES = ("DNS_PRIVATE", "DNS_PUBLIC")


@dataclass(frozen=True)
class Namespace:
    id: str
    arn: str
    name: str
    type: str  # HTTP | DNS_PRIVATE | DNS_PUBLIC
    raw: dict[str, Any] = field(compare=False, hash=False, repr=False)

    @property
    def dns(self) -> bool:
        """Names in this namespace can be resolved by DNS (from the associated VPCs for DNS_PRIVATE)."""
        return self.type in DNS_TYPES


@dataclass(frozen=True)
class DiscoveryService:
    id: str
    arn: str
    name: str
    namespace_id: str
    raw: dict[str, Any] = field(compare=False, hash=False, repr=False)

    @property
    def dns_records(self) -> list[dict[str, Any]]:
        return list((self.raw.get("DnsConfig") or {}).get("DnsRecords") or [])


@dataclass(frozen=True)
class Registry:
    """A Cloud Map service with its namespace, as an ECS ``serviceRegistries`` entry points at it."""

    service: DiscoveryService
    namespace: Namespace

    @property
    def dns_name(self) -> str:
        return f"{self.service.name}.{self.namespace.name}"

    @property
    def resolvable_by_dns(self) -> bool:
        """A DNS namespace *and* DNS records on the service (a service without ``DnsConfig`` is API-only)."""
        return self.namespace.dns and bool(self.service.dns_records)


def resource_id(arn_or_id: str) -> str:
    """``arn:…:namespace/ns-x`` → ``ns-x``; ``arn:…:service/srv-x`` → ``srv-x``; ids pass through."""
    return arn_or_id.rsplit("/", 1)[-1] if arn_or_id.startswith("arn:") else arn_or_id


class CloudMapInventory:
    def __init__(self, region: RegionInventory) -> None:
        self._r = region

    def _ref(self, arn_or_id: str) -> str:
        """The ``Id`` parameter: the id for our own account, the ARN for resources shared with us."""
        if arn_or_id.startswith("arn:"):
            try:
                if Arn.parse(arn_or_id).account not in ("", self._r.account):
                    return arn_or_id
            except ValueError:
                pass
        return resource_id(arn_or_id)

    # -- details ------------------------------------------------------------------------------------------
    def service(self, arn_or_id: str) -> DiscoveryService:
        ref = self._ref(arn_or_id)
        return self._r.memo.get(("cloudmap.service", ref), lambda: self._get_service(ref))

    def namespaces(self) -> dict[str, Namespace]:
        """Every namespace of the region the account owns or that is shared with it, by id and by ARN."""
        return self._r.memo.get("cloudmap.namespaces", self._list_namespaces)

    def namespace(self, arn_or_id: str) -> Namespace:
        """A namespace by ARN or id, from :meth:`namespaces` (no call of its own)."""
        listed = self.namespaces()
        found = listed.get(arn_or_id) or listed.get(resource_id(arn_or_id))
        if found is None:
            raise NotAvailable(f"Cloud Map lists no namespace {arn_or_id} in {self._r.name} (deleted, or not "
                               "shared with this account)", "servicediscovery:ListNamespaces", kind="not-found")
        return found

    def registry(self, registry_arn: str) -> Registry:
        """``GetService`` → ``NamespaceId`` → the namespace from ``ListNamespaces`` (each cached)."""
        svc = self.service(registry_arn)
        return Registry(svc, self.namespace(svc.namespace_id))

    def prefetch_namespaces(self, services) -> None:
        """The namespaces, when the ECS ``services``' Service Connect configurations name one by ARN or id (a
        namespace given by name needs no call: endpoint names use the name)."""
        if any(c.enabled and c.namespace.startswith(("arn:", "ns-")) for s in services for c in s.service_connect):
            capture(self.namespaces)

    def prefetch_registries(self, services) -> None:
        """Every DNS service discovery registry of the ECS ``services``, with its namespace, concurrently."""
        registries = sorted({a for s in services for a in s.registry_arns})
        self._r.pools.map_detail(lambda a: capture(lambda: self.registry(a)), registries)

    # -- loaders ------------------------------------------------------------------------------------------
    def _get_service(self, ref: str) -> DiscoveryService:
        raw = self._r.aws.call("servicediscovery", self._r.name, "GetService", Id=ref).get("Service") or {}
        return DiscoveryService(
            id=str(raw.get("Id") or resource_id(ref)),
            arn=str(raw.get("Arn") or ref),
            name=str(raw.get("Name") or ""),
            namespace_id=str(raw.get("NamespaceId") or ""),
            raw=raw,
        )

    def _list_namespaces(self) -> dict[str, Namespace]:
        out: dict[str, Namespace] = {}
        for page in self._r.aws.paginate("servicediscovery", self._r.name, "ListNamespaces", page_size=100):
            for raw in page.get("Namespaces") or []:
                if raw.get("Id"):
                    ns = _namespace(raw, str(raw["Id"]))
                    out[ns.id] = ns
                    if ns.arn:
                        out[ns.arn] = ns
        return out


def _namespace(raw: dict[str, Any], ref: str) -> Namespace:
    return Namespace(
        id=str(raw.get("Id") or resource_id(ref)),
        arn=str(raw.get("Arn") or ""),
        name=str(raw.get("Name") or ""),
        type=str(raw.get("Type") or ""),
        raw=raw,
    )


__all__ = ["CloudMapInventory", "DiscoveryService", "Namespace", "Registry", "resource_id"]
