"""No pass without complete evidence (SC-1, SC-2): when some services' configuration could not be read, a Lambda
function that would otherwise pass is *not evaluated*, with the reason and the IAM action, while one that fails
on a name or service that *is* known still fails. Over the seeded shop account (moto), with one call denied."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from botocore.exceptions import ClientError

from auditor import engine
from auditor.inventory import Inventory
from auditor.model import Status

LAMBDAS = ("stock-sync", "search-indexer", "price-alerts", "price-sync", "catalog-feed")


def _deny(operation: str, when: Callable[[dict], bool]):
    def handler(params, **_):
        if when(params):
            raise ClientError({"Error": {"Code": "AccessDeniedException", "Message": "not for this test"},
                               "ResponseMetadata": {"HTTPStatusCode": 400}}, operation)
    return handler


def _scan(seeded_aws, checks, operation: str, when: Callable[[dict], bool]):
    from auditor.inventory.aws import AwsAccount

    with pytest.MonkeyPatch.context() as mp:
        for key, value in seeded_aws.env().items():
            mp.setenv(key, value)
        aws = AwsAccount("demo")
        aws.session.events.register(f"provide-client-params.ecs.{operation}", _deny(operation, when))
        inv = Inventory(aws, ["us-east-1"])
        try:
            return engine.run(inv, checks, target={})
        finally:
            inv.close()


def _lambda_outcomes(report, rule: str) -> dict[str, list]:
    return {name: [f for f in report.findings if f.rule == rule and f.resource.id == name] for name in LAMBDAS}


def test_sc1_with_a_cluster_whose_services_cannot_be_described(seeded_aws):
    from auditor.checks import ecs_service_connect as sc

    report = _scan(seeded_aws, [sc.lambda_calls_service_connect_name], "DescribeServices",
                   lambda p: p.get("cluster", "").endswith("/backoffice"))
    got = _lambda_outcomes(report, "SC-1")
    # failures on names that are known stay failures
    assert [f.status for f in got["stock-sync"]] == [Status.FAIL]
    assert [f.status for f in got["search-indexer"]] == [Status.FAIL]
    assert [f.status for f in got["price-alerts"]] == [Status.FAIL]
    # a pass would claim no service of the region has the names they call: backoffice's are unknown
    for name in ("price-sync", "catalog-feed"):
        assert [(f.status, f.iam_action) for f in got[name]] == [(Status.NOT_EVALUATED, "ecs:DescribeServices")]
        assert "cluster backoffice" in got[name][0].reason and "access denied" in got[name][0].reason
    cluster = [f for f in report.not_evaluated if f.resource.type == "ecs-cluster"]
    assert [f.resource.id for f in cluster] == ["backoffice"]
    assert not report.complete


def test_sc2_with_a_cluster_whose_services_cannot_be_described(seeded_aws):
    from auditor.checks import ecs_service_connect as sc

    report = _scan(seeded_aws, [sc.lambda_network_reaches_sc_only], "DescribeServices",
                   lambda p: p.get("cluster", "").endswith("/backoffice"))
    got = _lambda_outcomes(report, "SC-2")
    assert [f.status for f in got["stock-sync"]] == [Status.FAIL]  # inventory-api is known and admits it
    for name in ("price-sync", "price-alerts"):
        assert [(f.status, f.iam_action) for f in got[name]] == [(Status.NOT_EVALUATED, "ecs:DescribeServices")]
    assert not [f for fs in got.values() for f in fs if f.status is Status.PASS]


def test_sc2_with_a_task_definition_that_cannot_be_described(seeded_aws):
    """inventory-api's port comes from its task definition: without it, the function its security group admits
    is neither flagged nor passed."""
    from auditor.checks import ecs_service_connect as sc

    report = _scan(seeded_aws, [sc.lambda_network_reaches_sc_only], "DescribeTaskDefinition",
                   lambda p: "task-definition/inventory-api:" in p.get("taskDefinition", ""))
    got = _lambda_outcomes(report, "SC-2")
    assert [(f.status, f.iam_action) for f in got["stock-sync"]] == [
        (Status.NOT_EVALUATED, "ecs:DescribeTaskDefinition")]
    assert "shop/inventory-api" in got["stock-sync"][0].reason
    # price-sync's security group is admitted by no Service-Connect-only service on any port: still a pass
    assert [f.status for f in got["price-sync"]] == [Status.PASS]
    assert [f.resource.id for f in report.not_evaluated if f.resource.type == "ecs-service"] == ["shop/inventory-api"]
