"""An unreadable RedrivePolicy (not JSON, nested too deeply, oversized) makes that queue not evaluated — never
"no redrive policy", never a silently missing dead-letter queue — and parsing it is bounded work."""

from __future__ import annotations

import pytest

from auditor import engine
from auditor.inventory import Inventory
from auditor.inventory.sqs import MAX_REDRIVE_POLICY_CHARS, Queue
from auditor.model import Status

DEEP = "[" * 5_000 + "]" * 5_000  # 10,000 characters, 5,000 levels
HUGE = '{"deadLetterTargetArn": "arn:aws:sqs:us-east-1:123456789012:orders-dlq", "pad": "' + "x" * 20_000 + '"}'


def _queue(redrive: str) -> Queue:
    return Queue("https://sqs/orders", "orders", "arn:aws:sqs:us-east-1:123456789012:orders", "us-east-1",
                 "123456789012", {"RedrivePolicy": redrive})


@pytest.mark.parametrize(("raw", "why"), [
    (DEEP, "nests too deeply"),
    (HUGE, f"characters long; auditor reads at most {MAX_REDRIVE_POLICY_CHARS}"),
    ("{not json", "is not valid JSON"),
    ('["a list"]', "is not a JSON object"),
], ids=["deep", "huge", "not-json", "not-object"])
def test_unreadable_redrive_policies_say_why(raw, why):
    rp = _queue(raw).redrive_policy
    assert rp is not None and why in rp.error and rp.dead_letter_target_arn == ""
    assert len(rp.raw) <= 200  # evidence never carries the whole value


def test_readable_redrive_policy():
    rp = _queue('{"deadLetterTargetArn": "arn:aws:sqs:us-east-1:1:dlq", "maxReceiveCount": "5"}').redrive_policy
    assert rp is not None and not rp.error and rp.max_receive_count == 5


@pytest.mark.parametrize("raw", [DEEP, HUGE], ids=["deep", "huge"])
def test_seeded_queue_with_an_unreadable_redrive_policy_is_not_evaluated(seeded_aws, raw):
    from auditor.inventory.aws import AwsAccount

    def tamper(parsed, **_):  # what GetQueueAttributes answers for the orders queue
        attrs = (parsed or {}).get("Attributes") or {}
        if attrs.get("QueueArn", "").endswith(":orders"):
            attrs["RedrivePolicy"] = raw

    checks = [c for c in engine.load_checks(plugins=False) if c.meta.rule in ("DLQ-1", "DLQ-2", "DLQ-3")]
    checks += [c for c in engine.load_checks(plugins=False) if c.meta.rule == "DD-1"]
    with pytest.MonkeyPatch.context() as mp:
        for k, v in seeded_aws.env().items():
            mp.setenv(k, v)
        aws = AwsAccount("demo")
        aws.session.events.register("after-call.sqs.GetQueueAttributes", tamper)
        inv = Inventory(aws, ["us-east-1"])
        try:
            report = engine.run(inv, checks, target={})
        finally:
            inv.close()
    on_orders = {f.rule: f for f in report.findings if f.resource.id == "orders"}
    # DD-1 runs without Datadog here: it still names the source queue whose DLQ it cannot know
    assert set(on_orders) == {"DLQ-1", "DLQ-2", "DLQ-3", "DD-1"}
    for rule, f in on_orders.items():
        assert f.status is Status.NOT_EVALUATED, (rule, f.message)
        assert "its RedrivePolicy" in f.reason and len(f.message) < 600
    # nothing else lost its verdict: payments is still judged
    assert any(f.rule == "DLQ-2" and f.resource.id == "payments" and f.status is Status.FAIL
               for f in report.findings)
