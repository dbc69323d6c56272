"""Reserved concurrency vs the maximum concurrency of SQS event source mappings (check-rules.md §3).

Judged per *unqualified* function: mappings on aliases and versions share the function's reserved
concurrency, so they are grouped. R = reserved concurrency, S = Σ MaximumConcurrency of the enabled SQS
mappings. Reserved concurrency costs one ``GetFunctionConcurrency`` call per function (never per mapping).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from auditor.check import Recorder, check
from auditor.inventory import Inventory, RegionInventory
from auditor.inventory import resources as res
from auditor.inventory.awslambda import EventSourceMapping
from auditor.inventory.core import NotAvailable
from auditor.model import Resource, Severity

from ._common import SQS_SCALING_DOC

_REQUIRES = ("lambda.mappings", "lambda.reserved")
_CONCURRENCY_DOC = "https://docs.aws.amazon.com/lambda/latest/dg/configuration-concurrency.html"
_CLI = ("aws lambda update-event-source-mapping --uuid UUID --scaling-config MaximumConcurrency=N\n"
        "aws lambda put-function-concurrency --function-name NAME --reserved-concurrent-executions R")
_TF = ('resource "aws_lambda_event_source_mapping" "sqs" {\n  scaling_config {\n    maximum_concurrency = 9\n  }\n}\n'
       'resource "aws_lambda_function" "fn" {\n  reserved_concurrent_executions = 10\n}')


@dataclass(frozen=True)
class FunctionConcurrency:
    region: RegionInventory
    function_arn: str  # unqualified
    mappings: tuple[EventSourceMapping, ...]  # enabled SQS mappings, all qualifiers
    other_triggers: tuple[str, ...]  # event source ARNs of enabled non-SQS mappings
    reserved: int | None

    @property
    def resource(self) -> Resource:
        return res.function(self.region.account, self.region.name, self.function_arn)

    @property
    def name(self) -> str:
        return self.resource.id

    @property
    def total_maximum(self) -> int:
        return sum(m.maximum_concurrency or 0 for m in self.mappings)

    @property
    def unbounded(self) -> list[EventSourceMapping]:
        return [m for m in self.mappings if m.maximum_concurrency is None]

    def describe(self) -> str:
        parts = []
        for m in self.mappings:
            queue = m.event_source_arn.rsplit(":", 1)[-1]
            label = m.function_arn.split(":", 7)[7] if m.qualifier else ""
            who = f"{queue}" + (f" (via {label})" if label else "")
            parts.append(f"{who}: {m.maximum_concurrency if m.maximum_concurrency is not None else 'unset'}")
        text = f"reserved R={self.reserved}; mapping maximum " + ", ".join(parts)
        text += f"; S={self.total_maximum}"
        if self.reserved is not None:
            text += f"; headroom R−S={self.reserved - self.total_maximum}"
        if self.other_triggers:
            text += f"; other triggers share R: {', '.join(t.rsplit(':', 1)[-1] for t in self.other_triggers)}"
        return text

    def evidence(self) -> dict:
        return {
            "function": self.function_arn,
            "reserved_concurrency": self.reserved,
            "mappings": [
                {"uuid": m.uuid, "queue": m.event_source_arn, "function_arn": m.function_arn,
                 "maximum_concurrency": m.maximum_concurrency}
                for m in self.mappings
            ],
            "sum_maximum_concurrency": self.total_maximum,
            "headroom": None if self.reserved is None else self.reserved - self.total_maximum,
            "other_triggers": list(self.other_triggers),
        }


def functions_with_sqs(inv: Inventory, rec: Recorder):
    """One :class:`FunctionConcurrency` per unqualified function that has an enabled SQS mapping."""
    for region in inv.regions:
        try:
            mappings = region.awslambda.mappings()
        except NotAvailable as exc:
            rec.not_evaluated(region.scope("lambda-event-source-mappings"), exc.reason, exc.iam_action)
            continue
        sqs: dict[str, list[EventSourceMapping]] = defaultdict(list)
        others: dict[str, list[str]] = defaultdict(list)
        for m in mappings:
            if not m.enabled:
                continue
            (sqs if m.is_sqs else others)[m.unqualified_function_arn].append(m if m.is_sqs else m.event_source_arn)
        region.awslambda.prefetch_reserved(list(sqs))  # concurrently, one call per function
        for fn_arn in sorted(sqs):
            resource = res.function(region.account, region.name, fn_arn)
            with rec.evaluating(resource):
                reserved = region.awslambda.reserved_concurrency(fn_arn)
                yield FunctionConcurrency(region, fn_arn, tuple(sqs[fn_arn]), tuple(sorted(others.get(fn_arn, ()))),
                                          reserved)


_COMMON = dict(docs=(SQS_SCALING_DOC, _CONCURRENCY_DOC), requires=_REQUIRES, cli=_CLI, terraform=_TF)


@check(
    id="lambda-concurrency/reserved-zero",
    rule="CC-1",
    title="Function with an SQS trigger has reserved concurrency 0",
    severity=Severity.CRITICAL,
    description="Reserved concurrency 0 stops every invocation of the function, while its SQS mappings stay enabled.",
    risk=(
        "Every message is throttled: it returns to the queue, counts towards maxReceiveCount and lands in the "
        "dead-letter queue (or expires) without ever being processed."
    ),
    remediation=(
        "Remove the reserved concurrency of 0 (Lambda console: Configuration → Concurrency → Edit) or disable "
        "the event source mapping while the function is meant to be off."
    ),
    **_COMMON,
)
def reserved_zero(inv: Inventory, rec: Recorder) -> None:
    for fc in functions_with_sqs(inv, rec):
        if fc.reserved == 0:
            rec.fail(fc.resource, f"Function {fc.name} has reserved concurrency 0 but enabled SQS triggers "
                     f"({fc.describe()}): every message is throttled.", evidence=fc.evidence())
        else:
            rec.ok(fc.resource, f"{fc.name}: reserved concurrency is not 0", evidence=fc.evidence())


@check(
    id="lambda-concurrency/maximum-exceeds-reserved",
    rule="CC-2",
    title="SQS maximum concurrency exceeds the function's reserved concurrency",
    severity=Severity.HIGH,
    description=(
        "The sum of MaximumConcurrency over a function's enabled SQS event source mappings (or one mapping's "
        "maximum) is greater than the function's reserved concurrency. AWS: reserved concurrency must be at "
        "least the sum of the mappings' maximum concurrency."
    ),
    risk=(
        "Lambda pollers scale past what the function may run and the extra invocations are throttled; throttled "
        "messages return to the queue, count as receives and can reach the DLQ unprocessed."
    ),
    remediation=(
        "Lower the mappings' maximum concurrency so their sum is at most the reserved concurrency, or raise the "
        "reserved concurrency to at least that sum."
    ),
    **_COMMON,
)
def maximum_exceeds_reserved(inv: Inventory, rec: Recorder) -> None:
    for fc in functions_with_sqs(inv, rec):
        if not fc.reserved:  # None: nothing reserved; 0: CC-1
            continue
        if fc.total_maximum > fc.reserved:  # one mapping above R implies the sum is too
            rec.fail(fc.resource, f"Function {fc.name}: the SQS mappings may run {fc.total_maximum} concurrent "
                     f"invocations but only {fc.reserved} are reserved ({fc.describe()}); the excess is throttled.",
                     evidence=fc.evidence())
        else:
            rec.ok(fc.resource, f"{fc.name}: {fc.describe()}", evidence=fc.evidence())


@check(
    id="lambda-concurrency/maximum-unset",
    rule="CC-3",
    title="SQS mapping without maximum concurrency on a function with reserved concurrency",
    severity=Severity.MEDIUM,
    description=(
        "An enabled SQS event source mapping has no ScalingConfig.MaximumConcurrency, so it can scale up to the "
        "account's concurrency limit — past the function's reserved concurrency."
    ),
    risk="When the queue backs up, pollers outgrow the reserved concurrency and messages are throttled back "
         "to the queue, towards maxReceiveCount and the DLQ.",
    remediation="Set MaximumConcurrency on each SQS mapping so that their sum is at most the reserved concurrency.",
    **_COMMON,
)
def maximum_unset(inv: Inventory, rec: Recorder) -> None:
    for fc in functions_with_sqs(inv, rec):
        if not fc.reserved:
            continue
        if fc.unbounded:
            queues = ", ".join(m.event_source_arn.rsplit(":", 1)[-1] for m in fc.unbounded)
            rec.fail(fc.resource, f"Function {fc.name} reserves {fc.reserved} but its mapping(s) from {queues} set "
                     f"no maximum concurrency and can exceed it ({fc.describe()}).", evidence=fc.evidence())
        else:
            rec.ok(fc.resource, f"{fc.name}: every SQS mapping sets a maximum", evidence=fc.evidence())


@check(
    id="lambda-concurrency/reserved-below-five",
    rule="CC-4",
    title="Reserved concurrency below 5 on a function with an SQS trigger",
    severity=Severity.MEDIUM,
    description=(
        "Lambda starts SQS polling with five concurrent pollers; AWS recommends reserved concurrency of at least "
        "5 for a function with an SQS trigger."
    ),
    risk="Invocations beyond the reservation are throttled as soon as the pollers start, even at low traffic.",
    remediation="Raise the reserved concurrency to at least 5, or remove the reservation.",
    **_COMMON,
)
def reserved_below_five(inv: Inventory, rec: Recorder) -> None:
    for fc in functions_with_sqs(inv, rec):
        if fc.reserved is None or fc.reserved == 0:
            continue
        if fc.reserved < 5:
            rec.fail(fc.resource, f"Function {fc.name} reserves only {fc.reserved} concurrent executions for its SQS "
                     f"trigger(s); AWS recommends at least 5 ({fc.describe()}).", evidence=fc.evidence())
        else:
            rec.ok(fc.resource, f"{fc.name}: reserved {fc.reserved} ≥ 5", evidence=fc.evidence())
