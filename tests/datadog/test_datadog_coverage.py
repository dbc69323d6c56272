"""Which monitors watch a DLQ: metric, queuename scope, multi-alerts, regions, composites, mutes, DD-3 logic."""

from __future__ import annotations

import datetime as dt

import pytest

from auditor.datadog.coverage import MonitorIndex, QueueTarget, change_problems
from auditor.datadog.monitors import Downtime, Monitor
from auditor.datadog.query import parse_metric_query
from auditor.demo.datadog_server import downtime, monitor

VISIBLE = "aws.sqs.approximate_number_of_messages_visible"
NOW = dt.datetime(2025, 3, 1, 12, 0, tzinfo=dt.UTC)
DLQ = QueueTarget("Orders-DLQ", "us-east-1", "123456789012")


def index(*monitors: dict, downtimes: tuple[dict, ...] = ()) -> MonitorIndex:
    return MonitorIndex([Monitor.from_api(m) for m in monitors],
                        [Downtime.from_v2(d) for d in downtimes], now=NOW)


def ids(idx: MonitorIndex, target: QueueTarget = DLQ) -> list:
    return [(m.monitor.id, m.member.id) for m in idx.coverage(target).matches]


@pytest.mark.parametrize(
    ("query", "covered"),
    [
        (f"avg(last_5m):max:{VISIBLE}{{queuename:orders-dlq}} > 0", True),  # names are lowercased tags
        (f"avg(last_5m):max:{VISIBLE}{{queuename:ORDERS-dlq}} > 0", True),
        (f"avg(last_5m):max:{VISIBLE}{{queuename:orders-*}} > 0", True),
        (f"avg(last_5m):max:{VISIBLE}{{queuename:*}} > 0", True),
        (f"avg(last_5m):max:{VISIBLE}{{*}} by {{queuename}} > 0", True),
        (f"avg(last_5m):max:{VISIBLE}{{env:prod}} by {{queuename,region}} > 0", True),
        (f"avg(last_5m):max:{VISIBLE}{{queuename IN (orders-dlq, payments-dlq)}} > 0", True),
        (f"avg(last_5m):max:{VISIBLE}{{queuename:orders-dlq,region:us-east-1}} > 0", True),
        (f"avg(last_5m):max:{VISIBLE}{{queuename:orders-dlq,aws_account:123456789012}} > 0", True),
        # not watching it
        (f"avg(last_5m):max:{VISIBLE}{{*}} > 0", False),  # one number for every queue
        (f"avg(last_5m):max:{VISIBLE}{{!queuename:payments-dlq}} > 0", False),  # only a negation
        (f"avg(last_5m):max:{VISIBLE}{{*}} by {{region}} > 0", False),
        (f"avg(last_5m):max:{VISIBLE}{{queuename:orders}} > 0", False),  # the source queue
        (f"avg(last_5m):max:{VISIBLE}{{queuename:orders-dlq-old}} > 0", False),
        (f"avg(last_5m):max:{VISIBLE}{{queuename:*-dlq,!queuename:orders-*}} by {{queuename}} > 0", False),
        (f"avg(last_5m):max:{VISIBLE}{{queuename:orders-dlq,region:eu-west-1}} > 0", False),
        (f"avg(last_5m):max:{VISIBLE}{{queuename:orders-dlq,aws_account:999999999999}} > 0", False),
        ("avg(last_5m):max:aws.sqs.approximate_age_of_oldest_message{queuename:orders-dlq} > 600", False),
        ("avg(last_5m):max:aws.sqs.number_of_messages_deleted{queuename:orders-dlq} > 0", False),
        # SQS does not count messages it moves into a DLQ in NumberOfMessagesSent: no coverage
        ("sum(last_5m):sum:aws.sqs.number_of_messages_sent{queuename:orders-dlq}.as_count() > 0", False),
        ("sum(last_5m):sum:aws.sqs.number_of_messages_sent{*} by {queuename} > 0", False),
    ],
)
def test_matching(query, covered):
    assert bool(ids(index(monitor(1, "m", query)))) is covered


def test_monitors_on_metrics_redrives_do_not_move_are_reported_as_not_counting():
    idx = index(monitor(1, "sent", "sum(last_5m):sum:aws.sqs.number_of_messages_sent{queuename:orders-dlq} > 0"),
                monitor(2, "received", "sum(last_5m):sum:aws.sqs.number_of_messages_received{queuename:*-dlq} "
                        "by {queuename} > 0"),
                monitor(3, "other queue", "sum(last_5m):sum:aws.sqs.number_of_messages_sent{queuename:orders} > 0"),
                monitor(4, "both", f"sum(last_5m):sum:aws.sqs.number_of_messages_sent{{queuename:orders-dlq}} + "
                        f"max:{VISIBLE}{{queuename:orders-dlq}} > 0"))
    cov = idx.coverage(DLQ)
    assert [m.member.id for m in cov.matches] == [4]  # the visible-messages term counts
    assert [(n.monitor.id, n.term.metric) for n in cov.non_covering] == [
        (1, "aws.sqs.number_of_messages_sent"), (2, "aws.sqs.number_of_messages_received")]
    assert "not the messages SQS moves there after failed processing" in cov.non_covering[0].why
    assert cov.non_covering[1].how == "multi-alert by {queuename} over {queuename:*-dlq}"


def test_only_metric_monitors_match_and_deleted_ones_are_ignored():
    q = f"avg(last_5m):max:{VISIBLE}{{queuename:orders-dlq}} > 0"
    idx = index(monitor(1, "log", 'logs("queuename:orders-dlq").index("*").rollup("count").last("5m") > 0',
                        type="log alert"),
                monitor(2, "gone", q, deleted="2024-01-01T00:00:00+00:00"),
                monitor(3, "metric alert type", q, type="metric alert"))
    assert ids(idx) == [(3, 3)]


def test_unknown_tags_make_a_match_uncertain():
    idx = index(monitor(1, "m", f"avg(last_5m):max:{VISIBLE}{{queuename:orders-dlq,env:prod}} > 0"))
    cov = idx.coverage(DLQ)
    assert cov.covered and not cov.certain
    assert cov.matches[0].how == "scope {queuename:orders-dlq,env:prod}"


def test_multi_alert_is_described():
    idx = index(monitor(1, "m", f"avg(last_5m):max:{VISIBLE}{{queuename:*-dlq}} by {{queuename}} > 0"))
    assert idx.coverage(DLQ).matches[0].how == "multi-alert by {queuename} over {queuename:*-dlq}"


def test_same_name_in_two_regions_is_told_apart_by_the_region_tag():
    idx = index(monitor(1, "east", f"avg(last_5m):max:{VISIBLE}{{queuename:orders-dlq,region:us-east-1}} > 0"),
                monitor(2, "any", f"avg(last_5m):max:{VISIBLE}{{queuename:orders-dlq}} > 0"))
    assert ids(idx, QueueTarget("orders-dlq", "us-east-1", "1")) == [(1, 1), (2, 2)]
    assert ids(idx, QueueTarget("orders-dlq", "eu-west-1", "1")) == [(2, 2)]


def test_composites_over_a_matching_member():
    q = f"change(avg(last_15m),last_15m):max:{VISIBLE}{{queuename:orders-dlq}} > 0"
    idx = index(monitor(1, "member", q, options={"silenced": {"*": None}}),
                monitor(2, "errors", "sum(last_5m):sum:aws.lambda.errors{functionname:x}.as_count() > 0"),
                monitor(3, "both", "1 && 2"),
                monitor(4, "not while the DLQ alerts", "2 && !1"))
    cov = idx.coverage(DLQ)
    assert [(m.monitor.id, m.member.id, m.via_composite) for m in cov.matches] == [(1, 1, False), (3, 1, True)]
    assert cov.matches[0].mute is not None and cov.matches[1].mute is None
    assert not cov.all_muted
    assert cov.matches[1].detection == "change"
    assert idx.member_ids_missing() == set()


def test_threshold_only_and_detection():
    idx = index(monitor(1, "t", f"max(last_5m):max:{VISIBLE}{{queuename:orders-dlq}} > 0"),
                monitor(2, "t2", f"sum(last_5m):sum:{VISIBLE}{{queuename:orders-dlq}} > 0"))
    assert idx.coverage(DLQ).threshold_only
    idx = index(monitor(1, "t", f"max(last_5m):max:{VISIBLE}{{queuename:orders-dlq}} > 0"),
                monitor(2, "d", f"avg(last_5m):diff(max:{VISIBLE}{{queuename:orders-dlq}}) > 0"))
    assert not idx.coverage(DLQ).threshold_only


Q = f"change(avg(last_15m),last_15m):max:{VISIBLE}{{queuename:*-dlq}} by {{queuename}} > 0"


@pytest.mark.parametrize(
    ("options", "downtimes", "muted", "certain"),
    [
        ({}, (), False, True),
        ({"silenced": {"*": None}}, (), True, True),
        ({"silenced": {"*": int((NOW + dt.timedelta(hours=1)).timestamp())}}, (), True, True),
        ({"silenced": {"*": int((NOW - dt.timedelta(hours=1)).timestamp())}}, (), False, True),  # expired
        ({"silenced": {"queuename:orders-dlq": None}}, (), True, True),
        ({"silenced": {"queuename:payments-dlq": None}}, (), False, True),
        ({"silenced": {"env:staging": None}}, (), True, False),
        ({}, (downtime(1, start=NOW - dt.timedelta(days=1)),), True, True),
        ({}, (downtime(1, start=NOW - dt.timedelta(days=1), end=NOW + dt.timedelta(hours=2)),), True, True),
        ({}, (downtime(1, start=NOW - dt.timedelta(days=2), end=NOW - dt.timedelta(days=1)),), False, True),
        ({}, (downtime(1, start=NOW + dt.timedelta(days=1)),), False, True),  # scheduled
        ({}, (downtime(1, start=NOW - dt.timedelta(days=1), canceled=NOW),), False, True),
        ({}, (downtime(1, start=NOW - dt.timedelta(days=1), scope="queuename:orders-dlq"),), True, True),
        ({}, (downtime(1, start=NOW - dt.timedelta(days=1), scope="queuename:(a OR b)"),), False, True),
        ({}, (downtime(1, start=NOW - dt.timedelta(days=1), scope="env:prod"),), True, False),
        ({}, (downtime(2, start=NOW - dt.timedelta(days=1)),), False, True),  # another monitor's
        ({}, (downtime(monitor_tags=["team:orders"], start=NOW - dt.timedelta(days=1)),), True, True),
        ({}, (downtime(monitor_tags=["team:payments"], start=NOW - dt.timedelta(days=1)),), False, True),
    ],
)
def test_mutes(options, downtimes, muted, certain):
    idx = index(monitor(1, "m", Q, options=options, tags=["team:orders"]), downtimes=downtimes)
    mute = idx.coverage(DLQ).matches[0].mute
    assert (mute is not None) is muted
    if mute is not None:
        assert mute.certain is certain


def test_matching_downtimes_from_the_monitor_listing_count():
    m = monitor(1, "m", Q)
    m["matching_downtimes"] = [{"id": 5, "start": int((NOW - dt.timedelta(hours=1)).timestamp()), "end": None,
                                "scope": ["queuename:orders-dlq"], "groups": []}]
    mute = index(m).coverage(DLQ).matches[0].mute
    assert mute is not None and mute.until is None and "downtime 5" in mute.how


def test_v2_downtime_is_preferred_for_its_message():
    d = downtime(1, start=NOW - dt.timedelta(days=1), message="migration\nsecond line")
    m = monitor(1, "m", Q)
    m["matching_downtimes"] = [{"id": 5, "start": 0, "end": None, "scope": ["*"]}]
    mute = index(m, downtimes=(d,)).coverage(DLQ).matches[0].mute
    assert "'migration'" in mute.describe() and "with no end" in mute.describe()


@pytest.mark.parametrize(
    ("query", "delay", "problems"),
    [
        ("change(avg(last_15m),last_15m):max:m.x{a:b} > 0", None, []),
        ("change(avg(last_5m),last_5m):max:m.x{a:b} > 0", 900, []),
        ("change(avg(last_5m),last_5m):max:m.x{a:b} > 0", None, ["window"]),
        ("change(avg(last_10m),last_10m):max:m.x{a:b} > 0", 0, ["window"]),
        ("change(avg(last_15m),last_15m):max:m.x{a:b} < 0", None, ["decrease"]),
        ("pct_change(avg(last_15m),last_15m):max:m.x{a:b} <= 0", None, ["decrease"]),
        ("change(avg(last_15m),last_15m):max:m.x{a:b} >= 0", None, ["nothing changes"]),
        ("change(avg(last_15m),last_15m):max:m.x{a:b} > -3", None, ["nothing changes"]),
        ("change(avg(last_5m),last_5m):max:m.x{a:b} < 0", None, ["decrease", "window"]),
    ],
)
def test_change_problems(query, delay, problems):
    found = change_problems(parse_metric_query(query), delay)
    assert len(found) == len(problems)
    for text, word in zip(found, problems, strict=True):
        assert word in text
