"""Build :class:`~auditor.model.Resource` identities for inventory objects, one way everywhere."""

from __future__ import annotations

from ..model import Resource
from .arn import function_parts, name_from_arn


def queue(account: str, region: str, arn: str, name: str = "") -> Resource:
    return Resource("aws", account, region, "sqs-queue", name or name_from_arn(arn), arn)


def function(account: str, region: str, arn: str) -> Resource:
    base, _ = function_parts(arn)
    return Resource("aws", account, region, "lambda-function", name_from_arn(base), base)


def event_source_mapping(account: str, region: str, uuid: str, arn: str) -> Resource:
    return Resource("aws", account, region, "lambda-event-source-mapping", uuid, arn)
