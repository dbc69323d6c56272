"""The shop's Datadog organisation: monitors and downtimes for the DLQs of ``seed_sqs_lambda`` (§6).

Served by :class:`auditor.demo.datadog_server.DatadogServer`. ``EXPECTED`` maps each dead-letter queue to
the DD rules that must fire on it ("fail") and must not ("clean"), like the AWS seed tables.

| DLQ                        | monitors                                                  | outcome |
|----------------------------|-----------------------------------------------------------|---------|
| orders-dlq                 | change alert, 15 min window, evaluation_delay 900          | clean   |
| payments-dlq               | threshold "> 0" only — stuck in Alert, renotifying          | DD-2    |
| notifications-priority-dlq | none (decoys: source-queue backlog, log alert naming it,    | DD-1    |
|                            | messages_sent and messages_deleted of the DLQ — redrives    |         |
|                            | move neither —, account-wide {*} backlog)                   |         |
| invoices-dlq               | change alert, muted by an open-ended downtime               | DD-4    |
| refunds-dlq                | change alert "< 0" over 5 min without evaluation_delay      | DD-3    |
| audit-dlq                  | multi-alert change on {queuename:audit*} by {queuename}     | clean   |
| ledger-dlq.fifo            | muted change member of an unmuted composite; the member is  | clean   |
|                            | left out of the listing (read by id)                        |         |
"""

from __future__ import annotations

from typing import Any

from .datadog_server import downtime, monitor

ACCOUNT = "123456789012"
VISIBLE = "aws.sqs.approximate_number_of_messages_visible"

EXPECTED: dict[str, dict[str, set[str]]] = {
    "orders-dlq": {"clean": {"DD-1", "DD-2", "DD-3", "DD-4"}},
    "payments-dlq": {"fail": {"DD-2"}, "clean": {"DD-1", "DD-3", "DD-4"}},
    "notifications-priority-dlq": {"fail": {"DD-1"}, "clean": {"DD-2", "DD-3", "DD-4"}},
    "invoices-dlq": {"fail": {"DD-4"}, "clean": {"DD-1", "DD-2", "DD-3"}},
    "refunds-dlq": {"fail": {"DD-3"}, "clean": {"DD-1", "DD-2", "DD-4"}},
    "audit-dlq": {"clean": {"DD-1", "DD-2", "DD-3", "DD-4"}},
    "ledger-dlq.fifo": {"clean": {"DD-1", "DD-2", "DD-3", "DD-4"}},
}

# Monitor ids, named so tests and the demo's reader can refer to them.
ORDERS_DLQ = 48213001
PAYMENTS_DLQ = 48213002
INVOICES_DLQ = 48213003
REFUNDS_DLQ = 48213004
AUDIT_DLQS = 48213005
LEDGER_DLQ_MEMBER = 48213006
LEDGER_ERRORS_MEMBER = 48213007
LEDGER_COMPOSITE = 48213008
NOTIFICATIONS_DLQ_SENT = 48213016  # on number_of_messages_sent: looks like coverage, is not (DD-1 names it)

#: Monitors the listing leaves out but that can be read by id (as for monitors restricted to other roles): the
#: ledger composite's DLQ member is only found by reading it (GetMonitor).
UNLISTED = {LEDGER_DLQ_MEMBER}


def monitors(account: str = ACCOUNT) -> list[dict[str, Any]]:
    team = lambda name: [f"team:{name}", f"service:{name}", "env:prod"]  # noqa: E731
    return [
        # orders: the right way — change alert, window longer than the CloudWatch crawl, evaluation delay.
        monitor(ORDERS_DLQ, "[orders] Messages arriving in orders-dlq",
                f"change(avg(last_15m),last_15m):max:{VISIBLE}{{queuename:orders-dlq,aws_account:{account}}} > 0",
                options={"evaluation_delay": 900}, tags=team("orders")),
        # payments: threshold — stays in Alert while old messages sit in the DLQ, new failures raise nothing.
        monitor(PAYMENTS_DLQ, "[payments] payments-dlq is not empty",
                f"max(last_5m):max:{VISIBLE}{{queuename:payments-dlq}} > 0",
                options={"renotify_interval": 60}, overall_state="Alert", tags=team("payments")),
        # invoices: a good change alert, muted by a downtime nobody ended (see downtimes()).
        monitor(INVOICES_DLQ, "[invoices] Messages arriving in invoices-dlq",
                f"change(avg(last_30m),last_30m):max:{VISIBLE}{{queuename:invoices-dlq}} > 0",
                options={"evaluation_delay": 900}, tags=team("invoices")),
        # refunds: change alert pointing the wrong way, 5-minute window, no evaluation delay (DD-3).
        monitor(REFUNDS_DLQ, "[refunds] refunds-dlq changed",
                f"change(avg(last_5m),last_5m):max:{VISIBLE}{{queuename:refunds-dlq}} < 0",
                tags=team("refunds")),
        # audit: one multi-alert over a wildcard, a group per queue.
        monitor(AUDIT_DLQS, "[audit] Messages arriving in {{queuename.name}}",
                f"change(avg(last_30m),last_30m):max:{VISIBLE}{{queuename:audit*}} by {{queuename}} > 0",
                options={"evaluation_delay": 600}, tags=team("audit")),
        # ledger: muted members, the composite notifies.
        monitor(LEDGER_DLQ_MEMBER, "[ledger] ledger-dlq.fifo grows (composite member)",
                f"change(avg(last_1h),last_1h):max:{VISIBLE}{{queuename:ledger-dlq.fifo}} > 0",
                options={"evaluation_delay": 900, "silenced": {"*": None}}, message="Composite member; see "
                f"monitor {LEDGER_COMPOSITE}.", tags=team("ledger")),
        monitor(LEDGER_ERRORS_MEMBER, "[ledger] ledger-consumer errors (composite member)",
                "sum(last_15m):sum:aws.lambda.errors{functionname:ledger-consumer}.as_count() > 0",
                options={"silenced": {"*": None}}, message=f"Composite member; see monitor {LEDGER_COMPOSITE}.",
                tags=team("ledger")),
        monitor(LEDGER_COMPOSITE, "[ledger] Failed ledger entries",
                f"{LEDGER_DLQ_MEMBER} || {LEDGER_ERRORS_MEMBER}", tags=team("ledger")),
        # decoys for notifications-priority-dlq: none of these watches it.
        monitor(48213009, "[notifications] notifications-priority backlog",
                f"avg(last_10m):max:{VISIBLE}{{queuename:notifications-priority}} > 100", tags=team("notifications")),
        monitor(48213010, "[notifications] errors logged for notifications-priority-dlq",
                'logs("queuename:notifications-priority-dlq status:error").index("*").rollup("count").last("5m") > 0',
                type="log alert", tags=team("notifications")),
        monitor(48213011, "[notifications] notifications-priority-dlq drained",
                "sum(last_1h):sum:aws.sqs.number_of_messages_deleted{queuename:notifications-priority-dlq}"
                ".as_count() > 0", tags=team("notifications")),
        # number_of_messages_sent does not count messages SQS moves into a DLQ after failed processing, so this
        # "DLQ monitor" never fires for a failed notification.
        monitor(NOTIFICATIONS_DLQ_SENT, "[notifications] Messages sent to notifications-priority-dlq",
                "sum(last_5m):sum:aws.sqs.number_of_messages_sent{queuename:notifications-priority-dlq}"
                ".as_count() > 0", tags=team("notifications")),
        monitor(48213012, "[platform] Total SQS backlog",
                f"avg(last_15m):sum:{VISIBLE}{{*}} > 10000", tags=["team:platform", "env:prod"]),
        # the rest of the organisation
        monitor(48213013, "[infra] CPU high on {{host.name}}",
                "avg(last_5m):avg:system.cpu.user{env:prod} by {host} > 90", tags=["team:platform", "env:prod"]),
        monitor(48213014, "[infra] Disk almost full on {{host.name}}",
                "max(last_15m):max:system.disk.in_use{env:prod} by {host,device} > 0.9",
                tags=["team:platform", "env:prod"]),
        monitor(48213015, "[orders] API p99 latency",
                "percentile(last_10m):p99:trace.http.request{service:orders-api} > 2",
                tags=team("orders")),
    ]


def downtimes() -> list[dict[str, Any]]:
    return [
        downtime(INVOICES_DLQ, id="5c1b7a3e-0b1e-11ef-9a3f-da7ad0900002",
                 message="Muted during the invoices v2 migration (INC-2291)", start="2024-05-01T08:00:00+00:00"),
        # not mutes: a future maintenance window and a cancelled one
        downtime(PAYMENTS_DLQ, id="7e2f0c44-0b1e-11ef-8d21-da7ad0900002", message="Planned payments maintenance",
                 start="2099-01-01T00:00:00+00:00", end="2099-01-01T04:00:00+00:00"),
        downtime(ORDERS_DLQ, id="8a6d1f90-0b1e-11ef-b3c5-da7ad0900002", message="Load test",
                 start="2024-05-02T10:00:00+00:00", end="2024-05-02T12:00:00+00:00",
                 canceled="2024-05-02T10:30:00+00:00"),
    ]
