"""Direct evaluation of one concrete request against a policy (the reference the partition is tested by)."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from .conditions import all3, any3, clause_truth
from .context import Principal, Request
from .model import UNKNOWN, Decision, Matcher, Policy, PrincipalSpec, Statement


def matcher_truth(m: Matcher, value: str) -> bool | None:
    """Action/Resource element on one value (None: only an uninterpretable pattern could have matched)."""
    r = any3(None if p is None else p.matches(value) for p in m.patterns)
    if m.negated:
        return None if r is None else not r
    return r


def principal_truth(spec: PrincipalSpec, p: Principal) -> bool:
    hit = False
    for e in spec.entries:
        if e.kind == "*" or (e.kind == "AWS" and e.value == "*"):
            hit = True
        elif e.kind == "AWS" and p.kind == "AWS":
            hit = (p.account == e.account) if e.account else (p.principal_arn == e.value or p.id == e.value)
        elif e.kind == p.kind:
            hit = p.id == e.value
        if hit:
            break
    return not hit if spec.negated else hit


def principal_test(spec: PrincipalSpec) -> Callable[[Principal], bool]:
    """:func:`principal_truth` for one spec, made ready to test many principals (the same rules, as sets)."""
    everyone = any(e.kind == "*" or (e.kind == "AWS" and e.value == "*") for e in spec.entries)
    accounts = {e.account for e in spec.entries if e.kind == "AWS" and e.account}
    arns = {e.value for e in spec.entries if e.kind == "AWS" and not e.account}
    ids: dict[str, set[str]] = {}
    for e in spec.entries:
        if e.kind not in ("*", "AWS"):
            ids.setdefault(e.kind, set()).add(e.value)
    negated = spec.negated

    def test(p: Principal) -> bool:
        if everyone:
            hit = True
        elif p.kind == "AWS":
            hit = p.account in accounts or p.principal_arn in arns or p.id in arns
        else:
            hit = p.id in ids.get(p.kind, ())
        return not hit if negated else hit

    return test


def statement_truth(st: Statement, req: Request, kind: str = "resource") -> bool | None:
    parts: list[bool | None] = []
    if st.broken:
        parts.append(None)
    if st.actions.present:
        parts.append(matcher_truth(st.actions, req.action))
    if st.resources.present:
        parts.append(matcher_truth(st.resources, req.resource))
    if kind == "resource" and st.principal is not None:
        parts.append(principal_truth(st.principal, req.principal))
    for c in st.clauses:
        parts.append(clause_truth(c, req.value(c.key_lc)))
    return all3(parts)


@dataclass(frozen=True)
class Verdict:
    decision: Decision
    statements: tuple[str, ...]  # the statements that decided it
    #: For an "unknown" decision: the condition keys (as the policy spells them) whose value the request does
    #: not know (:data:`~auditor.policy.model.UNKNOWN`) in the statements that left it open.
    unknown_keys: tuple[str, ...] = ()


def decide(policy: Policy, truths: list[Any]) -> Verdict:
    """Combine per-statement truths: explicit Deny wins, then Allow, else "not allowed"."""
    sts = policy.statements
    denies = [st.label for st, t in zip(sts, truths, strict=True) if st.effect == "Deny" and t is True]
    if denies:
        return Verdict(Decision.DENIED, tuple(denies))
    unknown = [st.label for st, t in zip(sts, truths, strict=True)
               if (st.effect == "Deny" and t is None) or (not st.effect and t is not False)]
    if unknown:
        return Verdict(Decision.UNKNOWN, tuple(unknown))
    allows = [st.label for st, t in zip(sts, truths, strict=True) if st.effect == "Allow" and t is True]
    if allows:
        return Verdict(Decision.ALLOWED, tuple(allows))
    unknown = [st.label for st, t in zip(sts, truths, strict=True) if st.effect == "Allow" and t is None]
    if unknown:
        return Verdict(Decision.UNKNOWN, tuple(unknown))
    return Verdict(Decision.NOT_ALLOWED, ())


def evaluate(policy: Policy, req: Request) -> Verdict:
    """What ``policy`` says about ``req``."""
    truths = [statement_truth(st, req, policy.kind) for st in policy.statements]
    return _naming_unknown_keys(decide(policy, truths), policy.statements, truths, req)


def _naming_unknown_keys(v: Verdict, sts: Sequence[Statement], truths: Sequence[Any], req: Request) -> Verdict:
    if v.decision is not Decision.UNKNOWN or req.complete:
        return v
    keys: dict[str, None] = {}
    for st, t in zip(sts, truths, strict=True):
        if t is None and st.label in v.statements:
            for c in st.clauses:
                if not c.error and req.value(c.key_lc) is UNKNOWN:
                    keys.setdefault(c.key)
    return Verdict(v.decision, v.statements, tuple(keys))


# ------------------------------------------------------------------------------------------------------------
# Several policies (identity policies of a role, a queue or key policy): check-rules.md §8
# ------------------------------------------------------------------------------------------------------------
def _named(policies: Sequence[Policy]) -> list[tuple[Policy, list[Statement]]]:
    """Each policy with its statements, labelled ``<policy name>:<Sid or #n>`` when there are several (a
    policy that cannot be read is one statement of no known effect: it may allow or deny anything)."""
    out = []
    for i, p in enumerate(policies):
        name = p.name or (f"policy {i + 1}" if len(policies) > 1 else "")
        got = _named_cache.get((id(p), name))
        if got is None or got[0] is not p:
            got = (p, _named_statements(p, name))
            if len(_named_cache) >= 4096:
                _named_cache.clear()
            _named_cache[(id(p), name)] = got
        out.append((p, got[1]))
    return out


#: :func:`_named`'s statements by (policy, name): a role's policies are judged for every request it makes of a
#: queue, key or bucket (2,880 requests at 1x in EV-3), and renaming their statements each time was a third of
#: that (0.16-0.20 s of CPU, 0.11-0.13 s without). Keyed by identity (a policy is immutable); the entry keeps
#: the policy alive, so its id cannot be reused while it is there.
_named_cache: dict[tuple[int, str], tuple[Policy, list[Statement]]] = {}


def _named_statements(p: Policy, name: str) -> list[Statement]:
    if p.fatal:
        label = f"{name or 'the policy'} (cannot be read)"
        none = Matcher((), present=False)
        return [Statement(0, label, "", none, none, None, (), p.fatal)]
    return [dataclasses.replace(st, sid=f"{name}:{st.label}") if name else st for st in p.statements]


def _account(arn: str) -> str:
    parts = arn.split(":", 5)
    return parts[4] if len(parts) == 6 and parts[0] == "arn" else ""


def _other_account(req: Request) -> bool:
    """An IAM principal of one account acting on a resource whose ARN names another."""
    mine, theirs = req.principal.account, _account(req.resource)
    return bool(req.principal.kind == "AWS" and mine and theirs and mine != theirs)


def _verdict(denies: list[tuple[Statement, Any]], allowed: Any, allow_sts: list[str], open_sts: list[str],
             everything: list[tuple[Statement, Any]], req: Request) -> Verdict:
    """Deny statements first (one that matches decides, one that may match leaves it unknown), then whether the
    request is allowed (three-valued) with the statements that allow it or leave it open."""
    deny_sts = [st for st, _ in denies]
    first = decide(Policy(tuple(deny_sts)), [t for _, t in denies])
    sts = [st for st, _ in everything]
    truths = [t for _, t in everything]
    if first.decision is not Decision.NOT_ALLOWED:  # denied, or a Deny (or a statement of no effect) may match
        return _naming_unknown_keys(first, sts, truths, req)
    if allowed is True:
        return Verdict(Decision.ALLOWED, tuple(allow_sts))
    if allowed is None:
        return _naming_unknown_keys(Verdict(Decision.UNKNOWN, tuple(open_sts)), sts, truths, req)
    return Verdict(Decision.NOT_ALLOWED, ())


def evaluate_request(policies: Sequence[Policy], req: Request) -> Verdict:
    """What several policies together say about ``req``: identity policies (``kind="identity"``) of the
    principal and resource policies (a queue policy …), each statement judged exactly as :func:`evaluate`
    judges it.

    An explicit Deny in any policy decides (and a Deny that may match leaves the verdict unknown). Then, within
    one account, an Allow in any policy allows; when an IAM principal of one account acts on a resource whose ARN
    names another, an identity policy and a resource policy must both allow (given only one kind, that kind
    alone is judged). Nothing that allows: "not allowed". Statements are named ``<policy name>:<Sid>`` when
    there are several policies."""
    judged = [(p.kind, st, statement_truth(st, req, p.kind)) for p, sts in _named(policies) for st in sts]
    everything = [(st, t) for _, st, t in judged]
    denies = [(st, t) for _, st, t in judged if st.effect != "Allow"]
    allows = [(k, st, t) for k, st, t in judged if st.effect == "Allow"]
    if _other_account(req) and {p.kind for p in policies} == {"identity", "resource"}:
        allowed = all3(any3(t for k, _, t in allows if k == kind) for kind in ("identity", "resource"))
    else:
        allowed = any3(t for _, _, t in allows)
    allow_sts = [st.label for _, st, t in allows if t is True]
    open_sts = [st.label for _, st, t in allows if t is None]
    return _verdict(denies, allowed, allow_sts, open_sts, everything, req)


def _without_accounts(st: Statement) -> Statement:
    """``st`` with its Principal naming no whole account (``"111122223333"``, ``…:root``)."""
    spec = st.principal
    if spec is None or spec.negated:
        return st
    entries = tuple(e for e in spec.entries if not (e.kind == "AWS" and e.account))
    return dataclasses.replace(st, principal=PrincipalSpec(entries, spec.negated))


def evaluate_key_request(key_policy: Policy, identity: Sequence[Policy], req: Request) -> Verdict:
    """Whether the IAM principal of ``req`` may use a KMS key (``req.resource`` its ARN) under AWS KMS's rules:
    the key policy is always evaluated, and a statement that allows the key's account (``"Principal": {"AWS":
    "arn:aws:iam::<account>:root"}``) does not grant anyone by itself — it lets the account's identity policies
    grant. So the key policy must allow the principal directly (its ARN, or ``"*"`` with conditions), or
    allow the account and an identity policy allow too. A principal of another account needs both the key
    policy (naming it or its account) and its identity policies. A Deny in any of them decides."""
    named = _named([key_policy, *identity])
    everything = [(st, statement_truth(st, req, p.kind)) for p, sts in named for st in sts]
    key_sts = named[0][1]
    key_allows = [(st, t) for st, t in everything[:len(key_sts)] if st.effect == "Allow"]
    direct = [(st, statement_truth(_without_accounts(st), req, "resource")) for st, _ in key_allows]
    id_allows = [(st, t) for st, t in everything[len(key_sts):] if st.effect == "Allow"]
    denies = [(st, t) for st, t in everything if st.effect != "Allow"]
    k_direct, k_any, ident = (any3(t for _, t in xs) for xs in (direct, key_allows, id_allows))
    delegated = all3((k_any, ident))
    allowed = delegated if _other_account(req) else any3((k_direct, delegated))
    if allowed is True and k_direct is True and not _other_account(req):
        allow_sts = [st.label for st, t in direct if t is True]
    else:
        allow_sts = [st.label for st, t in key_allows + id_allows if t is True]
    open_sts = [st.label for st, t in (direct if k_direct is None else []) + key_allows + id_allows if t is None]
    return _verdict(denies, allowed, allow_sts, list(dict.fromkeys(open_sts)), everything, req)
