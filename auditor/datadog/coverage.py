"""Which Datadog monitors watch a given SQS queue, and how (check-rules.md §6).

A monitor watches a queue when one of its metric terms

* uses ``aws.sqs.approximate_number_of_messages_visible`` — the metric that rises when SQS moves a message
  into a dead-letter queue after failed processing — and
* selects the queue: its scope evaluates to true (or "depends on tags auditor cannot see") for the queue's
  tags ``queuename`` (lowercase, as Datadog stores tags), ``region`` and ``aws_account``, and it either names
  ``queuename`` in a non-negated term (exact or wildcard) or is a multi-alert ``by {queuename}``.

A composite monitor watches the queue when a member it does not negate does. Mutes are judged per monitor
(a muted member does not silence its composite).

Monitors on SQS metrics that such a move does not change (:data:`NON_COVERING_METRICS`, first of all
``aws.sqs.number_of_messages_sent``, which counts only messages sent to the queue directly) look like coverage
and are not: they are reported as :attr:`Coverage.non_covering`, never as matches.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field

from .monitors import Downtime, Monitor, Mute
from .query import MetricQuery, MetricTerm

#: The metric a DLQ monitor must watch: it rises when SQS moves a message in after failed processing.
DLQ_METRICS = frozenset({
    "aws.sqs.approximate_number_of_messages_visible",
})

#: SQS metrics of a queue that do not move when SQS moves a failed message into it (metric → why). A monitor on
#: one of them never fires for the failures a DLQ collects ("Using dead-letter queues in Amazon SQS").
NON_COVERING_METRICS = {
    "aws.sqs.number_of_messages_sent": (
        "NumberOfMessagesSent counts only messages sent to the queue directly, not the messages SQS moves "
        "there after failed processing"
    ),
    "aws.sqs.number_of_messages_received": (
        "NumberOfMessagesReceived counts messages consumers receive from the queue, not messages moved into it"
    ),
    "aws.sqs.number_of_messages_deleted": (
        "NumberOfMessagesDeleted counts messages deleted from the queue, not messages moved into it"
    ),
}

#: Datadog crawls CloudWatch metrics about every 10 minutes.
CRAWL_INTERVAL_S = 600


@dataclass(frozen=True)
class QueueTarget:
    name: str
    region: str
    account: str

    def tags(self) -> dict[str, str]:
        tags = {"queuename": self.name.lower(), "region": self.region.lower()}
        if self.account:
            tags["aws_account"] = self.account
        return tags


@dataclass(frozen=True)
class Match:
    monitor: Monitor  # the monitor that notifies: the metric monitor itself, or a composite over it
    member: Monitor  # the metric monitor whose query selects the queue
    term: MetricTerm
    how: str  # "scope {queuename:orders-dlq}", "multi-alert by {queuename} over {*}"
    certain: bool  # False when the scope also depends on tags auditor cannot see (env:…)
    mute: Mute | None = None

    @property
    def via_composite(self) -> bool:
        return self.monitor is not self.member

    @property
    def query(self) -> MetricQuery:
        assert self.member.parsed is not None
        return self.member.parsed

    @property
    def detection(self) -> str:
        return self.query.detection

    @property
    def evaluation_delay(self) -> int | None:
        return self.member.evaluation_delay


@dataclass(frozen=True)
class NonCovering:
    """A monitor that selects the queue on a metric that failed messages do not move."""

    monitor: Monitor
    term: MetricTerm
    how: str

    @property
    def why(self) -> str:
        return NON_COVERING_METRICS[self.term.metric]


@dataclass
class Coverage:
    target: QueueTarget
    matches: list[Match] = field(default_factory=list)
    non_covering: list[NonCovering] = field(default_factory=list)  # look like coverage, are not
    unreadable: list[Monitor] = field(default_factory=list)  # SQS metric monitors whose query could not be parsed
    #: Unreadable monitors that may watch this queue (a composite's member that could not be read, or a query
    #: that could not be parsed but names the queue, a wildcard or a group-by): a verdict that their coverage
    #: would change is not determinable.
    maybe: list[Monitor] = field(default_factory=list)
    same_name_regions: tuple[str, ...] = ()  # other scanned regions with a DLQ of the same name
    downtimes_error: Exception | None = None  # active downtimes could not be listed: more mutes may exist

    @property
    def covered(self) -> bool:
        return bool(self.matches)

    @property
    def threshold_only(self) -> bool:
        return bool(self.matches) and all(m.detection == "threshold" for m in self.matches)

    @property
    def all_muted(self) -> bool:
        return bool(self.matches) and all(m.mute is not None for m in self.matches)

    @property
    def certain(self) -> bool:
        return all(m.certain for m in self.matches)


def change_problems(query: MetricQuery, evaluation_delay: int | None) -> list[str]:
    """DD-3: why a change monitor may not fire when messages arrive in a DLQ. Empty when it will."""
    problems = []
    if query.comparator in ("<", "<="):
        problems.append(
            f"it alerts on a decrease ({query.detection} {query.condition()}); messages arriving in the DLQ "
            "raise the value, so it never fires for them"
        )
    elif (query.comparator == ">" and query.threshold < 0) or (query.comparator == ">=" and query.threshold <= 0):
        problems.append(
            f"its condition ({query.detection} {query.condition()}) also holds when nothing changes, so it stays "
            "in alert and a new failure raises nothing"
        )
    if query.window_s is not None and query.window_s <= CRAWL_INTERVAL_S and not evaluation_delay:
        problems.append(
            f"its {query.window} window is not longer than the ~10-minute interval at which Datadog crawls "
            "CloudWatch and it has no evaluation_delay, so the increase can fall outside every evaluation"
        )
    return problems


def _may_watch(monitor: Monitor, target: QueueTarget) -> bool:
    if monitor.read_error is not None:
        return True
    q = monitor.query.lower()
    return target.name.lower() in q or "*" in q or " by " in q or "by{" in q


class _ByQueueName:
    """Monitors (in their order) indexed by the queue names their terms on ``metrics`` can select.

    A term whose scope is ``False`` for every queue but a few named exactly (``queuename:orders-dlq``, with
    or without other tags) is filed under those names; a monitor with a term that may select any queue (a
    wildcard, a negation, ``by {queuename}``) is kept aside and tried for every queue. :meth:`candidates` is
    then every monitor :meth:`MonitorIndex.selects` could accept for a queue, in the original order, found
    by a dict lookup instead of a test of every monitor.
    """

    def __init__(self, monitors: list[Monitor], metrics: Iterable[str]) -> None:
        self.monitors = monitors
        self.by_name: dict[str, list[int]] = {}
        self.anywhere: list[int] = []
        for pos, m in enumerate(monitors):
            names: set[str] = set()
            for term in m.parsed.terms if m.parsed is not None else ():
                if term.metric not in metrics or not (term.groups_by("queuename")
                                                      or term.scope.selects_key("queuename")):
                    continue  # selects() never accepts this term
                only = None if term.groups_by("queuename") else term.scope.only_values("queuename")
                if only is None:
                    names = set()
                    self.anywhere.append(pos)
                    break
                names |= only
            else:
                for name in names:
                    self.by_name.setdefault(name, []).append(pos)

    def candidates(self, queue_name: str) -> list[Monitor]:
        exact = self.by_name.get(queue_name.lower(), [])
        if not exact:
            return [self.monitors[i] for i in self.anywhere]
        return [self.monitors[i] for i in sorted({*exact, *self.anywhere})]


class MonitorIndex:
    """All monitors of an organisation, ready to answer "who watches this queue?".

    Each queue's answer is computed once and kept (the DD checks all ask it), and only the monitors that can
    select the queue are tested (:class:`_ByQueueName`): a scan's coverage costs about the number of queues
    plus the number of wildcard and multi-alert monitors, not their product.
    """

    def __init__(
        self,
        monitors: Iterable[Monitor],
        downtimes: Iterable[Downtime] = (),
        *,
        now: dt.datetime | None = None,
        downtimes_error: Exception | None = None,
    ) -> None:
        self.monitors = [m for m in monitors if not m.deleted]
        self.downtimes = list(downtimes)
        self.downtimes_error = downtimes_error  # why the downtimes are incomplete (None: they are complete)
        self.now = now or dt.datetime.now(dt.UTC)
        self.by_id = {m.id: m for m in self.monitors if m.id is not None}
        self.composites_of: dict[int, list[Monitor]] = {}
        for m in self.monitors:
            if m.is_composite:
                for member in m.members:
                    if not member.negated:
                        self.composites_of.setdefault(member.monitor_id, []).append(m)
        self.sqs_monitors = [
            m for m in self.monitors
            if m.is_metric and m.parsed is not None and any(t.metric in DLQ_METRICS for t in m.parsed.terms)
        ]
        self.non_covering_monitors = [
            m for m in self.monitors
            if m.is_metric and m.parsed is not None
            and any(t.metric in NON_COVERING_METRICS for t in m.parsed.terms)
        ]
        # Only to say "some monitors could not be read" — never to decide coverage: SQS metric monitors whose
        # query cannot be parsed, and composite members that could not be read at all.
        self.unreadable = [
            m for m in self.monitors
            if (m.parse_error and m.is_metric and any(metric in m.query.lower() for metric in DLQ_METRICS))
            or m.read_error is not None
        ]
        self._watching = _ByQueueName(self.sqs_monitors, DLQ_METRICS)
        self._not_counting = _ByQueueName(self.non_covering_monitors, NON_COVERING_METRICS)
        self._coverage: dict[tuple[QueueTarget, tuple[str, ...]], Coverage] = {}

    def member_ids_missing(self) -> set[int]:
        """Ids that composites reference but the listing did not return (e.g. restricted monitors)."""
        return {mid for mid in self.composites_of if mid not in self.by_id}

    @staticmethod
    def selects(
        monitor: Monitor, tags: dict[str, str], metrics: Iterable[str] = DLQ_METRICS
    ) -> tuple[MetricTerm, str, bool] | None:
        if monitor.parsed is None:
            return None
        for term in monitor.parsed.terms:
            if term.metric not in metrics:
                continue
            hit = term.scope.evaluate(tags)
            if hit is False:
                continue
            grouped = term.groups_by("queuename")
            named = term.scope.selects_key("queuename")
            if not (grouped or named):
                continue  # e.g. max:…{*} — every queue's backlog in one number, not a DLQ monitor
            scope = "{" + (term.scope_text or "*") + "}"
            how = f"multi-alert by {{{','.join(term.group_by)}}} over {scope}" if grouped else f"scope {scope}"
            return term, how, hit is True
        return None

    def coverage(self, target: QueueTarget, same_name_regions: Iterable[str] = ()) -> Coverage:
        """Who watches ``target`` (computed once per target; treat the result as read-only)."""
        key = (target, tuple(same_name_regions))
        cov = self._coverage.get(key)
        if cov is None:
            cov = self._coverage[key] = self._compute(target, key[1])
        return cov

    def _compute(self, target: QueueTarget, same_name_regions: tuple[str, ...]) -> Coverage:
        tags = target.tags()
        cov = Coverage(target, same_name_regions=same_name_regions, downtimes_error=self.downtimes_error)
        seen: set[tuple[int | None, int | None]] = set()
        for m in self._watching.candidates(target.name):
            sel = self.selects(m, tags)
            if sel is None:
                continue
            term, how, certain = sel
            if (m.id, m.id) not in seen:
                seen.add((m.id, m.id))
                cov.matches.append(Match(m, m, term, how, certain, m.mute_for(tags, self.downtimes, self.now)))
            for comp in self.composites_of.get(m.id, []) if m.id is not None else []:
                if (comp.id, m.id) in seen:
                    continue
                seen.add((comp.id, m.id))
                cov.matches.append(Match(comp, m, term, f"{how} (member of composite {comp.id})", certain,
                                         comp.mute_for(tags, self.downtimes, self.now)))
        matched = {id(x.member) for x in cov.matches}
        for m in self._not_counting.candidates(target.name):
            if id(m) in matched:
                continue  # it also watches the right metric
            sel = self.selects(m, tags, NON_COVERING_METRICS)
            if sel is not None:
                cov.non_covering.append(NonCovering(m, sel[0], sel[1]))
        order = list(NON_COVERING_METRICS)  # number_of_messages_sent, the one that looks most like coverage, first
        cov.non_covering.sort(key=lambda n: (order.index(n.term.metric), n.monitor.id or 0))
        cov.unreadable = list(self.unreadable)
        cov.maybe = [m for m in self.unreadable if _may_watch(m, target)]
        return cov
