"""The shop's ECS services: Service Connect vs Cloud Map discovery, FireLens → Datadog (check-rules.md §1, §2).

Cluster ``shop`` runs the storefront's services in one VPC. Service Connect uses the HTTP namespace ``shop``
(the cluster default; services give it by name, by ARN or not at all — the tool must normalise all three);
three older services use DNS discovery in the private DNS namespace ``shop.local``. Cluster ``backoffice`` holds
one service alone in its own namespace.

``EXPECTED`` lists, per resource id (``cluster/service`` for ECS services, ``family:revision`` for task
definitions, the function name for Lambda functions), the rules that must fire ("fail") or must not ("clean").
Task definitions with FL-1's defect cannot be registered in AWS; FL-1 is shown with a task-definition file
(``docs/ecs.md``, ``tests/ecs/data``).
"""

from __future__ import annotations

from typing import Any

CLUSTER = "shop"
BACKOFFICE = "backoffice"
SC_NAMESPACE = "shop"  # HTTP namespace, Service Connect
DNS_NAMESPACE = "shop.local"  # DNS_PRIVATE namespace, DNS service discovery
BACKOFFICE_NAMESPACE = "backoffice"
PORT = 8080

#: A made-up Datadog API key, planted in plain options (FL-2). No output may ever show it.
PLANTED_DD_API_KEY = "5f2d8c1e9a7b4f3c0e6d2a8b1c9f7e4d"
DD_SECRET_ARN = "arn:aws:secretsmanager:us-east-1:123456789012:secret:shop/datadog-api-key-AbCdEf"
FLUENT_BIT_IMAGE = "public.ecr.aws/aws-observability/aws-for-fluent-bit:stable"
AGENT_IMAGE = "public.ecr.aws/datadog/agent:latest"

EXPECTED: dict[str, dict[str, set[str]]] = {
    # Lambda functions
    "stock-sync": {"fail": {"SC-1", "SC-2"}},
    "search-indexer": {"fail": {"SC-1"}},
    "price-sync": {"clean": {"SC-1", "SC-2"}},
    "catalog-feed": {"clean": {"SC-1"}},
    "price-alerts": {"fail": {"SC-1"}},  # calls pricing's Service Connect alias, although pricing is also in DNS
    # ECS services
    "shop/checkout": {"clean": {"SC-4"}},
    "shop/catalog": {"clean": {"SC-4"}},
    "shop/inventory-api": {"clean": {"SC-4"}},
    "shop/cart": {"fail": {"SC-4"}},
    "shop/recommendations": {"clean": {"SC-4"}},
    "shop/search": {"clean": {"SC-4"}},
    "shop/storefront": {"clean": {"SC-4"}},
    "shop/shipping": {"fail": {"SC-3"}},
    "shop/fulfilment": {"clean": {"SC-3"}},
    "shop/pricing": {"clean": {"SC-3", "SC-4"}},
    "backoffice/reviews": {"fail": {"SC-4"}},
    # Task definitions
    "checkout:1": {"clean": {"FL-1", "FL-2", "FL-3", "FL-4", "FL-5", "FL-6", "FL-7", "FL-8"}},
    "storefront:1": {"clean": {"FL-1", "FL-2", "FL-3", "FL-4", "FL-5", "FL-6", "FL-7", "FL-8"}},
    "catalog:1": {"fail": {"FL-2"}, "clean": {"FL-1", "FL-3", "FL-4", "FL-5", "FL-6", "FL-8"}},
    "inventory-api:1": {"fail": {"FL-3"}, "clean": {"FL-1", "FL-2", "FL-4", "FL-5", "FL-8"}},
    "cart:1": {"fail": {"FL-5", "FL-6"}, "clean": {"FL-1", "FL-2", "FL-3"}},
    "recommendations:1": {"fail": {"FL-7"}, "clean": {"FL-2", "FL-3", "FL-5", "FL-6"}},
    "search:1": {"fail": {"FL-4", "FL-8"}, "clean": {"FL-2", "FL-3", "FL-5"}},
    "pricing:1": {"fail": {"FL-7"}},  # DD_AGENT_HOST on Fargate (low)
    "shipping:1": {"clean": {"FL-1", "FL-6", "FL-7"}},
}


# ------------------------------------------------------------------------------------------------------------
# Container building blocks
# ------------------------------------------------------------------------------------------------------------
def datadog_logs(service: str, source: str = "python", **overrides: Any) -> dict[str, Any]:
    """A healthy FireLens → Datadog logConfiguration; ``overrides`` change/remove (None) options."""
    options = {
        "Name": "datadog",
        "Host": "http-intake.logs.datadoghq.com",
        "TLS": "on",
        "dd_service": service,
        "dd_source": source,
        "dd_tags": "env:prod,team:shop",
        "provider": "ecs",
        "compress": "gzip",
    }
    plain_key = overrides.pop("apikey", None)
    blank_key = overrides.pop("blank_apikey", False)  # an empty apikey option beside the key in secretOptions
    for key, value in overrides.items():
        if value is None:
            options.pop(key, None)
        else:
            options[key] = value
    log: dict[str, Any] = {"logDriver": "awsfirelens", "options": options}
    if plain_key:
        options["apikey"] = plain_key
    else:
        log["secretOptions"] = [{"name": "apikey", "valueFrom": DD_SECRET_ARN}]
        if blank_key:
            options["apikey"] = ""
    return log


def awslogs(service: str) -> dict[str, Any]:
    return {
        "logDriver": "awslogs",
        "options": {"awslogs-group": f"/ecs/{service}", "awslogs-region": "us-east-1", "awslogs-stream-prefix": "ecs"},
    }


def app(name: str, *, log: dict[str, Any] | None, env: dict[str, str] | None = None, port: bool = True,
        **extra: Any) -> dict[str, Any]:
    container: dict[str, Any] = {
        "name": name,
        "image": f"123456789012.dkr.ecr.us-east-1.amazonaws.com/shop/{name}:1.4.2",
        "essential": True,
        "environment": [{"name": k, "value": v} for k, v in (env or {}).items()],
        **extra,
    }
    if port:
        container["portMappings"] = [{"containerPort": PORT, "protocol": "tcp", "name": "http", "appProtocol": "http"}]
    if log is not None:
        container["logConfiguration"] = log
    return container


def log_router(*, essential: bool | None = None) -> dict[str, Any]:
    container: dict[str, Any] = {
        "name": "log_router",
        "image": FLUENT_BIT_IMAGE,
        "firelensConfiguration": {"type": "fluentbit", "options": {"enable-ecs-log-metadata": "true"}},
        "memoryReservation": 50,
    }
    if essential is not None:
        container["essential"] = essential
    return container


def datadog_agent(*, apm: bool = True) -> dict[str, Any]:
    env = [{"name": "ECS_FARGATE", "value": "true"}]
    if apm:
        env.append({"name": "DD_APM_ENABLED", "value": "true"})
    return {
        "name": "datadog-agent",
        "image": AGENT_IMAGE,
        "essential": True,
        "environment": env,
        "secrets": [{"name": "DD_API_KEY", "valueFrom": DD_SECRET_ARN}],
        "portMappings": [{"containerPort": 8126, "protocol": "tcp"}],
    }


# ------------------------------------------------------------------------------------------------------------
# Seeding
# ------------------------------------------------------------------------------------------------------------
def seed(ctx) -> None:
    ec2 = ctx.client("ec2")
    ecs = ctx.client("ecs")
    sd = ctx.client("servicediscovery")

    # Network: one VPC, two private subnets, security groups for tasks and Lambda functions.
    vpc = ec2.create_vpc(CidrBlock="10.20.0.0/16")["Vpc"]["VpcId"]
    ec2.create_tags(Resources=[vpc], Tags=[{"Key": "Name", "Value": "shop"}])
    subnets = [
        ec2.create_subnet(VpcId=vpc, CidrBlock=cidr, AvailabilityZone=az)["Subnet"]["SubnetId"]
        for cidr, az in (("10.20.1.0/24", "us-east-1a"), ("10.20.2.0/24", "us-east-1b"))
    ]

    def group(name: str) -> str:
        return ec2.create_security_group(GroupName=name, Description=name, VpcId=vpc)["GroupId"]

    lambda_sg, pricing_lambda_sg = group("shop-lambda"), group("price-sync-lambda")
    tasks_sg, inventory_sg, pricing_sg = group("shop-tasks"), group("inventory-api-tasks"), group("pricing-tasks")

    def allow(sg: str, *sources: str) -> None:
        ec2.authorize_security_group_ingress(
            GroupId=sg,
            IpPermissions=[{"IpProtocol": "tcp", "FromPort": PORT, "ToPort": PORT,
                            "UserIdGroupPairs": [{"GroupId": s} for s in sources]}],
        )

    allow(tasks_sg, tasks_sg)
    allow(inventory_sg, tasks_sg, lambda_sg)  # the stock-sync Lambda is let in (SC-2)
    allow(pricing_sg, tasks_sg, pricing_lambda_sg)  # pricing is DNS-discoverable: fine

    # Cloud Map: HTTP namespace for Service Connect, private DNS namespace for the older services.
    sd.create_http_namespace(Name=SC_NAMESPACE, Description="Service Connect namespace of the shop")
    sd.create_http_namespace(Name=BACKOFFICE_NAMESPACE)
    sd.create_private_dns_namespace(Name=DNS_NAMESPACE, Vpc=vpc)
    namespaces = {n["Name"]: n for n in sd.list_namespaces()["Namespaces"]}
    sc_ns_arn = namespaces[SC_NAMESPACE]["Arn"]

    def dns_service(name: str) -> str:
        return sd.create_service(
            Name=name,
            NamespaceId=namespaces[DNS_NAMESPACE]["Id"],
            DnsConfig={"RoutingPolicy": "MULTIVALUE", "DnsRecords": [{"Type": "A", "TTL": 10}]},
            HealthCheckCustomConfig={"FailureThreshold": 1},
        )["Service"]["Arn"]

    ecs.create_cluster(clusterName=CLUSTER, serviceConnectDefaults={"namespace": sc_ns_arn})
    ecs.create_cluster(clusterName=BACKOFFICE)
    task_role = ctx.role("shop-ecs-task", assume={
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Principal": {"Service": "ecs-tasks.amazonaws.com"},
                       "Action": "sts:AssumeRole"}],
    })

    def task_definition(family: str, containers: list[dict[str, Any]]) -> str:
        return ecs.register_task_definition(
            family=family,
            networkMode="awsvpc",
            requiresCompatibilities=["FARGATE"],
            cpu="512",
            memory="1024",
            taskRoleArn=task_role,
            executionRoleArn=task_role,
            containerDefinitions=containers,
        )["taskDefinition"]["taskDefinitionArn"]

    def service(name: str, td: str, *, cluster: str = CLUSTER, sg: str = tasks_sg, **extra: Any) -> None:
        ecs.create_service(
            cluster=cluster,
            serviceName=name,
            taskDefinition=td,
            desiredCount=2,
            launchType="FARGATE",
            networkConfiguration={"awsvpcConfiguration": {"subnets": subnets, "securityGroups": [sg],
                                                          "assignPublicIp": "DISABLED"}},
            **extra,
        )

    def client_server(alias: str | None = None, *, discovery: str | None = None, namespace: str | None = SC_NAMESPACE,
                      port_only_alias: bool = False):
        entry: dict[str, Any] = {"portName": "http"}
        if discovery:
            entry["discoveryName"] = discovery
        if alias:
            entry["clientAliases"] = [{"port": PORT, "dnsName": alias}]
        elif port_only_alias:  # an alias without dnsName: ECS names it discoveryName.namespace
            entry["clientAliases"] = [{"port": PORT}]
        cfg: dict[str, Any] = {"enabled": True, "services": [entry]}
        if namespace:
            cfg["namespace"] = namespace
        return cfg

    # checkout: client side only; everything FireLens/APM right. Its options carry an empty apikey beside the key
    # in secretOptions (as some templates render it): no key is leaked, so not FL-2.
    service("checkout", task_definition("checkout", [
        app("checkout", log=datadog_logs("checkout", blank_apikey=True), env={
            "CATALOG_URL": f"http://catalog:{PORT}", "CART_URL": f"http://cart:{PORT}",
            "DD_SERVICE": "checkout", "DD_ENV": "prod", "DD_VERSION": "1.4.2"}),
        log_router(), datadog_agent(),
    ]), serviceConnectConfiguration={"enabled": True, "namespace": SC_NAMESPACE})

    # catalog: client and server under alias "catalog" (namespace given as ARN); API key in plain options (FL-2).
    service("catalog", task_definition("catalog", [
        app("catalog", log=datadog_logs("catalog", apikey=PLANTED_DD_API_KEY)), log_router(),
    ]), serviceConnectConfiguration=client_server("catalog", namespace=sc_ns_arn))

    # inventory-api: client and server whose client alias gives only a port → the default endpoint name
    # "inventory-api.shop" (discoveryName.namespace); its tasks admit the Lambda security group (SC-2); TLS off
    # towards Datadog (FL-3).
    service("inventory-api", task_definition("inventory-api", [
        app("inventory-api", log=datadog_logs("inventory-api", TLS="off")), log_router(),
    ]), sg=inventory_sg, serviceConnectConfiguration=client_server(discovery="inventory-api", port_only_alias=True))

    # cart: called as http://cart:8080 by checkout but client side only (SC-4); namespace from the cluster
    # default; non-essential router (FL-5) and a worker container without logging (FL-6).
    service("cart", task_definition("cart", [
        app("cart", log=datadog_logs("cart")),
        app("cart-worker", log=None, port=False, command=["python", "-m", "cart.worker"]),
        log_router(essential=False),
    ]), serviceConnectConfiguration={"enabled": True})

    # recommendations: instrumented with ddtrace but no Datadog Agent in the task (FL-7).
    service("recommendations", task_definition("recommendations", [
        app("recommendations", log=datadog_logs("recommendations"),
            env={"DD_SERVICE": "recommendations", "DD_ENV": "prod"},
            command=["ddtrace-run", "gunicorn", "app:app", "--bind", f"0.0.0.0:{PORT}"]),
        log_router(),
    ]), serviceConnectConfiguration=client_server("recommendations"))

    # search: a rollout in progress — the ACTIVE deployment still publishes "search-v1", the new PRIMARY one
    # "search"; the Datadog output has a mistyped host (FL-4) and no dd_source/provider (FL-8).
    service("search", task_definition("search", [
        app("search", log=datadog_logs("search", Host="http-intake.logs.datadoghq.co", dd_source=None,
                                       provider=None)),
        log_router(),
    ]), serviceConnectConfiguration=client_server("search-v1"))
    ecs.update_service(cluster=CLUSTER, service="search", serviceConnectConfiguration=client_server("search"))

    # storefront: client side only, calls the others by their Service Connect names; healthy. Its Datadog output
    # sets no Host: Fluent Bit then uses the US1 intake, so FL-4 fires only when the audited Datadog site is another.
    service("storefront", task_definition("storefront", [
        app("storefront", log=datadog_logs("storefront", source="nodejs", Host=None), env={
            "CATALOG_URL": f"http://catalog:{PORT}", "RECOMMENDATIONS_URL": f"http://recommendations:{PORT}",
            "SEARCH_URL": f"http://search:{PORT}", "INVENTORY_URL": f"http://inventory-api.shop:{PORT}"}),
        log_router(),
    ]), serviceConnectConfiguration={"enabled": True, "namespace": SC_NAMESPACE})

    # DNS service discovery in shop.local: shipping is only called by fulfilment (SC-3 info); pricing is
    # called by the price-sync Lambda (DNS needed); fulfilment has no callers. pricing is also a Service Connect
    # client-and-server under the alias "pricing": a Lambda calling that name cannot resolve it (SC-1), although
    # pricing.shop.local is in DNS — the finding names the DNS name to use.
    service("shipping", task_definition("shipping", [app("shipping", log=awslogs("shipping"))]),
            serviceRegistries=[{"registryArn": dns_service("shipping")}])
    service("fulfilment", task_definition("fulfilment", [
        app("fulfilment", log=awslogs("fulfilment"), env={"SHIPPING_URL": f"http://shipping.{DNS_NAMESPACE}:{PORT}"}),
    ]), serviceRegistries=[{"registryArn": dns_service("fulfilment")}])
    service("pricing", task_definition("pricing", [
        app("pricing", log=awslogs("pricing"),
            env={"DD_SERVICE": "pricing", "DD_AGENT_HOST": "datadog-agent"}),  # DD_AGENT_HOST on Fargate (FL-7 low)
        datadog_agent(),
    ]), sg=pricing_sg, serviceRegistries=[{"registryArn": dns_service("pricing")}],
            serviceConnectConfiguration=client_server("pricing"))

    # emails: no discovery at all (the 11th service of the cluster: DescribeServices needs two batches).
    service("emails", task_definition("emails", [app("emails", log=awslogs("emails"), port=False)]))

    # backoffice/reviews: client and server alone in its namespace (SC-4).
    service("reviews", task_definition("reviews", [app("reviews", log=awslogs("reviews"))]), cluster=BACKOFFICE,
            serviceConnectConfiguration=client_server("reviews", namespace=BACKOFFICE_NAMESPACE))

    # Lambda functions calling the services.
    vpc_config = {"SubnetIds": subnets, "SecurityGroupIds": [lambda_sg]}
    ctx.function("stock-sync", env={"INVENTORY_API_URL": f"http://inventory-api.shop:{PORT}/v1", "LOG_LEVEL": "info"},
                 VpcConfig=vpc_config)
    ctx.function("price-sync", env={"PRICING_URL": f"http://pricing.{DNS_NAMESPACE}:{PORT}",
                                    "EXPORT_BUCKET": "shop-catalog-exports"},
                 VpcConfig={"SubnetIds": subnets, "SecurityGroupIds": [pricing_lambda_sg]})
    ctx.function("search-indexer", env={"SEARCH_ENDPOINT": f"search-v1:{PORT}"})
    ctx.function("price-alerts", env={"PRICING_URL": f"http://pricing:{PORT}/alerts"},
                 VpcConfig={"SubnetIds": subnets, "SecurityGroupIds": [pricing_lambda_sg]})
    ctx.function("catalog-feed", env={"PARTNER_API": "https://api.partner.example/catalog",
                                      "FEED_NAME": "catalog-feed"})
