"""Who gets in: the verdict of a policy over *every* request, from an exact partition of the request space.

Each dimension of a request (action, network path, source IP, VPC, endpoint, principal, each other condition
key, object) is cut into classes from the constants the policy names: every listed CIDR (as address
intervals), VPC, endpoint and principal, plus "any other value", plus "absent" where AWS may leave the key
out. Two values in one class are indistinguishable to every statement, so evaluating one representative per
class decides the whole class. A depth-first search branches on a dimension only while some statement still
depends on it, which keeps the table small and makes each row read as "whatever the other dimensions are".
"""

from __future__ import annotations

import dataclasses
import ipaddress
import itertools
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

from . import actions as act
from . import net
from .conditions import clause_truth, element_test, kind, to_date, to_number
from .context import (
    ALWAYS_KEYS,
    ANONYMOUS,
    DERIVED_KEYS,
    FREE_KEYS,
    INTERNET,
    MODELLED_KEYS,
    MULTI_KEYS,
    NETWORK_PRESENCE,
    PATH_LABELS,
    PATHS,
    RESTRICTING_KEYS,
    SERVICE,
    SERVICE_ONLY_KEYS,
    Principal,
    Request,
    derived,
    is_aws_only,
)
from .evaluate import matcher_truth, principal_test
from .glob import (
    ARN_EXCL,
    SLASH_EXCL,
    Pattern,
    compile_glob,
    concat,
    literal,
    star,
    witnesses,
    words_nfa,
)
from .model import ABSENT, Clause, Decision, Policy, Statement

MAX_ROWS = 20000
OTHER_ACTION = "s3:AnyOtherAction"
MAX_SET_ELEMENTS = 6
KEY_TITLES = {
    "aws:sourceip": "source IP",
    "aws:vpcsourceip": "VPC source IP",
    "aws:sourcevpc": "VPC",
    "aws:sourcevpce": "VPC endpoint",
    "aws:principalorgid": "organization",
    "aws:securetransport": "TLS",
}
FRESH = {
    "aws:sourcevpc": ("vpc-0000000000000000f", "other VPC"),
    "aws:sourcevpce": ("vpce-0000000000000000f", "other VPC endpoint"),
    "aws:principalorgid": ("o-otherorg00", "other organization"),
    "aws:sourceaccount": ("000000000000", "other account"),
}


class _Pending:
    """A statement still waiting for dimension ``dim``; ``unknown`` when a settled part of it is unknown."""

    __slots__ = ("dim", "unknown")

    def __init__(self, dim: int, unknown: bool = False) -> None:
        self.dim = dim
        self.unknown = unknown


@dataclass
class Atom:
    """One class of a dimension: a representative value and everything it fixes in the request."""

    label: str
    value: Any
    sig: Any
    assign: dict[str, Any]
    outsider: bool = False  # a value anyone could have (not named by the policy)
    members: tuple[str, ...] = ()  # action atoms: the known actions in the class
    sigs: frozenset | None = None  # a merged cell: every class it stands for

    def covers(self, sig: Any) -> bool:
        return sig in self.sigs if self.sigs is not None else sig == self.sig

    @property
    def key(self) -> Any:
        return ("m", self.sigs) if self.sigs is not None else ("a", self.sig)

    def example(self) -> str:
        v = self.value
        if v is ABSENT:
            return "(absent)"
        if isinstance(v, Principal):
            return v.id or v.kind.lower()
        if isinstance(v, tuple):
            return "{" + ", ".join(v) + "}"
        return str(v)


@dataclass
class Dim:
    name: str  # "action" | "path" | "resource" | "principal" | a condition key (lower case)
    title: str
    order: int
    sig_of: Callable[[Any], Any]
    value_of: Callable[[Request], Any]
    atoms: list[Atom] = field(default_factory=list)
    by_level: dict[str, list[Atom]] | None = None  # resource: atoms per action level
    category: str = ""  # restricting | free | weak | ""

    def atoms_for(self, assign: dict[str, Any]) -> list[Atom]:
        if self.by_level is not None:
            return self.by_level[assign.get("@level", "any")]
        return self.atoms

    def all_atoms(self) -> list[Atom]:
        return [x for lv in self.by_level.values() for x in lv] if self.by_level is not None else self.atoms


@dataclass
class Row:
    cells: dict[str, Atom]  # dimension name → the class this row is about (others: any value)
    assign: dict[str, Any]
    decision: Decision
    statements: tuple[str, ...]
    absent: frozenset[str] = frozenset()  # keys no request of this row carries


class _Table:
    """A pending statement's status by class, at branches that leave it with the same parts ``open`` (not
    settled yet) and the settled ones true (``settled`` True) or some unknown (None); ``by_branch``: the
    statuses for a branch's list of classes, in order."""

    __slots__ = ("open", "settled", "by_class", "by_branch")

    def __init__(self, open_parts: list[Callable[[dict[str, Any]], Any]], settled: bool | None) -> None:
        self.open = open_parts
        self.settled = settled
        self.by_class: dict[int, Any] = {}
        self.by_branch: dict[Any, list[Any]] = {}


def _unchained(cells: Any) -> dict[str, Atom]:
    """A row's cells, outermost first, from the chain ``(name, atom, cells below)`` the search builds them in."""
    out: dict[str, Atom] = {}
    while cells is not None:
        name, atom, cells = cells
        out[name] = atom
    return out


class _Part:
    """A row while the search builds it: its cells a chain ``(dimension name, class, the cells below)``, so that
    a level adds its cell without copying the others. ``shape`` is what tells rows apart when sub-tables are
    compared — each cell's class, the decision and the deciding statements — as a number (see ``analyze``), so
    that comparing sub-tables does not walk every cell of every row again at every level."""

    __slots__ = ("cells", "assign", "decision", "statements", "absent", "shape")

    def __init__(self, cells: tuple[str, Atom, Any] | None, assign: dict[str, Any], decision: Decision,
                 statements: tuple[str, ...], absent: frozenset[str], shape: int) -> None:
        self.cells = cells
        self.assign = assign
        self.decision = decision
        self.statements = statements
        self.absent = absent
        self.shape = shape

    def but_absent(self, absent: frozenset[str]) -> _Part:
        return _Part(self.cells, self.assign, self.decision, self.statements, absent, self.shape)


@dataclass
class Analysis:
    policy: Policy
    dims: list[Dim]
    rows: list[Row]
    action: str | None = None
    bucket: str | None = None
    not_modelled: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    complete: bool = True

    def dim(self, name: str) -> Dim | None:
        return next((d for d in self.dims if d.name == name), None)

    def rows_for(self, req: Request) -> list[Row]:
        """The rows whose classes contain ``req`` (exactly one when the partition is exact)."""
        out = []
        cache: dict[str, Any] = {}
        for row in self.rows:
            ok = True
            for name, atom in row.cells.items():
                if name not in cache:
                    d = self.dim(name)
                    assert d is not None
                    cache[name] = d.sig_of(d.value_of(req))
                if not atom.covers(cache[name]):
                    ok = False
                    break
            if ok:
                out.append(row)
        return out

    def decisions(self) -> set[Decision]:
        return {r.decision for r in self.rows}

    def cell_text(self, row: Row, dim: Dim) -> str:
        atom = row.cells.get(dim.name)
        if atom is not None:
            return atom.label
        if dim.name in row.absent:
            return "—"
        return "any"

    def shown_dims(self) -> list[Dim]:
        used = {n for r in self.rows for n in r.cells}
        return [d for d in self.dims if d.name in used]

    def to_json(self) -> dict[str, Any]:
        dims = self.shown_dims()
        return {
            "action": self.action,
            "bucket": self.bucket,
            "complete": self.complete,
            "dimensions": [{"name": d.name, "title": d.title} for d in dims],
            "rows": [
                {
                    "context": {d.name: self.cell_text(r, d) for d in dims},
                    "examples": {n: a.example() for n, a in r.cells.items()},
                    "decision": str(r.decision),
                    "statements": list(r.statements),
                }
                for r in self.rows
            ],
            "not_modelled": self.not_modelled,
            "notes": self.notes,
            "diagnostics": [d.as_dict() for d in self.policy.diagnostics],
        }


# ------------------------------------------------------------------------------------------------------------
# Building the dimensions
# ------------------------------------------------------------------------------------------------------------
def _dedupe(cands: Iterable[tuple[Any, str, bool]], sig_of: Callable[[Any], Any]) -> dict[Any, list]:
    """Group candidate (value, label, outsider) by signature, first one first."""
    groups: dict[Any, list] = {}
    for value, label, outsider in cands:
        groups.setdefault(sig_of(value), []).append((value, label, outsider))
    return groups


_ACTION_SIGS_MAX = 4096


@lru_cache(maxsize=256)
def _action_sigs(pats: tuple[Pattern, ...]) -> dict[str, Any]:
    """Action → its signature against these patterns, shared by every policy with the same Action lists: the
    ~150 known S3 actions are matched against each policy's patterns, and the buckets of one account are
    mostly written from a few templates."""
    return {}


def _unique(xs: Iterable[Any]) -> list[Any]:
    return list(dict.fromkeys(x for x in xs if x is not None))


class _Builder:
    def __init__(self, policy: Policy, *, action: str | None, bucket: str | None, owner: str | None,
                 principal: Principal | None, originals: dict[str, str]) -> None:
        self.policy = policy
        self.originals = originals  # renamed condition key → the key requests carry
        self.action = action
        self.bucket = bucket
        self.owner = owner
        self.fixed_principal = principal
        self.used = dict.fromkeys(policy.keys())  # in order of appearance, so that output is stable
        self.clauses_by_key: dict[str, list[Clause]] = {}
        self.key_spelling: dict[str, str] = {}
        for st in policy.statements:
            for c in st.clauses:
                self.key_spelling.setdefault(c.key_lc, c.key)
                if not c.error:
                    self.clauses_by_key.setdefault(c.key_lc, []).append(c)
        self.notes: list[str] = []
        self.complete = True

    # -- action --------------------------------------------------------------------------------------------
    def action_dim(self, order: int) -> Dim:
        pats = _unique(p for st in self.policy.statements for p in st.actions.patterns)
        sigs = _action_sigs(tuple(pats))

        def sig_of(a: str) -> Any:
            try:
                return sigs[a]
            except KeyError:
                if len(sigs) >= _ACTION_SIGS_MAX:
                    sigs.clear()
                sig = sigs[a] = (tuple(p.matches(a) for p in pats), act.level(a))
                return sig

        if self.action is not None:
            a = self.action
            atoms = [Atom(a, a, sig_of(a), {"@action": a, "@level": act.level(a)}, True, (a,))]
            return Dim("action", "action", order, sig_of, lambda r: r.action, atoms)
        cands = [*act.KNOWN_ACTIONS, OTHER_ACTION]  # OTHER_ACTION stands for actions the engine does not list
        for st in self.policy.statements:
            for raw in st.actions.raw:
                if raw.lower().startswith("s3:") and "*" not in raw and "?" not in raw:
                    cands.append(raw)
        realistic = set(cands)
        if any(p.has_wildcard for p in pats):
            s3 = compile_glob("s3:*", ci=True)
            found, complete = witnesses([*pats, s3])
            self._complete(complete, "actions")
            cands += [w for sig, w in sorted(found.items(), key=lambda kv: (len(kv[1]), kv[1])) if sig[-1]]
        groups = _dedupe(((a, a, True) for a in _unique(cands)), sig_of)
        atoms = []
        for sig, members in groups.items():
            first: dict[str, str] = {}
            for m in members:
                first.setdefault(m[0].lower(), m[0])
            names = list(first.values())
            real = [n for n in names if n in realistic]
            rep = real[0] if real else names[0]
            known = tuple(n for n in real if n != OTHER_ACTION)
            if known:
                label = known[0] if len(known) == 1 else f"{known[0]} (+{len(known) - 1} more)"
            elif rep == OTHER_ACTION:
                label, known = "any other S3 action", ("any other S3 action",)
            else:
                label, known = f"other S3 actions like {rep}", (f"other S3 actions like {rep}",)
            atoms.append(Atom(label, rep, sig, {"@action": rep, "@level": sig[1]}, True, known))
        return Dim("action", "action", order, sig_of, lambda r: r.action, atoms)

    # -- resource ------------------------------------------------------------------------------------------
    def resource_dim(self, order: int) -> Dim:
        pats = _unique(p for st in self.policy.statements for p in st.resources.patterns)
        raws: dict[Pattern, str] = {}
        for st in self.policy.statements:
            for p, raw in zip(st.resources.patterns, st.resources.raw, strict=False):
                if p is not None:
                    raws.setdefault(p, raw)

        def sig_of(r: str) -> Any:
            return tuple(p.matches(r) for p in pats)

        if self.bucket:
            obj = concat(f"arn:aws:s3:::{self.bucket}/", star())
            bkt = literal(f"arn:aws:s3:::{self.bucket}")
            base = [f"arn:aws:s3:::{self.bucket}", f"arn:aws:s3:::{self.bucket}/example-object"]
        else:
            obj = concat("arn:aws:s3:::", star(SLASH_EXCL), "/", star())
            bkt = concat("arn:aws:s3:::", star(SLASH_EXCL))
            base = ["arn:aws:s3:::example-bucket", "arn:aws:s3:::example-bucket/example-object"]
        cands = base + [i for p in pats for i in p.instantiations()]
        if any(p.has_wildcard for p in pats):
            found, complete = witnesses([*pats, obj, bkt])
            self._complete(complete, "resources")
            cands += [w for _, w in sorted(found.items(), key=lambda kv: (len(kv[1]), kv[1]))]
        levels = ["object", "bucket", "any"]
        if self.action is not None and act.level(self.action) == "service":  # a queue, a key …: any ARN
            levels.append("service")
            cands.append("arn:aws:service:region:000000000000:any-other-resource")
        cands = _unique(cands)
        sigs = {c: sig_of(c) for c in cands}
        is_object = {c: obj.matches(c) for c in cands}
        is_bucket = {c: bkt.matches(c) for c in cands}
        by_level = {}
        for level in levels:
            ok = [c for c in cands if level == "service"
                  or (level != "bucket" and is_object[c]) or (level != "object" and is_bucket[c])]
            groups = _dedupe(((c, c, True) for c in ok), sigs.__getitem__)
            atoms = []
            for sig, members in groups.items():
                rep = members[0][0]
                matched = [_short_arn(raws[p], self.bucket) for p, hit in zip(pats, sig, strict=True) if hit]
                if not pats:
                    label = "any"
                elif matched:
                    label = max(matched, key=len)  # the most specific Resource that covers it
                else:
                    label = "not in any Resource"
                if level == "any":
                    label += " (bucket)" if is_bucket[rep] else " (object)"
                atoms.append(Atom(label, rep, sig, {"@resource": rep}, True))
            by_level[level] = atoms
        return Dim("resource", "resource", order, sig_of, lambda r: r.resource, by_level=by_level)

    # -- path ----------------------------------------------------------------------------------------------
    def path_dim(self, order: int) -> Dim:
        atoms = []
        for p in PATHS:
            assign: dict[str, Any] = {"@path": p, "@service": p == SERVICE}
            for k in self.used:
                if k in NETWORK_PRESENCE and p not in NETWORK_PRESENCE[k]:
                    assign[k] = ABSENT
                elif k == "aws:principalisawsservice":
                    assign[k] = "true" if p == SERVICE else "false"
                elif p == SERVICE and (is_aws_only(k) or k in ("aws:principalarn", "aws:principalaccount",
                                                                "aws:principaltype")) or p != SERVICE and (k in SERVICE_ONLY_KEYS or k == "aws:principalservicename"):
                    assign[k] = ABSENT
            atoms.append(Atom(PATH_LABELS[p], p, p, assign, True))
        return Dim("path", "network", order, lambda v: v, lambda r: r.path, atoms)

    # -- principal -----------------------------------------------------------------------------------------
    def principal_dim(self, order: int) -> Dim:
        specs = [st.principal for st in self.policy.statements if st.principal is not None]
        tests = [principal_test(s) for s in specs]
        dclauses = [c for k in DERIVED_KEYS for c in self.clauses_by_key.get(k, [])]
        used = frozenset(self.used)

        def sig_of(p: Principal) -> Any:
            d = derived(p)
            return (p.kind, tuple([test(p) for test in tests]),
                    tuple([clause_truth(c, d[c.key_lc]) for c in dclauses]))

        def assign_of(p: Principal) -> dict[str, Any]:
            a: dict[str, Any] = {"@principal": p, "@service": p.kind == "Service"}
            a.update(derived(p, used))
            for k in self.used:
                if (is_aws_only(k) and p.kind != "AWS") or (k in SERVICE_ONLY_KEYS and p.kind != "Service"):
                    a[k] = ABSENT
            return a

        if self.fixed_principal is not None:
            p = self.fixed_principal
            atoms = [Atom(p.id or p.kind, p, sig_of(p), assign_of(p), False)]
            return Dim("principal", "principal", order, sig_of, lambda r: r.principal, atoms)

        accounts: list[str] = []
        arns: list[str] = []
        services: list[str] = []
        others: list[Principal] = []
        for s in specs:
            for e in s.entries:
                if e.kind == "AWS" and e.account:
                    accounts.append(e.account)
                elif e.kind == "AWS" and e.value != "*":
                    arns.append(e.value)
                elif e.kind == "Service":
                    services.append(e.value)
                elif e.kind in ("CanonicalUser", "Federated"):
                    others.append(Principal(e.kind, e.value))
        arn_patterns: list[Pattern] = []
        for c in self.clauses_by_key.get("aws:principalarn", []):
            for v, p in zip(c.values, c.patterns, strict=False):
                if v is not None and p is not None:
                    arn_patterns.append(p)
                    if not p.has_wildcard:
                        arns.append(v)
                    else:
                        arns += [i for i in p.instantiations() if i.count(":") >= 5]
        for c in self.clauses_by_key.get("aws:principalaccount", []):
            for v, p in zip(c.values, c.patterns, strict=False):
                if v is not None and p is not None:
                    arn_patterns.append(_account_pattern(p))
                    accounts += [i for i in p.instantiations() if i] if p.has_wildcard else [v]
        for a in arns:
            parts = a.split(":")
            if len(parts) >= 6 and parts[4]:
                accounts.append(parts[4])
        if self.owner:
            accounts.append(self.owner)
        accounts = _unique(accounts)
        fresh_acct = next(f"{n:012d}" for n in itertools.count(999999999999, -111111111111) if f"{n:012d}" not in
                          accounts)
        fresh = Principal("AWS", f"arn:aws:iam::{fresh_acct}:role/any-role")
        cands: list[tuple[Principal, str, bool]] = []
        for a in _unique(arns):
            cands.append((Principal("AWS", a), a, False))
        for a in accounts:
            who = "the bucket owner's account" if a == self.owner else f"account {a}"
            cands.append((Principal("AWS", f"arn:aws:iam::{a}:role/any-role"), f"a principal of {who}", False))
            if "aws:principaltype" in self.used or arn_patterns:
                cands.append((Principal("AWS", f"arn:aws:iam::{a}:root"), f"root of {who}", False))
                cands.append((Principal("AWS", f"arn:aws:iam::{a}:user/any-user"), f"an IAM user of {who}", False))
        cands.append((fresh, "a principal of any other account", True))
        if any(p.has_wildcard for p in arn_patterns):
            shape = IAM_SHAPE
            # Any literal ARN is its own witness, so one "is one of them" test suffices for those; accounts
            # behave differently one from another and need a test each.
            lit_tests = [words_nfa(tuple(_unique(arns))), *(_account_pattern(literal(a)) for a in accounts)]
            found, complete = witnesses([*_unique(arn_patterns), *lit_tests, shape])
            self._complete(complete, "principal ARNs")
            for sig, w in sorted(found.items(), key=lambda kv: (len(kv[1]), kv[1])):
                if sig[-1]:
                    cands.append((Principal("AWS", w), f"principal {w}", False))
        cands.append((ANONYMOUS, "anonymous (unsigned request)", True))
        svc_patterns = [p for c in self.clauses_by_key.get("aws:principalservicename", []) for p in c.patterns if p]
        services += [i for p in svc_patterns for i in p.instantiations()]
        for s in _unique(services):
            cands.append((Principal("Service", s), f"service {s}", False))
        cands.append((Principal("Service", "any-other.amazonaws.com"), "any other AWS service", False))
        if any(p.has_wildcard for p in svc_patterns):
            found, complete = witnesses(svc_patterns)
            self._complete(complete, "service principals")
            cands += [(Principal("Service", w), f"service {w}", False) for w in found.values()]
        kinds = {p.kind for p in others}
        for p in _unique(others):
            cands.append((p, f"{p.kind} {p.id}", False))
        for k in sorted(kinds):
            cands.append((Principal(k, "any-other"), f"any other {k}", False))

        groups = _dedupe(cands, sig_of)
        aws_classes = [g for g in groups.values() if g[0][0].kind == "AWS"]
        atoms = []
        for sig, members in groups.items():
            p, label, outsider = members[0]
            outsider = any(m[2] for m in members)
            if p.kind == "AWS" and len(aws_classes) == 1:
                label = "any IAM principal (signed request)"
            elif p.kind == "AWS" and any(m[0] == fresh for m in members):
                p, label = fresh, "a principal of any other account"
            elif p.kind == "Service" and any(m[0].id == "any-other.amazonaws.com" for m in members):
                n_services = sum(1 for g in groups if g[0] == "Service")
                label = "any AWS service principal" if n_services == 1 else "any other AWS service"
            atoms.append(Atom(label, p, sig, assign_of(p), outsider))
        return Dim("principal", "principal", order, sig_of, lambda r: r.principal, atoms)

    # -- a condition key -----------------------------------------------------------------------------------
    def key_dim(self, key: str, order: int) -> Dim:
        clauses = self.clauses_by_key.get(key, [])
        multi = key in MULTI_KEYS or any(c.set_op for c in clauses)
        kinds = {kind(c.base) for c in clauses}
        ipkey = key in ("aws:sourceip", "aws:vpcsourceip")
        title = KEY_TITLES.get(key, self.key_spelling.get(key, key))

        def esig(e: str) -> Any:
            return tuple(element_test(c, e) for c in clauses)

        def sig_of(v: Any) -> Any:
            if v is ABSENT or v == ():
                return ("absent",)
            if isinstance(v, tuple) or multi:
                elems = v if isinstance(v, tuple) else (v,)
                return ("set", frozenset(esig(e) for e in elems))
            return ("v", esig(v))

        cands: list[tuple[str, str, bool]] = []
        nets: list[net.Network] = []
        for c in clauses:
            for v in c.values:
                if v is not None and (kind(c.base) == "ip" or ipkey):
                    chk = net.check_cidr(v)
                    if chk.network is not None:
                        nets.append(chk.network)
        if ipkey or "ip" in kinds:
            cands += self._ip_candidates(key, nets)
        fresh_value, fresh_label = FRESH.get(key, ("other-value", "any other value"))
        literals = {str(v) for c in clauses for v in c.values if v is not None}
        while fresh_value in literals:
            fresh_value += "0"
        if not ipkey:
            str_pats = [p for c in clauses for p in c.patterns if p is not None]
            for c in clauses:
                k = kind(c.base)
                for v in c.values:
                    if v is None:
                        continue
                    if k in ("string", "string-ci", "binary"):
                        cands.append((v, v, False))
                        if k == "string-ci":
                            cands += [(v.upper(), v.upper(), False), (v.lower(), v.lower(), False)]
                    elif k == "bool":
                        cands += [("true", "true", True), ("false", "false", True)]
            for p in str_pats:
                cands += [(i, i, False) for i in p.instantiations()]
            cands += self._ordered_candidates(clauses)
            cands.append((fresh_value, fresh_label, True))
            if key in ("aws:securetransport", "aws:viaawsservice"):
                cands += [("true", "true", True), ("false", "false", True)]
            if any(p.has_wildcard for p in str_pats):
                found, complete = witnesses(str_pats)
                self._complete(complete, f"values of {title}")
                cands += [(w, w, False) for _, w in sorted(found.items(), key=lambda kv: (len(kv[1]), kv[1]))]
        groups: dict[Any, list] = {}
        for value, label, outsider in cands:
            groups.setdefault(esig(value), []).append((value, label, outsider))
        fresh_sig = esig(fresh_value) if not ipkey else None
        elements = []
        for s, members in groups.items():
            value, label, outsider = members[0]
            outsider = any(m[2] for m in members) or s == fresh_sig
            if s == fresh_sig and not ipkey:
                value = fresh_value
                label = "any value" if any(m[0] in literals for m in members) else fresh_label
            elif ipkey:
                label = " or ".join(dict.fromkeys(m[1] for m in members))
            elements.append((value, label, outsider))
        atoms = []
        if multi:
            if len(elements) > MAX_SET_ELEMENTS:
                self.complete = False
                self.notes.append(f"{title}: {len(elements)} value classes; only sets of up to 2 of them are "
                                  "enumerated")
                subsets: Iterable = itertools.chain(
                    itertools.combinations(elements, 1), itertools.combinations(elements, 2), [tuple(elements)])
            else:
                subsets = itertools.chain.from_iterable(
                    itertools.combinations(elements, n) for n in range(1, len(elements) + 1))
            for combo in subsets:
                vals = tuple(e[0] for e in combo)
                label = "{" + ", ".join(e[1] for e in combo) + "}"
                atoms.append(Atom(label, vals, sig_of(vals), {key: vals}, all(e[2] for e in combo)))
        else:
            for value, label, outsider in elements:
                atoms.append(Atom(label, value, sig_of(value), {key: value}, outsider))
        if key not in NETWORK_PRESENCE and key not in ALWAYS_KEYS:
            atoms.append(Atom("(absent)", ABSENT, ("absent",), {key: ABSENT}, True))
        category = ("restricting" if key in RESTRICTING_KEYS else "free" if key in FREE_KEYS else "weak")
        carried = self.originals.get(key, key)
        return Dim(key, title, order, sig_of, lambda r: r.value(carried), atoms, category=category)

    def _ip_candidates(self, key: str, nets: list[net.Network]) -> list[tuple[str, str, bool]]:
        public_only = key == "aws:sourceip"
        narrow = [n for n in nets if not net.is_broad(n)]
        out = []
        addrs: list[Any] = []
        for n in nets:
            addrs.append(n.network_address + 1 if n.num_addresses > 2 else n.network_address)
        addrs += [ipaddress.ip_address("8.8.8.8"), ipaddress.ip_address("2001:4860:4860::8888")]
        for version in (4, 6):
            addrs += net.intervals(nets, version, split_private=public_only)
        for a in _unique(addrs):
            if public_only and net.is_private(a):
                continue
            inside = [str(n) for n in _unique(nets) if n.version == a.version and a in n]
            outsider = not any(a.version == n.version and a in n for n in narrow)
            if inside:
                label = "in " + ", ".join(inside[:3]) + (" …" if len(inside) > 3 else "")
            else:
                label = "any other public address" if public_only else "any other address"
            out.append((str(a), label, outsider))
        return out

    def _ordered_candidates(self, clauses: list[Clause]) -> list[tuple[str, str, bool]]:
        """Numbers and dates: each constant, just below/above it, and between neighbours."""
        out = []
        for which, conv in (("numeric", to_number), ("date", to_date)):
            consts = sorted({x for c in clauses if kind(c.base) == which for v in c.values
                             if v is not None and (x := conv(v)) is not None})
            if not consts:
                continue
            points = [consts[0] - 1, consts[-1] + 1, *consts]
            points += [(a + b) / 2 for a, b in itertools.pairwise(consts)]
            for x in points:
                if which == "numeric":
                    text = str(int(x)) if float(x).is_integer() else repr(float(x))
                else:
                    try:
                        text = datetime.fromtimestamp(x, UTC).isoformat().replace("+00:00", "Z")
                    except (OverflowError, OSError, ValueError):
                        continue
                out.append((text, text, True))
        return out

    def _complete(self, complete: bool, what: str) -> None:
        if not complete:
            self.complete = False
            self.notes.append(f"the partition of {what} was cut short (too many wildcard combinations)")


def _short_arn(arn: str, bucket: str | None) -> str:
    """``arn:aws:s3:::bucket/team1/*`` → ``team1/*`` when the bucket is known."""
    if bucket and arn.startswith(f"arn:aws:s3:::{bucket}/"):
        return arn[len(f"arn:aws:s3:::{bucket}/"):] or "/"
    if bucket and arn == f"arn:aws:s3:::{bucket}":
        return "the bucket"
    return arn


def _account_pattern(p: Pattern) -> Pattern:
    """``aws:PrincipalAccount`` value → a pattern over the IAM ARNs of that account.

    In the ``aws`` partition every ``aws:PrincipalArn`` starts ``arn:aws:iam::<account>:`` (a session's is
    its role's ARN), so the witness search can fix that prefix instead of exploring it."""
    tokens = [*literal(IAM_PREFIX).tokens]
    tokens += [t if t[0] == "lit" else (t[0], ARN_EXCL) for t in p.tokens]
    tokens += [("lit", ":"), ("star", frozenset())]
    return Pattern(tuple(tokens), p.ci)


IAM_PREFIX = "arn:aws:iam::"
IAM_SHAPE = Pattern((*literal(IAM_PREFIX).tokens, ("star", ARN_EXCL), ("lit", ":"), ("star", frozenset())))


# ------------------------------------------------------------------------------------------------------------
# The search
# ------------------------------------------------------------------------------------------------------------
NETWORK_ORDER = ("aws:sourceip", "aws:vpcsourceip", "aws:sourcevpc", "aws:sourcevpce")


def analyze(
    policy: Policy,
    *,
    action: str | None = None,
    bucket: str | None = None,
    owner: str | None = None,
    principal: Principal | None = None,
    force: tuple[str, ...] = (),
    max_rows: int = MAX_ROWS,
) -> Analysis:
    """Partition every request for ``policy`` and decide each class.

    ``action`` fixes the action (else every S3 action class is enumerated); ``bucket`` constrains resources to
    that bucket; ``owner`` names the bucket owner's account; ``principal`` fixes the requester (identity
    policies); ``force`` names dimensions to branch on even where no statement depends on them (``"path"``
    makes the table show every network path).
    """
    answer_for = policy
    policy, originals = _without_collisions(policy)
    b = _Builder(policy, action=action, bucket=bucket or (policy.bucket_names() or [None])[0], owner=owner,
                 principal=principal, originals=originals)
    names = ["action", "path", *[k for k in NETWORK_ORDER if k in b.used], "principal"]
    names += [k for k in sorted(b.used) if k not in NETWORK_ORDER and k not in DERIVED_KEYS]
    names.append("resource")
    dims: list[Dim] = []
    for i, n in enumerate(names):
        if n == "action":
            dims.append(b.action_dim(i))
        elif n == "path":
            dims.append(b.path_dim(i))
        elif n == "principal":
            dims.append(b.principal_dim(i))
        elif n == "resource":
            dims.append(b.resource_dim(i))
        else:
            dims.append(b.key_dim(n, i))
    index = {d.name: d.order for d in dims}
    pend = [_Pending(i) for i in range(len(dims))]
    pend_u = [_Pending(i, True) for i in range(len(dims))]
    path_i, principal_i = index["path"], index["principal"]

    def lookup(key: str, a: dict[str, Any]) -> Any:
        if key in a:
            return a[key]
        if key in NETWORK_PRESENCE:
            return pend[index[key]] if "@path" in a else pend[path_i]
        if key in DERIVED_KEYS:
            return pend[principal_i]
        return pend[index[key]]

    parts = [_components(st, policy.kind, lookup, pend[index["action"]], pend[index["resource"]],
                         pend[principal_i]) for st in policy.statements]
    comps = [[fn for _, fn in ps] for ps in parts]
    # What each statement reads: its parts' keys, and the path while one of them is a network key.
    reads: list[tuple[str, ...]] = []
    for ps in parts:
        keys = {k for k, _ in ps if k is not None}
        if not keys.isdisjoint(NETWORK_PRESENCE):
            keys.add("@path")
        reads.append(tuple(sorted(keys)))
    root: dict[str, Any] = {}
    cells0: dict[str, Atom] = {}
    for d in dims:
        if (d.name == "action" and action is not None) or (d.name == "principal" and principal is not None):
            root.update(d.atoms[0].assign)
            cells0[d.name] = d.atoms[0]
    forced = [index[f] for f in force if f in index]
    for d in dims:  # a dimension with one class is not a question: fix it up front
        if d.order not in forced and d.name not in cells0 and (
                d.name == "action" or (d.name == "resource" and "@level" in root)):
            only = d.atoms_for(root)
            if len(only) == 1 and not any(k in root and root[k] != v for k, v in only[0].assign.items()):
                root.update(only[0].assign)
    state = {"truncated": False}

    def status(cs: list, a: dict[str, Any], res: Any = True) -> Any:
        """The statement's status from its parts ``cs`` (``res``: None when parts left out were unknown)."""
        pmin = None
        for comp in cs:
            r = comp(a)
            if r is False:
                return False
            if r is None:
                res = None
            elif r is not True and (pmin is None or r.dim < pmin):
                pmin = r.dim
        if pmin is None:
            return res
        return pend[pmin] if res is True else pend_u[pmin]

    # The search below spends its time at branches, mostly low in the tree where the same few statements
    # are still pending again and again; so what a branch works out is kept under what it depends on:
    # a statement's status per class (``_Table``), the grouping of a branch's classes (``grouped``), merged
    # cells, the rows' shapes (what sub-tables are compared by), decisions, and whole sub-searches (``memo``).
    leaves = [0]
    memo: dict[Any, tuple[list[_Part], frozenset[str]]] = {}  # key → (rows, the ``here`` they had)
    forced_names = frozenset(dims[f].name for f in forced)
    dim_keys = [{k for x in d.all_atoms() for k in x.assign} for d in dims]  # what a class of d may assign
    assigns = {d.name: dim_keys[d.order] | {"@level"} for d in dims}  # … and what the classes depend on
    # The statements whose truth reads something the classes of a dimension assign.
    dim_readers = [[i for i, keys in enumerate(reads) if dim_keys[d.order].intersection(keys)] for d in dims]
    effects = [0 if st.effect == "Allow" else 1 if st.effect == "Deny" else 2 for st in policy.statements]
    labels = [st.label for st in policy.statements]

    rel_cache: dict[frozenset[str], tuple[str, ...]] = {}
    unchosen_cache: dict[frozenset[str], tuple[Dim, ...]] = {}
    dim_deps = [tuple(sorted(dim_keys[d.order] | ({"@level"} if d.by_level is not None else set()))) for d in dims]
    restrictable = [any(k in dim_keys[x.order] or k == "@level" for x in dims if x is not d for k in dim_deps[d.order])
                    for d in dims]
    left_cache: dict[tuple[int, tuple[Any, ...]], int] = {}
    left_numbers: dict[tuple[int, ...], int] = {}
    local_cache: dict[tuple[frozenset[str], int], tuple[str, ...]] = {}
    decide_cache: dict[tuple[Any, ...], tuple[Decision, tuple[str, ...], int | None]] = {}
    tables_by_base: dict[tuple[int, _Pending, tuple[bool, ...]], _Table] = {}
    grouping_cache: dict[Any, list[tuple[tuple[Any, ...], list[Atom], frozenset[str]]]] = {}

    atom_absent = {id(x): frozenset(k for k, v in x.assign.items() if v is ABSENT)
                   for d in dims for x in d.all_atoms()}
    class_numbers: dict[tuple[str, Any], int] = {}  # (dimension, signature) → a number for the class
    atom_class = {id(x): class_numbers.setdefault((d.name, x.sig), len(class_numbers))
                  for d in dims for x in d.all_atoms()}
    missing = object()

    def absent_of(atom: Atom) -> frozenset[str]:
        return atom_absent[id(atom)]

    # Rows' shapes, numbered: a leaf's is its (decision, statements); a row that gains a cell gets the
    # number of (the cell's key, its shape before), where cells that stand for the same classes of the same
    # dimension have the same key (like (name, :attr:`Atom.key`), but cheaper to hash).
    shapes: dict[tuple[Any, ...], int] = {}

    def cell_key(d: Dim, atom: Atom) -> Any:
        return atom_class[id(atom)] if atom.sigs is None else (d.name, atom.sigs)

    def grown(key: Any, shape: int) -> int:
        return shapes.setdefault((key, shape), len(shapes))

    # The same classes are often merged into one cell at many branches: make that cell once.
    merged_cells: dict[Any, tuple[tuple[Atom, ...], Atom]] = {}

    def merged(d: Dim, atoms: list[Atom], alone: bool) -> Atom:
        key = (d.order, tuple(map(id, atoms)), alone)
        got = merged_cells.get(key)
        if got is None:  # (the atoms are kept with their cell, so that their ids stay theirs)
            got = merged_cells[key] = (tuple(atoms), _merged_atom(d, atoms, alone=alone))
        return got[1]

    def decide(sts: tuple[Any, ...]) -> tuple[Decision, tuple[str, ...], int | None]:
        got = decide_cache.get(sts)
        if got is None:
            got = decide_cache[sts] = _decide(effects, labels, sts)
        return got

    def rel_keys(chosen: frozenset[str]) -> tuple[str, ...]:
        """The keys that the dimensions not chosen yet may assign or depend on."""
        rel = rel_cache.get(chosen)
        if rel is None:
            rel = rel_cache[chosen] = tuple(sorted(set().union(
                *(assigns[x.name] for x in dims if x.name not in chosen))))
        return rel

    def memo_key(sts: tuple[Any, ...], a: dict[str, Any], chosen: frozenset[str]) -> Any:
        """Everything the rest of the search can read. A pending statement's settled parts are summed up
        in its status (a :class:`_Pending` is unique per dimension and "unknown" flag, so it stands for
        itself); its unsettled parts read keys not assigned yet; what is assigned matters only where a
        dimension still to come may conflict with it — and there only through the classes it leaves that
        dimension. (Keying on the values themselves made a policy whose statements name distinct keys of one
        principal, such as aws:PrincipalTag/<n>, grow as 2^n: "any other value" and "(absent)" of each key
        leave the same principals once any one of them has a value, yet they were told apart.)"""
        return (sts, tuple([k in a for k in rel_keys(chosen)]),
                tuple([classes_left(x, a) for x in unchosen(chosen)]), chosen & forced_names, "@path" in a)

    def unchosen(chosen: frozenset[str]) -> tuple[Dim, ...]:
        """The dimensions not chosen yet whose classes an assignment by another dimension may rule out."""
        got = unchosen_cache.get(chosen)
        if got is None:
            got = unchosen_cache[chosen] = tuple(x for x in dims if x.name not in chosen and restrictable[x.order])
        return got

    def classes_left(d: Dim, a: dict[str, Any]) -> int:
        """A number for the classes of ``d`` that ``a`` leaves possible (what a dimension still to come makes of
        the values assigned so far: two nodes that leave every such dimension the same classes, with the same
        statements pending and the same keys assigned, have the same sub-table)."""
        values = tuple([a.get(k, missing) for k in dim_deps[d.order]])
        got = left_cache.get((d.order, values))
        if got is None:
            ids = tuple([id(x) for x in d.atoms_for(a)
                         if not any(k in a and a[k] != v for k, v in x.assign.items())])
            got = left_cache[(d.order, values)] = left_numbers.setdefault(ids, len(left_numbers))
        return got

    def class_tables(d: Dim, a: dict[str, Any], sts: tuple[Any, ...]
                     ) -> tuple[list[tuple[int, _Table]], tuple[Any, ...]]:
        """For a branch on ``d``: the pending statements that may read what its classes assign, each with its
        status by class. A pending status already sums up the parts of the statement that ``a`` settles (all
        true, or some unknown); what a class adds depends only on the class and on which of the statement's
        keys are still unassigned. So each is worked out once per (statement, status, unassigned keys, class).
        """
        out = []
        bases = []
        for i in dim_readers[d.order]:
            t = sts[i]
            if t.__class__ is _Pending:
                base = (i, t, tuple([k in a for k in reads[i]]))
                table = tables_by_base.get(base)
                if table is None:
                    # The parts ``a`` has settled are true, or some unknown (``t.unknown``): only the others
                    # need a look.
                    still_open = [fn for k, fn in parts[i] if k is not None and k not in a]
                    table = tables_by_base[base] = _Table(still_open, None if t.unknown else True)
                out.append((i, table))
                bases.append(base)
        return out, tuple(bases)

    def class_status(table: _Table, atom: Atom, a: dict[str, Any]) -> Any:
        """The table's statement's status once ``atom`` is assigned on top of ``a``."""
        t = table.by_class.get(id(atom), missing)
        if t is missing:
            t = table.by_class[id(atom)] = status(table.open, {**a, **atom.assign}, table.settled)
        return t

    def branch_statuses(table: _Table, which: Any, ok: list[Atom], a: dict[str, Any]) -> list[Any]:
        """:func:`class_status` for each class of ``ok`` (which ``which`` names), in order."""
        got = table.by_branch.get(which)
        if got is None:
            got = table.by_branch[which] = [class_status(table, atom, a) for atom in ok]
        return got

    def settle(sts: tuple[Any, ...], tables: list[tuple[int, _Table]], new: tuple[Any, ...]
               ) -> tuple[Any, ...]:
        """All statuses, given the new ones of the tables' statements (the others stay as they are)."""
        out = list(sts)
        for (i, _), t in zip(tables, new, strict=True):
            out[i] = t
        return tuple(out)

    def grouped(d: Dim, classes: list[Atom], ok: list[Atom], tables: list[tuple[int, _Table]],
                bases: tuple[Any, ...], a: dict[str, Any], chosen2: frozenset[str]
                ) -> list[tuple[tuple[Any, ...], list[Atom], frozenset[str]]]:
        """The classes ``ok`` of a branch on ``d`` (out of ``classes``) grouped by their children's memo keys,
        each group with the new statuses of the tables' statements and the keys all its classes make absent.

        Among the classes of one branch those keys can differ only in these statuses and in the values the
        classes assign, so that is what they are grouped by; and as the grouping depends on nothing else, it
        is worked out once for all the branches that share the classes, the tables and the values that the
        classes may take over from ``a``."""
        local = local_cache.get((chosen2, d.order))
        if local is None:
            local = local_cache[(chosen2, d.order)] = tuple(k for k in rel_keys(chosen2)
                                                            if k in dim_keys[d.order])
        inherited = tuple([a.get(k, missing) for k in local])
        path_known = "@path" in a
        which = id(classes) if ok is classes else tuple(map(id, ok))
        key = (d.order, which, bases, local, inherited, path_known)
        got = grouping_cache.get(key)
        if got is None:
            columns = [branch_statuses(table, which, ok, a) for _, table in tables]
            news = list(zip(*columns, strict=True)) if columns else [()] * len(ok)
            groups: dict[Any, list[Atom]] = {}
            for atom, new in zip(ok, news, strict=True):
                assign = atom.assign
                values = tuple([assign.get(k, a.get(k, missing)) for k in local])
                groups.setdefault((new, values, path_known or "@path" in assign), []).append(atom)
            got = grouping_cache[key] = [(new, members, frozenset.intersection(*map(absent_of, members)))
                                         for (new, _, _), members in groups.items()]
        return got

    def merge_siblings(d: Dim, children: list[tuple[Atom, list[_Part]]], *, keep: bool) -> list[_Part]:
        """Siblings whose sub-tables are identical become one row with a merged cell (or no cell at all when
        the dimension made no difference), so the table says "any other principal" once, not forty times."""
        groups: dict[Any, list[tuple[Atom, list[_Part]]]] = {}
        for atom, sub in children:
            groups.setdefault(tuple([r.shape for r in sub]), []).append((atom, sub))
        out: list[_Part] = []
        for members in groups.values():
            atoms = [m[0] for m in members]
            sub = members[0][1]
            if len(members) == 1:
                absent = [r.absent for r in sub]
            else:
                absent = [frozenset.intersection(*(m[1][i].absent for m in members)) for i in range(len(sub))]
            if len(groups) == 1 and not keep:
                out += sub if len(members) == 1 else [r.but_absent(absent[i]) for i, r in enumerate(sub)]
                continue
            cell = atoms[0] if len(atoms) == 1 else merged(d, atoms, len(groups) == 1)
            key = cell_key(d, cell)
            out += [_Part((d.name, cell, r.cells), r.assign, r.decision, r.statements, absent[i],
                          grown(key, r.shape)) for i, r in enumerate(sub)]
        return out

    def dfs(a: dict[str, Any], chosen: frozenset[str], sts: tuple[Any, ...], here: frozenset[str]
            ) -> list[_Part]:
        if leaves[0] >= max_rows:
            state["truncated"] = True
            return []
        decision, stmts, branch = decide(sts)
        for f in forced:
            if dims[f].name not in chosen and not (dims[f].name == "path" and "@path" in a):
                branch = f
                break
        if branch is None:
            leaves[0] += 1
            return [_Part(None, a, decision, stmts, here, shapes.setdefault((decision, stmts), len(shapes)))]
        key = memo_key(sts, a, chosen)
        hit = memo.get(key)
        if hit is not None:
            made, there = hit
            return [r.but_absent((r.absent - there) | here) for r in made]
        d = dims[branch]
        classes = d.atoms_for(a)
        if a.keys().isdisjoint(dim_keys[d.order]):
            ok = classes  # nothing assigned yet that a class could contradict
        else:
            ok = [atom for atom in classes if not any(k in a and a[k] != v for k, v in atom.assign.items())]
        keep = branch in forced
        tables, bases = class_tables(d, a, sts)
        if len(ok) == 1 and not keep:
            # one class only: "any value" says it more plainly
            atom = ok[0]
            new = tuple([class_status(table, atom, a) for _, table in tables])
            out = dfs({**a, **atom.assign}, chosen, settle(sts, tables, new), here | absent_of(atom))
        else:
            # Classes after which the search would go on identically share one sub-search.
            chosen2 = chosen | {d.name}
            groups = grouped(d, classes, ok, tables, bases, a, chosen2)
            children = []
            for new, members, extra in groups:
                atom = members[0]
                rows_ = dfs({**a, **atom.assign}, chosen2, settle(sts, tables, new), here | absent_of(atom))
                if len(members) > 1:
                    rows_ = [r.but_absent((r.absent - absent_of(atom)) | extra | here) for r in rows_]
                    atom = merged(d, members, len(groups) == 1)
                children.append((atom, rows_))
            out = merge_siblings(d, children, keep=keep)
        memo[key] = (out, here)
        return out

    rows = [Row({**cells0, **_unchained(r.cells)}, r.assign, r.decision, r.statements, r.absent)
            for r in dfs(root, frozenset(cells0), tuple(status(cs, root) for cs in comps),
                         frozenset(k for k, v in root.items() if v is ABSENT))]
    notes = list(b.notes)
    complete = b.complete and not state["truncated"]
    if state["truncated"]:
        notes.append(f"the table was cut at {max_rows} rows; the remaining contexts are not shown")
    if any(st.broken for st in policy.statements):
        notes.append("statements that cannot be interpreted make the rows they could affect 'unknown'")
    return Analysis(answer_for, dims, rows, action, b.bucket, [b.key_spelling[k] for k in b.used
                                                                if k not in MODELLED_KEYS], notes, complete)


#: Names the search gives dimensions of its own (and it marks its own assignment keys with "@").
OWN_NAMES = frozenset(("action", "path", "principal", "resource"))


def _without_collisions(policy: Policy) -> tuple[Policy, dict[str, str]]:
    """``policy`` with every condition key that would pass for one of the search's own names renamed (no
    real condition key is spelled so, but a document may say anything), and the original of each new name."""
    keys = policy.keys()
    clashing = [k for k in keys if k in OWN_NAMES or k.startswith("@")]
    if not clashing:
        return policy, {}
    taken = set(keys) | OWN_NAMES
    renamed: dict[str, str] = {}
    for k in clashing:
        new = f"condition key {k}"
        while new in taken:
            new += "'"
        taken.add(new)
        renamed[k] = new
    statements = tuple(dataclasses.replace(st, clauses=tuple(
        dataclasses.replace(c, key_lc=renamed.get(c.key_lc, c.key_lc)) for c in st.clauses))
        for st in policy.statements)
    return dataclasses.replace(policy, statements=statements), {new: k for k, new in renamed.items()}


def _merged_atom(d: Dim, atoms: list[Atom], *, alone: bool) -> Atom:
    sigs: set[Any] = set()
    for a in atoms:
        sigs |= a.sigs if a.sigs is not None else {a.sig}
    outsider = any(a.outsider for a in atoms)
    labels = list(dict.fromkeys(a.label for a in atoms))
    if alone:
        label = "any"
    elif len(labels) <= 3:
        label = " or ".join(labels)
    elif outsider and d.name not in ("path", "resource", "action"):
        label = f"any other {d.title}"
    else:
        label = " or ".join(labels[:3]) + f" (+{len(labels) - 3} more)"
    members = tuple(dict.fromkeys(m for a in atoms for m in a.members))
    first = atoms[0]
    return Atom(label, first.value, first.sig, first.assign, outsider, members, frozenset(sigs))


def _components(st: Statement, kind_: str, lookup: Callable, p_action: Any, p_resource: Any, p_principal: Any
                ) -> list[tuple[str | None, Callable[[dict[str, Any]], Any]]]:
    """The statement's parts: (the assignment key the part reads, or None for a constant part; a function of
    the assignment that returns True/False/None or the :class:`_Pending` dimension it waits for)."""
    out: list[tuple[str | None, Callable[[dict[str, Any]], Any]]] = []
    if st.broken:
        out.append((None, lambda a: None))
    for m, key, pend in ((st.actions, "@action", p_action), (st.resources, "@resource", p_resource)):
        if not m.present:
            continue
        if any(p is not None and p.tokens == (("star", frozenset()),) for p in m.patterns):
            const = not m.negated
            out.append((None, lambda a, c=const: c))
            continue
        cache: dict[str, Any] = {}

        def comp(a, m=m, key=key, pend=pend, cache=cache):
            v = a.get(key)
            if v is None:
                return pend
            r = cache.get(v, cache)
            if r is cache:
                r = cache[v] = matcher_truth(m, v)
            return r

        out.append((key, comp))
    if kind_ == "resource" and st.principal is not None:
        spec = st.principal
        if spec.is_everyone:
            out.append((None, lambda a: True))
        else:
            test = principal_test(spec)

            def pcomp(a, test=test):
                v = a.get("@principal")
                return p_principal if v is None else test(v)

            out.append(("@principal", pcomp))
    for c in st.clauses:
        ccache: dict[Any, Any] = {}

        def ccomp(a, c=c, cache=ccache):
            v = lookup(c.key_lc, a)
            if isinstance(v, _Pending):
                return v
            r = cache.get(v, cache)
            if r is cache:
                r = cache[v] = clause_truth(c, v)
            return r

        out.append((c.key_lc, ccomp))
    return out


def _decide(effects: list[int], labels: list[str], truths: list[Any]
            ) -> tuple[Decision, tuple[str, ...], int | None]:
    """(decision, deciding statements, dimension to branch on or None when final).

    ``effects``: 0 Allow, 1 Deny, 2 invalid (treated like a Deny whose outcome is unknown).

    The search branches on what the first pending statement (in document order, Deny statements first) waits
    for, so it settles one statement before it starts on the next. Branching on the lowest dimension any
    statement waits for instead leaves every statement that has matched so far pending on its last dimension
    (the resource, usually) at once: 24 statements "Deny <prefix n> unless <key n>" then make 2^24 branches
    where settling them one by one makes 24.
    """
    deny_t: list[str] = []
    deny_u: list[str] = []
    allow_t: list[str] = []
    allow_u: list[str] = []
    deny_p = allow_p = None
    for e, label, t in zip(effects, labels, truths, strict=True):
        if t is False:
            continue
        if t is True:
            (allow_t if e == 0 else deny_t if e == 1 else deny_u).append(label)
        elif t is None:
            (deny_u if e else allow_u).append(label)
        elif e:
            if deny_p is None:
                deny_p = t.dim
        elif allow_p is None:
            allow_p = t.dim
    if deny_t:
        return Decision.DENIED, tuple(deny_t), None
    if deny_p is not None:  # settle the Deny statements first: one that matches ends the search
        return Decision.UNKNOWN, (), deny_p
    if deny_u:
        return Decision.UNKNOWN, tuple(deny_u), None
    if allow_t:
        return Decision.ALLOWED, tuple(allow_t), None
    if allow_p is not None:
        return Decision.UNKNOWN, (), allow_p
    if allow_u:
        return Decision.UNKNOWN, tuple(allow_u), None
    return Decision.NOT_ALLOWED, (), None


__all__ = ["Analysis", "Atom", "Dim", "Row", "analyze", "INTERNET"]
