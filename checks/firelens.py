"""FireLens log routers shipping to Datadog, and Datadog APM sidecars (check-rules.md §2).

Evaluated on every task definition an ECS service runs (PRIMARY and ACTIVE deployments) and on task-definition
JSON files given to ``auditor scan-file`` (``describe-task-definition`` output or the
``register-task-definition --cli-input-json`` document), so problems are caught before deploy.

Option keys are compared case-insensitively (Fluent Bit does) and findings name the exact key used. A Datadog
API key found in plain ``options`` is registered with :mod:`auditor.redact` and never printed.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from auditor.check import Recorder, check
from auditor.inventory import Inventory
from auditor.inventory.core import NotAvailable
from auditor.inventory.ecs import (
    masked_environment,
    register_task_definition_secrets,
    task_definition_problem,
)
from auditor.model import Confidence, Resource, Severity
from auditor.redact import MASK

from ._ecs import record_service_gaps

FIRELENS_DOC = "https://docs.aws.amazon.com/AmazonECS/latest/developerguide/using_firelens.html"
FIRELENS_TASKDEF_DOC = "https://docs.aws.amazon.com/AmazonECS/latest/developerguide/firelens-taskdef.html"
DD_FARGATE_DOC = "https://docs.datadoghq.com/integrations/ecs_fargate/"
DD_FLUENTBIT_DOC = "https://docs.datadoghq.com/logs/guide/fluentbit/"
DD_SITES_DOC = "https://docs.datadoghq.com/getting_started/site/"

_REQUIRES = ("ecs.services", "ecs.task_definitions")

#: Datadog sites whose log intake is ``http-intake.logs.<site>`` (check-rules.md §2 plus the current list).
INTAKE_SITES = (
    "datadoghq.com",
    "us3.datadoghq.com",
    "us5.datadoghq.com",
    "datadoghq.eu",
    "ap1.datadoghq.com",
    "ap2.datadoghq.com",
    "ddog-gov.com",
    "ddog-gov.datadoghq.com",
)
#: Where Fluent Bit's datadog output sends logs when ``Host`` is not set: the US1 intake.
DEFAULT_INTAKE_SITE = "datadoghq.com"
DEFAULT_INTAKE_HOST = f"http-intake.logs.{DEFAULT_INTAKE_SITE}"
_INTAKE_RE = re.compile(
    r"^http-intake\.logs\.(" + "|".join(re.escape(s) for s in INTAKE_SITES) + r")\.?$", re.IGNORECASE
)
_AGENT_IMAGE = re.compile(
    r"(^|/)(datadog/agent|datadog/docker-dd-agent|datadoghq/agent|datadog/agent-\w+)(:|@|$)|"
    r"^(public\.ecr\.aws/datadog/agent|gcr\.io/datadoghq/agent|registry\.datadoghq\.com/agent)(:|@|$)",
    re.IGNORECASE,
)
_SIDECAR_IMAGE = re.compile(
    r"(aws-xray-daemon|/xray/|cloudwatch-agent|aws-otel-collector|opentelemetry-collector|aws-appmesh-envoy|"
    r"aws-for-fluent-bit|fluent/fluent-bit|fluentd|ecs-service-connect-agent)",
    re.IGNORECASE,
)
_SIDECAR_NAME = re.compile(r"^(datadog[-_]?agent|dd[-_]agent|xray([-_]daemon)?|log[-_]?router|cwagent|otel.*|envoy)$",
                           re.IGNORECASE)
_TRACE_ENV = re.compile(r"^(DD_SERVICE|DD_ENV|DD_VERSION|DD_TRACE_.+)$")
_TRACE_CMD = re.compile(r"(ddtrace|dd-java-agent)", re.IGNORECASE)


# ------------------------------------------------------------------------------------------------------------
# Reading a task definition
# ------------------------------------------------------------------------------------------------------------
def _opt(options: dict[str, Any] | None, key: str) -> tuple[str, Any] | None:
    """(exact key, value) of ``key`` in ``options``, compared case-insensitively."""
    for k, v in (options or {}).items():
        if str(k).lower() == key.lower():
            return str(k), v
    return None


def _blank(value: Any) -> bool:
    """An option value that holds nothing (``""``, whitespace, ``null`` in a file)."""
    return value is None or (isinstance(value, str) and not value.strip())


def _env(container: dict[str, Any]) -> dict[str, str]:
    return {
        str(e.get("name")): str(e.get("value", ""))
        for e in container.get("environment") or []
        if isinstance(e, dict) and e.get("name")
    }


def _secret_names(container: dict[str, Any]) -> set[str]:
    return {str(s.get("name")) for s in container.get("secrets") or [] if isinstance(s, dict) and s.get("name")}


def _log_driver(container: dict[str, Any]) -> str:
    return str((container.get("logConfiguration") or {}).get("logDriver") or "")


def _uses_firelens(container: dict[str, Any]) -> bool:
    return _log_driver(container).lower() == "awsfirelens"


def _is_router(container: dict[str, Any]) -> bool:
    return isinstance(container.get("firelensConfiguration"), dict)


def is_datadog_agent(container: dict[str, Any]) -> bool:
    return bool(_AGENT_IMAGE.search(str(container.get("image") or "")))


def is_sidecar(container: dict[str, Any]) -> bool:
    """The log router, the Datadog Agent, X-Ray, CloudWatch/OTel agents, Envoy: not application containers."""
    return (
        _is_router(container)
        or is_datadog_agent(container)
        or bool(_SIDECAR_IMAGE.search(str(container.get("image") or "")))
        or bool(_SIDECAR_NAME.match(str(container.get("name") or "")))
    )


@dataclass(frozen=True)
class DatadogOutput:
    container: str
    options: dict[str, Any]
    secret_options: tuple[str, ...]


@dataclass
class TaskDef:
    """One task definition to judge, live or from a file."""

    resource: Resource
    raw: dict[str, Any]
    services: tuple[str, ...] = ()  # cluster/service labels running it
    fargate: bool = False

    @property
    def containers(self) -> list[dict[str, Any]]:
        return [c for c in self.raw.get("containerDefinitions") or [] if isinstance(c, dict)]

    @property
    def label(self) -> str:
        if self.resource.provider == "file":
            return self.resource.id
        return f"task definition {self.resource.id}"

    @property
    def used_by(self) -> str:
        return f" (used by {', '.join(self.services)})" if self.services else ""

    @property
    def routers(self) -> list[dict[str, Any]]:
        return [c for c in self.containers if _is_router(c)]

    @property
    def firelens_users(self) -> list[dict[str, Any]]:
        return [c for c in self.containers if _uses_firelens(c)]

    @property
    def custom_config(self) -> str:
        """``config-file-value`` of the router's custom Fluent Bit/Fluentd configuration, if any."""
        for r in self.routers:
            opts = (r.get("firelensConfiguration") or {}).get("options") or {}
            if _opt(opts, "config-file-type") or _opt(opts, "config-file-value"):
                found = _opt(opts, "config-file-value")
                return str(found[1]) if found else "(custom configuration file)"
        return ""

    def datadog_outputs(self) -> list[DatadogOutput]:
        out = []
        for c in self.firelens_users:
            log = c.get("logConfiguration") or {}
            name = _opt(log.get("options"), "Name")
            if name and str(name[1]).strip().lower() == "datadog":
                secrets = tuple(
                    str(s.get("name")) for s in log.get("secretOptions") or [] if isinstance(s, dict)
                )
                out.append(DatadogOutput(str(c.get("name") or ""), dict(log.get("options") or {}), secrets))
        return out

    def undeterminable_outputs(self) -> list[str]:
        """FireLens users whose output is not in their options but (maybe) in a custom config file."""
        if not self.custom_config:
            return []
        return [
            str(c.get("name") or "")
            for c in self.firelens_users
            if not _opt((c.get("logConfiguration") or {}).get("options"), "Name")
        ]


def task_definitions(inv: Inventory, rec: Recorder) -> Iterator[TaskDef]:
    """Every task definition in use in the scanned regions, then every task-definition file."""
    for region in inv.regions:
        if not record_service_gaps(region, rec):
            continue
        try:
            in_use = region.ecs.task_definitions_in_use()
            services = {s.arn: s for s in region.ecs.services()}
        except NotAvailable as exc:
            rec.not_evaluated(region.scope("ecs-task-definitions"), exc.reason, exc.iam_action)
            continue
        for td in in_use:
            if td.error is not None:
                rec.not_evaluated(td.resource, td.error.reason, td.error.iam_action)
                continue
            users = [services[a] for a in td.used_by if a in services]
            fargate = "FARGATE" in (td.raw.get("requiresCompatibilities") or []) or any(u.fargate for u in users)
            yield TaskDef(td.resource, td.raw, tuple(u.label for u in users), fargate)
    for path, raw in inv.files.task_definitions:
        if not isinstance(raw, dict):
            continue
        register_task_definition_secrets(raw)
        resource = Resource("file", "", "", "ecs-task-definition", path)
        problem = task_definition_problem(raw)
        if problem:
            rec.not_evaluated(resource, f"the task definition {problem}, beyond what auditor reads")
            continue
        fargate = "FARGATE" in (raw.get("requiresCompatibilities") or [])
        yield TaskDef(resource, raw, (), fargate)


def _not_determinable(td: TaskDef, rec: Recorder) -> None:
    for name in td.undeterminable_outputs():
        rec.not_evaluated(
            td.resource,
            f"container {name} sends its logs to an output defined in the custom FireLens configuration file "
            f"{td.custom_config}, which is not determinable from the task definition",
            key=name,
        )


# ------------------------------------------------------------------------------------------------------------
# FL-1
# ------------------------------------------------------------------------------------------------------------
@check(
    id="firelens/no-log-router",
    rule="FL-1",
    title="Container logs to FireLens but the task has no log router",
    severity=Severity.CRITICAL,
    description=(
        "A container uses the awsfirelens log driver, but no container of the task definition has a "
        "firelensConfiguration (the Fluent Bit/Fluentd log router). AWS rejects such a task definition at "
        "registration, so this mostly catches task-definition files before deploy."
    ),
    risk="The task definition cannot be registered, or, if produced by tooling, the task ships no logs at all.",
    remediation=(
        "Add a log-router container (e.g. public.ecr.aws/aws-observability/aws-for-fluent-bit) with "
        "firelensConfiguration {type: fluentbit} and keep it essential."
    ),
    terraform=(
        'container_definitions = jsonencode([{\n  name  = "log_router"\n'
        '  image = "public.ecr.aws/aws-observability/aws-for-fluent-bit:stable"\n  essential = true\n'
        '  firelensConfiguration = { type = "fluentbit" }\n}, ...])'
    ),
    docs=(FIRELENS_TASKDEF_DOC, FIRELENS_DOC),
    requires=_REQUIRES,
)
def no_log_router(inv: Inventory, rec: Recorder) -> None:
    for td in task_definitions(inv, rec):
        users = td.firelens_users
        if not users:
            continue
        names = [str(c.get("name") or "") for c in users]
        if not td.routers:
            rec.fail(
                td.resource,
                f"{td.label}{td.used_by}: container(s) {', '.join(names)} log through awsfirelens, but no "
                "container has a firelensConfiguration (log router).",
                evidence={"firelens_containers": names},
            )
        else:
            rec.ok(td.resource, f"{td.label}: log router {td.routers[0].get('name')} present",
                   evidence={"firelens_containers": names})


# ------------------------------------------------------------------------------------------------------------
# FL-2
# ------------------------------------------------------------------------------------------------------------
@check(
    id="firelens/plain-api-key",
    rule="FL-2",
    title="Datadog API key in plain FireLens options",
    severity=Severity.HIGH,
    security=True,
    description=(
        "A container ships logs to Datadog through FireLens with the API key in logConfiguration.options, "
        "where anyone allowed to describe task definitions (and every copy of the JSON) can read it. An empty "
        "apikey option (e.g. beside the key in secretOptions) holds no key and is not reported."
    ),
    risk=(
        "The Datadog API key leaks through ecs:DescribeTaskDefinition, CI logs and source control; it lets "
        "anyone send data into the organisation and cannot be rotated without a new task-definition revision."
    ),
    remediation=(
        "Store the key in Secrets Manager or SSM Parameter Store and reference it from "
        "logConfiguration.secretOptions (name: apikey, valueFrom: the secret ARN); then rotate the leaked key."
    ),
    terraform=(
        'logConfiguration = {\n  logDriver = "awsfirelens"\n  options = { Name = "datadog", ... }\n'
        '  secretOptions = [{ name = "apikey", valueFrom = aws_secretsmanager_secret.dd_api_key.arn }]\n}'
    ),
    docs=(DD_FARGATE_DOC, FIRELENS_TASKDEF_DOC),
    requires=_REQUIRES,
)
def plain_api_key(inv: Inventory, rec: Recorder) -> None:
    for td in task_definitions(inv, rec):
        _not_determinable(td, rec)
        for out in td.datadog_outputs():
            found = _opt(out.options, "apikey")
            in_secrets = any(s.lower() == "apikey" for s in out.secret_options)
            if found is not None and _blank(found[1]):
                # An empty option holds no key: nothing leaks (the key, if any, comes from secretOptions).
                rec.ok(
                    td.resource,
                    f"{td.label}: container {out.container} leaves option {found[0]} empty"
                    + (" and reads the API key from secretOptions" if in_secrets else ""),
                    evidence={"container": out.container, "option": found[0], "empty": True,
                              "key_in_secret_options": in_secrets},
                    key=out.container,
                )
            elif found is not None:
                key = found[0]  # the value was registered as a secret when the task definition was read
                rec.fail(
                    td.resource,
                    f"{td.label}{td.used_by}: container {out.container} puts its Datadog API key in plain "
                    f"logConfiguration option {key} (value redacted); move it to secretOptions.",
                    evidence={"container": out.container, "option": key, "apikey": MASK},
                    key=out.container,
                )
            else:
                rec.ok(
                    td.resource,
                    f"{td.label}: container {out.container} "
                    + ("reads the API key from secretOptions" if in_secrets else "has no API key in plain options"),
                    key=out.container,
                )


# ------------------------------------------------------------------------------------------------------------
# FL-3
# ------------------------------------------------------------------------------------------------------------
@check(
    id="firelens/datadog-tls-off",
    rule="FL-3",
    title="Datadog FireLens output without TLS",
    severity=Severity.HIGH,
    security=True,
    description="A FireLens Datadog output does not set TLS on; Datadog's HTTP log intake requires TLS.",
    risk=(
        "Logs are refused by the intake (and silently dropped by the router), or — if an intermediary accepts "
        "plain HTTP — sent unencrypted together with the API key."
    ),
    remediation="Set TLS to on in the container's logConfiguration.options (and use port 443).",
    terraform='options = { Name = "datadog", Host = "http-intake.logs.datadoghq.com", TLS = "on", ... }',
    docs=(DD_FARGATE_DOC, DD_FLUENTBIT_DOC),
    requires=_REQUIRES,
)
def datadog_tls_off(inv: Inventory, rec: Recorder) -> None:
    for td in task_definitions(inv, rec):
        _not_determinable(td, rec)
        for out in td.datadog_outputs():
            found = _opt(out.options, "TLS")
            value = str(found[1]).strip().lower() if found else ""
            if value != "on":
                how = f"{found[0]} is {found[1]!r}" if found else "TLS is not set"
                rec.fail(
                    td.resource,
                    f"{td.label}{td.used_by}: the Datadog output of container {out.container} does not use TLS "
                    f"({how}); set TLS on.",
                    evidence={"container": out.container, "option": found[0] if found else "TLS",
                              "value": found[1] if found else None},
                    key=out.container,
                )
            else:
                rec.ok(td.resource, f"{td.label}: container {out.container} ships with TLS on", key=out.container)


# ------------------------------------------------------------------------------------------------------------
# FL-4
# ------------------------------------------------------------------------------------------------------------
def _configured_site(inv: Inventory) -> str:
    """The Datadog site auditor itself was configured for (only when keys are set and the site is known)."""
    settings = getattr(inv.datadog, "settings", None)
    if settings is None or not getattr(settings, "configured", False):
        return ""
    site = str(getattr(settings, "site", "") or "").lower()
    return site if site in INTAKE_SITES else ""


@check(
    id="firelens/datadog-host",
    rule="FL-4",
    title="Datadog FireLens output sends logs to the wrong intake host",
    severity=Severity.MEDIUM,
    description=(
        "A FireLens Datadog output has a Host that is not a Datadog log intake (http-intake.logs.<site>), or one "
        "for a different site than the Datadog organisation being audited. A missing Host is not a defect by "
        "itself: Fluent Bit's datadog output then uses the US1 intake (http-intake.logs.datadoghq.com), so it is "
        "reported only when the configured Datadog site is another one."
    ),
    risk=(
        "Logs of an EU, US3/US5, AP or government organisation sent to another site's intake are rejected or "
        "land in the wrong organisation; a mistyped host drops every log line."
    ),
    remediation="Set Host to http-intake.logs.<your Datadog site>, e.g. http-intake.logs.datadoghq.eu.",
    docs=(DD_FARGATE_DOC, DD_SITES_DOC),
    requires=_REQUIRES,
)
def datadog_host(inv: Inventory, rec: Recorder) -> None:
    site = _configured_site(inv)
    for td in task_definitions(inv, rec):
        _not_determinable(td, rec)
        for out in td.datadog_outputs():
            found = _opt(out.options, "Host")
            host = str(found[1]).strip() if found else ""
            ev = {"container": out.container, "option": found[0] if found else "Host", "host": host or None,
                  "configured_site": site or None}
            problem = ""
            if not host:
                if site and site != DEFAULT_INTAKE_SITE:
                    problem = (f"has no Host, so Fluent Bit sends its logs to the US1 intake {DEFAULT_INTAKE_HOST}, "
                               f"but the audited Datadog organisation is on {site}")
                else:
                    ev["default_host"] = DEFAULT_INTAKE_HOST
            elif not _INTAKE_RE.match(host):
                problem = f"sends to {host}, which is not a Datadog log intake host"
            elif site and host.lower().rstrip(".") != f"http-intake.logs.{site}":
                problem = f"sends to {host}, but the audited Datadog organisation is on {site}"
            if problem:
                rec.fail(td.resource, f"{td.label}{td.used_by}: the Datadog output of container {out.container} "
                         f"{problem}.", evidence=ev, key=out.container)
            elif not host:
                where = f"the configured site {site}" if site else "Fluent Bit's default"
                rec.ok(td.resource, f"{td.label}: container {out.container} sets no Host and ships to the US1 "
                       f"intake {DEFAULT_INTAKE_HOST} ({where})", evidence=ev, key=out.container)
            else:
                rec.ok(td.resource, f"{td.label}: container {out.container} ships to {host}", evidence=ev,
                       key=out.container)


# ------------------------------------------------------------------------------------------------------------
# FL-5
# ------------------------------------------------------------------------------------------------------------
@check(
    id="firelens/router-not-essential",
    rule="FL-5",
    title="FireLens log router is not essential",
    severity=Severity.MEDIUM,
    description=(
        "The FireLens log-router container is marked essential: false. AWS recommends an essential router "
        "(an omitted essential means true)."
    ),
    risk="When the router crashes the application keeps running and its logs silently stop.",
    remediation="Remove essential: false from the log-router container (or set it to true).",
    docs=(FIRELENS_DOC, FIRELENS_TASKDEF_DOC),
    requires=_REQUIRES,
)
def router_not_essential(inv: Inventory, rec: Recorder) -> None:
    for td in task_definitions(inv, rec):
        for router in td.routers:
            name = str(router.get("name") or "")
            if router.get("essential") is False:
                rec.fail(
                    td.resource,
                    f"{td.label}{td.used_by}: log router {name} is essential: false — if it stops, the "
                    "application runs on without logs.",
                    evidence={"container": name, "essential": False},
                    key=name,
                )
            else:
                rec.ok(td.resource, f"{td.label}: log router {name} is essential", key=name)


# ------------------------------------------------------------------------------------------------------------
# FL-6
# ------------------------------------------------------------------------------------------------------------
@check(
    id="firelens/container-without-logging",
    rule="FL-6",
    title="Application container without logging beside FireLens→Datadog containers",
    severity=Severity.MEDIUM,
    description=(
        "In a task whose application containers ship logs to Datadog through FireLens, another application "
        "container has no logConfiguration at all. Sidecars (log router, Datadog Agent, X-Ray and other "
        "agents) are not counted."
    ),
    risk="That container's output goes nowhere anyone looks: its errors are invisible in Datadog.",
    remediation="Give the container the same awsfirelens logConfiguration as its siblings.",
    docs=(FIRELENS_TASKDEF_DOC, DD_FARGATE_DOC),
    requires=_REQUIRES,
)
def container_without_logging(inv: Inventory, rec: Recorder) -> None:
    for td in task_definitions(inv, rec):
        shipping = {o.container for o in td.datadog_outputs()}
        if not shipping:
            continue
        apps = [c for c in td.containers if not is_sidecar(c)]
        silent = [str(c.get("name") or "") for c in apps if not c.get("logConfiguration")]
        for name in silent:
            rec.fail(
                td.resource,
                f"{td.label}{td.used_by}: application container {name} has no logConfiguration while "
                f"{', '.join(sorted(shipping))} {'ships' if len(shipping) == 1 else 'ship'} logs to Datadog — its "
                "logs go nowhere useful.",
                evidence={"container": name, "datadog_containers": sorted(shipping)},
                key=name,
            )
        if not silent:
            rec.ok(td.resource, f"{td.label}: every application container has a log configuration")


# ------------------------------------------------------------------------------------------------------------
# FL-7
# ------------------------------------------------------------------------------------------------------------
def tracing_signals(container: dict[str, Any]) -> list[str]:
    """Why a container looks like it wants Datadog APM (empty when it does not)."""
    env = _env(container)
    if env.get("DD_TRACE_ENABLED", "").strip().lower() in ("false", "0"):
        return []
    signals = sorted(n for n in set(env) | _secret_names(container) if _TRACE_ENV.match(n))
    cmd = " ".join(str(x) for x in (container.get("entryPoint") or []) + (container.get("command") or []))
    if _TRACE_CMD.search(cmd):
        signals.append(f"{_TRACE_CMD.search(cmd).group(1)} in command")  # type: ignore[union-attr]
    if _TRACE_CMD.search(env.get("JAVA_TOOL_OPTIONS", "")):
        signals.append("dd-java-agent in JAVA_TOOL_OPTIONS")
    return signals


def _apm_agents(td: TaskDef) -> list[str]:
    return [
        str(c.get("name") or "")
        for c in td.containers
        if is_datadog_agent(c) and _env(c).get("DD_APM_ENABLED", "").strip().lower() in ("true", "1", "yes")
    ]


@check(
    id="firelens/apm-without-agent",
    rule="FL-7",
    title="Tracing configured but no Datadog Agent with APM in the task",
    severity=Severity.MEDIUM,
    severities=(Severity.MEDIUM, Severity.LOW),
    confidence=Confidence.MEDIUM,
    description=(
        "Heuristic: an application container shows tracing intent (DD_SERVICE/DD_ENV/DD_VERSION/DD_TRACE_* "
        "environment, ddtrace or dd-java-agent in its command or JAVA_TOOL_OPTIONS) but the task has no "
        "Datadog Agent container with DD_APM_ENABLED=true. FireLens ships logs only, never traces. Low when "
        "DD_AGENT_HOST is set on Fargate, where the Agent is reached on localhost."
    ),
    risk="Traces are generated and dropped: APM shows nothing for the service although it looks instrumented.",
    remediation=(
        "Add the Datadog Agent container (public.ecr.aws/datadog/agent) with DD_APM_ENABLED=true and the API "
        "key from secrets; on Fargate do not set DD_AGENT_HOST."
    ),
    docs=(DD_FARGATE_DOC,),
    requires=_REQUIRES,
)
def apm_without_agent(inv: Inventory, rec: Recorder) -> None:
    for td in task_definitions(inv, rec):
        agents = _apm_agents(td)
        apps = {str(c.get("name") or ""): c for c in td.containers if not is_sidecar(c)}
        intent = {name: tracing_signals(c) for name, c in apps.items()}
        intent = {k: v for k, v in intent.items() if v}
        agent_host = [name for name, c in apps.items() if "DD_AGENT_HOST" in _env(c)]
        if intent and not agents:
            for name, signals in sorted(intent.items()):
                rec.fail(
                    td.resource,
                    f"{td.label}{td.used_by}: container {name} is set up for tracing ({', '.join(signals)}) but "
                    "the task has no Datadog Agent with DD_APM_ENABLED=true: its traces are dropped.",
                    evidence={"container": name, "signals": signals, "apm_agents": [],
                              "environment": masked_environment(apps[name], signals)},
                    key=name,
                )
        elif td.fargate and agent_host:
            for name in agent_host:
                rec.fail(
                    td.resource,
                    f"{td.label}{td.used_by}: container {name} sets DD_AGENT_HOST on Fargate, where the Agent is "
                    "reached on localhost; remove it.",
                    severity=Severity.LOW,
                    evidence={"container": name, "apm_agents": agents,
                              "environment": masked_environment(apps[name], ["DD_AGENT_HOST"])},
                    key=name,
                )
        elif intent:
            rec.ok(td.resource, f"{td.label}: traces go to the Datadog Agent {', '.join(agents)}",
                   evidence={"apm_agents": agents})


# ------------------------------------------------------------------------------------------------------------
# FL-8
# ------------------------------------------------------------------------------------------------------------
@check(
    id="firelens/datadog-tags-missing",
    rule="FL-8",
    title="Datadog FireLens output without service/source tags or ECS provider",
    severity=Severity.LOW,
    description=(
        "A FireLens Datadog output lacks dd_service or dd_source, or its provider is not ecs. Datadog uses them "
        "to pick the log pipeline and to link logs with the service and its traces."
    ),
    risk="Logs arrive unparsed, without service, and without the ECS metadata that ties them to tasks.",
    remediation="Set dd_service, dd_source and provider ecs in the container's logConfiguration.options.",
    terraform='options = { Name = "datadog", dd_service = "checkout", dd_source = "python", provider = "ecs", ... }',
    docs=(DD_FARGATE_DOC, DD_FLUENTBIT_DOC),
    requires=_REQUIRES,
)
def datadog_tags_missing(inv: Inventory, rec: Recorder) -> None:
    for td in task_definitions(inv, rec):
        _not_determinable(td, rec)
        for out in td.datadog_outputs():
            problems = [f"{k} missing" for k in ("dd_service", "dd_source") if not _opt(out.options, k)]
            provider = _opt(out.options, "provider")
            if provider is None:
                problems.append("provider missing")
            elif str(provider[1]).strip().lower() != "ecs":
                problems.append(f"{provider[0]} is {provider[1]!r}, not ecs")
            if problems:
                rec.fail(
                    td.resource,
                    f"{td.label}{td.used_by}: the Datadog output of container {out.container}: "
                    f"{'; '.join(problems)}.",
                    evidence={"container": out.container, "problems": problems},
                    key=out.container,
                )
            else:
                rec.ok(td.resource, f"{td.label}: container {out.container} sets dd_service, dd_source, provider ecs",
                       key=out.container)


CHECKS = [
    no_log_router,
    plain_api_key,
    datadog_tls_off,
    datadog_host,
    router_not_essential,
    container_without_logging,
    apm_without_agent,
    datadog_tags_missing,
]

__all__ = ["CHECKS", "TaskDef", "is_datadog_agent", "is_sidecar", "task_definitions", "tracing_signals"]
