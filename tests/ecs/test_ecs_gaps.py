"""What SC-1..SC-4 and FL-* do when part of the picture is missing or implicit (botocore ``Stubber`` accounts):

* a client alias without ``dnsName`` is ``discoveryName.namespace`` (``portName.namespace``), as ECS names it;
* a Service Connect namespace whose name cannot be resolved (``ListNamespaces`` denied, or the namespace not
  listed) makes the services that
  depend on it *not evaluated* — never a pass, never a finding built on an empty name;
* ``DescribeServices`` ``failures[]`` entries are reported as not evaluated;
* SC-2 reads the region's shared EC2 inventory (``region.ec2``).
"""

from __future__ import annotations

import pytest
from auditor.checks import ecs_service_connect as sc
from auditor.checks import firelens as fl

from auditor import engine
from auditor.inventory.ec2 import SecurityGroup, Subnet
from auditor.inventory.ecs import ClientAlias, ServiceConnectService
from auditor.model import Status
from tests.ecs.stubs import ACCOUNT, CLUSTER, NS_ARN, REGION, deployment, service, svc_arn, td_arn

NS_ID = NS_ARN.rsplit("/", 1)[-1]
DNS_NS_ID = "ns-dns00000000000000"


def _taskdef(family: str, env: dict[str, str] | None = None) -> dict:
    return {"taskDefinition": {
        "taskDefinitionArn": td_arn(family), "family": family, "revision": 1,
        "containerDefinitions": [{
            "name": family, "image": f"{family}:1",
            "portMappings": [{"containerPort": 8080, "protocol": "tcp", "name": "http"}],
            "environment": [{"name": k, "value": v} for k, v in (env or {}).items()],
        }],
    }}


def _account(stubbed, services: list[dict], *, taskdefs: dict[str, dict] | None = None,
             functions: list[dict] | None = None, failures: list[dict] | None = None) -> None:
    """One cluster ``shop`` with ``services`` (their task definitions described in ARN order)."""
    ecs = stubbed.stub("ecs")
    ecs.add_response("list_clusters", {"clusterArns": [CLUSTER]})
    arns = [s["serviceArn"] for s in services] + [f["arn"] for f in failures or []]
    ecs.add_response("list_services", {"serviceArns": arns})
    ecs.add_response("describe_services", {"services": services, "failures": failures or []},
                     {"cluster": CLUSTER, "services": arns})
    for family in sorted(taskdefs or {}):
        ecs.add_response("describe_task_definition", taskdefs[family], {"taskDefinition": td_arn(family)})
    if functions is not None:  # only checks that read Lambda functions list them
        stubbed.stub("lambda").add_response("list_functions", {"Functions": functions})


def _function(name: str, env: dict[str, str], **extra) -> dict:
    return {"FunctionName": name, "FunctionArn": f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{name}",
            "Timeout": 30, "Environment": {"Variables": env}, **extra}


def _sc(namespace: str, *entries: dict) -> dict:
    return {"enabled": True, "namespace": namespace, "services": list(entries)}


def _deny_list_namespaces(stubbed) -> None:
    stubbed.stub("servicediscovery").add_client_error(
        "list_namespaces", service_error_code="AccessDeniedException", service_message="no",
        http_status_code=400, expected_params={"MaxResults": 100})


def _list_namespaces(stubbed, *namespaces: dict) -> None:
    """``ListNamespaces`` as AWS answers it (one page), for the namespaces given."""
    stubbed.stub("servicediscovery").add_response("list_namespaces", {"Namespaces": list(namespaces)},
                                                  {"MaxResults": 100})


DNS_NS = {"Id": DNS_NS_ID, "Arn": NS_ARN.replace(NS_ID, DNS_NS_ID), "Name": "shop.local", "Type": "DNS_PRIVATE"}


def _run(stubbed, checks) -> list:
    inv = stubbed.inventory()
    try:
        return engine.run(inv, checks, target={}).findings
    finally:
        inv.close()


def _by(findings, rule: str, resource_id: str) -> list:
    return [f for f in findings if f.rule == rule and f.resource.id == resource_id]


# Endpoint names ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("entry", "names"),
    [
        (ServiceConnectService("http", "inventory-api", (ClientAlias("", 8080),)), ["inventory-api.shop"]),
        (ServiceConnectService("http", "", (ClientAlias("", 8080),)), ["http.shop"]),  # portName.namespace
        (ServiceConnectService("http", "inv", (ClientAlias("inv-api", 8080), ClientAlias("", 9090))),
         ["inv-api", "inv.shop"]),
        (ServiceConnectService("http", "inv", (ClientAlias("inv-api", 8080),)), ["inv-api"]),
        (ServiceConnectService("http", "inv", ()), ["inv.shop"]),
    ],
)
def test_endpoint_names_default_for_aliases_without_dns_name(entry, names):
    assert entry.endpoint_names("shop") == names


def test_endpoint_names_without_the_namespace_name_leave_the_default_out():
    entry = ServiceConnectService("http", "inv", (ClientAlias("inv-api", 8080), ClientAlias("", 9090)))
    assert entry.needs_namespace and entry.endpoint_names(None) == ["inv-api"]
    assert not ServiceConnectService("http", "inv", (ClientAlias("inv-api", 8080),)).needs_namespace


def test_sc1_fires_on_the_default_name_of_an_alias_without_dns_name(stubbed):
    cfg = _sc("shop", {"portName": "http", "discoveryName": "inventory-api", "clientAliases": [{"port": 8080}]})
    _account(stubbed, [service("inventory-api", [deployment("PRIMARY", td_arn("inventory-api"), cfg)])],
             functions=[_function("stock-sync", {"INVENTORY_API_URL": "http://inventory-api.shop:8080/v1"})])
    findings = _run(stubbed, [sc.lambda_calls_service_connect_name])
    assert [(f.status, f.evidence.get("endpoint")) for f in _by(findings, "SC-1", "stock-sync")] == [
        (Status.FAIL, "inventory-api.shop")]
    assert not [f for f in findings if f.status is Status.NOT_EVALUATED], [f.message for f in findings]


# SC-1 is judged by name -------------------------------------------------------------------------------------
def _pricing_in_dns_and_service_connect(stubbed, functions: list[dict], *, registry_readable: bool = True) -> None:
    registry = f"arn:aws:servicediscovery:{REGION}:{ACCOUNT}:service/srv-pricing1"
    pricing = service("pricing", [deployment("PRIMARY", td_arn("pricing"), _sc(
        "shop", {"portName": "http", "clientAliases": [{"port": 8080, "dnsName": "pricing-api"},
                                                       {"port": 8081, "dnsName": "pricing.internal.shop"}]}))],
        serviceRegistries=[{"registryArn": registry}])
    _account(stubbed, [pricing], functions=functions)
    cm = stubbed.stub("servicediscovery")
    if not registry_readable:
        cm.add_client_error("get_service", service_error_code="AccessDeniedException", http_status_code=400,
                            expected_params={"Id": "srv-pricing1"})
        return
    cm.add_response("get_service", {"Service": {
        "Id": "srv-pricing1", "Arn": registry, "Name": "pricing", "NamespaceId": DNS_NS_ID,
        "DnsConfig": {"DnsRecords": [{"Type": "A", "TTL": 10}]}}}, {"Id": "srv-pricing1"})
    _list_namespaces(stubbed, DNS_NS)


def test_sc1_alias_of_a_service_also_in_dns_under_another_name(stubbed):
    _pricing_in_dns_and_service_connect(stubbed, [
        _function("alias-caller", {"PRICING_URL": "http://pricing-api:8080"}),
        _function("dns-caller", {"PRICING_URL": "http://pricing.shop.local.:8080"}),  # a trailing dot is the same
    ])
    findings = _run(stubbed, [sc.lambda_calls_service_connect_name])
    (f,) = _by(findings, "SC-1", "alias-caller")
    assert f.status is Status.FAIL and "use that name" in f.message and "pricing.shop.local" in f.message
    assert [x.status for x in _by(findings, "SC-1", "dns-caller")] == [Status.PASS]


def test_sc1_single_label_alias_is_service_connect_only_even_when_the_registry_is_unreadable(stubbed):
    """A Cloud Map DNS name is always <service>.<namespace>: an unreadable registry cannot make a single-label
    alias resolvable, but may make a dotted one so."""
    _pricing_in_dns_and_service_connect(stubbed, [
        _function("alias-caller", {"PRICING_URL": "http://pricing-api:8080"}),
        _function("dotted-caller", {"PRICING_URL": "http://pricing.internal.shop:8081"}),
    ], registry_readable=False)
    findings = _run(stubbed, [sc.lambda_calls_service_connect_name])
    (f,) = _by(findings, "SC-1", "alias-caller")
    assert f.status is Status.FAIL and "single-label" in f.message
    got = _by(findings, "SC-1", "dotted-caller")
    assert [(x.status, x.iam_action) for x in got] == [(Status.NOT_EVALUATED, "servicediscovery:GetService")]


# Namespace name unknown (ListNamespaces denied) ---------------------------------------------------------------
def _denied_namespace_account(stubbed, *, taskdefs: bool = True, functions: bool = True) -> None:
    cart = service("cart", [deployment("PRIMARY", td_arn("cart"), _sc(NS_ARN))])
    checkout = service("checkout", [deployment("PRIMARY", td_arn("checkout"), _sc("shop"))])
    inventory = service("inventory-api", [deployment("PRIMARY", td_arn("inventory-api"), _sc(
        NS_ARN, {"portName": "http", "discoveryName": "inventory-api", "clientAliases": [{"port": 8080}]}))])
    _account(
        stubbed, [cart, checkout, inventory],
        taskdefs={"cart": _taskdef("cart"), "checkout": _taskdef("checkout", {"CART_URL": "http://cart:8080"}),
                  "inventory-api": _taskdef("inventory-api")} if taskdefs else None,
        functions=[_function("stock-sync", {"INVENTORY_API_URL": "http://inventory-api.shop:8080/v1"}),
                   _function("price-sync", {"PRICING_URL": "http://pricing.shop.local:8080"})] if functions else None,
    )
    _deny_list_namespaces(stubbed)


def test_sc4_namespace_denied_is_not_evaluated_not_a_pass(stubbed):
    _denied_namespace_account(stubbed, functions=False)  # SC-4 reads no Lambda function
    findings = _run(stubbed, [sc.unreachable_service_connect_role])
    for name in ("cart", "inventory-api"):  # their own namespace is the denied one
        got = _by(findings, "SC-4", f"shop/{name}")
        assert [(f.status, f.iam_action) for f in got] == [(Status.NOT_EVALUATED, "servicediscovery:ListNamespaces")]
        assert "namespace" in got[0].reason
    # checkout's namespace is known; nothing that might share it calls it by name
    assert [f.status for f in _by(findings, "SC-4", "shop/checkout")] == [Status.PASS]


def test_sc4_client_server_with_possible_peers_in_an_unknown_namespace_is_not_evaluated(stubbed):
    reviews = service("reviews", [deployment("PRIMARY", td_arn("reviews"), _sc(
        "shop", {"portName": "http", "clientAliases": [{"port": 8080, "dnsName": "reviews"}]}))])
    web = service("web", [deployment("PRIMARY", td_arn("web"), _sc(NS_ARN))])  # maybe in "shop" too
    _account(stubbed, [reviews, web], taskdefs={"reviews": _taskdef("reviews"), "web": _taskdef("web")})
    _deny_list_namespaces(stubbed)
    findings = _run(stubbed, [sc.unreachable_service_connect_role])
    got = _by(findings, "SC-4", "shop/reviews")
    assert [(f.status, f.iam_action) for f in got] == [(Status.NOT_EVALUATED, "servicediscovery:ListNamespaces")]
    assert "shop/web" in got[0].reason


def test_sc4_client_only_with_an_unreadable_caller_task_definition_is_not_evaluated(stubbed):
    cart = service("cart", [deployment("PRIMARY", td_arn("cart"), _sc("shop"))])
    checkout = service("checkout", [deployment("PRIMARY", td_arn("checkout"), _sc("shop"))])
    _account(stubbed, [cart, checkout], taskdefs={"cart": _taskdef("cart")})
    stubbed.stub("ecs").add_client_error("describe_task_definition", service_error_code="AccessDeniedException",
                                         http_status_code=400, expected_params={"taskDefinition": td_arn("checkout")})
    findings = _run(stubbed, [sc.unreachable_service_connect_role])
    got = _by(findings, "SC-4", "shop/cart")
    assert [(f.status, f.iam_action) for f in got] == [(Status.NOT_EVALUATED, "ecs:DescribeTaskDefinition")]


def test_sc1_namespace_denied_makes_a_possible_caller_not_evaluated(stubbed):
    _denied_namespace_account(stubbed, taskdefs=False)  # SC-1 reads no task definition
    findings = _run(stubbed, [sc.lambda_calls_service_connect_name])
    fn = _by(findings, "SC-1", "stock-sync")  # names inventory-api.shop: maybe that endpoint
    assert [(f.status, f.iam_action) for f in fn] == [(Status.NOT_EVALUATED, "servicediscovery:ListNamespaces")]
    assert "INVENTORY_API_URL" in fn[0].reason and "/v1" not in fn[0].message
    assert [f.status for f in _by(findings, "SC-1", "price-sync")] == [Status.PASS]  # cannot be that endpoint
    svc = _by(findings, "SC-1", "shop/inventory-api")
    assert [(f.status, f.iam_action) for f in svc] == [(Status.NOT_EVALUATED, "servicediscovery:ListNamespaces")]
    assert "inventory-api.<namespace>" in svc[0].reason


def test_sc3_caller_in_an_unknown_namespace_is_not_evaluated(stubbed):
    registry = f"arn:aws:servicediscovery:{REGION}:{ACCOUNT}:service/srv-ship0001"
    shipping = service("shipping", [deployment("PRIMARY", td_arn("shipping"))],
                       serviceRegistries=[{"registryArn": registry}])
    fulfilment = service("fulfilment", [deployment("PRIMARY", td_arn("fulfilment"), _sc(NS_ARN))])
    _account(stubbed, [fulfilment, shipping],
             taskdefs={"fulfilment": _taskdef("fulfilment", {"SHIPPING_URL": "http://shipping.shop.local:8080"}),
                       "shipping": _taskdef("shipping")}, functions=[])
    # The Service Connect namespace (given as ARN) of the caller is not among those Cloud Map lists.
    _list_namespaces(stubbed, DNS_NS)
    stubbed.stub("servicediscovery").add_response("get_service", {"Service": {
        "Id": "srv-ship0001", "Arn": registry, "Name": "shipping", "NamespaceId": DNS_NS_ID,
        "DnsConfig": {"DnsRecords": [{"Type": "A", "TTL": 10}]}}}, {"Id": "srv-ship0001"})
    findings = _run(stubbed, [sc.dns_discovery_only_ecs_callers])
    got = _by(findings, "SC-3", "shop/shipping")
    assert [(f.status, f.iam_action) for f in got] == [(Status.NOT_EVALUATED, "servicediscovery:ListNamespaces")]
    assert "shop/fulfilment" in got[0].reason


# DescribeServices failures[] ---------------------------------------------------------------------------------
def test_describe_services_failures_are_not_evaluated_by_both_families(stubbed):
    web = service("web", [deployment("PRIMARY", td_arn("web"))])
    _account(stubbed, [web], taskdefs={"web": _taskdef("web")}, functions=[],
             failures=[{"arn": svc_arn("gone"), "reason": "MISSING", "detail": "deleted meanwhile"}])
    findings = _run(stubbed, [sc.lambda_calls_service_connect_name, fl.no_log_router])
    gone = [f for f in findings if f.resource.id == "shop/gone"]
    assert sorted((f.rule, f.status, f.iam_action, f.resource.type, f.resource.arn) for f in gone) == [
        (rule, Status.NOT_EVALUATED, "ecs:DescribeServices", "ecs-service", svc_arn("gone"))
        for rule in ("FL-1", "SC-1")
    ]
    assert all("MISSING" in f.reason and "deleted meanwhile" in f.reason for f in gone)


def test_cluster_errors_are_reported_once_per_check_by_both_families(stubbed):
    ecs = stubbed.stub("ecs")
    ecs.add_response("list_clusters", {"clusterArns": [CLUSTER]})
    ecs.add_client_error("list_services", service_error_code="AccessDeniedException", http_status_code=400)
    findings = _run(stubbed, [sc.unreachable_service_connect_role, fl.no_log_router])
    assert sorted((f.rule, f.resource.type, f.resource.id, f.iam_action) for f in findings) == [
        ("FL-1", "ecs-cluster", "shop", "ecs:ListServices"), ("SC-4", "ecs-cluster", "shop", "ecs:ListServices")]


# SC-2 reads region.ec2 ---------------------------------------------------------------------------------------
class _FakeEc2:
    def __init__(self) -> None:
        self._subnets = {"subnet-a": Subnet("subnet-a", "vpc-1", "10.0.1.0/24")}
        rule = lambda *src: {"IpPermissions": [{"IpProtocol": "tcp", "FromPort": 8080, "ToPort": 8080,  # noqa: E731
                                                "UserIdGroupPairs": [{"GroupId": g} for g in src]}]}
        self._groups = {
            "sg-inv": SecurityGroup("sg-inv", "inv", "vpc-1", rule("sg-lambda")),
            "sg-search": SecurityGroup("sg-search", "search", "vpc-1", rule("sg-indexer")),
        }

    def subnets(self):
        return self._subnets

    def security_groups(self):
        return self._groups

    def vpc_of_subnets(self, ids):
        return {self._subnets[s].vpc_id for s in ids if s in self._subnets}


def test_sc2_uses_the_region_ec2_inventory_and_registry_errors_are_not_evaluated(stubbed):
    net = lambda sg: {"awsvpcConfiguration": {"subnets": ["subnet-a"], "securityGroups": [sg]}}  # noqa: E731
    entry = {"portName": "http", "clientAliases": [{"port": 8080, "dnsName": "x"}]}
    registry = f"arn:aws:servicediscovery:{REGION}:{ACCOUNT}:service/srv-search01"
    inv_svc = service("inventory-api", [deployment("PRIMARY", td_arn("inventory-api"), _sc("shop", entry))],
                      networkConfiguration=net("sg-inv"))
    search = service("search", [deployment("PRIMARY", td_arn("search"), _sc("shop", entry))],
                     networkConfiguration=net("sg-search"), serviceRegistries=[{"registryArn": registry}])
    vpc = lambda sg: {"VpcConfig": {"SubnetIds": ["subnet-a"], "SecurityGroupIds": [sg], "VpcId": "vpc-1"}}  # noqa: E731
    _account(stubbed, [inv_svc, search],
             taskdefs={"inventory-api": _taskdef("inventory-api"), "search": _taskdef("search")},
             functions=[_function("stock-sync", {}, **vpc("sg-lambda")),
                        _function("indexer", {}, **vpc("sg-indexer"))])
    stubbed.stub("servicediscovery").add_client_error(
        "get_service", service_error_code="AccessDeniedException", http_status_code=400,
        expected_params={"Id": "srv-search01"})
    inv = stubbed.inventory()
    inv.regions[0].__dict__["ec2"] = _FakeEc2()  # what `region.ec2` returns; no EC2 call is stubbed
    try:
        findings = engine.run(inv, [sc.lambda_network_reaches_sc_only], target={}).findings
    finally:
        inv.close()
    assert [(f.status, f.evidence.get("service")) for f in _by(findings, "SC-2", "stock-sync")] == [
        (Status.FAIL, svc_arn("inventory-api"))]
    # search may be in DNS too (its registry could not be read): the indexer it admits is not a pass
    got = _by(findings, "SC-2", "indexer")
    assert [(f.status, f.iam_action) for f in got] == [(Status.NOT_EVALUATED, "servicediscovery:GetService")]
    assert "shop/search" in got[0].reason
