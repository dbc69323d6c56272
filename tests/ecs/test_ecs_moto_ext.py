"""The moto extension (auditor/demo/moto_ext.py): it must return Service Connect exactly as the ECS API does,
and it must be dropped as soon as upstream moto returns the field itself."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import botocore.session
import pytest
from botocore.exceptions import ClientError
from botocore.validate import ParamValidator

# Run in a fresh interpreter: moto's state is per process, and the session's moto server (with the extension
# installed) lives in this one; mock_aws here would also reset that server's data.
UPSTREAM_PROBE = textwrap.dedent(
    """
    import json, os
    os.environ.update(AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing", AWS_DEFAULT_REGION="us-east-1")
    import boto3
    from moto import mock_aws

    with mock_aws():
        sd = boto3.client("servicediscovery")
        ecs = boto3.client("ecs")
        sd.create_http_namespace(Name="shop")
        ecs.create_cluster(clusterName="shop")
        ecs.register_task_definition(family="web", containerDefinitions=[{
            "name": "web", "image": "web", "memory": 128,
            "portMappings": [{"containerPort": 8080, "name": "http"}]}])
        ecs.create_service(cluster="shop", serviceName="web", taskDefinition="web", desiredCount=1,
                           serviceConnectConfiguration={"enabled": True, "namespace": "shop",
                                                        "services": [{"portName": "http"}]})
        svc = ecs.describe_services(cluster="shop", services=["web"])["services"][0]
        found = "serviceConnectConfiguration" in svc or any(
            "serviceConnectConfiguration" in d for d in svc.get("deployments", []))
        print(json.dumps({"found": found}))
    """
)


def test_upstream_moto_still_drops_service_connect():
    proc = subprocess.run([sys.executable, "-c", UPSTREAM_PROBE], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip().endswith('{"found": false}'), (
        "Upstream moto now returns serviceConnectConfiguration itself: drop auditor/demo/moto_ext.py's Service "
        "Connect patch (and its MOTO_EXTENSIONS entry) and re-run the ECS tests against plain moto."
    )


def _validate_output(operation: str, response: dict) -> None:
    model = botocore.session.get_session().get_service_model("ecs")
    body = {k: v for k, v in response.items() if k != "ResponseMetadata"}
    report = ParamValidator().validate(body, model.operation_model(operation).output_shape)
    assert not report.has_errors(), report.generate_report()


@pytest.fixture(scope="module")
def ecs(seeded_aws):
    return seeded_aws.client("ecs")


def test_extension_returns_the_real_api_shape(ecs):
    arns = ecs.list_services(cluster="shop")["serviceArns"]
    assert len(arns) > 10  # the seed needs two DescribeServices batches
    resp = ecs.describe_services(cluster="shop", services=arns[:10])
    _validate_output("DescribeServices", resp)
    by_name = {s["serviceName"]: s for s in resp["services"]}
    for svc in resp["services"]:
        assert "serviceConnectConfiguration" not in svc  # never top level
    catalog = by_name.get("catalog") or ecs.describe_services(cluster="shop", services=["catalog"])["services"][0]
    primary = [d for d in catalog["deployments"] if d["status"] == "PRIMARY"]
    assert len(primary) == 1
    cfg = primary[0]["serviceConnectConfiguration"]
    assert cfg["enabled"] is True and cfg["services"][0]["clientAliases"] == [{"port": 8080, "dnsName": "catalog"}]
    res = primary[0]["serviceConnectResources"]
    assert res[0]["discoveryName"] == "http" and ":servicediscovery:" in res[0]["discoveryArn"]


def test_update_starts_a_rollout_primary_and_active(ecs):
    resp = ecs.describe_services(cluster="shop", services=["search"])
    _validate_output("DescribeServices", resp)
    deps = resp["services"][0]["deployments"]
    assert [d["status"] for d in deps] == ["PRIMARY", "ACTIVE"]
    aliases = [d["serviceConnectConfiguration"]["services"][0]["clientAliases"][0]["dnsName"] for d in deps]
    assert aliases == ["search", "search-v1"]


def test_the_created_cloud_map_service_exists(seeded_aws, ecs):
    deps = ecs.describe_services(cluster="shop", services=["inventory-api"])["services"][0]["deployments"]
    arn = deps[0]["serviceConnectResources"][0]["discoveryArn"]
    got = seeded_aws.client("servicediscovery").get_service(Id=arn.rsplit("/", 1)[-1])["Service"]
    assert got["Name"] == "inventory-api"


def test_describe_services_rejects_more_than_ten(ecs):
    arns = ecs.list_services(cluster="shop")["serviceArns"]
    with pytest.raises(ClientError) as exc:
        ecs.describe_services(cluster="shop", services=arns[:11])
    assert exc.value.response["Error"]["Code"] == "InvalidParameterException"


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ({"enabled": True, "namespace": "no-such-namespace"}, "namespace"),
        ({"enabled": True, "services": [{"portName": "grpc"}]}, "portName"),
    ],
)
def test_invalid_configuration_is_rejected_before_anything_is_stored(ecs, config, message):
    with pytest.raises(ClientError) as exc:
        ecs.create_service(cluster="shop", serviceName="rejected", taskDefinition="catalog:1", desiredCount=0,
                           serviceConnectConfiguration=config)
    assert exc.value.response["Error"]["Code"] == "InvalidParameterException"
    assert message in exc.value.response["Error"]["Message"]
    assert not any(a.endswith("/rejected") for a in ecs.list_services(cluster="shop")["serviceArns"])
