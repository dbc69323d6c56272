"""Request contexts: which condition keys a request carries, on which network path, for which principal.

The presence rules (AWS global condition context keys, "Availability"):

- ``aws:SourceIp`` is present for requests over the internet (public addresses only) and for calls by AWS
  service principals; it is **absent** for requests through a VPC endpoint.
- ``aws:SourceVpc``, ``aws:SourceVpce`` and ``aws:VpcSourceIp`` are present **only** through a VPC endpoint.
- ``aws:PrincipalArn``/``aws:PrincipalAccount`` exist for signed requests of IAM principals; the organisation
  keys may be absent (an account outside any organisation). Anonymous requests carry neither.
- ``aws:SourceAccount``/``aws:SourceArn``/``aws:SourceOrgID`` exist only when an AWS service principal calls.
- ``aws:SecureTransport``, ``aws:ViaAWSService``, ``aws:PrincipalIsAWSService`` are always present.

Any other key is "not modelled": the engine still partitions it exactly over the values the policy names, but
assumes nothing about when a request carries it (it may be absent) or how it relates to other keys.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from .model import ABSENT, UNKNOWN

INTERNET, VPCE, SERVICE = "internet", "vpc-endpoint", "aws-service"
PATHS = (INTERNET, VPCE, SERVICE)
UNKNOWN_PATH = "unknown"  # a concrete request whose network path the caller does not know
PATH_LABELS = {INTERNET: "internet", VPCE: "VPC endpoint", SERVICE: "AWS service principal"}

NETWORK_PRESENCE = {
    "aws:sourceip": {INTERNET, SERVICE},
    "aws:vpcsourceip": {VPCE},
    "aws:sourcevpc": {VPCE},
    "aws:sourcevpce": {VPCE},
}
NETWORK_KEYS = tuple(NETWORK_PRESENCE)
DERIVED_KEYS = ("aws:principalarn", "aws:principalaccount", "aws:principaltype", "aws:principalisawsservice",
                "aws:principalservicename")
AWS_ONLY_KEYS = ("aws:principalorgid", "aws:principalorgpaths", "aws:userid", "aws:username")
AWS_ONLY_PREFIXES = ("aws:principaltag/",)
SERVICE_ONLY_KEYS = ("aws:sourceaccount", "aws:sourcearn", "aws:sourceorgid", "aws:sourceorgpaths")
ALWAYS_KEYS = ("aws:securetransport", "aws:viaawsservice", "aws:currenttime", "aws:epochtime",
               "aws:requestedregion")
MULTI_KEYS = ("aws:principalorgpaths", "aws:sourceorgpaths", "aws:calledvia", "aws:tagkeys")
MODELLED_KEYS = frozenset(NETWORK_KEYS + DERIVED_KEYS + ("aws:principalorgid", "aws:principalorgpaths",
                                                         "aws:sourceaccount", "aws:sourcearn", "aws:sourceorgid",
                                                         "aws:sourceorgpaths", "aws:securetransport",
                                                         "aws:viaawsservice"))
BOOL_KEYS = ("aws:securetransport", "aws:viaawsservice", "aws:principalisawsservice")

#: Keys that say *who* or *from where* and so restrict access to named parties (BP-4).
RESTRICTING_KEYS = frozenset(("aws:sourceip", "aws:sourcevpc", "aws:sourcevpce", "aws:principalorgid",
                              "aws:principalorgpaths", "aws:principalarn", "aws:principalaccount", "aws:userid",
                              "aws:username", "aws:sourceaccount", "aws:sourcearn", "aws:sourceorgid",
                              "aws:sourceorgpaths"))
#: Keys that the requester chooses freely: a condition on them does not make access private.
FREE_KEYS = frozenset(("aws:securetransport", "aws:viaawsservice", "aws:currenttime", "aws:epochtime",
                       "aws:requestedregion"))


def is_aws_only(key: str) -> bool:
    return key in AWS_ONLY_KEYS or key.startswith(AWS_ONLY_PREFIXES)


def presence_paths(key: str) -> set[str]:
    """The network paths on which a request may carry ``key``."""
    if key in NETWORK_PRESENCE:
        return set(NETWORK_PRESENCE[key])
    if is_aws_only(key) or key in ("aws:principalarn", "aws:principalaccount"):
        return {INTERNET, VPCE}
    if key in SERVICE_ONLY_KEYS or key == "aws:principalservicename":
        return {SERVICE}
    return set(PATHS)


def can_co_occur(a: str, b: str) -> bool:
    return bool(presence_paths(a) & presence_paths(b))


@dataclass(frozen=True, order=True)
class Principal:
    kind: str  # "AWS" | "Service" | "Anonymous" | "CanonicalUser" | "Federated"
    id: str = ""

    @cached_property
    def account(self) -> str:
        if self.kind != "AWS":
            return ""
        parts = self.id.split(":")
        return parts[4] if len(parts) >= 6 else ""

    @cached_property
    def principal_arn(self) -> str:
        """``aws:PrincipalArn``: the role ARN for an assumed-role session."""
        parts = self.id.split(":", 5)
        if len(parts) == 6 and parts[2] == "sts" and parts[5].startswith("assumed-role/"):
            role = parts[5].split("/")[1] if parts[5].count("/") >= 1 else ""
            return f"arn:{parts[1]}:iam::{parts[4]}:role/{role}"
        return self.id

    @cached_property
    def principal_type(self) -> str:
        if self.kind == "Anonymous":
            return "Anonymous"
        res = self.id.split(":", 5)[5] if self.id.count(":") >= 5 else ""
        if res == "root":
            return "Account"
        if res.startswith("user/"):
            return "User"
        if res.startswith("federated-user/"):
            return "FederatedUser"
        return "AssumedRole"


ANONYMOUS = Principal("Anonymous", "")


def derived(principal: Principal, used: frozenset[str] | set[str] | None = None) -> dict[str, Any]:
    """The keys a principal determines (only those in ``used`` when given)."""
    out: dict[str, Any] = {}
    aws = principal.kind == "AWS"
    svc = principal.kind == "Service"
    vals = {
        "aws:principalarn": principal.principal_arn if aws else ABSENT,
        "aws:principalaccount": principal.account if aws else ABSENT,
        "aws:principaltype": principal.principal_type if principal.kind in ("AWS", "Anonymous") else ABSENT,
        "aws:principalisawsservice": "true" if svc else "false",
        "aws:principalservicename": principal.id if svc else ABSENT,
    }
    for k, v in vals.items():
        if used is None or k in used:
            out[k] = v
    return out


def path_allows(path: str, principal: Principal) -> bool:
    """AWS service principals call from AWS; everyone else over the internet or through a VPC endpoint."""
    return (principal.kind == "Service") == (path == SERVICE)


def presence(key: str, path: str, principal: Principal) -> str:
    """``yes`` / ``no`` / ``maybe``: whether a request on ``path`` by ``principal`` carries ``key``."""
    if key in NETWORK_PRESENCE:
        if path == UNKNOWN_PATH:
            return "maybe"
        return "yes" if path in NETWORK_PRESENCE[key] else "no"
    if key in DERIVED_KEYS:
        return "no" if derived(principal)[key] is ABSENT else "yes"
    if is_aws_only(key):
        return "maybe" if principal.kind == "AWS" else "no"
    if key in SERVICE_ONLY_KEYS:
        return "maybe" if principal.kind == "Service" else "no"
    if key in ALWAYS_KEYS:
        return "yes"
    return "maybe"


@dataclass(frozen=True)
class Request:
    """One concrete request. ``keys`` holds the non-derived condition keys it carries (lower case). Values are
    strings, tuples of strings for multivalued keys, or UNKNOWN. A key that is not there is absent when
    ``complete`` (the request is fully known, as in the analysis); otherwise it is UNKNOWN wherever a request
    on this path by this principal may carry it (:func:`presence`), and absent only where it cannot."""

    action: str
    resource: str
    principal: Principal = ANONYMOUS
    path: str = INTERNET
    keys: dict[str, Any] = field(default_factory=dict)
    complete: bool = True

    def __post_init__(self) -> None:
        object.__setattr__(self, "keys", {str(k).lower(): v for k, v in self.keys.items()})

    def context(self) -> dict[str, Any]:
        ctx = {k.lower(): v for k, v in self.keys.items()}
        ctx.update(derived(self.principal))
        return ctx

    def value(self, key: str) -> Any:
        key = key.lower()
        if key in DERIVED_KEYS:
            return derived(self.principal)[key]
        if key not in self.keys:
            if not self.complete and presence(key, self.path, self.principal) != "no":
                return UNKNOWN
            return ABSENT
        v = self.keys[key]
        return ABSENT if v == () else v


#: What a call made by AWS itself (a service principal, or a service acting with a role's credentials) is
#: known to carry: AWS services call one another over TLS.
AWS_CALL_KEYS = {"aws:securetransport": "true"}


def _region_of(arn: str) -> dict[str, str]:
    parts = arn.split(":", 5)
    return {"aws:requestedregion": parts[3]} if len(parts) == 6 and parts[0] == "arn" and parts[3] else {}


def service_request(service: str, action: str, resource: str, *, source_arn: str = "", source_account: str = "",
                    keys: dict[str, Any] | None = None) -> Request:
    """A call that AWS service principal ``service`` (e.g. ``s3.amazonaws.com``) makes on ``resource`` for the
    resource ``source_arn`` of account ``source_account`` (``aws:SourceArn``/``aws:SourceAccount``).

    Known: the principal keys (``aws:PrincipalServiceName``, ``aws:PrincipalIsAWSService``; no IAM principal or
    organisation keys), no VPC keys, TLS, the region of ``resource``. Any other key the call may carry
    (``aws:SourceIp``, ``aws:SourceOrgID``, ``kms:*``, ``sqs:*`` …) is UNKNOWN unless ``keys`` gives it, so a
    statement that depends on it makes the verdict "unknown" and names the key."""
    known: dict[str, Any] = {**AWS_CALL_KEYS, **_region_of(resource)}
    if source_arn:
        known["aws:sourcearn"] = source_arn
    if source_account:
        known["aws:sourceaccount"] = source_account
    return Request(action, resource, Principal("Service", service), SERVICE, {**known, **(keys or {})},
                   complete=False)


def role_request(role_arn: str, action: str, resource: str, *, keys: dict[str, Any] | None = None) -> Request:
    """A call made with the credentials of IAM role ``role_arn`` (a session of it: ``aws:PrincipalArn`` is the
    role's ARN, ``aws:PrincipalType`` AssumedRole), e.g. a Lambda function's execution role reading its queue.

    Known: the principal keys, no ``aws:SourceArn``/``aws:SourceAccount`` (those come with service principals),
    TLS, the region of ``resource``. Unknown unless ``keys`` gives them: the network (``aws:SourceIp``,
    ``aws:SourceVpc`` …: the call may come from the internet or a VPC endpoint), the organisation, tags, and
    every service-specific key."""
    return Request(action, resource, Principal("AWS", role_arn), UNKNOWN_PATH,
                   {**AWS_CALL_KEYS, **_region_of(resource), **(keys or {})}, complete=False)
