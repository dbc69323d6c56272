"""Read any JSON value (or raw text) as an IAM policy document. Never raises.

Everything the parser cannot interpret becomes a :class:`Diagnostic` naming the statement and key, and the
affected statement, clause or value evaluates to "unknown" — never silently to "allowed".
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import re
from typing import Any

from . import conditions as ops
from . import net
from .glob import VariableError, compile_arn, compile_glob, has_variable
from .model import Clause, Diagnostic, Matcher, Policy, PrincipalEntry, PrincipalSpec, Statement

DOC_ELEMENTS = ("Version", "Id", "Statement")
STATEMENT_ELEMENTS = ("Sid", "Effect", "Principal", "NotPrincipal", "Action", "NotAction", "Resource",
                      "NotResource", "Condition")
PRINCIPAL_KINDS = ("AWS", "Service", "Federated", "CanonicalUser")
VERSIONS = ("2012-10-17", "2008-10-17")
_ACCOUNT_RE = re.compile(r"^\d{12}$")
_ROOT_RE = re.compile(r"^arn:aws[\w-]*:iam::(\d{12}):root$")
MAX_STATEMENTS = 1000
#: Bounds on a document read from an account or a file. AWS's largest policies are 32 KB (a KMS key policy;
#: a bucket or queue policy is 20 KB, an IAM managed policy 6 KB) and at most 6 levels deep, so a document
#: past these was never accepted by AWS: it "cannot be read" instead of costing the scan its time or stack.
MAX_DEPTH = 16  # objects and arrays inside one another
MAX_SIZE = 64 * 1024  # characters of the document written without whitespace
MAX_TEXT = 1024 * 1024  # characters of text, whitespace included, before it is decoded at all


class _Dup(dict):
    """A JSON object that remembers the keys it saw twice (json keeps only the last one)."""

    duplicates: list[str]


def _pairs(pairs: list[tuple[str, Any]]) -> dict:
    out = _Dup()
    out.duplicates = []
    for k, v in pairs:
        if k in out:
            out.duplicates.append(k)
        out[k] = v
    return out


def loads(text: str | bytes) -> Any:
    """``json.loads`` that records duplicate keys (raises ValueError like json)."""
    if isinstance(text, bytes):
        text = text.decode("utf-8")
    return json.loads(text, object_pairs_hook=_pairs)


class _Ctx:
    def __init__(self) -> None:
        self.diags: list[Diagnostic] = []

    def add(self, code: str, severity: str, message: str, statement: str = "", key: str = "", value: Any = "") -> None:
        self.diags.append(Diagnostic(code, severity, message, statement, key, "" if value is None else str(value)))


def parse(document: Any, *, kind: str = "resource", name: str = "") -> Policy:
    """Normalise ``document`` (JSON text, bytes or an already-parsed value) into a :class:`Policy`.

    ``kind`` is ``"resource"`` for resource policies — of a bucket, a queue, a KMS key (Principal required) —
    or ``"identity"`` for the policies of a user or role (no Principal). ``name`` is what verdicts over several
    policies call it (:func:`~auditor.policy.evaluate.evaluate_request`).
    """
    policy = _parse(document, kind)
    return dataclasses.replace(policy, name=name) if name else policy


def _parse(document: Any, kind: str) -> Policy:
    ctx = _Ctx()
    raw = document

    def unreadable(code: str, msg: str) -> Policy:
        ctx.add(code, "high", msg)
        return Policy((), kind, "", tuple(ctx.diags), msg, raw)

    try:
        if isinstance(document, (str, bytes)):
            if len(document) > MAX_TEXT:
                return unreadable("too-large", f"the policy is {len(document)} characters long, more than any "
                                  f"policy AWS accepts (the engine reads up to {MAX_TEXT})")
            try:
                document = loads(document)
            except RecursionError:
                return unreadable("too-deep", _TOO_DEEP)
            except ValueError as exc:
                return unreadable("not-json", f"the policy is not valid JSON ({_short(exc)})")
            if isinstance(document, str) and len(document) <= MAX_TEXT:  # a JSON string holding the document
                with contextlib.suppress(ValueError, RecursionError):
                    document = loads(document)
        depth, size = measure(document)
        if depth > MAX_DEPTH:
            return unreadable("too-deep", _TOO_DEEP)
        if size > MAX_SIZE:
            return unreadable("too-large", f"the policy is more than {MAX_SIZE} characters long without "
                              "whitespace, more than any policy AWS accepts (32 KB for a KMS key policy)")
        return _parse_doc(document, kind, ctx, raw)
    except RecursionError:
        return unreadable("too-deep", _TOO_DEEP)


_TOO_DEEP = (f"the policy is nested more than {MAX_DEPTH} levels deep (objects and arrays inside one another); "
             "a policy AWS accepts has at most 6")


def measure(value: Any) -> tuple[int, int]:
    """(how deeply objects and arrays nest, about how many characters the value has as compact JSON), without
    recursion; it stops counting once past :data:`MAX_DEPTH` or :data:`MAX_SIZE`."""
    depth = size = 0
    stack = [(value, 0)]
    while stack:
        v, d = stack.pop()
        if isinstance(v, dict):
            d += 1
            size += 1 + len(v)
            for k, x in v.items():
                size += len(k) + 3 if isinstance(k, str) else 8
                stack.append((x, d))
        elif isinstance(v, (list, tuple)):
            d += 1
            size += 1 + len(v)
            stack.extend((x, d) for x in v)
        else:
            size += len(v) + 2 if isinstance(v, str) else 8
        depth = max(depth, d)
        if depth > MAX_DEPTH or size > MAX_SIZE:
            break
    return depth, size


def _short(exc: Exception) -> str:
    text = str(exc)
    return text if len(text) < 160 else text[:157] + "..."


def _get(obj: dict, name: str, ctx: _Ctx, where: str) -> tuple[bool, Any]:
    """Element ``name`` of ``obj``, accepting another spelling of its case with a diagnostic."""
    if name in obj:
        return True, obj[name]
    for k in obj:
        if isinstance(k, str) and k.lower() == name.lower():
            ctx.add("element-case", "medium",
                    f"{where}: element {k!r} should be spelled {name!r} (AWS rejects other spellings)", "", k)
            return True, obj[k]
    return False, None


def _dups(obj: Any, ctx: _Ctx, where: str) -> None:
    for k in getattr(obj, "duplicates", ()):
        ctx.add("duplicate-key", "medium",
                f"{where}: key {k!r} appears more than once; only the last one counts", "", str(k))


def _parse_doc(doc: Any, kind: str, ctx: _Ctx, raw: Any) -> Policy:
    if not isinstance(doc, dict):
        msg = f"the policy is a JSON {_type(doc)}, not an object with a Statement"
        ctx.add("not-object", "high", msg)
        return Policy((), kind, "", tuple(ctx.diags), msg, raw)
    _dups(doc, ctx, "policy")
    for k in doc:
        if not (isinstance(k, str) and k.lower() in {e.lower() for e in DOC_ELEMENTS}):
            ctx.add("unknown-element", "medium", f"policy: unknown top-level element {k!r}", "", str(k))
    has_version, version = _get(doc, "Version", ctx, "policy")
    version = version if isinstance(version, str) else ""
    if has_version and version not in VERSIONS:
        ctx.add("bad-version", "medium", f"policy: Version {version or doc.get('Version')!r} is not 2012-10-17")
    elif not has_version:
        ctx.add("no-version", "low", "policy: no Version element; policy variables are then read literally")
    has_st, stmts = _get(doc, "Statement", ctx, "policy")
    if not has_st:
        msg = "the policy has no Statement element"
        ctx.add("no-statement", "high", msg)
        return Policy((), kind, version, tuple(ctx.diags), msg, raw)
    if isinstance(stmts, dict):
        stmts = [stmts]
    if not isinstance(stmts, list):
        msg = f"Statement is a JSON {_type(stmts)}, not an object or a list of objects"
        ctx.add("bad-statement", "high", msg)
        return Policy((), kind, version, tuple(ctx.diags), msg, raw)
    if not stmts:
        ctx.add("empty-statement", "low", "policy: the Statement list is empty (the policy grants nothing)")
    out = []
    seen_sids: set[str] = set()
    for i, st in enumerate(stmts[:MAX_STATEMENTS]):
        out.append(_parse_statement(i, st, kind, version == "2012-10-17", ctx, seen_sids))
    if len(stmts) > MAX_STATEMENTS:
        ctx.add("too-many-statements", "medium", f"policy: only the first {MAX_STATEMENTS} statements are read")
    return Policy(tuple(out), kind, version, tuple(ctx.diags), "", raw)


def _type(v: Any) -> str:
    for t, name in ((bool, "boolean"), (dict, "object"), (list, "array"), (str, "string"), (int, "number"),
                    (float, "number"), (type(None), "null")):
        if isinstance(v, t):
            return name
    return type(v).__name__


def _strings(value: Any, what: str, label: str, ctx: _Ctx) -> tuple[list[str], bool]:
    """A string or a list of strings; (values, ok)."""
    if isinstance(value, str):
        return [value], True
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        if not value:
            ctx.add("empty-element", "medium", f"statement {label}: {what} is an empty list", label, what)
        return list(value), True
    ctx.add("bad-element", "high", f"statement {label}: {what} must be a string or a list of strings, "
            f"not a JSON {_type(value)}", label, what)
    return [], False


def _parse_statement(i: int, st: Any, kind: str, v2012: bool, ctx: _Ctx, seen_sids: set[str]) -> Statement:
    empty = Matcher((), present=False)
    if not isinstance(st, dict):
        label = f"#{i + 1}"
        msg = f"statement {label} is a JSON {_type(st)}, not an object"
        ctx.add("bad-statement", "high", msg, label)
        return Statement(i, "", "", empty, empty, None, (), msg, st)
    has_sid, sid = _get(st, "Sid", ctx, f"statement #{i + 1}")
    sid = sid if isinstance(sid, str) else ""
    label = sid or f"#{i + 1}"
    if has_sid and not isinstance(st.get("Sid", sid), str):
        ctx.add("bad-element", "low", f"statement #{i + 1}: Sid must be a string", label, "Sid")
    if sid and sid in seen_sids:
        ctx.add("duplicate-sid", "low", f"statement {label}: Sid is used by another statement", label, "Sid")
    seen_sids.add(sid)
    _dups(st, ctx, f"statement {label}")
    known = {e.lower() for e in STATEMENT_ELEMENTS}
    for k in st:
        if not (isinstance(k, str) and k.lower() in known):
            ctx.add("unknown-element", "medium", f"statement {label}: unknown element {k!r}", label, str(k))
    broken: list[str] = []

    # Effect
    _, effect_raw = _get(st, "Effect", ctx, f"statement {label}")
    effect = ""
    if isinstance(effect_raw, str) and effect_raw in ("Allow", "Deny"):
        effect = effect_raw
    elif isinstance(effect_raw, str) and effect_raw.lower() in ("allow", "deny"):
        effect = effect_raw.capitalize()
        ctx.add("effect-case", "medium", f"statement {label}: Effect {effect_raw!r} should be {effect!r}",
                label, "Effect", effect_raw)
    else:
        broken.append(f"Effect is {effect_raw!r}, not Allow or Deny")
        ctx.add("bad-effect", "high", f"statement {label}: Effect must be Allow or Deny, not {effect_raw!r}",
                label, "Effect")

    actions = _matcher(st, "Action", label, ctx, broken, ci=True, variables=False)
    resources = _matcher(st, "Resource", label, ctx, broken, ci=False, variables=v2012)
    principal = _principal(st, kind, label, effect, ctx, broken)
    clauses = _conditions(st, label, v2012, ctx, broken)
    return Statement(i, sid, effect, actions, resources, principal, tuple(clauses), "; ".join(broken), st)


def _matcher(st: dict, name: str, label: str, ctx: _Ctx, broken: list[str], *, ci: bool, variables: bool) -> Matcher:
    has, val = _get(st, name, ctx, f"statement {label}")
    has_not, not_val = _get(st, "Not" + name, ctx, f"statement {label}")
    if has and has_not:
        broken.append(f"both {name} and Not{name}")
        ctx.add("both-elements", "high", f"statement {label}: has both {name} and Not{name}", label, name)
        return Matcher((), present=False)
    if not has and not has_not:
        broken.append(f"no {name} or Not{name}")
        ctx.add(f"missing-{name.lower()}", "high", f"statement {label}: has neither {name} nor Not{name}",
                label, name)
        return Matcher((), present=False)
    raw_vals, ok = _strings(val if has else not_val, name if has else "Not" + name, label, ctx)
    if not ok:
        broken.append(f"{name} is not a string or list of strings")
        return Matcher((), negated=has_not, present=False)
    pats = []
    for v in raw_vals:
        if variables and has_variable(v):
            ctx.add("policy-variable", "info",
                    f"statement {label}: {name} {v!r} uses a policy variable; its match depends on the requester "
                    "and is reported as unknown", label, name, v)
        try:
            pats.append(compile_glob(v, ci=ci, variables=variables))
        except VariableError:
            pats.append(None)
    return Matcher(tuple(pats), negated=has_not, raw=tuple(raw_vals))


def _principal(st: dict, kind: str, label: str, effect: str, ctx: _Ctx, broken: list[str]) -> PrincipalSpec | None:
    has, val = _get(st, "Principal", ctx, f"statement {label}")
    has_not, not_val = _get(st, "NotPrincipal", ctx, f"statement {label}")
    if kind == "identity":
        if has or has_not:
            ctx.add("principal-in-identity-policy", "medium",
                    f"statement {label}: an identity policy cannot have a Principal element (ignored)", label)
        return None
    if has and has_not:
        broken.append("both Principal and NotPrincipal")
        ctx.add("both-elements", "high", f"statement {label}: has both Principal and NotPrincipal", label)
        return None
    if not has and not has_not:
        broken.append("no Principal")
        ctx.add("missing-principal", "high",
                f"statement {label}: a resource policy statement needs a Principal (AWS rejects it)", label)
        return None
    if has_not and effect == "Allow":
        ctx.add("allow-with-notprincipal", "medium",
                f"statement {label}: Allow with NotPrincipal grants access to everyone not listed, including "
                "anonymous users", label, "NotPrincipal")
    spec = val if has else not_val
    entries: list[PrincipalEntry] = []
    if spec == "*":
        entries.append(PrincipalEntry("*", "*"))
    elif isinstance(spec, dict):
        for k, v in spec.items():
            kind_name = next((p for p in PRINCIPAL_KINDS if isinstance(k, str) and p.lower() == k.lower()), None)
            if kind_name is None:
                ctx.add("bad-principal", "high", f"statement {label}: unknown principal type {k!r}", label,
                        "Principal", k)
                broken.append(f"unknown principal type {k!r}")
                continue
            if kind_name != k:
                ctx.add("element-case", "medium",
                        f"statement {label}: principal type {k!r} should be spelled {kind_name!r}", label, str(k))
            vals, ok = _strings(v, f"Principal.{kind_name}", label, ctx)
            if not ok:
                broken.append(f"Principal.{kind_name} is not a string or list of strings")
            for item in vals:
                entries.append(_principal_entry(kind_name, item, label, ctx))
    else:
        broken.append("Principal is neither \"*\" nor an object")
        ctx.add("bad-principal", "high", f"statement {label}: Principal must be \"*\" or an object, not "
                f"{json.dumps(spec)[:60]}", label, "Principal")
    return PrincipalSpec(tuple(entries), negated=has_not)


def _principal_entry(kind: str, value: str, label: str, ctx: _Ctx) -> PrincipalEntry:
    if kind != "AWS":
        return PrincipalEntry(kind, value)
    if value == "*":
        return PrincipalEntry("AWS", "*")
    if _ACCOUNT_RE.match(value):
        return PrincipalEntry("AWS", value, value)
    m = _ROOT_RE.match(value)
    if m:
        return PrincipalEntry("AWS", value, m.group(1))
    if "*" in value or "?" in value:
        ctx.add("principal-wildcard", "medium",
                f"statement {label}: Principal {value!r}: wildcards inside a principal ARN are not supported "
                "(use Principal \"*\" with an aws:PrincipalArn condition)", label, "Principal", value)
    elif not value.startswith("arn:"):
        ctx.add("principal-unique-id", "low",
                f"statement {label}: Principal {value!r} is not an ARN (a deleted principal's unique id?); it "
                "matches nobody", label, "Principal", value)
    return PrincipalEntry("AWS", value)


def _conditions(st: dict, label: str, v2012: bool, ctx: _Ctx, broken: list[str]) -> list[Clause]:
    has, cond = _get(st, "Condition", ctx, f"statement {label}")
    if not has:
        return []
    if not isinstance(cond, dict):
        broken.append("Condition is not an object")
        ctx.add("bad-condition", "high", f"statement {label}: Condition must be an object, not a JSON "
                f"{_type(cond)}", label, "Condition")
        return []
    _dups(cond, ctx, f"statement {label} Condition")
    out = []
    for op_name, block in cond.items():
        op_name = str(op_name)
        set_op, base, if_exists, error = ops.parse_operator(op_name)
        if error:
            ctx.add("unknown-operator", "high", f"statement {label}: {error}; the statement's effect is unknown",
                    label, op_name)
        elif ops.canonical_name(set_op, base, if_exists) != op_name:
            ctx.add("operator-case", "low", f"statement {label}: operator {op_name!r} is usually spelled "
                    f"{ops.canonical_name(set_op, base, if_exists)!r}", label, op_name)
        if not isinstance(block, dict):
            broken.append(f"{op_name} is not an object of keys")
            ctx.add("bad-condition", "high", f"statement {label}: {op_name} must map condition keys to values, "
                    f"not a JSON {_type(block)}", label, op_name)
            continue
        _dups(block, ctx, f"statement {label} {op_name}")
        for key, raw_vals in block.items():
            out.append(_clause(op_name, set_op, base, if_exists, error, str(key), raw_vals, label, v2012, ctx))
    return out


def _clause(op_name: str, set_op: str, base: str, if_exists: bool, error: str, key: str, raw_vals: Any,
            label: str, v2012: bool, ctx: _Ctx) -> Clause:
    key_lc = key.lower()
    items = raw_vals if isinstance(raw_vals, list) else [raw_vals]
    values: list[Any] = []
    for v in items:
        if isinstance(v, bool):
            values.append("true" if v else "false")
        elif isinstance(v, (int, float)):
            values.append(str(v))
        elif isinstance(v, str):
            values.append(v)
        else:
            values.append(None)
            ctx.add("bad-condition-value", "high", f"statement {label}: {op_name} {key}: value "
                    f"{json.dumps(v)[:60]} is a JSON {_type(v)}, not a string", label, key)
    if not items:
        ctx.add("empty-condition-values", "medium", f"statement {label}: {op_name} {key} lists no values", label, key)
    negated = base in ops.NEGATED
    patterns: list[Any] = []
    k = ops.kind(base)
    for v in values:
        if v is None or error:
            patterns.append(None)
            continue
        pat = None
        try:
            if k in ("string", "string-ci"):
                pat = compile_glob(v, wildcards=False, ci=(k == "string-ci"), variables=v2012)
            elif k == "like":
                pat = compile_glob(v, variables=v2012)
            elif k == "arn":
                pat = compile_arn(v, variables=v2012)
        except VariableError:
            ctx.add("policy-variable", "info", f"statement {label}: {op_name} {key} value {v!r} uses a policy "
                    "variable; the engine reports its outcome as unknown", label, key, v)
        patterns.append(pat)
    if k in ("string", "string-ci", "like", "arn"):
        values = [None if (v is not None and p is None) else v for v, p in zip(values, patterns, strict=True)]
    _validate(op_name, k, key_lc, key, values, label, ctx)
    return Clause(op_name, base, key, key_lc, tuple(values), set_op, if_exists, negated, error, tuple(patterns))


def _validate(op_name: str, k: str, key_lc: str, key: str, values: list[Any], label: str, ctx: _Ctx) -> None:
    """Access Analyzer-style value checks: IP ranges, private ranges in aws:SourceIp, VPC ids."""
    if k == "ip" or (key_lc in ("aws:sourceip", "aws:vpcsourceip") and k in ("string", "string-ci")):
        for v in values:
            if v is None:
                continue
            chk = net.check_cidr(v)
            if not chk.valid:
                ctx.add("invalid-ip", "high", f"statement {label}: {op_name} {key}: {v!r} is not a valid IP "
                        "address or CIDR range (it can match nothing; AWS rejects the policy)", label, key, v)
                continue
            if key_lc == "aws:sourceip" and chk.private:
                ctx.add("private-ip", "high", f"statement {label}: {op_name} {key}: {v} is a private range, but "
                        "aws:SourceIp only ever holds public addresses (private traffic arrives through a VPC "
                        "endpoint: use aws:VpcSourceIp or aws:SourceVpc/aws:SourceVpce)", label, key, v)
            if chk.host_bits:
                ctx.add("host-bits", "low", f"statement {label}: {op_name} {key}: {v} has host bits set; AWS "
                        f"reads it as {chk.network}", label, key, v)
        if k != "ip":
            ctx.add("ip-with-string-operator", "low", f"statement {label}: {key} compared with {op_name}: an IP "
                    "operator (IpAddress/NotIpAddress) matches ranges, a string operator only exact text",
                    label, key)
    if key_lc in ("aws:sourcevpc", "aws:sourcevpce") and k in ("string", "string-ci", "like"):
        rx = net.VPC_ID_RE if key_lc == "aws:sourcevpc" else net.VPCE_ID_RE
        code = "invalid-vpc-id" if key_lc == "aws:sourcevpc" else "invalid-vpce-id"
        what = "VPC id (vpc-<8 or 17 hex digits>)" if key_lc == "aws:sourcevpc" else \
            "VPC endpoint id (vpce-<8 or 17 hex digits>)"
        for v in values:
            if v is None or (k == "like" and ("*" in v or "?" in v)):
                continue
            text = v.lower() if k == "string-ci" else v
            if not rx.match(text):
                ctx.add(code, "high", f"statement {label}: {op_name} {key}: {v!r} is not a valid {what}; it can "
                        "never match", label, key, v)
