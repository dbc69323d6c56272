"""A small AWS organization on the local server, for ``make demo`` and the multi-account tests.

The management account is the shop's (``seed.ACCOUNT``, seeded by :mod:`auditor.demo.seed` as before). Member
accounts are created through Organizations (``CreateAccount``, so ``ListAccounts`` lists them) and seeded
through the local server's per-request account header — the stand-in for the ``OrganizationAccountAccessRole``
AWS creates in a new member. Each account that may be scanned gets the scan role :data:`SCAN_ROLE`, trusting
the management account, as a StackSet would deploy it; the demo's extension of STS
(:mod:`auditor.demo.moto_sts_trust`) refuses the role where it is missing, as AWS does.

A member holds a healthy consumer (``orders``) and ``broken`` consumers whose queue's visibility timeout is
below the function's timeout (``jobs-<n>``: VT-1, and with no DLQ DLQ-1): few resources, so an organization of
several accounts seeds and scans in seconds.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from .seed import ACCOUNT, REGION, SeedContext

SCAN_ROLE = "auditor-readonly"
DAY = 86400
CONSUMER_POLICY = {"Version": "2012-10-17", "Statement": [{
    "Effect": "Allow", "Action": ["sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes"],
    "Resource": "*"}]}
BATCHES = {"BatchSize": 10, "FunctionResponseTypes": ["ReportBatchItemFailures"]}


def trust(account: str) -> dict[str, Any]:
    """A trust policy admitting ``account``'s principals (the scanner's base credentials)."""
    return {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{account}:root"}, "Action": "sts:AssumeRole"}]}


def shared_client_factory(aws: Any) -> Callable[[str, str], Any]:
    """Clients of one session whose service models are parsed once (seeding many accounts stays quick)."""
    from ..inventory.aws import _shared_loader

    session = aws.session()
    session._session.register_component("data_loader", _shared_loader())
    return lambda service, region=None: session.client(service, region_name=region or aws.region,
                                                       endpoint_url=aws.endpoint)


def account_factory(client: Callable[..., Any], account: str) -> Callable[[str, str], Any]:
    """``client_factory(service, region)`` of the local server acting as ``account``."""

    def factory(service: str, region: str) -> Any:
        cli = client(service, region)

        def as_account(request: Any, **_: Any) -> None:
            request.headers["x-moto-account-id"] = account

        cli.meta.events.register("before-sign.*.*", as_account)
        return cli

    return factory


def scan_role(ctx: SeedContext, trusted: str = ACCOUNT) -> str:
    """The read-only role auditor assumes in the account (the policy `auditor iam-policy` prints)."""
    from importlib.resources import files

    policy = json.loads(files("auditor").joinpath("iam_policy.json").read_text(encoding="utf-8"))
    return ctx.role(SCAN_ROLE, policy=policy, assume=trust(trusted))


def seed_member(ctx: SeedContext, broken: int) -> dict[str, dict[str, set[str]]]:
    """One healthy consumer and ``broken`` broken ones; returns the member's EXPECTED table."""
    lam = ctx.client("lambda")
    role = ctx.role("member-lambda-role", policy=CONSUMER_POLICY)
    _, dlq = ctx.queue("orders-dlq", MessageRetentionPeriod=14 * DAY)
    _, orders = ctx.queue("orders", VisibilityTimeout=180, MessageRetentionPeriod=4 * DAY,
                          RedrivePolicy={"deadLetterTargetArn": dlq, "maxReceiveCount": "5"})
    ctx.function("orders-consumer", timeout=30, role=role)
    lam.create_event_source_mapping(FunctionName="orders-consumer", EventSourceArn=orders, **BATCHES)
    expected = {"orders": {"clean": {"VT-1", "VT-2", "DLQ-1", "DLQ-2"}}}
    for n in range(1, broken + 1):
        _, queue = ctx.queue(f"jobs-{n}", VisibilityTimeout=30)
        ctx.function(f"jobs-{n}-consumer", timeout=60, role=role)
        lam.create_event_source_mapping(FunctionName=f"jobs-{n}-consumer", EventSourceArn=queue, **BATCHES)
        expected[f"jobs-{n}"] = {"fail": {"VT-1", "DLQ-1"}}
    return expected


@dataclass
class Member:
    account: str
    name: str
    expected: dict[str, dict[str, set[str]]] = field(default_factory=dict)
    role: bool = True  # has the scan role
    suspended: bool = False


@dataclass
class Organization:
    management: str
    members: list[Member]

    def member(self, name: str) -> Member:
        return next(m for m in self.members if m.name == name)


def seed_organization(aws: Any, members: list[tuple[str, int, str]], region: str = REGION,
                      management_role: bool = True) -> Organization:
    """On the local server ``aws`` (:class:`~auditor.demo.servers.LocalAws`), an organization of the shop's
    account and ``members``: (name, broken consumers, state) with state ``"ok"``, ``"no-role"`` (no scan role:
    it cannot be assumed) or ``"suspended"`` (closed after seeding)."""
    client = shared_client_factory(aws)
    orgs = client("organizations", region)
    orgs.create_organization(FeatureSet="ALL")
    if management_role:
        scan_role(SeedContext(client, region))
    out = Organization(ACCOUNT, [])
    for name, broken, state in members:
        status = orgs.create_account(AccountName=name, Email=f"{name}@example.com")["CreateAccountStatus"]
        account = status["AccountId"]
        ctx = SeedContext(account_factory(client, account), region)
        member = Member(account, name, seed_member(ctx, broken), role=state != "no-role",
                        suspended=state == "suspended")
        if member.role:
            scan_role(ctx)
        if member.suspended:
            orgs.close_account(AccountId=account)
        out.members.append(member)
    return out
