"""SC-1..SC-4 and FL-1..FL-8 over the seeded shop account (in-process engine run against the moto server)."""

from __future__ import annotations

from collections import defaultdict

import pytest

from auditor.demo import seed_ecs
from auditor.model import Severity, Status

ECS_RULES = {f"SC-{i}" for i in range(1, 5)} | {f"FL-{i}" for i in range(1, 9)}


def _by_resource(report):
    out: dict[str, dict[str, set[str]]] = defaultdict(lambda: {"fail": set(), "pass": set(), "not-evaluated": set()})
    for f in report.findings:
        out[f.resource.id][f.status.value].add(f.rule)
    return out


@pytest.mark.parametrize("resource", sorted(seed_ecs.EXPECTED))
def test_expected_findings(seeded_scan, resource):
    got = _by_resource(seeded_scan.report)[resource]
    want = seed_ecs.EXPECTED[resource]
    assert want.get("fail", set()) <= got["fail"], f"{resource}: expected {want.get('fail')} to fire, got {got}"
    assert not (want.get("clean", set()) & got["fail"]), f"{resource}: {want.get('clean')} must not fire, got {got}"


def test_every_rule_has_a_failure_and_a_pass_in_the_demo(seeded_scan):
    by_rule = defaultdict(set)
    for f in seeded_scan.report.findings:
        by_rule[f.rule].add(f.status.value)
    for rule in ECS_RULES - {"FL-1"}:  # AWS rejects FL-1's defect at registration: files only
        assert {"fail", "pass"} <= by_rule[rule], rule
    assert "pass" in by_rule["FL-1"]


def test_nothing_unexpected_fires_and_nothing_is_left_unevaluated(seeded_scan):
    failed = {(f.resource.id, f.rule) for f in seeded_scan.report.findings if f.status is Status.FAIL}
    wanted = {(rid, rule) for rid, want in seed_ecs.EXPECTED.items() for rule in want.get("fail", ())}
    assert failed == wanted
    assert not seeded_scan.report.not_evaluated, [f.message for f in seeded_scan.report.not_evaluated]


def test_sc1_finding_names_function_variable_and_service_but_not_the_value(seeded_scan):
    f = next(f for f in seeded_scan.report.failures if f.rule == "SC-1" and f.resource.id == "stock-sync")
    assert "INVENTORY_API_URL" in f.message and "shop/inventory-api" in f.message
    assert "inventory-api.shop" in f.message
    assert "/v1" not in f.message and "/v1" not in str(dict(f.evidence))
    assert f.severity is Severity.HIGH and f.resource.type == "lambda-function"


def test_sc1_reads_the_active_deployment_during_a_rollout(seeded_scan):
    f = next(f for f in seeded_scan.report.failures if f.rule == "SC-1" and f.resource.id == "search-indexer")
    assert f.evidence["deployment_status"] == "ACTIVE" and "rollout" in f.message


def test_sc1_is_judged_by_name_a_service_connect_alias_of_a_service_also_in_dns(seeded_scan):
    """pricing is registered in DNS as pricing.shop.local and has the Service Connect alias "pricing":
    price-alerts calls the alias, which only Service Connect proxies resolve (check-rules.md §1)."""
    f = next(f for f in seeded_scan.report.failures if f.rule == "SC-1" and f.resource.id == "price-alerts")
    assert f.evidence["endpoint"] == "pricing" and f.evidence["dns_names"] == ["pricing.shop.local"]
    assert "also registered in DNS as pricing.shop.local: use that name" in f.message
    ok = [f for f in seeded_scan.report.findings if f.rule == "SC-1" and f.resource.id == "price-sync"]
    assert [f.status for f in ok] == [Status.PASS]  # it calls pricing.shop.local


def test_fl7_fargate_agent_host_is_low(seeded_scan):
    f = next(f for f in seeded_scan.report.failures if f.rule == "FL-7" and f.resource.id == "pricing:1")
    assert f.severity is Severity.LOW


def test_api_call_budget(seeded_scan):
    calls = seeded_scan.stats["calls"]
    # 12 seeded task definitions in use, each described exactly once although six checks read them
    assert calls["ecs:DescribeTaskDefinition"] == 12
    assert seeded_scan.batches and max(seeded_scan.batches) <= 10
    assert calls["ecs:DescribeServices"] == 3  # shop: 10 + 1, backoffice: 1
    assert calls["servicediscovery:GetService"] == 3  # the three DNS registries
    assert calls["servicediscovery:ListNamespaces"] == 1  # shop.local and the ARN-given shop: one listing
    assert "servicediscovery:GetNamespace" not in calls
    assert calls["lambda:ListFunctions"] == 1


def test_fl4_missing_host_follows_the_configured_datadog_site(seeded_aws, monkeypatch):
    """storefront:1 sets no Host: fine for an unknown or US1 site (Fluent Bit's default intake), FL-4 when the
    audited organisation is on another site."""
    from auditor.checks import firelens

    from auditor import engine
    from auditor.inventory import Inventory
    from auditor.inventory.aws import AwsAccount
    from auditor.inventory.datadog import DatadogInventory, DatadogSettings

    for key, value in seeded_aws.env().items():
        monkeypatch.setenv(key, value)
    outcomes = {}
    for site in ("", "datadoghq.com", "datadoghq.eu"):
        inv = Inventory(AwsAccount("demo"), ["us-east-1"])
        if site:
            inv.datadog = DatadogInventory(DatadogSettings.resolve(environ={
                "DD_SITE": site, "DD_API_KEY": "a" * 32, "DD_APP_KEY": "b" * 40}), stats=inv.stats)
        try:
            report = engine.run(inv, [firelens.datadog_host], target={})
        finally:
            inv.close()
        outcomes[site] = [f for f in report.findings if f.resource.id == "storefront:1"]
    assert [f.status for f in outcomes[""]] == [Status.PASS]
    assert [f.status for f in outcomes["datadoghq.com"]] == [Status.PASS]
    [eu] = outcomes["datadoghq.eu"]
    assert eu.status is Status.FAIL and "has no Host" in eu.message and "datadoghq.eu" in eu.message
