"""The benchmark account: a large, plausible AWS account and Datadog organisation, built fast on local servers.

At ``scale=1`` ("1x"): 1,000 Lambda functions (roles with inline and attached policies, some in a VPC, some
calling ECS services by their Service Connect names), 1,200 SQS queues (1,000 sources, most with a redrive
policy onto one of 200 DLQs), 1,000 SQS event source mappings on 800 functions (some disabled, some on an
alias, varied batch sizes, maximum concurrency and ``ReportBatchItemFailures``), reserved concurrency on most
mapped functions; 300 ECS services with 300 task definitions in 10 clusters (FireLens → Datadog in every
shape the FL rules know, Service Connect on 60 % in 16 HTTP namespaces given by name, by ARN or by the
cluster default, a few rollouts in progress, a few services in Cloud Map DNS in 4 private DNS namespaces,
one VPC each); 300 S3 buckets (90 % with a policy: healthy, split Deny, IP-or-VPC, bad values, public-looking),
150 IAM roles; 2,000 Datadog monitors (DLQ monitors of every kind: exact scopes, team wildcards with
``by {queuename}``, composites, muted, thresholds, decoys; and the rest of an organisation: source-queue
backlogs, Lambda errors, ECS CPU, logs) and 20 downtimes. ``scale`` multiplies every count.

:func:`plan` describes the account (pure, deterministic); :func:`build` creates it through boto3 with many
requests in flight (use a server without latency); :func:`minimum_calls` counts the API calls a scanner of
this account needs at the APIs' largest page sizes, from the plan alone.
"""

from __future__ import annotations

import json
import math
import time
from collections import Counter
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from auditor.demo.datadog_server import downtime, monitor
from auditor.demo.seed import LAMBDA_ASSUME, lambda_zip
from auditor.demo.seed_ecs import app, awslogs, datadog_agent, datadog_logs, log_router
from auditor.inventory.s3 import may_be_public

ACCOUNT = "123456789012"
REGION = "us-east-1"
OTHER_REGION = "eu-west-1"
PORT = 8080
VISIBLE = "aws.sqs.approximate_number_of_messages_visible"
SENT = "aws.sqs.number_of_messages_sent"
TEAMS = ("orders", "payments", "shipping", "catalog", "search", "billing", "identity", "media")

#: Counts at scale 1.
BASE = {
    "functions": 1000, "source_queues": 1000, "dlqs": 200, "mappings": 1000, "mapped_functions": 800,
    "services": 300, "clusters": 10, "namespaces": 20, "buckets": 300, "lambda_roles": 100, "task_roles": 50,
    "managed_policies": 20, "monitors": 2000, "downtimes": 20,
}

ECS_ASSUME = {"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Principal": {"Service": "ecs-tasks.amazonaws.com"}, "Action": "sts:AssumeRole"}]}

#: The largest page each listing API hands out (AWS API references), and the calls that take many resources.
MAX_PAGE = {
    "sqs:ListQueues": 1000, "lambda:ListFunctions": 50, "lambda:ListEventSourceMappings": 100,
    "ecs:ListClusters": 100, "ecs:ListServices": 100, "ecs:DescribeServices": 10, "ec2:DescribeSubnets": 1000,
    "ec2:DescribeSecurityGroups": 1000, "s3:ListBuckets": 10000, "iam:ListRolePolicies": 1000,
    "iam:ListAttachedRolePolicies": 1000, "datadog:ListMonitors": 1000, "datadog:ListDowntimes": 100,
}


def counts(scale: float, monitors: int | None = None, overrides: dict[str, int] | None = None) -> dict[str, int]:
    out = {k: max(1, round(v * scale)) for k, v in BASE.items()}
    if monitors is not None:
        out["monitors"] = monitors
    out.update(overrides or {})
    out["mapped_functions"] = min(out["mapped_functions"], out["functions"])
    return out


# ------------------------------------------------------------------------------------------------------------
# The plan
# ------------------------------------------------------------------------------------------------------------
@dataclass
class Plan:
    scale: float
    n: dict[str, int]
    managed: dict[str, dict] = field(default_factory=dict)  # name → document
    roles: dict[str, dict] = field(default_factory=dict)  # name → {assume, inline: {name: doc}, attached: [name]}
    vpcs: list[dict] = field(default_factory=list)  # {cidr, subnets: [cidr], namespace}
    dlqs: list[dict] = field(default_factory=list)  # {name, attributes}
    queues: list[dict] = field(default_factory=list)  # sources: {name, attributes, dlq: index | None}
    functions: list[dict] = field(default_factory=list)  # {name, role, timeout, env, vpc, alias, reserved}
    mappings: list[dict] = field(default_factory=list)  # {function, alias, queue, enabled, params}
    http_namespaces: list[str] = field(default_factory=list)
    clusters: list[dict] = field(default_factory=list)  # {name, namespace index}
    services: list[dict] = field(default_factory=list)
    buckets: list[dict] = field(default_factory=list)  # {name, region, policy | None, pab}
    monitors: list[dict] = field(default_factory=list)  # API JSON (datadog_server.monitor)
    downtimes: list[dict] = field(default_factory=list)

    @property
    def resources(self) -> int:
        """What the per-resource memory is divided by: every AWS resource and Datadog monitor the scan reads."""
        return (len(self.functions) + len(self.queues) + len(self.dlqs) + len(self.mappings)
                + 2 * len(self.services) + len(self.clusters) + len(self.http_namespaces) + len(self.vpcs)
                + len(self.buckets) + len(self.roles) + len(self.managed) + len(self.monitors) + len(self.downtimes))

    def summary(self) -> str:
        return (f"{len(self.functions)} functions, {len(self.queues) + len(self.dlqs)} queues "
                f"({len(self.dlqs)} DLQs), {len(self.mappings)} mappings, {len(self.services)} ECS services and task "
                f"definitions in {len(self.clusters)} clusters, {len(self.http_namespaces) + len(self.vpcs)} Cloud "
                f"Map namespaces, {len(self.buckets)} buckets, {len(self.roles)} roles, {len(self.monitors)} "
                f"monitors, {len(self.downtimes)} downtimes")


def _doc(*statements: dict) -> dict:
    return {"Version": "2012-10-17", "Statement": list(statements)}


def plan(scale: float = 1.0, monitors: int | None = None, overrides: dict[str, int] | None = None) -> Plan:
    """The account at ``scale``; ``overrides`` set single counts (keys of :data:`BASE`)."""
    n = counts(scale, monitors, overrides)
    p = Plan(scale, n)
    _plan_iam(p)
    _plan_network(p)
    _plan_queues(p)
    _plan_functions(p)
    _plan_ecs(p)
    _plan_buckets(p)
    p.monitors, p.downtimes = datadog_org(
        dlqs=[q["name"] for q in p.dlqs], sources=[q["name"] for q in p.queues],
        functions=[f["name"] for f in p.functions], services=[s["name"] for s in p.services],
        total=n["monitors"], downtimes=n["downtimes"])
    return p


def _plan_iam(p: Plan) -> None:
    n = p.n
    for i in range(n["managed_policies"]):
        st: dict[str, Any] = {"Sid": "Read", "Effect": "Allow", "Action": ["s3:GetObject", "s3:ListBucket"],
                              "Resource": [f"arn:aws:s3:::bench-{i:04d}-*", f"arn:aws:s3:::bench-{i:04d}-*/*"]}
        if i % 4 == 0:  # signs presigned URLs from the office only (BP-5)
            st["Condition"] = {"IpAddress": {"aws:SourceIp": ["203.0.113.0/24", "198.51.100.0/24"]}}
        p.managed[f"bench-managed-{i:03d}"] = _doc(st, {"Sid": "Queues", "Effect": "Allow",
                                                        "Action": ["sqs:SendMessage", "sqs:ReceiveMessage"],
                                                        "Resource": f"arn:aws:sqs:{REGION}:{ACCOUNT}:*"})
    names = list(p.managed)
    for kind, count, assume in (("fn", n["lambda_roles"], LAMBDA_ASSUME), ("task", n["task_roles"], ECS_ASSUME)):
        for r in range(count):
            inline: dict[str, Any] = {"Sid": "Tables", "Effect": "Allow", "Action": ["dynamodb:GetItem", "dynamodb:PutItem"],
                                      "Resource": f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/{kind}-{r}"}
            if r % 7 == 3:
                inline = {"Sid": "Exports", "Effect": "Allow", "Action": "s3:GetObject",
                          "Resource": f"arn:aws:s3:::bench-{r:04d}-*/*",
                          "Condition": {"StringEquals": {"aws:SourceVpce": "vpce-0a1b2c3d4e5f60718"}}}
            attached = [names[r % len(names)]]
            if r % 3 == 0 and len(names) > 1:
                attached.append(names[(r + 1) % len(names)])
            p.roles[f"bench-{kind}-role-{r:03d}"] = {"assume": assume, "inline": {"inline": _doc(inline)},
                                                     "attached": attached}


def _plan_network(p: Plan) -> None:
    dns = max(1, p.n["namespaces"] // 5)
    for v in range(dns):
        p.vpcs.append({"cidr": f"10.{v}.0.0/16", "subnets": [f"10.{v}.1.0/24", f"10.{v}.2.0/24"],
                       "namespace": f"svc{v}.local"})
    p.http_namespaces = [f"bench-http-{i:02d}" for i in range(max(1, p.n["namespaces"] - dns))]


def dlq_name(d: int) -> str:
    """The ``d``-th DLQ's name; DLQs 16-17 (mod 20) are "batch" DLQs, which only a team's wildcard watches."""
    return f"{TEAMS[d % len(TEAMS)]}-{'batch-' if d % 20 in (16, 17) else ''}dlq-{d:04d}"


def _plan_queues(p: Plan) -> None:
    n = p.n
    for d in range(n["dlqs"]):
        p.dlqs.append({"name": dlq_name(d),
                       "attributes": {"MessageRetentionPeriod": str((345600, 1209600)[d % 2])}})
    for k in range(n["source_queues"]):
        attrs = {"VisibilityTimeout": str((30, 60, 180, 360, 900, 1800, 43200)[k % 7]),
                 "MessageRetentionPeriod": str((345600, 1209600, 86400)[k % 3])}
        dlq = None
        if k % 7 != 6:
            dlq = k % n["dlqs"]
            attrs["RedrivePolicy"] = json.dumps({
                "deadLetterTargetArn": f"arn:aws:sqs:{REGION}:{ACCOUNT}:{p.dlqs[dlq]['name']}",
                "maxReceiveCount": (1, 2, 3, 5, 10)[k % 5]})
        p.queues.append({"name": f"{TEAMS[k % len(TEAMS)]}-q-{k:05d}", "attributes": attrs, "dlq": dlq})


def _plan_functions(p: Plan) -> None:
    n = p.n
    lambda_roles = [r for r in p.roles if "-fn-" in r]
    services = n["services"]
    for i in range(n["functions"]):
        env = {"LOG_LEVEL": "info", "TABLE": f"table-{i}"}
        if i % 10 == 0:  # calls an ECS service by the name Service Connect gives it (SC-1 when only SC has it)
            env["API_URL"] = f"http://svc-{(i // 10) % services:04d}:{PORT}/v1"
        if i % 30 == 5:  # calls a DNS-registered service
            env["PRICING_URL"] = f"http://svc-{(7 + 30 * (i // 30)) % services:04d}.svc0.local:{PORT}"
        mapped = i < n["mapped_functions"]
        reserved = None
        if mapped and i % 7:
            reserved = 0 if i % 97 == 0 else (10, 20, 3, 100, 5, 50)[i % 6]
        p.functions.append({
            "name": f"fn-{i:05d}", "role": lambda_roles[i % len(lambda_roles)],
            "timeout": (3, 10, 30, 60, 120, 300)[i % 6], "env": env, "vpc": i % 50 == 0,
            "alias": mapped and i % 20 == 7, "reserved": reserved,
        })
    mapped = n["mapped_functions"]
    for j in range(n["mappings"]):
        f = j % mapped
        params: dict[str, Any] = {"BatchSize": (1, 10, 10, 25, 100)[j % 5]}
        if params["BatchSize"] > 10:
            params["MaximumBatchingWindowInSeconds"] = (j % 3) * 5
        if j % 3 == 0:
            params["FunctionResponseTypes"] = ["ReportBatchItemFailures"]
        if j % 4:
            params["ScalingConfig"] = {"MaximumConcurrency": (2, 5, 10, 50)[j % 4]}
        p.mappings.append({"function": f, "alias": p.functions[f]["alias"], "queue": j % len(p.queues),
                           "enabled": j % 25 != 24, "params": params})


def _plan_ecs(p: Plan) -> None:
    n = p.n
    task_roles = [r for r in p.roles if "-task-" in r]
    clusters, namespaces = n["clusters"], len(p.http_namespaces)
    for c in range(clusters):
        p.clusters.append({"name": f"cluster-{c:02d}", "namespace": c % namespaces})
    for k in range(n["services"]):
        c = k % clusters
        name = f"svc-{k:04d}"
        v = k % len(p.vpcs)
        containers = _containers(k, name, n["services"])
        svc: dict[str, Any] = {"name": name, "cluster": c, "vpc": v, "api": v == 0 and k % 100 == 0, "role": task_roles[k % len(task_roles)],
                               "containers": containers, "sc": None, "registry": None, "rollout": False}
        role = k % 10
        if role <= 5:  # Service Connect: client and server (0-3) or client only (4-5)
            ns = p.clusters[c]["namespace"] if k % 17 else (clusters + k) % namespaces
            how = ("name", "arn", "default")[k % 3] if ns == p.clusters[c]["namespace"] else ("name", "arn")[k % 2]
            svc["sc"] = {"namespace": ns, "how": how, "server": role <= 3}
            svc["rollout"] = k % 25 == 0
        elif role == 7 and k % 30 == 7:  # DNS service discovery in the VPC's private namespace
            svc["registry"] = v
        p.services.append(svc)


def _containers(k: int, name: str, services: int) -> list[dict]:
    env = {"UPSTREAM_URL": f"http://svc-{(k + 1) % services:04d}:{PORT}", "PORT": str(PORT)}
    if k % 4 == 1:
        env.update({"DD_SERVICE": name, "DD_ENV": "prod", "DD_VERSION": "2.3.1"})
    if k % 29 == 3:
        env["DD_AGENT_HOST"] = "datadog-agent"
    shape = k % 7
    if shape == 0:
        return [app(name, log=datadog_logs(name), env=env), log_router(), datadog_agent()]
    if shape == 1:
        return [app(name, log=datadog_logs(name, apikey="5f2d8c1e9a7b4f3c0e6d2a8b1c9f7e4d"), env=env), log_router()]
    if shape == 2:
        return [app(name, log=datadog_logs(name, TLS="off"), env=env), log_router()]
    if shape == 3:
        return [app(name, log=datadog_logs(name, Host="http-intake.logs.datadoghq.co", dd_source=None), env=env),
                log_router()]
    if shape == 4:
        return [app(name, log=datadog_logs(name), env=env),
                app(f"{name}-worker", log=None, port=False, command=["python", "-m", "worker"]),
                log_router(essential=False)]
    if shape == 5:
        return [app(name, log=datadog_logs(name, provider=None), env=env), log_router(), datadog_agent(apm=False)]
    return [app(name, log=awslogs(name), env=env)]


def _plan_buckets(p: Plan) -> None:
    office, vpc, vpce, org = "203.0.113.0/24", "vpc-0a1b2c3d4e5f60718", "vpce-0a1b2c3d4e5f60718", "o-bench12345"
    for k in range(p.n["buckets"]):
        kind = k % 10
        name = f"bench-{k:04d}-{('healthy', 'ip-or-vpc', 'split', 'org-vpce', 'badvalues', 'public', 'referer', 'partner', 'nopolicy', 'xacct')[kind]}"
        both = [f"arn:aws:s3:::{name}", f"arn:aws:s3:::{name}/*"]
        owner = {"Sid": "OwnerRead", "Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"},
                 "Action": ["s3:GetObject", "s3:ListBucket"], "Resource": both}
        tls = {"Sid": "DenyNoTls", "Effect": "Deny", "Principal": "*", "Action": "s3:*", "Resource": both,
               "Condition": {"Bool": {"aws:SecureTransport": "false"}}}
        policy: dict | None = {
            0: _doc(tls, owner),
            1: _doc({"Sid": "IpOrVpc", "Effect": "Deny", "Principal": "*", "Action": "s3:*", "Resource": both,
                     "Condition": {"NotIpAddress": {"aws:SourceIp": office}, "StringNotEquals": {"aws:SourceVpc": vpc}}},
                    owner),
            2: _doc({"Sid": "DenyOutsideOffice", "Effect": "Deny", "Principal": "*", "Action": "s3:*", "Resource": both,
                     "Condition": {"NotIpAddress": {"aws:SourceIp": office}}},
                    {"Sid": "DenyOutsideVpc", "Effect": "Deny", "Principal": "*", "Action": "s3:*", "Resource": both,
                     "Condition": {"StringNotEquals": {"aws:SourceVpc": vpc}}}, owner),
            3: _doc({"Sid": "OrgAndEndpoint", "Effect": "Deny", "Principal": "*", "Action": "s3:*", "Resource": both,
                     "Condition": {"StringNotEquals": {"aws:PrincipalOrgID": org, "aws:SourceVpce": vpce}}}, tls, owner),
            4: _doc(dict(owner, Condition={"IpAddress": {"aws:SourceIp": ["123.456.789.0/24", "10.0.0.0/8"]}}),
                    {"Sid": "Endpoint", "Effect": "Allow", "Principal": {"AWS": ACCOUNT}, "Action": "s3:GetObject",
                     "Resource": both[1], "Condition": {"StringEquals": {"aws:SourceVpce": "vpce-12345"}}}),
            5: _doc({"Sid": "PublicRead", "Effect": "Allow", "Principal": "*", "Action": "s3:GetObject",
                     "Resource": f"{both[1]}"}, tls),
            6: _doc({"Sid": "Hotlinks", "Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "s3:GetObject",
                     "Resource": both[1], "Condition": {"StringLike": {"aws:Referer": "https://shop.example/*"}}}),
            7: _doc({"Sid": "PartnersFromOffice", "Effect": "Allow", "Principal": "*", "Action": ["s3:GetObject", "s3:PutObject"],
                     "Resource": both[1], "Condition": {"IpAddress": {"aws:SourceIp": office}}}, owner),
            8: None,
            9: _doc({"Sid": "Reader", "Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::210987654321:role/reader-{k}"},
                     "Action": "s3:GetObject", "Resource": both[1]}, tls),
        }[kind]
        p.buckets.append({"name": name, "region": OTHER_REGION if k % 10 == 9 else REGION, "policy": policy,
                          "pab": kind == 5 and k % 20 == 5})


# ------------------------------------------------------------------------------------------------------------
# Datadog: monitors and downtimes (also used by the coverage micro-benchmark, without servers)
# ------------------------------------------------------------------------------------------------------------
def datadog_org(*, dlqs: list[str], sources: list[str], functions: list[str], services: list[str], total: int,
                downtimes: int, first_id: int = 7_000_000) -> tuple[list[dict], list[dict]]:
    """``total`` monitors (API JSON) of an organisation watching ``dlqs``, and ``downtimes`` downtimes."""
    out: list[dict] = []
    downs: list[dict] = []
    ids = iter(range(first_id, first_id + 10 * total + 10 * len(dlqs) + 1000))

    def add(name: str, query: str, **kw: Any) -> int:
        mid = next(ids)
        out.append(monitor(mid, name, query, **kw))
        return mid

    muted: list[int] = []
    for team in TEAMS:  # one multi-alert per team over its "batch" DLQs, one over its source queues
        add(f"[{team}] Messages arriving in {{{{queuename.name}}}}",
            f"change(avg(last_30m),last_30m):max:{VISIBLE}{{queuename:{team}-batch-dlq-*,aws_account:{ACCOUNT}}} "
            f"by {{queuename}} > 0", options={"evaluation_delay": 900}, tags=[f"team:{team}"])
        add(f"[{team}] Backlog of {{{{queuename.name}}}}",
            f"avg(last_15m):max:{VISIBLE}{{queuename:{team}-q-*,!queuename:{team}-q-0000*}} by {{queuename}} > 5000",
            tags=[f"team:{team}"])
    for d, q in enumerate(dlqs):
        if len(out) >= total:
            break
        kind = d % 20
        team = q.split("-", 1)[0]
        tags = [f"team:{team}", "env:prod"]
        if kind <= 9:
            scope = f"queuename:{q}" + (f",aws_account:{ACCOUNT}" if d % 3 == 0 else "") + (",region:us-east-1" if d % 5 == 0 else "")
            add(f"[{team}] Messages arriving in {q}", f"change(avg(last_15m),last_15m):max:{VISIBLE}{{{scope}}} > 0",
                options={"evaluation_delay": 900}, tags=tags)
        elif kind in (10, 11):
            add(f"[{team}] {q} is not empty", f"max(last_5m):max:{VISIBLE}{{queuename:{q}}} > 0",
                options={"renotify_interval": 60}, overall_state="Alert", tags=tags)
        elif kind == 12:
            add(f"[{team}] {q} changed", f"change(avg(last_5m),last_5m):max:{VISIBLE}{{queuename:{q}}} < 0", tags=tags)
        elif kind == 13:
            mid = add(f"[{team}] Messages arriving in {q}",
                      f"change(avg(last_30m),last_30m):max:{VISIBLE}{{queuename:{q}}} > 0",
                      options={"evaluation_delay": 900, **({"silenced": {"*": None}} if d % 40 == 13 else {})},
                      tags=tags)
            muted.append(mid)
        elif kind == 14:
            add(f"[{team}] {q} receives messages", f"sum(last_15m):sum:{SENT}{{queuename:{q}}}.as_count() > 0", tags=tags)
        elif kind == 15:
            member = add(f"[{team}] {q} grows (composite member)",
                         f"change(avg(last_1h),last_1h):max:{VISIBLE}{{queuename:{q}}} > 0",
                         options={"evaluation_delay": 900, "silenced": {"*": None}}, tags=tags)
            errors = add(f"[{team}] consumer errors (composite member)",
                         f"sum(last_15m):sum:aws.lambda.errors{{functionname:{team}-consumer}}.as_count() > 0",
                         options={"silenced": {"*": None}}, tags=tags)
            add(f"[{team}] Failed messages in {q}", f"{member} || {errors}", tags=tags)
    i = 0
    while len(out) < total:
        kind = i % 8
        if kind in (0, 4):  # a backlog alert per source queue: exact queuename scopes on a DLQ metric
            q = sources[(i // 2) % len(sources)]
            add(f"[{q.split('-', 1)[0]}] {q} backlog", f"avg(last_10m):max:{VISIBLE}{{queuename:{q}}} > 1000",
                tags=["env:prod"])
        elif kind == 1:
            fn = functions[i % len(functions)]
            add(f"[lambda] {fn} errors", f"sum(last_15m):sum:aws.lambda.errors{{functionname:{fn}}}.as_count() > 5",
                tags=["env:prod"])
        elif kind == 2:
            svc = services[i % len(services)]
            add(f"[ecs] {svc} CPU", f"avg(last_10m):avg:ecs.fargate.cpu.percent{{ecs_service:{svc},env:prod}} > 90",
                tags=["env:prod"])
        elif kind == 3:
            q = sources[i % len(sources)]
            add(f"[sqs] {q} oldest message", f"max(last_15m):max:aws.sqs.approximate_age_of_oldest_message"
                f"{{queuename:{q}}} > 3600", tags=["env:prod"])
        elif kind == 5:
            q = sources[(i * 7) % len(sources)]
            add(f"[sqs] {q} stopped draining", f"sum(last_1h):sum:aws.sqs.number_of_messages_deleted{{queuename:{q}}}"
                ".as_count() < 1", tags=["env:prod"])
        elif kind == 6:
            svc = services[i % len(services)]
            add(f"[logs] {svc} errors", f'logs("service:{svc} status:error").index("*").rollup("count").last("5m") > 10',
                type="log alert", tags=["env:prod"])
        else:
            add(f"[apm] p99 {i}", f"percentile(last_10m):p99:trace.http.request{{service:svc-{i % 300:04d}}} > 2",
                tags=["env:prod"])
        i += 1
    for k in range(downtimes):
        if k < len(muted) and k % 3 != 2:
            downs.append(downtime(muted[k], id=f"00000000-0000-4000-8000-{k:012d}", message="muted during a migration",
                                  start="2024-05-01T08:00:00+00:00"))
        elif k % 3 == 2:  # a maintenance window in the future, and one cancelled: not mutes
            downs.append(downtime(out[k % len(out)]["id"], id=f"00000000-0000-4000-8000-{k:012d}", message="planned",
                                  start="2099-01-01T00:00:00+00:00", end="2099-01-01T04:00:00+00:00"))
        else:
            downs.append(downtime(monitor_tags=[f"team:{TEAMS[k % len(TEAMS)]}"], id=f"00000000-0000-4000-8000-{k:012d}",
                                  scope=f"queuename:{TEAMS[k % len(TEAMS)]}-q-00000", message="load test",
                                  start="2024-05-02T10:00:00+00:00", end="2024-05-02T12:00:00+00:00",
                                  canceled="2024-05-02T10:30:00+00:00"))
    return out, downs


# ------------------------------------------------------------------------------------------------------------
# Building it
# ------------------------------------------------------------------------------------------------------------
def build(p: Plan, client: Callable[[str, str], Any], *, workers: int = 16,
          log: Callable[[str], None] = lambda msg: None) -> dict[str, float]:
    """Create the plan's AWS resources through ``client(service, region)``, ``workers`` requests at a time.

    Returns seconds per step. Steps run in dependency order; within a step everything runs concurrently.
    """
    timings: dict[str, float] = {}
    pool = ThreadPoolExecutor(workers, thread_name_prefix="seed")

    def step(name: str, jobs: Iterable[Callable[[], Any]]) -> list[Any]:
        t = time.perf_counter()
        out = list(pool.map(lambda job: job(), list(jobs)))
        timings[name] = timings.get(name, 0.0) + time.perf_counter() - t
        log(f"  {name}: {len(out)} in {time.perf_counter() - t:.1f}s")
        return out

    client = _retrying(client)
    iam, ec2, sqs, lam = client("iam", REGION), client("ec2", REGION), client("sqs", REGION), client("lambda", REGION)
    ecs, sd, s3 = client("ecs", REGION), client("servicediscovery", REGION), client("s3", REGION)
    s3_other = client("s3", OTHER_REGION)
    try:
        # IAM
        step("iam policies", [lambda n=n, d=d: iam.create_policy(PolicyName=n, PolicyDocument=json.dumps(d))
                              for n, d in p.managed.items()])
        managed = {n: f"arn:aws:iam::{ACCOUNT}:policy/{n}" for n in p.managed}
        step("iam roles", [lambda n=n, r=r: iam.create_role(RoleName=n, AssumeRolePolicyDocument=json.dumps(r["assume"]))
                           for n, r in p.roles.items()])
        role_arn = {n: f"arn:aws:iam::{ACCOUNT}:role/{n}" for n in p.roles}
        step("iam role policies", [
            *[lambda n=n, pn=pn, d=d: iam.put_role_policy(RoleName=n, PolicyName=pn, PolicyDocument=json.dumps(d))
              for n, r in p.roles.items() for pn, d in r["inline"].items()],
            *[lambda n=n, a=a: iam.attach_role_policy(RoleName=n, PolicyArn=managed[a])
              for n, r in p.roles.items() for a in r["attached"]]])
        # Network, one VPC per private DNS namespace
        vpc_ids = step("vpcs", [lambda v=v: ec2.create_vpc(CidrBlock=v["cidr"])["Vpc"]["VpcId"] for v in p.vpcs])
        subnets = step("subnets", [
            lambda vid=vid, v=v: [ec2.create_subnet(VpcId=vid, CidrBlock=c, AvailabilityZone=f"{REGION}{'ab'[i]}")
                                  ["Subnet"]["SubnetId"] for i, c in enumerate(v["subnets"])]
            for vid, v in zip(vpc_ids, p.vpcs, strict=True)])
        groups = step("security groups", [
            lambda vid=vid, i=i: {kind: ec2.create_security_group(GroupName=f"{kind}-{i}", Description=kind, VpcId=vid)
                                  ["GroupId"] for kind in ("tasks", "api", "lambda")}
            for i, vid in enumerate(vpc_ids)])
        # Tasks admit tasks; "api" tasks (a few services) also admit the VPC's Lambda functions (SC-2).
        step("ingress", [lambda g=g, kind=kind: ec2.authorize_security_group_ingress(GroupId=g[kind], IpPermissions=[
            {"IpProtocol": "tcp", "FromPort": PORT, "ToPort": PORT, "UserIdGroupPairs": [
                {"GroupId": g["tasks"]}, *([{"GroupId": g["lambda"]}] if kind == "api" else [])]}])
            for g in groups for kind in ("tasks", "api")])
        # SQS: DLQs, then the sources that redrive onto them
        step("dlqs", [lambda q=q: sqs.create_queue(QueueName=q["name"], Attributes=q["attributes"]) for q in p.dlqs])
        step("queues", [lambda q=q: sqs.create_queue(QueueName=q["name"], Attributes=q["attributes"]) for q in p.queues])
        # Lambda
        code = {"ZipFile": lambda_zip()}

        def function(f: dict) -> None:
            extra: dict[str, Any] = {}
            if f["vpc"]:
                extra["VpcConfig"] = {"SubnetIds": subnets[0], "SecurityGroupIds": [groups[0]["lambda"]]}
            lam.create_function(FunctionName=f["name"], Runtime="python3.12", Role=role_arn[f["role"]],
                                Handler="app.handler", Code=code, Timeout=f["timeout"],
                                Environment={"Variables": f["env"]}, **extra)
            if f["alias"]:
                version = lam.publish_version(FunctionName=f["name"])["Version"]
                lam.create_alias(FunctionName=f["name"], Name="live", FunctionVersion=version)
            if f["reserved"] is not None:
                lam.put_function_concurrency(FunctionName=f["name"], ReservedConcurrentExecutions=f["reserved"])

        step("functions", [lambda f=f: function(f) for f in p.functions])
        step("mappings", [lambda m=m: lam.create_event_source_mapping(
            FunctionName=p.functions[m["function"]]["name"] + (":live" if m["alias"] else ""),
            EventSourceArn=f"arn:aws:sqs:{REGION}:{ACCOUNT}:{p.queues[m['queue']]['name']}",
            Enabled=m["enabled"], **m["params"]) for m in p.mappings])
        # Cloud Map and ECS
        step("namespaces", [
            *[lambda n=n: sd.create_http_namespace(Name=n) for n in p.http_namespaces],
            *[lambda v=v, vid=vid: sd.create_private_dns_namespace(Name=v["namespace"], Vpc=vid)
              for v, vid in zip(p.vpcs, vpc_ids, strict=True)]])
        ns = {x["Name"]: x for page in sd.get_paginator("list_namespaces").paginate() for x in page["Namespaces"]}
        step("clusters", [lambda c=c: ecs.create_cluster(clusterName=c["name"], serviceConnectDefaults={
            "namespace": ns[p.http_namespaces[c["namespace"]]]["Arn"]}) for c in p.clusters])

        def service(s: dict) -> None:
            role = role_arn[s["role"]]
            td = ecs.register_task_definition(
                family=s["name"], networkMode="awsvpc", requiresCompatibilities=["FARGATE"], cpu="512", memory="1024",
                taskRoleArn=role, executionRoleArn=role, containerDefinitions=s["containers"],
            )["taskDefinition"]["taskDefinitionArn"]
            extra: dict[str, Any] = {}
            sc = s["sc"]
            if sc is not None:
                extra["serviceConnectConfiguration"] = _sc_config(p, s, ns)
            if s["registry"] is not None:
                v = p.vpcs[s["registry"]]
                registry = sd.create_service(
                    Name=s["name"], NamespaceId=ns[v["namespace"]]["Id"],
                    DnsConfig={"RoutingPolicy": "MULTIVALUE", "DnsRecords": [{"Type": "A", "TTL": 10}]},
                    HealthCheckCustomConfig={"FailureThreshold": 1})["Service"]["Arn"]
                extra["serviceRegistries"] = [{"registryArn": registry}]
            ecs.create_service(
                cluster=p.clusters[s["cluster"]]["name"], serviceName=s["name"], taskDefinition=td, desiredCount=2,
                launchType="FARGATE", networkConfiguration={"awsvpcConfiguration": {
                    "subnets": subnets[s["vpc"]], "securityGroups": [groups[s["vpc"]]["api" if s["api"] else "tasks"]],
                    "assignPublicIp": "DISABLED"}}, **extra)
            if s["rollout"]:
                cfg = _sc_config(p, s, ns)
                for entry in cfg.get("services", []):
                    entry["clientAliases"] = [{"port": PORT, "dnsName": f"{s['name']}-v2"}]
                ecs.update_service(cluster=p.clusters[s["cluster"]]["name"], service=s["name"],
                                   serviceConnectConfiguration=cfg)

        step("ecs services", [lambda s=s: service(s) for s in p.services])
        # S3
        def bucket(b: dict) -> None:
            cli = s3_other if b["region"] != REGION else s3
            kw = {"CreateBucketConfiguration": {"LocationConstraint": b["region"]}} if b["region"] != REGION else {}
            cli.create_bucket(Bucket=b["name"], **kw)
            if b["policy"] is not None:
                cli.put_bucket_policy(Bucket=b["name"], Policy=json.dumps(b["policy"]))
            if b["pab"]:
                cli.put_public_access_block(Bucket=b["name"], PublicAccessBlockConfiguration={
                    "BlockPublicAcls": True, "IgnorePublicAcls": True, "BlockPublicPolicy": True,
                    "RestrictPublicBuckets": True})

        step("buckets", [lambda b=b: bucket(b) for b in p.buckets])
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
    return timings


_CONFLICTS = ("AlreadyExists", "Conflict", "AlreadyOwnedByYou", "Duplicate")


def _retrying(factory: Callable[[str, str], Any]) -> Callable[[str, str], Any]:
    """Clients whose calls are retried when moto fails under concurrent writes (moto 5.2.5 answers some with a
    500 page: "dictionary changed size during iteration"), which botocore does not always retry. A create
    that answers "already exists" on a retry was done by the failed attempt: it counts as done (None). The 500
    page is HTML: to a query-protocol service (IAM) that is a ResponseParserError, which is no BotoCoreError."""
    from botocore.exceptions import BotoCoreError, ClientError
    from botocore.parsers import ResponseParserError

    def wrap(method: Callable[..., Any]) -> Callable[..., Any]:
        def call(*args: Any, **kwargs: Any) -> Any:
            for attempt in range(6):
                try:
                    return method(*args, **kwargs)
                except ClientError as exc:
                    status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
                    code = str(exc.response.get("Error", {}).get("Code", ""))
                    if attempt and any(c in code for c in _CONFLICTS):
                        return None
                    if status < 500 or attempt == 5:
                        raise
                except (BotoCoreError, ResponseParserError):
                    if attempt == 5:
                        raise
                time.sleep(0.2 * (attempt + 1))
            return None

        return call

    class Retrying:
        def __init__(self, client: Any) -> None:
            self._client = client

        def __getattr__(self, name: str) -> Any:
            attr = getattr(self._client, name)
            return wrap(attr) if callable(attr) and name != "get_paginator" else attr

    return lambda service, region: Retrying(factory(service, region))


def _sc_config(p: Plan, s: dict, ns: dict[str, dict]) -> dict:
    sc = s["sc"]
    name = p.http_namespaces[sc["namespace"]]
    cfg: dict[str, Any] = {"enabled": True}
    if sc["how"] == "name":
        cfg["namespace"] = name
    elif sc["how"] == "arn":
        cfg["namespace"] = ns[name]["Arn"]
    if sc["server"]:
        cfg["services"] = [{"portName": "http", "clientAliases": [{"port": PORT, "dnsName": s["name"]}]}]
    return cfg


# ------------------------------------------------------------------------------------------------------------
# What a scanner of this account needs at least
# ------------------------------------------------------------------------------------------------------------
def _pages(items: int, size: int, *, short_page: bool = False) -> int:
    """Pages to list ``items`` at ``size`` per page; ``short_page``: the API gives no token or total, so the end
    is only known from a short (possibly empty) page."""
    return items // size + 1 if short_page else max(1, math.ceil(items / size))


def minimum_calls(p: Plan) -> dict[str, int]:
    """Calls by ``service:Operation`` that the APIs auditor uses need for this account, at their largest page
    sizes and one call per resource where the API has no batch form — computed from the plan, not observed."""
    out: Counter[str] = Counter()
    queues = len(p.queues) + len(p.dlqs)
    out["sts:GetCallerIdentity"] = 1
    out["sqs:ListQueues"] = _pages(queues, MAX_PAGE["sqs:ListQueues"])
    out["sqs:GetQueueAttributes"] = queues
    out["lambda:ListFunctions"] = _pages(len(p.functions), MAX_PAGE["lambda:ListFunctions"])
    out["lambda:ListEventSourceMappings"] = _pages(len(p.mappings), MAX_PAGE["lambda:ListEventSourceMappings"])
    enabled = [m for m in p.mappings if m["enabled"]]
    out["lambda:GetFunctionConcurrency"] = len({m["function"] for m in enabled})
    out["lambda:GetFunctionConfiguration"] = len({m["function"] for m in enabled if m["alias"]})
    out["ecs:ListClusters"] = _pages(len(p.clusters), MAX_PAGE["ecs:ListClusters"])
    per_cluster = Counter(s["cluster"] for s in p.services)
    out["ecs:ListServices"] = sum(_pages(per_cluster[c], MAX_PAGE["ecs:ListServices"]) for c in range(len(p.clusters)))
    out["ecs:DescribeServices"] = sum(math.ceil(n / MAX_PAGE["ecs:DescribeServices"]) for n in per_cluster.values())
    out["ecs:DescribeTaskDefinition"] = len(p.services)  # one each; a rollout here keeps the task definition
    by_arn = {s["sc"]["namespace"] for s in p.services if s["sc"] and s["sc"]["how"] in ("arn", "default")}
    registries = [s for s in p.services if s["registry"] is not None]
    # every namespace by ARN and every registry's namespace from one listing (100 a page)
    out["servicediscovery:ListNamespaces"] = _pages(len(p.http_namespaces) + len(p.vpcs), 100) if by_arn or registries else 0
    out["servicediscovery:GetService"] = len(registries)
    out["ec2:DescribeSubnets"] = _pages(2 * len(p.vpcs), MAX_PAGE["ec2:DescribeSubnets"])
    out["ec2:DescribeSecurityGroups"] = _pages(4 * len(p.vpcs) + 1, MAX_PAGE["ec2:DescribeSecurityGroups"])
    out["s3:ListBuckets"] = _pages(len(p.buckets), MAX_PAGE["s3:ListBuckets"])
    out["s3:GetBucketLocation"] = 0  # ListBuckets' BucketRegion (the bench server adds it, as AWS does)
    out["s3:GetBucketPolicy"] = len(p.buckets)
    out["s3:GetPublicAccessBlock"] = sum(1 for b in p.buckets if b["policy"] and may_be_public(json.dumps(b["policy"])))
    out["s3:GetBucketNotificationConfiguration"] = len(p.buckets)
    out["s3control:GetPublicAccessBlock"] = 1
    used = {f["role"] for f in p.functions} | {s["role"] for s in p.services}
    out["iam:ListRolePolicies"] = len(used)
    out["iam:ListAttachedRolePolicies"] = len(used)
    out["iam:GetRolePolicy"] = sum(len(p.roles[r]["inline"]) for r in used)
    attached = {a for r in used for a in p.roles[r]["attached"]}
    out["iam:GetPolicy"] = len(attached)
    out["iam:GetPolicyVersion"] = len(attached)
    out["iam:GetRole"] = len({p.functions[m["function"]]["role"] for m in enabled})  # permissions boundaries
    out["datadog:ListMonitors"] = _pages(len(p.monitors), MAX_PAGE["datadog:ListMonitors"], short_page=True)
    active = [d for d in p.downtimes if not d["attributes"]["canceled"]
              and d["attributes"]["schedule"]["start"] < "2026" and not d["attributes"]["schedule"]["end"]]
    out["datadog:ListDowntimes"] = _pages(len(active), MAX_PAGE["datadog:ListDowntimes"])  # total_filtered_count
    return {k: v for k, v in sorted(out.items()) if v}


def critical_path(p: Plan) -> int:
    """The longest chain of calls that depend on each other's answers (every listing page needs the previous
    page's token), for a scanner that starts each call as soon as its inputs are known."""
    m = minimum_calls(p)
    roles = 1 + 2  # ListRolePolicies ∥ ListAttachedRolePolicies, then GetPolicy → GetPolicyVersion
    chains = [
        m["lambda:ListFunctions"] + roles,  # the functions' roles
        1 + 1 + 1 + 1 + roles,  # ListClusters → ListServices → DescribeServices → DescribeTaskDefinition → roles
        1 + 1 + 1 + 1,  # … DescribeServices → GetService (∥ ListNamespaces)
        m["lambda:ListEventSourceMappings"] + 1,  # → GetFunctionConcurrency / GetFunctionConfiguration
        m["sqs:ListQueues"] + 1,  # → GetQueueAttributes
        m["s3:ListBuckets"] + 2,  # (BucketRegion) → GetBucketPolicy → GetPublicAccessBlock
        m["datadog:ListMonitors"], m["datadog:ListDowntimes"],
    ]
    return 1 + max(chains)  # GetCallerIdentity first


def verify(p: Plan, client: Callable[[str, str], Any]) -> dict[str, tuple[int, int]]:
    """(planned, found) for each kind of resource whose count differs after :func:`build` (empty: all there)."""
    lam, sqs, ecs, s3 = client("lambda", REGION), client("sqs", REGION), client("ecs", REGION), client("s3", REGION)
    found = {
        "queues": sum(len(pg.get("QueueUrls") or []) for pg in sqs.get_paginator("list_queues").paginate(
            PaginationConfig={"PageSize": 1000})),
        "functions": sum(len(pg["Functions"]) for pg in lam.get_paginator("list_functions").paginate()),
        "mappings": sum(len(pg["EventSourceMappings"]) for pg in
                        lam.get_paginator("list_event_source_mappings").paginate()),
        "services": sum(len(ecs.list_services(cluster=c["name"], maxResults=100)["serviceArns"]) for c in p.clusters),
        "buckets": len(s3.list_buckets()["Buckets"]),
    }
    planned = {"queues": len(p.queues) + len(p.dlqs), "functions": len(p.functions), "mappings": len(p.mappings),
               "services": len(p.services), "buckets": len(p.buckets)}
    return {k: (planned[k], found[k]) for k in planned if planned[k] != found[k]}
