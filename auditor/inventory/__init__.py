"""What to fetch. An :class:`Inventory` is everything the checks may read about one scan target.

It is lazy (nothing is fetched until a check or the prefetch asks), cached per (account, region),
concurrent (worker threads under one bound on requests in flight), and it counts every API call. Checks never call boto3 or the Datadog
client; they read this object, which is why the same checks run against a live account, a local moto server
or files given on the command line.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Any

from ..model import Resource
from ..offload import Offload
from .aws import AwsAccount
from .core import CallStats, ConfigurationError, Memo, NotAvailable, Pools, capture

if TYPE_CHECKING:  # pragma: no cover
    from .awslambda import LambdaInventory
    from .cloudmap import CloudMapInventory
    from .ec2 import Ec2Inventory
    from .ecs import EcsInventory
    from .iam import IamInventory
    from .kms import KmsInventory
    from .s3 import S3Inventory
    from .sqs import SqsInventory

__all__ = ["Inventory", "RegionInventory", "FileInputs", "WorkloadRoles", "NotAvailable", "ConfigurationError", "CallStats"]


class RegionInventory:
    """One (account, region)."""

    def __init__(self, inventory: Inventory, name: str) -> None:
        self.inventory = inventory
        self.name = name
        self.memo = Memo()

    @property
    def aws(self) -> AwsAccount:
        assert self.inventory.aws is not None
        return self.inventory.aws

    @property
    def account(self) -> str:
        return self.inventory.account

    @property
    def partition(self) -> str:
        return self.inventory.partition

    @property
    def pools(self) -> Pools:
        return self.inventory.pools

    def scope(self, what: str) -> Resource:
        """A resource standing for "all of ``what`` in this region", for listing-level not-evaluated."""
        return Resource("aws", self.account, self.name, "region", f"{self.name}/{what}")

    @cached_property
    def sqs(self) -> SqsInventory:
        from .sqs import SqsInventory

        return SqsInventory(self)

    @cached_property
    def awslambda(self) -> LambdaInventory:
        from .awslambda import LambdaInventory

        return LambdaInventory(self)

    @cached_property
    def ecs(self) -> EcsInventory:
        from .ecs import EcsInventory

        return EcsInventory(self)

    @cached_property
    def ec2(self) -> Ec2Inventory:
        from .ec2 import Ec2Inventory

        return Ec2Inventory(self)

    @cached_property
    def kms(self) -> KmsInventory:
        from .kms import KmsInventory

        return KmsInventory(self)

    @cached_property
    def cloudmap(self) -> CloudMapInventory:
        from .cloudmap import CloudMapInventory

        return CloudMapInventory(self)


@dataclass
class WorkloadRoles:
    users: dict[str, list[str]] = field(default_factory=dict)  # role ARN → "Lambda function x", "ECS task y:3"
    gaps: list[tuple[Resource, NotAvailable]] = field(default_factory=list)

    def add(self, role_arn: str, user: str) -> None:
        self.users.setdefault(role_arn, []).append(user)

    def __iter__(self):
        return iter(sorted(self.users))


@dataclass
class FileInputs:
    """Documents given on the command line (``auditor scan-file``) instead of a live account."""

    task_definitions: list[tuple[str, dict[str, Any]]] = field(default_factory=list)  # (path, taskDefinition)
    policies: list[tuple[str, Any]] = field(default_factory=list)  # (path, parsed JSON or raw text)
    notes: list[str] = field(default_factory=list)  # what each file was read as, which were skipped


class Inventory:
    """Everything the checks may read for one scan: AWS account × regions, Datadog, files."""

    def __init__(
        self,
        aws: AwsAccount | None,
        regions: Iterable[str],
        *,
        workers: int = 8,
        datadog: Any = None,
        files: FileInputs | None = None,
        deep: bool = False,
        pools: Pools | None = None,
    ) -> None:
        self.aws = aws
        self.stats = aws.stats if aws is not None else CallStats()
        # Accounts of one multi-account scan share the pools: one bound on in-flight calls for all of them.
        self._own_pools = pools is None
        self.pools = pools if pools is not None else Pools(workers)
        self.memo = Memo()
        self.offload = Offload()  # pure CPU-bound judging on a helper process (auditor.offload)
        self.account = aws.account_id() if aws is not None else ""
        self.partition = "aws"
        self.regions = [RegionInventory(self, r) for r in dict.fromkeys(regions)] if aws is not None else []
        self.datadog = datadog
        self.files = files or FileInputs()
        self.deep = deep

    @property
    def home_region(self) -> str:
        return self.regions[0].name if self.regions else "us-east-1"

    @cached_property
    def s3(self) -> S3Inventory:
        from .s3 import S3Inventory

        return S3Inventory(self)

    @cached_property
    def iam(self) -> IamInventory:
        from .iam import IamInventory

        return IamInventory(self)

    def consumer_roles(self) -> list[str]:
        """Roles that functions (at the version or alias each mapping targets) with an enabled SQS mapping run
        as; functions whose configuration cannot be read are left out (the checks report them)."""

        def load() -> list[str]:
            roles = set()
            for region in self.regions:
                mappings = capture(region.awslambda.sqs_mappings)
                if isinstance(mappings, NotAvailable):
                    continue
                for m in mappings:
                    fn = capture(lambda r=region, a=m.function_arn: r.awslambda.configuration(a))
                    if not isinstance(fn, NotAvailable) and fn.role:
                        roles.add(fn.role)
            return sorted(roles)

        return self.memo.get("consumer_roles", load)

    def workload_roles(self) -> WorkloadRoles:
        """The IAM roles Lambda functions and ECS tasks of the scanned regions run as, with who uses each, and
        the listings that could not be read (so the roles found may be incomplete there)."""

        def load() -> WorkloadRoles:
            out = WorkloadRoles()
            for region in self.regions:
                functions = capture(region.awslambda.functions)
                if isinstance(functions, NotAvailable):
                    out.gaps.append((region.scope("lambda-functions"), functions))
                else:
                    for fn in functions.values():
                        if fn.role:
                            out.add(fn.role, f"Lambda function {fn.name}")
                in_use = capture(region.ecs.task_definitions_in_use)
                if isinstance(in_use, NotAvailable):
                    out.gaps.append((region.scope("ecs-task-definitions"), in_use))
                    continue
                out.gaps.extend(region.ecs.gaps())  # clusters and services whose task definitions are unknown
                for td in in_use:
                    if td.error is not None:  # the role it runs as is unknown: a gap in the list of roles
                        why = NotAvailable(f"task definition {td.label}: {td.error.reason}", td.error.iam_action,
                                           kind=td.error.kind)
                        out.gaps.append((region.scope("ecs-task-definitions"), why))
                    elif td.task_role_arn:
                        out.add(td.task_role_arn, f"ECS task {td.label}")
            return out

        return self.memo.get("workload_roles", load)

    def close(self) -> None:
        """The scan is over: no more calls (the counts are final), the pools and connections let go, and
        everything read with them: the report keeps what the checks found, and a scan's answers (30 MB of
        objects at the 1x benchmark account) should not outlive it while the report is written."""
        self.stats.close()
        if self._own_pools:
            self.pools.shutdown()
        close = getattr(self.datadog, "close", None)
        if close is not None:
            close()
        self.memo = Memo()
        for region in self.regions:
            region.memo = Memo()
