"""IAM/S3 policy documents: parsing, normalisation and exact evaluation over request contexts (offline).

Public API::

    policy = parse(document, kind="resource")          # never raises; problems are policy.diagnostics
    verdict = evaluate(policy, Request(...))           # one concrete request
    analysis = analyze(policy, action="s3:GetObject")  # every request, partitioned exactly

    # several policies, requests whose unlisted keys are unknown rather than absent (docs/policy-engine.md)
    req = service_request("s3.amazonaws.com", "sqs:SendMessage", queue_arn,
                          source_arn=bucket_arn, source_account=owner)
    req = role_request(role_arn, "sqs:ReceiveMessage", queue_arn)
    verdict = evaluate_request([queue_policy], req)    # or the role's identity policies, kind="identity"
    verdict = evaluate_key_request(key_policy, identity_policies, role_request(role_arn, "kms:Decrypt", key_arn))
"""

from .analysis import Analysis, Atom, Dim, Row, analyze
from .context import (
    ANONYMOUS,
    INTERNET,
    PATHS,
    SERVICE,
    UNKNOWN_PATH,
    VPCE,
    Principal,
    Request,
    role_request,
    service_request,
)
from .evaluate import Verdict, evaluate, evaluate_key_request, evaluate_request
from .model import ABSENT, UNKNOWN, Clause, Decision, Diagnostic, Policy, Statement
from .parser import parse

__all__ = [
    "ABSENT",
    "ANONYMOUS",
    "INTERNET",
    "PATHS",
    "SERVICE",
    "UNKNOWN",
    "UNKNOWN_PATH",
    "VPCE",
    "Analysis",
    "Atom",
    "Clause",
    "Decision",
    "Diagnostic",
    "Dim",
    "Policy",
    "Principal",
    "Request",
    "Row",
    "Statement",
    "Verdict",
    "analyze",
    "evaluate",
    "evaluate_key_request",
    "evaluate_request",
    "parse",
    "role_request",
    "service_request",
]
