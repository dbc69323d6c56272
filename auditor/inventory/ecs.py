"""ECS clusters, services (with their deployments' Service Connect configuration) and task definitions.

Where the data really lives (check-rules.md §1):

* ``DescribeServices`` has **no** top-level ``serviceConnectConfiguration``. It is on
  ``services[].deployments[]`` beside ``serviceConnectResources`` — the ``PRIMARY`` deployment, plus the
  ``ACTIVE`` one(s) while a rollout is in progress. :attr:`EcsService.service_connect` reads exactly that.
* DNS service discovery is the top-level ``services[].serviceRegistries[].registryArn`` (a Cloud Map *service*
  ARN, resolved by :class:`~auditor.inventory.cloudmap.CloudMapInventory`).
* ``DescribeServices`` accepts at most 10 services per call (moto accepts more; this module batches by 10
  itself and the tests assert it).

Public API used by other checks:

* :meth:`EcsInventory.services` — every service of every cluster of the region.
* :meth:`EcsInventory.task_definition` — one task definition, described once per scan however many services
  share it (raises :class:`NotAvailable`).
* :meth:`EcsInventory.task_definitions_in_use` — the task definitions the services run (PRIMARY and ACTIVE
  deployments), each a :class:`TaskDefinition` with ``.arn``, ``.task_role_arn``, ``.execution_role_arn``,
  ``.containers``, ``.raw`` (the ``taskDefinition`` dict), ``.used_by`` (service ARNs) and ``.error``
  (a :class:`NotAvailable` when it could not be described — report it as not evaluated, don't skip it).
* :meth:`EcsInventory.gaps` — clusters whose services could not be read and services ``DescribeServices``
  returned as ``failures[]``, each a (resource, :class:`NotAvailable`) to report as not evaluated.
* :func:`masked_environment` — a container's environment for evidence, secret-named values masked.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ..model import Resource
from ..redact import MASK, is_secret_key, register_secret
from .arn import Arn
from .core import NotAvailable, capture, iam_action

if TYPE_CHECKING:
    from . import RegionInventory

#: DescribeServices accepts at most this many services per call.
DESCRIBE_SERVICES_BATCH = 10
#: Bounds on a task definition auditor reads (nesting of its JSON, characters of its keys and values), far beyond
#: what a real one needs. A task definition past them is *not evaluated* on its own; it never makes a check fail
#: for every task definition (deep nesting breaks recursion, huge values make matching slow).
MAX_TASK_DEFINITION_DEPTH = 32
MAX_TASK_DEFINITION_CHARS = 512 * 1024
#: The largest pages ListClusters / ListServices hand out.
LIST_PAGE_SIZE = 100


# ------------------------------------------------------------------------------------------------------------
# Service Connect, as a deployment carries it
# ------------------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class ClientAlias:
    dns_name: str
    port: int | None


@dataclass(frozen=True)
class ServiceConnectService:
    """One ``serviceConnectConfiguration.services[]`` entry (what makes a service a *server*)."""

    port_name: str
    discovery_name: str  # as configured ("" when omitted)
    client_aliases: tuple[ClientAlias, ...]
    ingress_port_override: int | None = None

    @property
    def effective_discovery_name(self) -> str:
        """``discoveryName``, defaulting to ``portName`` as ECS does."""
        return self.discovery_name or self.port_name

    def default_endpoint_name(self, namespace_name: str | None) -> str:
        """``discoveryName.namespace`` (``portName.namespace`` without ``discoveryName``); "" when the namespace
        name is unknown."""
        return f"{self.effective_discovery_name}.{namespace_name}" if namespace_name else ""

    @property
    def needs_namespace(self) -> bool:
        """Some endpoint name is the default one, so it cannot be known without the namespace's name: there
        are no ``clientAliases``, or an alias has no ``dnsName``."""
        return not self.client_aliases or any(not a.dns_name for a in self.client_aliases)

    def endpoint_names(self, namespace_name: str | None) -> list[str]:
        """The names client tasks use: each ``clientAliases[].dnsName``; an alias without ``dnsName`` (and a
        service without aliases) uses the default :meth:`default_endpoint_name`, as ECS does.

        Names that depend on an unknown namespace are left out (see :attr:`needs_namespace`).
        """
        default = self.default_endpoint_name(namespace_name)
        if not self.client_aliases:
            return [default] if default else []
        names = [a.dns_name or default for a in self.client_aliases]
        return list(dict.fromkeys(n for n in names if n))


@dataclass(frozen=True)
class ServiceConnect:
    """The ``serviceConnectConfiguration`` of one deployment."""

    deployment_id: str
    deployment_status: str  # PRIMARY | ACTIVE | INACTIVE
    enabled: bool
    namespace: str  # as ECS returns it: a name or an ARN (normalise through Cloud Map)
    services: tuple[ServiceConnectService, ...]
    resources: tuple[tuple[str, str], ...]  # (discoveryName, Cloud Map service ARN)
    raw: dict[str, Any] = field(compare=False, hash=False, repr=False)

    @property
    def role(self) -> str:
        """``client-server`` (has ``services[]``), ``client`` (namespace only) or ``disabled``."""
        if not self.enabled:
            return "disabled"
        return "client-server" if self.services else "client"


def _service_connect(deployment: dict[str, Any]) -> ServiceConnect | None:
    cfg = deployment.get("serviceConnectConfiguration")
    if not isinstance(cfg, dict):
        return None
    services = []
    for entry in cfg.get("services") or []:
        aliases = tuple(
            ClientAlias(str(a.get("dnsName") or ""), a.get("port")) for a in entry.get("clientAliases") or []
        )
        services.append(
            ServiceConnectService(
                port_name=str(entry.get("portName") or ""),
                discovery_name=str(entry.get("discoveryName") or ""),
                client_aliases=aliases,
                ingress_port_override=entry.get("ingressPortOverride"),
            )
        )
    resources = tuple(
        (str(r.get("discoveryName") or ""), str(r.get("discoveryArn") or ""))
        for r in deployment.get("serviceConnectResources") or []
    )
    return ServiceConnect(
        deployment_id=str(deployment.get("id") or ""),
        deployment_status=str(deployment.get("status") or ""),
        enabled=bool(cfg.get("enabled")),
        namespace=str(cfg.get("namespace") or ""),
        services=tuple(services),
        resources=resources,
        raw=cfg,
    )


# ------------------------------------------------------------------------------------------------------------
# Services
# ------------------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class EcsService:
    name: str
    arn: str
    cluster_arn: str
    region: str
    account: str
    raw: dict[str, Any] = field(compare=False, hash=False, repr=False)

    @property
    def cluster_name(self) -> str:
        return self.cluster_arn.rsplit("/", 1)[-1]

    @property
    def label(self) -> str:
        """``cluster/service``: unique in a region, and what the findings name."""
        return f"{self.cluster_name}/{self.name}"

    @property
    def resource(self) -> Resource:
        return Resource("aws", self.account, self.region, "ecs-service", self.label, self.arn)

    @property
    def deployments(self) -> list[dict[str, Any]]:
        return list(self.raw.get("deployments") or [])

    @property
    def primary_deployment(self) -> dict[str, Any] | None:
        return next((d for d in self.deployments if d.get("status") == "PRIMARY"), None)

    @property
    def live_deployments(self) -> list[dict[str, Any]]:
        """PRIMARY first, then ACTIVE ones (a rollout in progress)."""
        deps = self.deployments
        return [d for d in deps if d.get("status") == "PRIMARY"] + [d for d in deps if d.get("status") == "ACTIVE"]

    @functools.cached_property
    def service_connect(self) -> list[ServiceConnect]:
        """Service Connect configurations of the live deployments (PRIMARY first), enabled or not (built once:
        the SC checks ask for every pair of services)."""
        return [sc for sc in (_service_connect(d) for d in self.live_deployments) if sc is not None]

    @property
    def primary_service_connect(self) -> ServiceConnect | None:
        """The PRIMARY deployment's configuration when it has Service Connect enabled."""
        for sc in self.service_connect:
            if sc.deployment_status == "PRIMARY" and sc.enabled:
                return sc
        return None

    @property
    def service_connect_enabled(self) -> bool:
        return any(sc.enabled for sc in self.service_connect)

    @property
    def registry_arns(self) -> list[str]:
        return [r["registryArn"] for r in self.raw.get("serviceRegistries") or [] if r.get("registryArn")]

    @property
    def load_balancers(self) -> list[dict[str, Any]]:
        return list(self.raw.get("loadBalancers") or [])

    @property
    def primary_task_definition_arn(self) -> str:
        dep = self.primary_deployment
        return str((dep or {}).get("taskDefinition") or self.raw.get("taskDefinition") or "")

    @property
    def task_definition_arns(self) -> list[str]:
        """Task definitions this service runs: PRIMARY and ACTIVE deployments (and the service's own)."""
        arns = [str(d.get("taskDefinition")) for d in self.live_deployments if d.get("taskDefinition")]
        if self.raw.get("taskDefinition"):
            arns.append(str(self.raw["taskDefinition"]))
        return list(dict.fromkeys(arns))

    @property
    def awsvpc(self) -> dict[str, Any]:
        """``awsvpcConfiguration`` of the PRIMARY deployment (or of the service)."""
        for source in (self.primary_deployment or {}, self.raw):
            cfg = (source.get("networkConfiguration") or {}).get("awsvpcConfiguration")
            if cfg:
                return cfg
        return {}

    @property
    def subnets(self) -> list[str]:
        return list(self.awsvpc.get("subnets") or [])

    @property
    def security_groups(self) -> list[str]:
        return list(self.awsvpc.get("securityGroups") or [])

    @property
    def fargate(self) -> bool:
        if self.raw.get("launchType") == "FARGATE":
            return True
        strategy = self.raw.get("capacityProviderStrategy") or []
        return any(str(s.get("capacityProvider", "")).startswith("FARGATE") for s in strategy)


@dataclass
class ServiceListing:
    services: list[EcsService]
    errors: list[tuple[str, NotAvailable]]  # (cluster ARN, why its services could not be read)
    failures: list[tuple[str, dict[str, Any]]]  # (cluster ARN, a DescribeServices failures[] entry)


def cluster_resource(region: RegionInventory, cluster_arn: str) -> Resource:
    return Resource("aws", region.account, region.name, "ecs-cluster", cluster_arn.rsplit("/", 1)[-1], cluster_arn)


def _failure_gap(region: RegionInventory, cluster_arn: str, failure: dict[str, Any]) -> tuple[Resource, NotAvailable]:
    """A ``DescribeServices`` ``failures[]`` entry (``arn``, ``reason``, ``detail``) as a not-evaluated service."""
    ref = str(failure.get("arn") or "")
    name = ref.rsplit("/", 1)[-1] or "(unknown service)"
    cluster = cluster_arn.rsplit("/", 1)[-1]
    arn = ref if ref.startswith("arn:") else ""
    resource = Resource("aws", _account_of(arn, region.account), region.name, "ecs-service", f"{cluster}/{name}", arn)
    why = str(failure.get("reason") or "no reason given")
    detail = str(failure.get("detail") or "")
    reason = f"ecs:DescribeServices returned a failure for it: {why}" + (f" ({detail})" if detail else "")
    kind = "not-found" if why.upper() == "MISSING" else "error"
    return resource, NotAvailable(reason, iam_action("ecs", "DescribeServices"), kind=kind)


# ------------------------------------------------------------------------------------------------------------
# Task definitions
# ------------------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class TaskDefinition:
    arn: str
    region: str
    account: str
    raw: dict[str, Any] = field(compare=False, hash=False, repr=False)
    used_by: tuple[str, ...] = ()  # service ARNs
    error: NotAvailable | None = field(default=None, compare=False, hash=False)

    @property
    def family(self) -> str:
        return str(self.raw.get("family") or _family_revision(self.arn)[0])

    @property
    def revision(self) -> str:
        rev = self.raw.get("revision")
        return str(rev) if rev is not None else _family_revision(self.arn)[1]

    @property
    def label(self) -> str:
        return f"{self.family}:{self.revision}" if self.revision else self.family

    @property
    def task_role_arn(self) -> str:
        return str(self.raw.get("taskRoleArn") or "")

    @property
    def execution_role_arn(self) -> str:
        return str(self.raw.get("executionRoleArn") or "")

    @property
    def containers(self) -> list[dict[str, Any]]:
        return list(self.raw.get("containerDefinitions") or [])

    @property
    def resource(self) -> Resource:
        return Resource("aws", self.account, self.region, "ecs-task-definition", self.label, self.arn)


def task_definition_problem(raw: Any) -> str:
    """Why a task definition document is beyond what auditor reads ("" when it is within the bounds).

    Walks the document iteratively (no recursion), stopping at the first bound it crosses.
    """
    chars = 0
    stack: list[tuple[Any, int]] = [(raw, 1)]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, (dict, list)):
            if depth > MAX_TASK_DEFINITION_DEPTH:
                return f"nests more than {MAX_TASK_DEFINITION_DEPTH} levels deep"
            items = value.items() if isinstance(value, dict) else enumerate(value)
            for key, item in items:
                if isinstance(key, str):
                    chars += len(key)
                stack.append((item, depth + 1))
        elif isinstance(value, str):
            chars += len(value)
        if chars > MAX_TASK_DEFINITION_CHARS:
            return f"is larger than {MAX_TASK_DEFINITION_CHARS // 1024} KiB of keys and values"
    return ""


def _family_revision(arn: str) -> tuple[str, str]:
    tail = arn.rsplit("/", 1)[-1]
    family, _, revision = tail.partition(":")
    return family, revision


def register_task_definition_secrets(td: dict[str, Any]) -> None:
    """Register every plain secret a task definition carries (Datadog ``apikey`` options, ``DD_API_KEY``
    environment values…) so that no output or log line can show it, whatever path it takes."""
    for container in td.get("containerDefinitions") or []:
        if not isinstance(container, dict):
            continue
        sources = [((container.get("logConfiguration") or {}).get("options") or {})]
        sources.append((container.get("firelensConfiguration") or {}).get("options") or {})
        for options in sources:
            if isinstance(options, dict):
                for key, value in options.items():
                    if is_secret_key(str(key)) and isinstance(value, str):
                        register_secret(value)
        for env in container.get("environment") or []:
            if isinstance(env, dict) and is_secret_key(str(env.get("name", ""))) and isinstance(env.get("value"), str):
                register_secret(env["value"])


def masked_environment(container: dict[str, Any], names: Iterable[str] | None = None) -> dict[str, str]:
    """A container's ``environment`` (``[{"name", "value"}]``) as ``{name: value}`` for evidence, with the value
    of every variable whose *name* looks secret (``DD_API_KEY``, ``*_TOKEN``…) replaced by the mask.

    ``names`` limits the result to those variables. Evidence must never carry ``container["environment"]``
    itself: the list shape hides the name from the key-based redaction of recorded evidence.
    """
    wanted = set(names) if names is not None else None
    out: dict[str, str] = {}
    for env in container.get("environment") or []:
        if not isinstance(env, dict) or not env.get("name"):
            continue
        name = str(env["name"])
        if wanted is not None and name not in wanted:
            continue
        value = env.get("value")
        out[name] = MASK if is_secret_key(name) else ("" if value is None else str(value))
    return out


# ------------------------------------------------------------------------------------------------------------
# The inventory
# ------------------------------------------------------------------------------------------------------------
class EcsInventory:
    def __init__(self, region: RegionInventory) -> None:
        self._r = region

    # -- listings -----------------------------------------------------------------------------------------
    def clusters(self) -> list[str]:
        """Every cluster ARN of the region (ListClusters, 100 per page)."""
        return self._r.memo.get("ecs.clusters", self._load_clusters)

    def listing(self) -> ServiceListing:
        """Services of all clusters, with the clusters whose services could not be read."""
        return self._r.memo.get("ecs.services", self._load_services)

    def services(self) -> list[EcsService]:
        """Every ACTIVE/DRAINING service of every cluster, sorted by ``cluster/service``.

        Raises :class:`NotAvailable` when the clusters cannot be listed; clusters whose services cannot be
        read are in :meth:`service_errors` (report them, they are not "clean").
        """
        return self.listing().services

    def service_errors(self) -> list[tuple[str, NotAvailable]]:
        return self.listing().errors

    def gaps(self) -> list[tuple[Resource, NotAvailable]]:
        """What the service listing could not cover, to report as not evaluated: clusters whose services could
        not be listed or described, and services ``DescribeServices`` answered with a ``failures[]`` entry.

        Raises :class:`NotAvailable` when the clusters themselves cannot be listed.
        """
        listing = self.listing()
        out = [(cluster_resource(self._r, cluster), exc) for cluster, exc in listing.errors]
        out.extend(_failure_gap(self._r, cluster, failure) for cluster, failure in listing.failures)
        return out

    # -- details ------------------------------------------------------------------------------------------
    def task_definition(self, arn: str) -> TaskDefinition:
        """One task definition (``DescribeTaskDefinition``), described once per scan."""
        return self._r.memo.get(("ecs.taskdef", arn), lambda: self._describe_task_definition(arn))

    def task_definitions_in_use(self) -> list[TaskDefinition]:
        """The task definitions of every service's PRIMARY and ACTIVE deployments, described concurrently.

        Entries that could not be described carry ``error`` (and an empty ``raw``).
        """
        return self._r.memo.get("ecs.taskdefs_in_use", self._load_in_use)

    # -- loaders ------------------------------------------------------------------------------------------
    def _load_clusters(self) -> list[str]:
        arns: list[str] = []
        for page in self._r.aws.paginate("ecs", self._r.name, "ListClusters", page_size=LIST_PAGE_SIZE):
            arns.extend(page.get("clusterArns") or [])
        return sorted(dict.fromkeys(arns))

    def _list_service_arns(self, cluster: str) -> list[str]:
        arns: list[str] = []
        for page in self._r.aws.paginate(
            "ecs", self._r.name, "ListServices", page_size=LIST_PAGE_SIZE, cluster=cluster
        ):
            arns.extend(page.get("serviceArns") or [])
        return list(dict.fromkeys(arns))

    def _describe_batch(self, job: tuple[str, list[str]]) -> dict[str, Any]:
        cluster, arns = job
        assert len(arns) <= DESCRIBE_SERVICES_BATCH, "DescribeServices takes at most 10 services"
        return self._r.aws.call("ecs", self._r.name, "DescribeServices", cluster=cluster, services=arns)

    def _load_services(self) -> ServiceListing:
        clusters = self.clusters()
        listed = self._r.pools.map_detail(lambda c: capture(lambda: self._list_service_arns(c)), clusters)
        errors: list[tuple[str, NotAvailable]] = []
        jobs: list[tuple[str, list[str]]] = []
        for cluster, arns in zip(clusters, listed, strict=True):
            if isinstance(arns, NotAvailable):
                errors.append((cluster, arns))
                continue
            for i in range(0, len(arns), DESCRIBE_SERVICES_BATCH):
                jobs.append((cluster, arns[i : i + DESCRIBE_SERVICES_BATCH]))
        described = self._r.pools.map_detail(lambda j: capture(lambda: self._describe_batch(j)), jobs)
        services: list[EcsService] = []
        failures: list[tuple[str, dict[str, Any]]] = []
        failed_clusters: set[str] = set()
        for (cluster, _), result in zip(jobs, described, strict=True):
            if isinstance(result, NotAvailable):
                if cluster not in failed_clusters:
                    failed_clusters.add(cluster)
                    errors.append((cluster, result))
                continue
            failures.extend((cluster, f) for f in result.get("failures") or [] if isinstance(f, dict))
            for raw in result.get("services") or []:
                if raw.get("status") == "INACTIVE":
                    continue
                services.append(
                    EcsService(
                        name=str(raw.get("serviceName") or ""),
                        arn=str(raw.get("serviceArn") or ""),
                        cluster_arn=str(raw.get("clusterArn") or cluster),
                        region=self._r.name,
                        account=_account_of(str(raw.get("serviceArn") or ""), self._r.account),
                        raw=raw,
                    )
                )
        services.sort(key=lambda s: (s.label, s.arn))
        return ServiceListing(services, errors, failures)

    def _describe_task_definition(self, arn: str) -> TaskDefinition:
        got = self._r.aws.call("ecs", self._r.name, "DescribeTaskDefinition", taskDefinition=arn)
        raw = got.get("taskDefinition") or {}
        register_task_definition_secrets(raw)
        problem = task_definition_problem(raw)
        if problem:
            raise NotAvailable(f"the task definition {problem}, beyond what auditor reads")
        return TaskDefinition(
            arn=str(raw.get("taskDefinitionArn") or arn),
            region=self._r.name,
            account=_account_of(arn, self._r.account),
            raw=raw,
        )

    def _load_in_use(self) -> list[TaskDefinition]:
        users: dict[str, list[str]] = {}
        for svc in self.services():
            for arn in svc.task_definition_arns:
                users.setdefault(arn, []).append(svc.arn)
        arns = sorted(users)
        got = self._r.pools.map_detail(lambda a: capture(lambda: self.task_definition(a)), arns)
        out = []
        for arn, td in zip(arns, got, strict=True):
            if isinstance(td, NotAvailable):
                out.append(
                    TaskDefinition(arn, self._r.name, _account_of(arn, self._r.account), {}, tuple(users[arn]), td)
                )
            else:
                out.append(
                    TaskDefinition(td.arn, td.region, td.account, td.raw, tuple(users[arn]), None)
                )
        return out


def _account_of(arn: str, default: str) -> str:
    try:
        return Arn.parse(arn).account or default
    except ValueError:
        return default


__all__ = [
    "ClientAlias",
    "DESCRIBE_SERVICES_BATCH",
    "EcsInventory",
    "EcsService",
    "ServiceConnect",
    "ServiceConnectService",
    "ServiceListing",
    "TaskDefinition",
    "cluster_resource",
    "masked_environment",
    "register_task_definition_secrets",
    "task_definition_problem",
]
