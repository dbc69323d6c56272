"""Small builders for reports and findings in unit tests."""

from __future__ import annotations

from auditor.check import Recorder, check
from auditor.model import Confidence, Resource, Severity
from auditor.report import Report


def make_check(rule: str = "VT-1", id: str = "sqs-lambda/example", severity: Severity = Severity.HIGH,
               confidence: Confidence = Confidence.HIGH, *, security: bool = False,
               severities: tuple[Severity, ...] = tuple(Severity)):
    """An example check; unlike a real one it may emit every severity unless told otherwise."""

    @check(id=id, rule=rule, title="Example check", severity=severity, security=security, severities=severities,
           description="What it looks at.",
           risk="What goes wrong.", remediation="How to fix it.", cli="aws sqs ...", terraform="resource {}",
           docs=("https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-configure.html",),
           confidence=confidence)
    def run(inv, rec):  # pragma: no cover - not run
        pass

    return run


def queue(name: str = "orders", account: str = "123456789012", region: str = "us-east-1") -> Resource:
    return Resource("aws", account, region, "sqs-queue", name, f"arn:aws:sqs:{region}:{account}:{name}")


def report_with(*outcomes: tuple[str, Resource, Severity | None], checks=None, account="123456789012") -> Report:
    """outcomes: ("fail"|"ok"|"ne"|"suppressed", resource, severity)."""
    chk = (checks or [make_check()])[0]
    rec = Recorder(chk.meta)
    for kind, res, sev in outcomes:
        if kind == "fail":
            rec.fail(res, f"{res.id} is misconfigured", severity=sev, evidence={"x": 1})
        elif kind == "ok":
            rec.ok(res, f"{res.id} is fine")
        elif kind == "ne":
            rec.not_evaluated(res, "access denied to sqs:GetQueueAttributes", "sqs:GetQueueAttributes")
    return Report(target={"provider": "aws", "account": account, "regions": ["us-east-1"]},
                  checks=[c.meta for c in (checks or [chk])], findings=rec.findings,
                  started_at="2026-01-01T00:00:00Z", finished_at="2026-01-01T00:00:01Z")
