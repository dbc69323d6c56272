"""Datadog monitors on SQS dead-letter queues (check-rules.md §6, rules DD-1..DD-4).

Dead-letter queues are the queues named as ``deadLetterTargetArn`` in any queue's ``RedrivePolicy``, in every
scanned region; a queue whose attributes cannot be read is "not evaluated" (the DLQ it may feed is unknown).
Each is matched against the organisation's monitors by parsing their queries
(:mod:`auditor.datadog.coverage`): metric, ``queuename`` scope (case-insensitive, wildcards, ``by
{queuename}`` multi-alerts), ``region``/``aws_account`` tags, composites over a matching member.

Without Datadog keys each check records one "not evaluated" entry saying so; when Datadog is configured
but cannot be read (401/403, rate limit, 5xx, timeouts) every DLQ is "not evaluated" with the reason. The
AWS checks are unaffected either way.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from auditor.check import Recorder, check
from auditor.datadog.client import DOWNTIME_PERMISSION, PERMISSION
from auditor.datadog.coverage import DLQ_METRICS, Coverage, Match, QueueTarget, change_problems
from auditor.inventory import Inventory
from auditor.inventory import resources as res
from auditor.inventory.arn import name_from_arn
from auditor.inventory.core import NotAvailable
from auditor.model import Confidence, Resource, Severity

from ._common import SQS_DLQ_DOC

CHANGE_ALERT_DOC = "https://docs.datadoghq.com/monitors/types/change-alert/"
METRIC_MONITOR_DOC = "https://docs.datadoghq.com/monitors/types/metric/"
SQS_INTEGRATION_DOC = "https://docs.datadoghq.com/integrations/amazon_sqs/"
DOWNTIME_DOC = "https://docs.datadoghq.com/monitors/downtimes/"
COMPOSITE_DOC = "https://docs.datadoghq.com/monitors/types/composite/"

_REQUIRES = ("sqs.queues", "datadog.monitors")

#: Key of the not-evaluated entry on a queue whose attributes could not be read (a DLQ of its own may also
#: carry findings on the same resource).
UNREADABLE_KEY = "redrive-policy-unreadable"
#: Key of the not-evaluated entry on a monitor whose query could not be parsed.
UNPARSED_MONITOR_KEY = "query-unreadable"

_TERRAFORM = '''resource "datadog_monitor" "dlq" {
  name    = "Messages arriving in my-dlq"
  type    = "query alert"
  query   = "change(avg(last_15m),last_15m):max:aws.sqs.approximate_number_of_messages_visible{queuename:my-dlq} > 0"
  message = "New messages in my-dlq @team-channel"
  monitor_thresholds { critical = 0 }
  evaluation_delay = 900
}'''


@dataclass(frozen=True)
class Dlq:
    name: str
    arn: str
    region: str
    account: str
    sources: tuple[str, ...]

    @property
    def resource(self) -> Resource:
        return res.queue(self.account, self.region, self.arn, self.name)

    @property
    def target(self) -> QueueTarget:
        return QueueTarget(self.name, self.region, self.account)

    @property
    def label(self) -> str:
        fed = f" (fed by {', '.join(self.sources)})" if self.sources else ""
        return f"{self.name}{fed}"


def dead_letter_queues(inv: Inventory, rec: Recorder) -> list[Dlq]:
    """Every DLQ named by a redrive policy in a scanned region.

    Unreadable listings, and queues whose attributes (so their RedrivePolicy) could not be read, become
    not-evaluated: the DLQs found may then be incomplete, and the report says so.
    """
    out = []
    for region in inv.regions:
        try:
            queues = region.sqs.queues()
        except NotAvailable as exc:
            rec.not_evaluated(region.scope("sqs-queues"), exc.reason, exc.iam_action)
            continue
        sources: dict[str, list[str]] = defaultdict(list)
        for q in queues:
            if q.error is not None:
                # Its RedrivePolicy is unknown, so the DLQ it may feed is missing from the set checked below.
                rec.not_evaluated(
                    res.queue(q.account, q.region, q.arn, q.name),
                    f"{q.error.reason}; its RedrivePolicy could not be read, so a dead-letter queue it feeds "
                    "may be missing from the dead-letter queues checked for Datadog monitors",
                    q.error.iam_action or "sqs:GetQueueAttributes",
                    key=UNREADABLE_KEY,
                )
                continue
            rp = q.redrive_policy
            if rp and rp.error:
                rec.not_evaluated(
                    res.queue(q.account, q.region, q.arn, q.name),
                    f"{rp.error}, so a dead-letter queue it feeds may be missing from the dead-letter queues "
                    "checked for Datadog monitors",
                    key=UNREADABLE_KEY,
                )
                continue
            if rp and rp.dead_letter_target_arn:
                sources[rp.dead_letter_target_arn].append(q.name)
        for arn in sorted(sources):
            queue = region.sqs.queue_by_arn(arn)
            name = queue.name if queue is not None else name_from_arn(arn)
            account = queue.account if queue is not None else region.account
            out.append(Dlq(name, arn, region.name, account, tuple(sorted(sources[arn]))))
    return out


def coverages(inv: Inventory, rec: Recorder, *, downtimes: bool = False) -> Iterator[tuple[Dlq, Coverage]]:
    """(DLQ, who watches it) for every DLQ, or not-evaluated entries when Datadog cannot be read. Only mutes
    need the active downtimes (``downtimes``)."""
    dlqs = dead_letter_queues(inv, rec)
    if not dlqs:
        return
    dd = getattr(inv, "datadog", None)
    settings = getattr(dd, "settings", None)
    if dd is None or settings is None or not settings.configured:
        reason = settings.reason if settings is not None and settings.reason else (
            "Datadog is not configured (set DD_API_KEY and DD_APP_KEY, and DD_SITE or DD_HOST)")
        names = ", ".join(d.name for d in dlqs[:10]) + (", …" if len(dlqs) > 10 else "")
        scope = Resource("datadog", inv.account or "", "", "monitors", getattr(settings, "site", "") or "datadog")
        rec.not_evaluated(scope, f"{reason}; {len(dlqs)} dead-letter queue(s) not checked for monitors: {names}",
                          PERMISSION)
        return
    try:
        index = dd.index(downtimes=downtimes)
    except NotAvailable as exc:
        for d in dlqs:
            rec.not_evaluated(d.resource, exc.reason, exc.iam_action or PERMISSION)
        return
    for m in index.unreadable:
        # Its query could not be parsed (malformed, or beyond auditor's size/nesting bounds), or the monitor (a
        # composite's member the listing left out) could not be read: it is not evaluated, and the DLQ verdicts
        # below say they may be missing it.
        where = Resource("datadog", inv.account or "", "", "datadog-monitor", str(m.id), _url(inv, m.id))
        if m.read_error is not None:
            rec.not_evaluated(where, f"Datadog monitor #{m.id}, a member of a composite monitor, {m.parse_error}; "
                              "whether it watches a dead-letter queue is unknown",
                              getattr(m.read_error, "iam_action", "") or PERMISSION, key=UNPARSED_MONITOR_KEY)
            continue
        rec.not_evaluated(
            where,
            f"Datadog monitor #{m.id} '{m.name[:80]}' queries an SQS metric but its query cannot be read "
            f"({m.parse_error}), so whether it watches a dead-letter queue is unknown",
            key=UNPARSED_MONITOR_KEY,
        )
    regions_of: dict[str, set[str]] = defaultdict(set)
    for d in dlqs:
        regions_of[d.name.lower()].add(d.region)
    for d in dlqs:
        others = sorted(regions_of[d.name.lower()] - {d.region})
        yield d, index.coverage(d.target, others)


# -- wording ------------------------------------------------------------------------------------------------

def _url(inv: Inventory, monitor_id: Any) -> str:
    return inv.datadog.monitor_url(monitor_id) if monitor_id is not None else ""


def _label(inv: Inventory, m: Match) -> str:
    q = m.query
    text = f"#{m.monitor.id} '{m.monitor.name}'"
    if m.via_composite:
        text += f" (composite over #{m.member.id} '{m.member.name}')"
    text += f" ({q.aggregation}({q.window or '?'}) {q.condition()}, {_url(inv, m.monitor.id)})"
    return text


def _monitor_evidence(inv: Inventory, m: Match) -> dict[str, Any]:
    q = m.query
    ev: dict[str, Any] = {
        "id": m.monitor.id,
        "name": m.monitor.name,
        "url": _url(inv, m.monitor.id),
        "type": m.monitor.type,
        "matched_by": m.how,
        "query": m.member.query,
        "detection": q.detection,
        "window": q.window,
        "comparator": q.comparator,
        "threshold": q.threshold,
        "evaluation_delay": m.evaluation_delay,
        "scope_fully_known": m.certain,
        "muted": m.mute.describe() if m.mute else None,
    }
    if m.via_composite:
        ev["member"] = {"id": m.member.id, "name": m.member.name, "url": _url(inv, m.member.id)}
    if q.shift:
        ev["compared_with"] = q.shift
    if m.member.renotify_interval:
        ev["renotify_interval_min"] = m.member.renotify_interval
    return ev


def _evidence(inv: Inventory, d: Dlq, cov: Coverage, matches: list[Match] | None = None) -> dict[str, Any]:
    ev: dict[str, Any] = {
        "dlq": d.arn,
        "source_queues": list(d.sources),
        "datadog_site": inv.datadog.settings.site,
        "monitors": [_monitor_evidence(inv, m) for m in (cov.matches if matches is None else matches)],
    }
    if cov.same_name_regions:
        ev["same_name_in_regions"] = list(cov.same_name_regions)
    if cov.non_covering:
        ev["monitors_that_do_not_count"] = [
            {"id": n.monitor.id, "name": n.monitor.name, "url": _url(inv, n.monitor.id), "query": n.monitor.query,
             "metric": n.term.metric, "why": n.why}
            for n in cov.non_covering
        ]
    if cov.unreadable:
        ev["unreadable_sqs_monitors"] = [
            {"id": m.id, "name": m.name, "url": _url(inv, m.id), "error": m.parse_error} for m in cov.unreadable
        ]
    return ev


def _confidence(cov: Coverage) -> Confidence | None:
    """Medium when a match depends on tags auditor cannot see."""
    return None if cov.certain else Confidence.MEDIUM


def _undetermined(rec: Recorder, d: Dlq, cov: Coverage, what: str) -> bool:
    """Record ``d`` as not evaluated when a monitor that could not be read may watch it and would change the
    verdict ``what``; True when it did."""
    if not cov.maybe:
        return False
    ids = ", ".join(f"#{m.id} ({m.parse_error})" for m in cov.maybe[:3])
    more = f" and {len(cov.maybe) - 3} more" if len(cov.maybe) > 3 else ""
    action = next((getattr(m.read_error, "iam_action", "") for m in cov.maybe if m.read_error is not None), "")
    rec.not_evaluated(d.resource, f"{what} depends on monitor(s) that may watch {d.name} but could not be read: "
                      f"{ids}{more}", action or ("" if not any(m.read_error for m in cov.maybe) else PERMISSION))
    return True


# -- DD-1 -----------------------------------------------------------------------------------------------------

@check(
    id="datadog-dlq/no-monitor",
    rule="DD-1",
    title="Dead-letter queue has no Datadog monitor",
    severity=Severity.HIGH,
    description=(
        "No Datadog metric monitor selects this dead-letter queue: none queries "
        "aws.sqs.approximate_number_of_messages_visible with a queuename scope (exact, wildcard or a by "
        "{queuename} multi-alert) that includes it, directly or through a composite. A monitor on "
        "aws.sqs.number_of_messages_sent does not count: that metric counts only messages sent to the queue "
        "directly, not those SQS moves to the DLQ after failed processing, so it never fires for them; the "
        "finding names such monitors (and ones on messages received or deleted) and says why."
    ),
    risk="Messages that fail processing pile up in the DLQ unnoticed until they expire.",
    remediation=(
        "Create a Change Alert on aws.sqs.approximate_number_of_messages_visible{queuename:<dlq>} that fires "
        "on an increase (> 0), with a window of 15 minutes or more and an evaluation_delay, and route it to "
        "the owning team."
    ),
    terraform=_TERRAFORM,
    docs=(CHANGE_ALERT_DOC, SQS_INTEGRATION_DOC, SQS_DLQ_DOC),
    requires=_REQUIRES,
)
def no_monitor(inv: Inventory, rec: Recorder) -> None:
    for d, cov in coverages(inv, rec):
        ev = _evidence(inv, d, cov)
        if not cov.covered and _undetermined(rec, d, cov, "whether it has a monitor"):
            continue
        if not cov.covered:
            note = ""
            if cov.non_covering:
                note += "".join(
                    f" Monitor #{n.monitor.id} '{n.monitor.name}' ({_url(inv, n.monitor.id)}) watches "
                    f"{n.term.metric} of it but does not count: {n.why}, so it never fires for the failed "
                    "messages."
                    for n in cov.non_covering[:3]
                )
                if len(cov.non_covering) > 3:
                    note += f" ({len(cov.non_covering) - 3} more such monitor(s) in the evidence.)"
            rec.fail(
                d.resource,
                f"Dead-letter queue {d.label} in {d.region} has no Datadog monitor: no monitor on "
                f"{' or '.join(sorted(DLQ_METRICS))} selects queuename:{d.name.lower()}, so failed messages "
                f"land there unnoticed.{note}",
                evidence=ev,
            )
        else:
            names = "; ".join(_label(inv, m) for m in cov.matches)
            rec.ok(d.resource, f"{d.name} is watched by {names}", evidence=ev)


# -- DD-2 -----------------------------------------------------------------------------------------------------

@check(
    id="datadog-dlq/threshold-only",
    rule="DD-2",
    title="Dead-letter queue is watched only by threshold monitors",
    severity=Severity.MEDIUM,
    description=(
        "Every monitor that watches this dead-letter queue uses threshold detection (e.g. "
        "max(last_5m):…{queuename:x} > 0) rather than a Change Alert (change(…)/pct_change(…))."
    ),
    risk=(
        "A threshold monitor stays in alert for as long as old messages remain in the DLQ, so new failures "
        "during that time raise nothing — or it renotifies until people mute it."
    ),
    remediation=(
        "Use a Change Alert that fires when the number of visible messages increases: "
        "change(avg(last_15m),last_15m):max:aws.sqs.approximate_number_of_messages_visible{queuename:<dlq>} > 0."
    ),
    terraform=_TERRAFORM,
    docs=(CHANGE_ALERT_DOC, METRIC_MONITOR_DOC),
    requires=_REQUIRES,
)
def threshold_only(inv: Inventory, rec: Recorder) -> None:
    for d, cov in coverages(inv, rec):
        if not cov.covered:
            _undetermined(rec, d, cov, "which monitors watch it")  # else DD-1's finding
            continue
        ev = _evidence(inv, d, cov)
        if cov.threshold_only and _undetermined(rec, d, cov, "whether only threshold monitors watch it"):
            continue
        if cov.threshold_only:
            names = "; ".join(_label(inv, m) for m in cov.matches)
            renotify = [m for m in cov.matches if m.member.renotify_interval]
            nag = (f" (it renotifies every {renotify[0].member.renotify_interval} min instead)" if renotify else "")
            rec.fail(
                d.resource,
                f"Dead-letter queue {d.label} is watched only by threshold monitors: {names}. A threshold "
                f"monitor stays in alert while old messages remain in the DLQ, so new failures raise nothing"
                f"{nag}; use a Change Alert.",
                confidence=_confidence(cov),
                evidence=ev,
            )
        else:
            better = [m for m in cov.matches if m.detection != "threshold"]
            rec.ok(d.resource, f"{d.name} is watched with {better[0].query.method} by #{better[0].monitor.id}",
                   evidence=ev)


# -- DD-3 -----------------------------------------------------------------------------------------------------

@check(
    id="datadog-dlq/change-monitor-misconfigured",
    rule="DD-3",
    title="Change monitor on a dead-letter queue may not fire on new messages",
    severity=Severity.LOW,
    description=(
        "A change monitor watching a dead-letter queue alerts on a decrease (< 0, <= 0) or on no change at all, "
        "or evaluates a window of 10 minutes or less without evaluation_delay while Datadog crawls CloudWatch "
        "about every 10 minutes."
    ),
    risk="The DLQ receives messages and the monitor stays silent, or it is permanently in alert.",
    remediation=(
        "Alert on an increase (change(…) > 0) over a window longer than 10 minutes, or set evaluation_delay "
        "(e.g. 900 s) so the CloudWatch data has arrived when the monitor evaluates."
    ),
    terraform=_TERRAFORM,
    docs=(CHANGE_ALERT_DOC, SQS_INTEGRATION_DOC),
    requires=_REQUIRES,
)
def change_misconfigured(inv: Inventory, rec: Recorder) -> None:
    for d, cov in coverages(inv, rec):
        if not cov.covered and _undetermined(rec, d, cov, "which change monitors watch it"):
            continue
        seen: set[Any] = set()
        for m in cov.matches:
            if not m.query.is_change or m.member.id in seen:
                continue
            seen.add(m.member.id)
            ev = _evidence(inv, d, cov, [m])
            key = str(m.member.id)
            problems = change_problems(m.query, m.evaluation_delay)
            if problems:
                rec.fail(
                    d.resource,
                    f"Change monitor #{m.member.id} '{m.member.name}' on dead-letter queue {d.name} may not fire "
                    f"when messages arrive: {'; and '.join(problems)} ({_url(inv, m.member.id)}).",
                    confidence=None if m.certain else Confidence.MEDIUM,
                    evidence=ev,
                    key=key,
                )
            else:
                rec.ok(d.resource, f"{d.name}: #{m.member.id} alerts on {m.query.detection} "
                       f"{m.query.condition()} over {m.query.window}", evidence=ev, key=key)


# -- DD-4 -----------------------------------------------------------------------------------------------------

@check(
    id="datadog-dlq/only-monitor-muted",
    rule="DD-4",
    title="Every monitor watching a dead-letter queue is muted",
    severity=Severity.LOW,
    description=(
        "The dead-letter queue is covered, but every monitor that watches it is muted (options.silenced) or in "
        "an active downtime whose scope includes the queue. A muted member of an unmuted composite does not count. "
        "When the active downtimes cannot be listed (monitors_downtime permission), a queue whose monitors are "
        "not known to be muted is not evaluated rather than passed."
    ),
    risk="Failures reach the DLQ and nobody is notified; mutes without an end are easily forgotten.",
    remediation="End the downtime or unmute the monitor, or give the downtime an end date.",
    docs=(DOWNTIME_DOC, COMPOSITE_DOC),
    requires=(*_REQUIRES, "datadog.downtimes"),
)
def only_monitor_muted(inv: Inventory, rec: Recorder) -> None:
    for d, cov in coverages(inv, rec, downtimes=True):
        if not cov.covered:
            _undetermined(rec, d, cov, "which monitors watch it")
            continue
        ev = _evidence(inv, d, cov)
        if cov.all_muted and _undetermined(rec, d, cov, "whether every monitor watching it is muted"):
            continue
        if cov.all_muted:
            parts = "; ".join(f"{_label(inv, m)} is {m.mute.describe()}" for m in cov.matches if m.mute)
            certain = cov.certain and all(m.mute.certain for m in cov.matches if m.mute)
            rec.fail(
                d.resource,
                f"Every monitor watching dead-letter queue {d.label} is muted: {parts}.",
                confidence=None if certain else Confidence.MEDIUM,
                evidence=ev,
            )
        elif cov.downtimes_error is not None:
            # Known mutes do not silence every monitor, but a downtime the listing did not return may.
            exc = cov.downtimes_error
            live = ", ".join(f"#{m.monitor.id}" for m in cov.matches if m.mute is None)
            rec.not_evaluated(
                d.resource,
                f"active downtimes could not be listed ({getattr(exc, 'reason', exc)}), so whether {live} "
                "watching it is muted is unknown",
                getattr(exc, "iam_action", "") or DOWNTIME_PERMISSION,
            )
        else:
            live = [m for m in cov.matches if m.mute is None]
            rec.ok(d.resource, f"{d.name}: #{live[0].monitor.id} '{live[0].monitor.name}' is not muted", evidence=ev)
