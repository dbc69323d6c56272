"""What to fetch. An :class:`Inventory` is everything the checks may read about one scan target.

It is lazy (nothing is fetched until a check or the prefetch asks), cached per (account, region),
concurrent (two bounded thread pools), and it counts every API call. Checks never call boto3 or the Datadog
client; they read this object, which is why the same checks run against a live account, a local moto server
or files given on the command line.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Any

from ..model import Resource
from .aws import AwsAccount
from .core import CallStats, ConfigurationError, Memo, NotAvailable, Pools, active_deadline, capture

if TYPE_CHECKING:  # pragma: no cover
    from .awslambda import LambdaInventory
    from .cloudmap import CloudMapInventory
    from .ec2 import Ec2Inventory
    from .ecs import EcsInventory
    from .iam import IamInventory
    from .s3 import S3Inventory
    from .sqs import SqsInventory

__all__ = ["Inventory", "RegionInventory", "FileInputs", "NotAvailable", "ConfigurationError", "CallStats"]


#: Prefetch key prefix → RegionInventory attribute, where the service name is not a valid identifier.
_SERVICE_ATTR = {"lambda": "awslambda"}


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
    def cloudmap(self) -> CloudMapInventory:
        from .cloudmap import CloudMapInventory

        return CloudMapInventory(self)


@dataclass
class FileInputs:
    """Documents given on the command line (``auditor scan-file``) instead of a live account."""

    task_definitions: list[tuple[str, dict[str, Any]]] = field(default_factory=list)  # (path, taskDefinition)
    policies: list[tuple[str, Any]] = field(default_factory=list)  # (path, parsed JSON or raw text)


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
    ) -> None:
        self.aws = aws
        self.stats = aws.stats if aws is not None else CallStats()
        self.pools = Pools(workers)
        self.memo = Memo()
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

    def prefetch(self, keys: Iterable[str]) -> None:
        """Warm the listings the selected checks need, all regions and services at once.

        ``keys`` name loaders as ``"<service>.<method>"`` (e.g. ``"sqs.queues"``); per-region services are
        fetched for every region, ``s3.*``/``iam.*``/``datadog.*`` once. Failures are cached and surface
        when a check asks, as "not evaluated".
        """
        jobs = []
        for key in sorted(set(keys)):
            service, method = key.split(".", 1)
            if service in ("s3", "iam", "datadog"):
                target = self.datadog if service == "datadog" else getattr(self, service)
                if target is not None:
                    jobs.append(getattr(target, method))
            else:
                attr = _SERVICE_ATTR.get(service, service)
                for region in self.regions:
                    jobs.append(getattr(getattr(region, attr), method))
        futures = [self.pools.listing.submit(capture, job) for job in jobs]
        for fut in futures:
            # Failures are cached by the memo; each check meets them in its own handling. Past the scan
            # deadline, loads still running are left behind: the checks find them "not evaluated".
            with contextlib.suppress(Exception):
                active_deadline().result(fut)

    def close(self) -> None:
        self.pools.shutdown()
        close = getattr(self.datadog, "close", None)
        if close is not None:
            close()
