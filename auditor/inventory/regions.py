"""``--all-regions``: the regions an account has enabled, from the account itself.

``ec2:DescribeRegions`` with ``AllRegions`` lists every region of the partition with its opt-in status:
``opt-in-not-required`` (enabled by default) and ``opted-in`` are scanned; ``not-opted-in`` regions are
disabled for the account — nothing can run in them, and no call can read them — so they are named in the
report (``regions_not_enabled``, a notice) rather than scanned. A region the account has enabled but that then
fails (an SCP that denies it, an endpoint that does not answer) is scanned like any other: each check reports
what it could not read there as not evaluated, and the other regions go on. ``ec2:DescribeRegions`` is
answered by every region's EC2 endpoint and needs no opt-in; ``account:ListRegions`` would say the same but
is not served by every partition, so the shipped policy grants the EC2 action (its ``AuditorRegionDiscovery``
statement).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from botocore.exceptions import UnknownRegionError

from .aws import AwsAccount

#: Opt-in statuses of regions the account can use.
ENABLED = frozenset({"opt-in-not-required", "opted-in"})


@dataclass(frozen=True)
class AccountRegions:
    enabled: list[str] = field(default_factory=list)
    not_enabled: list[str] = field(default_factory=list)


def partition_of(aws: AwsAccount, region: str, default: str = "aws") -> str:
    """The partition (``aws``, ``aws-cn``, ``aws-us-gov``…) ``region`` belongs to; ``default`` when botocore
    does not know the name (a region newer than this botocore, or a local endpoint's)."""
    try:
        return aws.session.get_partition_for_region(region)
    except (UnknownRegionError, ValueError):
        return default


def enabled_regions(aws: AwsAccount, home: str) -> AccountRegions:
    """The account's enabled regions in ``home``'s partition, sorted; raises
    :class:`~auditor.inventory.core.NotAvailable` (naming ``ec2:DescribeRegions``) when they cannot be listed."""
    answer = aws.call("ec2", home, "DescribeRegions", AllRegions=True)
    partition = partition_of(aws, home)
    enabled: set[str] = set()
    not_enabled: set[str] = set()
    for region in answer.get("Regions", []):
        name = region.get("RegionName", "")
        if not name or partition_of(aws, name, partition) != partition:
            continue
        (enabled if region.get("OptInStatus", "opt-in-not-required") in ENABLED else not_enabled).add(name)
    return AccountRegions(sorted(enabled), sorted(not_enabled))
