"""The ECS and Cloud Map inventories against botocore ``Stubber`` responses.

Stubber validates every canned response against botocore's service model, so these shapes are the real API's:
Service Connect on ``deployments[]`` with ``serviceConnectResources``, pagination tokens moto never returns,
DescribeServices limited to 10 services, access denied.
"""

from __future__ import annotations

import pytest
from auditor.checks import ecs_service_connect as sc

from auditor import engine
from auditor.inventory.ecs import EcsService
from auditor.model import Status
from tests.ecs.stubs import ACCOUNT, CLUSTER, NS_ARN, REGION, deployment, service, svc_arn, td_arn


def test_services_paginate_and_describe_in_batches_of_ten(stubbed):
    ecs = stubbed.stub("ecs")
    other = f"arn:aws:ecs:{REGION}:{ACCOUNT}:cluster/empty"
    ecs.add_response("list_clusters", {"clusterArns": [CLUSTER], "nextToken": "c2"}, {"maxResults": 100})
    ecs.add_response("list_clusters", {"clusterArns": [other]}, {"maxResults": 100, "nextToken": "c2"})
    names = [f"svc-{i:02d}" for i in range(12)]
    # clusters are visited in sorted order: "empty" first
    ecs.add_response("list_services", {"serviceArns": []}, {"cluster": other, "maxResults": 100})
    ecs.add_response("list_services", {"serviceArns": [svc_arn(n) for n in names[:7]], "nextToken": "p2"},
                     {"cluster": CLUSTER, "maxResults": 100})
    ecs.add_response("list_services", {"serviceArns": [svc_arn(n) for n in names[7:]]},
                     {"cluster": CLUSTER, "maxResults": 100, "nextToken": "p2"})
    for chunk in (names[:10], names[10:]):
        ecs.add_response(
            "describe_services",
            {"services": [service(n, [deployment("PRIMARY", td_arn(n))]) for n in chunk], "failures": []},
            {"cluster": CLUSTER, "services": [svc_arn(n) for n in chunk]},
        )
    inv = stubbed.inventory()
    got = inv.regions[0].ecs.services()
    assert inv.regions[0].ecs.service_errors() == []
    assert [s.name for s in got] == names
    assert inv.stats.calls["ecs:DescribeServices"] == 2
    inv.close()


def test_task_definitions_are_described_once_however_many_services_share_them(stubbed):
    ecs = stubbed.stub("ecs")
    ecs.add_response("list_clusters", {"clusterArns": [CLUSTER]})
    names = ["web-a", "web-b", "web-c"]
    ecs.add_response("list_services", {"serviceArns": [svc_arn(n) for n in names]})
    shared, old = td_arn("web", 3), td_arn("web", 2)
    ecs.add_response("describe_services", {"services": [
        service("web-a", [deployment("PRIMARY", shared)]),
        service("web-b", [deployment("PRIMARY", shared), deployment("ACTIVE", old)]),  # a rollout
        service("web-c", [deployment("PRIMARY", shared)]),
    ]})
    for arn, rev in ((old, 2), (shared, 3)):
        ecs.add_response(
            "describe_task_definition",
            {"taskDefinition": {"taskDefinitionArn": arn, "family": "web", "revision": rev,
                                "taskRoleArn": f"arn:aws:iam::{ACCOUNT}:role/web-task",
                                "containerDefinitions": [{"name": "web", "image": "web:1"}]}},
            {"taskDefinition": arn},
        )
    inv = stubbed.inventory()
    ecs_inv = inv.regions[0].ecs
    in_use = ecs_inv.task_definitions_in_use()
    assert [(t.label, t.task_role_arn, len(t.used_by)) for t in in_use] == [
        ("web:2", f"arn:aws:iam::{ACCOUNT}:role/web-task", 1),
        ("web:3", f"arn:aws:iam::{ACCOUNT}:role/web-task", 3),
    ]
    assert ecs_inv.task_definition(shared).raw["revision"] == 3  # cached: no further call
    assert inv.stats.calls["ecs:DescribeTaskDefinition"] == 2
    inv.close()


def test_service_connect_is_read_from_deployments_not_the_service():
    cfg_new = {"enabled": True, "namespace": NS_ARN, "services": [
        {"portName": "http", "discoveryName": "search", "clientAliases": [{"port": 8080, "dnsName": "search"}]}]}
    cfg_old = {"enabled": True, "namespace": "shop", "services": [{"portName": "http"}]}
    raw = service("search", [deployment("PRIMARY", td_arn("search", 2), cfg_new),
                             deployment("ACTIVE", td_arn("search", 1), cfg_old),
                             deployment("INACTIVE", td_arn("search", 0), cfg_old)])
    raw["serviceConnectConfiguration"] = {"enabled": False}  # a field AWS never returns: must be ignored
    svc = EcsService("search", raw["serviceArn"], CLUSTER, REGION, ACCOUNT, raw)
    assert [c.deployment_status for c in svc.service_connect] == ["PRIMARY", "ACTIVE"]
    assert svc.primary_service_connect.role == "client-server"
    assert svc.service_connect[0].services[0].endpoint_names("shop") == ["search"]
    assert svc.service_connect[1].services[0].endpoint_names("shop") == ["http.shop"]  # portName.namespace
    assert svc.task_definition_arns == [td_arn("search", 2), td_arn("search", 1)]
    client = EcsService("c", "arn:c", CLUSTER, REGION, ACCOUNT,
                        service("c", [deployment("PRIMARY", td_arn("c"), {"enabled": True, "namespace": "shop"})]))
    assert client.primary_service_connect.role == "client"
    plain = EcsService("p", "arn:p", CLUSTER, REGION, ACCOUNT, service("p", [deployment("PRIMARY", td_arn("p"))]))
    assert plain.primary_service_connect is None and not plain.service_connect_enabled


def _sc1_account(stubbed, *, namespace_ref: str, registry: bool):
    ecs, cm, lam = stubbed.stub("ecs"), stubbed.stub("servicediscovery"), stubbed.stub("lambda")
    ecs.add_response("list_clusters", {"clusterArns": [CLUSTER]})
    ecs.add_response("list_services", {"serviceArns": [svc_arn("inventory-api")]})
    cfg = {"enabled": True, "namespace": namespace_ref,
           "services": [{"portName": "http", "discoveryName": "inventory-api"}]}
    resources = [{"discoveryName": "inventory-api",
                  "discoveryArn": f"arn:aws:servicediscovery:{REGION}:{ACCOUNT}:service/srv-inv00001"}]
    extra = {}
    if registry:
        extra["serviceRegistries"] = [{"registryArn": f"arn:aws:servicediscovery:{REGION}:{ACCOUNT}:service/srv-dns00001"}]
    ecs.add_response("describe_services", {"services": [
        service("inventory-api", [deployment("PRIMARY", td_arn("inventory-api"), cfg, resources)], **extra)]})
    ns = {"Id": "ns-shop0000000000000", "Arn": NS_ARN, "Name": "shop", "Type": "HTTP",
          "Properties": {"HttpProperties": {"HttpName": "shop"}}}
    dns_ns = {"Id": "ns-dns00000000000000", "Arn": NS_ARN.replace("ns-shop0000000000000", "ns-dns00000000000000"),
              "Name": "shop.local", "Type": "DNS_PRIVATE"}
    if namespace_ref.startswith("arn:"):  # a name needs no Cloud Map call at all
        cm.add_response("list_namespaces", {"Namespaces": [ns, dns_ns]}, {"MaxResults": 100})
    if registry:
        cm.add_response("get_service", {"Service": {
            "Id": "srv-dns00001", "Arn": extra["serviceRegistries"][0]["registryArn"], "Name": "inventory-api",
            "NamespaceId": "ns-dns00000000000000",
            "DnsConfig": {"DnsRecords": [{"Type": "A", "TTL": 10}]}}}, {"Id": "srv-dns00001"})
        if not namespace_ref.startswith("arn:"):
            cm.add_response("list_namespaces", {"Namespaces": [ns, dns_ns]}, {"MaxResults": 100})
    fn_arn = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:stock-sync"
    lam.add_response("list_functions", {"Functions": [{
        "FunctionName": "stock-sync", "FunctionArn": fn_arn, "Timeout": 30,
        "Environment": {"Variables": {"INVENTORY_API_URL": "http://user:s3cr3t@INVENTORY-API.shop:8080/v1",
                                      "SHOP_URL": "arn:aws:ssm:us-east-1:123456789012:parameter/shop/url"}}}]})


@pytest.mark.parametrize("namespace_ref", ["shop", NS_ARN])
def test_sc1_on_real_api_shapes(stubbed, namespace_ref):
    _sc1_account(stubbed, namespace_ref=namespace_ref, registry=False)
    inv = stubbed.inventory()
    report = engine.run(inv, [sc.lambda_calls_service_connect_name], target={})
    inv.close()
    failed = [f for f in report.findings if f.status is Status.FAIL]
    assert len(failed) == 1
    f = failed[0]
    assert f.resource.id == "stock-sync"
    assert "INVENTORY_API_URL" in f.message and "shop/inventory-api" in f.message
    assert "s3cr3t" not in f.message and "s3cr3t" not in str(dict(f.evidence))  # the value is never shown
    undeterminable = [x for x in report.findings if x.status is Status.NOT_EVALUATED]
    assert [x.key for x in undeterminable] == ["SHOP_URL"] and "not determinable" in undeterminable[0].message
    assert inv.stats.calls.get("servicediscovery:ListNamespaces", 0) == (1 if namespace_ref.startswith("arn:") else 0)


def test_sc1_name_also_in_dns_still_fails_but_points_to_the_dns_name(stubbed):
    # The Lambda uses the Service Connect name although a DNS name exists: still unresolvable, and the finding
    # says which DNS name to use instead.
    _sc1_account(stubbed, namespace_ref="shop", registry=True)
    inv = stubbed.inventory()
    report = engine.run(inv, [sc.lambda_calls_service_connect_name], target={})
    inv.close()
    failed = [f for f in report.findings if f.status is Status.FAIL]
    assert len(failed) == 1 and "inventory-api.shop.local" in failed[0].message


def test_listing_denied_is_not_evaluated_with_the_iam_action(stubbed):
    stubbed.stub("ecs").add_client_error("list_clusters", service_error_code="AccessDeniedException",
                                         service_message="not allowed", http_status_code=400)
    stubbed.stub("lambda").add_response("list_functions", {"Functions": []})  # prefetched by the engine
    inv = stubbed.inventory()
    report = engine.run(inv, [sc.lambda_calls_service_connect_name], target={})
    inv.close()
    assert [(f.status, f.iam_action) for f in report.findings] == [(Status.NOT_EVALUATED, "ecs:ListClusters")]


def test_cloudmap_namespaces_listed_once_per_region(stubbed):
    cm = stubbed.stub("servicediscovery")
    for sid in ("srv-a0000001", "srv-b0000001"):
        cm.add_response("get_service", {"Service": {"Id": sid, "Name": sid, "NamespaceId": "ns-dns00000000000000",
                                                    "DnsConfig": {"DnsRecords": [{"Type": "A", "TTL": 10}]}}},
                        {"Id": sid})
        if sid.startswith("srv-a"):  # a page token, as AWS pages at 100
            cm.add_response("list_namespaces", {"Namespaces": [{"Id": "ns-http0000000000000", "Name": "shop",
                                                                "Type": "HTTP"}], "NextToken": "t1"},
                            {"MaxResults": 100})
            cm.add_response("list_namespaces", {"Namespaces": [{"Id": "ns-dns00000000000000", "Name": "shop.local",
                                                                "Type": "DNS_PRIVATE"}]},
                            {"MaxResults": 100, "NextToken": "t1"})
    inv = stubbed.inventory()
    cloudmap = inv.regions[0].cloudmap
    regs = [cloudmap.registry(f"arn:aws:servicediscovery:{REGION}:{ACCOUNT}:service/{s}")
            for s in ("srv-a0000001", "srv-b0000001")]
    assert [r.dns_name for r in regs] == ["srv-a0000001.shop.local", "srv-b0000001.shop.local"]
    assert all(r.resolvable_by_dns for r in regs)
    assert inv.stats.calls["servicediscovery:ListNamespaces"] == 2  # both pages, once
    assert "servicediscovery:GetNamespace" not in inv.stats.calls
    inv.close()


def test_task_definition_denied_is_not_evaluated_for_firelens(stubbed):
    from auditor.checks import firelens

    ecs = stubbed.stub("ecs")
    ecs.add_response("list_clusters", {"clusterArns": [CLUSTER]})
    ecs.add_response("list_services", {"serviceArns": [svc_arn("web")]})
    ecs.add_response("describe_services", {"services": [service("web", [deployment("PRIMARY", td_arn("web"))])]})
    ecs.add_client_error("describe_task_definition", service_error_code="AccessDeniedException",
                         http_status_code=400)
    inv = stubbed.inventory()
    report = engine.run(inv, [firelens.plain_api_key, firelens.no_log_router], target={})
    inv.close()
    assert {(f.rule, f.status, f.resource.id, f.iam_action) for f in report.findings} == {
        ("FL-2", Status.NOT_EVALUATED, "web:1", "ecs:DescribeTaskDefinition"),
        ("FL-1", Status.NOT_EVALUATED, "web:1", "ecs:DescribeTaskDefinition"),
    }
    assert inv.stats.calls["ecs:DescribeTaskDefinition"] == 1  # the failure is cached, not retried per check
