"""The S3 → SQS → Lambda pipeline: do events arrive, and can the consumer read them (check-rules.md §8).

Each link is judged across services, with the project's own policy engine deciding the exact request AWS
makes: S3 (principal ``s3.amazonaws.com``, with ``aws:SourceArn`` = the bucket and ``aws:SourceAccount`` =
its owner) sending to the queue and using its key; the consumer's execution role receiving, deleting and
decrypting. A condition on anything else the tool cannot know for that request makes the verdict "not
determinable" — never a pass. What cannot be read (queue, key or role policies) makes the resource not
evaluated, naming the permission.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from auditor.check import Recorder, check
from auditor.inventory import Inventory, RegionInventory
from auditor.inventory import resources as res
from auditor.inventory.arn import Arn, name_from_arn
from auditor.inventory.core import NotAvailable
from auditor.inventory.kms import Key
from auditor.inventory.s3 import Bucket, QueueNotification
from auditor.inventory.sqs import Queue
from auditor.model import Resource, Severity
from auditor.policy import (
    Decision,
    Policy,
    Request,
    Verdict,
    evaluate_key_request,
    evaluate_request,
    role_request,
    service_request,
)
from auditor.policy.evaluate import statement_truth

from ._common import enabled_sqs_mappings
from ._common import parsed_policy as _parsed

NOTIFY_DOC = "https://docs.aws.amazon.com/AmazonS3/latest/userguide/EventNotifications.html"
GRANT_DOC = "https://docs.aws.amazon.com/AmazonS3/latest/userguide/grant-destinations-permissions-to-s3.html"
SQS_KMS_DOC = "https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-key-management.html"
WITH_SQS_DOC = "https://docs.aws.amazon.com/lambda/latest/dg/with-sqs.html"
ESM_API_DOC = "https://docs.aws.amazon.com/lambda/latest/api/API_EventSourceMappingConfiguration.html"

CONSUMER_ACTIONS = ("sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes")


# ------------------------------------------------------------------------------------------------------------
# Deciding one request (the policy engine: auditor.policy.evaluate_request / evaluate_key_request)
# ------------------------------------------------------------------------------------------------------------
S3 = "s3.amazonaws.com"


def _near(policies: list[Policy], request: Request) -> tuple[str, ...]:
    """Allow statements that would match ``request`` but for their conditions (to say why it is refused)."""
    out = []
    for p in policies:
        for st in p.statements:
            if st.effect == "Allow" and st.clauses and \
                    statement_truth(dataclasses.replace(st, clauses=()), request, p.kind) is True:
                out.append(f"{p.name}:{st.label}" if p.name and len(policies) > 1 else st.label)
    return tuple(out)


def _why(v: Verdict, what: str, near: tuple[str, ...] = ()) -> str:
    if v.decision is Decision.DENIED:
        return f"{what} is explicitly denied by statement(s) {', '.join(v.statements)}"
    if near:
        return (f"no statement allows {what}; statement(s) {', '.join(near)} would, but their conditions do not "
                "hold for it")
    return f"no statement allows {what}"


def _undeterminable(v: Verdict, what: str) -> str:
    if v.unknown_keys:
        return (f"whether {what} depends on {', '.join(v.unknown_keys)} (statement(s) "
                f"{', '.join(v.statements)}), whose value for that request the tool cannot know")
    return f"whether {what} cannot be determined: statement(s) {', '.join(v.statements)} cannot be interpreted"


def _via_sqs(queue: Queue) -> dict[str, str]:
    """What KMS knows about a call SQS makes with a queue's key on someone's behalf."""
    return {"kms:ViaService": f"sqs.{queue.region}.amazonaws.com", "kms:EncryptionContext:aws:sqs:arn": queue.arn}


# ------------------------------------------------------------------------------------------------------------
# Bucket notifications and their destination queues
# ------------------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Link:
    bucket: Bucket
    notification: QueueNotification

    @property
    def resource(self) -> Resource:
        return self.bucket.resource

    @property
    def queue_name(self) -> str:
        return name_from_arn(self.notification.queue_arn)

    @property
    def label(self) -> str:
        return f"{self.bucket.name}'s event notification {self.notification.id} to queue {self.queue_name}"

    def evidence(self, **more: Any) -> dict[str, Any]:
        return {"bucket": self.bucket.name, "notification": self.notification.id,
                "queue": self.notification.queue_arn, "events": list(self.notification.events), **more}


def _region(inv: Inventory, name: str) -> RegionInventory | None:
    return next((r for r in inv.regions if r.name == name), None)


def notification_links(inv: Inventory, rec: Recorder) -> Iterator[Link]:
    """Every SQS notification of every bucket; buckets whose notifications cannot be read are not evaluated."""
    if inv.aws is None:
        return
    try:
        listed = inv.s3.notifications()
    except NotAvailable as exc:
        rec.not_evaluated(Resource("aws", inv.account, "global", "s3-buckets", "s3-buckets"), exc.reason,
                          exc.iam_action)
        return
    for bucket, got in listed:
        if isinstance(bucket, str):
            assert isinstance(got, NotAvailable)
            rec.not_evaluated(Resource("aws", inv.account, "", "s3-bucket", bucket, f"arn:aws:s3:::{bucket}"),
                              got.reason, got.iam_action)
            continue
        if isinstance(got, NotAvailable):
            rec.not_evaluated(bucket.resource, got.reason, got.iam_action)
            continue
        if not got:
            rec.ok(bucket.resource, f"{bucket.name} sends no event notification to SQS")
        for n in got:
            yield Link(bucket, n)


def destination(inv: Inventory, rec: Recorder, link: Link) -> Queue | str | None:
    """The destination queue; a str when it is broken in a way that is a finding by itself (missing, FIFO,
    another Region); None when it could not be evaluated (recorded)."""
    key = link.notification.queue_arn
    try:
        arn = Arn.parse(link.notification.queue_arn)
    except ValueError:
        return f"names {link.notification.queue_arn!r}, which is not a queue ARN"
    if arn.region != link.bucket.region:
        return (f"sends to queue {link.queue_name} in {arn.region}, but the bucket is in {link.bucket.region}: S3 "
                "delivers event notifications only to queues in the bucket's own Region")
    if arn.account != inv.account:
        rec.not_evaluated(link.resource, f"its destination queue {link.queue_name} belongs to account "
                          f"{arn.account}, whose queue policy and key this scan cannot read", key=key)
        return None
    region = _region(inv, arn.region)
    if region is None:
        rec.not_evaluated(link.resource, f"its destination queue {link.queue_name} is in {arn.region}, which "
                          f"this scan does not cover (add -r {arn.region})", key=key)
        return None
    try:
        region.sqs.queues()
    except NotAvailable as exc:
        rec.not_evaluated(link.resource, exc.reason, exc.iam_action, key=key)
        return None
    queue = region.sqs.queue_by_arn(link.notification.queue_arn)
    if queue is None:
        return f"sends to queue {link.queue_name}, which no longer exists"
    if queue.error is not None:
        rec.not_evaluated(link.resource, f"its destination queue {queue.name}: {queue.error.reason}",
                          queue.error.iam_action, key=key)
        return None
    if queue.fifo:
        return f"sends to FIFO queue {queue.name}; S3 event notifications cannot be delivered to FIFO queues"
    return queue


_TF_QUEUE_POLICY = '''data "aws_iam_policy_document" "s3_to_queue" {
  statement {
    principals {
      type        = "Service"
      identifiers = ["s3.amazonaws.com"]
    }
    actions   = ["sqs:SendMessage"]
    resources = [aws_sqs_queue.uploads.arn]
    condition {
      test     = "ArnLike"
      variable = "aws:SourceArn"
      values   = [aws_s3_bucket.uploads.arn]
    }
    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [data.aws_caller_identity.current.account_id]
    }
  }
}
resource "aws_sqs_queue_policy" "uploads" {
  queue_url = aws_sqs_queue.uploads.id
  policy    = data.aws_iam_policy_document.s3_to_queue.json
}'''


@check(
    id="pipeline/notification-not-accepted",
    rule="EV-1",
    title="A bucket's event notifications cannot reach their queue",
    severity=Severity.HIGH,
    description=(
        "A bucket sends event notifications to an SQS queue that does not accept them: the queue's access policy "
        "does not allow s3.amazonaws.com to sqs:SendMessage for this bucket (judged exactly, with aws:SourceArn "
        "and aws:SourceAccount; a Deny wins), or the queue no longer exists, is a FIFO queue, or is in another "
        "Region. S3 validates the destination only when the notification is configured."
    ),
    risk=(
        "Every event is dropped silently after a later change to the queue or its policy: objects keep arriving "
        "in the bucket and nothing processes them."
    ),
    remediation=(
        "Give the queue an access policy that allows s3.amazonaws.com sqs:SendMessage on the queue, conditioned "
        "on aws:SourceArn = the bucket ARN and aws:SourceAccount = the bucket owner; keep the destination a "
        "standard queue in the bucket's Region."
    ),
    cli=("aws sqs set-queue-attributes --queue-url QUEUE_URL --attributes "
         "file://queue-policy-attributes.json   # {\"Policy\": \"<policy JSON allowing s3.amazonaws.com>\"}"),
    terraform=_TF_QUEUE_POLICY,
    docs=(GRANT_DOC, NOTIFY_DOC),
    requires=("s3.notifications", "sqs.queues"),
)
def notification_not_accepted(inv: Inventory, rec: Recorder) -> None:
    for link in notification_links(inv, rec):
        key = link.notification.queue_arn
        queue = destination(inv, rec, link)
        if queue is None:
            continue
        if isinstance(queue, str):
            rec.fail(link.resource, f"Bucket {link.bucket.name}'s event notification {link.notification.id} "
                     f"{queue}: its events are dropped.", evidence=link.evidence(), key=key)
            continue
        what = f"s3.amazonaws.com to sqs:SendMessage to {queue.name} for bucket {link.bucket.name}"
        if queue.policy is None:
            rec.fail(link.resource, f"Bucket {link.bucket.name} notifies queue {queue.name}, which has no access "
                     "policy, so S3 may not send to it: every event is dropped.",
                     evidence=link.evidence(queue_policy=None), key=key)
            continue
        policy = _parsed(inv, queue.policy, "resource")
        if policy.fatal:
            rec.not_evaluated(link.resource, f"the access policy of queue {queue.name} cannot be read: "
                              f"{policy.fatal}", key=key)
            continue
        req = service_request(S3, "sqs:SendMessage", queue.arn, source_arn=link.bucket.arn,
                              source_account=link.bucket.account)
        v = evaluate_request([policy], req)
        ev = link.evidence(decision=str(v.decision), statements=list(v.statements))
        if v.decision is Decision.ALLOWED:
            rec.ok(link.resource, f"{link.label}: the queue policy allows it ({', '.join(v.statements)})",
                   evidence=ev, key=key)
        elif v.decision is Decision.UNKNOWN:
            rec.not_evaluated(link.resource, _undeterminable(v, what), key=key)
        else:
            rec.fail(link.resource, f"Bucket {link.bucket.name} notifies queue {queue.name}, but the queue's "
                     f"access policy refuses it: {_why(v, what, _near([policy], req))}. Every event is dropped.",
                     evidence=ev, key=key)


# ------------------------------------------------------------------------------------------------------------
# EV-2
# ------------------------------------------------------------------------------------------------------------
def _key(region: RegionInventory, queue: Queue) -> Key:
    assert queue.kms_key is not None
    return region.kms.key(queue.kms_key)


_TF_KEY_POLICY = '''data "aws_iam_policy_document" "queue_key" {
  # ... the key administrators' statements ...
  statement {
    principals {
      type        = "Service"
      identifiers = ["s3.amazonaws.com"]
    }
    actions   = ["kms:GenerateDataKey", "kms:Decrypt"]
    resources = ["*"]
  }
}
resource "aws_kms_key" "queue" {
  policy = data.aws_iam_policy_document.queue_key.json
}
resource "aws_sqs_queue" "uploads" {
  kms_master_key_id = aws_kms_key.queue.arn   # never alias/aws/sqs for an S3 destination
}'''


@check(
    id="pipeline/notification-key-unusable",
    rule="EV-2",
    title="A bucket's event notifications cannot be encrypted with their queue's key",
    severity=Severity.HIGH,
    description=(
        "The destination queue of a bucket's event notifications is encrypted with the AWS managed key "
        "(alias/aws/sqs), whose key policy cannot be changed and does not admit S3, or with a customer managed "
        "key whose key policy does not allow s3.amazonaws.com kms:GenerateDataKey* and kms:Decrypt."
    ),
    risk="S3 cannot encrypt the messages it sends: every event is dropped, silently.",
    remediation=(
        "Encrypt the queue with SSE-SQS, or with a customer managed key whose key policy allows s3.amazonaws.com "
        "kms:GenerateDataKey and kms:Decrypt."
    ),
    cli="aws sqs set-queue-attributes --queue-url QUEUE_URL --attributes SqsManagedSseEnabled=true,KmsMasterKeyId=''",
    terraform=_TF_KEY_POLICY,
    docs=(SQS_KMS_DOC, GRANT_DOC),
    requires=("s3.notifications", "sqs.queues", "kms.queue_keys"),
)
def notification_key_unusable(inv: Inventory, rec: Recorder) -> None:
    for link in notification_links(inv, rec):
        key = link.notification.queue_arn
        queue = destination(inv, rec, link)
        if not isinstance(queue, Queue):
            continue  # EV-1's finding, or not evaluated
        if not queue.kms_key:
            rec.ok(link.resource, f"{link.label}: the queue is not encrypted with KMS", key=key)
            continue
        region = _region(inv, queue.region)
        assert region is not None
        try:
            kms_key = _key(region, queue)
            ev = link.evidence(kms_key=kms_key.arn, key_manager=kms_key.manager)
            if kms_key.aws_managed:
                rec.fail(link.resource, f"Queue {queue.name} is encrypted with the AWS managed key "
                         f"({queue.kms_key}), whose key policy cannot admit S3: every event bucket "
                         f"{link.bucket.name} sends it is dropped. Use SSE-SQS or a customer managed key.",
                         evidence=ev, key=key)
                continue
            policy = _parsed(inv, region.kms.key_policy(kms_key), "resource")
        except NotAvailable as exc:
            rec.not_evaluated(link.resource, f"the key of queue {queue.name}: {exc.reason}", exc.iam_action,
                              key=key)
            continue
        if policy.fatal:
            rec.not_evaluated(link.resource, f"the key policy of {kms_key.arn} cannot be read: {policy.fatal}",
                              key=key)
            continue
        refused, unknown = [], []
        for action in ("kms:GenerateDataKey", "kms:Decrypt"):
            req = service_request(S3, action, kms_key.arn, source_arn=link.bucket.arn,
                                  source_account=link.bucket.account, keys=_via_sqs(queue))
            v = evaluate_request([policy], req)
            if v.decision is Decision.UNKNOWN:
                unknown.append(_undeterminable(v, f"s3.amazonaws.com may {action}"))
            elif v.decision is not Decision.ALLOWED:
                refused.append(f"{action} ({_why(v, S3, _near([policy], req))})")
        if refused:
            rec.fail(link.resource, f"Queue {queue.name} is encrypted with key {kms_key.id}, whose key policy does "
                     f"not let S3 use it: {'; '.join(refused)}. Every event bucket {link.bucket.name} sends it is "
                     "dropped.", evidence=ev, key=key)
        elif unknown:
            rec.not_evaluated(link.resource, "; ".join(unknown), key=key)
        else:
            rec.ok(link.resource, f"{link.label}: key {kms_key.id} admits S3", evidence=ev, key=key)


# ------------------------------------------------------------------------------------------------------------
# EV-3
# ------------------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Role:
    """An execution role as the engine judges it: its identity policies, and its permissions boundary (which the
    engine does not model: a call must be allowed by both)."""

    arn: str
    policies: tuple[Policy, ...]  # inline and attached, each named
    boundary: Policy | None

    def may(self, request: Request, resource_policy: Policy | None = None) -> Verdict:
        v = evaluate_request([*self.policies, *([resource_policy] if resource_policy else [])], request)
        return self.bounded(v, request)

    def bounded(self, v: Verdict, request: Request) -> Verdict:
        if v.decision is not Decision.ALLOWED or self.boundary is None:
            return v
        b = evaluate_request([self.boundary], request)
        if b.decision is Decision.ALLOWED:
            return v
        if b.decision is Decision.UNKNOWN:
            return b
        return Verdict(Decision.NOT_ALLOWED, tuple(f"permissions boundary {s}" for s in b.statements))


def _role(inv: Inventory, role_arn: str) -> Role:
    docs = [(p.name.rsplit("/", 1)[-1], p.document) for p in inv.iam.role_policies(role_arn)]
    boundary = inv.iam.permissions_boundary(role_arn)
    return Role(role_arn, tuple(_parsed(inv, doc, "identity", name) for name, doc in docs),
                None if boundary is None else _parsed(inv, boundary.document, "identity",
                                                      boundary.name.rsplit("/", 1)[-1]))


_TF_CONSUMER = '''data "aws_iam_policy_document" "consumer" {
  statement {
    actions   = ["sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes"]
    resources = [aws_sqs_queue.uploads.arn]
  }
  statement {
    actions   = ["kms:Decrypt"]
    resources = [aws_kms_key.queue.arn]   # only for a customer managed key
  }
}
resource "aws_iam_role_policy" "consumer" {
  role   = aws_iam_role.consumer.id
  policy = data.aws_iam_policy_document.consumer.json
}'''


@check(
    id="pipeline/consumer-cannot-read",
    rule="EV-3",
    title="A function's execution role cannot read the queue its SQS trigger polls",
    severity=Severity.HIGH,
    description=(
        "A function with an enabled SQS mapping runs as a role whose identity policies (inline and attached, and "
        "its permissions boundary) do not allow sqs:ReceiveMessage, sqs:DeleteMessage and sqs:GetQueueAttributes "
        "on the queue, or kms:Decrypt on the queue's customer managed key when the key policy does not grant "
        "the role directly. Lambda checks the SQS permissions only when the mapping is created. Service control "
        "policies are not visible to the tool and can still deny."
    ),
    risk=(
        "The function cannot receive, delete or decrypt its messages: they are retried until they reach the "
        "dead-letter queue (or expire), and Lambda may disable the trigger."
    ),
    remediation=(
        "Grant the execution role sqs:ReceiveMessage, sqs:DeleteMessage and sqs:GetQueueAttributes on the queue "
        "(the AWSLambdaSQSQueueExecutionRole managed policy does), and kms:Decrypt on the queue's customer "
        "managed key."
    ),
    cli=("aws iam attach-role-policy --role-name ROLE "
         "--policy-arn arn:aws:iam::aws:policy/service-role/AWSLambdaSQSQueueExecutionRole"),
    terraform=_TF_CONSUMER,
    docs=(WITH_SQS_DOC, SQS_KMS_DOC),
    requires=("lambda.mappings", "sqs.queues", "lambda.configurations", "iam.consumer_roles", "kms.queue_keys"),
)
def consumer_cannot_read(inv: Inventory, rec: Recorder) -> None:
    for item in enabled_sqs_mappings(inv, rec):
        m, queue = item.mapping, item.queue
        fres = res.function(item.region.account, item.region.name, m.function_arn)
        key = queue.arn
        with rec.evaluating(fres, key=key):
            fn = item.region.awslambda.configuration(m.function_arn)
            if not fn.role:
                rec.not_evaluated(fres, "its configuration names no execution role", key=key)
                continue
            role = _role(inv, fn.role)
            qp = _parsed(inv, queue.policy, "resource", "queue policy") if queue.policy else None
            missing, unknown = [], []
            for action in CONSUMER_ACTIONS:
                v = role.may(role_request(fn.role, action, queue.arn), qp)
                if v.decision is Decision.UNKNOWN:
                    unknown.append(_undeterminable(v, f"the role may {action}"))
                elif v.decision is Decision.DENIED:
                    missing.append(f"{action} (denied by {', '.join(v.statements)})")
                elif v.decision is not Decision.ALLOWED:
                    missing.append(action)
            if queue.kms_key:
                kms_key = _key(item.region, queue)
                if not kms_key.aws_managed:
                    kp = _parsed(inv, item.region.kms.key_policy(kms_key), "resource", "key policy")
                    req = role_request(fn.role, "kms:Decrypt", kms_key.arn, keys=_via_sqs(queue))
                    v = role.bounded(evaluate_key_request(kp, role.policies, req), req)
                    if v.decision is Decision.UNKNOWN:
                        unknown.append(_undeterminable(v, "the role may kms:Decrypt"))
                    elif v.decision is not Decision.ALLOWED:
                        missing.append(f"kms:Decrypt on key {kms_key.id} (neither the key policy nor, through "
                                       "it, the role's own policies grant it)" if v.decision is not
                                       Decision.DENIED else f"kms:Decrypt on key {kms_key.id} (denied by "
                                       f"{', '.join(v.statements)})")
            ev = {"function": m.function_arn, "role": fn.role, "queue": queue.arn, "kms_key": queue.kms_key,
                  "missing": missing, "permissions_boundary": role.boundary is not None}
            limit = " (its permissions boundary was evaluated too)" if role.boundary is not None else ""
            if missing:
                rec.fail(fres, f"Function {fn.name} cannot read its queue {queue.name}: role "
                         f"{fn.role.rsplit('/', 1)[-1]} lacks {', '.join(missing)}{limit}. Messages are retried "
                         "until they reach the dead-letter queue.", evidence=ev, key=key)
            elif unknown:
                rec.not_evaluated(fres, "; ".join(unknown), key=key)
            else:
                rec.ok(fres, f"{fn.name} may receive, delete and decrypt from {queue.name}{limit}; a service "
                       "control policy, which the tool cannot see, could still deny", evidence=ev, key=key)


# ------------------------------------------------------------------------------------------------------------
# EV-4
# ------------------------------------------------------------------------------------------------------------
@check(
    id="pipeline/mapping-reports-a-problem",
    rule="EV-4",
    title="Lambda reports a problem with an SQS trigger, or disabled it",
    severity=Severity.MEDIUM,
    description=(
        "An SQS event source mapping reports its own health: LastProcessingResult starts with 'PROBLEM:', or "
        "Lambda (not a user) put the mapping in the Disabled/Disabling state."
    ),
    risk="Messages are not being processed, or the trigger has stopped altogether, while the queue fills.",
    remediation=(
        "Read the problem AWS reports (quoted in the finding), fix its cause (usually the execution role, the "
        "queue's key or the function's code), then re-enable the mapping if Lambda disabled it."
    ),
    cli="aws lambda get-event-source-mapping --uuid UUID   # then: aws lambda update-event-source-mapping --uuid UUID --enabled",
    terraform='resource "aws_lambda_event_source_mapping" "sqs" {\n  enabled = true\n}',
    docs=(ESM_API_DOC, WITH_SQS_DOC),
    requires=("lambda.mappings",),
)
def mapping_reports_problem(inv: Inventory, rec: Recorder) -> None:
    for region in inv.regions:
        try:
            mappings = region.awslambda.sqs_mappings(enabled_only=False)
        except NotAvailable as exc:
            rec.not_evaluated(region.scope("lambda-event-source-mappings"), exc.reason, exc.iam_action)
            continue
        for m in mappings:
            qres = res.queue(region.account, region.name, m.event_source_arn)
            label = f"{name_from_arn(m.event_source_arn)} → {m.function_arn.split(':', 6)[-1]}"
            result = str(m.raw.get("LastProcessingResult") or "")
            reason = str(m.raw.get("StateTransitionReason") or "")
            ev = {"event_source_mapping": m.uuid, "function": m.function_arn, "queue": m.event_source_arn,
                  "state": m.state, "state_transition_reason": reason, "last_processing_result": result}
            if result.upper().startswith("PROBLEM:"):
                rec.fail(qres, f"Lambda reports a problem with the SQS trigger {label}: \"{result}\".",
                         evidence=ev, key=m.function_arn)
            elif m.state in ("Disabled", "Disabling") and not reason.lower().startswith("user"):
                rec.fail(qres, f"Lambda {'disabled' if m.state == 'Disabled' else 'is disabling'} the SQS trigger "
                         f"{label}" + (f": \"{reason}\"." if reason else " (no reason given)."),
                         evidence=ev, key=m.function_arn)
            elif m.enabled:
                rec.ok(qres, f"{label}: {result or m.state}", evidence=ev, key=m.function_arn)
            # A mapping a user disabled is left alone, as every other check does.


