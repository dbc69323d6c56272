"""Direct evaluation of one concrete request against a policy (the reference the partition is tested by)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .conditions import all3, any3, clause_truth
from .context import Principal, Request
from .model import Decision, Matcher, Policy, PrincipalSpec, Statement


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
    return decide(policy, [statement_truth(st, req, policy.kind) for st in policy.statements])
