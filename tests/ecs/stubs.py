"""botocore ``Stubber`` builders for the ECS tests: real API shapes (Service Connect on ``deployments[]``,
``serviceConnectResources``, pagination tokens, ``failures[]``), and the ``stubbed`` account (see conftest)."""

from __future__ import annotations

import os
from datetime import UTC, datetime
from types import SimpleNamespace

from botocore.stub import Stubber

from auditor.inventory import Inventory
from auditor.inventory.aws import AwsAccount

ACCOUNT = "123456789012"
REGION = "us-east-1"
CLUSTER = f"arn:aws:ecs:{REGION}:{ACCOUNT}:cluster/shop"
NS_ARN = f"arn:aws:servicediscovery:{REGION}:{ACCOUNT}:namespace/ns-shop0000000000000"
NOW = datetime(2025, 1, 1, tzinfo=UTC)


def svc_arn(name: str) -> str:
    return f"arn:aws:ecs:{REGION}:{ACCOUNT}:service/shop/{name}"


def td_arn(family: str, rev: int = 1) -> str:
    return f"arn:aws:ecs:{REGION}:{ACCOUNT}:task-definition/{family}:{rev}"


def deployment(status: str, td: str, sc_config: dict | None = None, resources: list | None = None) -> dict:
    dep = {
        "id": f"ecs-svc/{abs(hash((status, td))) % 10**12}",
        "status": status,
        "taskDefinition": td,
        "desiredCount": 2,
        "runningCount": 2,
        "pendingCount": 0,
        "createdAt": NOW,
        "updatedAt": NOW,
        "rolloutState": "COMPLETED" if status == "PRIMARY" else "IN_PROGRESS",
    }
    if sc_config is not None:
        dep["serviceConnectConfiguration"] = sc_config
        dep["serviceConnectResources"] = resources or []
    return dep


def service(name: str, deployments: list[dict], **extra) -> dict:
    return {
        "serviceArn": svc_arn(name),
        "serviceName": name,
        "clusterArn": CLUSTER,
        "status": "ACTIVE",
        "taskDefinition": deployments[0]["taskDefinition"] if deployments else td_arn(name),
        "desiredCount": 2,
        "runningCount": 2,
        "pendingCount": 0,
        "launchType": "FARGATE",
        "deployments": deployments,
        "serviceRegistries": [],
        **extra,
    }


def stubbed_account(monkeypatch, tmp_path):
    """An AWS account whose clients answer only what the test stubbed (any other call fails the test)."""
    for key in [k for k in os.environ if k.startswith("AWS_")]:
        monkeypatch.delenv(key)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "not-a-secret")
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    aws = AwsAccount(None, workers=1)
    unstubbed: list[str] = []

    def no_network(request, **_):  # only calls no Stubber answered reach before-send
        unstubbed.append(request.url)
        raise RuntimeError(f"unstubbed AWS call to {request.url}")

    aws.session.events.register("before-send", no_network)
    stubs: dict[str, Stubber] = {}

    def stub(service_name: str) -> Stubber:
        if service_name not in stubs:
            stubs[service_name] = Stubber(aws.client(service_name, REGION))
            stubs[service_name].activate()
        return stubs[service_name]

    stub("sts").add_response("get_caller_identity", {"Account": ACCOUNT, "Arn": f"arn:aws:iam::{ACCOUNT}:user/t",
                                                     "UserId": "AIDEXAMPLE"})

    def inventory() -> Inventory:
        return Inventory(aws, [REGION], workers=1)

    yield SimpleNamespace(aws=aws, stub=stub, inventory=inventory)
    for s in stubs.values():
        s.assert_no_pending_responses()
    assert not unstubbed, unstubbed


