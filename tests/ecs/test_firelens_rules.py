"""FL-1..FL-8 on task-definition documents (the ``scan-file`` path): a positive and a negative case per rule,
plus the edge cases of check-rules.md §2 (case-insensitive keys, custom config files, Fargate, sidecars)."""

from __future__ import annotations

import copy
import json

import pytest
from auditor.checks import firelens as fl

from auditor.inventory.ecs import masked_environment
from auditor.model import Severity, Status
from auditor.redact import MASK, scrub
from tests.ecs.helpers import datadog_for, fails, load_data, run_files, statuses

HEALTHY = load_data("taskdef-healthy-describe.json")["taskDefinition"]


def td(**changes) -> dict:
    """The healthy task definition with container-level changes: {container name: {key: value|None}}."""
    doc = copy.deepcopy(HEALTHY)
    for name, patch in changes.items():
        container = next(c for c in doc["containerDefinitions"] if c["name"] == name.replace("_", "-")
                         or c["name"] == name)
        for key, value in patch.items():
            if value is None:
                container.pop(key, None)
            else:
                container[key] = value
    return doc


def dd_options(**changes) -> dict:
    opts = copy.deepcopy(HEALTHY["containerDefinitions"][0]["logConfiguration"])
    for key, value in changes.items():
        if value is None:
            opts["options"].pop(key, None)
        else:
            opts["options"][key] = value
    return opts


def test_healthy_task_definition_passes_every_rule():
    findings = run_files(fl.CHECKS, HEALTHY)
    assert not fails(findings), [f.message for f in fails(findings)]
    assert {f.rule for f in findings} == {"FL-1", "FL-2", "FL-3", "FL-4", "FL-5", "FL-6", "FL-7", "FL-8"}
    assert all(f.resource.provider == "file" and f.resource.type == "ecs-task-definition" for f in findings)


# FL-1 ------------------------------------------------------------------------------------------------------
def test_fl1_firelens_without_router_is_critical():
    doc = load_data("taskdef-no-router.json")
    found = fails(run_files([fl.no_log_router], doc), "FL-1")
    assert len(found) == 1 and found[0].severity is Severity.CRITICAL
    assert "orders-web" in found[0].message


def test_fl1_router_present_passes_and_no_firelens_is_silent():
    assert statuses(run_files([fl.no_log_router], HEALTHY)) == ["pass"]
    plain = {"family": "x", "containerDefinitions": [{"name": "x", "image": "x",
                                                      "logConfiguration": {"logDriver": "awslogs"}}]}
    assert run_files([fl.no_log_router], plain) == []


# FL-2 ------------------------------------------------------------------------------------------------------
def test_fl2_plain_api_key_is_reported_but_never_shown():
    key = "Zq81-planted-not-hex-key"
    doc = td(checkout={"logConfiguration": dd_options(APIKEY=key)})
    found = fails(run_files([fl.plain_api_key], doc), "FL-2")
    assert len(found) == 1
    f = found[0]
    assert "APIKEY" in f.message  # the exact key name is reported
    assert key not in f.message and key not in json.dumps(dict(f.evidence))
    assert scrub(f"leak {key}") == "leak <redacted>"  # registered: any later output is scrubbed too


def test_plain_api_key_is_registered_when_the_task_definition_is_read_whichever_check_runs():
    # FL-2 no longer registers the key itself: reading the task definition does, for every check.
    key = "Kp93-planted-for-fl3-only"
    doc = td(checkout={"logConfiguration": dd_options(apikey=key)})
    assert statuses(run_files([fl.datadog_tls_off], doc)) == ["pass"]
    assert scrub(f"leak {key}") == "leak <redacted>"


@pytest.mark.parametrize("blank", ["", "  ", None])
def test_fl2_empty_apikey_option_beside_secret_options_is_not_a_leak(blank):
    """check-rules.md §2: an empty apikey option next to the key in secretOptions holds no key."""
    doc = td(checkout={"logConfiguration": dd_options(apikey=blank if blank is not None else "x")})
    if blank is None:  # a file may carry null
        doc["containerDefinitions"][0]["logConfiguration"]["options"]["apikey"] = None
    assert doc["containerDefinitions"][0]["logConfiguration"]["secretOptions"][0]["name"].lower() == "apikey"
    found = run_files([fl.plain_api_key], doc)
    assert statuses(found) == ["pass"]
    assert "empty" in found[0].message and "secretOptions" in found[0].message


def test_fl2_api_key_in_secret_options_passes():
    found = run_files([fl.plain_api_key], HEALTHY)
    assert statuses(found) == ["pass"] and "secretOptions" in found[0].message


# FL-3 ------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("tls", ["off", "Off", None])
def test_fl3_tls_not_on(tls):
    doc = td(checkout={"logConfiguration": dd_options(tls=tls)})
    found = fails(run_files([fl.datadog_tls_off], doc), "FL-3")
    assert len(found) == 1 and found[0].severity is Severity.HIGH


def test_fl3_tls_on_any_case_passes():
    assert statuses(run_files([fl.datadog_tls_off], HEALTHY)) == ["pass"]  # "tls": "On"


# FL-4 ------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("host", ["http-intake.logs.datadoghq.co", "logs.example.com",
                                  "http-intake.logs.datadoghq.com.evil.example"])
def test_fl4_foreign_host(host):
    doc = td(checkout={"logConfiguration": dd_options(host=host)})
    assert len(fails(run_files([fl.datadog_host], doc), "FL-4")) == 1


@pytest.mark.parametrize("host", ["http-intake.logs.datadoghq.com", "http-intake.logs.datadoghq.eu",
                                  "HTTP-INTAKE.LOGS.US5.DATADOGHQ.COM", "http-intake.logs.ap1.datadoghq.com"])
def test_fl4_datadog_intake_hosts_pass(host):
    doc = td(checkout={"logConfiguration": dd_options(host=host)})
    assert statuses(run_files([fl.datadog_host], doc)) == ["pass"]


def test_fl4_host_of_another_site_than_the_configured_one():
    found = run_files([fl.datadog_host], HEALTHY, datadog=datadog_for("datadoghq.eu"))
    assert len(fails(found, "FL-4")) == 1 and "datadoghq.eu" in fails(found)[0].message
    assert statuses(run_files([fl.datadog_host], HEALTHY, datadog=datadog_for("datadoghq.com"))) == ["pass"]


@pytest.mark.parametrize("site", [None, "datadoghq.com"])
def test_fl4_missing_host_is_fluent_bits_us1_default_and_not_a_defect(site):
    """check-rules.md §2: without Host the datadog output ships to http-intake.logs.datadoghq.com."""
    doc = td(checkout={"logConfiguration": dd_options(host=None)})
    found = run_files([fl.datadog_host], doc, datadog=datadog_for(site) if site else None)
    assert statuses(found) == ["pass"]
    assert "http-intake.logs.datadoghq.com" in found[0].message
    assert found[0].evidence["default_host"] == "http-intake.logs.datadoghq.com"


@pytest.mark.parametrize("site", ["datadoghq.eu", "us5.datadoghq.com", "ddog-gov.com"])
def test_fl4_missing_host_is_a_defect_when_the_configured_site_is_another(site):
    doc = td(checkout={"logConfiguration": dd_options(host=None)})
    found = fails(run_files([fl.datadog_host], doc, datadog=datadog_for(site)), "FL-4")
    assert len(found) == 1
    assert "has no Host" in found[0].message and "http-intake.logs.datadoghq.com" in found[0].message
    assert site in found[0].message and found[0].evidence["option"] == "Host"


# FL-5 ------------------------------------------------------------------------------------------------------
def test_fl5_non_essential_router():
    found = fails(run_files([fl.router_not_essential], td(log_router={"essential": False})), "FL-5")
    assert len(found) == 1 and "log_router" in found[0].message


def test_fl5_omitted_essential_means_true():
    assert statuses(run_files([fl.router_not_essential], HEALTHY)) == ["pass"]


# FL-6 ------------------------------------------------------------------------------------------------------
def test_fl6_app_container_without_logging():
    doc = copy.deepcopy(HEALTHY)
    doc["containerDefinitions"].append({"name": "worker", "image": "shop/worker:1"})
    found = fails(run_files([fl.container_without_logging], doc), "FL-6")
    assert [f.key for f in found] == ["worker"]


def test_fl6_sidecars_without_logging_are_not_application_containers():
    doc = copy.deepcopy(HEALTHY)
    doc["containerDefinitions"].append({"name": "xray", "image": "public.ecr.aws/xray/aws-xray-daemon:3"})
    # the Datadog Agent and the router in HEALTHY have no logConfiguration either
    assert statuses(run_files([fl.container_without_logging], doc)) == ["pass"]


# FL-7 ------------------------------------------------------------------------------------------------------
def test_fl7_tracing_intent_without_apm_agent():
    doc = copy.deepcopy(HEALTHY)
    doc["containerDefinitions"] = [c for c in doc["containerDefinitions"] if c["name"] != "datadog-agent"]
    found = fails(run_files([fl.apm_without_agent], doc), "FL-7")
    assert len(found) == 1 and found[0].severity is Severity.MEDIUM and "DD_SERVICE" in found[0].message


def test_fl7_agent_without_apm_enabled_does_not_count():
    doc = td(**{"datadog-agent": {"environment": [{"name": "ECS_FARGATE", "value": "true"}]}})
    assert len(fails(run_files([fl.apm_without_agent], doc), "FL-7")) == 1


@pytest.mark.parametrize("container", [
    {"command": ["ddtrace-run", "python", "app.py"]},
    {"environment": [{"name": "JAVA_TOOL_OPTIONS", "value": "-javaagent:/dd-java-agent.jar"}]},
    {"environment": [{"name": "DD_TRACE_SAMPLE_RATE", "value": "1"}]},
])
def test_fl7_tracing_signals(container):
    assert fl.tracing_signals({"name": "a", "image": "a", **container})


def test_fl7_explicitly_disabled_tracing_is_no_intent():
    assert fl.tracing_signals({"environment": [{"name": "DD_SERVICE", "value": "a"},
                                               {"name": "DD_TRACE_ENABLED", "value": "false"}]}) == []


def test_masked_environment_masks_values_of_secret_sounding_names():
    container = {"environment": [
        {"name": "DD_API_KEY", "value": "abc"}, {"name": "DB_PASSWORD", "value": "pw"},
        {"name": "DD_SERVICE", "value": "checkout"}, {"name": "EMPTY"}, "junk", {"value": "no name"}]}
    assert masked_environment(container) == {"DD_API_KEY": MASK, "DB_PASSWORD": MASK, "DD_SERVICE": "checkout",
                                             "EMPTY": ""}
    assert masked_environment(container, ["DD_API_KEY", "DD_SERVICE", "ABSENT"]) == {
        "DD_API_KEY": MASK, "DD_SERVICE": "checkout"}


def test_fl7_evidence_shows_the_tracing_environment_with_secret_named_values_masked():
    doc = copy.deepcopy(HEALTHY)
    doc["containerDefinitions"] = [c for c in doc["containerDefinitions"] if c["name"] != "datadog-agent"]
    doc["containerDefinitions"][0]["environment"] += [
        {"name": "DD_TRACE_AGENT_TOKEN", "value": "tok42"},  # too short to be registered: only the name tells
        {"name": "DD_API_KEY", "value": "k9x"},
    ]
    found = fails(run_files([fl.apm_without_agent], doc), "FL-7")
    assert len(found) == 1
    f = found[0]
    assert f.evidence["environment"] == {"DD_ENV": "prod", "DD_SERVICE": "checkout", "DD_TRACE_AGENT_TOKEN": MASK}
    for value in ("tok42", "k9x"):
        assert value not in f.message and value not in json.dumps(dict(f.evidence))


def test_fl7_agent_with_apm_passes_and_dd_agent_host_on_fargate_is_low():
    assert statuses(run_files([fl.apm_without_agent], HEALTHY)) == ["pass"]
    doc = td(checkout={"environment": HEALTHY["containerDefinitions"][0]["environment"]
                       + [{"name": "DD_AGENT_HOST", "value": "169.254.1.1"}]})
    found = fails(run_files([fl.apm_without_agent], doc), "FL-7")
    assert len(found) == 1 and found[0].severity is Severity.LOW
    assert found[0].evidence["environment"] == {"DD_AGENT_HOST": "169.254.1.1"}
    doc.pop("requiresCompatibilities")  # on EC2 DD_AGENT_HOST is how the host agent is reached
    assert statuses(run_files([fl.apm_without_agent], doc)) == ["pass"]


# FL-8 ------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("change", [{"dd_service": None}, {"dd_source": None}, {"Provider": "fargate"},
                                    {"Provider": None}])
def test_fl8_missing_tags_or_provider(change):
    doc = td(checkout={"logConfiguration": dd_options(**change)})
    found = fails(run_files([fl.datadog_tags_missing], doc), "FL-8")
    assert len(found) == 1 and found[0].severity is Severity.LOW


def test_fl8_complete_output_passes():
    assert statuses(run_files([fl.datadog_tags_missing], HEALTHY)) == ["pass"]


# Custom configuration files -------------------------------------------------------------------------------
def test_custom_config_output_is_not_determinable():
    doc = td(
        checkout={"logConfiguration": {"logDriver": "awsfirelens"}},
        log_router={"firelensConfiguration": {"type": "fluentbit", "options": {
            "config-file-type": "s3", "config-file-value": "arn:aws:s3:::shop-config/fluent-bit.conf"}}},
    )
    for chk in (fl.plain_api_key, fl.datadog_tls_off, fl.datadog_host, fl.datadog_tags_missing):
        found = run_files([chk], doc)
        assert statuses(found) == ["not-evaluated"], chk.id
        assert "not determinable" in found[0].message
    assert statuses(run_files([fl.no_log_router], doc)) == ["pass"]


def test_other_outputs_are_not_datadog():
    doc = td(checkout={"logConfiguration": {"logDriver": "awsfirelens",
                                            "options": {"Name": "cloudwatch_logs", "region": "us-east-1"}}})
    assert run_files([fl.plain_api_key, fl.datadog_tls_off, fl.datadog_host, fl.datadog_tags_missing], doc) == []
    assert all(f.status is not Status.FAIL for f in run_files(fl.CHECKS, doc))
