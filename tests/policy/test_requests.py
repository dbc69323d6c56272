"""Several policies, one concrete request (check-rules.md §8, for EV-1..EV-3): a queue policy and S3's
notification, a key policy and S3 or a role, a role's identity policies. Verdicts are exact where the request
is known and "unknown", naming the key, where a statement depends on something the caller cannot see."""

from __future__ import annotations

import pytest

from auditor.policy import (
    ABSENT,
    Decision,
    evaluate,
    evaluate_key_request,
    evaluate_request,
    parse,
    role_request,
    service_request,
)

ACCOUNT = "123456789012"
OTHER = "210987654321"
BUCKET_ARN = "arn:aws:s3:::uploads-prod"
QUEUE_ARN = f"arn:aws:sqs:eu-west-1:{ACCOUNT}:orders-prod"
KEY_ARN = f"arn:aws:kms:eu-west-1:{ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab"
ROLE_ARN = f"arn:aws:iam::{ACCOUNT}:role/orders-consumer"
S3 = {"Service": "s3.amazonaws.com"}


def doc(*statements):
    return {"Version": "2012-10-17", "Statement": list(statements)}


def queue(*statements):
    return parse(doc(*statements), name="queue policy")


def identity(name, *statements):
    return parse(doc(*statements), kind="identity", name=name)


def s3_send(bucket_arn=BUCKET_ARN, account=ACCOUNT, action="sqs:SendMessage", resource=QUEUE_ARN):
    return service_request("s3.amazonaws.com", action, resource, source_arn=bucket_arn, source_account=account)


def send_allowed(condition=None, principal=S3, action="sqs:SendMessage", resource=QUEUE_ARN, sid="S3Send"):
    st = {"Sid": sid, "Effect": "Allow", "Principal": principal, "Action": action, "Resource": resource}
    if condition is not None:
        st["Condition"] = condition
    return st


def verdict(v):
    return v.decision, v.statements, v.unknown_keys


# -- EV-1: does the queue accept S3's notification for this bucket? -------------------------------------------
def test_the_documented_queue_policy_admits_its_bucket_and_no_other():
    p = queue(send_allowed({"ArnEquals": {"aws:SourceArn": BUCKET_ARN},
                            "StringEquals": {"aws:SourceAccount": ACCOUNT}}))
    assert verdict(evaluate_request([p], s3_send())) == (Decision.ALLOWED, ("queue policy:S3Send",), ())
    assert evaluate_request([p], s3_send("arn:aws:s3:::uploads-test")).decision is Decision.NOT_ALLOWED
    assert evaluate_request([p], s3_send(account=OTHER)).decision is Decision.NOT_ALLOWED


def test_arnlike_source_arn_with_wildcards():
    p = queue(send_allowed({"ArnLike": {"aws:SourceArn": "arn:aws:s3:::uploads-*"}}))
    assert evaluate_request([p], s3_send("arn:aws:s3:::uploads-prod")).decision is Decision.ALLOWED
    assert evaluate_request([p], s3_send("arn:aws:s3:::reports")).decision is Decision.NOT_ALLOWED
    # ArnLike matches segment by segment: a * in the resource segment does not reach into another one
    p = queue(send_allowed({"ArnLike": {"aws:SourceArn": "arn:aws:s3:*:*:uploads-*"}}))
    assert evaluate_request([p], s3_send("arn:aws:s3:::uploads-prod")).decision is Decision.ALLOWED


def test_no_condition_admits_every_bucket():
    p = queue(send_allowed())
    assert evaluate_request([p], s3_send("arn:aws:s3:::anyone-s-bucket", OTHER)).decision is Decision.ALLOWED


def test_a_deny_with_stringnotequals_source_account_wins():
    p = queue(send_allowed(principal="*"),
              {"Sid": "OnlyOwnAccount", "Effect": "Deny", "Principal": "*", "Action": "sqs:SendMessage",
               "Resource": QUEUE_ARN, "Condition": {"StringNotEquals": {"aws:SourceAccount": ACCOUNT}}})
    assert verdict(evaluate_request([p], s3_send(account=OTHER))) == (Decision.DENIED, ("queue policy:OnlyOwnAccount",), ())
    assert evaluate_request([p], s3_send()).decision is Decision.ALLOWED


def test_principal_forms_for_a_service():
    for principal in ("*", {"AWS": "*"}, {"Service": ["sns.amazonaws.com", "s3.amazonaws.com"]}):
        assert evaluate_request([queue(send_allowed(principal=principal))], s3_send()).decision is Decision.ALLOWED
    for principal in ({"AWS": f"arn:aws:iam::{ACCOUNT}:root"}, {"AWS": ACCOUNT}, {"Service": "sns.amazonaws.com"}):
        v = evaluate_request([queue(send_allowed(principal=principal))], s3_send())
        assert v.decision is Decision.NOT_ALLOWED, principal


@pytest.mark.parametrize("action,allowed", [("sqs:*", True), ("sqs:Send*", True), ("SQS:sendmessage", True),
                                            ("*", True), ("sqs:SendMessageBatch", False), ("sns:Publish", False)])
def test_action_spellings(action, allowed):
    v = evaluate_request([queue(send_allowed(action=action))], s3_send())
    assert v.decision is (Decision.ALLOWED if allowed else Decision.NOT_ALLOWED)


def test_notaction_and_wildcard_resources():
    p = queue({"Sid": "AllButAdmin", "Effect": "Allow", "Principal": S3, "NotAction": ["sqs:Delete*", "sqs:Purge*"],
               "Resource": f"arn:aws:sqs:*:{ACCOUNT}:orders-*"})
    assert evaluate_request([p], s3_send()).decision is Decision.ALLOWED
    assert evaluate_request([p], s3_send(action="sqs:PurgeQueue")).decision is Decision.NOT_ALLOWED
    other = f"arn:aws:sqs:eu-west-1:{ACCOUNT}:payments"
    assert evaluate_request([p], s3_send(resource=other)).decision is Decision.NOT_ALLOWED


def test_a_condition_on_what_the_engine_cannot_see_is_unknown_and_named():
    p = queue(send_allowed({"IpAddress": {"aws:SourceIp": "203.0.113.0/24"}}))
    assert verdict(evaluate_request([p], s3_send())) == (Decision.UNKNOWN, ("queue policy:S3Send",), ("aws:SourceIp",))
    # … but a key S3's call never carries is absent, not unknown: no VPC endpoint, no IAM principal
    p = queue(send_allowed({"StringEquals": {"aws:SourceVpce": "vpce-1a2b3c4d"}}))
    assert evaluate_request([p], s3_send()).decision is Decision.NOT_ALLOWED
    p = queue(send_allowed(), {"Sid": "DenyOutsideOrg", "Effect": "Deny", "Principal": "*", "Action": "sqs:*",
                               "Resource": QUEUE_ARN,
                               "Condition": {"StringNotEquals": {"aws:PrincipalOrgID": "o-abc123"}}})
    assert verdict(evaluate_request([p], s3_send())) == (Decision.DENIED, ("queue policy:DenyOutsideOrg",), ())
    # TLS and the region are known for a call AWS makes
    p = queue(send_allowed(), {"Sid": "DenyInsecure", "Effect": "Deny", "Principal": "*", "Action": "sqs:*",
                               "Resource": QUEUE_ARN, "Condition": {"Bool": {"aws:SecureTransport": "false"}}},
              {"Sid": "DenyElsewhere", "Effect": "Deny", "Principal": "*", "Action": "sqs:*", "Resource": "*",
               "Condition": {"StringNotEquals": {"aws:RequestedRegion": "eu-west-1"}}})
    assert evaluate_request([p], s3_send()).decision is Decision.ALLOWED


def test_an_unknown_deny_leaves_the_verdict_open_even_beside_an_allow():
    p = queue(send_allowed(),
              {"Sid": "DenyOtherOrgs", "Effect": "Deny", "Principal": "*", "Action": "sqs:SendMessage",
               "Resource": QUEUE_ARN, "Condition": {"StringNotEquals": {"aws:SourceOrgID": "o-abc123"}}})
    assert verdict(evaluate_request([p], s3_send())) == (Decision.UNKNOWN, ("queue policy:DenyOtherOrgs",),
                                                          ("aws:SourceOrgID",))
    known = service_request("s3.amazonaws.com", "sqs:SendMessage", QUEUE_ARN, source_arn=BUCKET_ARN,
                            source_account=ACCOUNT, keys={"aws:SourceOrgID": "o-abc123"})
    assert evaluate_request([p], known).decision is Decision.ALLOWED


def test_a_policy_that_cannot_be_read_is_unknown_never_allowed_or_denied():
    v = evaluate_request([parse("{ not json", name="queue policy"), queue(send_allowed())], s3_send())
    assert v.decision is Decision.UNKNOWN and v.statements == ("queue policy (cannot be read)",)
    v = evaluate_request([parse('{"Statement": [{"Effect": "Allow", "Principal": {"Service": "s3.amazonaws.com"}, '
                                '"Action": "sqs:SendMessage", "Resource": "*", '
                                '"Condition": {"StringEqualz": {"aws:SourceAccount": "1"}}}]}')], s3_send())
    assert v.decision is Decision.UNKNOWN and v.statements == ("#1",)


# -- EV-2: does the key let S3 encrypt and decrypt for the queue? ---------------------------------------------
ROOT_ADMIN = {"Sid": "EnableIAM", "Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"},
              "Action": "kms:*", "Resource": "*"}


def key(*statements):
    return parse(doc(*statements), name="key policy")


def s3_kms(action):
    return s3_send(action=action, resource=KEY_ARN)


def test_key_policy_for_s3():
    p = key(ROOT_ADMIN, {"Sid": "S3", "Effect": "Allow", "Principal": S3,
                         "Action": ["kms:GenerateDataKey*", "kms:Decrypt"], "Resource": "*"})
    assert evaluate_request([p], s3_kms("kms:GenerateDataKey")).decision is Decision.ALLOWED
    assert verdict(evaluate_request([p], s3_kms("kms:Decrypt"))) == (Decision.ALLOWED, ("key policy:S3",), ())
    only_decrypt = key(ROOT_ADMIN, {"Sid": "S3", "Effect": "Allow", "Principal": S3, "Action": "kms:Decrypt",
                                    "Resource": "*"})
    assert evaluate_request([only_decrypt], s3_kms("kms:GenerateDataKey")).decision is Decision.NOT_ALLOWED
    # the default key policy lets the account's IAM policies grant: no service principal is let in by it
    assert evaluate_request([key(ROOT_ADMIN)], s3_kms("kms:GenerateDataKey")).decision is Decision.NOT_ALLOWED


def test_key_policy_conditions():
    p = key({"Sid": "S3", "Effect": "Allow", "Principal": S3, "Action": "kms:*", "Resource": "*",
             "Condition": {"StringEquals": {"aws:SourceAccount": ACCOUNT},
                           "ArnLike": {"aws:SourceArn": "arn:aws:s3:::uploads-*"}}})
    assert evaluate_request([p], s3_kms("kms:Decrypt")).decision is Decision.ALLOWED
    assert evaluate_request([p], s3_send(account=OTHER, action="kms:Decrypt", resource=KEY_ARN)).decision \
        is Decision.NOT_ALLOWED
    via = key({"Sid": "ViaSqs", "Effect": "Allow", "Principal": S3, "Action": "kms:Decrypt", "Resource": "*",
               "Condition": {"StringEquals": {"kms:ViaService": "sqs.eu-west-1.amazonaws.com"}}})
    assert verdict(evaluate_request([via], s3_kms("kms:Decrypt"))) == (Decision.UNKNOWN, ("key policy:ViaSqs",),
                                                                      ("kms:ViaService",))


# -- EV-3: may the consumer's role read the queue and decrypt its key? --------------------------------------
def read(action):
    return role_request(ROLE_ARN, action, QUEUE_ARN)


SQS_READ = ("sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes")


def test_the_aws_managed_lambda_sqs_policy_allows_the_three_actions():
    managed = identity("AWSLambdaSQSQueueExecutionRole", {
        "Effect": "Allow", "Action": ["sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes",
                                      "logs:CreateLogGroup"], "Resource": "*"})
    for action in SQS_READ:
        assert verdict(evaluate_request([managed], read(action))) == \
            (Decision.ALLOWED, ("AWSLambdaSQSQueueExecutionRole:#1",), ())


@pytest.mark.parametrize("statement,allowed", [
    ({"Action": "sqs:*", "Resource": "*"}, set(SQS_READ)),
    ({"Action": "sqs:Receive*", "Resource": QUEUE_ARN}, {"sqs:ReceiveMessage"}),
    ({"Action": ["sqs:ReceiveMessage", "sqs:DeleteMessage"], "Resource": f"arn:aws:sqs:*:{ACCOUNT}:orders-*"},
     {"sqs:ReceiveMessage", "sqs:DeleteMessage"}),
    ({"Action": "sqs:*", "Resource": f"arn:aws:sqs:*:{ACCOUNT}:payments-*"}, set()),
    ({"NotAction": "sqs:DeleteMessage", "Resource": "*"}, {"sqs:ReceiveMessage", "sqs:GetQueueAttributes"}),
    ({"Action": "sqs:*", "NotResource": f"arn:aws:sqs:*:{ACCOUNT}:orders-*"}, set()),
    ({"Action": "sqs:*", "NotResource": f"arn:aws:sqs:*:{ACCOUNT}:payments-*"}, set(SQS_READ)),
    ({"Action": "sqs:*", "Resource": "*", "Condition": {"StringEquals": {"aws:RequestedRegion": "us-east-1"}}},
     set()),
    ({"Action": "sqs:*", "Resource": "*", "Condition": {"ArnLike": {"aws:PrincipalArn": "arn:aws:iam::*:role/orders-*"}}},
     set(SQS_READ)),
])
def test_identity_policy_wildcards_and_not_elements(statement, allowed):
    p = identity("inline:read", {"Sid": "S", "Effect": "Allow", **statement})
    got = {a for a in SQS_READ if evaluate_request([p], read(a)).decision is Decision.ALLOWED}
    assert got == allowed
    assert not {a for a in SQS_READ if evaluate_request([p], read(a)).decision is Decision.UNKNOWN}


def test_a_deny_in_a_second_identity_policy_wins():
    inline = identity("inline:consume", {"Sid": "Read", "Effect": "Allow", "Action": "sqs:*", "Resource": QUEUE_ARN})
    guard = identity("managed:no-deletes", {"Sid": "NoDelete", "Effect": "Deny", "Action": "sqs:Delete*",
                                            "Resource": "*"})
    assert verdict(evaluate_request([inline, guard], read("sqs:DeleteMessage"))) == \
        (Decision.DENIED, ("managed:no-deletes:NoDelete",), ())
    assert verdict(evaluate_request([inline, guard], read("sqs:ReceiveMessage"))) == \
        (Decision.ALLOWED, ("inline:consume:Read",), ())
    assert evaluate_request([guard], read("sqs:ReceiveMessage")).decision is Decision.NOT_ALLOWED


def test_statements_are_named_by_their_policy_each_time_it_is_judged():
    """Naming is kept per policy (see evaluate._named_cache): the same policy object judged alone, second of two,
    or as another policy with the same statements, is named as it is there, and a Deny stays a Deny."""
    unnamed = parse(doc({"Sid": "Read", "Effect": "Allow", "Action": "sqs:*", "Resource": QUEUE_ARN}), kind="identity")
    other = parse(doc({"Sid": "Read", "Effect": "Deny", "Action": "sqs:*", "Resource": QUEUE_ARN}), kind="identity")
    guard = identity("managed:no-deletes", {"Sid": "NoDelete", "Effect": "Deny", "Action": "sqs:Delete*",
                                            "Resource": "*"})
    for _ in range(2):  # the second time from what was kept
        assert verdict(evaluate_request([unnamed], read("sqs:ReceiveMessage"))) == (Decision.ALLOWED, ("Read",), ())
        assert verdict(evaluate_request([guard, unnamed], read("sqs:ReceiveMessage"))) == \
            (Decision.ALLOWED, ("policy 2:Read",), ())
        assert verdict(evaluate_request([unnamed, guard], read("sqs:ReceiveMessage"))) == \
            (Decision.ALLOWED, ("policy 1:Read",), ())
        assert verdict(evaluate_request([other], read("sqs:ReceiveMessage"))) == (Decision.DENIED, ("Read",), ())


def test_a_network_condition_on_a_role_is_unknown_and_named():
    p = identity("inline:vpc-only", {"Sid": "ViaEndpoint", "Effect": "Allow", "Action": "sqs:*", "Resource": "*",
                                     "Condition": {"StringEquals": {"aws:SourceVpce": "vpce-1a2b3c4d"}}})
    assert verdict(evaluate_request([p], read("sqs:ReceiveMessage"))) == \
        (Decision.UNKNOWN, ("inline:vpc-only:ViaEndpoint",), ("aws:SourceVpce",))
    # a role's call never carries aws:SourceArn: a condition on it is false, not unknown
    p = identity("inline:x", {"Effect": "Allow", "Action": "sqs:*", "Resource": "*",
                              "Condition": {"ArnLike": {"aws:SourceArn": "arn:aws:s3:::*"}}})
    assert evaluate_request([p], read("sqs:ReceiveMessage")).decision is Decision.NOT_ALLOWED
    tagged = role_request(ROLE_ARN, "sqs:ReceiveMessage", QUEUE_ARN, keys={"aws:PrincipalTag/team": ABSENT})
    p = identity("inline:t", {"Effect": "Allow", "Action": "sqs:*", "Resource": "*",
                              "Condition": {"StringEquals": {"aws:PrincipalTag/team": "orders"}}})
    assert evaluate_request([p], read("sqs:ReceiveMessage")).decision is Decision.UNKNOWN
    assert evaluate_request([p], tagged).decision is Decision.NOT_ALLOWED


def test_identity_and_queue_policy_together():
    queue_policy = queue({"Sid": "DenyOthers", "Effect": "Deny", "Principal": "*", "Action": "sqs:*",
                          "Resource": QUEUE_ARN, "Condition": {"StringNotEquals": {"aws:PrincipalAccount": ACCOUNT}}})
    inline = identity("inline:read", {"Sid": "Read", "Effect": "Allow", "Action": "sqs:*", "Resource": QUEUE_ARN})
    assert evaluate_request([inline, queue_policy], read("sqs:ReceiveMessage")).decision is Decision.ALLOWED
    outsider = role_request(f"arn:aws:iam::{OTHER}:role/x", "sqs:ReceiveMessage", QUEUE_ARN)
    outsider_inline = identity("inline:read", {"Effect": "Allow", "Action": "sqs:*", "Resource": QUEUE_ARN})
    assert evaluate_request([outsider_inline, queue_policy], outsider).decision is Decision.DENIED
    # another account: the queue policy must allow too
    grant = queue({"Sid": "Partner", "Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{OTHER}:role/x"},
                   "Action": "sqs:ReceiveMessage", "Resource": QUEUE_ARN})
    assert evaluate_request([outsider_inline], outsider).decision is Decision.ALLOWED  # one kind: judged alone
    assert evaluate_request([outsider_inline, queue(send_allowed())], outsider).decision is Decision.NOT_ALLOWED
    assert verdict(evaluate_request([outsider_inline, grant], outsider)) == \
        (Decision.ALLOWED, ("inline:read:#1", "queue policy:Partner"), ())


# -- EV-3: kms:Decrypt on the queue's key -----------------------------------------------------------------------
def decrypt(role=ROLE_ARN):
    return role_request(role, "kms:Decrypt", KEY_ARN)


IAM_DECRYPT = identity("inline:decrypt", {"Sid": "Decrypt", "Effect": "Allow", "Action": "kms:Decrypt",
                                          "Resource": KEY_ARN})


def test_a_key_policy_naming_the_account_root_delegates_to_iam_it_grants_nobody():
    p = key(ROOT_ADMIN)
    assert verdict(evaluate_key_request(p, [IAM_DECRYPT], decrypt())) == \
        (Decision.ALLOWED, ("key policy:EnableIAM", "inline:decrypt:Decrypt"), ())
    assert evaluate_key_request(p, [], decrypt()).decision is Decision.NOT_ALLOWED
    # evaluated as a plain resource policy, the root principal would read as a grant to every role
    assert evaluate(p, decrypt()).decision is Decision.ALLOWED


def test_a_key_policy_granting_the_role_directly_needs_no_identity_policy():
    p = key({"Sid": "Consumer", "Effect": "Allow", "Principal": {"AWS": ROLE_ARN}, "Action": "kms:Decrypt",
             "Resource": "*"})
    assert verdict(evaluate_key_request(p, [], decrypt())) == (Decision.ALLOWED, ("key policy:Consumer",), ())
    assert evaluate_key_request(p, [], decrypt(f"arn:aws:iam::{ACCOUNT}:role/other")).decision \
        is Decision.NOT_ALLOWED


def test_a_key_policy_without_delegation_ignores_identity_policies():
    p = key({"Sid": "Admins", "Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:role/admin"},
             "Action": "kms:*", "Resource": "*"})
    assert evaluate_key_request(p, [IAM_DECRYPT], decrypt()).decision is Decision.NOT_ALLOWED


def test_key_policy_denies_and_unknown_conditions():
    deny = key(ROOT_ADMIN, {"Sid": "NoDecrypt", "Effect": "Deny", "Principal": "*", "Action": "kms:Decrypt",
                            "Resource": "*", "Condition": {"StringNotLike": {"aws:PrincipalArn": "*admin*"}}})
    assert verdict(evaluate_key_request(deny, [IAM_DECRYPT], decrypt())) == \
        (Decision.DENIED, ("key policy:NoDecrypt",), ())
    via = key({"Sid": "ViaSqs", "Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "kms:Decrypt",
               "Resource": "*", "Condition": {"StringEquals": {"kms:CallerAccount": ACCOUNT,
                                                               "kms:ViaService": "sqs.eu-west-1.amazonaws.com"}}})
    v = evaluate_key_request(via, [], decrypt())
    assert v.decision is Decision.UNKNOWN and v.statements == ("key policy:ViaSqs",)
    assert set(v.unknown_keys) == {"kms:CallerAccount", "kms:ViaService"}
    # the delegation path decides it whatever the open statement says
    assert evaluate_key_request(key(ROOT_ADMIN, *via_statements(via)), [IAM_DECRYPT], decrypt()).decision \
        is Decision.ALLOWED


def via_statements(policy):
    return [st.raw for st in policy.statements]


def test_a_role_of_another_account_needs_the_key_policy_and_its_own_policies():
    role = f"arn:aws:iam::{OTHER}:role/consumer"
    p = key(ROOT_ADMIN, {"Sid": "Partner", "Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{OTHER}:root"},
                         "Action": "kms:Decrypt", "Resource": "*"})
    theirs = identity("inline:decrypt", {"Effect": "Allow", "Action": "kms:Decrypt", "Resource": KEY_ARN})
    assert evaluate_key_request(p, [theirs], decrypt(role)).decision is Decision.ALLOWED
    assert evaluate_key_request(p, [], decrypt(role)).decision is Decision.NOT_ALLOWED
    assert evaluate_key_request(key(ROOT_ADMIN), [theirs], decrypt(role)).decision is Decision.NOT_ALLOWED


# -- a brute-force reference for identity policies -----------------------------------------------------------
ACTIONS = ["sqs:*", "sqs:Receive*", "sqs:ReceiveMessage", "sqs:?eleteMessage", "SQS:GetQueue*", "kms:Decrypt",
           "kms:*", "*", "s3:GetObject"]
RESOURCES = [QUEUE_ARN, f"arn:aws:sqs:*:{ACCOUNT}:orders-*", "arn:aws:sqs:*", "*", KEY_ARN,
             f"arn:aws:sqs:eu-west-1:{ACCOUNT}:payments", "arn:aws:kms:*:*:key/*"]
REQ_ACTIONS = ["sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes", "kms:Decrypt", "sqs:SendMessage"]
REQ_RESOURCES = [QUEUE_ARN, KEY_ARN, f"arn:aws:sqs:eu-west-1:{ACCOUNT}:payments", f"arn:aws:sqs:us-east-1:{OTHER}:x"]
CONDITIONS = [
    ("StringEquals", "aws:PrincipalTag/team", ["orders"]),
    ("StringNotEquals", "aws:PrincipalTag/team", ["orders", "ops"]),
    ("StringEqualsIfExists", "aws:PrincipalTag/team", ["ops"]),
    ("StringLike", "aws:PrincipalTag/team", ["ord*"]),
    ("ArnLike", "aws:PrincipalArn", [f"arn:aws:iam::{ACCOUNT}:role/orders-*"]),
    ("ArnNotLike", "aws:PrincipalArn", ["arn:aws:iam::*:role/admin"]),
    ("StringEquals", "aws:RequestedRegion", ["eu-west-1"]),
    ("Bool", "aws:SecureTransport", ["false"]),
    ("StringEquals", "aws:SourceVpce", ["vpce-1a2b3c4d"]),
]


def _glob(pattern: str, text: str, ci: bool) -> bool:
    import re

    rx = "".join(".*" if ch == "*" else "." if ch == "?" else re.escape(ch) for ch in pattern)
    return re.fullmatch(rx, text, re.IGNORECASE | re.DOTALL if ci else re.DOTALL) is not None


def _ref_clause(op: str, key: str, values: list[str], req) -> bool | None:
    v = req.value(key)
    from auditor.policy import UNKNOWN

    if v is UNKNOWN:
        return None
    if v is ABSENT:
        return op.endswith("IfExists") or "Not" in op
    base = op.removesuffix("IfExists")
    if base == "ArnLike" or base == "ArnNotLike":
        hit = any(all(_glob(p, t, False) for p, t in zip(pat.split(":", 5), v.split(":", 5), strict=True))
                  for pat in values if v.count(":") >= 5)
    elif base in ("StringLike",):
        hit = any(_glob(p, v, False) for p in values)
    elif base == "Bool":
        hit = any(p.lower() == v.lower() for p in values)
    else:
        hit = v in values
    return not hit if "Not" in base else hit


def _ref_statement(st: dict, req) -> bool | None:
    acts = st.get("Action", st.get("NotAction"))
    hit = any(_glob(a, req.action, True) for a in acts)
    if ("NotAction" in st) == hit:
        return False
    res = st.get("Resource", st.get("NotResource"))
    hit = any(_glob(r, req.resource, False) for r in res)
    if ("NotResource" in st) == hit:
        return False
    out: bool | None = True
    for op, block in st.get("Condition", {}).items():
        for key, values in block.items():
            t = _ref_clause(op, key, values, req)
            if t is False:
                return False
            if t is None:
                out = None
    return out


def _reference(docs: list[dict], req) -> Decision:
    truths = [(st["Effect"], _ref_statement(st, req)) for d in docs for st in d["Statement"]]
    if any(e == "Deny" and t is True for e, t in truths):
        return Decision.DENIED
    if any(e == "Deny" and t is None for e, t in truths):
        return Decision.UNKNOWN
    if any(e == "Allow" and t is True for e, t in truths):
        return Decision.ALLOWED
    if any(e == "Allow" and t is None for e, t in truths):
        return Decision.UNKNOWN
    return Decision.NOT_ALLOWED


def _statement():
    from hypothesis import strategies as st

    return st.builds(
        lambda effect, akey, acts, rkey, res, conds: {
            "Effect": effect, akey: acts, rkey: res,
            **({"Condition": {op: {k: v} for op, k, v in conds}} if conds else {})},
        st.sampled_from(["Allow", "Allow", "Deny"]), st.sampled_from(["Action", "Action", "NotAction"]),
        st.lists(st.sampled_from(ACTIONS), min_size=1, max_size=3), st.sampled_from(["Resource", "Resource",
                                                                                     "NotResource"]),
        st.lists(st.sampled_from(RESOURCES), min_size=1, max_size=2),
        st.lists(st.sampled_from(CONDITIONS), max_size=2, unique_by=lambda c: c[0]))


def _request():
    from hypothesis import strategies as st

    role = st.sampled_from([ROLE_ARN, f"arn:aws:iam::{ACCOUNT}:role/admin", f"arn:aws:iam::{OTHER}:role/orders-x"])
    tag = st.sampled_from([None, ABSENT, "orders", "ops", "order-x"])
    vpce = st.sampled_from([None, ABSENT, "vpce-1a2b3c4d", "vpce-0000"])

    def build(role_arn, action, resource, team, endpoint):
        keys = {k: v for k, v in (("aws:PrincipalTag/team", team), ("aws:SourceVpce", endpoint)) if v is not None}
        return role_request(role_arn, action, resource, keys=keys)

    return st.builds(build, role, st.sampled_from(REQ_ACTIONS), st.sampled_from(REQ_RESOURCES), tag, vpce)


def test_evaluate_request_matches_a_brute_force_reference():
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st

    @settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
    @given(st.lists(st.lists(_statement(), min_size=1, max_size=4), min_size=1, max_size=3),
           st.lists(_request(), min_size=1, max_size=6))
    def check(docs, reqs):
        documents = [doc(*sts) for sts in docs]
        policies = [parse(d, kind="identity", name=f"p{i}") for i, d in enumerate(documents)]
        for req in reqs:
            got = evaluate_request(policies, req)
            assert got.decision is _reference(documents, req), (documents, req, got)
            if got.decision is Decision.UNKNOWN:
                assert got.unknown_keys, got  # every open verdict here comes from a key the request cannot know

    check()


def test_the_analysis_partitions_a_queue_policy_over_queue_arns():
    """``analyze`` for an SQS action: resources are queue ARNs, not buckets and objects."""
    from auditor.policy import SERVICE, Principal, Request, analyze

    p = queue(send_allowed({"ArnLike": {"aws:SourceArn": "arn:aws:s3:::uploads-*"}},
                           resource=f"arn:aws:sqs:*:{ACCOUNT}:orders-*"),
              {"Sid": "OnlyOwnAccount", "Effect": "Deny", "Principal": "*", "Action": "sqs:*", "Resource": "*",
               "Condition": {"StringNotEquals": {"aws:SourceAccount": ACCOUNT}}})
    a = analyze(p, action="sqs:SendMessage")
    assert a.complete
    for resource in (QUEUE_ARN, f"arn:aws:sqs:eu-west-1:{ACCOUNT}:payments", f"arn:aws:sqs:eu-west-1:{OTHER}:orders-x"):
        for service in ("s3.amazonaws.com", "sns.amazonaws.com"):
            for source in ("arn:aws:s3:::uploads-prod", "arn:aws:s3:::reports"):
                for account in (ACCOUNT, OTHER):
                    r = Request("sqs:SendMessage", resource, Principal("Service", service), SERVICE,
                                {"aws:SourceArn": source, "aws:SourceAccount": account})
                    rows = a.rows_for(r)
                    assert len(rows) == 1 and rows[0].decision is evaluate(p, r).decision, r
    assert any(r.decision is Decision.ALLOWED for r in a.rows)


def test_documented_queue_key_and_role_policies_parse_cleanly():
    """The documents AWS publishes for these links read without a diagnostic."""
    sqs = {"Version": "2012-10-17", "Id": "example-ID", "Statement": [{
        "Sid": "example-statement-ID", "Effect": "Allow", "Principal": {"Service": "s3.amazonaws.com"},
        "Action": ["SQS:SendMessage"], "Resource": QUEUE_ARN,
        "Condition": {"ArnLike": {"aws:SourceArn": "arn:aws:s3:*:*:uploads-prod"},
                      "StringEquals": {"aws:SourceAccount": ACCOUNT}}}]}
    kms = {"Version": "2012-10-17", "Id": "key-default-1", "Statement": [
        ROOT_ADMIN, {"Sid": "S3", "Effect": "Allow", "Principal": {"Service": "s3.amazonaws.com"},
                     "Action": ["kms:GenerateDataKey", "kms:Decrypt"], "Resource": "*"}]}
    role = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": [
        "sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes", "logs:CreateLogGroup",
        "logs:CreateLogStream", "logs:PutLogEvents"], "Resource": "*"}]}
    for document, kind in ((sqs, "resource"), (kms, "resource"), (role, "identity")):
        p = parse(document, kind=kind)
        assert not p.fatal and not p.diagnostics, p.diagnostics
    assert evaluate_request([parse(sqs)], s3_send()).decision is Decision.ALLOWED
