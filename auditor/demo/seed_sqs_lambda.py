"""The shop's queues, consumers and event source mappings (check-rules.md §3, §4, §5).

Each entry of ``EXPECTED`` is a resource id and the rules that must fire on it ("fail") or must not
("clean"); the end-to-end tests and the demo's reader both rely on it.
"""

from __future__ import annotations

from typing import Any

DAY = 86400
DLQ_RETENTION = 14 * DAY

# Functions that return batchItemFailures (for the deep scan, PB-3).
PARTIAL_BATCH_SOURCE = '''\
def handler(event, context):
    failures = []
    for record in event["Records"]:
        try:
            process(record)
        except Exception:
            failures.append({"itemIdentifier": record["messageId"]})
    return {"batchItemFailures": failures}


def process(record):
    pass
'''

EXPECTED: dict[str, dict[str, set[str]]] = {
    # resource id (queue, function or mapping name) → rules
    "orders": {"clean": {"VT-1", "VT-2", "DLQ-1", "DLQ-2", "PB-1", "PB-2", "PB-3"}},
    "orders-dlq": {"clean": {"DLQ-3"}},
    "orders-consumer": {"clean": {"CC-1", "CC-2", "CC-3", "CC-4"}},
    "payments": {"fail": {"VT-1", "DLQ-2", "PB-1", "PB-3"}, "clean": {"DLQ-1", "PB-2"}},
    "payments-dlq": {"fail": {"DLQ-3"}},
    "payments-consumer": {"fail": {"CC-3"}, "clean": {"CC-1", "CC-2"}},
    "notifications": {"fail": {"VT-2", "DLQ-1", "PB-3"}, "clean": {"VT-1", "PB-1"}},
    "notifications-priority": {"fail": {"PB-2"}, "clean": {"PB-1"}},
    "notifications-consumer": {"fail": {"CC-2"}, "clean": {"CC-1", "CC-3", "CC-4"}},
    "invoices": {"fail": {"VT-2"}, "clean": {"VT-1", "PB-3"}},
    "refunds": {"clean": {"PB-1", "PB-3"}},
    "audit": {"clean": {"PB-1", "PB-3"}},
    "refunds-consumer": {"fail": {"CC-1"}},
    "audit-consumer": {"fail": {"CC-4"}, "clean": {"CC-2", "CC-3"}},
    "legacy": {"clean": {"VT-1", "VT-2", "DLQ-1"}},
    "ledger.fifo": {"clean": {"VT-1", "VT-2", "DLQ-1", "DLQ-2", "PB-3"}},
    "ledger-dlq.fifo": {"clean": {"DLQ-3"}},
}


def _redrive(dlq_arn: str, count: int) -> dict[str, Any]:
    return {"deadLetterTargetArn": dlq_arn, "maxReceiveCount": str(count)}


def seed(ctx) -> None:
    lam = ctx.client("lambda")

    def mapping(function: str, queue_arn: str, **kw: Any) -> str:
        return lam.create_event_source_mapping(FunctionName=function, EventSourceArn=queue_arn, **kw)["UUID"]

    # orders: everything right. T=30, VT=180=6T, DLQ keeps 14 days, reserved 10 ≥ max 9, partial batches on.
    _, orders_dlq = ctx.queue("orders-dlq", MessageRetentionPeriod=DLQ_RETENTION)
    _, orders = ctx.queue("orders", VisibilityTimeout=180, MessageRetentionPeriod=4 * DAY,
                          RedrivePolicy=_redrive(orders_dlq, 5))
    ctx.function("orders-consumer", timeout=30, source=PARTIAL_BATCH_SOURCE)
    lam.put_function_concurrency(FunctionName="orders-consumer", ReservedConcurrentExecutions=10)
    mapping("orders-consumer", orders, BatchSize=10, FunctionResponseTypes=["ReportBatchItemFailures"],
            ScalingConfig={"MaximumConcurrency": 9})

    # payments: VT 30 < T 60 (VT-1), maxReceiveCount 2 (DLQ-2), DLQ retention = source (DLQ-3),
    # reserved 10 with a mapping without maximum (CC-3), batch 10 without partial batches (PB-1, high).
    _, payments_dlq = ctx.queue("payments-dlq", MessageRetentionPeriod=4 * DAY)
    _, payments = ctx.queue("payments", VisibilityTimeout=30, MessageRetentionPeriod=4 * DAY,
                            RedrivePolicy=_redrive(payments_dlq, 2))
    ctx.function("payments-consumer", timeout=60, source=PARTIAL_BATCH_SOURCE)
    lam.put_function_concurrency(FunctionName="payments-consumer", ReservedConcurrentExecutions=10)
    mapping("payments-consumer", payments, BatchSize=10)

    # notifications: VT 60 between T=30 and 6T (VT-2), no DLQ (DLQ-1); two mappings at 6+6 > reserved 10 (CC-2);
    # the priority queue is read one message at a time without partial batches (PB-2, info).
    _, notifications = ctx.queue("notifications", VisibilityTimeout=60)
    _, priority_dlq = ctx.queue("notifications-priority-dlq", MessageRetentionPeriod=DLQ_RETENTION)
    _, priority = ctx.queue("notifications-priority", VisibilityTimeout=180,
                            RedrivePolicy=_redrive(priority_dlq, 5))
    ctx.function("notifications-consumer", timeout=30)
    lam.put_function_concurrency(FunctionName="notifications-consumer", ReservedConcurrentExecutions=10)
    mapping("notifications-consumer", notifications, BatchSize=10, FunctionResponseTypes=["ReportBatchItemFailures"],
            ScalingConfig={"MaximumConcurrency": 6})
    mapping("notifications-consumer", priority, BatchSize=1, ScalingConfig={"MaximumConcurrency": 6})

    # invoices: mapped through alias "live" → version 1 with T=120; $LATEST was later cut to 20s.
    # Judged with $LATEST the queue would look fine (VT 300 ≥ 120); with the alias it is VT-2 (needs 720).
    _, invoices_dlq = ctx.queue("invoices-dlq", MessageRetentionPeriod=DLQ_RETENTION)
    _, invoices = ctx.queue("invoices", VisibilityTimeout=300, RedrivePolicy=_redrive(invoices_dlq, 5))
    ctx.function("invoice-generator", timeout=120, source=PARTIAL_BATCH_SOURCE)
    version = lam.publish_version(FunctionName="invoice-generator")["Version"]
    lam.create_alias(FunctionName="invoice-generator", Name="live", FunctionVersion=version)
    lam.update_function_configuration(FunctionName="invoice-generator", Timeout=20)
    mapping("invoice-generator:live", invoices, BatchSize=5, FunctionResponseTypes=["ReportBatchItemFailures"])

    # refunds: reserved concurrency 0 — the function is switched off while its queue fills (CC-1).
    _, refunds_dlq = ctx.queue("refunds-dlq", MessageRetentionPeriod=DLQ_RETENTION)
    _, refunds = ctx.queue("refunds", VisibilityTimeout=180, RedrivePolicy=_redrive(refunds_dlq, 5))
    ctx.function("refunds-consumer", timeout=30, source=PARTIAL_BATCH_SOURCE)
    lam.put_function_concurrency(FunctionName="refunds-consumer", ReservedConcurrentExecutions=0)
    mapping("refunds-consumer", refunds, BatchSize=10, FunctionResponseTypes=["ReportBatchItemFailures"])

    # audit: reserved 3 (< 5 recommended, CC-4) with maximum 2.
    _, audit_dlq = ctx.queue("audit-dlq", MessageRetentionPeriod=DLQ_RETENTION)
    _, audit = ctx.queue("audit", VisibilityTimeout=180, RedrivePolicy=_redrive(audit_dlq, 5))
    ctx.function("audit-consumer", timeout=30, source=PARTIAL_BATCH_SOURCE)
    lam.put_function_concurrency(FunctionName="audit-consumer", ReservedConcurrentExecutions=3)
    mapping("audit-consumer", audit, BatchSize=10, FunctionResponseTypes=["ReportBatchItemFailures"],
            ScalingConfig={"MaximumConcurrency": 2})

    # legacy: badly configured but its mapping is disabled — nothing may fire.
    _, legacy = ctx.queue("legacy", VisibilityTimeout=10)
    ctx.function("legacy-consumer", timeout=60)
    mapping("legacy-consumer", legacy, BatchSize=10, Enabled=False)

    # ledger.fifo: FIFO (no batching window), VT = 6T, FIFO DLQ with longer retention.
    _, ledger_dlq = ctx.queue("ledger-dlq.fifo", MessageRetentionPeriod=DLQ_RETENTION)
    _, ledger = ctx.queue("ledger.fifo", VisibilityTimeout=60, MessageRetentionPeriod=4 * DAY,
                          RedrivePolicy=_redrive(ledger_dlq, 5))
    ctx.function("ledger-consumer", timeout=10, source=PARTIAL_BATCH_SOURCE)
    mapping("ledger-consumer", ledger, BatchSize=10, FunctionResponseTypes=["ReportBatchItemFailures"])
