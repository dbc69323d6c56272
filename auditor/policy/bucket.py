"""What the bucket-policy checks read off a policy's full analysis (BP-2's lock-outs, BP-4's public access),
as plain data.

A verdict is computed from one analysis of every S3 action class × every request context, and holds only
what the checks say: so it is small (the analysis it comes from is not kept, 7 MB for the 1x benchmark's 270
buckets), and it can be computed in another interpreter and sent back (:mod:`auditor.offload`): a 2x scan's
540 analyses took 1.3–1.7 s of the main thread's CPU, during which the worker threads waited for the GIL.
This module imports nothing but the policy engine, so that such an interpreter starts in 50 ms.
"""

from __future__ import annotations

import dataclasses
from collections import Counter
from dataclasses import dataclass
from typing import Any

from .analysis import Analysis, analyze
from .model import Decision, Policy
from .parser import parse

OTHER_ACTION = "any other S3 action"


@dataclass(frozen=True)
class Lockout:
    """Action classes every request context is denied for (BP-2)."""

    actions: tuple[str, ...]  # the known actions of every locked class, class by class
    paths: dict[str, list[str]]  # for the class of s3:GetObject (else the first): where → deciding statements
    rows: tuple[dict[str, Any], ...]  # that class's rows (at most 50): their context and deciding statements


@dataclass(frozen=True)
class PublicAccess:
    """Requests an outsider (anonymous, any other account, any network) is allowed (BP-4)."""

    strong: bool  # some need no requester-chosen value (a Referer, a tag …)
    actions: tuple[str, ...]
    statements: tuple[str, ...]
    who: tuple[str, ...]
    only_weak_conditions: tuple[str, ...] = ()  # when not strong: the values in the way, most needed first


@dataclass(frozen=True)
class BucketVerdict:
    """BP-2's and BP-4's answers for one bucket policy, from one analysis (``complete``/``notes``: the
    analysis's own; an incomplete one answers nothing)."""

    complete: bool
    notes: tuple[str, ...]
    lockout: Lockout | None = None
    public: PublicAccess | None = None
    public_unknown: tuple[str, ...] = ()  # no public request, but these uninterpretable statements may allow one


def judge_document(document: Any, bucket: str | None, owner: str | None) -> BucketVerdict:
    """:func:`judge` of a policy document as read (JSON text or value): what a second interpreter is sent."""
    policy = parse(document, kind="resource")
    return judge(policy, analyze(policy, bucket=bucket, owner=owner), bucket, owner)


def judge(policy: Policy, a: Analysis, bucket: str | None, owner: str | None) -> BucketVerdict:
    if not a.complete:
        return BucketVerdict(False, tuple(a.notes))
    return BucketVerdict(True, tuple(a.notes), _lockout(policy, a, bucket, owner), *_public(a))


# ------------------------------------------------------------------------------------------------------------
# BP-2
# ------------------------------------------------------------------------------------------------------------
def _lockout(policy: Policy, a: Analysis, bucket: str | None, owner: str | None) -> Lockout | None:
    """Action classes that every request context is denied for, not by one deliberate unconditional Deny."""
    action_dim = a.dim("action")
    assert action_dim is not None
    locked = []
    uncond = [st for st in policy.statements if st.effect == "Deny" and not st.clauses and not st.broken]
    for atom in action_dim.atoms:
        rows = [r for r in a.rows if "action" not in r.cells or r.cells["action"].covers(atom.sig)]
        if not rows or any(r.decision is not Decision.DENIED for r in rows):
            continue
        if uncond:
            sub = dataclasses.replace(policy, statements=tuple(uncond))
            alone = analyze(sub, action=atom.value, bucket=bucket, owner=owner)
            if all(r.decision is Decision.DENIED for r in alone.rows):
                continue  # a deliberate "nobody may do this" (e.g. Deny s3:DeleteBucket to *)
        locked.append((atom, rows))
    if not locked:
        return None
    first = next((i for i in locked if any(m.lower() == "s3:getobject" for m in i[0].members)), locked[0])
    dims = a.shown_dims()
    return Lockout(
        actions=tuple(m for atom, _ in locked for m in atom.members),
        paths=_by_path(first[1]),
        rows=tuple({"context": {d.name: a.cell_text(r, d) for d in dims}, "statements": list(r.statements)}
                   for r in first[1][:50]),
    )


def _by_path(rows) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for r in rows:
        path = r.cells["path"].label if "path" in r.cells else "every network path"
        detail = [r.cells[n].label for n in r.cells if n not in ("action", "path", "resource")]
        where = path + (f" ({', '.join(detail)})" if detail else "")
        out.setdefault(where, [])
        for s in r.statements:
            if s not in out[where]:
                out[where].append(s)
    return out


# ------------------------------------------------------------------------------------------------------------
# BP-4
# ------------------------------------------------------------------------------------------------------------
def public_rows(a: Analysis, decision: Decision = Decision.ALLOWED) -> list[Any]:
    """Allowed rows that an outsider (anonymous, or any other account, from any network) can reach."""
    out = []
    for r in a.rows:
        if r.decision is not decision:
            continue
        ok = True
        for name, atom in r.cells.items():
            d = a.dim(name)
            if d is None:
                continue
            if (name == "principal" or d.category == "restricting") and not atom.outsider:
                ok = False
                break
        if ok:
            out.append(r)
    return out


def _needs_weak(a: Analysis, row) -> bool:
    for name, atom in row.cells.items():
        d = a.dim(name)
        if d is not None and d.category == "weak" and not atom.outsider:
            return True
    return False


def _public(a: Analysis) -> tuple[PublicAccess | None, tuple[str, ...]]:
    rows = public_rows(a)
    if not rows:
        unknown = public_rows(a, Decision.UNKNOWN)
        return None, tuple(sorted({s for r in unknown for s in r.statements}))
    strong = [r for r in rows if not _needs_weak(a, r)]
    use = strong or rows
    actions = sorted({m for r in use for m in (r.cells["action"].members if "action" in r.cells else ("s3:*",))},
                     key=str.lower)
    weak: tuple[str, ...] = ()
    if not strong:
        needed = Counter(f"{r.cells[n].label} for {a.dim(n).title}" for r in rows  # type: ignore[union-attr]
                         for n in r.cells if a.dim(n) is not None and a.dim(n).category == "weak"  # type: ignore[union-attr]
                         and not r.cells[n].outsider)
        # the values most of the public rows need first: those are what stands in the way
        weak = tuple(sorted(needed, key=lambda w: (-needed[w], w)))
    return PublicAccess(
        strong=bool(strong),
        actions=tuple(actions),
        statements=tuple(sorted({s for r in use for s in r.statements})),
        who=tuple(sorted({r.cells["principal"].label if "principal" in r.cells else "anyone" for r in use})),
        only_weak_conditions=weak,
    ), ()


__all__ = ["Lockout", "PublicAccess", "BucketVerdict", "judge", "judge_document", "public_rows", "OTHER_ACTION"]
