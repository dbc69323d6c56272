"""Declared reads: every piece of inventory a check may read, and the API operations behind it.

A check names the loads it reads (``requires=("sqs.queues", "lambda.mappings")``). That one declaration
serves three ends:

* the engine starts every declared load at once on the pools, and runs each check as soon as its own loads
  are done (:func:`auditor.engine.run`);
* a generated test fails each declared operation in turn and proves the check never passes a resource it
  could not see (``tests/test_dependencies.py``), and a second one proves a check calls nothing it did not
  declare;
* the shipped least-privilege IAM policy is the union of the declared operations' IAM actions
  (:func:`iam_actions`; ``tests/test_readonly_iam.py`` keeps ``auditor/iam_policy.json`` equal to it).

A load's ``warm`` fetches everything the load stands for, fanning per-resource calls out through the detail
pool; it never raises (failures are cached by the inventory's memo and met by the checks as "not
evaluated"). Loads that build on others name them in ``after``; warming one simply reads the others through
the same memo, so nothing is fetched twice.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .core import iam_action

if TYPE_CHECKING:  # pragma: no cover
    from . import Inventory, RegionInventory

#: Where a load lives: per scanned region, once per AWS account, or in Datadog.
REGION, ACCOUNT, DATADOG = "region", "account", "datadog"


@dataclass(frozen=True)
class Operation:
    """One API operation: ``service`` is botocore's service name (``lambda``, ``s3control``) or ``datadog``."""

    service: str
    name: str
    #: Called only to explain another call's failure (Datadog's key validation): declared, so it is allowed and
    #: counted, but failing it alone changes no verdict.
    auxiliary: bool = False

    @property
    def key(self) -> str:
        """How the call counter names it (``sqs:ListQueues``)."""
        return f"{self.service}:{self.name}"

    @property
    def iam_action(self) -> str:
        if self.service == "datadog":
            from ..datadog.client import permission_for

            return permission_for(self.name)
        return iam_action(self.service, self.name)

    def __str__(self) -> str:
        return self.key


@dataclass(frozen=True)
class Load:
    key: str
    scope: str
    operations: tuple[Operation, ...]
    description: str
    warm: Callable[[Any], Any]
    after: tuple[str, ...] = ()
    deep: bool = False  # only with --deep (downloads function code)


def _ops(*specs: str) -> tuple[Operation, ...]:
    return tuple(Operation(*s.split(":", 1)) for s in specs)


def _quiet(fn: Callable[[], Any]) -> None:
    # Failures are cached by the memo; each check meets them in its own handling.
    with contextlib.suppress(Exception):
        fn()


# -- warmers (each reads through the inventory's memoised accessors) -----------------------------------------
def _sqs_mapped_functions(region: RegionInventory) -> list[str]:
    return [m.function_arn for m in region.awslambda.sqs_mappings()]


def _warm_configurations(region: RegionInventory) -> None:
    region.awslambda.functions()
    region.awslambda.prefetch_configurations(_sqs_mapped_functions(region))


def _warm_reserved(region: RegionInventory) -> None:
    region.awslambda.prefetch_reserved(_sqs_mapped_functions(region))


def _warm_code(region: RegionInventory) -> None:
    region.awslambda.prefetch_code(_sqs_mapped_functions(region))


def _warm_namespaces(region: RegionInventory) -> None:
    region.cloudmap.prefetch_namespaces(region.ecs.services())


def _warm_registries(region: RegionInventory) -> None:
    region.cloudmap.prefetch_registries(region.ecs.services())


def _warm_network(region: RegionInventory) -> None:
    for fn in (region.ec2.subnets, region.ec2.security_groups):
        _quiet(fn)


def _warm_public_access(inv: Inventory) -> None:
    inv.s3.prefetch_public_access()


def _warm_workload_roles(inv: Inventory) -> None:
    inv.iam.prefetch_roles(inv.workload_roles())


def _warm_consumer_roles(inv: Inventory) -> None:
    inv.iam.prefetch_roles(inv.consumer_roles(), boundaries=True)


def _warm_queue_keys(region: RegionInventory) -> None:
    region.kms.prefetch_for([q.kms_key for q in region.sqs.queues() if q.kms_key and q.error is None])


LOADS: dict[str, Load] = {
    load.key: load
    for load in (
        # -- per region -----------------------------------------------------------------------------------
        Load("sqs.queues", REGION, _ops("sqs:ListQueues", "sqs:GetQueueAttributes"),
             "every queue of the region with all its attributes", lambda r: r.sqs.queues()),
        Load("lambda.functions", REGION, _ops("lambda:ListFunctions"),
             "every function's $LATEST configuration", lambda r: r.awslambda.functions()),
        Load("lambda.mappings", REGION, _ops("lambda:ListEventSourceMappings"),
             "every event source mapping of the region", lambda r: r.awslambda.mappings()),
        Load("lambda.configurations", REGION, _ops("lambda:GetFunctionConfiguration"),
             "the configuration of each alias or version an SQS mapping targets", _warm_configurations,
             after=("lambda.mappings", "lambda.functions")),
        Load("lambda.reserved", REGION, _ops("lambda:GetFunctionConcurrency"),
             "reserved concurrency of each function with an SQS mapping", _warm_reserved,
             after=("lambda.mappings",)),
        Load("lambda.code", REGION, _ops("lambda:GetFunction"),
             "the deployment package of each function version an SQS mapping targets (deep scan)", _warm_code,
             after=("lambda.mappings",), deep=True),
        Load("ecs.services", REGION, _ops("ecs:ListClusters", "ecs:ListServices", "ecs:DescribeServices"),
             "every service of every cluster, with its deployments", lambda r: r.ecs.listing()),
        Load("ecs.task_definitions", REGION, _ops("ecs:DescribeTaskDefinition"),
             "the task definitions the services' live deployments run", lambda r: r.ecs.task_definitions_in_use(),
             after=("ecs.services",)),
        Load("cloudmap.namespaces", REGION, _ops("servicediscovery:ListNamespaces"),
             "the Cloud Map namespaces the services' Service Connect configurations name by ARN", _warm_namespaces,
             after=("ecs.services",)),
        Load("cloudmap.registries", REGION, _ops("servicediscovery:GetService", "servicediscovery:ListNamespaces"),
             "the services' DNS service discovery registries and their namespaces", _warm_registries,
             after=("ecs.services",)),
        Load("kms.queue_keys", REGION, _ops("kms:DescribeKey", "kms:GetKeyPolicy"),
             "the KMS keys the region's queues are encrypted with, and their key policies", _warm_queue_keys,
             after=("sqs.queues",)),
        Load("ec2.network", REGION, _ops("ec2:DescribeSubnets", "ec2:DescribeSecurityGroups"),
             "subnets and security groups of the region", _warm_network),
        # -- once per account -------------------------------------------------------------------------------
        Load("s3.buckets", ACCOUNT, _ops("s3:ListBuckets", "s3:GetBucketLocation"),
             "every bucket with its region", lambda inv: inv.s3.buckets()),
        Load("s3.policies", ACCOUNT, _ops("s3:GetBucketPolicy"),
             "every bucket's policy", lambda inv: inv.s3.policies(), after=("s3.buckets",)),
        Load("s3.public_access", ACCOUNT, _ops("s3:GetPublicAccessBlock", "s3control:GetPublicAccessBlock"),
             "Block Public Access settings of the account and of each bucket with a policy", _warm_public_access,
             after=("s3.policies",)),
        Load("s3.notifications", ACCOUNT, _ops("s3:GetBucketNotificationConfiguration"),
             "every bucket's event notifications", lambda inv: inv.s3.notifications(), after=("s3.buckets",)),
        Load("iam.consumer_roles", ACCOUNT,
             _ops("iam:ListRolePolicies", "iam:GetRolePolicy", "iam:ListAttachedRolePolicies", "iam:GetPolicy",
                  "iam:GetPolicyVersion", "iam:GetRole"),
             "identity policies and permissions boundaries of the roles that functions with SQS mappings run as",
             _warm_consumer_roles, after=("lambda.mappings", "lambda.configurations")),
        Load("iam.workload_roles", ACCOUNT,
             _ops("iam:ListRolePolicies", "iam:GetRolePolicy", "iam:ListAttachedRolePolicies", "iam:GetPolicy",
                  "iam:GetPolicyVersion"),
             "identity policies of the roles Lambda functions and ECS tasks run as", _warm_workload_roles,
             after=("lambda.functions", "ecs.task_definitions")),
        # -- Datadog ----------------------------------------------------------------------------------------
        Load("datadog.monitors", DATADOG,
             (*_ops("datadog:ListMonitors", "datadog:GetMonitor"), Operation("datadog", "Validate", True)),
             "every monitor of the organisation, composite members included", lambda dd: dd.monitors()),
        Load("datadog.downtimes", DATADOG, (*_ops("datadog:ListDowntimes"), Operation("datadog", "Validate", True)),
             "active downtimes", lambda dd: dd.downtimes()),
    )
}


#: Reads made to decide where to look rather than by a check: with ``--all-regions``, each scanned account's
#: own list of its enabled regions (:mod:`auditor.inventory.regions`). The shipped policy grants them in a
#: statement of their own beside the checks' reads.
DISCOVERY: tuple[Operation, ...] = _ops("ec2:DescribeRegions")

#: Calls made with the *base* credentials only, to reach the scanned accounts (``--role-arn``, ``--org-role``;
#: :mod:`auditor.accounts`): the base policy (``auditor iam-policy --base``), never needed in a scanned account.
#: ``sts:AssumeRole`` is the one call that is not a read (``CREDENTIAL_CALLS`` in :mod:`auditor.inventory.aws`).
BASE: tuple[Operation, ...] = _ops("sts:AssumeRole", "organizations:ListAccounts")


class UnknownLoad(KeyError):
    pass


def closure(keys: Iterable[str], *, deep: bool = True) -> list[str]:
    """``keys`` and every load they build on, in dependency order (parents first)."""
    out: list[str] = []

    def visit(key: str) -> None:
        if key in out:
            return
        load = LOADS.get(key)
        if load is None:
            raise UnknownLoad(key)
        for parent in load.after:
            visit(parent)
        if deep or not load.deep:
            out.append(key)

    for key in sorted(set(keys)):
        visit(key)
    return out


def built_on(key: str) -> int:
    """How many loads, one after another, build on ``key`` (0 for a load nothing builds on). The pools serve
    the fan-outs of the longest chains first (:meth:`~auditor.inventory.core.Pools.submit`'s ``rank``)."""
    children = [k for k, load in LOADS.items() if key in load.after]
    return 1 + max(map(built_on, children)) if children else 0


def operations(keys: Iterable[str]) -> list[Operation]:
    """Every API operation the loads ``keys`` (and the loads they build on) may call."""
    seen: dict[str, Operation] = {}
    for key in closure(keys):
        for op in LOADS[key].operations:
            seen.setdefault(op.key, op)
    return sorted(seen.values(), key=lambda o: o.key)


def iam_actions(keys: Iterable[str] | None = None) -> list[str]:
    """The IAM actions behind ``keys`` (every load when None): the shipped policy is this list."""
    ops = operations(LOADS if keys is None else keys)
    return sorted({op.iam_action for op in ops if op.service != "datadog"})


def discovery_actions() -> list[str]:
    """The IAM actions of :data:`DISCOVERY` (the shipped policy's second statement)."""
    return sorted({op.iam_action for op in DISCOVERY})


def base_actions() -> list[str]:
    """The IAM actions of :data:`BASE`: everything the base credentials of a multi-account scan need."""
    return sorted({op.iam_action for op in BASE})


def jobs(inventory: Inventory, keys: Iterable[str]) -> list[tuple[str, Callable[[], None]]]:
    """(load key, thunk) for every scope instance of every load in ``keys``' closure: one per region for
    regional loads, one for account and Datadog loads (skipped where the scan has no such target)."""
    out: list[tuple[str, Callable[[], None]]] = []
    for key in closure(keys, deep=inventory.deep):
        load = LOADS[key]
        if load.scope == REGION:
            out += [(key, _bind(load.warm, region)) for region in inventory.regions]
        elif load.scope == ACCOUNT and inventory.aws is not None:
            out.append((key, _bind(load.warm, inventory)))
        elif load.scope == DATADOG and inventory.datadog is not None and inventory.datadog.configured:
            out.append((key, _bind(load.warm, inventory.datadog)))
    return out


def _bind(warm: Callable[[Any], Any], target: Any) -> Callable[[], None]:
    return lambda: _quiet(lambda: warm(target))


__all__ = ["BASE", "DISCOVERY", "LOADS", "Load", "Operation", "UnknownLoad", "base_actions", "built_on", "closure",
           "discovery_actions", "iam_actions", "jobs", "operations"]
