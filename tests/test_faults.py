"""The real CLI under injected AWS faults (tests/faults.py between it and the moto server).

What a user depends on: throttling is waited out (same report as a clean run), a hung endpoint costs
seconds and is reported as timed out, the scan deadline and Ctrl-C end the run at once, and ``--stats``
counts every request that was sent. Timing figures live in docs/reliability.md (benchmarks/bench_faults.py);
the bounds asserted here only tell seconds from minutes.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter

import pytest
from botocore.parsers import create_parser

from auditor.inventory.core import translate
from tests.conftest import run_auditor
from tests.faults import SERVICES, Fault, FaultProxy, _models, error_response

pytestmark = pytest.mark.e2e

SCAN = ("scan", "--profile", "demo", "--format", "json", "--fail-on", "never")



def _comparable(doc: dict) -> dict:
    return {k: v for k, v in doc.items() if k not in ("started_at", "finished_at", "stats")}


def _attempts(doc: dict) -> Counter:
    """Requests sent per operation according to --stats: each call's first attempt plus its retries."""
    stats = doc["stats"]
    return Counter({op: n + stats["retries"].get(op, 0) for op, n in stats["calls"].items()})


# -- the proxy itself ---------------------------------------------------------------------------------------
EXPECTED_CODES = {
    # (service, kind): (code botocore reads, HTTP status)
    ("sts", "throttle"): ("Throttling", 400),
    ("iam", "throttle"): ("Throttling", 400),
    ("ec2", "throttle"): ("RequestLimitExceeded", 503),
    ("ecs", "throttle"): ("ThrottlingException", 400),
    ("sqs", "throttle"): ("RequestThrottled", 400),
    ("servicediscovery", "throttle"): ("ThrottlingException", 400),
    ("lambda", "throttle"): ("TooManyRequestsException", 429),
    ("s3", "throttle"): ("SlowDown", 503),
    ("s3control", "throttle"): ("SlowDown", 503),
    ("sts", "denied"): ("AccessDenied", 403),
    ("ec2", "denied"): ("UnauthorizedOperation", 403),
    ("ecs", "denied"): ("AccessDeniedException", 400),
    ("sqs", "denied"): ("AccessDenied", 403),
    ("lambda", "denied"): ("AccessDeniedException", 403),
    ("s3", "denied"): ("AccessDenied", 403),
    ("iam", "500"): ("InternalFailure", 500),
    ("ec2", "500"): ("InternalError", 500),
    ("s3", "500"): ("InternalError", 500),
    ("ecs", "503"): ("ServiceUnavailable", 503),
}


@pytest.mark.parametrize(("service", "kind"), sorted(EXPECTED_CODES))
def test_each_fault_is_the_error_botocore_reads_from_that_service(service, kind):
    (svc,) = _models((service,))
    status, headers, body = error_response(svc, kind, svc.protocol)
    parsed = create_parser(svc.protocol).parse(
        {"status_code": status, "headers": {k.lower(): v for k, v in headers.items()}, "body": body}, None)
    assert (parsed["Error"]["Code"], status) == EXPECTED_CODES[(service, kind)]
    if kind == "throttle":
        assert service != "lambda" or headers["Retry-After"]
    reason_kind = translate(_client_error(parsed, status), service, "X").kind
    assert reason_kind == {"throttle": "throttled", "denied": "denied"}.get(kind, "error")


def test_cloud_map_faults_also_speak_cbor():
    (svc,) = _models(("servicediscovery",))
    status, headers, body = error_response(svc, "throttle", "smithy-rpc-v2-cbor")
    parsed = create_parser("smithy-rpc-v2-cbor").parse({"status_code": status, "headers": headers, "body": body}, None)
    assert parsed["Error"]["Code"] == "ThrottlingException"


def _client_error(parsed: dict, status: int):
    from botocore.exceptions import ClientError

    parsed.setdefault("ResponseMetadata", {})["HTTPStatusCode"] = status
    return ClientError(parsed, "X")


@pytest.fixture(scope="module")
def clean(seeded_aws):
    """One full scan through a proxy that injects nothing: the reference, and what the proxy saw."""
    with FaultProxy(seeded_aws) as proxy:
        r = run_auditor(*SCAN, env=proxy.env())
        assert r.code == 0, r.stderr  # complete: Datadog is not configured here, so its checks are skipped
        return json.loads(r.stdout), list(proxy.requests)


def test_the_proxy_names_every_request_of_a_scan(clean):
    doc, requests = clean
    seen = Counter(f"{s.service}:{s.operation}" for s in requests)
    assert "?:?" not in seen and not any(s.fault for s in requests)
    assert {k.split(":")[0] for k in seen} == set(SERVICES)
    assert seen == _attempts(doc)


# -- throttling ---------------------------------------------------------------------------------------------
def test_thirty_percent_throttling_changes_no_finding(seeded_aws, clean):
    """Default retry configuration (adaptive mode, 10 attempts): every throttled call is retried until it
    passes. Scoped to the sqs-lambda checks (STS query, SQS JSON and Lambda REST throttling, a 16-queue
    fan-out) to stay fast; benchmarks/bench_faults.py does the same with the whole scan, several seeds.
    """
    reference, _ = clean
    # One call of each service is throttled for sure (so each protocol's shape is met), then 30 % of all.
    rules = [Fault("sts", "GetCallerIdentity", "throttle", count=1), Fault("sqs", "ListQueues", "throttle", count=1),
             Fault("lambda", "ListEventSourceMappings", "throttle", count=1), Fault("*", "*", "throttle", probability=0.3)]
    with FaultProxy(seeded_aws, rules, seed=0) as proxy:
        r = run_auditor(*SCAN, "--check", "sqs-lambda", env=proxy.env())
        throttled = proxy.seen()
    assert r.code == 0, r.stderr  # complete: nothing was lost to throttling
    doc = json.loads(r.stdout)
    checks = {c["id"] for c in doc["checks"]}
    assert doc["findings"] == [f for f in reference["findings"] if f["check_id"] in checks]
    assert sum(1 for s in throttled if s.fault) > 3  # the three forced, and the 30 % rule's share of ~25
    assert {s.service for s in throttled if s.fault} == {"sts", "sqs", "lambda"}
    assert max(s.attempt for s in throttled) >= 2
    # --stats counted exactly what the server saw: the first attempts and every retry.
    assert _attempts(doc) == Counter(f"{s.service}:{s.operation}" for s in throttled)


# -- hangs, timeouts, the deadline, Ctrl-C ------------------------------------------------------------------
def test_a_hung_call_is_tried_twice_and_reported_as_timed_out(seeded_aws):
    with FaultProxy(seeded_aws, [Fault("sqs", "ListQueues", "hang")]) as proxy:
        started = time.monotonic()
        r = run_auditor(*SCAN, "--check", "VT-1", env=proxy.env(AUDITOR_AWS_READ_TIMEOUT="2"), timeout=60)
        took = time.monotonic() - started
        attempts = [s.attempt for s in proxy.seen("sqs", "ListQueues")]
    assert r.code == 3 and "Traceback" not in r.stderr
    assert attempts == [1, 2]  # one retry for a timeout, not ten
    assert took < 45  # two 2-second read timeouts, not minutes
    doc = json.loads(r.stdout)
    (gap,) = [f for f in doc["findings"] if f["status"] == "not-evaluated"]
    assert "ListQueues: the sqs endpoint timed out" in gap["reason"] and "could not be reached" not in gap["reason"]
    assert doc["stats"]["retries"]["sqs:ListQueues"] == 1


def test_the_scan_deadline_reports_what_hangs_as_not_evaluated(seeded_aws):
    """A 60 s read timeout would hold this scan two minutes; the deadline ends it at 2 s."""
    with FaultProxy(seeded_aws, [Fault("sqs", "ListQueues", "hang")]) as proxy:
        started = time.monotonic()
        r = run_auditor(*SCAN, "--check", "VT-1", "--timeout", "2s", env=proxy.env(AUDITOR_AWS_READ_TIMEOUT="60"),
                        timeout=90)
        took = time.monotonic() - started
        sent = Counter(f"{s.service}:{s.operation}" for s in proxy.requests)
    assert r.code == 3, r.stderr
    assert took < 40
    doc = json.loads(r.stdout)
    assert _attempts(doc) == sent  # calls the deadline stopped before sending are not counted
    (gap,) = [f for f in doc["findings"] if f["status"] == "not-evaluated"]
    assert "scan deadline of 2s reached" in gap["reason"]
    assert any("scan deadline of 2s reached" in w for w in doc["warnings"]) and doc["complete"] is False
    assert "warning: scan deadline of 2s reached" in r.stderr and "Traceback" not in r.stderr


def test_ctrl_c_stops_a_hung_scan_at_once_without_leaving_files(seeded_aws, tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "DD_"))}
    with FaultProxy(seeded_aws, [Fault("sqs", "ListQueues", "hang")]) as proxy:
        env.update(proxy.env())
        proc = subprocess.Popen([sys.executable, "-m", "auditor", *SCAN, "-o", str(tmp_path / "report.json")],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
        try:
            assert proxy.wait_for("sqs", "ListQueues"), "the scan never reached the hung call"
            proc.send_signal(signal.SIGINT)
            time.sleep(0.05)
            if proc.poll() is None:
                proc.send_signal(signal.SIGINT)  # an impatient second Ctrl-C changes nothing
            out, err = proc.communicate(timeout=20)  # before: still waiting minutes later
        finally:
            proc.kill()
    assert proc.returncode == 130
    assert err.strip().splitlines() == ["interrupted: the scan was stopped; no report was written"]
    assert out == "" and list(tmp_path.iterdir()) == []


# -- --stats ------------------------------------------------------------------------------------------------
def test_stats_count_every_attempt_even_of_calls_that_fail(seeded_aws):
    rules = [Fault("sqs", "GetQueueAttributes", "reset", count=5), Fault("lambda", "ListFunctions", "reset"),
             Fault("lambda", "ListEventSourceMappings", "500", count=2)]
    with FaultProxy(seeded_aws, rules) as proxy:
        r = run_auditor(*SCAN, "--check", "VT-1", env=proxy.env(AUDITOR_AWS_MAX_ATTEMPTS="3"))
        sent = Counter(f"{s.service}:{s.operation}" for s in proxy.requests)
        resets = proxy.injected("reset")
    assert r.code == 3, r.stderr
    doc = json.loads(r.stdout)
    assert _attempts(doc) == sent  # before: the retries of ListFunctions, which failed, were not counted
    assert doc["stats"]["retries"]["lambda:ListFunctions"] >= 2  # it failed after 3 attempts
    assert resets >= 5 + 3
    reasons = {f["reason"] for f in doc["findings"] if f["status"] == "not-evaluated"}
    assert any("ListFunctions: the lambda endpoint dropped the connection" in r for r in reasons), reasons


# -- identity -----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("kind", ["throttle", "503"])
def test_throttled_or_failing_sts_is_not_called_rejected_credentials(seeded_aws, kind):
    with FaultProxy(seeded_aws, [Fault("sts", "GetCallerIdentity", kind)]) as proxy:
        r = run_auditor(*SCAN, env=proxy.env(AUDITOR_AWS_MAX_ATTEMPTS="1"))  # the message, not the retries
    assert r.code == 2 and r.stdout == ""
    assert len(r.stderr.strip().splitlines()) == 1, r.stderr
    assert "could not verify the identity (throttled/unavailable)" in r.stderr and "rejected" not in r.stderr


def test_denied_sts_still_means_rejected_credentials(seeded_aws):
    with FaultProxy(seeded_aws, [Fault("sts", "GetCallerIdentity", "denied")]) as proxy:
        r = run_auditor(*SCAN, env=proxy.env())
    assert r.code == 2 and "the AWS credentials were rejected (AccessDenied)" in r.stderr
