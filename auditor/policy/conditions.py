"""Condition operators: names, and their truth on a request value (three-valued: True/False/None).

``None`` means "cannot be decided": the policy value is invalid (AWS would have rejected the document) or
depends on a policy variable. Evaluation never turns ``None`` into "allowed".
"""

from __future__ import annotations

import math
import re
from datetime import UTC, datetime
from typing import Any

from . import net
from .glob import Pattern
from .model import ABSENT, UNKNOWN, Clause

#: Canonical operator names, by kind. Negated ones are the NOT of their positive twin.
OPERATORS: dict[str, tuple[str, str]] = {
    # name: (kind, positive twin)
    "StringEquals": ("string", "StringEquals"),
    "StringNotEquals": ("string", "StringEquals"),
    "StringEqualsIgnoreCase": ("string-ci", "StringEqualsIgnoreCase"),
    "StringNotEqualsIgnoreCase": ("string-ci", "StringEqualsIgnoreCase"),
    "StringLike": ("like", "StringLike"),
    "StringNotLike": ("like", "StringLike"),
    "NumericEquals": ("numeric", "NumericEquals"),
    "NumericNotEquals": ("numeric", "NumericEquals"),
    "NumericLessThan": ("numeric", "NumericLessThan"),
    "NumericLessThanEquals": ("numeric", "NumericLessThanEquals"),
    "NumericGreaterThan": ("numeric", "NumericGreaterThan"),
    "NumericGreaterThanEquals": ("numeric", "NumericGreaterThanEquals"),
    "DateEquals": ("date", "DateEquals"),
    "DateNotEquals": ("date", "DateEquals"),
    "DateLessThan": ("date", "DateLessThan"),
    "DateLessThanEquals": ("date", "DateLessThanEquals"),
    "DateGreaterThan": ("date", "DateGreaterThan"),
    "DateGreaterThanEquals": ("date", "DateGreaterThanEquals"),
    "Bool": ("bool", "Bool"),
    "BinaryEquals": ("binary", "BinaryEquals"),
    "IpAddress": ("ip", "IpAddress"),
    "NotIpAddress": ("ip", "IpAddress"),
    "ArnEquals": ("arn", "ArnEquals"),
    "ArnLike": ("arn", "ArnEquals"),
    "ArnNotEquals": ("arn", "ArnEquals"),
    "ArnNotLike": ("arn", "ArnEquals"),
    "Null": ("null", "Null"),
}
NEGATED = {"StringNotEquals", "StringNotEqualsIgnoreCase", "StringNotLike", "NumericNotEquals", "DateNotEquals",
           "NotIpAddress", "ArnNotEquals", "ArnNotLike"}
_BY_LOWER = {k.lower(): k for k in OPERATORS}
_OP_RE = re.compile(r"^(?:(forallvalues|foranyvalue):)?(.*?)(ifexists)?$", re.IGNORECASE)


def parse_operator(name: str) -> tuple[str, str, bool, str]:
    """``ForAnyValue:StringNotEqualsIfExists`` → (set_op, base, if_exists, error)."""
    m = _OP_RE.match(name or "")
    if not m:
        return "", "", False, f"unknown condition operator {name!r}"
    set_raw, base_raw, ife = m.groups()
    base = _BY_LOWER.get(base_raw.lower())
    if base is None and ife and _BY_LOWER.get((base_raw + ife).lower()):
        base, ife = _BY_LOWER[(base_raw + ife).lower()], None  # an operator whose name ends in IfExists
    if base is None:
        return "", "", False, f"unknown condition operator {name!r}"
    set_op = {"forallvalues": "ForAllValues", "foranyvalue": "ForAnyValue"}.get((set_raw or "").lower(), "")
    if base == "Null" and (ife or set_op):
        return "", "", False, f"{name!r}: Null takes neither IfExists nor a set operator"
    return set_op, base, bool(ife), ""


def canonical_name(set_op: str, base: str, if_exists: bool) -> str:
    return (f"{set_op}:" if set_op else "") + base + ("IfExists" if if_exists else "")


def kind(base: str) -> str:
    return OPERATORS[base][0] if base in OPERATORS else ""


# ------------------------------------------------------------------------------------------------------------
# Scalars
# ------------------------------------------------------------------------------------------------------------
def to_number(v: Any) -> float | None:
    if isinstance(v, bool):
        return None
    if isinstance(v, (int, float)):
        return float(v) if math.isfinite(v) else None
    if isinstance(v, str):
        try:
            f = float(v.strip())
        except ValueError:
            return None
        return f if math.isfinite(f) else None
    return None


def to_date(v: Any) -> float | None:
    """Epoch seconds from an ISO 8601 date/time or an epoch number."""
    n = to_number(v)
    if n is not None:
        return n
    if not isinstance(v, str) or not v.strip():
        return None
    text = v.strip()
    try:
        dt = datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        return None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    try:
        return dt.timestamp()
    except (OverflowError, OSError, ValueError):
        return None


def _cmp(base: str, a: float, b: float) -> bool:
    if base.endswith("LessThanEquals"):
        return a <= b
    if base.endswith("GreaterThanEquals"):
        return a >= b
    if base.endswith("LessThan"):
        return a < b
    if base.endswith("GreaterThan"):
        return a > b
    return a == b  # Equals


def element_test(clause: Clause, element: str) -> bool | None:
    """The positive operator (e.g. StringEquals for StringNotEquals) on one request value: OR over the
    policy's values; None when only an uninterpretable value could have matched."""
    base = OPERATORS[clause.base][1]
    k = kind(clause.base)
    unknown = False
    for i, v in enumerate(clause.values):
        if v is None:
            unknown = True
            continue
        r = _value_test(k, base, clause.patterns[i] if clause.patterns else None, v, element)
        if r is True:
            return True
        if r is None:
            unknown = True
    return None if unknown else False


def _value_test(k: str, base: str, pattern: Pattern | None, v: Any, element: str) -> bool | None:
    if k in ("string", "string-ci", "like", "arn"):
        if pattern is None:
            return None
        if k == "arn" and element.count(":") < 5:
            return False
        return pattern.matches(element)
    if k == "ip":
        return net.ip_in(element, v)
    if k == "numeric":
        b = to_number(v)
        if b is None:
            return None
        a = to_number(element)
        return False if a is None else _cmp(base, a, b)
    if k == "date":
        b = to_date(v)
        if b is None:
            return None
        a = to_date(element)
        return False if a is None else _cmp(base, a, b)
    if k == "bool":
        if str(v).lower() not in ("true", "false"):
            return None
        return element.lower() == str(v).lower()
    if k == "binary":
        return element == v
    return None


def _not(x: bool | None) -> bool | None:
    return None if x is None else not x


def any3(xs) -> bool | None:
    unknown = False
    for x in xs:
        if x is True:
            return True
        if x is None:
            unknown = True
    return None if unknown else False


def all3(xs) -> bool | None:
    unknown = False
    for x in xs:
        if x is False:
            return False
        if x is None:
            unknown = True
    return None if unknown else True


def clause_truth(clause: Clause, value: Any) -> bool | None:
    """Truth of one clause for one request value (a string, a tuple for multivalued keys, ABSENT, or UNKNOWN:
    a value the caller does not know, on which every clause is None)."""
    if clause.error or value is UNKNOWN:
        return None
    if clause.base == "Null":
        results = []
        for v in clause.values:
            s = str(v).lower() if v is not None else ""
            if s == "true":
                results.append(value is ABSENT)
            elif s == "false":
                results.append(value is not ABSENT)
            else:
                results.append(None)
        return any3(results)
    if value is ABSENT or value == ():
        if clause.set_op == "ForAllValues":
            return True
        if clause.set_op == "ForAnyValue":
            return False
        if clause.if_exists:
            return True
        return clause.negated
    if not isinstance(value, tuple):  # one value: every set operator and negation comes down to this
        r = element_test(clause, value)
        return _not(r) if clause.negated else r
    per = [element_test(clause, e) for e in value]
    if clause.negated:
        per = [_not(p) for p in per]
    if clause.set_op == "ForAllValues":
        return all3(per)
    if clause.set_op == "ForAnyValue" or not clause.negated:
        return any3(per)
    # A negated operator without a set operator on several values: none of them may match.
    return all3(per)
