"""What the ECS check families (Service Connect, FireLens) share."""

from __future__ import annotations

from auditor.check import Recorder
from auditor.inventory import RegionInventory
from auditor.inventory.core import NotAvailable


def record_service_gaps(region: RegionInventory, rec: Recorder) -> bool:
    """Record what the region's ECS service listing could not cover as not evaluated: the whole region when
    the clusters cannot be listed, else each cluster whose services could not be read and each service
    ``DescribeServices`` returned in ``failures[]``.

    Returns ``False`` when the region's services are not available at all (the caller skips the region).
    """
    try:
        gaps = region.ecs.gaps()
    except NotAvailable as exc:
        rec.not_evaluated(region.scope("ecs-services"), exc.reason, exc.iam_action)
        return False
    for resource, exc in gaps:
        rec.not_evaluated(resource, exc.reason, exc.iam_action)
    return True


__all__ = ["record_service_gaps"]
