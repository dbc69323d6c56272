"""IAM/S3 policy documents: parsing, normalisation and exact evaluation over request contexts (offline).

Public API::

    policy = parse(document, kind="resource")          # never raises; problems are policy.diagnostics
    verdict = evaluate(policy, Request(...))           # one concrete request
    analysis = analyze(policy, action="s3:GetObject")  # every request, partitioned exactly
"""

from .analysis import Analysis, Atom, Dim, Row, analyze
from .context import ANONYMOUS, INTERNET, PATHS, SERVICE, VPCE, Principal, Request
from .evaluate import Verdict, evaluate
from .model import ABSENT, Clause, Decision, Diagnostic, Policy, Statement
from .parser import parse

__all__ = [
    "ABSENT",
    "ANONYMOUS",
    "INTERNET",
    "PATHS",
    "SERVICE",
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
    "parse",
]
