"""Partial batch responses on SQS event sources (check-rules.md §4)."""

from __future__ import annotations

from auditor.check import Recorder, check
from auditor.inventory import Inventory
from auditor.model import Confidence, Severity

from ._common import SQS_ERRORS_DOC, enabled_sqs_mappings

_REQUIRES = ("lambda.mappings", "sqs.queues")
_CLI = "aws lambda update-event-source-mapping --uuid UUID --function-response-types ReportBatchItemFailures"
_TF = 'resource "aws_lambda_event_source_mapping" "sqs" {\n  function_response_types = ["ReportBatchItemFailures"]\n}'
_POWERTOOLS_DOC = "https://docs.powertools.aws.dev/lambda/python/latest/utilities/batch/"


def _ev(item) -> dict:
    rp = item.queue.redrive_policy
    return {
        "queue": item.queue.arn,
        "function": item.mapping.function_arn,
        "event_source_mapping": item.mapping.uuid,
        "batch_size": item.mapping.batch_size,
        "batching_window_s": item.mapping.batching_window,
        "function_response_types": list(item.mapping.function_response_types),
        "max_receive_count": rp.max_receive_count if rp else None,
    }


@check(
    id="sqs-lambda/partial-batch-responses-off",
    rule="PB-1",
    title="SQS mapping delivers batches without ReportBatchItemFailures",
    severity=Severity.MEDIUM,
    severities=(Severity.MEDIUM, Severity.HIGH),
    description=(
        "An enabled SQS event source mapping can deliver more than one message per invocation (BatchSize > 1) "
        "but does not set FunctionResponseTypes [\"ReportBatchItemFailures\"]."
    ),
    risk=(
        "One failing message makes the whole batch visible again, successes included: good messages are "
        "reprocessed, and with a low maxReceiveCount they are moved to the DLQ together with the bad one."
    ),
    remediation=(
        "Enable 'Report batch item failures' on the trigger and return {\"batchItemFailures\": [...]} from the "
        "function (or use a Powertools batch processor)."
    ),
    cli=_CLI,
    terraform=_TF,
    docs=(SQS_ERRORS_DOC, _POWERTOOLS_DOC),
    requires=_REQUIRES,
)
def partial_batch_off(inv: Inventory, rec: Recorder) -> None:
    for item in enabled_sqs_mappings(inv, rec):
        m = item.mapping
        if m.reports_batch_item_failures or (m.batch_size or 10) <= 1:
            rec.ok(item.queue_resource, f"{item.queue.name} → {item.function_label}: partial batches handled or "
                   "batch size 1", evidence=_ev(item), key=m.function_arn)
            continue
        rp = item.queue.redrive_policy
        low_mrc = rp is not None and rp.max_receive_count is not None and rp.max_receive_count <= 2
        msg = (f"Mapping {item.queue.name} → {item.function_label} delivers up to {m.batch_size} messages per "
               "batch without ReportBatchItemFailures: one failure retries the whole batch")
        msg += (f", and with maxReceiveCount {rp.max_receive_count} good messages reach the DLQ with the bad one."
                if low_mrc else ".")
        rec.fail(item.queue_resource, msg, severity=Severity.HIGH if low_mrc else None, evidence=_ev(item),
                 key=m.function_arn)


@check(
    id="sqs-lambda/single-message-batches",
    rule="PB-2",
    title="SQS mapping with batch size 1 and no partial batch responses",
    severity=Severity.INFO,
    description=(
        "BatchSize is 1 and ReportBatchItemFailures is off. There is no duplicate amplification, and Lambda backs "
        "off polling on failures; raising the batch size later without enabling the flag would create PB-1."
    ),
    risk="None today; throughput is limited to one message per invocation.",
    remediation="If you raise BatchSize, enable ReportBatchItemFailures at the same time.",
    cli=_CLI,
    terraform=_TF,
    docs=(SQS_ERRORS_DOC,),
    requires=_REQUIRES,
)
def single_message(inv: Inventory, rec: Recorder) -> None:
    for item in enabled_sqs_mappings(inv, rec):
        m = item.mapping
        if (m.batch_size or 10) <= 1 and not m.reports_batch_item_failures:
            rec.fail(item.queue_resource, f"Mapping {item.queue.name} → {item.function_label} reads one message per "
                     "invocation without ReportBatchItemFailures; enable it before raising the batch size.",
                     evidence=_ev(item), key=m.function_arn)


@check(
    id="sqs-lambda/partial-batch-code-mismatch",
    rule="PB-3",
    title="Function code and mapping disagree about partial batch responses (deep scan)",
    severity=Severity.HIGH,
    severities=(Severity.HIGH, Severity.MEDIUM),
    confidence=Confidence.MEDIUM,
    description=(
        "Downloads each mapped function's deployment package once (size-capped, streamed, never executed) and "
        "looks for batchItemFailures or a Powertools batch processor. If the code returns batch item failures "
        "but the mapping lacks ReportBatchItemFailures, Lambda ignores the response and deletes the whole batch. "
        "The reverse (flag on, code never returns it) is reported as medium."
    ),
    risk="Failed messages are deleted as if they had succeeded: silent data loss.",
    remediation="Enable ReportBatchItemFailures on the mapping (or stop returning batchItemFailures).",
    cli=_CLI,
    terraform=_TF,
    docs=(SQS_ERRORS_DOC, _POWERTOOLS_DOC),
    requires=(*_REQUIRES, "lambda.code"),
    deep=True,
)
def code_mismatch(inv: Inventory, rec: Recorder) -> None:
    items = list(enabled_sqs_mappings(inv, rec))
    for region in inv.regions:
        arns = sorted({i.mapping.function_arn for i in items if i.region is region})
        region.awslambda.prefetch_code(arns)
    for item in items:
        m = item.mapping
        with rec.evaluating(item.queue_resource, key=m.function_arn):
            sig = item.region.awslambda.code_signals(m.function_arn)
            ev = {**_ev(item), "package_bytes": sig.size,
                  "matches_in_function_code": {k: list(v)[:5] for k, v in sig.app.items()},
                  "matches_in_bundled_libraries": {k: list(v)[:5] for k, v in sig.library.items()},
                  "layers_not_inspected": list(sig.layers)}
            if not m.reports_batch_item_failures and sig.any:
                where = "its own code" if sig.app else "bundled libraries only"
                rec.fail(item.queue_resource,
                         f"{item.function_label} returns batchItemFailures ({where}) but mapping {item.queue.name} → "
                         f"{item.function_label} lacks ReportBatchItemFailures: Lambda ignores the response and "
                         "deletes failed messages with the batch.",
                         confidence=Confidence.MEDIUM if sig.app else Confidence.LOW, evidence=ev, key=m.function_arn)
            elif m.reports_batch_item_failures and not sig.any:
                layers = " (its layers were not inspected)" if sig.layers else ""
                rec.fail(item.queue_resource,
                         f"Mapping {item.queue.name} → {item.function_label} sets ReportBatchItemFailures but the "
                         f"package never mentions batchItemFailures{layers}: if the function returns nothing, "
                         "every batch counts as a success.",
                         severity=Severity.MEDIUM, confidence=Confidence.LOW, evidence=ev, key=m.function_arn)
            else:
                rec.ok(item.queue_resource, f"{item.function_label}: code and mapping agree", evidence=ev,
                       key=m.function_arn)

