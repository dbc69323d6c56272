"""Datadog as the checks see it: monitors (with composite members resolved) and active downtimes.

Fetched lazily, once per scan, through :class:`auditor.datadog.client.DatadogClient`; every API call is
counted in the scan's :class:`~auditor.inventory.core.CallStats` as ``datadog:<Operation>``. Anything that
cannot be read — no keys, 401/403, rate limits or 5xx beyond the retry budget, timeouts — raises
:class:`~auditor.inventory.core.NotAvailable` with ``iam_action="monitors_read"``, which the checks turn
into "not evaluated" while the AWS checks carry on.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
import time
from collections.abc import Callable
from typing import TypeVar

from ..datadog.client import PERMISSION, DatadogClient, permission_for
from ..datadog.coverage import MonitorIndex
from ..datadog.monitors import Downtime, Monitor
from ..datadog.settings import DatadogSettings, DatadogTuning
from ..redact import register_secret, scrub
from .core import CallStats, Memo, NotAvailable, capture

T = TypeVar("T")
log = logging.getLogger("auditor.datadog")

__all__ = ["DatadogSettings", "DatadogTuning", "DatadogInventory", "PERMISSION"]


def _guard(op: str, loader: Callable[[], T]) -> Callable[[], T]:
    """Make any failure of ``loader`` a NotAvailable, so a surprise in Datadog's data never stops the scan."""

    def run() -> T:
        try:
            return loader()
        except NotAvailable:
            raise
        except Exception as exc:  # noqa: BLE001
            log.debug("reading Datadog (%s) failed", op, exc_info=True)
            raise NotAvailable(f"{op}: could not read Datadog's answer ({type(exc).__name__}: "
                               f"{scrub(str(exc))[:160]})", permission_for(op)) from None

    return run


class DatadogInventory:
    def __init__(
        self,
        settings: DatadogSettings,
        *,
        stats: CallStats | None = None,
        sleep: Callable[[float], None] = time.sleep,
        now: dt.datetime | None = None,
    ) -> None:
        self.settings = settings
        self.stats = stats or CallStats()
        self.memo = Memo()
        self.now = now
        self._sleep = sleep
        self._client: DatadogClient | None = None
        self._lock = threading.Lock()
        self.downtimes_error: NotAvailable | None = None
        register_secret(settings.api_key)
        register_secret(settings.app_key)

    # -- plumbing -----------------------------------------------------------------------------------------
    @property
    def configured(self) -> bool:
        return self.settings.configured

    def _api(self) -> DatadogClient:
        if not self.settings.configured:
            raise NotAvailable(self.settings.reason, PERMISSION, kind="not-configured")
        with self._lock:
            if self._client is None:
                self._client = DatadogClient(self.settings, stats=self.stats, sleep=self._sleep)
            return self._client

    def close(self) -> None:
        with self._lock:
            if self._client is not None:
                self._client.close()
                self._client = None
        self.memo = Memo()  # what was read goes with the scan (see Inventory.close)

    def monitor_url(self, monitor_id: int | str | None) -> str:
        return self.settings.monitor_url(monitor_id) if monitor_id is not None else ""

    # -- listings (prefetch keys "datadog.monitors", "datadog.downtimes") -----------------------------------
    def raw_monitors(self) -> list[dict]:
        """The listing as Datadog answers it: read once for :meth:`monitors`, which keeps what it needs of it
        (not memoised: 2,000 monitors' JSON is 4 MB)."""
        return _guard("ListMonitors", lambda: self._api().list_monitors())()

    def monitors(self) -> list[Monitor]:
        """Every monitor of the organisation, plus composite members the listing did not return."""
        return self.memo.get("monitors", _guard("ListMonitors", self._load_monitors))

    def _load_monitors(self) -> list[Monitor]:
        listed = [Monitor.from_api(m) for m in self.raw_monitors()]
        known = {m.id for m in listed if m.id is not None}
        missing = sorted(
            {member.monitor_id for m in listed if m.is_composite for member in m.members} - known
        )
        extra = []
        for mid in missing:
            got = capture(lambda mid=mid: self.monitor(mid))
            if isinstance(got, NotAvailable):  # what it watches is unknown: a stand-in says so
                extra.append(Monitor.unreadable(mid, got))
            elif got is not None:
                extra.append(got)
        return listed + extra

    def monitor(self, monitor_id: int) -> Monitor | None:
        """One monitor by id (``GET /api/v1/monitor/{id}``); None when it no longer exists. Raises NotAvailable
        when it cannot be read (denied, throttled…): a monitor that exists but cannot be read is not "none"."""

        def load() -> Monitor | None:
            data = self._api().get_monitor(int(monitor_id))  # a deleted one answers 404: None
            return Monitor.from_api(data) if data else None

        return self.memo.get(("monitor", int(monitor_id)), _guard("GetMonitor", load))

    def downtimes(self) -> list[Downtime]:
        """Active downtimes (v2)."""
        return self.memo.get("downtimes", _guard("ListDowntimes", lambda: [
            d for d in (Downtime.from_v2(x) for x in self._api().list_downtimes()) if d is not None
        ]))

    def validate(self) -> bool | None:
        """Whether Datadog accepts the API key (``GET /api/v1/validate``)."""
        return self._api().api_key_valid()

    # -- derived ------------------------------------------------------------------------------------------
    def index(self, *, downtimes: bool = True) -> MonitorIndex:
        """Monitors (and, with ``downtimes``, active downtimes) joined for coverage questions. Raises
        NotAvailable if monitors cannot be read.

        Coverage does not depend on mutes, so only the verdicts that depend on a monitor *not* being muted (DD-4)
        ask for downtimes. A failure to list them does not fail the index, but it is remembered in
        :attr:`downtimes_error` and on the index: those verdicts are then not evaluated, never passed. Without
        ``downtimes``, mutes come from the monitors' own fields only (``silenced``, ``matching_downtimes``).
        """

        def load() -> MonitorIndex:
            monitors = self.monitors()
            if not downtimes:
                return MonitorIndex(monitors, [], now=self.now)
            try:
                listed = self.downtimes()
            except NotAvailable as exc:
                self.downtimes_error = exc
                return MonitorIndex(monitors, [], now=self.now, downtimes_error=exc)
            return MonitorIndex(monitors, listed, now=self.now)

        return self.memo.get(("index", downtimes), load)
