"""How long auditor's parsers of account data take on hostile input (each must stay bounded work).

    .venv/bin/python benchmarks/bench_parsers.py

Prints the wall time of one call per input: Datadog monitor queries (long words, deep nesting, oversized),
tag wildcards with many ``*``, Lambda/ECS environment values scanned for host names, a RedrivePolicy nested
thousands of levels deep, and a task definition nested and oversized. Each used to be quadratic, exponential or
a RecursionError; all should print well under a second.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable

from auditor.checks.ecs_service_connect import host_tokens

from auditor.datadog.query import QueryError, parse_metric_query, parse_scope
from auditor.inventory.ecs import task_definition_problem
from auditor.inventory.sqs import Queue

VISIBLE = "aws.sqs.approximate_number_of_messages_visible"


def _nested(depth: int) -> object:
    value: object = "x"
    for _ in range(depth):
        value = [value]
    return value


CASES: dict[str, Callable[[], object]] = {
    "query: one 49,000-character word": lambda: parse_metric_query("avg(last_5m):" + "a" * 49_000 + " > 0"),
    "query: scope nested 10,000 deep": lambda: parse_metric_query(
        f"avg(last_5m):max:{VISIBLE}{{" + "(" * 10_000 + "queuename:x" + ")" * 10_000 + "} > 0"),
    "query: 1,000 terms (75,000 characters)": lambda: parse_metric_query(
        "avg(last_5m):" + " + ".join([f"max:{VISIBLE}{{queuename:orders-dlq}}"] * 1_000) + " > 0"),
    "scope: *a*a*...*c (30 stars) vs an 80-character name": lambda: parse_scope(
        "queuename:" + "*a" * 30 + "*c").evaluate({"queuename": "a" * 80}),
    "host tokens: one 64,000-character word": lambda: host_tokens("a" * 64_000),
    "host tokens: 'a1' x 32,000": lambda: host_tokens("a1" * 32_000),
    "RedrivePolicy nested 5,000 deep": lambda: Queue(
        "u", "q", "arn", "r", "1", {"RedrivePolicy": "[" * 5_000 + "]" * 5_000}).redrive_policy,
    "task definition nested 10,000 deep": lambda: task_definition_problem(_nested(10_000)),
    "task definition with a 10 MB value": lambda: task_definition_problem({"containerDefinitions": [
        {"environment": [{"name": "X", "value": "v" * 10_000_000}]}]}),
}


def main() -> None:
    for name, fn in CASES.items():
        start = time.perf_counter()
        with contextlib.suppress(QueryError):  # refused: that monitor is unreadable, the bounded outcome
            fn()
        print(f"{name:58s} {1000 * (time.perf_counter() - start):9.1f} ms")


if __name__ == "__main__":
    main()
