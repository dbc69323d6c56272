"""The scheduler every inventory's calls go through: one bound on requests in flight, fan-out within fan-out,
errors in item order, the deadline, and a shutdown that never waits for a call that hangs."""

from __future__ import annotations

import threading
import time

import pytest

from auditor.inventory.core import NotAvailable, Pools, call_slot, scan_deadline


class Calls:
    """Stands for API requests: each holds a slot of the gate (as AwsAccount.call does) for ``hold`` seconds,
    and the most that were ever in flight at once is kept."""

    def __init__(self, hold: float = 0.005) -> None:
        self.hold = hold
        self.lock = threading.Lock()
        self.now = self.peak = self.count = 0

    def call(self, value=None):
        with call_slot():
            with self.lock:
                self.now += 1
                self.count += 1
                self.peak = max(self.peak, self.now)
            time.sleep(self.hold)
            with self.lock:
                self.now -= 1
        return value


def test_nested_fan_out_keeps_workers_requests_in_flight_and_never_more():
    """Loads that list, fan out, and fan out again per item (as IAM roles → their policies do): at --workers 3
    the requests in flight reach 3 and never pass it, whatever the number of threads waiting on fan-outs."""
    pools, calls = Pools(3), Calls()

    def role(i):
        calls.call()
        return sum(pools.map_detail(calls.call, [1, 2, 3]))

    def load(n):
        calls.call()  # the load's own listing
        return pools.map_detail(role, range(n))

    try:
        futures = [pools.submit(lambda n=n: load(n)) for n in (5, 8, 13)]
        assert [len(f.result(30)) for f in futures] == [5, 8, 13]
    finally:
        pools.shutdown()
    assert calls.count == 3 + 26 * 4
    assert calls.peak == 3


def test_one_worker_and_one_thread_cannot_deadlock_on_nested_fan_out():
    pools, calls = Pools(1, threads=1), Calls(0)
    try:
        fut = pools.submit(lambda: pools.map_detail(lambda i: pools.map_detail(calls.call, [i, i + 1]), [0, 10]))
        assert fut.result(30) == [[0, 1], [10, 11]]
    finally:
        pools.shutdown()


def test_inventories_sharing_pools_share_the_bound():
    pools, calls = Pools(2), Calls()
    try:
        futures = [pools.submit(lambda: pools.map_detail(calls.call, range(20))) for _ in range(4)]
        for f in futures:
            f.result(30)
    finally:
        pools.shutdown()
    assert calls.count == 80 and calls.peak == 2


def test_the_first_error_in_item_order_is_raised_after_every_item_ended():
    pools, ended = Pools(4), []

    def item(i):
        time.sleep(0.01 * (5 - i))  # later items fail first
        ended.append(i)
        if i in (2, 4):
            raise NotAvailable(f"item {i}")
        return i

    try:
        with pytest.raises(NotAvailable, match="item 2"):
            pools.map_detail(item, range(5))
    finally:
        pools.shutdown()
    assert sorted(ended) == [0, 1, 2, 3, 4]


def test_a_fan_out_from_the_main_thread_waits_no_later_than_the_deadline_even_when_the_call_hangs():
    pools, release = Pools(2), threading.Event()
    try:
        started = time.monotonic()
        with scan_deadline(0.2), pytest.raises(NotAvailable, match="scan deadline"):
            pools.map_detail(lambda i: release.wait(30), [1])  # one item: still not run on the main thread
        assert time.monotonic() - started < 10
    finally:
        release.set()
        pools.shutdown()


def test_a_waiter_for_a_slot_stops_at_the_deadline():
    pools, release = Pools(1, threads=2), threading.Event()

    def hold():
        with call_slot():
            release.wait(30)

    holder = pools.submit(hold)
    try:
        while pools.gate.limit - pools.gate._free < 1:
            time.sleep(0.001)
        with scan_deadline(0.1):
            waiter = pools.submit(lambda: Calls(0).call())
            with pytest.raises(NotAvailable, match="scan deadline"):
                waiter.result(10)
    finally:
        release.set()
        holder.result(10)
        pools.shutdown()


def test_shutdown_does_not_wait_for_a_hung_call_and_cancels_what_has_not_started():
    pools, release = Pools(1, threads=1), threading.Event()
    hung = pools.submit(lambda: release.wait(30))
    queued = pools.submit(lambda: "never")
    while not hung.running():
        time.sleep(0.001)
    started = time.monotonic()
    pools.shutdown()
    assert time.monotonic() - started < 1
    assert queued.cancelled() and not hung.done()
    release.set()
    assert hung.result(10) is True
    with pytest.raises(RuntimeError, match="shut down"):
        pools.submit(lambda: None)
    assert pools.map_detail(lambda i: i * 2, [1, 2]) == [2, 4]  # run by the caller itself once shut down


def test_one_worker_makes_every_request_in_the_order_asked():
    """--workers 1 is sequential: loads in the order submitted, each fan-out's items in item order (what a
    test answering from a queue of stubbed responses relies on)."""
    pools, seen = Pools(1), []

    def load(name, n):
        seen.append(name)
        pools.map_detail(lambda i: seen.append(f"{name}{i}"), range(n))

    try:
        futures = [pools.submit(lambda name=name: load(name, 3)) for name in "abc"]
        for f in futures:
            f.result(10)
    finally:
        pools.shutdown()
    assert seen == ["a", "a0", "a1", "a2", "b", "b0", "b1", "b2", "c", "c0", "c1", "c2"]


def test_a_load_s_own_calls_take_a_freed_slot_before_per_resource_calls():
    """With every slot taken and per-resource calls waiting, a load's listing page goes first."""
    pools, order, gate_open = Pools(1, threads=8), [], threading.Event()
    pools_lock = threading.Lock()

    def detail(i):
        with call_slot(), pools_lock:
            order.append(f"detail {i}")

    def first():
        with call_slot():
            gate_open.wait(10)  # holds the only slot while the others queue up behind it
        return None

    def listing():
        with call_slot():
            order.append("listing")

    try:
        blocker = pools.submit(first)
        fan = pools.submit(lambda: pools.map_detail(detail, range(4)))
        while len(pools.gate._waiters) < 4:
            time.sleep(0.001)
        lst = pools.submit(listing)
        while len(pools.gate._waiters) < 5:
            time.sleep(0.001)
        gate_open.set()
        for f in (blocker, fan, lst):
            f.result(10)
    finally:
        pools.shutdown()
    assert order[0] == "listing"
