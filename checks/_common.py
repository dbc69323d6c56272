"""Joins several check families share: an enabled SQS mapping with its queue and its function."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from auditor.check import Recorder
from auditor.inventory import Inventory, RegionInventory
from auditor.inventory import resources as res
from auditor.inventory.awslambda import EventSourceMapping
from auditor.inventory.core import NotAvailable
from auditor.inventory.sqs import Queue
from auditor.model import Resource
from auditor.policy import Policy, parse

SQS_SCALING_DOC = "https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-scaling.html"
SQS_ERRORS_DOC = "https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-errorhandling.html"
SQS_CONFIGURE_DOC = "https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-configure.html"
SQS_DLQ_DOC = "https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-dead-letter-queues.html"


def parsed_policy(inv: Inventory, text: Any, kind: str, name: str = "") -> Policy:
    """``text`` parsed once per scan, whichever check reads it first: a managed policy is attached to many
    roles, and the pipeline (EV-3) and presigned-URL (BP-5) checks read the same execution roles."""
    return inv.memo.get(("policy.parsed", kind, name, str(text)), lambda: parse(text, kind=kind, name=name))


@dataclass(frozen=True)
class MappedQueue:
    region: RegionInventory
    mapping: EventSourceMapping
    queue: Queue

    @property
    def queue_resource(self) -> Resource:
        return res.queue(self.queue.account, self.queue.region, self.queue.arn, self.queue.name)

    @property
    def function_label(self) -> str:
        """``name`` or ``name:qualifier`` as the mapping targets it."""
        parts = self.mapping.function_arn.split(":")
        return ":".join(parts[6:]) if len(parts) >= 7 else self.mapping.function_arn


def mapping_resource(region: RegionInventory, m: EventSourceMapping) -> Resource:
    return res.event_source_mapping(region.account, region.name, m.uuid, m.arn)


def enabled_sqs_mappings(inv: Inventory, rec: Recorder) -> Iterator[MappedQueue]:
    """Every enabled SQS mapping of every scanned region, with its queue.

    Listings that cannot be read, and queues that cannot be described, are recorded as not evaluated here,
    so each check reports them instead of passing silently.
    """
    for region in inv.regions:
        try:
            mappings = region.awslambda.sqs_mappings()
        except NotAvailable as exc:
            rec.not_evaluated(region.scope("lambda-event-source-mappings"), exc.reason, exc.iam_action)
            continue
        if not mappings:
            continue
        try:
            region.sqs.queues()
        except NotAvailable as exc:
            rec.not_evaluated(region.scope("sqs-queues"), exc.reason, exc.iam_action)
            continue
        for m in mappings:
            queue = region.sqs.queue_by_arn(m.event_source_arn)
            if queue is None:
                rec.not_evaluated(
                    mapping_resource(region, m),
                    f"its queue {m.event_source_arn} is not in the scanned account/region",
                    "sqs:GetQueueAttributes",
                )
                continue
            if queue.error is not None:
                qres = res.queue(queue.account, queue.region, queue.arn, queue.name)
                rec.not_evaluated(qres, queue.error.reason, queue.error.iam_action)
                continue
            yield MappedQueue(region, m, queue)
