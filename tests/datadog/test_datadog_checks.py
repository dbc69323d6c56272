"""DD-1..DD-4 end to end: the seeded AWS account (moto) + the shop's Datadog org (local API), real clients."""

from __future__ import annotations

import pytest

from auditor import engine
from auditor.demo import seed_datadog
from auditor.inventory import Inventory
from auditor.inventory.aws import AwsAccount
from auditor.inventory.datadog import DatadogInventory, DatadogSettings
from auditor.model import Confidence, Severity, Status

from .conftest import API_KEY, APP_KEY, settings_for

DD_RULES = {"DD-1", "DD-2", "DD-3", "DD-4"}


def dd_checks():
    return [c for c in engine.load_checks(plugins=False) if c.meta.family == "datadog-dlq"]


def aws_checks():
    return [c for c in engine.load_checks(plugins=False) if c.meta.family == "sqs-lambda"]


@pytest.fixture()
def aws_env(seeded_aws, monkeypatch):
    for k, v in seeded_aws.env().items():
        monkeypatch.setenv(k, v)
    return seeded_aws


def scan(settings: DatadogSettings | None, checks=None, regions=("us-east-1",)):
    """Run checks as the CLI does: one CallStats for AWS and Datadog; ``None`` = no Datadog inventory at all."""
    inv = Inventory(AwsAccount("demo"), list(regions))
    inv.datadog = DatadogInventory(settings, stats=inv.stats) if settings is not None else None
    try:
        return inv, engine.run(inv, checks or dd_checks(), target={})
    finally:
        inv.close()


def by_resource(report):
    out: dict[str, dict[str, set[str]]] = {}
    for f in report.findings:
        slot = out.setdefault(f.resource.id, {"fail": set(), "pass": set(), "not-evaluated": set()})
        slot[str(f.status)].add(f.rule)
    return out


def test_checks_are_declared_with_the_rules_severities():
    metas = {c.meta.rule: c.meta for c in dd_checks()}
    assert {r: m.severity for r, m in metas.items()} == {
        "DD-1": Severity.HIGH, "DD-2": Severity.MEDIUM, "DD-3": Severity.LOW, "DD-4": Severity.LOW}
    assert {m.id for m in metas.values()} == {
        "datadog-dlq/no-monitor", "datadog-dlq/threshold-only", "datadog-dlq/change-monitor-misconfigured",
        "datadog-dlq/only-monitor-muted"}
    assert all("datadog.monitors" in c.requires and "sqs.queues" in c.requires for c in dd_checks())


def test_seeded_account_matches_the_expected_table(aws_env, dd_server):
    inv, report = scan(settings_for(dd_server))
    got = by_resource(report)
    for dlq, want in seed_datadog.EXPECTED.items():
        assert dlq in got, f"no DD finding on {dlq}"
        assert want.get("fail", set()) <= got[dlq]["fail"], (dlq, got[dlq])
        assert not (want.get("clean", set()) & got[dlq]["fail"]), (dlq, got[dlq])
        assert not got[dlq]["not-evaluated"], (dlq, got[dlq])
        assert "DD-1" in got[dlq]["fail"] | got[dlq]["pass"]
    assert set(got) == set(seed_datadog.EXPECTED)  # DLQs only: no finding on source queues
    assert not report.not_evaluated
    # one listing for four checks: monitors paged once, downtimes once, nothing else
    calls = {k: v for k, v in report.stats["calls"].items() if k.startswith("datadog:")}
    assert calls == {"datadog:ListMonitors": 1, "datadog:ListDowntimes": 1}
    assert all(method == "GET" for method, _, _ in dd_server.requests)


def test_findings_name_the_dlq_and_the_monitor_with_a_link(aws_env, dd_server):
    _, report = scan(settings_for(dd_server))
    fails = {(f.rule, f.resource.id): f for f in report.failures}
    dd2 = fails[("DD-2", "payments-dlq")]
    assert f"#{seed_datadog.PAYMENTS_DLQ}" in dd2.message and "[payments] payments-dlq is not empty" in dd2.message
    assert f"{dd_server.url}/monitors/{seed_datadog.PAYMENTS_DLQ}" in dd2.message
    assert dd2.resource.type == "sqs-queue" and dd2.resource.arn.endswith(":payments-dlq")
    assert dd2.severity is Severity.MEDIUM
    assert dd2.evidence["monitors"][0]["url"].endswith(f"/monitors/{seed_datadog.PAYMENTS_DLQ}")
    assert dd2.evidence["source_queues"] == ["payments"]
    dd1 = fails[("DD-1", "notifications-priority-dlq")]
    assert dd1.severity is Severity.HIGH and "notifications-priority" in dd1.message
    dd3 = fails[("DD-3", "refunds-dlq")]
    assert dd3.key == str(seed_datadog.REFUNDS_DLQ) and "decrease" in dd3.message and "evaluation_delay" in dd3.message
    dd4 = fails[("DD-4", "invoices-dlq")]
    assert "Muted during the invoices v2 migration" in dd4.message and "with no end" in dd4.message
    assert dd4.confidence is Confidence.HIGH


def test_a_monitor_on_messages_sent_does_not_cover_a_dlq_and_dd1_says_why(aws_env, dd_server):
    """check-rules.md §6: SQS does not count redriven messages in NumberOfMessagesSent, so the seeded monitor
    on number_of_messages_sent{queuename:notifications-priority-dlq} never fires for a failed message."""
    _, report = scan(settings_for(dd_server))
    dd1 = [f for f in report.findings if f.rule == "DD-1" and f.resource.id == "notifications-priority-dlq"]
    assert [f.status for f in dd1] == [Status.FAIL]
    msg = dd1[0].message
    assert f"#{seed_datadog.NOTIFICATIONS_DLQ_SENT}" in msg and "aws.sqs.number_of_messages_sent" in msg
    assert "not the messages SQS moves there after failed processing" in msg
    assert f"{dd_server.url}/monitors/{seed_datadog.NOTIFICATIONS_DLQ_SENT}" in msg
    not_counted = {m["id"]: m for m in dd1[0].evidence["monitors_that_do_not_count"]}
    assert set(not_counted) == {seed_datadog.NOTIFICATIONS_DLQ_SENT, 48213011}  # …_sent and …_deleted
    assert not_counted[48213011]["metric"] == "aws.sqs.number_of_messages_deleted"
    assert dd1[0].evidence["monitors"] == []
    # no other DD rule treats it as a monitor of the DLQ (DD-2 would call it "threshold only")
    assert not [f for f in report.findings if f.resource.id == "notifications-priority-dlq" and f.rule != "DD-1"]


def test_links_point_at_the_configured_site(aws_env, dd_server):
    settings = settings_for(dd_server, DD_SITE="datadoghq.eu")
    _, report = scan(settings)
    dd2 = next(f for f in report.failures if f.rule == "DD-2")
    assert f"https://app.datadoghq.eu/monitors/{seed_datadog.PAYMENTS_DLQ}" in dd2.message


def test_without_keys_datadog_is_not_evaluated_and_aws_checks_run(aws_env):
    inv, report = scan(DatadogSettings.resolve(environ={}), dd_checks() + aws_checks())
    ne = [f for f in report.not_evaluated if f.rule in DD_RULES]
    assert len(ne) == 4  # one entry per check, not one per DLQ
    assert all("DD_API_KEY and DD_APP_KEY are not set" in f.reason for f in ne)
    assert all("7 dead-letter queue(s)" in f.reason and f.iam_action == "monitors_read" for f in ne)
    assert not [f for f in report.findings if f.rule in DD_RULES and f.status is not Status.NOT_EVALUATED]
    assert any(f.rule == "VT-1" and f.status is Status.FAIL for f in report.findings)
    assert not any(k.startswith("datadog:") for k in report.stats["calls"])


def test_no_datadog_inventory_at_all(aws_env):
    _, report = scan(None)
    assert {f.rule for f in report.not_evaluated} == DD_RULES
    assert "not configured" in report.not_evaluated[0].reason


def test_forbidden_makes_every_dlq_not_evaluated_with_the_reason(aws_env, dd_server):
    inv, report = scan(settings_for(dd_server, app_key="f" * 40), dd_checks() + aws_checks())
    ne = [f for f in report.not_evaluated if f.rule in DD_RULES]
    assert {f.resource.id for f in ne} == set(seed_datadog.EXPECTED)
    assert len(ne) == 4 * len(seed_datadog.EXPECTED)
    assert all("DD_APP_KEY" in f.reason and "monitors_read" in f.reason for f in ne)
    assert any(f.rule == "VT-1" and f.status is Status.FAIL for f in report.findings)
    assert report.stats["calls"]["datadog:ListMonitors"] == 1  # cached failure: asked once for four checks


def test_server_errors_beyond_retries_are_not_evaluated(aws_env, dd_server):
    dd_server.fail(500, times=50, path_prefix="/api/v1/monitor")
    _, report = scan(settings_for(dd_server))
    assert {f.rule for f in report.not_evaluated} == DD_RULES
    assert all("HTTP 500 on 3 attempt(s)" in f.reason for f in report.not_evaluated)
    assert report.stats["retries"]["datadog:ListMonitors"] == 2


def test_rate_limit_is_ridden_out(aws_env, dd_server):
    dd_server.fail(429, times=1, path_prefix="/api/v1/monitor", headers={"X-RateLimit-Reset": "0"})
    _, report = scan(settings_for(dd_server))
    assert not report.not_evaluated
    assert {f.rule for f in report.failures} == DD_RULES


def test_failed_downtime_listing_makes_mute_verdicts_not_evaluated(aws_env, dd_server):
    """Muted monitors must not read as active: without the downtime listing, DD-4 passes nothing."""
    dd_server.fail(403, times=10, path_prefix="/api/v2/downtime")
    _, report = scan(settings_for(dd_server))
    dd4 = {f.resource.id: f for f in report.findings if f.rule == "DD-4"}
    # invoices' monitor is known to be muted (its matching_downtimes): still a finding
    assert dd4["invoices-dlq"].status is Status.FAIL
    for dlq in ("orders-dlq", "payments-dlq", "refunds-dlq", "audit-dlq", "ledger-dlq.fifo"):
        f = dd4[dlq]
        assert f.status is Status.NOT_EVALUATED, (dlq, f.message)
        assert f.iam_action == "monitors_downtime" and "downtimes could not be listed" in f.reason
        assert "403" in f.reason
    assert not [f for f in report.findings if f.rule == "DD-4" and f.status is Status.PASS]
    # verdicts that do not depend on mutes are unaffected
    assert {f.rule for f in report.not_evaluated} == {"DD-4"}
    assert not report.complete


@pytest.mark.e2e
def test_failed_downtime_listing_makes_the_scan_incomplete(seeded_aws, dd_server):
    from tests.conftest import run_auditor

    dd_server.fail(403, times=10, path_prefix="/api/v2/downtime")
    env = {**seeded_aws.env(), "DD_HOST": dd_server.url, "DD_API_KEY": API_KEY, "DD_APP_KEY": APP_KEY}
    r = run_auditor("scan", "--profile", "demo", "--check", "datadog-dlq", "--format", "json",
                    "--fail-on", "critical", env=env)
    assert r.code == 3, r.stderr
    doc = r.json()
    assert doc["complete"] is False
    ne = [f for f in doc["findings"] if f["status"] == "not-evaluated"]
    assert ne and {f["rule"] for f in ne} == {"DD-4"}
    assert all(f["iam_action"] == "monitors_downtime" for f in ne)


def test_one_unreadable_monitor_is_not_evaluated_alone_never_the_family(aws_env):
    """A 10,000-deep nested query used to raise RecursionError while the listing was read, so every DLQ of every
    DD check was not evaluated; an oversized query is refused the same way. Each is that monitor's problem."""
    from auditor.demo.datadog_server import DatadogServer, monitor

    visible = seed_datadog.VISIBLE
    deep = monitor(9001, "generated: deep", f"avg(last_5m):max:{visible}{{" + "(" * 10_000 + "queuename:orders-dlq"
                   + ")" * 10_000 + "} > 0")
    huge = monitor(9002, "generated: huge", "avg(last_5m):" + " + ".join(
        [f"max:{visible}{{queuename:payments-dlq}}"] * 1_000) + " > 0")
    mons = seed_datadog.monitors() + [deep, huge]
    with DatadogServer(mons, seed_datadog.downtimes(), api_key=API_KEY, app_key=APP_KEY).start() as server:
        _, report = scan(settings_for(server))
    unreadable = {(f.rule, f.resource.id): f for f in report.not_evaluated}
    # the huge one names payments-dlq: it may be the change monitor that makes DD-2 false, so DD-2 is undetermined
    assert set(unreadable) == {(rule, mid) for rule in DD_RULES for mid in ("9001", "9002")} | {
        ("DD-2", "payments-dlq")}
    assert "#9002" in unreadable[("DD-2", "payments-dlq")].reason
    deep_ne, huge_ne = unreadable[("DD-1", "9001")], unreadable[("DD-1", "9002")]
    assert deep_ne.resource.type == "datadog-monitor" and deep_ne.resource.arn.endswith("/monitors/9001")
    assert "nests more than 100 levels" in deep_ne.reason and "whether it watches a dead-letter queue" in deep_ne.reason
    assert "characters long" in huge_ne.reason
    assert len(deep_ne.message) < 1000 and len(huge_ne.message) < 1000  # the query is not copied into the report
    # every DLQ is still evaluated as in the seeded table
    got = by_resource(report)
    for dlq, want in seed_datadog.EXPECTED.items():
        if dlq == "payments-dlq":
            continue
        assert want.get("fail", set()) <= got[dlq]["fail"], (dlq, got[dlq])
        assert not got[dlq]["not-evaluated"], (dlq, got[dlq])
    # neither unreadable query can be about notifications-priority-dlq: its DD-1 stands, fully confident
    dd1 = next(f for f in report.findings if f.rule == "DD-1" and f.resource.id == "notifications-priority-dlq")
    assert dd1.status is Status.FAIL and dd1.confidence is Confidence.HIGH


def test_same_dlq_name_in_two_regions(fresh_aws, monkeypatch):
    for k, v in fresh_aws.env().items():
        monkeypatch.setenv(k, v)
    for region in ("us-east-1", "eu-west-1"):
        sqs = fresh_aws.client("sqs", region)
        url = sqs.create_queue(QueueName="jobs-dlq")["QueueUrl"]
        arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        sqs.create_queue(QueueName="jobs", Attributes={
            "RedrivePolicy": f'{{"deadLetterTargetArn":"{arn}","maxReceiveCount":"5"}}'})
    from auditor.demo.datadog_server import DatadogServer, monitor

    mons = [monitor(1, "jobs-dlq (us-east-1)",
                    "change(avg(last_15m),last_15m):max:aws.sqs.approximate_number_of_messages_visible"
                    "{queuename:jobs-dlq,region:us-east-1} > 0", options={"evaluation_delay": 900})]
    with DatadogServer(mons, api_key=API_KEY, app_key=APP_KEY).start() as server:
        inv, report = scan(settings_for(server), regions=("us-east-1", "eu-west-1"))
    dd1 = {f.resource.region: f for f in report.findings if f.rule == "DD-1"}
    assert dd1["us-east-1"].status is Status.PASS
    assert dd1["eu-west-1"].status is Status.FAIL and "eu-west-1" in dd1["eu-west-1"].message
    assert dd1["eu-west-1"].evidence["same_name_in_regions"] == ["us-east-1"]


def test_queue_with_unreadable_attributes_is_not_evaluated(aws_env, dd_server, monkeypatch):
    """payments' RedrivePolicy cannot be read, so payments-dlq is unknown: say so instead of skipping it."""
    from botocore.exceptions import ClientError

    from auditor.inventory.core import translate

    real_call = AwsAccount.call

    def call(self, service, region, operation, **params):
        if operation == "GetQueueAttributes" and params.get("QueueUrl", "").endswith("/payments"):
            denied = ClientError({"Error": {"Code": "AccessDenied", "Message": "not for you"},
                                  "ResponseMetadata": {"HTTPStatusCode": 403}}, operation)
            raise translate(denied, service, operation)
        return real_call(self, service, region, operation, **params)

    monkeypatch.setattr(AwsAccount, "call", call)
    _, report = scan(settings_for(dd_server))
    ne = [f for f in report.not_evaluated if f.rule in DD_RULES]
    assert {f.rule for f in ne} == DD_RULES
    assert {f.resource.id for f in ne} == {"payments"}
    for f in ne:
        assert f.resource.type == "sqs-queue" and f.resource.arn.endswith(":payments")
        assert f.iam_action == "sqs:GetQueueAttributes"
        assert "access denied to sqs:GetQueueAttributes" in f.reason
        assert "RedrivePolicy could not be read" in f.reason and "may be missing" in f.reason
    # the DLQ it feeds is indeed invisible; the other DLQs are still evaluated
    assert "payments-dlq" not in by_resource(report)
    assert "orders-dlq" in by_resource(report)
