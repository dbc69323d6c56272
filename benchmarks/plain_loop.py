"""The yardstick: a plain concurrent boto3 loop that makes exactly the calls ``auditor scan`` makes, and checks
nothing.

    python -m benchmarks.plain_loop --profile bench --workers 8   (Datadog from DD_HOST, DD_API_KEY, DD_APP_KEY)

One ``ThreadPoolExecutor(--workers)``; phase by phase (each phase's calls depend only on earlier phases'
answers) it lists, then issues the per-resource calls for what it found, with the page sizes the tool asks
for. It mirrors which resources the tool reads (e.g. reserved concurrency only for functions with an enabled
SQS mapping, Block Public Access only for buckets whose policy may be public), but keeps only what the next
phase needs. Prints one JSON line: calls by ``service:Operation`` (counted like ``auditor scan --stats``), the
wall seconds of the loop, the phases' sizes.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

ENABLED = {"Enabled", "Enabling", "Updating"}


class Loop:
    def __init__(self, profile: str | None, workers: int) -> None:
        self.calls: Counter[str] = Counter()
        self._lock = threading.Lock()
        self.session = boto3.Session(profile_name=profile)
        self.session.events.register("before-call.*.*", self._count)
        self.region = self.session.region_name or "us-east-1"
        self.config = Config(retries={"mode": "standard", "max_attempts": 3}, max_pool_connections=max(10, workers),
                             inject_host_prefix=False, connect_timeout=10, read_timeout=30)
        self._clients: dict[tuple[str, str], Any] = {}
        self.pool = ThreadPoolExecutor(workers, thread_name_prefix="loop")
        self.phases: list[tuple[int, float]] = []  # (calls or call chains, seconds)

    def _count(self, model: Any, **_: Any) -> None:
        with self._lock:
            self.calls[f"{model.service_model.service_name}:{model.name}"] += 1

    def count(self, key: str) -> None:
        with self._lock:
            self.calls[key] += 1

    def client(self, service: str, region: str | None = None) -> Any:
        key = (service, region or self.region)
        with self._lock:
            if key not in self._clients:
                self._clients[key] = self.session.client(service, region_name=key[1], config=self.config)
            return self._clients[key]

    def phase(self, jobs: Iterable[Callable[[], Any]]) -> list[Any]:
        jobs = list(jobs)
        t0 = time.perf_counter()
        out = list(self.pool.map(lambda job: job(), jobs))
        self.phases.append((len(jobs), round(time.perf_counter() - t0, 3)))
        return out

    def phases_of(self, *groups: list[Callable[[], Any]]) -> list[list[Any]]:
        """One phase made of several groups of calls; the answers, group by group."""
        got = self.phase([job for group in groups for job in group])
        out, at = [], 0
        for group in groups:
            out.append(got[at : at + len(group)])
            at += len(group)
        return out

    def pages(self, service: str, operation: str, key: str, page_size: int, region: str | None = None,
              **params: Any) -> list[Any]:
        out: list[Any] = []
        paginator = self.client(service, region).get_paginator(operation)
        for page in paginator.paginate(PaginationConfig={"PageSize": page_size}, **params):
            out.extend(page.get(key) or [])
        return out


def _missing(exc: ClientError, *codes: str) -> bool:
    return exc.response.get("Error", {}).get("Code") in codes


def _or_none(fn: Callable[[], Any], *codes: str) -> Any:
    try:
        return fn()
    except ClientError as exc:
        if _missing(exc, *codes):
            return None
        raise


def _base(function_arn: str) -> tuple[str, str | None]:
    parts = function_arn.split(":")
    return ":".join(parts[:7]), (parts[7] if len(parts) > 7 else None)


def _aws_alias(ref: str) -> bool:
    """``alias/aws/…``: a key AWS manages, which the tool does not describe."""
    return (ref.split(":", 5)[-1] if ref.startswith("arn:") else ref).startswith("alias/aws/")


def _id(arn_or_id: str) -> str:
    return arn_or_id.rsplit("/", 1)[-1] if arn_or_id.startswith("arn:") else arn_or_id


class Datadog:
    """Monitors and downtimes through datadog-api-client, raw JSON (as the tool reads them)."""

    def __init__(self, loop: Loop) -> None:
        from datadog_api_client import ApiClient, Configuration
        from datadog_api_client.v1.api.monitors_api import MonitorsApi
        from datadog_api_client.v2.api.downtimes_api import DowntimesApi

        conf = Configuration(host=os.environ["DD_HOST"], api_key={
            "apiKeyAuth": os.environ.get("DD_API_KEY", ""), "appKeyAuth": os.environ.get("DD_APP_KEY", "")},
            return_http_data_only=True, preload_content=False)
        self.loop = loop
        self.api = ApiClient(conf)
        self.monitors_api, self.downtimes_api = MonitorsApi(self.api), DowntimesApi(self.api)

    def _json(self, op: str, fn: Callable[[], Any]) -> Any:
        self.loop.count(f"datadog:{op}")
        resp = fn()
        try:
            return json.loads(resp.data)
        finally:
            resp.release_conn()

    def monitors(self) -> list[dict]:
        out, page = [], 0
        while True:
            batch = self._json("ListMonitors", lambda p=page: self.monitors_api.list_monitors(
                page=p, page_size=1000, with_downtimes=True))
            out.extend(batch)
            if len(batch) < 1000:
                return out
            page += 1

    def downtimes(self) -> list[dict]:
        out, offset = [], 0
        while True:
            data = self._json("ListDowntimes", lambda o=offset: self.downtimes_api.list_downtimes(
                current_only=True, page_offset=o, page_limit=100))["data"]
            out.extend(data)
            if len(data) < 100:
                return out
            offset += 100

    def monitor(self, mid: int) -> Any:
        return self._json("GetMonitor", lambda: self.monitors_api.get_monitor(mid, with_downtimes=True))


def run(loop: Loop, datadog: bool) -> None:
    from auditor.inventory.s3 import may_be_public  # which buckets the tool reads Block Public Access for

    account = loop.client("sts").get_caller_identity()["Account"]
    dd = Datadog(loop) if datadog else None

    # 1. listings
    listed = loop.phase([
        lambda: loop.pages("sqs", "list_queues", "QueueUrls", 1000),
        lambda: loop.pages("lambda", "list_functions", "Functions", 50),
        lambda: loop.pages("lambda", "list_event_source_mappings", "EventSourceMappings", 100),
        lambda: loop.pages("ecs", "list_clusters", "clusterArns", 100),
        lambda: loop.pages("ec2", "describe_subnets", "Subnets", 1000),
        lambda: loop.pages("ec2", "describe_security_groups", "SecurityGroups", 1000),
        lambda: loop.pages("s3", "list_buckets", "Buckets", 10000),
        lambda: _or_none(lambda: loop.client("s3control").get_public_access_block(AccountId=account),
                         "NoSuchPublicAccessBlockConfiguration", "NoSuchPublicAccessBlock"),
        *([dd.monitors, dd.downtimes] if dd else []),
    ])
    urls, functions, mappings, clusters, _, _, buckets, _ = listed[:8]
    monitors = listed[8] if dd else []
    functions = {_base(f["FunctionArn"])[0]: f for f in functions}
    sqs_mapped = [m["FunctionArn"] for m in mappings
                  if ":sqs:" in (m.get("EventSourceArn") or "") and m.get("State") in ENABLED]
    qualified = sorted({a for a in sqs_mapped if _base(a)[1] not in (None, "$LATEST") or _base(a)[0] not in functions})
    known = {m["id"] for m in monitors}
    members = sorted({int(x) for m in monitors if m.get("type") == "composite"
                      for x in re.findall(r"\d+", m.get("query") or "")} - known)
    names = sorted(b["Name"] for b in buckets)
    listed_region = {b["Name"]: b.get("BucketRegion") for b in buckets}
    unlocated = [b for b in names if not listed_region.get(b)]  # GetBucketLocation only where the listing says nothing

    # 2. per-resource calls on the listings
    sqs, lam, ecs, s3 = loop.client("sqs"), loop.client("lambda"), loop.client("ecs"), loop.client("s3")
    attributes, _, configs, services_of, locations, _ = loop.phases_of(
        [lambda u=u: sqs.get_queue_attributes(QueueUrl=u, AttributeNames=["All"]) for u in urls],
        [lambda a=a: lam.get_function_concurrency(FunctionName=a) for a in sorted({_base(a)[0] for a in sqs_mapped})],
        [lambda a=a: lam.get_function_configuration(FunctionName=a) for a in qualified],
        [lambda c=c: loop.pages("ecs", "list_services", "serviceArns", 100, cluster=c) for c in clusters],
        [lambda b=b: s3.get_bucket_location(Bucket=b) for b in unlocated],
        [lambda mid=mid: dd.monitor(mid) for mid in members] if dd else [],
    )
    region_of = {b: (loc.get("LocationConstraint") or "us-east-1") for b, loc in zip(unlocated, locations, strict=True)}
    region_of = {b: ("eu-west-1" if r == "EU" else r) for b, r in region_of.items()}
    region_of.update({b: r for b, r in listed_region.items() if r})

    # 3. services in batches of 10; bucket policies and notifications; the queues' KMS keys
    keys = sorted({a["Attributes"]["KmsMasterKeyId"] for a in attributes
                   if (a.get("Attributes") or {}).get("KmsMasterKeyId")})
    kms = loop.client("kms")
    described, got, _, described_keys = loop.phases_of(
        [lambda c=c, batch=arns[i:i + 10]: ecs.describe_services(cluster=c, services=batch)
         for c, arns in zip(clusters, services_of, strict=True) for i in range(0, len(arns), 10)],
        [lambda b=b: _or_none(lambda: loop.client("s3", region_of[b]).get_bucket_policy(Bucket=b)["Policy"],
                              "NoSuchBucketPolicy") for b in names],
        [lambda b=b: loop.client("s3", region_of[b]).get_bucket_notification_configuration(Bucket=b)
         for b in names],
        [lambda k=k: kms.describe_key(KeyId=k)["KeyMetadata"] for k in keys if not _aws_alias(k)],
    )
    services = [s for batch in described for s in batch["services"] if s.get("status") != "INACTIVE"]
    policies = dict(zip(names, got, strict=True))

    # 4. task definitions, Cloud Map, Block Public Access of buckets that may be public
    live = [[d for d in s.get("deployments") or [] if d.get("status") == "PRIMARY"]
            + [d for d in s.get("deployments") or [] if d.get("status") == "ACTIVE"] for s in services]
    task_defs = sorted({td for s, deps in zip(services, live, strict=True)
                        for td in [*(d.get("taskDefinition") for d in deps), s.get("taskDefinition")] if td})
    namespaces = sorted({_id(cfg["namespace"]) for deps in live for d in deps
                         if (cfg := d.get("serviceConnectConfiguration")) and cfg.get("enabled")
                         and str(cfg.get("namespace") or "").startswith(("arn:", "ns-"))})
    registries = sorted({_id(r["registryArn"]) for s in services for r in s.get("serviceRegistries") or []
                         if r.get("registryArn")})
    public = [b for b in names if isinstance(policies[b], str) and may_be_public(policies[b])]
    sd = loop.client("servicediscovery")
    tds, _, discovered, _, _ = loop.phases_of(
        [lambda t=t: ecs.describe_task_definition(taskDefinition=t)["taskDefinition"] for t in task_defs],
        [lambda: loop.pages("servicediscovery", "list_namespaces", "Namespaces", 100)] if namespaces else [],
        [lambda r=r: sd.get_service(Id=r)["Service"] for r in registries],
        [lambda b=b: _or_none(lambda: loop.client("s3", region_of[b]).get_public_access_block(Bucket=b),
                              "NoSuchPublicAccessBlockConfiguration") for b in public],
        [lambda k=k: kms.get_key_policy(KeyId=k, PolicyName="default")
         for k in sorted({m["KeyId"] for m in described_keys if m.get("KeyManager") != "AWS"
                          and m.get("Arn", "").split(":")[4:5] == [account]})],
    )

    # 5. registries' namespaces; the workload roles' policy listings
    roles = sorted({f["Role"] for f in functions.values() if f.get("Role")}
                   | {t["taskRoleArn"] for t in tds if t.get("taskRoleArn")})
    iam = loop.client("iam")

    def listing(role: str) -> tuple[str, list[str], list[dict]]:
        name = role.rsplit("/", 1)[-1]
        return (name, loop.pages("iam", "list_role_policies", "PolicyNames", 1000, RoleName=name),
                loop.pages("iam", "list_attached_role_policies", "AttachedPolicies", 1000, RoleName=name))

    by_arn = {a: c for a, c in zip(qualified, configs, strict=True)}
    consumers = sorted({(by_arn.get(a) or functions.get(_base(a)[0]) or {}).get("Role") for a in sqs_mapped} - {None, ""})
    roles = sorted(set(roles) | set(consumers))
    _, listed_roles, _ = loop.phases_of(
        [lambda: loop.pages("servicediscovery", "list_namespaces", "Namespaces", 100)]
        if discovered and not namespaces else [],
        [lambda r=r: listing(r) for r in roles],
        [lambda r=r: iam.get_role(RoleName=r.rsplit("/", 1)[-1]) for r in consumers],
    )

    # 6. inline documents and attached policies (each distinct policy once); 7. their default versions
    attached = sorted({a["PolicyArn"] for _, _, att in listed_roles for a in att})
    _, meta = loop.phases_of(
        [lambda r=r, n=n: iam.get_role_policy(RoleName=r, PolicyName=n) for r, inline, _ in listed_roles for n in inline],
        [lambda a=a: iam.get_policy(PolicyArn=a)["Policy"] for a in attached],
    )
    versions = [(a, m.get("DefaultVersionId") or "v1") for a, m in zip(attached, meta, strict=True)]
    loop.phase([lambda a=a, v=v: iam.get_policy_version(PolicyArn=a, VersionId=v) for a, v in versions])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--profile")
    parser.add_argument("--workers", type=int, default=8)
    parser.add_argument("--no-datadog", action="store_true")
    args = parser.parse_args(argv)
    loop = Loop(args.profile, args.workers)
    t0 = time.perf_counter()
    try:
        run(loop, datadog=not args.no_datadog and bool(os.environ.get("DD_HOST")))
    finally:
        loop.pool.shutdown(wait=True)
    wall = time.perf_counter() - t0
    print(json.dumps({"calls": dict(sorted(loop.calls.items())), "total": sum(loop.calls.values()), "wall": wall,
                      "phases": loop.phases}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
