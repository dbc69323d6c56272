"""The monitor query parser: metric queries, scopes, windows, composites — and what it refuses."""

from __future__ import annotations

import pytest

from auditor.datadog.query import QueryError, parse_composite, parse_metric_query, parse_scope, parse_window

VISIBLE = "aws.sqs.approximate_number_of_messages_visible"


@pytest.mark.parametrize(
    ("query", "detection", "window_s", "shift", "comparator", "threshold"),
    [
        (f"avg(last_5m):max:{VISIBLE}{{queuename:orders-dlq}} > 0", "threshold", 300, "", ">", 0),
        (f"max(last_1h):max:{VISIBLE}{{queuename:x}} >= 10", "threshold", 3600, "", ">=", 10),
        (f"change(avg(last_5m),last_5m):max:{VISIBLE}{{queuename:x}} > 0", "change", 300, "last_5m", ">", 0),
        (f"change( avg(last_15m) , last_1h ):sum:{VISIBLE}{{queuename:x}} <= 0", "change", 900, "last_1h", "<=", 0),
        (f"pct_change(avg(last_1h),last_1d):avg:{VISIBLE}{{queuename:x}} > 50", "pct_change", 3600, "last_1d", ">", 50),
        ("sum(last_10m):sum:aws.sqs.number_of_messages_sent{queuename:x}.as_count() > 0", "threshold", 600, "",
         ">", 0),
        (f"avg(last_5m):diff(max:{VISIBLE}{{queuename:x}}) > 0", "diff", 300, "", ">", 0),
        (f"avg(last_4h):anomalies(avg:{VISIBLE}{{queuename:x}}, 'basic', 2) >= 1", "anomaly", 14400, "", ">=", 1),
        (f"max(last_1w):max:{VISIBLE}{{queuename:x}} < -1.5", "threshold", 7 * 86400, "", "<", -1.5),
        (f"avg(current_1d):max:{VISIBLE}{{queuename:x}} > 0", "threshold", 86400, "", ">", 0),
    ],
)
def test_metric_query_shapes(query, detection, window_s, shift, comparator, threshold):
    q = parse_metric_query(query)
    assert q.detection == detection
    assert q.window_s == window_s
    assert q.shift == shift
    assert q.comparator == comparator
    assert q.threshold == threshold
    assert q.is_change == (detection in ("change", "pct_change"))


def test_terms_scope_group_by_and_modifiers():
    q = parse_metric_query(
        f"sum(last_5m):sum:aws.sqs.number_of_messages_sent{{queuename:*-dlq,region:us-east-1}} by "
        f"{{QueueName, region}}.as_count() + max:{VISIBLE}{{env:prod}} > 0"
    )
    first, second = q.terms
    assert first.metric == "aws.sqs.number_of_messages_sent"
    assert first.space_aggregation == "sum"
    assert first.group_by == ("queuename", "region")
    assert first.groups_by("QUEUENAME")
    assert first.modifiers == ("as_count",)
    assert first.scope.evaluate({"queuename": "orders-dlq", "region": "us-east-1"}) is True
    assert second.metric == VISIBLE and second.group_by == ()


def test_braces_and_comparators_inside_scope_do_not_confuse_the_parser():
    q = parse_metric_query(f"avg(last_5m):max:{VISIBLE}{{queuename:a>b,!env:dev}} > 3")
    assert (q.comparator, q.threshold) == (">", 3)
    assert q.terms[0].scope_text == "queuename:a>b,!env:dev"


def test_metric_names_are_case_insensitive():
    q = parse_metric_query("avg(last_5m):max:AWS.SQS.Approximate_Number_Of_Messages_Visible{QueueName:X} > 0")
    assert q.terms[0].metric == VISIBLE
    assert q.terms[0].scope.evaluate({"queuename": "x"}) is True


@pytest.mark.parametrize(
    "query",
    [
        "",
        "   ",
        f"max:{VISIBLE}{{queuename:x}} > 0",  # no time aggregation
        f"avg(last_5m) max:{VISIBLE}{{queuename:x}} > 0",  # no colon
        f"avg(last_5m:max:{VISIBLE}{{queuename:x}} > 0",  # unbalanced
        f"avg(last_5m):max:{VISIBLE}{{queuename:x}}",  # no comparator
        f"avg(last_5m):max:{VISIBLE}{{queuename:x}} > lots",  # threshold not a number
        "avg(last_5m):42 > 0",  # no metric term
        f"change(avg(last_5m)):max:{VISIBLE}{{queuename:x}} > 0",  # change without a shift
        f"change(avg(last_5m),yesterday):max:{VISIBLE}{{queuename:x}} > 0",
        f"avg(last_5m):max:{VISIBLE}{{queuename:(x OR}} > 0",  # broken scope
        'logs("queuename:orders-dlq").index("*").rollup("count").last("5m") > 0',  # a log query naming the DLQ
        "12345 && 67890",
    ],
)
def test_unreadable_queries_raise(query):
    with pytest.raises(QueryError):
        parse_metric_query(query)


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("last_5m", 300), ("last_10m", 600), ("LAST_1H", 3600), ("last_2d", 172800), ("last_1w", 604800),
     ("current_1mo", 2592000), ("last_30s", 30), ("last", None), ("5m", None), ("last_m", None)],
)
def test_windows(text, seconds):
    assert parse_window(text) == seconds


TAGS = {"queuename": "orders-dlq", "region": "us-east-1", "aws_account": "123456789012"}


@pytest.mark.parametrize(
    ("scope", "expected"),
    [
        ("*", True),
        ("", True),
        ("queuename:orders-dlq", True),
        ("queuename:ORDERS-DLQ", True),
        ("QueueName:Orders-Dlq", True),
        ("queuename:orders-*", True),
        ("queuename:*-dlq", True),
        ("queuename:*", True),
        ("queuename:ord*dlq", True),
        ("queuename:orders", False),
        ("queuename:orders-dlq-2", False),
        ("queuename:payments-dlq", False),
        ("!queuename:orders-dlq", False),
        ("NOT queuename:orders-dlq", False),
        ("queuename:orders-dlq,region:us-east-1", True),
        ("queuename:orders-dlq,region:eu-west-1", False),
        ("queuename:orders-dlq AND aws_account:123456789012", True),
        ("queuename:orders-dlq AND aws_account:999999999999", False),
        ("queuename:orders-dlq OR queuename:payments-dlq", True),
        ("queuename:(payments-dlq OR orders-dlq)", True),
        ("queuename IN (payments-dlq, orders-dlq)", True),
        ("queuename IN (payments-dlq)", False),
        ("queuename NOT IN (payments-dlq)", True),
        ("queuename:*-dlq AND NOT queuename:orders-*", False),
        ("(queuename:orders-dlq OR queuename:x) AND region:us-east-1", True),
        # tags auditor cannot see: neither true nor false
        ("env:prod", None),
        ("queuename:orders-dlq,env:prod", None),
        ("queuename:orders-dlq,!env:staging", None),
        ("production", None),
        ("env:prod OR queuename:orders-dlq", True),
        ("env:prod AND queuename:payments-dlq", False),
    ],
)
def test_scope_evaluation(scope, expected):
    assert parse_scope(scope).evaluate(TAGS) is expected


def test_selects_key_only_counts_positive_terms():
    assert parse_scope("queuename:x").selects_key("queuename")
    assert parse_scope("queuename IN (a, b)").selects_key("queuename")
    assert not parse_scope("!queuename:x").selects_key("queuename")
    assert not parse_scope("NOT queuename:(a OR b)").selects_key("queuename")
    assert not parse_scope("*").selects_key("queuename")
    assert not parse_scope("env:prod").selects_key("queuename")


@pytest.mark.parametrize("scope", ["(queuename:x", "queuename:x)", "queuename IN ()", "AND", "queuename IN x"])
def test_broken_scopes_raise(scope):
    with pytest.raises(QueryError):
        parse_scope(scope)


def test_composite_members_and_polarity():
    members = parse_composite("123 && (456 || !789) && !(10 || 11)")
    assert [(m.monitor_id, m.negated) for m in members] == [
        (123, False), (456, False), (789, True), (10, True), (11, True)]
    assert [(m.monitor_id, m.negated) for m in parse_composite("!!5")] == [(5, False)]


@pytest.mark.parametrize("query", ["", "12 &&", "12 & 13", "(12 || 13", "a || b", "12 13"])
def test_broken_composites_raise(query):
    with pytest.raises(QueryError):
        parse_composite(query)


# Bounds: one monitor's query can never stall or crash the family ----------------------------------------------
DEEP = 10_000


@pytest.mark.parametrize("scope", [
    "(" * DEEP + "queuename:orders-dlq" + ")" * DEEP,
    "!" * DEEP + "queuename:orders-dlq",
    "NOT " * DEEP + "queuename:orders-dlq",
    "queuename:" + "(" * DEEP + "a" + ")" * DEEP,
], ids=["parentheses", "bangs", "NOTs", "key-parentheses"])
def test_deeply_nested_scopes_are_refused_not_recursed(scope):
    with pytest.raises(QueryError, match="nests more than 100 levels"):
        parse_scope(scope)
    with pytest.raises(QueryError, match="nests more than 100 levels"):
        parse_metric_query(f"avg(last_5m):max:{VISIBLE}{{{scope}}} > 0")


def test_nesting_up_to_the_bound_is_read():
    scope = "(" * 100 + "queuename:orders-dlq" + ")" * 100
    assert parse_scope(scope).evaluate({"queuename": "orders-dlq"}) is True


def test_deeply_nested_composites_are_refused():
    with pytest.raises(QueryError, match="nests more than 100 levels"):
        parse_composite("(" * DEEP + "1" + ")" * DEEP)
    with pytest.raises(QueryError, match="nests more than 100 levels"):
        parse_composite("!" * DEEP + "1")
    assert parse_composite("(" * 50 + "1 && !2" + ")" * 50)[1].negated


def test_oversized_queries_are_refused():
    term = f"max:{VISIBLE}{{queuename:orders-dlq}}"
    huge = "avg(last_5m):" + " + ".join([term] * 1000) + " > 0"  # about 75,000 characters
    with pytest.raises(QueryError, match="characters long; auditor reads at most 50000"):
        parse_metric_query(huge)
    with pytest.raises(QueryError, match="characters long"):
        parse_scope("queuename:a OR " * 4000 + "queuename:b")
    with pytest.raises(QueryError, match="characters long"):
        parse_composite(" || ".join(["1"] * 20_000))


@pytest.mark.parametrize(("pattern", "value", "match"), [
    ("orders-dlq", "orders-dlq", True),
    ("ORDERS-*", "orders-dlq", True),
    ("*-dlq", "orders-dlq", True),
    ("*", "", True),
    ("o*s-d*q", "orders-dlq", True),
    ("*dlq*", "orders-dlq-old", True),
    ("orders", "orders-dlq", False),
    ("*-dlq", "orders-dlq-old", False),
    ("a*b*c", "abxbc", True),
    ("a*b*c", "acb", False),
    ("*a" * 20 + "*c", "a" * 80, False),  # a regex built from it backtracks for minutes
    ("*a" * 20 + "*c", "a" * 79 + "c", True),
])
def test_wildcard_values_match_like_datadog_tags(pattern, value, match):
    assert parse_scope(f"queuename:{pattern}").evaluate({"queuename": value}) is match
