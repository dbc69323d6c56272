"""The Datadog inventory against the local API: paging, counting, and every way Datadog can fail."""

from __future__ import annotations

import dataclasses
import time

import pytest

from auditor.demo import seed_datadog
from auditor.demo.datadog_server import DatadogServer, monitor
from auditor.inventory.core import CallStats, NotAvailable, scan_deadline
from auditor.inventory.datadog import DatadogInventory, DatadogSettings

from .conftest import API_KEY, APP_KEY, FAST, inventory_for, settings_for

LISTING = "/api/v1/monitor"


class Sleeps(list):
    """A sleep() that records instead of sleeping."""

    def __call__(self, seconds: float) -> None:
        self.append(seconds)


def test_monitors_paged_counted_and_cached(dd_server):
    stats = CallStats()
    inv = DatadogInventory(settings_for(dd_server, tuning=dataclasses.replace(FAST, page_size=4)), stats=stats)
    mons = inv.monitors()
    assert len(mons) == len(seed_datadog.monitors())
    assert inv.monitors() is mons and inv.downtimes() is inv.downtimes()
    n = -(-len(mons) // 4) + (1 if len(mons) % 4 == 0 else 0)
    assert stats.calls["datadog:ListMonitors"] == n == dd_server.calls(LISTING)
    assert stats.calls["datadog:ListDowntimes"] == 1
    assert [d.monitor_id for d in inv.downtimes()] == [seed_datadog.INVOICES_DLQ]
    assert all(method == "GET" for method, _, _ in dd_server.requests)


def test_composite_member_outside_the_listing_is_fetched_by_id(dd_server):
    dd_server.unlisted.add(seed_datadog.LEDGER_DLQ_MEMBER)
    stats = CallStats()
    inv = DatadogInventory(settings_for(dd_server), stats=stats)
    ids = {m.id for m in inv.monitors()}
    assert seed_datadog.LEDGER_DLQ_MEMBER in ids
    assert stats.calls["datadog:GetMonitor"] == 1


def test_composite_member_that_no_longer_exists_is_skipped():
    server = DatadogServer([monitor(1, "c", "1 && 999")], api_key=API_KEY, app_key=APP_KEY).start()
    try:
        inv = inventory_for(server)
        assert [m.id for m in inv.monitors()] == [1]
    finally:
        server.stop()


def test_not_configured_is_not_available_without_any_call(dd_server):
    inv = DatadogInventory(DatadogSettings.resolve(environ={"DD_HOST": dd_server.url}))
    with pytest.raises(NotAvailable) as err:
        inv.monitors()
    assert err.value.kind == "not-configured" and "DD_API_KEY and DD_APP_KEY" in err.value.reason
    assert err.value.iam_action == "monitors_read"
    assert dd_server.requests == []


def test_wrong_api_key_is_named(dd_server):
    inv = inventory_for(dd_server, api_key="f" * 32)
    with pytest.raises(NotAvailable) as err:
        inv.monitors()
    assert err.value.kind == "denied"
    assert "rejected the API key" in err.value.reason and "DD_API_KEY" in err.value.reason
    assert dd_server.calls(LISTING) == 1  # never retried
    assert dd_server.calls("/api/v1/validate") == 1


def test_app_key_without_permission_is_named(dd_server):
    inv = inventory_for(dd_server, app_key="e" * 40)
    with pytest.raises(NotAvailable) as err:
        inv.monitors()
    assert err.value.kind == "denied"
    assert "DD_APP_KEY" in err.value.reason and "monitors_read" in err.value.reason
    with pytest.raises(NotAvailable):  # the failure is cached, not retried per caller
        inv.monitors()
    assert dd_server.calls(LISTING) == 1


def test_401(dd_server):
    dd_server.fail(401, times=5, path_prefix=LISTING)
    inv = inventory_for(dd_server)
    with pytest.raises(NotAvailable) as err:
        inv.monitors()
    assert "401 Unauthorized" in err.value.reason and err.value.kind == "denied"
    assert dd_server.calls(LISTING) == 1


def test_429_waits_for_the_rate_limit_reset(dd_server):
    dd_server.fail(429, times=2, path_prefix=LISTING, headers={"X-RateLimit-Reset": "3"})
    sleeps, stats = Sleeps(), CallStats()
    inv = DatadogInventory(settings_for(dd_server), stats=stats, sleep=sleeps)
    assert len(inv.monitors()) == len(seed_datadog.monitors())
    assert sleeps == [3.0, 3.0]
    assert stats.calls["datadog:ListMonitors"] == 3 and stats.retries["datadog:ListMonitors"] == 2


def test_429_really_waits(dd_server):
    dd_server.fail(429, times=1, path_prefix=LISTING, headers={"X-RateLimit-Reset": "1"})
    inv = inventory_for(dd_server)
    started = time.monotonic()
    inv.monitors()
    times = [t for (_, p, _), t in zip(dd_server.requests, dd_server.request_times, strict=True) if p == LISTING]
    assert times[1] - times[0] >= 0.95
    assert time.monotonic() - started < 3


def test_429_beyond_the_wait_cap_gives_up_at_once(dd_server):
    dd_server.fail(429, times=1, path_prefix=LISTING, headers={"X-RateLimit-Reset": "3600"})
    sleeps = Sleeps()
    inv = inventory_for(dd_server, sleep=sleeps)
    with pytest.raises(NotAvailable) as err:
        inv.monitors()
    assert err.value.kind == "throttled"
    assert "resets in 3600s" in err.value.reason and "limit 100 requests per 10s" in err.value.reason
    assert sleeps == []


def test_429_beyond_the_retry_budget(dd_server):
    dd_server.fail(429, times=10, path_prefix=LISTING, headers={"X-RateLimit-Reset": "0"})
    inv = inventory_for(dd_server)
    with pytest.raises(NotAvailable) as err:
        inv.monitors()
    assert err.value.kind == "throttled" and "3 attempt(s)" in err.value.reason
    assert dd_server.calls(LISTING) == FAST.max_retries + 1


def test_5xx_retried_with_backoff_then_succeeds(dd_server):
    dd_server.fail(503, times=2, path_prefix=LISTING)
    sleeps = Sleeps()
    inv = inventory_for(dd_server, sleep=sleeps)
    assert inv.monitors()
    assert sleeps == [FAST.backoff, min(FAST.backoff * 2, FAST.backoff_max)]


def test_5xx_beyond_the_budget_is_not_available(dd_server):
    dd_server.fail(500, times=10, path_prefix=LISTING)
    inv = inventory_for(dd_server)
    with pytest.raises(NotAvailable) as err:
        inv.monitors()
    assert "HTTP 500 on 3 attempt(s)" in err.value.reason
    assert dd_server.calls(LISTING) == 3


def test_slow_api_times_out_then_recovers(dd_server):
    dd_server.slow(1.0, times=1, path_prefix=LISTING)
    inv = inventory_for(dd_server)
    started = time.monotonic()
    assert inv.monitors()
    assert time.monotonic() - started < 1.5
    assert dd_server.calls(LISTING) == 2


def test_slow_api_beyond_the_budget_is_not_available(dd_server):
    dd_server.slow(1.0, times=10, path_prefix=LISTING)
    inv = inventory_for(dd_server)
    started = time.monotonic()
    with pytest.raises(NotAvailable) as err:
        inv.monitors()
    # A timeout is retried once, not max_retries (2) times: a hung API costs two read timeouts.
    assert err.value.kind == "unreachable" and "timed out on 2 attempt(s)" in err.value.reason
    assert dd_server.calls(LISTING) == 2
    assert time.monotonic() - started < 3


def test_no_retry_past_the_scan_deadline(dd_server):
    dd_server.slow(1.0, times=10, path_prefix=LISTING)
    with scan_deadline(0.2), pytest.raises(NotAvailable) as err:
        inventory_for(dd_server).monitors()  # the first attempt times out at 0.4 s, past the deadline
    assert err.value.kind == "deadline" and "scan deadline of 0.2s reached" in err.value.reason
    assert dd_server.calls(LISTING) == 1


def test_no_rate_limit_wait_past_the_scan_deadline(dd_server):
    dd_server.fail(429, times=1, path_prefix=LISTING, headers={"X-RateLimit-Reset": "3"})
    sleeps = Sleeps()
    with scan_deadline(1.0), pytest.raises(NotAvailable) as err:
        inventory_for(dd_server, sleep=sleeps).monitors()  # a 3 s wait would end past the deadline
    assert err.value.kind == "deadline" and sleeps == []


def test_nothing_listening():
    server = DatadogServer().start()
    url = server.url
    server.stop()
    inv = DatadogInventory(DatadogSettings.resolve(environ={"DD_HOST": url, "DD_API_KEY": API_KEY,
                                                            "DD_APP_KEY": APP_KEY}, tuning=FAST))
    with pytest.raises(NotAvailable) as err:
        inv.monitors()
    assert err.value.kind == "unreachable"


def test_downtimes_failure_does_not_fail_the_index(dd_server):
    dd_server.fail(403, times=1, path_prefix="/api/v2/downtime")
    inv = inventory_for(dd_server)
    index = inv.index()
    assert index.monitors and index.downtimes == []
    assert inv.downtimes_error is not None and "403" in inv.downtimes_error.reason
    # GET /api/v2/downtime needs its own permission: the reason and the action name it, not monitors_read
    assert inv.downtimes_error.iam_action == "monitors_downtime" and "monitors_downtime" in inv.downtimes_error.reason
    assert index.downtimes_error is inv.downtimes_error


def test_malformed_monitors_do_not_break_the_listing():
    odd = [
        monitor(1, "bad date", "avg(last_5m):max:aws.sqs.approximate_number_of_messages_visible{queuename:a} > 0",
                created="not a date", options="oops", tags="single"),
        {"id": 2, "type": "brand new alert", "query": "whatever"},
        {"name": "no id at all"},
        "not even an object",
    ]
    server = DatadogServer(odd, api_key=API_KEY, app_key=APP_KEY).start()
    try:
        mons = inventory_for(server).monitors()
    finally:
        server.stop()
    assert [m.id for m in mons] == [1, 2, None]
    assert mons[0].parsed is not None and mons[0].tags == ("single",) and mons[0].options == {}


def test_monitors_are_listed_with_the_largest_page_by_default():
    """1001 monitors take two ListMonitors calls of page_size=1000, not eleven of 100."""
    from auditor.datadog.settings import DatadogTuning

    assert DatadogTuning().page_size == 1000 == DatadogTuning.from_env({}).page_size
    mons = [monitor(i, f"m{i}", "avg(last_5m):max:aws.sqs.approximate_number_of_messages_visible{*} > 0")
            for i in range(1, 1002)]
    with DatadogServer(mons, api_key=API_KEY, app_key=APP_KEY).start() as server:
        settings = DatadogSettings.resolve(environ={"DD_HOST": server.url, "DD_API_KEY": API_KEY,
                                                    "DD_APP_KEY": APP_KEY})
        stats = CallStats()
        inv = DatadogInventory(settings, stats=stats)
        assert len(inv.monitors()) == 1001
        sizes = [q.get("page_size") for _, p, q in server.requests if p == LISTING]
    assert stats.calls["datadog:ListMonitors"] == 2
    assert sizes == [["1000"], ["1000"]]
    # the knob still works
    assert DatadogTuning.from_env({"AUDITOR_DATADOG_PAGE_SIZE": "250"}).page_size == 250


def test_echoed_key_cut_at_the_message_limit_is_not_leaked(dd_server):
    """The error text is scrubbed before it is shortened: a key straddling the cut must not leave a prefix."""
    body = {"errors": ["x" * 185 + f" {API_KEY} echoed"]}  # the key straddles character 200
    dd_server.fail(500, times=10, path_prefix=LISTING, body=body)
    inv = inventory_for(dd_server)
    with pytest.raises(NotAvailable) as err:
        inv.raw_monitors()
    assert "HTTP 500" in err.value.reason
    assert API_KEY[:9] not in err.value.reason and "<redacted>" in err.value.reason
