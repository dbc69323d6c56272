"""The scan deadline inside the inventory machinery, and the parsing of durations and tuning variables."""

from __future__ import annotations

import threading

import pytest

from auditor.cli import parse_duration
from auditor.inventory.core import (
    Memo,
    NotAvailable,
    Pools,
    SettingError,
    active_deadline,
    env_number,
    format_duration,
    scan_deadline,
)


@pytest.mark.parametrize(("text", "seconds"), [
    ("90s", 90), ("10m", 600), ("1h30m", 5400), ("45", 45), ("500ms", 0.5), (" 2M ", 120), ("0", None),
    ("none", None),
])
def test_durations(text, seconds):
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["5x", "", "-1", "m", "1.5.2s", "30d"])
def test_bad_durations(text):
    with pytest.raises(ValueError, match="--timeout"):
        parse_duration(text)


@pytest.mark.parametrize(("seconds", "label"), [(45, "45s"), (90, "1m30s"), (900, "15m"), (5400, "1h30m"), (2.5, "2.5s")])
def test_durations_read_back(seconds, label):
    assert format_duration(seconds) == label


def test_a_wait_for_another_threads_load_ends_at_the_deadline():
    memo, release = Memo(), threading.Event()
    owner = threading.Thread(target=memo.get, args=("k", lambda: release.wait(30) and "late"), daemon=True)
    owner.start()
    while "k" not in memo:
        pass
    try:
        with scan_deadline(0.2), pytest.raises(NotAvailable) as caught:
            memo.get("k", lambda: "never runs")
        assert caught.value.kind == "deadline" and "scan deadline of 0.2s reached" in caught.value.reason
    finally:
        release.set()
    owner.join(5)
    assert memo.get("k", lambda: "never runs") == "late"  # without a deadline, the wait is as before


def test_a_fan_out_ends_at_the_deadline_and_no_new_deadline_outlives_its_scan():
    pools, release = Pools(2), threading.Event()
    try:
        with scan_deadline(0.2), pytest.raises(NotAvailable, match="scan deadline"):
            pools.map_detail(lambda i: release.wait(30), [1, 2, 3])
        assert active_deadline().remaining() is None
    finally:
        release.set()
        pools.shutdown()


def test_the_deadline_is_named_as_the_user_wrote_it():
    with scan_deadline(90, "90s") as deadline:
        assert deadline.exceeded().reason == "scan deadline of 90s reached before this was fetched"
    assert active_deadline().remaining() is None


def test_tuning_variables_name_themselves_and_their_range():
    assert env_number({}, "AUDITOR_X", 8, low=1, high=50, integer=True) == 8
    assert env_number({"AUDITOR_X": " 3 "}, "AUDITOR_X", 8, low=1, high=50, integer=True) == 3
    for bad in ("abc", "0", "51", "2.5"):
        with pytest.raises(SettingError, match=r"AUDITOR_X must be a whole number between 1 and 50, got"):
            env_number({"AUDITOR_X": bad}, "AUDITOR_X", 8, low=1, high=50, integer=True)
    with pytest.raises(SettingError, match="greater than 0 and at most 60"):
        env_number({"AUDITOR_T": "0"}, "AUDITOR_T", 10.0, low=0, high=60, above=True)
    with pytest.raises(ValueError):  # also a ValueError, for callers that predate SettingError
        env_number({"AUDITOR_T": "nan"}, "AUDITOR_T", 10.0, low=0, high=60)
