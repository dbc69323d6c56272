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

import functools
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


def trust(account: str, external_id: str = "") -> dict[str, Any]:
    """A trust policy admitting ``account``'s principals (the scanner's base credentials), with the given
    external id only when one is named."""
    statement: dict[str, Any] = {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{account}:root"},
                                 "Action": "sts:AssumeRole"}
    if external_id:
        statement["Condition"] = {"StringEquals": {"sts:ExternalId": external_id}}
    return {"Version": "2012-10-17", "Statement": [statement]}


@functools.cache
def _seed_loader() -> Any:
    from botocore.loaders import create_loader

    return create_loader()


def shared_client_factory(aws: Any) -> Callable[[str, str], Any]:
    """Clients of one session whose service models are parsed once (seeding many accounts stays quick)."""
    session = aws.session()
    # Not auditor's own loader: that one keeps only the reads auditor makes, and seeding writes.
    session._session.register_component("data_loader", _seed_loader())
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


def scan_role(ctx: SeedContext, trusted: str = ACCOUNT, external_id: str = "") -> str:
    """The read-only role auditor assumes in the account (the policy `auditor iam-policy` prints)."""
    from importlib.resources import files

    policy = json.loads(files("auditor").joinpath("iam_policy.json").read_text(encoding="utf-8"))
    return ctx.role(SCAN_ROLE, policy=policy, assume=trust(trusted, external_id))


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
    state: str = "ok"  # ok | no-role | suspended | external-id:<id>

    @property
    def role_arn(self) -> str:
        return f"arn:aws:iam::{self.account}:role/{SCAN_ROLE}"


@dataclass
class Organization:
    management: Member
    members: list[Member]

    def member(self, name: str) -> Member:
        """The member called ``name``, or the management account for ``"management"``."""
        if name == "management":
            return self.management
        return next(m for m in self.members if m.name == name)

    @property
    def accounts(self) -> list[Member]:
        return [self.management, *self.members]


def seed_organization(aws: Any, members: list[tuple[str, int, str]], region: str = REGION,
                      management: int | None = None) -> Organization:
    """On the local server ``aws`` (:class:`~auditor.demo.servers.LocalAws`), an organization whose management
    account is the server's default one, with the scan role, and ``members``: (name, broken consumers, state),
    state ``"ok"``, ``"no-role"`` (no scan role: it cannot be assumed), ``"suspended"`` (closed after seeding)
    or ``"external-id:<id>"`` (its role requires that external id). ``management``: seed the management account
    as a member with that many broken consumers (None: leave it as it is, e.g. the shop)."""
    client = shared_client_factory(aws)
    orgs = client("organizations", region)
    org = orgs.create_organization(FeatureSet="ALL")["Organization"]
    home = SeedContext(client, region)
    scan_role(home)
    management_id = org["MasterAccountId"]
    name = orgs.describe_account(AccountId=management_id)["Account"]["Name"]
    out = Organization(Member(management_id, name), [])
    if management is not None:
        out.management.expected = seed_member(home, management)
    for name, broken, state in members:
        status = orgs.create_account(AccountName=name, Email=f"{name}@example.com")["CreateAccountStatus"]
        account = status["AccountId"]
        ctx = SeedContext(account_factory(client, account), region)
        member = Member(account, name, seed_member(ctx, broken), state)
        if state != "no-role":
            scan_role(ctx, external_id=state.removeprefix("external-id:") if state.startswith("external-id:") else "")
        if state == "suspended":
            orgs.close_account(AccountId=account)
        out.members.append(member)
    return out
