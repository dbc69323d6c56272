"""ECS Service Connect vs Cloud Map (DNS) service discovery (check-rules.md §1).

Service Connect endpoint names exist only inside the Service Connect proxies of client tasks in the same
namespace. Nothing outside those tasks (Lambda functions, EC2, tasks without Service Connect) can resolve them;
that needs Cloud Map service discovery in a DNS namespace (``serviceRegistries``) or a load balancer.

The configuration is read from the deployments (``services[].deployments[]``, PRIMARY and — during a rollout —
ACTIVE), never from a top-level field, and namespaces are normalised through Cloud Map.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from auditor.check import Recorder, check
from auditor.inventory import Inventory, RegionInventory
from auditor.inventory import resources as res
from auditor.inventory.awslambda import Function
from auditor.inventory.cloudmap import Namespace, Registry
from auditor.inventory.core import NotAvailable, capture
from auditor.inventory.ec2 import SecurityGroup
from auditor.inventory.ecs import EcsService, ServiceConnect, ServiceConnectService, TaskDefinition
from auditor.model import Confidence, Resource, Severity

from ._ecs import record_service_gaps

SC_CONCEPTS_DOC = "https://docs.aws.amazon.com/AmazonECS/latest/developerguide/service-connect-concepts.html"
SC_DOC = "https://docs.aws.amazon.com/AmazonECS/latest/developerguide/service-connect.html"
DISCOVERY_DOC = "https://docs.aws.amazon.com/AmazonECS/latest/developerguide/service-discovery.html"
DEPLOYMENT_API_DOC = "https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_Deployment.html"
CLOUDMAP_NS_DOC = "https://docs.aws.amazon.com/cloud-map/latest/dg/working-with-namespaces.html"
LAMBDA_VPC_DOC = "https://docs.aws.amazon.com/lambda/latest/dg/configuration-vpc.html"

_TOPOLOGY = ("ecs.services", "cloudmap.namespaces", "cloudmap.registries")

# ------------------------------------------------------------------------------------------------------------
# Host tokens: how an environment value names a host
# ------------------------------------------------------------------------------------------------------------
_PIECE_SPLIT = re.compile(r"[\s,;\"'<>\[\]{}()|`]+")
_HOST = r"[A-Za-z0-9](?:[A-Za-z0-9_-]{0,62})(?:\.[A-Za-z0-9_-]{1,63})*\.?"
_URL = re.compile(r"(?<![A-Za-z0-9+.-])[A-Za-z][A-Za-z0-9+.-]*://[^\s]+")  # a scheme starts a run: linear search
_HOST_PORT = re.compile(rf"(?:[^@/:]+(?::[^@/]*)?@)?({_HOST}):(\d{{1,5}})(?:[/?#].*)?")
_BARE = re.compile(_HOST)
_SECRET_REF = re.compile(
    r"(arn:aws[\w-]*:(?:ssm|secretsmanager):|\{\{resolve:(?:ssm|ssm-secure|secretsmanager):|^ssm:|"
    r"^/aws/reference/secretsmanager/)",
    re.IGNORECASE,
)
_ENDPOINT_VAR = re.compile(r"(URL|URI|HOST|ENDPOINT|ADDR|SERVICE|API|BASE)", re.IGNORECASE)


def host_tokens(value: str) -> set[str]:
    """Hosts an environment value names, lower-cased: ``scheme://host[:port]``, ``host:port`` or a bare name.

    Words are never searched for substrings: ``http://inventory-api-v2`` names ``inventory-api-v2``, not
    ``inventory-api``; a path segment (``https://example.com/catalog``) is not a host.
    """
    out: set[str] = set()
    for piece in _PIECE_SPLIT.split(value or ""):
        if not piece:
            continue
        if "=" in piece and "://" not in piece.split("=", 1)[0]:
            piece = piece.rsplit("=", 1)[-1]  # Host=inventory-api in a connection string
        url = _URL.search(piece)
        if url:
            try:
                host = urlsplit(url.group(0)).hostname
            except ValueError:
                host = None
            if host:
                out.add(host.rstrip(".").lower())
            continue
        m = _HOST_PORT.fullmatch(piece)
        if m:
            out.add(m.group(1).rstrip(".").lower())
            continue
        stripped = piece.rstrip(".:")
        if stripped and _BARE.fullmatch(stripped) and not stripped.isdigit():
            out.add(stripped.lower())
    return out


def is_secret_reference(value: str) -> bool:
    """An SSM parameter / Secrets Manager reference: the real value is only known at run time."""
    return bool(_SECRET_REF.search(value or ""))


# ------------------------------------------------------------------------------------------------------------
# The region's service-discovery topology (built once per scan, shared by the four checks)
# ------------------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Endpoint:
    name: str
    service: EcsService
    config: ServiceConnect
    entry: ServiceConnectService


@dataclass(frozen=True)
class UnknownEndpoint:
    """An endpoint name that is ``<prefix><namespace>`` but whose namespace's name could not be resolved."""

    prefix: str  # "discoveryname." (lower-case)
    service: EcsService
    why: NotAvailable


@dataclass
class Topology:
    region: RegionInventory
    services: list[EcsService]
    endpoints: list[Endpoint] = field(default_factory=list)
    namespaces: dict[str, Namespace | NotAvailable] = field(default_factory=dict)  # namespace ARN → …
    registries: dict[str, list[Registry]] = field(default_factory=dict)  # service ARN → its registries
    registry_errors: dict[str, NotAvailable] = field(default_factory=dict)  # service ARN → why unknown
    endpoint_errors: dict[str, NotAvailable] = field(default_factory=dict)  # service ARN → names unknown
    unknown_endpoints: list[UnknownEndpoint] = field(default_factory=list)
    registries_resolved: bool = False  # registries/registry_errors are filled in (see _resolve_registries)

    @property
    def dns_names(self) -> dict[str, EcsService]:
        """DNS-resolvable discovery names (lower-case, without a trailing dot) → the service registered under it."""
        out = {}
        for svc in self.services:
            for reg in self.registries.get(svc.arn, []):
                if reg.resolvable_by_dns:
                    out[reg.dns_name.lower().rstrip(".")] = svc
        return out

    def dns_registries(self, svc: EcsService) -> list[Registry]:
        return [r for r in self.registries.get(svc.arn, []) if r.resolvable_by_dns]

    def namespace_label(self, config: ServiceConnect) -> str:
        """The namespace's name: as given, or resolved from its ARN through Cloud Map ("" when unknown)."""
        ref = config.namespace
        if not _is_namespace_arn(ref):
            return ref
        ns = self.namespaces.get(ref)
        return ns.name if isinstance(ns, Namespace) else ""

    def namespace_error(self, config: ServiceConnect) -> NotAvailable | None:
        """Why the name of ``config``'s namespace is unknown (``None`` when it is known)."""
        if self.namespace_label(config):
            return None
        ns = self.namespaces.get(config.namespace)
        if isinstance(ns, NotAvailable):
            return ns
        if not config.namespace:
            return NotAvailable("ECS returned no namespace in its Service Connect configuration")
        return NotAvailable(f"Cloud Map returned no name for namespace {config.namespace}",
                            "servicediscovery:ListNamespaces")

    def sc_namespace_error(self, svc: EcsService) -> NotAvailable | None:
        """Why some enabled Service Connect namespace of ``svc`` (PRIMARY or ACTIVE) is unknown."""
        for config in svc.service_connect:
            if config.enabled and (err := self.namespace_error(config)) is not None:
                return err
        return None

    def namespace_key(self, config: ServiceConnect) -> str:
        """A stable identity for a Service Connect namespace, whether ECS returns its name or its ARN: the
        lower-cased name (Cloud Map namespace names are unique per account and Region), else the ARN."""
        name = self.namespace_label(config)
        return name.lower() if name else f"ref:{config.namespace}"

    def sc_namespace_keys(self, svc: EcsService) -> set[str]:
        return {self.namespace_key(c) for c in svc.service_connect if c.enabled}

    def discovery_namespace_keys(self, svc: EcsService) -> set[str]:
        return {r.namespace.name.lower() for r in self.registries.get(svc.arn, [])}


def _is_namespace_arn(ref: str) -> bool:
    return ref.startswith("arn:") or ref.startswith("ns-")


def topology(region: RegionInventory) -> Topology:
    return region.memo.get("checks.ecs_service_connect.topology", lambda: _build(region))


def _build(region: RegionInventory) -> Topology:
    services = region.ecs.services()
    topo = Topology(region, services)
    # Only ARNs need Cloud Map (ListNamespaces, once per region); a name is already what endpoint names use.
    refs = sorted({c.namespace for s in services for c in s.service_connect if c.enabled
                   and _is_namespace_arn(c.namespace)})
    resolved = region.pools.map_detail(lambda r: capture(lambda: region.cloudmap.namespace(r)), refs)
    topo.namespaces = dict(zip(refs, resolved, strict=True))
    for svc in services:
        for config in svc.service_connect:
            if not config.enabled:
                continue
            ns_name = topo.namespace_label(config) or None
            for entry in config.services:
                if entry.needs_namespace and ns_name is None:
                    why = topo.namespace_error(config)
                    assert why is not None
                    topo.unknown_endpoints.append(
                        UnknownEndpoint(f"{entry.effective_discovery_name.lower()}.", svc, why)
                    )
                    topo.endpoint_errors.setdefault(
                        svc.arn,
                        NotAvailable(
                            f"its endpoint name {entry.effective_discovery_name}.<namespace> depends on namespace "
                            f"{config.namespace or '(none returned)'}, whose name could not be resolved: {why.reason}",
                            why.iam_action,
                        ),
                    )
                for name in entry.endpoint_names(ns_name):
                    topo.endpoints.append(Endpoint(name, svc, config, entry))
    return topo


def _resolve_registries(topo: Topology) -> None:
    """Read the services' DNS service discovery registries (``GetService`` → ``ListNamespaces``) into ``topo``,
    once: only the checks that judge DNS names (SC-1..SC-3) depend on them."""
    if topo.registries_resolved:
        return
    region = topo.region
    registry_arns = sorted({a for s in topo.services for a in s.registry_arns})
    regs = region.pools.map_detail(lambda a: capture(lambda: region.cloudmap.registry(a)), registry_arns)
    by_arn = dict(zip(registry_arns, regs, strict=True))
    for svc in topo.services:
        for arn in svc.registry_arns:
            got = by_arn[arn]
            if isinstance(got, NotAvailable):
                topo.registry_errors.setdefault(svc.arn, got)
            else:
                topo.registries.setdefault(svc.arn, []).append(got)
    topo.registries_resolved = True


def _region_topology(region: RegionInventory, rec: Recorder, *, registries: bool = True) -> Topology | None:
    """The topology (with DNS registries unless ``registries`` is False), with listing-level gaps recorded as
    not evaluated."""
    if not record_service_gaps(region, rec):
        return None
    try:
        topo = topology(region)
    except NotAvailable as exc:
        rec.not_evaluated(region.scope("ecs-services"), exc.reason, exc.iam_action)
        return None
    if registries:
        _resolve_registries(topo)
    return topo


def _functions(region: RegionInventory, rec: Recorder) -> list[Function] | None:
    try:
        return sorted(region.awslambda.functions().values(), key=lambda f: f.name)
    except NotAvailable as exc:
        rec.not_evaluated(region.scope("lambda-functions"), exc.reason, exc.iam_action)
        return None


def _service_gaps(region: RegionInventory) -> list[tuple[Resource, NotAvailable]]:
    """Clusters and services whose configuration could not be read (already recorded by
    :func:`record_service_gaps`): whatever they would show is unknown."""
    got = capture(region.ecs.gaps)
    if isinstance(got, NotAvailable):
        return []
    return [(r, exc) for r, exc in got if exc.kind != "not-found"]  # deleted meanwhile: nothing left to call


def _gaps_reason(gaps: list[tuple[Resource, NotAvailable]], what: str) -> str:
    """"the services of cluster shop could not be read (access denied to ecs:DescribeServices), so …"."""
    resource, exc = gaps[0]
    where = f"the services of cluster {resource.id}" if resource.type == "ecs-cluster" else f"ECS service {resource.id}"
    more = f" (and {len(gaps) - 1} more cluster(s)/service(s))" if len(gaps) > 1 else ""
    return f"{where}{more} could not be read ({exc.reason}), so {what}"


def _fn_resource(region: RegionInventory, fn: Function) -> Resource:
    return res.function(region.account, region.name, fn.arn)


def _env_error(fn: Function) -> str:
    err = (fn.raw.get("Environment") or {}).get("Error") or {}
    return str(err.get("ErrorCode") or err.get("Message") or "") if err else ""


# ------------------------------------------------------------------------------------------------------------
# SC-1
# ------------------------------------------------------------------------------------------------------------
@check(
    id="ecs-service-connect/lambda-calls-service-connect-name",
    rule="SC-1",
    title="Lambda function calls a name only Service Connect can resolve",
    severity=Severity.HIGH,
    description=(
        "An environment variable of a Lambda function names (as a URL host, host:port or bare name) a Service "
        "Connect endpoint name (client alias) of an ECS service that is not also a DNS name of it. Service "
        "Connect names are resolved by the Service Connect proxy inside client tasks of the same namespace; they "
        "are not in DNS. Judged by name: a service registered in DNS under another name is still reported when "
        "its Service Connect alias is called. When some services of the region could not be read, a function "
        "that names no known Service Connect endpoint is not evaluated rather than passed."
    ),
    risk=(
        "The function cannot resolve the name: every call fails with a DNS error, typically only in production "
        "where the service moved to Service Connect while the function kept the old address."
    ),
    remediation=(
        "Register the ECS service with Cloud Map service discovery in a private DNS namespace associated with "
        "the function's VPC (serviceRegistries), and call that DNS name — or put the service behind a load "
        "balancer and call the balancer's name."
    ),
    cli=(
        "aws ecs update-service --cluster CLUSTER --service SERVICE "
        "--service-registries registryArn=arn:aws:servicediscovery:REGION:ACCOUNT:service/srv-ID"
    ),
    terraform=(
        'resource "aws_service_discovery_service" "svc" {\n  name = "inventory-api"\n  dns_config {\n'
        "    namespace_id = aws_service_discovery_private_dns_namespace.ns.id\n"
        '    dns_records {\n      type = "A"\n      ttl  = 10\n    }\n  }\n}\n'
        'resource "aws_ecs_service" "svc" {\n  service_registries {\n'
        "    registry_arn = aws_service_discovery_service.svc.arn\n  }\n}"
    ),
    docs=(SC_CONCEPTS_DOC, DISCOVERY_DOC, DEPLOYMENT_API_DOC),
    requires=(*_TOPOLOGY, "lambda.functions"),
)
def lambda_calls_service_connect_name(inv: Inventory, rec: Recorder) -> None:
    for region in inv.regions:
        topo = _region_topology(region, rec)
        if topo is None:
            continue
        for arn, exc in sorted(topo.endpoint_errors.items()):
            svc = next(s for s in topo.services if s.arn == arn)
            rec.not_evaluated(svc.resource, exc.reason, exc.iam_action)
        for arn, exc in sorted(topo.registry_errors.items()):
            svc = next(s for s in topo.services if s.arn == arn)
            if svc.service_connect_enabled:
                rec.not_evaluated(
                    svc.resource,
                    f"whether its Service Connect names are also in DNS is unknown: {exc.reason}",
                    exc.iam_action,
                )
        # Judged by name: an endpoint name is Service-Connect-only unless that very name is in DNS, however else
        # its service is registered (DNS under another name does not help a caller of this one).
        dns_names = topo.dns_names
        sc_only: dict[str, list[Endpoint]] = {}
        unknown: dict[str, list[tuple[EcsService, NotAvailable]]] = {}  # name → services it may be SC-only of
        for ep in topo.endpoints:
            name = ep.name.lower().rstrip(".")
            if name in dns_names:
                continue
            exc = topo.registry_errors.get(ep.service.arn)
            if exc is not None and "." in name:
                # It may be the DNS name of the registry that could not be read; a Cloud Map DNS name is always
                # <service>.<namespace>, so a single-label alias cannot be.
                unknown.setdefault(name, []).append(
                    (ep.service, NotAvailable(f"whether it is also in DNS is unknown: {exc.reason}", exc.iam_action))
                )
            else:
                sc_only.setdefault(name, []).append(ep)
        gaps = _service_gaps(region)
        if not topo.endpoints and not topo.unknown_endpoints and not gaps:
            continue
        functions = _functions(region, rec)
        if functions is None:
            continue
        for fn in functions:
            _sc1_function(region, topo, fn, sc_only, unknown, gaps, rec)


def _sc1_function(
    region: RegionInventory,
    topo: Topology,
    fn: Function,
    sc_only: dict[str, list[Endpoint]],
    unknown: dict[str, list[tuple[EcsService, NotAvailable]]],
    gaps: list[tuple[Resource, NotAvailable]],
    rec: Recorder,
) -> None:
    fres = _fn_resource(region, fn)
    if _env_error(fn):
        rec.not_evaluated(fres, f"its environment variables could not be read ({_env_error(fn)})",
                          "lambda:GetFunctionConfiguration")
        return
    if not fn.environment:
        return  # nothing to judge: no finding (a pass here would only be noise)
    found = undetermined = False
    for var, value in sorted(fn.environment.items()):
        value = str(value)
        if is_secret_reference(value):
            if _ENDPOINT_VAR.search(var):
                undetermined = True
                rec.not_evaluated(
                    fres,
                    f"environment variable {var} holds an SSM/Secrets Manager reference, so the host it names is "
                    "not determinable from the configuration",
                    key=var,
                )
            continue
        for host in sorted(host_tokens(value)):
            for ep in sc_only.get(host, []):
                found = True
                _sc1_fail(topo, fn, fres, var, ep, rec)
            if host in sc_only:
                continue
            maybe = {svc.arn: (svc, why) for svc, why in unknown.get(host, [])}
            for u in topo.unknown_endpoints:
                if host.startswith(u.prefix) and len(host) > len(u.prefix):
                    maybe.setdefault(u.service.arn, (u.service, u.why))
            for svc, why in maybe.values():
                undetermined = True
                rec.not_evaluated(
                    fres,
                    f"environment variable {var} names {host}, which may be a Service-Connect-only endpoint of ECS "
                    f"service {svc.label}: {why.reason}",
                    why.iam_action,
                    key=f"{var}|{svc.arn}",
                )
    if found or undetermined:
        return
    if gaps:
        # Some services' Service Connect names are unknown: any host it calls may be one of them.
        rec.not_evaluated(fres, _gaps_reason(gaps, "whether it calls one of their Service Connect names is unknown"),
                          gaps[0][1].iam_action, key="unknown-services")
        return
    rec.ok(fres, f"{fn.name}: no environment variable names a Service-Connect-only endpoint")


def _sc1_fail(topo: Topology, fn: Function, fres: Resource, var: str, ep: Endpoint, rec: Recorder) -> None:
    svc = ep.service
    dns = [r.dns_name for r in topo.dns_registries(svc)]
    hint = ""
    if dns:
        hint = f" The service is also registered in DNS as {', '.join(dns)}: use that name."
    elif svc.arn in topo.registry_errors:
        hint = (" Its Cloud Map registry could not be read, but a Cloud Map DNS name is always "
                "<service>.<namespace>, so this single-label name is not one.")
    elif svc.load_balancers:
        hint = " The service is behind a load balancer: call the balancer's name instead."
    during = " (during the rollout in progress)" if ep.config.deployment_status != "PRIMARY" else ""
    rec.fail(
        fres,
        f"Lambda function {fn.name} calls {ep.name} (environment variable {var}), an endpoint name of "
        f"ECS service {svc.label}{during} that only Service Connect proxies can resolve; the function "
        f"cannot resolve it.{hint}",
        evidence={
            "function": fn.arn,
            "variable": var,
            "endpoint": ep.name,
            "service": svc.arn,
            "deployment": ep.config.deployment_id,
            "deployment_status": ep.config.deployment_status,
            "namespace": topo.namespace_label(ep.config) or ep.config.namespace,
            "port_name": ep.entry.port_name,
            "dns_names": dns,
            "load_balancers": [lb.get("targetGroupArn") or lb.get("loadBalancerName")
                               for lb in svc.load_balancers],
        },
        key=f"{var}|{svc.arn}|{ep.name}",
    )


# ------------------------------------------------------------------------------------------------------------
# SC-2
# ------------------------------------------------------------------------------------------------------------
def _service_ports(region: RegionInventory, svc: EcsService, config: ServiceConnect) -> dict[int, str]:
    """Ports the service's tasks accept Service Connect traffic on → the portName."""
    td = region.ecs.task_definition(svc.primary_task_definition_arn)
    by_name = {
        pm.get("name"): pm.get("containerPort")
        for c in td.containers
        for pm in c.get("portMappings") or []
        if pm.get("name")
    }
    ports: dict[int, str] = {}
    for entry in config.services:
        port = entry.ingress_port_override or by_name.get(entry.port_name)
        if port:
            ports[int(port)] = entry.port_name
    return ports


@check(
    id="ecs-service-connect/lambda-network-reaches-service-connect-only",
    rule="SC-2",
    title="VPC Lambda is let into a Service-Connect-only service it cannot name",
    severity=Severity.MEDIUM,
    confidence=Confidence.MEDIUM,
    description=(
        "Heuristic: a VPC-attached Lambda function runs in the VPC of an ECS service, and a security group of "
        "the service's tasks admits one of the function's security groups on the service port — someone meant "
        "the function to call the service — but the service is discoverable only through Service Connect, "
        "whose names the function cannot resolve."
    ),
    risk=(
        "The network path exists but there is no name the function can resolve: calls fail, or the code falls "
        "back to hard-coded task IPs that change on every deployment."
    ),
    remediation=(
        "Register the service with Cloud Map service discovery in a private DNS namespace of the VPC "
        "(serviceRegistries) or front it with a load balancer, and have the function call that name; remove "
        "the security-group rule if the function is not meant to call the service."
    ),
    cli="aws ecs update-service --cluster CLUSTER --service SERVICE --service-registries registryArn=SRV_ARN",
    docs=(SC_CONCEPTS_DOC, DISCOVERY_DOC, LAMBDA_VPC_DOC),
    requires=(*_TOPOLOGY, "ecs.task_definitions", "ec2.network", "lambda.functions"),
)
def lambda_network_reaches_sc_only(inv: Inventory, rec: Recorder) -> None:
    for region in inv.regions:
        topo = _region_topology(region, rec)
        if topo is None:
            continue
        targets = [
            s
            for s in topo.services
            if s.primary_service_connect is not None
            and s.primary_service_connect.services
            and not topo.dns_registries(s)  # with a registry error: maybe SC-only, judged "not evaluated"
            and not s.load_balancers
            and s.security_groups
        ]
        gaps = _service_gaps(region)  # services whose configuration is unknown may be such targets too
        if not targets and not gaps:
            continue
        functions = _functions(region, rec)
        if functions is None:
            continue
        vpc_functions = [f for f in functions if (f.vpc_config.get("SubnetIds") or [])]
        if not vpc_functions:
            continue
        if not targets:
            for fn in vpc_functions:
                _sc2_unknown_services(region, fn, gaps, rec)
            continue
        ec2 = region.ec2
        try:
            groups = ec2.security_groups()
            ec2.subnets()
        except NotAvailable as exc:
            rec.not_evaluated(region.scope("ec2-network"), exc.reason, exc.iam_action)
            continue
        ports: dict[str, dict[int, str]] = {}
        port_errors: dict[str, NotAvailable] = {}
        for svc in targets:
            try:
                ports[svc.arn] = _service_ports(region, svc, svc.primary_service_connect)  # type: ignore[arg-type]
            except NotAvailable as exc:
                port_errors[svc.arn] = exc
                rec.not_evaluated(svc.resource, exc.reason, exc.iam_action)
        for fn in vpc_functions:
            fres = _fn_resource(region, fn)
            fn_vpcs = ec2.vpc_of_subnets(list(fn.vpc_config.get("SubnetIds") or []))
            fn_groups = set(fn.vpc_config.get("SecurityGroupIds") or [])
            if not fn_vpcs:
                rec.not_evaluated(fres, "the VPC of its subnets could not be determined", "ec2:DescribeSubnets")
                continue
            hit = undetermined = False
            for svc in targets:
                if not (ec2.vpc_of_subnets(svc.subnets) & fn_vpcs):
                    continue
                if svc.arn in port_errors:
                    # Its ports are unknown: a security group that admits the function on any TCP port may be
                    # the service port.
                    sgs = [sg_id for sg_id in svc.security_groups
                           if sg_id in groups and _admits_on_some_port(groups[sg_id], fn_groups)]
                    if sgs:
                        exc = port_errors[svc.arn]
                        undetermined = True
                        rec.not_evaluated(
                            fres,
                            f"ECS service {svc.label}'s security group {sgs[0]} admits it, but the service's port "
                            f"is unknown because its task definition could not be read: {exc.reason}",
                            exc.iam_action,
                            key=f"{svc.arn}|ports",
                        )
                    continue
                for sg_id in svc.security_groups:
                    sg = groups.get(sg_id)
                    if sg is None:
                        continue
                    for port, port_name in sorted(ports[svc.arn].items()):
                        admitted = sg.admits_group(fn_groups, port)
                        if not admitted:
                            continue
                        if svc.arn in topo.registry_errors:
                            exc = topo.registry_errors[svc.arn]
                            undetermined = True
                            rec.not_evaluated(
                                fres,
                                f"ECS service {svc.label}'s security group {sg_id} admits it on port {port}, but "
                                f"whether {svc.label} is also in DNS is unknown: {exc.reason}",
                                exc.iam_action,
                                key=f"{svc.arn}|{sg_id}|{port}",
                            )
                            continue
                        hit = True
                        rec.fail(
                            fres,
                            f"Lambda function {fn.name} shares a VPC with ECS service {svc.label}, whose security "
                            f"group {sg_id} admits the function's security group {', '.join(admitted)} on port "
                            f"{port}, but {svc.label} is discoverable only through Service Connect: the function "
                            "has no name it can resolve for it (heuristic).",
                            evidence={
                                "function": fn.arn,
                                "service": svc.arn,
                                "vpc": sorted(fn_vpcs),
                                "service_security_group": sg_id,
                                "function_security_groups": admitted,
                                "port": port,
                                "port_name": port_name,
                            },
                            key=f"{svc.arn}|{sg_id}|{port}",
                        )
            if hit or undetermined:
                continue
            if gaps:
                _sc2_unknown_services(region, fn, gaps, rec)
            else:
                rec.ok(fres, f"{fn.name}: no Service-Connect-only service admits it on its port")


def _sc2_unknown_services(region: RegionInventory, fn: Function, gaps: list[tuple[Resource, NotAvailable]],
                          rec: Recorder) -> None:
    rec.not_evaluated(
        _fn_resource(region, fn),
        _gaps_reason(gaps, "whether one of them is Service-Connect-only and admits it is unknown"),
        gaps[0][1].iam_action,
        key="unknown-services",
    )


def _admits_on_some_port(sg: SecurityGroup, source_group_ids: set[str]) -> bool:
    """Whether ``sg`` admits one of ``source_group_ids`` on any TCP port (ingress rules)."""
    for perm in sg.raw.get("IpPermissions") or []:
        if str(perm.get("IpProtocol", "")) not in ("-1", "tcp", "6"):
            continue
        if any(pair.get("GroupId") in source_group_ids for pair in perm.get("UserIdGroupPairs") or []):
            return True
    return False


# ------------------------------------------------------------------------------------------------------------
# Callers evidenced by configuration (SC-3, SC-4)
# ------------------------------------------------------------------------------------------------------------
def _container_env(td: TaskDefinition) -> Iterator[tuple[str, str, str]]:
    for c in td.containers:
        for env in c.get("environment") or []:
            if isinstance(env, dict) and isinstance(env.get("value"), str):
                yield str(c.get("name") or ""), str(env.get("name") or ""), env["value"]


@dataclass
class _EcsCalls:
    """Which hosts each ECS service's task definitions name in their container environment."""

    hosts: dict[str, set[str]]  # service ARN → host tokens
    errors: dict[str, NotAvailable]  # service ARN → its task definition could not be read


def _ecs_calls(region: RegionInventory) -> _EcsCalls:
    def build() -> _EcsCalls:
        hosts: dict[str, set[str]] = {}
        errors: dict[str, NotAvailable] = {}
        for td in region.ecs.task_definitions_in_use():
            for svc_arn in td.used_by:
                if td.error is not None:
                    errors.setdefault(svc_arn, td.error)
                    continue
                bucket = hosts.setdefault(svc_arn, set())
                for _, _, value in _container_env(td):
                    bucket |= host_tokens(value)
        return _EcsCalls(hosts, errors)

    return region.memo.get("checks.ecs_service_connect.ecs_calls", build)


@check(
    id="ecs-service-connect/dns-discovery-only-ecs-callers",
    rule="SC-3",
    title="DNS-discovered service is only called by ECS services of its namespace",
    severity=Severity.INFO,
    confidence=Confidence.MEDIUM,
    description=(
        "An ECS service is registered with Cloud Map DNS service discovery, and the only callers the "
        "configuration shows (container environment of ECS services, Lambda environment) are ECS services in "
        "the same namespace. Service Connect would serve them with retries, outlier detection and traffic "
        "metrics, without DNS caching issues."
    ),
    risk=(
        "None immediate. DNS discovery gives no connection-level resilience or per-service metrics, and clients "
        "may keep resolving stopped tasks until the TTL expires."
    ),
    remediation=(
        "Consider Service Connect: make the called service a client-and-server (services[] with its named port) "
        "and the pure callers client-side-only services in the namespace. Keep DNS discovery if anything "
        "outside ECS calls the service."
    ),
    docs=(SC_CONCEPTS_DOC, SC_DOC, DISCOVERY_DOC),
    requires=(*_TOPOLOGY, "ecs.task_definitions", "lambda.functions"),
)
def dns_discovery_only_ecs_callers(inv: Inventory, rec: Recorder) -> None:
    for region in inv.regions:
        topo = _region_topology(region, rec)
        if topo is None:
            continue
        candidates = [s for s in topo.services if s.registry_arns]
        if not candidates:
            continue
        functions = _functions(region, rec)
        if functions is None:
            continue
        try:
            calls = _ecs_calls(region)
        except NotAvailable as exc:
            rec.not_evaluated(region.scope("ecs-task-definitions"), exc.reason, exc.iam_action)
            continue
        lambda_hosts = {
            fn.name: set().union(*(host_tokens(str(v)) for v in fn.environment.values()))
            for fn in functions
            if fn.environment
        }
        called = {h for hs in calls.hosts.values() for h in hs} | {h for hs in lambda_hosts.values() for h in hs}
        for svc in candidates:
            if svc.arn in topo.registry_errors:
                exc = topo.registry_errors[svc.arn]
                rec.not_evaluated(svc.resource, exc.reason, exc.iam_action)
                continue
            regs = topo.dns_registries(svc)
            if not regs:
                continue
            if svc.service_connect_enabled:
                rec.ok(svc.resource, f"{svc.label} already uses Service Connect beside DNS discovery")
                continue
            unknown = sorted(a for a in calls.errors if a != svc.arn)
            if unknown:
                exc = calls.errors[unknown[0]]
                rec.not_evaluated(svc.resource, f"callers cannot be determined: {exc.reason}", exc.iam_action)
                continue
            names = {r.dns_name.lower() for r in regs}
            ns_keys = {r.namespace.name.lower() for r in regs}
            lambda_callers = sorted(fn for fn, hosts in lambda_hosts.items() if hosts & names)
            ecs_callers = [
                other for other in topo.services if other.arn != svc.arn and calls.hosts.get(other.arn, set()) & names
            ]
            outside: list[str] = []
            unknown_ns: list[tuple[EcsService, NotAvailable]] = []  # callers whose namespaces are not all known
            for o in ecs_callers:
                if topo.discovery_namespace_keys(o) & ns_keys or topo.sc_namespace_keys(o) & ns_keys:
                    continue
                why = topo.sc_namespace_error(o) or topo.registry_errors.get(o.arn)
                if why is not None:
                    unknown_ns.append((o, why))
                else:
                    outside.append(o.label)
            ev = {
                "service": svc.arn,
                "dns_names": sorted(r.dns_name for r in regs),
                "namespaces": sorted(r.namespace.name for r in regs),
                "ecs_callers": [o.label for o in ecs_callers],
                "lambda_callers": lambda_callers,
            }
            if lambda_callers:
                rec.ok(svc.resource, f"{svc.label} is called by Lambda ({', '.join(lambda_callers)}): DNS "
                       "discovery is needed", evidence=ev)
            elif not ecs_callers:
                rec.ok(svc.resource, f"{svc.label}: no callers evidenced in the configuration", evidence=ev)
            elif outside:
                rec.ok(svc.resource, f"{svc.label} is called by ECS services outside its namespace "
                       f"({', '.join(outside)})", evidence=ev)
            elif unknown_ns:
                o, why = unknown_ns[0]
                rec.not_evaluated(
                    svc.resource,
                    f"whether its caller {o.label} is in the same namespace is unknown: {why.reason}",
                    why.iam_action,
                )
            else:
                roles = []
                for o in ecs_callers:
                    o_names = {r.dns_name.lower() for r in topo.registries.get(o.arn, [])}
                    role = "client and server" if o_names & called else "client side only"
                    roles.append(f"{o.label} as {role}")
                rec.fail(
                    svc.resource,
                    f"ECS service {svc.label} is registered in DNS as {', '.join(sorted(r.dns_name for r in regs))}, "
                    f"but its only evidenced callers are ECS services of the same namespace "
                    f"({', '.join(o.label for o in ecs_callers)}): Service Connect would suit — {svc.label} as "
                    f"client and server, {'; '.join(roles)}.",
                    evidence=ev,
                )


# ------------------------------------------------------------------------------------------------------------
# SC-4
# ------------------------------------------------------------------------------------------------------------
@check(
    id="ecs-service-connect/unreachable-service-connect-role",
    rule="SC-4",
    title="Service Connect role leaves a service unreachable",
    severity=Severity.LOW,
    description=(
        "A client-and-server Service Connect service is alone in its namespace, so no other Service Connect "
        "service can use its endpoint; or a service that other Service Connect services of its namespace call "
        "by name is configured client-side only (no services[]), so it publishes no endpoint at all."
    ),
    risk=(
        "Callers that rely on Service Connect get name-resolution errors, or the endpoint exists for nobody: a "
        "namespace mismatch that only shows when traffic fails."
    ),
    remediation=(
        "Put callers and the called service in the same namespace; give a called service a services[] entry "
        "(portName of a named port mapping, clientAliases with the name its callers use)."
    ),
    cli=(
        "aws ecs update-service --cluster CLUSTER --service SERVICE --service-connect-configuration "
        "'{\"enabled\":true,\"namespace\":\"NS\",\"services\":[{\"portName\":\"http\","
        "\"clientAliases\":[{\"port\":8080,\"dnsName\":\"SERVICE\"}]}]}'"
    ),
    docs=(SC_CONCEPTS_DOC, SC_DOC, CLOUDMAP_NS_DOC),
    requires=("ecs.services", "cloudmap.namespaces", "ecs.task_definitions"),
)
def unreachable_service_connect_role(inv: Inventory, rec: Recorder) -> None:
    for region in inv.regions:
        topo = _region_topology(region, rec, registries=False)  # SC-4 judges Service Connect only
        if topo is None:
            continue
        enabled = [s for s in topo.services if s.primary_service_connect is not None]
        if not enabled:
            continue
        try:
            calls = _ecs_calls(region)
        except NotAvailable as exc:
            rec.not_evaluated(region.scope("ecs-task-definitions"), exc.reason, exc.iam_action)
            continue
        # Each service's namespaces, once: who shares a namespace is then a lookup, not a pass over every pair.
        errors = {o.arn: topo.sc_namespace_error(o) for o in enabled}
        by_key: dict[str, list[EcsService]] = {}
        for o in enabled:
            for k in topo.sc_namespace_keys(o):
                by_key.setdefault(k, []).append(o)
        unknown = [o for o in enabled if errors[o.arn] is not None]
        for svc in enabled:
            config = svc.primary_service_connect
            assert config is not None
            own = topo.namespace_error(config)
            if own is not None:
                rec.not_evaluated(
                    svc.resource,
                    f"the name of its Service Connect namespace {config.namespace or '(none returned)'} is unknown, "
                    f"so neither its peers nor the names callers would use are known: {own.reason}",
                    own.iam_action,
                )
                continue
            key = topo.namespace_key(config)
            ns_label = topo.namespace_label(config)
            peers = [o for o in by_key.get(key, []) if o.arn != svc.arn]
            # Services whose namespace is unknown may be peers (or callers) the configuration cannot show.
            peer_arns = {o.arn for o in peers}
            maybe_peers = [(o, errors[o.arn]) for o in unknown if o.arn != svc.arn and o.arn not in peer_arns]
            ev = {"service": svc.arn, "namespace": ns_label, "role": config.role,
                  "peers": [o.label for o in peers]}
            if config.role == "client-server":
                if peers:
                    rec.ok(svc.resource, f"{svc.label} shares namespace {ns_label} with {len(peers)} service(s)",
                           evidence=ev)
                elif maybe_peers:
                    o, err = maybe_peers[0]
                    rec.not_evaluated(
                        svc.resource,
                        f"whether it is alone in namespace {ns_label} is unknown: the namespace of {o.label} could "
                        f"not be resolved ({err.reason})",
                        err.iam_action,
                    )
                else:
                    rec.fail(
                        svc.resource,
                        f"ECS service {svc.label} is a Service Connect client-and-server alone in namespace "
                        f"{ns_label}: no other Service Connect service can use its endpoint.",
                        evidence=ev,
                    )
                continue
            names = {svc.name.lower(), f"{svc.name}.{ns_label}".lower()}
            callers = [o for o in peers if calls.hosts.get(o.arn, set()) & names]
            unread = [o for o in peers if o.arn in calls.errors]
            maybe_callers = [(o, err) for o, err in maybe_peers
                             if calls.hosts.get(o.arn, set()) & names or o.arn in calls.errors]
            if callers:
                rec.fail(
                    svc.resource,
                    f"ECS service {svc.label} is called by name by {', '.join(o.label for o in callers)} in "
                    f"namespace {ns_label}, but it is configured client-side only (no services[]): Service "
                    "Connect publishes no endpoint for it, so nothing can reach it that way.",
                    evidence={**ev, "callers": [o.label for o in callers]},
                )
            elif unread:
                err = calls.errors[unread[0].arn]
                rec.not_evaluated(
                    svc.resource,
                    f"whether {unread[0].label} calls it by name is unknown: its task definition could not be read "
                    f"({err.reason})",
                    err.iam_action,
                )
            elif maybe_callers:
                o, err = maybe_callers[0]
                rec.not_evaluated(
                    svc.resource,
                    f"whether {o.label} calls it by name from the same namespace is unknown: the namespace of "
                    f"{o.label} could not be resolved ({err.reason})",
                    err.iam_action,
                )
            else:
                rec.ok(svc.resource, f"{svc.label} is client-side only and no service calls it by name",
                       evidence=ev)


CHECKS = [
    lambda_calls_service_connect_name,
    lambda_network_reaches_sc_only,
    dns_discovery_only_ecs_callers,
    unreachable_service_connect_role,
]

__all__ = ["CHECKS", "Topology", "host_tokens", "is_secret_reference", "topology"]
