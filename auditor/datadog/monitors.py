"""Monitors and downtimes as auditor reads them: tolerant of missing or odd fields, parsed once.

Built from the API's JSON (``GET /api/v1/monitor``, ``GET /api/v2/downtime``), never from the client's
models, so one monitor with an unexpected shape cannot make the whole listing unreadable.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from .query import (
    CompositeMember,
    MetricQuery,
    QueryError,
    Tri,
    parse_composite,
    parse_metric_query,
    parse_scope,
)

METRIC_TYPES = frozenset({"query alert", "metric alert"})
COMPOSITE_TYPE = "composite"


def _ts(value: Any) -> dt.datetime | None:
    """Epoch seconds or ISO-8601 → aware datetime; anything else → None."""
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        try:
            return dt.datetime.fromtimestamp(float(value), dt.UTC)
        except (OverflowError, OSError, ValueError):
            return None
    if isinstance(value, str):
        text = value.strip().replace("Z", "+00:00")
        try:
            parsed = dt.datetime.fromisoformat(text)
        except ValueError:
            return None
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)
    return None


def _short_error(exc: Exception, limit: int = 300) -> str:
    """A parse error for reports: errors quote the query, which may be long."""
    text = str(exc) if isinstance(exc, QueryError) else f"the query nests too deeply ({type(exc).__name__})"
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _str(value: Any) -> str:
    return value if isinstance(value, str) else ("" if value is None else str(value))


def _strs(value: Any) -> tuple[str, ...]:
    if isinstance(value, str):
        return (value,)
    if isinstance(value, (list, tuple)):
        return tuple(str(v) for v in value if v is not None)
    return ()


@dataclass(frozen=True)
class Mute:
    """Why a monitor is silent for one resource."""

    how: str  # "downtime 'reason' (id …)", "muted (options.silenced)"…
    until: dt.datetime | None = None
    certain: bool = True  # False when the mute's scope depends on tags auditor cannot see

    def describe(self) -> str:
        until = f" until {self.until:%Y-%m-%d %H:%M} UTC" if self.until else " with no end"
        return f"{self.how}{until}" + ("" if self.certain else " (its scope may cover this queue)")


@dataclass(frozen=True)
class Downtime:
    id: str
    scope: str  # tag filter; "*" for everything
    monitor_id: int | None = None
    monitor_tags: tuple[str, ...] = ()
    start: dt.datetime | None = None
    end: dt.datetime | None = None
    status: str = ""  # v2: active | scheduled | ended | canceled; "" when unknown
    message: str = ""
    canceled: bool = False

    @classmethod
    def from_v2(cls, item: Mapping[str, Any]) -> Downtime | None:
        """One element of ``data`` in ``GET /api/v2/downtime``."""
        if not isinstance(item, Mapping):
            return None
        attrs = item.get("attributes") if isinstance(item.get("attributes"), Mapping) else {}
        ident = attrs.get("monitor_identifier") if isinstance(attrs.get("monitor_identifier"), Mapping) else {}
        schedule = attrs.get("schedule") if isinstance(attrs.get("schedule"), Mapping) else {}
        current = schedule.get("current_downtime") if isinstance(schedule.get("current_downtime"), Mapping) else None
        window = current or schedule
        return cls(
            id=_str(item.get("id")),
            scope=_str(attrs.get("scope")) or "*",
            monitor_id=_int(ident.get("monitor_id")),
            monitor_tags=_strs(ident.get("monitor_tags")),
            start=_ts(window.get("start")),
            end=_ts(window.get("end")),
            status=_str(attrs.get("status")).lower(),
            message=_str(attrs.get("message")),
            canceled=attrs.get("canceled") is not None,
        )

    @classmethod
    def from_matching(cls, item: Mapping[str, Any], monitor_id: int | None) -> Downtime | None:
        """One element of a monitor's ``matching_downtimes`` (``with_downtimes=true``)."""
        if not isinstance(item, Mapping):
            return None
        scopes = [s for s in _strs(item.get("scope")) if s.strip()]
        return cls(
            id=_str(item.get("id")),
            scope=" AND ".join(f"({s})" for s in scopes) if scopes and scopes != ["*"] else "*",
            monitor_id=monitor_id,
            start=_ts(item.get("start")),
            end=_ts(item.get("end")),
            status="",
        )

    def active(self, now: dt.datetime) -> bool:
        if self.canceled or self.status in ("ended", "canceled", "scheduled"):
            return False
        if self.status == "active":
            return True
        if self.start and self.start > now:
            return False
        return not (self.end and self.end <= now)

    def targets(self, monitor: Monitor) -> bool:
        if self.monitor_id is not None:
            return self.monitor_id == monitor.id
        if self.monitor_tags:
            if "*" in self.monitor_tags:
                return True
            have = {t.lower() for t in monitor.tags}
            return all(t.lower() in have for t in self.monitor_tags)
        return False

    def covers(self, tags: Mapping[str, str]) -> Tri:
        try:
            return parse_scope(self.scope).evaluate(tags)
        except QueryError:
            return None

    def label(self) -> str:
        text = f"downtime {self.id}" if self.id else "a downtime"
        if self.message.strip():
            first = self.message.strip().splitlines()[0][:80]
            text += f" ({first!r})"
        if self.scope not in ("*", ""):
            text += f" scoped to {self.scope}"
        return text


@dataclass(frozen=True)
class Monitor:
    id: int | None
    name: str
    type: str
    query: str
    message: str = ""
    tags: tuple[str, ...] = ()
    options: Mapping[str, Any] = field(default_factory=dict, compare=False, hash=False, repr=False)
    overall_state: str = ""
    multi: bool = False
    deleted: bool = False
    matching_downtimes: tuple[Downtime, ...] = field(default=(), compare=False, hash=False, repr=False)
    parsed: MetricQuery | None = field(default=None, compare=False, hash=False, repr=False)
    parse_error: str = ""
    members: tuple[CompositeMember, ...] = ()
    #: Set on a stand-in for a composite's member that could not be read (GetMonitor denied or failing): its
    #: query, so what it watches, is unknown.
    read_error: Any = field(default=None, compare=False, hash=False, repr=False)

    @classmethod
    def unreadable(cls, monitor_id: int, error: Any) -> Monitor:
        reason = getattr(error, "reason", str(error))
        return cls(id=monitor_id, name=f"monitor {monitor_id}", type="unknown", query="",
                   parse_error=f"it could not be read: {reason}", read_error=error)

    @classmethod
    def from_api(cls, data: Mapping[str, Any]) -> Monitor:
        mid = _int(data.get("id"))
        mtype = _str(data.get("type")).strip().lower()
        query = _str(data.get("query"))
        options = data.get("options") if isinstance(data.get("options"), Mapping) else {}
        parsed, error, members = None, "", ()
        # The parsers bound size and nesting (QueryError); RecursionError is a last guard: one monitor's query
        # is that monitor's problem, never the whole listing's.
        if mtype in METRIC_TYPES:
            try:
                parsed = parse_metric_query(query)
            except (QueryError, RecursionError) as exc:
                error = _short_error(exc)
        elif mtype == COMPOSITE_TYPE:
            try:
                members = tuple(parse_composite(query))
            except (QueryError, RecursionError) as exc:
                error = _short_error(exc)
        raw_downtimes = data.get("matching_downtimes")
        raw_downtimes = raw_downtimes if isinstance(raw_downtimes, list) else []
        downtimes = tuple(d for d in (Downtime.from_matching(x, mid) for x in raw_downtimes) if d is not None)
        return cls(
            id=mid,
            name=_str(data.get("name")) or f"monitor {mid}",
            type=mtype,
            query=query,
            message=_str(data.get("message")),
            tags=_strs(data.get("tags")),
            options=dict(options),
            overall_state=_str(data.get("overall_state")),
            multi=bool(data.get("multi")),
            deleted=data.get("deleted") not in (None, False, ""),
            matching_downtimes=downtimes,
            parsed=parsed,
            parse_error=error,
            members=members,
        )

    @property
    def is_metric(self) -> bool:
        return self.type in METRIC_TYPES

    @property
    def is_composite(self) -> bool:
        return self.type == COMPOSITE_TYPE

    @property
    def evaluation_delay(self) -> int | None:
        return _int(self.options.get("evaluation_delay"))

    @property
    def renotify_interval(self) -> int | None:
        return _int(self.options.get("renotify_interval"))

    def silences(self, now: dt.datetime) -> list[tuple[str, dt.datetime | None]]:
        """Active ``options.silenced`` entries: (scope, until or None for indefinitely)."""
        silenced = self.options.get("silenced")
        if not isinstance(silenced, Mapping):
            return []
        out = []
        for scope, until in silenced.items():
            end = _ts(until)
            if until is None or (end is not None and end > now):
                out.append((str(scope), end))
        return out

    def mute_for(self, tags: Mapping[str, str], downtimes: list[Downtime], now: dt.datetime) -> Mute | None:
        """Whether this monitor is silent for a resource carrying ``tags`` at ``now``.

        Sources: ``options.silenced`` (the v1 mute), the monitor's ``matching_downtimes`` and active v2
        downtimes that target it by id or by monitor tags. A scope that excludes the resource does not count.
        """
        possible: Mute | None = None
        for scope, until in self.silences(now):
            try:
                hit = parse_scope("*" if scope.strip() == "*" else scope).evaluate(tags)
            except QueryError:
                hit = None
            where = "" if scope.strip() == "*" else f" for {scope}"
            if hit is True:
                return Mute(f"muted{where} (options.silenced)", until)
            if hit is None and possible is None:
                possible = Mute(f"muted{where} (options.silenced)", until, certain=False)
        # v2 downtimes first: they carry the message; matching_downtimes (with_downtimes=true) back them up.
        candidates = [d for d in downtimes if d.targets(self)] + list(self.matching_downtimes)
        for d in candidates:
            if not d.active(now):
                continue
            hit = d.covers(tags)
            if hit is True:
                return Mute(f"in {d.label()}", d.end)
            if hit is None and possible is None:
                possible = Mute(f"in {d.label()}", d.end, certain=False)
        return possible
