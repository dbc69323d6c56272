"""Visibility timeout vs function timeout, and the source queue's redrive (check-rules.md §5)."""

from __future__ import annotations

from auditor.check import Recorder, check
from auditor.inventory import Inventory
from auditor.inventory import resources as res
from auditor.model import Severity

from ._common import SQS_CONFIGURE_DOC, SQS_DLQ_DOC, MappedQueue, enabled_sqs_mappings

_DLQ_REQUIRES = ("lambda.mappings", "sqs.queues")
_VT_REQUIRES = (*_DLQ_REQUIRES, "lambda.functions", "lambda.configurations")


def _timeouts(inv: Inventory, rec: Recorder):
    """(mapped queue, function timeout T, batching window W) for every enabled SQS mapping."""
    items = list(enabled_sqs_mappings(inv, rec))
    for region in inv.regions:
        region.awslambda.prefetch_configurations(
            [i.mapping.function_arn for i in items if i.region is region]
        )
    for item in items:
        with rec.evaluating(item.queue_resource, key=item.mapping.function_arn):
            fn = item.region.awslambda.configuration(item.mapping.function_arn)
            # FIFO event sources do not support a batching window.
            window = 0 if item.queue.fifo else item.mapping.batching_window
            yield item, fn.timeout, window


def _vt_evidence(item: MappedQueue, vt: int, timeout: int, window: int) -> dict:
    return {
        "queue": item.queue.arn,
        "function": item.mapping.function_arn,
        "event_source_mapping": item.mapping.uuid,
        "visibility_timeout_s": vt,
        "function_timeout_s": timeout,
        "batching_window_s": window,
        "recommended_minimum_s": 6 * timeout + window,
    }


@check(
    id="sqs-lambda/visibility-timeout-below-function-timeout",
    rule="VT-1",
    title="Queue visibility timeout is shorter than the consuming function's timeout",
    severity=Severity.HIGH,
    description=(
        "An enabled SQS event source mapping feeds a Lambda function whose timeout is longer than the queue's "
        "visibility timeout. Lambda validates this only when the mapping is created; raising the function "
        "timeout later is never checked."
    ),
    risk=(
        "A message becomes visible again while its first invocation is still running, so it is processed twice "
        "concurrently, counts towards maxReceiveCount and can reach the dead-letter queue although it succeeds."
    ),
    remediation=(
        "Raise the queue's visibility timeout to at least six times the function timeout plus the batching "
        "window (SQS console: Edit queue → Visibility timeout), or lower the function timeout."
    ),
    cli="aws sqs set-queue-attributes --queue-url URL --attributes VisibilityTimeout=<6*T+W>",
    terraform='resource "aws_sqs_queue" "q" {\n  visibility_timeout_seconds = 6 * var.function_timeout + var.batching_window\n}',
    docs=(SQS_CONFIGURE_DOC,),
    requires=_VT_REQUIRES,
)
def visibility_below_timeout(inv: Inventory, rec: Recorder) -> None:
    for item, timeout, window in _timeouts(inv, rec):
        vt = item.queue.visibility_timeout or 0
        ev = _vt_evidence(item, vt, timeout, window)
        if vt < timeout:
            rec.fail(
                item.queue_resource,
                f"Queue {item.queue.name} has a visibility timeout of {vt}s, shorter than the {timeout}s timeout "
                f"of {item.function_label}: messages reappear while still being processed "
                f"(set it to at least {6 * timeout + window}s).",
                evidence=ev,
                key=item.mapping.function_arn,
            )
        else:
            rec.ok(item.queue_resource, f"{item.queue.name}: visibility {vt}s ≥ timeout {timeout}s",
                   evidence=ev, key=item.mapping.function_arn)


@check(
    id="sqs-lambda/visibility-timeout-below-recommended",
    rule="VT-2",
    title="Queue visibility timeout is below 6 × function timeout + batching window",
    severity=Severity.MEDIUM,
    description=(
        "AWS recommends a visibility timeout of at least six times the function timeout plus "
        "MaximumBatchingWindowInSeconds for queues consumed by Lambda, to leave room for retries when the "
        "function is throttled."
    ),
    risk=(
        "When invocations are throttled or retried, messages can become visible again before Lambda has "
        "finished with them, causing duplicate processing and early moves to the dead-letter queue."
    ),
    remediation="Raise the visibility timeout to 6 × function timeout + batching window.",
    cli="aws sqs set-queue-attributes --queue-url URL --attributes VisibilityTimeout=<6*T+W>",
    terraform='resource "aws_sqs_queue" "q" {\n  visibility_timeout_seconds = 6 * var.function_timeout + var.batching_window\n}',
    docs=(SQS_CONFIGURE_DOC,),
    requires=_VT_REQUIRES,
)
def visibility_below_recommended(inv: Inventory, rec: Recorder) -> None:
    for item, timeout, window in _timeouts(inv, rec):
        vt = item.queue.visibility_timeout or 0
        need = 6 * timeout + window
        ev = _vt_evidence(item, vt, timeout, window)
        if timeout <= vt < need:
            rec.fail(
                item.queue_resource,
                f"Queue {item.queue.name} has a visibility timeout of {vt}s; with {item.function_label} "
                f"(timeout {timeout}s, batching window {window}s) AWS recommends at least {need}s.",
                evidence=ev,
                key=item.mapping.function_arn,
            )
        elif vt >= need:
            rec.ok(item.queue_resource, f"{item.queue.name}: visibility {vt}s ≥ {need}s", evidence=ev,
                   key=item.mapping.function_arn)


def _redrive_unreadable(item: MappedQueue, rec: Recorder, what: str) -> bool:
    """Record a source queue whose RedrivePolicy exists but cannot be read as not evaluated."""
    rp = item.queue.redrive_policy
    if rp is None or not rp.error:
        return False
    rec.not_evaluated(item.queue_resource, f"{rp.error}, so {what} is unknown")
    return True


def _source_queues(inv: Inventory, rec: Recorder):
    seen = set()
    for item in enabled_sqs_mappings(inv, rec):
        if item.queue.arn not in seen:
            seen.add(item.queue.arn)
            yield item


@check(
    id="sqs-lambda/no-redrive-policy",
    rule="DLQ-1",
    title="Queue consumed by Lambda has no dead-letter queue",
    severity=Severity.MEDIUM,
    description="The source queue of an enabled Lambda event source mapping has no RedrivePolicy.",
    risk=(
        "A message that always fails (a poison message) is retried until its retention period ends and is then "
        "deleted: the failure is never captured, and it keeps consuming invocations meanwhile."
    ),
    remediation="Create a dead-letter queue and set a redrive policy with maxReceiveCount of at least 5.",
    cli=(
        "aws sqs set-queue-attributes --queue-url URL --attributes "
        "'{\"RedrivePolicy\":\"{\\\"deadLetterTargetArn\\\":\\\"DLQ_ARN\\\",\\\"maxReceiveCount\\\":\\\"5\\\"}\"}'"
    ),
    terraform=(
        'resource "aws_sqs_queue" "q" {\n  redrive_policy = jsonencode({\n'
        "    deadLetterTargetArn = aws_sqs_queue.dlq.arn\n    maxReceiveCount     = 5\n  })\n}"
    ),
    docs=(SQS_DLQ_DOC, SQS_CONFIGURE_DOC),
    requires=_DLQ_REQUIRES,
)
def no_redrive(inv: Inventory, rec: Recorder) -> None:
    for item in _source_queues(inv, rec):
        if _redrive_unreadable(item, rec, "whether it redrives to a dead-letter queue"):
            continue
        rp = item.queue.redrive_policy
        if rp is None or not rp.dead_letter_target_arn:
            rec.fail(
                item.queue_resource,
                f"Queue {item.queue.name} (consumed by {item.function_label}) has no redrive policy: "
                "messages that keep failing are lost when their retention ends.",
                evidence={"queue": item.queue.arn, "redrive_policy": rp.raw if rp else None},
            )
        else:
            rec.ok(item.queue_resource, f"{item.queue.name} redrives to {rp.dead_letter_target_arn}")


@check(
    id="sqs-lambda/low-max-receive-count",
    rule="DLQ-2",
    title="Redrive maxReceiveCount is below 5",
    severity=Severity.MEDIUM,
    severities=(Severity.MEDIUM, Severity.HIGH),
    description=(
        "AWS recommends a maxReceiveCount of at least 5 for queues consumed by Lambda. Throttled and retried "
        "batches count as receives, so a low value sends messages that would have succeeded to the DLQ."
    ),
    risk="Healthy messages land in the dead-letter queue after throttling or a transient error.",
    remediation="Set maxReceiveCount to 5 or more in the queue's redrive policy.",
    cli=(
        "aws sqs set-queue-attributes --queue-url URL --attributes "
        "'{\"RedrivePolicy\":\"{\\\"deadLetterTargetArn\\\":\\\"DLQ_ARN\\\",\\\"maxReceiveCount\\\":\\\"5\\\"}\"}'"
    ),
    terraform='redrive_policy = jsonencode({ deadLetterTargetArn = aws_sqs_queue.dlq.arn, maxReceiveCount = 5 })',
    docs=(SQS_CONFIGURE_DOC, SQS_DLQ_DOC),
    requires=_DLQ_REQUIRES,
)
def low_max_receive(inv: Inventory, rec: Recorder) -> None:
    for item in _source_queues(inv, rec):
        if _redrive_unreadable(item, rec, "its maxReceiveCount"):
            continue
        rp = item.queue.redrive_policy
        if rp is None or not rp.dead_letter_target_arn:
            continue  # DLQ-1's finding
        count = rp.max_receive_count
        ev = {"queue": item.queue.arn, "max_receive_count": count, "dead_letter_target_arn": rp.dead_letter_target_arn}
        if count is None:
            rec.fail(item.queue_resource, f"Queue {item.queue.name} has a redrive policy without a readable "
                     "maxReceiveCount.", evidence=ev)
        elif count < 5:
            rec.fail(
                item.queue_resource,
                f"Queue {item.queue.name} moves messages to its DLQ after {count} receive(s); AWS recommends "
                "at least 5 for Lambda consumers.",
                severity=Severity.HIGH if count <= 1 else None,
                evidence=ev,
            )
        else:
            rec.ok(item.queue_resource, f"{item.queue.name}: maxReceiveCount {count}", evidence=ev)


@check(
    id="sqs-lambda/dlq-retention-not-longer",
    rule="DLQ-3",
    title="Dead-letter queue keeps messages no longer than its source queue",
    severity=Severity.LOW,
    description=(
        "A message's age counts from its original enqueue time, so a dead-letter queue whose retention is not "
        "longer than the source queue's can delete messages soon after (or before) they arrive."
    ),
    risk="Failed messages expire in the dead-letter queue before anyone can inspect or redrive them.",
    remediation="Set the DLQ's message retention longer than the source queue's (e.g. 14 days, the maximum).",
    cli="aws sqs set-queue-attributes --queue-url DLQ_URL --attributes MessageRetentionPeriod=1209600",
    terraform='resource "aws_sqs_queue" "dlq" {\n  message_retention_seconds = 1209600\n}',
    docs=(SQS_DLQ_DOC,),
    requires=_DLQ_REQUIRES,
)
def dlq_retention(inv: Inventory, rec: Recorder) -> None:
    for item in _source_queues(inv, rec):
        if _redrive_unreadable(item, rec, "its dead-letter queue"):
            continue
        rp = item.queue.redrive_policy
        if rp is None or not rp.dead_letter_target_arn:
            continue
        dlq = item.region.sqs.queue_by_arn(rp.dead_letter_target_arn)
        if dlq is None or dlq.error is not None:
            reason = dlq.error.reason if dlq is not None and dlq.error else (
                f"its dead-letter queue {rp.dead_letter_target_arn} is not in the scanned account/region")
            rec.not_evaluated(item.queue_resource, reason, "sqs:GetQueueAttributes")
            continue
        src, dst = item.queue.retention or 0, dlq.retention or 0
        ev = {"queue": item.queue.arn, "dlq": dlq.arn, "queue_retention_s": src, "dlq_retention_s": dst}
        dres = res.queue(dlq.account, dlq.region, dlq.arn, dlq.name)
        if dst <= src:
            rec.fail(
                dres,
                f"Dead-letter queue {dlq.name} keeps messages {dst}s, not longer than its source queue "
                f"{item.queue.name} ({src}s): failed messages can expire on arrival.",
                evidence=ev,
                key=item.queue.arn,
            )
        else:
            rec.ok(dres, f"{dlq.name} retention {dst}s > {src}s", evidence=ev, key=item.queue.arn)
