"""Narrow extensions of moto's ECS emulation, for the local demo/test server only.

moto 5.2.5 accepts ``serviceConnectConfiguration`` on ``CreateService``/``UpdateService`` and silently drops
it. The real ECS API keeps it on the service's *deployments* — never as a top-level field of the service —
beside ``serviceConnectResources`` (discovery name → the Cloud Map service ECS created for it). Without that
field every Service Connect check would be tested against data AWS never returns. This module patches the two
response handlers so that:

* ``CreateService`` stores the configuration on the ``PRIMARY`` deployment and creates (or reuses) one Cloud
  Map service per ``services[]`` entry in the namespace, named after ``discoveryName`` (default: ``portName``),
  reported in ``serviceConnectResources``;
* ``UpdateService`` with a configuration starts a rollout as ECS does: a new ``PRIMARY`` deployment carries the
  new configuration and the previous one stays listed as ``ACTIVE`` (moto never completes rollouts, so the
  pair stays visible — the state a live account shows while a deployment is in progress);
* the namespace (name or ARN, or the cluster's ``serviceConnectDefaults``) must exist in Cloud Map and every
  ``portName`` must name a port mapping of the task definition, otherwise ``InvalidParameterException``;
* ``DescribeServices`` with more than 10 services fails with ``InvalidParameterException``, as in AWS, so a
  caller that forgets to batch is caught by the local server too.

Everything else is moto's own behaviour. The field names and nesting follow botocore's ECS service model
(``Deployment.serviceConnectConfiguration`` / ``Deployment.serviceConnectResources``); the tests validate the
responses against it and fail as soon as upstream moto returns the field itself, so this module can be dropped.
"""

from __future__ import annotations

import copy
import threading
from typing import Any

DESCRIBE_SERVICES_LIMIT = 10

_lock = threading.Lock()
_installed = False


def installed() -> bool:
    return _installed


def install() -> None:
    """Patch moto's ECS response handlers (idempotent; affects this process only)."""
    global _installed
    with _lock:
        if _installed:
            return
        from moto.ecs.responses import EC2ContainerServiceResponse

        orig_create = EC2ContainerServiceResponse.create_service
        orig_update = EC2ContainerServiceResponse.update_service
        orig_describe = EC2ContainerServiceResponse.describe_services

        def create_service(self):  # type: ignore[no-untyped-def]
            config = self._get_param("serviceConnectConfiguration")
            if config is None:
                return orig_create(self)
            cluster = self._get_param("cluster", "default")
            plan = _prepare(self, cluster, config, self._get_param("taskDefinition"))
            result = orig_create(self)
            service = self.ecs_backend._get_service(cluster, self._get_param("serviceName"))
            prepared = _materialise(self, plan)
            for deployment in service.deployments:
                if deployment.get("status") == "PRIMARY":
                    deployment.update(copy.deepcopy(prepared))
            return result

        def update_service(self):  # type: ignore[no-untyped-def]
            config = self._get_param("serviceConnectConfiguration")
            if config is None:
                return orig_update(self)
            cluster = self._get_param("cluster", "default")
            service = self.ecs_backend._get_service(cluster, self._get_param("service").split("/")[-1])
            task_definition = self._get_param("taskDefinition") or service.task_definition
            plan = _prepare(self, cluster, config, task_definition)
            result = orig_update(self)
            _start_rollout(service, _materialise(self, plan))
            return result

        def describe_services(self):  # type: ignore[no-untyped-def]
            names = self._get_param("services", []) or []
            if len(names) > DESCRIBE_SERVICES_LIMIT:
                from moto.ecs.exceptions import InvalidParameterException

                raise InvalidParameterException(
                    f"DescribeServices accepts at most {DESCRIBE_SERVICES_LIMIT} services per call "
                    f"({len(names)} given)."
                )
            return orig_describe(self)

        EC2ContainerServiceResponse.create_service = create_service
        EC2ContainerServiceResponse.update_service = update_service
        EC2ContainerServiceResponse.describe_services = describe_services
        _installed = True


def _prepare(response: Any, cluster_ref: str, config: dict[str, Any], task_definition: str | None) -> tuple:
    """Validate a ``serviceConnectConfiguration`` before moto stores anything: (stored config, namespace,
    discovery names)."""
    from moto.ecs.exceptions import InvalidParameterException
    from moto.servicediscovery.models import servicediscovery_backends

    backend = response.ecs_backend
    stored = copy.deepcopy(config)
    if not stored.get("enabled"):
        return stored, None, []

    cluster = backend._get_cluster(cluster_ref)
    namespace_ref = stored.get("namespace") or (cluster.service_connect_defaults or {}).get("namespace")
    if not namespace_ref:
        raise InvalidParameterException(
            "Service Connect is enabled but no namespace was given and the cluster has no default namespace."
        )
    stored["namespace"] = namespace_ref
    cloudmap = servicediscovery_backends[response.current_account][response.region]
    namespace = next(
        (
            ns
            for ns in cloudmap.namespaces.values()
            if namespace_ref in (ns.arn, ns.id, ns.name, (ns.http_properties or {}).get("HttpName"))
        ),
        None,
    )
    if namespace is None:
        raise InvalidParameterException(f"The Service Connect namespace {namespace_ref} was not found.")

    port_names = _port_names(backend, task_definition)
    discovery_names = []
    for entry in stored.get("services") or []:
        port_name = entry.get("portName", "")
        if port_names is not None and port_name not in port_names:
            raise InvalidParameterException(
                f"The portName {port_name} does not match any named port mapping of the task definition."
            )
        discovery_names.append(entry.get("discoveryName") or port_name)
    return stored, namespace, discovery_names


def _materialise(response: Any, plan: tuple) -> dict:
    """Create (or reuse) the Cloud Map service of every discovery name; the deployment fields ECS returns."""
    from moto.servicediscovery.models import servicediscovery_backends

    stored, namespace, discovery_names = plan
    resources = []
    if namespace is not None:
        cloudmap = servicediscovery_backends[response.current_account][response.region]
        for name in discovery_names:
            existing = next(
                (s for s in cloudmap.services.values() if s.namespace_id == namespace.id and s.name == name),
                None,
            )
            if existing is None:
                existing = cloudmap.create_service(
                    name=name,
                    namespace_id=namespace.id,
                    creator_request_id="",
                    description="Managed by Amazon ECS Service Connect",
                    dns_config=None,  # type: ignore[arg-type]
                    health_check_config=None,  # type: ignore[arg-type]
                    health_check_custom_config=None,  # type: ignore[arg-type]
                    tags=[],
                    service_type="HTTP",
                )
            resources.append({"discoveryName": name, "discoveryArn": existing.arn})
    return {"serviceConnectConfiguration": stored, "serviceConnectResources": resources}


def _port_names(backend: Any, task_definition: str | None) -> set[str] | None:
    if not task_definition:
        return None
    try:
        td = backend.describe_task_definition(task_definition)
    except Exception:  # noqa: BLE001 - moto itself reports a missing task definition
        return None
    return {
        pm.get("name")
        for container in td.container_definitions
        for pm in container.get("portMappings") or []
        if pm.get("name")
    }


def _start_rollout(service: Any, prepared: dict) -> None:
    """A new PRIMARY deployment with the new configuration; the previous PRIMARY stays as ACTIVE."""
    from moto.core.utils import utcnow
    from moto.moto_api._internal import mock_random

    if not service.deployments:  # not the ECS deployment controller: moto keeps no deployments
        return
    previous = next((d for d in service.deployments if d.get("status") == "PRIMARY"), service.deployments[0])
    previous["status"] = "ACTIVE"
    now = utcnow()
    new = copy.deepcopy({k: v for k, v in previous.items() if k not in ("createdAt", "updatedAt")})
    deployment_id = f"ecs-svc/{mock_random.randint(0, 32**12)}"
    new.update(
        {
            "id": deployment_id,
            "status": "PRIMARY",
            "taskDefinition": service.task_definition,
            "desiredCount": service.desired_count,
            "runningCount": 0,
            "pendingCount": service.desired_count,
            "rolloutState": "IN_PROGRESS",
            "rolloutStateReason": f"ECS deployment {deployment_id} in progress.",
            "createdAt": now,
            "updatedAt": now,
        }
    )
    new.update(copy.deepcopy(prepared))
    service.deployments = [new, previous]
