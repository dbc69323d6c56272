"""S3 bucket policies (check-rules.md §7): every check is a question put to the policy engine.

The engine (``auditor.policy``) partitions all requests exactly from the constants a policy names and decides
each class, so these checks work the same on live buckets and on policy files given to ``auditor scan-file``.
"""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from auditor.check import Recorder, check
from auditor.inventory import Inventory
from auditor.inventory.core import NotAvailable
from auditor.model import Confidence, Resource, Severity
from auditor.policy import Analysis, Decision, Policy, Principal, analyze, parse
from auditor.policy import bucket as bucket_verdicts
from auditor.policy.bucket import BucketVerdict
from auditor.policy.context import NETWORK_KEYS, can_co_occur
from auditor.policy.evaluate import matcher_truth

from ._common import parsed_policy

MULTI_VALUE_DOC = "https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_multi-value-conditions.html"
CONDITION_KEYS_DOC = "https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-keys.html"
VPCE_DOC = "https://docs.aws.amazon.com/AmazonS3/latest/userguide/example-bucket-policies-vpc-endpoint.html"
PRESIGNED_DOC = "https://docs.aws.amazon.com/AmazonS3/latest/userguide/using-presigned-url.html"
ANALYZER_DOC = "https://docs.aws.amazon.com/IAM/latest/UserGuide/access-analyzer-reference-policy-checks.html"
BPA_DOC = "https://docs.aws.amazon.com/AmazonS3/latest/userguide/access-control-block-public-access.html"
LOCKOUT_DOC = "https://repost.aws/knowledge-center/s3-accidentally-denied-access"

_REQUIRES = ("s3.policies",)
_SEVERITY = {s.value: s for s in Severity}
_NET_DIMS = {"path", *NETWORK_KEYS}


@dataclass
class Subject:
    """One bucket policy to judge: a live bucket's or a file's."""

    resource: Resource
    policy: Policy | None  # None: the bucket has no policy
    bucket: str | None
    owner: str | None
    live_bucket: Any = None  # auditor.inventory.s3.Bucket for live buckets

    @property
    def name(self) -> str:
        return self.bucket or self.resource.id


def _parsed(inv: Inventory, text: Any) -> Policy:
    key = ("policy.parsed", _digest(text))
    return inv.memo.get(key, lambda: parse(text, kind="resource"))


def _digest(value: Any) -> str:
    return hashlib.sha256(repr(value).encode("utf-8", "replace")).hexdigest()


def subjects(inv: Inventory, rec: Recorder) -> Iterator[Subject]:
    """Every bucket policy of the scanned account, then every policy file; unreadable ones are recorded as
    not evaluated here."""
    if inv.aws is not None:
        try:
            listed = inv.s3.policies()
        except NotAvailable as exc:
            scope = Resource("aws", inv.account, "global", "s3-buckets", "s3-buckets")
            rec.not_evaluated(scope, exc.reason, exc.iam_action)
            listed = []
        for bucket, got in listed:
            if isinstance(bucket, str):  # its region could not be read
                res = Resource("aws", inv.account, "", "s3-bucket", bucket, f"arn:aws:s3:::{bucket}")
                assert isinstance(got, NotAvailable)
                rec.not_evaluated(res, got.reason, got.iam_action)
                continue
            if isinstance(got, NotAvailable):
                rec.not_evaluated(bucket.resource, got.reason, got.iam_action)
                continue
            policy = None if got is None else _parsed(inv, got)
            yield Subject(bucket.resource, policy, bucket.name, inv.account, bucket)
    for path, doc in inv.files.policies:
        policy = _parsed(inv, doc)
        names = policy.bucket_names()
        yield Subject(Resource("file", "", "", "bucket-policy", path), policy, names[0] if names else None, None)


def readable_subjects(inv: Inventory, rec: Recorder) -> Iterator[tuple[Subject, Policy]]:
    """Subjects whose policy the engine can read. A bucket without a policy passes; a policy that cannot be
    read is recorded as not evaluated."""
    for subject in subjects(inv, rec):
        policy = subject.policy
        if policy is None:
            rec.ok(subject.resource, f"{subject.name} has no bucket policy")
        elif policy.fatal:
            rec.not_evaluated(subject.resource, f"the bucket policy cannot be read: {policy.fatal}")
        else:
            yield subject, policy


def full_analysis(inv: Inventory, subject: Subject) -> Analysis:
    """Every S3 action class × every request context: what BP-2's and BP-4's verdicts are read off."""
    assert subject.policy is not None
    return analyze(subject.policy, bucket=subject.bucket, owner=subject.owner)


def _verdict_key(subject: Subject) -> tuple:
    assert subject.policy is not None
    return ("policy.verdict", _digest(subject.policy.raw), subject.bucket, subject.owner)


def verdict(inv: Inventory, subject: Subject) -> BucketVerdict:
    """BP-2's and BP-4's answers for ``subject`` (computed once for both)."""
    assert subject.policy is not None
    return inv.memo.get(_verdict_key(subject), lambda: bucket_verdicts.judge(
        subject.policy, full_analysis(inv, subject), subject.bucket, subject.owner))


def judged(inv: Inventory, rec: Recorder, wanted: Callable[[Policy], bool] = lambda _: True
           ) -> Iterator[tuple[Subject, Policy, BucketVerdict | None]]:
    """Every readable subject with its verdict (None for a policy ``wanted`` says the check does not need one).
    The verdicts not computed yet are computed together — on a helper process when there are many
    (:mod:`auditor.offload`: the analyses' CPU then leaves the GIL to the scan's I/O) — and handed out in
    order as they arrive."""
    subs = list(readable_subjects(inv, rec))
    todo = {id(s): s for s, p in subs if wanted(p) and not inv.memo.holds(_verdict_key(s))}
    answers = inv.offload.starmap(bucket_verdicts.judge_document,
                                  [(s.policy.raw, s.bucket, s.owner) for s in todo.values()  # type: ignore[union-attr]
                                   ]) if len(todo) >= inv.offload.min_items else None
    try:
        for s, p in subs:
            if not wanted(p):
                yield s, p, None
            elif answers is not None and id(s) in todo:
                got = next(answers)
                yield s, p, inv.memo.get(_verdict_key(s), lambda got=got: got)
            else:
                yield s, p, verdict(inv, s)
    finally:
        if answers is not None:  # (a check that stopped early: the helper ends now, not when this is collected)
            answers.close()


def undetermined(rec: Recorder, subject: Subject, a: Analysis | BucketVerdict, question: str) -> bool:
    """Record ``subject`` as not evaluated when ``a`` does not cover every request: a verdict read from part
    of the requests could be a lock-out that is not one, or a pass for a public policy."""
    if a.complete:
        return False
    rec.not_evaluated(subject.resource, f"{subject.name}: {question} cannot be determined: the policy is too "
                      f"complex for the engine to cover every request exactly ({'; '.join(a.notes)})")
    return True


def _clause_text(c) -> str:
    vals = ", ".join("?" if v is None else str(v) for v in c.values)
    return f"{c.key} {c.operator} [{vals}]"


# ------------------------------------------------------------------------------------------------------------
# BP-1
# ------------------------------------------------------------------------------------------------------------
@check(
    id="s3-policy/negated-conditions-or",
    rule="BP-1",
    title="A Deny statement's negated conditions on different keys let a request in if it satisfies any one",
    severity=Severity.HIGH,
    security=True,
    severities=(Severity.HIGH, Severity.INFO),
    description=(
        "Conditions in one statement combine with AND, so a Deny with several negated conditions (StringNotEquals, "
        "NotIpAddress, ...) on different keys denies only when every one of them holds. A request that satisfies "
        "a single one of them is not denied by that statement. When the keys can appear in the same request "
        "(e.g. aws:PrincipalOrgID and aws:SourceVpce) that is almost never what the author meant; when they "
        "cannot (aws:SourceIp vs aws:SourceVpc/aws:SourceVpce), 'from these IPs or this VPC' is the only "
        "achievable meaning and the finding is informational."
    ),
    risk=(
        "An outsider who reaches the bucket through the listed VPC endpoint, or an organisation member from any "
        "network, gets past a Deny that was meant to require both."
    ),
    remediation=(
        "To require every condition, write one Deny statement per negated condition (each denies when its own "
        "condition fails). Do not split aws:SourceIp from aws:SourceVpc/aws:SourceVpce: no request carries both, "
        "so split statements deny everything (see BP-2)."
    ),
    cli="aws s3api put-bucket-policy --bucket BUCKET --policy file://policy.json",
    terraform='resource "aws_s3_bucket_policy" "p" {\n  bucket = aws_s3_bucket.b.id\n  policy = data.aws_iam_policy_document.p.json\n}',
    docs=(MULTI_VALUE_DOC, CONDITION_KEYS_DOC, VPCE_DOC),
    requires=_REQUIRES,
)
def negated_conditions_or(inv: Inventory, rec: Recorder) -> None:
    for subject, policy in readable_subjects(inv, rec):
        found = False
        for st in policy.statements:
            if st.effect != "Deny" or st.broken:
                continue
            negated = [c for c in st.clauses if c.negated and not c.error]
            keys = list(dict.fromkeys(c.key_lc for c in negated))
            if len(keys) < 2:
                continue
            found = True
            spelled = {c.key_lc: c.key for c in negated}
            pairs = [(a, b) for i, a in enumerate(keys) for b in keys[i + 1:] if can_co_occur(a, b)]
            conds = [_clause_text(c) for c in negated]
            ev = {"statement": st.label, "negated_conditions": conds, "keys": [spelled[k] for k in keys],
                  "keys_that_can_co_occur": [[spelled[a], spelled[b]] for a, b in pairs]}
            either = " or ".join(f"satisfies {spelled[k]}" for k in keys)
            if pairs:
                a, b = pairs[0]
                rec.fail(
                    subject.resource,
                    f"{subject.name}: Deny statement {st.label} denies only when all of its negated conditions "
                    f"hold ({'; '.join(conds)}), so a request that {either} gets past it. {spelled[a]} and "
                    f"{spelled[b]} can appear in the same request, so this reads as 'either', not 'both': e.g. a "
                    f"request matching only the {spelled[a]} condition is let in from anywhere. Use one Deny "
                    "statement per condition to require all of them.",
                    severity=Severity.HIGH,
                    evidence=ev,
                    key=st.label,
                )
            else:
                rec.fail(
                    subject.resource,
                    f"{subject.name}: Deny statement {st.label} lets a request in when it {either} "
                    f"({'; '.join(conds)}). These keys never appear in the same request (aws:SourceIp is absent "
                    "through a VPC endpoint, aws:SourceVpc/aws:SourceVpce exist only through one), so "
                    "'from the listed addresses or through the listed VPC/endpoint' is the only achievable "
                    "meaning. This is fine; do not split it into several Deny statements, which would deny "
                    "every request.",
                    severity=Severity.INFO,
                    evidence=ev,
                    key=st.label,
                )
        if not found:
            rec.ok(subject.resource, f"{subject.name}: no Deny statement combines negated conditions on "
                   "different keys")


# ------------------------------------------------------------------------------------------------------------
# BP-2
# ------------------------------------------------------------------------------------------------------------
@check(
    id="s3-policy/deny-lockout",
    rule="BP-2",
    title="Deny statements together deny every request for an action (lock-out)",
    severity=Severity.HIGH,
    security=True,
    description=(
        "For some action, the policy's Deny statements between them cover every possible request: every network "
        "path (internet, VPC endpoint, AWS service) and every principal. The classic shape is 'Deny unless from "
        "these IPs' and 'Deny unless from this VPC' as two statements: no request carries both aws:SourceIp and "
        "aws:SourceVpc, so one of the two always denies."
    ),
    risk="Nobody, including the bucket owner's administrators and applications, can perform the action.",
    remediation=(
        "Merge the network conditions into one Deny statement (NotIpAddress aws:SourceIp AND StringNotEquals "
        "aws:SourceVpc/aws:SourceVpce), which denies only requests that come from neither. If you are locked out, "
        "the bucket owner account's root user can still delete the bucket policy."
    ),
    cli="aws s3api delete-bucket-policy --bucket BUCKET   # as the account root user, if everyone else is denied",
    terraform=(
        'data "aws_iam_policy_document" "p" {\n  statement {\n    effect = "Deny"\n    condition {\n'
        '      test = "NotIpAddress"\n      variable = "aws:SourceIp"\n      values = var.office_cidrs\n    }\n'
        '    condition {\n      test = "StringNotEquals"\n      variable = "aws:SourceVpc"\n      values = [var.vpc_id]\n'
        "    }\n  }\n}"
    ),
    docs=(CONDITION_KEYS_DOC, VPCE_DOC, LOCKOUT_DOC),
    requires=_REQUIRES,
)
def deny_lockout(inv: Inventory, rec: Recorder) -> None:
    for subject, _, v in judged(inv, rec):
        assert v is not None
        if undetermined(rec, subject, v, "whether some action is denied to everyone"):
            continue
        locked = v.lockout
        if locked is None:
            rec.ok(subject.resource, f"{subject.name}: every action can be performed by some request")
            continue
        actions = locked.actions
        other = bucket_verdicts.OTHER_ACTION in actions
        shown = sorted((x for x in actions if x != bucket_verdicts.OTHER_ACTION),
                       key=lambda x: (x.lower() != "s3:getobject", x.lower()))
        head = ", ".join(shown[:4]) + (f" and {len(shown) - 4} more" if len(shown) > 4 else "")
        if other:
            head = f"{head}, or any S3 action the policy does not name" if head else "any S3 action"
        how = "; ".join(f"{where}: denied by {', '.join(sts)}" for where, sts in locked.paths.items())
        rec.fail(
            subject.resource,
            f"{subject.name}: nobody can perform {head}: the Deny statements together cover every request — "
            f"{how}.",
            evidence={
                "actions": shown,
                "paths": {w: list(s) for w, s in locked.paths.items()},
                "rows": [dict(r) for r in locked.rows],
            },
            key="lockout",
        )


# ------------------------------------------------------------------------------------------------------------
# BP-3, BP-6
# ------------------------------------------------------------------------------------------------------------
@check(
    id="s3-policy/invalid-values",
    rule="BP-3",
    title="Invalid IP ranges, private ranges in aws:SourceIp, host bits, malformed VPC/endpoint ids",
    severity=Severity.HIGH,
    security=True,
    severities=(Severity.HIGH, Severity.LOW),
    description=(
        "Values that IAM Access Analyzer's policy checks reject or flag: an IP address or CIDR that does not parse "
        "(123.456.789.0/24), a private range in aws:SourceIp (which only ever holds public addresses), a vpc-/vpce- "
        "id of the wrong shape, and (low) a range with host bits set."
    ),
    risk=(
        "A value that can never match silently changes what the statement does: an Allow that relies on it "
        "grants nothing, a Deny with a negated condition on it denies everyone on that path."
    ),
    remediation=(
        "Fix the value: a valid public CIDR for aws:SourceIp, aws:VpcSourceIp or aws:SourceVpc/aws:SourceVpce for "
        "private networks, ids exactly as the VPC console shows them, and CIDRs written at their network address."
    ),
    cli="aws accessanalyzer validate-policy --policy-type RESOURCE_POLICY --policy-document file://policy.json",
    docs=(ANALYZER_DOC, CONDITION_KEYS_DOC),
    requires=_REQUIRES,
)
def invalid_values(inv: Inventory, rec: Recorder) -> None:
    for subject, policy in readable_subjects(inv, rec):
        diags = policy.value_diagnostics
        for d in diags:
            rec.fail(
                subject.resource,
                f"{subject.name}: {d.message}",
                severity=_SEVERITY.get(d.severity, Severity.HIGH),
                evidence=d.as_dict(),
                key=f"{d.statement}|{d.key}|{d.value}|{d.code}",
            )
        if not diags:
            rec.ok(subject.resource, f"{subject.name}: every IP range and VPC id in the policy is valid")


@check(
    id="s3-policy/malformed-document",
    rule="BP-6",
    former_rules=("BP-3",),
    title="Bucket policy document cannot be read as AWS reads it",
    severity=Severity.HIGH,
    security=True,
    severities=(Severity.HIGH, Severity.MEDIUM, Severity.LOW),
    description=(
        "The document is not valid JSON, is not an object with a Statement, uses an unknown condition operator, "
        "misspells an element, lacks a Principal, or has another structural problem AWS would reject or read "
        "differently. The engine reports the affected statements as 'unknown' rather than guessing."
    ),
    risk="A policy that is read differently from how it was written grants or denies access nobody intended.",
    remediation="Fix the document (element names and operators exactly as AWS spells them) and validate it.",
    cli="aws accessanalyzer validate-policy --policy-type RESOURCE_POLICY --policy-document file://policy.json",
    docs=(ANALYZER_DOC, MULTI_VALUE_DOC),
    requires=_REQUIRES,
)
def malformed_document(inv: Inventory, rec: Recorder) -> None:
    for subject in subjects(inv, rec):
        if subject.policy is None:
            rec.ok(subject.resource, f"{subject.name} has no bucket policy")
            continue
        diags = [d for d in subject.policy.document_diagnostics if d.severity != "info"]
        for d in diags:
            rec.fail(
                subject.resource,
                f"{subject.name}: {d.message}",
                severity=_SEVERITY.get(d.severity, Severity.MEDIUM),
                evidence=d.as_dict(),
                key=f"{d.statement}|{d.key}|{d.code}|{d.value}",
            )
        if not diags:
            rec.ok(subject.resource, f"{subject.name}: the policy document is well formed")


# ------------------------------------------------------------------------------------------------------------
# BP-4
# ------------------------------------------------------------------------------------------------------------
def _may_allow(policy: Policy) -> bool:
    return any(st.effect in ("Allow", "") for st in policy.statements)  # "": unreadable, maybe an Allow


@check(
    id="s3-policy/public-access",
    rule="BP-4",
    title="Bucket policy allows access to anyone",
    severity=Severity.HIGH,
    security=True,
    severities=(Severity.HIGH, Severity.MEDIUM, Severity.LOW),
    description=(
        "An Allow to Principal \"*\" (or {\"AWS\": \"*\"}) with no condition that names who or where (source IP "
        "range, VPC, endpoint, organisation, account, principal ARN) lets anonymous users and every AWS account "
        "in. With only a weak condition (Referer, User-Agent, a request header) the finding is medium: those "
        "values are chosen by the requester. A policy without any Allow statement grants nothing and cannot make "
        "a bucket public: it is not reported."
    ),
    risk="Anyone on the internet can read (or write) the objects the statement covers.",
    remediation=(
        "Name the principals (accounts, roles) instead of \"*\", or add a restricting condition such as "
        "aws:PrincipalOrgID, aws:SourceVpce or aws:SourceIp; keep S3 Block Public Access on for buckets that "
        "must never be public."
    ),
    cli="aws s3api put-public-access-block --bucket BUCKET --public-access-block-configuration "
        "BlockPublicAcls=true,IgnorePublicAcls=true,BlockPublicPolicy=true,RestrictPublicBuckets=true",
    terraform=(
        'resource "aws_s3_bucket_public_access_block" "b" {\n  bucket = aws_s3_bucket.b.id\n'
        "  block_public_policy     = true\n  restrict_public_buckets = true\n}"
    ),
    docs=(BPA_DOC, ANALYZER_DOC),
    requires=(*_REQUIRES, "s3.public_access"),
)
def public_access(inv: Inventory, rec: Recorder) -> None:
    for subject, _, v in judged(inv, rec, _may_allow):
        if v is None:
            rec.ok(subject.resource, f"{subject.name}: the policy has no Allow statement, so it grants nothing and "
                   "cannot make the bucket public")
            continue
        if undetermined(rec, subject, v, "whether anyone may access the bucket"):
            continue
        public = v.public
        if public is None:
            if v.public_unknown:
                stmts = list(v.public_unknown)
                rec.fail(
                    subject.resource,
                    f"{subject.name}: whether anyone may access the bucket depends on statement(s) "
                    f"{', '.join(stmts)}, which cannot be interpreted (see BP-6); it may be public.",
                    severity=Severity.MEDIUM,
                    confidence=Confidence.LOW,
                    evidence={"statements": stmts},
                    key="public",
                )
                continue
            rec.ok(subject.resource, f"{subject.name}: no request from an unnamed principal or network is allowed")
            continue
        strong = public.strong
        actions = list(public.actions)
        stmts = list(public.statements)
        who = list(public.who)
        severity = Severity.HIGH if strong else Severity.MEDIUM
        ev: dict[str, Any] = {"actions": actions, "statements": stmts, "who": who}
        if not strong:
            # the values most of the public rows need first: those are what stands in the way
            ev["only_weak_conditions"] = list(public.only_weak_conditions)
        note = ""
        bpa_errors: list[NotAvailable] = []
        if subject.live_bucket is not None:
            restricted = inv.s3.restricts_public(subject.live_bucket)
            ev["restrict_public_buckets"] = restricted
            if restricted:
                severity = Severity.LOW
                note = (" S3 Block Public Access (RestrictPublicBuckets) currently limits it to AWS services and "
                        "principals of the owner account; turning that setting off would expose it.")
            elif restricted is None:
                bpa_errors = inv.s3.block_public_access_errors(subject.live_bucket)
                actions = ", ".join(e.iam_action for e in bpa_errors if e.iam_action)
                note = (f" Whether S3 Block Public Access limits it is unknown: the settings could not be read "
                        f"({actions}).")
        acts = ", ".join(actions[:4]) + (f" and {len(actions) - 4} more" if len(actions) > 4 else "")
        qual = "" if strong else " — only a requester-chosen value (" + ", ".join(ev["only_weak_conditions"][:3]) + \
            ") stands in the way"
        rec.fail(
            subject.resource,
            f"{subject.name}: statement(s) {', '.join(stmts)} allow {acts} to {' / '.join(who)} from any network"
            f"{qual}.{note}",
            severity=severity,
            evidence=ev,
            key="public",
        )
        for exc in bpa_errors:  # the finding's severity depends on them: the scan is incomplete
            rec.not_evaluated(
                subject.resource,
                f"its Block Public Access settings could not be read ({exc.reason}), so whether "
                "RestrictPublicBuckets limits its public policy (severity low instead of "
                f"{'high' if strong else 'medium'}) is unknown",
                exc.iam_action,
                key=f"block-public-access|{exc.iam_action}",
            )


# ------------------------------------------------------------------------------------------------------------
# BP-5
# ------------------------------------------------------------------------------------------------------------
def _signers(inv: Inventory, rec: Recorder) -> dict[str, list[str]]:
    """Role ARN → who runs as it (Lambda functions, ECS tasks); listings that could not be read are recorded
    as not evaluated (a signer there is unknown)."""
    roles = inv.workload_roles()
    for scope, exc in roles.gaps:
        rec.not_evaluated(scope, exc.reason, exc.iam_action)
    return roles.users


def identity_policy(policies: list[tuple[str, Policy]], action: str | None = None) -> Policy:
    """Several identity policies (each named) as one: their statements combine exactly like one policy's.

    With ``action``, only the statements that may apply to it: a statement whose Action (or NotAction) does not
    match it takes part in no request of an analysis of that action. An execution role's other statements (its
    tables, queues, keys…) would only give the analysis resource patterns and condition keys to partition by,
    each role's own. Statements that cannot be interpreted, and Action patterns that cannot, are kept."""
    statements = []
    diags = []
    for name, p in policies:
        diags += list(p.diagnostics)
        for st in p.statements:
            if action is not None and not st.broken and matcher_truth(st.actions, action) is False:
                continue
            statements.append(dataclasses.replace(st, index=len(statements), sid=f"{name}:{st.label}"))
    return Policy(tuple(statements), "identity", "2012-10-17", tuple(diags), "", [(n, p.raw) for n, p in policies])


def network_conditioned(a: Analysis) -> tuple[bool, list[str]]:
    """Whether GetObject is allowed on some network paths only; (conditioned, where it works)."""
    allowed = [r for r in a.rows if r.decision is Decision.ALLOWED]
    if not allowed:
        return False, []
    net_rows = [r for r in a.rows if set(r.cells) & _NET_DIMS]
    if not any(r.decision is not Decision.ALLOWED for r in net_rows):
        return False, []
    where = []
    for r in allowed:
        parts = [r.cells[n].label for n in r.cells if n in _NET_DIMS]
        text = " ".join(parts) if parts else "any network"
        if text not in where:
            where.append(text)
    return True, where


@check(
    id="s3-policy/presigned-url-network",
    rule="BP-5",
    title="Presigned URLs signed by this role only work from the networks its policy names",
    severity=Severity.INFO,
    security=True,
    description=(
        "A presigned URL carries the credentials of the principal that signed it, so the signer's identity "
        "policy is evaluated for every request made with the URL. When the role of a Lambda function or an ECS "
        "task can s3:GetObject only under network conditions (aws:SourceIp, aws:SourceVpc, aws:SourceVpce, "
        "aws:VpcSourceIp), the URLs it hands out work only for users on those networks."
    ),
    risk="URLs handed to customers or partners fail with AccessDenied outside the listed networks.",
    remediation=(
        "Sign URLs with a dedicated role whose s3:GetObject permission has no network condition (restrict it by "
        "bucket/prefix instead), or make sure the URLs are only used from the listed networks."
    ),
    docs=(PRESIGNED_DOC, CONDITION_KEYS_DOC),
    requires=("iam.workload_roles",),
)
def presigned_url_network(inv: Inventory, rec: Recorder) -> None:
    if inv.aws is None:
        return
    for role_arn, users_of in sorted(_signers(inv, rec).items()):
        from auditor.inventory.iam import role_name

        name = role_name(role_arn)
        res = Resource("aws", inv.account, "global", "iam-role", name, role_arn)
        users = ", ".join(sorted(set(users_of))[:5])
        with rec.evaluating(res):
            named = [(name, parsed_policy(inv, p.document, "identity", name))
                     for p in inv.iam.role_policies(role_arn) for name in [p.name.rsplit("/", 1)[-1]]]
            policy = identity_policy(named, action="s3:GetObject")
            a = analyze(policy, action="s3:GetObject", principal=Principal("AWS", role_arn))
            conditioned, where = network_conditioned(a)
            if conditioned:
                stmts = sorted({s for r in a.rows if r.decision is Decision.ALLOWED for s in r.statements})
                rec.fail(
                    res,
                    f"Role {name} (used by {users}) can s3:GetObject only from {'; '.join(where)} "
                    f"({', '.join(stmts)}): presigned URLs it signs carry its credentials, so they work only "
                    "for users on those networks.",
                    evidence={"role": role_arn, "used_by": sorted(set(users_of)), "works_from": where,
                              "statements": stmts},
                    key="presign",
                )
            else:
                rec.ok(res, f"Role {name}: s3:GetObject does not depend on the network")


CHECKS = [negated_conditions_or, deny_lockout, invalid_values, malformed_document, public_access,
          presigned_url_network]
