"""Seed a small but realistic account — an online shop — with healthy and broken resources.

The same code serves ``make demo`` and the end-to-end tests; each rule family's resources live in their own
``seed_*`` module and are described in its ``EXPECTED`` table (resource → rules that must fire on it), which
the tests assert against.
"""

from __future__ import annotations

import importlib
import io
import json
import zipfile
from typing import Any

ACCOUNT = "123456789012"
REGION = "us-east-1"

#: Family seeders, each a module with ``seed(ctx)`` and an ``EXPECTED`` table.
FAMILIES = (
    "auditor.demo.seed_sqs_lambda",
    "auditor.demo.seed_ecs",
    "auditor.demo.seed_s3",
    "auditor.demo.seed_pipeline",
)

LAMBDA_ASSUME = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}],
}


def lambda_zip(source: str = "def handler(event, context):\n    return {}\n") -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("app.py", source)
    return buf.getvalue()


class SeedContext:
    """Clients for the local account and small helpers shared by the family seeders."""

    def __init__(self, client_factory, region: str = REGION) -> None:
        self._factory = client_factory
        self.region = region
        self._clients: dict[tuple[str, str], Any] = {}
        self.created: dict[str, Any] = {}

    def client(self, service: str, region: str | None = None):
        key = (service, region or self.region)
        if key not in self._clients:
            self._clients[key] = self._factory(service, key[1])
        return self._clients[key]

    def role(self, name: str, policy: dict | None = None, assume: dict | None = None) -> str:
        iam = self.client("iam")
        try:
            arn = iam.get_role(RoleName=name)["Role"]["Arn"]
        except iam.exceptions.NoSuchEntityException:
            arn = iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(assume or LAMBDA_ASSUME))[
                "Role"
            ]["Arn"]
        if policy is not None:
            iam.put_role_policy(RoleName=name, PolicyName=f"{name}-inline", PolicyDocument=json.dumps(policy))
        return arn

    def queue(self, name: str, **attributes: Any) -> tuple[str, str]:
        sqs = self.client("sqs")
        attrs = {k: (json.dumps(v) if isinstance(v, dict) else str(v)) for k, v in attributes.items()}
        if name.endswith(".fifo"):
            attrs["FifoQueue"] = "true"
        url = sqs.create_queue(QueueName=name, Attributes=attrs)["QueueUrl"]
        arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        return url, arn

    def function(self, name: str, *, timeout: int = 30, role: str | None = None, env: dict | None = None,
                 source: str | None = None, **extra: Any) -> str:
        role = role or self.role("shop-lambda-role")
        kwargs: dict[str, Any] = dict(
            FunctionName=name,
            Runtime="python3.12",
            Role=role,
            Handler="app.handler",
            Code={"ZipFile": lambda_zip(source) if source else lambda_zip()},
            Timeout=timeout,
            **extra,
        )
        if env:
            kwargs["Environment"] = {"Variables": env}
        return self.client("lambda").create_function(**kwargs)["FunctionArn"]


def seed(client_factory, region: str = REGION) -> SeedContext:
    """Create every family's resources through ``client_factory(service, region) -> boto3 client``."""
    ctx = SeedContext(client_factory, region)
    for name in FAMILIES:
        importlib.import_module(name).seed(ctx)
    return ctx


#: Modules with expectations but no AWS resources of their own (the Datadog org is served, not seeded).
EXPECTATIONS_ONLY = ("auditor.demo.seed_datadog",)


def expected() -> dict[str, dict[str, set[str]]]:
    """Merged ``EXPECTED`` tables: resource id → {"fail": rules, "clean": rules}."""
    out: dict[str, dict[str, set[str]]] = {}
    for name in FAMILIES + EXPECTATIONS_ONLY:
        for rid, want in importlib.import_module(name).EXPECTED.items():
            slot = out.setdefault(rid, {"fail": set(), "clean": set()})
            slot["fail"] |= set(want.get("fail", ()))
            slot["clean"] |= set(want.get("clean", ()))
    return out
