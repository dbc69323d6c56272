"""Task definitions are read within bounds (nesting, size): one past them is not evaluated on its own — it never
crashes a check for every task definition, never stalls the scan."""

from __future__ import annotations

import copy
import json

import pytest

from auditor import engine
from auditor.inventory.ecs import MAX_TASK_DEFINITION_DEPTH, task_definition_problem
from auditor.model import Status
from tests.conftest import run_auditor
from tests.ecs.helpers import load_data, run_files

HEALTHY = load_data("taskdef-healthy-describe.json")["taskDefinition"]


def _nested(depth: int):
    value: object = "x"
    for _ in range(depth):
        value = [value]
    return value


def _with_option(value) -> dict:
    doc = copy.deepcopy(HEALTHY)
    doc["containerDefinitions"][0]["logConfiguration"]["options"]["Host"] = value
    return doc


def test_bounds():
    assert task_definition_problem(HEALTHY) == ""
    assert "nests more than" in task_definition_problem(_with_option(_nested(MAX_TASK_DEFINITION_DEPTH)))
    assert "larger than 512 KiB" in task_definition_problem(_with_option("h" * 600_000))
    assert task_definition_problem(_nested(10_000)) != ""  # iterative: no RecursionError


def test_a_task_definition_file_past_the_bounds_is_not_evaluated_alone():
    from auditor.checks import firelens as fl

    deep = _with_option(_nested(200))  # a file can hold it; nothing a real task definition needs
    findings = run_files(fl.CHECKS, HEALTHY, deep)
    on_deep = [f for f in findings if f.resource.id == "td1.json"]
    assert {f.status for f in on_deep} == {Status.NOT_EVALUATED}
    assert {f.rule for f in on_deep} == {f"FL-{i}" for i in range(1, 9)}
    assert all("nests more than 32 levels deep" in f.reason for f in on_deep)
    healthy = [f for f in findings if f.resource.id == "td0.json"]
    assert healthy and {f.status for f in healthy} == {Status.PASS}
    assert not [f for f in findings if f.resource.type == "check"]  # no check crashed


@pytest.mark.e2e
def test_scan_file_with_json_nested_10000_deep_is_a_clear_usage_error(tmp_path):
    path = tmp_path / "deep.json"
    path.write_text('{"containerDefinitions": ' + "[" * 10_000 + "]" * 10_000 + "}")
    r = run_auditor("scan-file", str(path))
    assert r.code == 2, (r.stdout, r.stderr)
    assert "nests too deeply" in r.stderr and "Traceback" not in r.stderr


def test_live_task_definition_past_the_bounds_is_not_evaluated(fresh_aws, monkeypatch):
    from auditor.checks import firelens as fl

    from auditor.inventory import Inventory
    from auditor.inventory.aws import AwsAccount

    ecs = fresh_aws.client("ecs")
    ecs.create_cluster(clusterName="c")
    for family, host in (("small", "http-intake.logs.datadoghq.com"), ("huge", "h" * 600_000)):
        container = copy.deepcopy(HEALTHY["containerDefinitions"][0])
        container["logConfiguration"]["options"]["Host"] = host
        containers = [container, copy.deepcopy(HEALTHY["containerDefinitions"][1])]
        arn = ecs.register_task_definition(family=family, containerDefinitions=containers,
                                           memory="512")["taskDefinition"]["taskDefinitionArn"]
        ecs.create_service(cluster="c", serviceName=family, taskDefinition=arn, desiredCount=0)
    for k, v in fresh_aws.env().items():
        monkeypatch.setenv(k, v)
    inv = Inventory(AwsAccount("demo"), ["us-east-1"])
    try:
        report = engine.run(inv, fl.CHECKS, target={})
    finally:
        inv.close()
    huge = [f for f in report.findings if f.resource.id == "huge:1"]
    assert huge and {f.status for f in huge} == {Status.NOT_EVALUATED}
    assert all("larger than 512 KiB" in f.reason and len(f.message) < 500 for f in huge)
    small = [f for f in report.findings if f.resource.id == "small:1"]
    assert small and Status.NOT_EVALUATED not in {f.status for f in small}
    assert json.dumps([f.message for f in report.findings]).count("hhhhhhhh") == 0
