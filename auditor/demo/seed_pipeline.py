"""The shop's upload pipelines: a bucket of JSON uploads notifies a queue that a function consumes (§8).

One pipeline is healthy end to end (a customer managed key that admits S3 and the consumer); each other one
breaks exactly one link, the way accounts drift after the notification was set up: a queue policy rewritten
for another bucket (EV-1), a queue switched to the AWS managed key (EV-2), a consumer role that lost
``sqs:DeleteMessage`` (EV-3) — whose mapping Lambda then reports as failing (EV-4).

The new queues redrive to ``orders-dlq`` and their mappings follow every other rule, so they show only §8.
"""

from __future__ import annotations

import json
from typing import Any

from .seed import ACCOUNT, REGION

EXPECTED: dict[str, dict[str, set[str]]] = {
    "shop-uploads": {"clean": {"EV-1", "EV-2"}},
    "uploads-ingest": {"clean": {"EV-3"}},
    "uploads": {"clean": {"EV-4"}},
    "shop-imports": {"fail": {"EV-1"}, "clean": {"EV-2"}},
    "shop-exports": {"fail": {"EV-2"}, "clean": {"EV-1"}},
    "returns-processor": {"fail": {"EV-3"}},
    "returns": {"fail": {"EV-4"}},
    # Every other consumer of the shop reads its queue through the shared role.
    "orders-consumer": {"clean": {"EV-3"}},
}

#: What AWS reports for a mapping whose function cannot delete what it received.
RETURNS_PROBLEM = ("PROBLEM: Function call failed: the execution role is not authorized to perform "
                   "sqs:DeleteMessage on the queue")

_SQS_CONSUMER = ["sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes"]


def _queue_arn(name: str) -> str:
    return f"arn:aws:sqs:{REGION}:{ACCOUNT}:{name}"


def _accepts_s3_from(queue: str, bucket: str) -> dict[str, Any]:
    """The queue policy S3's documentation prescribes: s3.amazonaws.com may send, for this bucket only."""
    return {"Version": "2012-10-17", "Statement": [{
        "Sid": "S3Notifications", "Effect": "Allow", "Principal": {"Service": "s3.amazonaws.com"},
        "Action": "sqs:SendMessage", "Resource": _queue_arn(queue),
        "Condition": {"ArnLike": {"aws:SourceArn": f"arn:aws:s3:::{bucket}"},
                      "StringEquals": {"aws:SourceAccount": ACCOUNT}}}]}


def _key_policy(consumer_role: str) -> dict[str, Any]:
    root = f"arn:aws:iam::{ACCOUNT}:root"
    return {"Version": "2012-10-17", "Statement": [
        {"Sid": "Admins", "Effect": "Allow", "Principal": {"AWS": root}, "Action": "kms:*", "Resource": "*"},
        {"Sid": "S3Notifications", "Effect": "Allow", "Principal": {"Service": "s3.amazonaws.com"},
         "Action": ["kms:GenerateDataKey*", "kms:Decrypt"], "Resource": "*",
         "Condition": {"StringEquals": {"aws:SourceAccount": ACCOUNT}}},
        {"Sid": "Consumer", "Effect": "Allow", "Principal": {"AWS": consumer_role}, "Action": "kms:Decrypt",
         "Resource": "*"},
    ]}


def _consumer_policy(queue: str, *, actions=tuple(_SQS_CONSUMER), key_arn: str | None = None) -> dict[str, Any]:
    statements: list[dict[str, Any]] = [
        {"Sid": "ReadQueue", "Effect": "Allow", "Action": list(actions), "Resource": _queue_arn(queue)},
        {"Sid": "Logs", "Effect": "Allow", "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
         "Resource": "*"},
    ]
    if key_arn:
        statements.append({"Sid": "DecryptQueue", "Effect": "Allow", "Action": "kms:Decrypt", "Resource": key_arn})
    return {"Version": "2012-10-17", "Statement": statements}


def seed(ctx) -> None:
    from .seed_sqs_lambda import PARTIAL_BATCH_SOURCE

    s3, lam, kms = ctx.client("s3"), ctx.client("lambda"), ctx.client("kms")
    orders_dlq = _queue_arn("orders-dlq")
    # The shop's other consumers run as shop-lambda-role: it may read any of the shop's queues.
    ctx.role("shop-lambda-role", {"Version": "2012-10-17", "Statement": [
        {"Sid": "ShopQueues", "Effect": "Allow", "Action": _SQS_CONSUMER,
         "Resource": f"arn:aws:sqs:{REGION}:{ACCOUNT}:*"}]})

    def pipeline(bucket: str | None, queue: str, function: str, role_policy: dict[str, Any] | None, *,
                 queue_policy: dict[str, Any] | None = None, role: str | None = None, **queue_attrs: Any) -> str:
        attrs = {"VisibilityTimeout": 90, "RedrivePolicy": {"deadLetterTargetArn": orders_dlq, "maxReceiveCount": "5"},
                 **queue_attrs}
        if queue_policy is not None:
            attrs["Policy"] = queue_policy
        _, arn = ctx.queue(queue, **attrs)
        if bucket is not None:  # before the mapping: moto sends S3's test event to the queue
            s3.create_bucket(Bucket=bucket)
            s3.put_bucket_notification_configuration(Bucket=bucket, NotificationConfiguration={
                "QueueConfigurations": [{"Id": f"{bucket}-json", "QueueArn": arn, "Events": ["s3:ObjectCreated:*"],
                                         "Filter": {"Key": {"FilterRules": [{"Name": "suffix", "Value": ".json"}]}}}]})
        role_arn = ctx.role(role or f"{function}-role", role_policy)
        ctx.function(function, timeout=10, role=role_arn, source=PARTIAL_BATCH_SOURCE)
        return lam.create_event_source_mapping(FunctionName=function, EventSourceArn=arn, BatchSize=10,
                                               FunctionResponseTypes=["ReportBatchItemFailures"])["UUID"]

    # Healthy: a customer managed key that admits S3 and the consumer; the consumer may read and decrypt.
    ingest_role = f"arn:aws:iam::{ACCOUNT}:role/uploads-ingest-role"
    ctx.role("uploads-ingest-role")  # the key policy names the role, so it must exist first
    key = kms.create_key(Description="shop uploads queue", Policy=json.dumps(_key_policy(ingest_role)))
    key_arn = key["KeyMetadata"]["Arn"]
    kms.create_alias(AliasName="alias/shop-uploads", TargetKeyId=key_arn)
    pipeline("shop-uploads", "uploads", "uploads-ingest", _consumer_policy("uploads", key_arn=key_arn),
             queue_policy=_accepts_s3_from("uploads", "shop-uploads"), role="uploads-ingest-role",
             KmsMasterKeyId="alias/shop-uploads", SqsManagedSseEnabled="false")

    # EV-1: the queue policy was rewritten when the bucket was renamed; it admits only the old bucket.
    pipeline("shop-imports", "imports", "imports-worker", _consumer_policy("imports"),
             queue_policy=_accepts_s3_from("imports", "shop-imports-2023"))

    # EV-2: someone "turned on encryption" with the AWS managed key, which S3 can never use.
    pipeline("shop-exports", "exports", "exports-worker", _consumer_policy("exports"),
             queue_policy=_accepts_s3_from("exports", "shop-exports"), KmsMasterKeyId="alias/aws/sqs",
             SqsManagedSseEnabled="false")

    # EV-3 and EV-4: the consumer's role lost sqs:DeleteMessage; Lambda reports the mapping failing.
    uuid = pipeline(None, "returns", "returns-processor",
                    _consumer_policy("returns", actions=("sqs:ReceiveMessage", "sqs:GetQueueAttributes")))
    from .moto_lambda_health import set_health

    set_health(uuid, last_result=RETURNS_PROBLEM)
