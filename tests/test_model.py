import pytest

from auditor.check import Recorder
from auditor.model import CheckMeta, Confidence, Remediation, Resource, Severity, Status
from tests.factories import make_check, queue


def test_severity_is_ordered_and_parses():
    assert Severity.INFO < Severity.LOW < Severity.MEDIUM < Severity.HIGH < Severity.CRITICAL
    assert max(Severity) is Severity.CRITICAL
    assert Severity.parse(" HIGH ") is Severity.HIGH
    assert Confidence.LOW < Confidence.HIGH
    with pytest.raises(ValueError, match="expected one of"):
        Severity.parse("severe")


def _meta(**over):
    base = dict(id="sqs-lambda/x", rule="VT-1", title="t", severity=Severity.LOW, description="d", risk="r",
                remediation=Remediation("fix"), docs=("https://docs.aws.amazon.com/x",))
    base.update(over)
    return CheckMeta(**base)


@pytest.mark.parametrize("over", [
    {"id": "NotKebab/x"}, {"id": "no-namespace"}, {"rule": "vt1"}, {"title": " "},
    {"docs": ()}, {"docs": ("http://insecure",)}, {"remediation": Remediation("")},
])
def test_check_metadata_is_validated_when_loaded(over):
    with pytest.raises(ValueError, match="invalid check metadata"):
        _meta(**over)


def test_recorder_stamps_identity_and_redacts_evidence():
    chk = make_check(rule="DLQ-2", id="sqs-lambda/low-max-receive-count", severity=Severity.MEDIUM)
    rec = Recorder(chk.meta)
    f = rec.fail(queue(), "orders is wrong", evidence={"apikey": "supersecretvalue", "count": 2})
    assert (f.check_id, f.rule, f.severity, f.status) == (chk.id, "DLQ-2", Severity.MEDIUM, Status.FAIL)
    assert f.evidence == {"apikey": "<redacted>", "count": 2}
    escalated = rec.fail(queue("p"), "p is worse", severity=Severity.HIGH)
    assert escalated.severity is Severity.HIGH


def test_a_finding_needs_a_resource_and_a_message():
    rec = Recorder(make_check().meta)
    with pytest.raises(TypeError):
        rec.fail("orders", "no resource object")  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        rec.fail(queue(), "  ")
    with pytest.raises(ValueError):
        Resource("aws", "1", "r", "", "id")


def test_not_available_inside_evaluating_is_not_evaluated_never_a_pass():
    from auditor.inventory.core import NotAvailable

    rec = Recorder(make_check().meta)
    with rec.evaluating(queue()):
        raise NotAvailable("access denied to sqs:GetQueueAttributes", "sqs:GetQueueAttributes")
    (f,) = rec.findings
    assert f.status is Status.NOT_EVALUATED and f.iam_action == "sqs:GetQueueAttributes"
    assert "orders" in f.message
