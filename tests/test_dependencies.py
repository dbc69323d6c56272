"""No pass without evidence: the dependency matrix, generated from what each check declares it reads.

For every check and every API operation behind its declared loads (``auditor.inventory.loads``), that
operation fails on every call — first AccessDenied, then throttling that outlasts the retries — and the scan of
the seeded demo account must show:

* the operation was really attempted (the seed exercises it; otherwise the case proves nothing);
* the check reports something as not evaluated, naming the operation's IAM action (or Datadog permission);
* nothing the check reported in a clean scan turns into a PASS it did not have, and every clean-scan
  result is either unchanged or not evaluated (on the resource itself or on the listing that holds it, as
  ``auditor.baseline.covers`` decides — the same rule that carries an alert over a night that could not
  re-evaluate it): a high finding never vanishes quietly, a failed read never reads as a pass;
* the scan says it is incomplete: exit code 3 when nothing else fails.

A new check gets this test by declaring its reads. AWS failures are returned by a botocore ``before-call``
hook with the service's own error code and HTTP status, so the tool meets exactly the ``ClientError`` a live
account gives after its retries; the retry path itself is proven against an HTTP fault proxy in
tests/test_faults.py. Datadog failures come from the local Datadog API server (HTTP 403 / 429).
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from auditor.baseline import covers
from auditor.cli import EXIT_INCOMPLETE, exit_code
from auditor.inventory.loads import Operation
from auditor.model import Finding, Status
from auditor.report import Report

from .scanning import all_checks, scan

CHECKS = all_checks()
MODES = ("denied", "throttled")

#: Each service's own error for the two failures (code, HTTP status), as the real APIs answer.
_DENIED = {"s3": ("AccessDenied", 403), "s3control": ("AccessDenied", 403), "ec2": ("UnauthorizedOperation", 403),
           "lambda": ("AccessDeniedException", 403), "ecs": ("AccessDeniedException", 400),
           "servicediscovery": ("AccessDeniedException", 400), "sqs": ("AccessDenied", 403),
           "iam": ("AccessDenied", 403), "kms": ("AccessDeniedException", 400)}
_THROTTLED = {"s3": ("SlowDown", 503), "s3control": ("SlowDown", 503), "ec2": ("RequestLimitExceeded", 503),
              "lambda": ("TooManyRequestsException", 429), "ecs": ("ThrottlingException", 400),
              "servicediscovery": ("ThrottlingException", 400), "sqs": ("RequestThrottled", 400),
              "iam": ("Throttling", 400), "kms": ("ThrottlingException", 400)}

CASES = [(chk, op, mode) for chk in CHECKS for op in chk.operations if not op.auxiliary for mode in MODES]


class _Response:
    def __init__(self, status: int) -> None:
        self.status_code = status
        self.headers: dict[str, str] = {}
        self.content = b""


def _aws_fault(op: Operation, mode: str) -> Callable:
    code, status = (_DENIED if mode == "denied" else _THROTTLED)[op.service]

    def install(aws) -> None:
        def fail(model, **_):
            if model.service_model.service_name == op.service and model.name == op.name:
                return _Response(status), {"Error": {"Code": code, "Message": f"injected {mode}"},
                                           "ResponseMetadata": {"HTTPStatusCode": status}}
            return None

        aws.session.events.register("before-call.*.*", fail)

    return install


_DD_PATHS = {"ListMonitors": {"path": "/api/v1/monitor"}, "GetMonitor": {"path_prefix": "/api/v1/monitor/"},
             "ListDowntimes": {"path_prefix": "/api/v2/downtime"}}
_BASELINE: dict[str, Report] = {}
_FAULTY: dict[tuple[str, str], Report] = {}


def _baseline(env) -> Report:
    if "all" not in _BASELINE:
        _BASELINE["all"] = scan(env, CHECKS)
    return _BASELINE["all"]


def _faulty(op: Operation, mode: str, env, datadog) -> Report:
    """One scan of every check that declares ``op``, with ``op`` failing on every call."""
    key = (op.key, mode)
    if key not in _FAULTY:
        checks = [c for c in CHECKS if op in c.operations]
        if op.service == "datadog":
            datadog.fail(403 if mode == "denied" else 429, times=10_000, headers={"X-RateLimit-Reset": "0"},
                         **_DD_PATHS[op.name])
            try:
                _FAULTY[key] = scan({**env, "AUDITOR_DATADOG_MAX_RETRIES": "1"}, checks)
            finally:
                datadog.clear_faults()
        else:
            _FAULTY[key] = scan(env, checks, fault=_aws_fault(op, mode))
    return _FAULTY[key]


def _ident(f: Finding) -> tuple:
    return (f.resource.provider, f.resource.account, f.resource.type, f.resource.id, f.key)


@pytest.mark.parametrize(("chk", "op", "mode"), CASES,
                         ids=[f"{c.meta.rule}-{op.key}-{mode}" for c, op, mode in CASES])
def test_a_failed_read_is_never_a_pass(chk, op, mode, demo_env, demo_datadog):
    clean = [f for f in _baseline(demo_env).findings if f.check_id == chk.id]
    faulty = _faulty(op, mode, demo_env, demo_datadog)
    mine = [f for f in faulty.findings if f.check_id == chk.id]

    attempts = faulty.stats["calls"].get(op.key, 0)
    assert attempts, f"the seeded account never makes {chk.meta.rule} call {op.key}: seed a resource that does"

    not_evaluated = [f for f in mine if f.status is Status.NOT_EVALUATED]
    assert any(f.iam_action == op.iam_action for f in not_evaluated), (
        f"{chk.meta.rule}: {op.key} failed ({mode}) but no result names {op.iam_action}: "
        + "; ".join(f"{f.status} {f.resource.id}: {f.message[:80]}" for f in mine[:8]))

    before = {_ident(f): f for f in clean}
    passed_before = {_ident(f) for f in clean if f.status is Status.PASS}
    for f in mine:
        if f.status is Status.PASS:
            assert _ident(f) in passed_before, f"{chk.meta.rule}: {f.resource.id} passes only when {op.key} fails"
    now = {_ident(f): f for f in mine}
    for ident, f in before.items():
        if f.status is Status.NOT_EVALUATED:
            continue
        got = now.get(ident)
        if got is not None and got.status is f.status and got.severity is f.severity:
            continue  # this verdict does not depend on the operation
        assert (got is not None and got.status is Status.NOT_EVALUATED) or any(covers(ne, f) for ne in not_evaluated), (
            f"{chk.meta.rule}: {f.status} on {f.resource.id} ({f.message[:100]}) became "
            f"{'nothing' if got is None else got.status} when {op.key} failed ({mode}), with no not-evaluated "
            "entry covering it")

    assert exit_code(faulty, "never") == EXIT_INCOMPLETE
