"""Parse Datadog monitor queries — never substring-match them.

Metric monitors (API ``type`` ``query alert`` / ``metric alert``) have the shape

    <time aggregation>(<window>):<expression> <comparator> <threshold>

where the time aggregation is ``avg(last_5m)``, ``max(last_1h)``… for threshold detection and
``change(avg(last_5m),last_5m)`` / ``pct_change(…)`` for change detection, and the expression holds one or
more metric terms ``<space aggregation>:<metric>{<scope>} [by {<tags>}]`` possibly wrapped in functions
(``default_zero(…)``, ``.as_count()``). See https://docs.datadoghq.com/monitors/types/metric/ and
https://docs.datadoghq.com/monitors/types/change-alert/.

Scopes (the part in braces, and downtime scopes) use the tag filter syntax: ``*``, ``key:value`` with ``*``
wildcards, ``,`` or ``AND``, ``OR``, ``NOT``/``!``, parentheses, ``key IN (a, b)`` / ``key NOT IN (…)`` and
``key:(a OR b)``. A scope is evaluated against the tags a resource is known to carry with three-valued logic:
``True`` (selected), ``False`` (excluded) or ``None`` (depends on tags auditor cannot see, such as ``env``).

Composite monitors reference other monitors by id: ``123 && (456 || !789)``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

__all__ = [
    "QueryError",
    "Scope",
    "parse_scope",
    "MetricTerm",
    "MetricQuery",
    "parse_metric_query",
    "CompositeMember",
    "parse_composite",
    "parse_window",
]


class QueryError(ValueError):
    """A query auditor cannot read. The message says where."""


#: Bounds on what auditor parses, so one monitor can never stall or crash the scan: a longer query, or one
#: nested deeper (parentheses, negations), is that monitor's parse error ("unreadable"), nothing more.
MAX_QUERY_CHARS = 50_000
MAX_NESTING = 100


def _check_size(text: str, what: str) -> None:
    if len(text) > MAX_QUERY_CHARS:
        raise QueryError(f"{what} is {len(text)} characters long; auditor reads at most {MAX_QUERY_CHARS}")


# ---------------------------------------------------------------------------------------------------------
# windows

_WINDOW_RE = re.compile(r"^(?:last|current)_(\d+)(mo|s|m|h|d|w)$", re.IGNORECASE)
_UNIT_S = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400, "mo": 30 * 86400}


def parse_window(text: str) -> int | None:
    """``last_5m`` → 300; ``current_1d`` → 86400; anything else → None."""
    m = _WINDOW_RE.match((text or "").strip())
    if not m:
        return None
    return int(m.group(1)) * _UNIT_S[m.group(2).lower()]


# ---------------------------------------------------------------------------------------------------------
# scopes

Tri = bool | None


def _and(values: list[Tri]) -> Tri:
    if any(v is False for v in values):
        return False
    return True if all(v is True for v in values) else None


def _or(values: list[Tri]) -> Tri:
    if any(v is True for v in values):
        return True
    return False if all(v is False for v in values) else None


def _not(value: Tri) -> Tri:
    return None if value is None else not value


def _glob_match(pattern: str, value: str) -> bool:
    """Whether ``value`` matches ``pattern`` whose only wildcard is ``*`` (case-insensitive)."""
    return _compile_glob(pattern.lower())(value)


def _compile_glob(p: str) -> Callable[[str], bool]:
    """The lowercase ``p`` (only ``*`` is a wildcard) compiled into a case-insensitive matcher of values; each
    scope term compiles its pattern once, when its query is parsed.

    No regex: one built from a pattern with many ``*`` can backtrack for minutes on a value that almost
    matches. The pattern's literal pieces are found in order instead (first piece at the start, last at the
    end, each middle one at its leftmost place after the previous one): leftmost is always right for ``*``,
    so this is exact, and linear in the value for each piece.
    """
    if "*" not in p:
        return lambda value: value.lower() == p
    first, *middle, last = p.split("*")
    middle = [m for m in middle if m]
    least = len(first) + len(last) + sum(map(len, middle))

    def match(value: str) -> bool:
        v = value.lower()
        if len(v) < least or not v.startswith(first) or not v.endswith(last):
            return False
        pos, end = len(first), len(v) - len(last)
        for piece in middle:
            pos = v.find(piece, pos, end)
            if pos < 0:
                return False
            pos += len(piece)
        return True

    return match


class Scope:
    """A parsed tag filter. Build with :func:`parse_scope`."""

    def evaluate(self, tags: Mapping[str, str]) -> Tri:  # pragma: no cover - abstract
        raise NotImplementedError

    def terms(self, negated: bool = False):
        """Yield (key, value, negated) for every tag term."""
        return iter(())

    def selects_key(self, key: str) -> bool:
        """True when some non-negated term constrains ``key`` (e.g. ``queuename:orders-*``)."""
        key = key.lower()
        return any(k == key and not neg for k, _, neg in self.terms())

    def only_values(self, key: str) -> frozenset[str] | None:
        """The values of tag ``key`` (lowercase, exact) outside which this scope is ``False`` for tags that
        carry ``key``; None when it may select any value (a wildcard, a negation, another key alone).

        ``queuename:a`` → {a}; ``queuename:a AND env:x`` → {a}; ``queuename:a OR queuename:b`` → {a, b};
        ``queuename:a OR env:x``, ``queuename:a-*``, ``NOT queuename:a`` → None. Lets an index look exact
        scopes up by value instead of evaluating every scope for every resource.
        """
        return None


@dataclass(frozen=True)
class _All(Scope):
    def evaluate(self, tags: Mapping[str, str]) -> Tri:
        return True

    def __str__(self) -> str:
        return "*"


@dataclass(frozen=True)
class _Term(Scope):
    key: str | None  # None for a bare tag (``production``)
    value: str
    _match: Callable[[str], bool] = field(init=False, compare=False, hash=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_match", _compile_glob(self.value.lower()))

    def evaluate(self, tags: Mapping[str, str]) -> Tri:
        if self.key is None or self.key not in tags:
            return None
        return self._match(tags[self.key])

    def terms(self, negated: bool = False):
        if self.key is not None:
            yield (self.key, self.value, negated)

    def only_values(self, key: str) -> frozenset[str] | None:
        return frozenset({self.value.lower()}) if self.key == key and "*" not in self.value else None

    def __str__(self) -> str:
        return f"{self.key}:{self.value}" if self.key is not None else self.value


@dataclass(frozen=True)
class _Not(Scope):
    inner: Scope

    def evaluate(self, tags: Mapping[str, str]) -> Tri:
        return _not(self.inner.evaluate(tags))

    def terms(self, negated: bool = False):
        yield from self.inner.terms(not negated)

    def __str__(self) -> str:
        return f"NOT {self.inner}"


@dataclass(frozen=True)
class _Bool(Scope):
    op: str  # AND | OR
    items: tuple[Scope, ...]

    def evaluate(self, tags: Mapping[str, str]) -> Tri:
        values = [i.evaluate(tags) for i in self.items]
        return _and(values) if self.op == "AND" else _or(values)

    def terms(self, negated: bool = False):
        for i in self.items:
            yield from i.terms(negated)

    def only_values(self, key: str) -> frozenset[str] | None:
        sets = [i.only_values(key) for i in self.items]
        if self.op == "AND":  # False as soon as one item is
            known = [v for v in sets if v is not None]
            return frozenset.intersection(*known) if known else None
        if any(v is None for v in sets):  # OR: False only when every item is
            return None
        return frozenset().union(*sets)

    def __str__(self) -> str:
        return "(" + f" {self.op} ".join(str(i) for i in self.items) + ")"


_SCOPE_TOKEN_RE = re.compile(r"""\s*(?:(?P<punct>[(),!])|"(?P<quoted>[^"]*)"|(?P<word>[^\s(),!"]+))""")


def _tokenize_scope(text: str) -> list[str]:
    tokens: list[str] = []
    pos = 0
    text = text.strip()
    while pos < len(text):
        m = _SCOPE_TOKEN_RE.match(text, pos)
        if not m or m.end() == pos:
            raise QueryError(f"cannot read scope {text!r} at position {pos}")
        pos = m.end()
        if m.group("punct"):
            tokens.append(m.group("punct"))
        elif m.group("quoted") is not None:
            tokens.append(m.group("quoted"))
        elif m.group("word"):
            tokens.append(m.group("word"))
    return tokens


class _ScopeParser:
    def __init__(self, text: str) -> None:
        _check_size(text, "scope")
        self.text = text
        self.tokens = _tokenize_scope(text)
        self.i = 0
        self.depth = 0

    def nest(self) -> None:
        """Enter one level of parentheses or negation; refuse to go deeper than :data:`MAX_NESTING`."""
        self.depth += 1
        if self.depth > MAX_NESTING:
            raise QueryError(f"scope {self.text[:80]!r}… nests more than {MAX_NESTING} levels deep")

    def peek(self) -> str | None:
        return self.tokens[self.i] if self.i < len(self.tokens) else None

    def take(self) -> str:
        tok = self.peek()
        if tok is None:
            raise QueryError(f"scope {self.text!r} ends early")
        self.i += 1
        return tok

    def expect(self, tok: str) -> None:
        got = self.take()
        if got != tok:
            raise QueryError(f"scope {self.text!r}: expected {tok!r}, got {got!r}")

    def parse(self) -> Scope:
        if not self.tokens:
            return _All()
        node = self.expr(None)
        if self.peek() is not None:
            raise QueryError(f"scope {self.text!r}: unexpected {self.peek()!r}")
        return node

    def expr(self, key: str | None) -> Scope:
        items = [self.conj(key)]
        while (self.peek() or "").upper() == "OR":
            self.take()
            items.append(self.conj(key))
        return items[0] if len(items) == 1 else _Bool("OR", tuple(items))

    def conj(self, key: str | None) -> Scope:
        items = [self.unary(key)]
        while True:
            tok = self.peek()
            if tok is None or tok == ")" or tok.upper() == "OR":
                break
            if tok == "," or tok.upper() == "AND":
                self.take()
            items.append(self.unary(key))  # juxtaposition counts as AND
        return items[0] if len(items) == 1 else _Bool("AND", tuple(items))

    def unary(self, key: str | None) -> Scope:
        tok = self.peek()
        if tok == "!" or (tok or "").upper() == "NOT":
            self.take()
            self.nest()
            node: Scope = _Not(self.unary(key))
            self.depth -= 1
            return node
        if tok is not None and tok.startswith("-") and len(tok) > 1 and key is None:
            self.tokens[self.i] = tok[1:]
            self.nest()
            node = _Not(self.unary(key))
            self.depth -= 1
            return node
        return self.primary(key)

    def primary(self, key: str | None) -> Scope:
        tok = self.take()
        if tok == "(":
            self.nest()
            node = self.expr(key)
            self.expect(")")
            self.depth -= 1
            return node
        if tok in (")", ",") or tok.upper() in ("AND", "OR", "IN"):
            raise QueryError(f"scope {self.text!r}: unexpected {tok!r}")
        if tok == "*" and key is None:
            return _All()
        if key is not None:  # inside key:( … ) every word is a value of that key
            return _Term(key, tok.lower())
        if ":" not in tok:
            nxt = (self.peek() or "").upper()
            if nxt == "IN" or (nxt == "NOT" and (self._peek(1) or "").upper() == "IN"):
                negate = nxt == "NOT"
                self.take()
                if negate:
                    self.take()
                node = self._value_list(tok.lower())
                return _Not(node) if negate else node
            return _Term(None, tok.lower())
        k, v = tok.split(":", 1)
        k = k.lower()
        if v == "" and self.peek() == "(":
            self.take()
            self.nest()
            node = self.expr(k)
            self.expect(")")
            self.depth -= 1
            return node
        return _Term(k, v.lower())

    def _peek(self, ahead: int) -> str | None:
        j = self.i + ahead
        return self.tokens[j] if j < len(self.tokens) else None

    def _value_list(self, key: str) -> Scope:
        self.expect("(")
        values = []
        while True:
            tok = self.take()
            if tok == ")":
                break
            if tok == ",":
                continue
            values.append(_Term(key, tok.lower()))
        if not values:
            raise QueryError(f"scope {self.text!r}: empty IN list")
        return values[0] if len(values) == 1 else _Bool("OR", tuple(values))


def parse_scope(text: str) -> Scope:
    """Parse a tag filter (the inside of ``{…}``, or a downtime scope). ``*`` and "" select everything."""
    return _ScopeParser(text or "").parse()


# ---------------------------------------------------------------------------------------------------------
# metric queries

_COMPARATORS = (">=", "<=", "==", "!=", ">", "<")
_TERM_RE = re.compile(
    # (?<!…): a term starts at a word boundary; trying every position inside a long word is quadratic.
    r"(?<![a-z0-9_.])(?:(?P<agg>[a-z0-9_]+)\s*:\s*)?"
    r"(?P<metric>[a-z_][a-z0-9_]*(?:\.[a-z0-9_]+)+)\s*"
    r"\{(?P<scope>[^{}]*)\}"
    r"(?P<tail1>(?:\s*\.[a-z_]+\([^()]*\))*)"
    r"(?:\s*by\s*\{(?P<by>[^{}]*)\})?"
    r"(?P<tail2>(?:\s*\.[a-z_]+\([^()]*\))*)",
    re.IGNORECASE,
)
_FUNC_RE = re.compile(r"(?<![a-z0-9_])([a-z_][a-z0-9_]*)\s*\(", re.IGNORECASE)

#: Expression functions whose result is the change between points — a change detection in a threshold shell.
CHANGE_FUNCTIONS = frozenset({"diff", "monotonic_diff", "derivative"})
#: Functions that replace a fixed threshold with a learned band.
ADAPTIVE_FUNCTIONS = frozenset({"anomalies", "forecast", "outliers"})


@dataclass(frozen=True)
class MetricTerm:
    space_aggregation: str
    metric: str  # lowercase
    scope_text: str
    scope: Scope = field(compare=False)
    group_by: tuple[str, ...] = ()  # lowercase tag keys of ``by {…}``
    modifiers: tuple[str, ...] = ()  # e.g. ("as_count",)

    def groups_by(self, key: str) -> bool:
        return key.lower() in self.group_by


@dataclass(frozen=True)
class MetricQuery:
    raw: str
    aggregation: str  # the outer function: avg, max, sum, change, pct_change…
    detection: str  # threshold | change | pct_change | anomaly
    window_s: int | None  # evaluation window of the time aggregation
    window: str  # as written, e.g. "last_5m"
    comparator: str
    threshold: float
    terms: tuple[MetricTerm, ...]
    shift: str = ""  # change/pct_change: the comparison window ("last_5m")
    shift_s: int | None = None
    functions: tuple[str, ...] = ()  # functions applied in the expression (lowercase)

    @property
    def is_change(self) -> bool:
        return self.detection in ("change", "pct_change")

    @property
    def method(self) -> str:
        """Human label: ``change(last_5m vs last_5m)``, ``threshold``, ``diff()``…"""
        if self.detection in ("change", "pct_change"):
            return f"{self.detection}(avg over {self.window or '?'}, compared with {self.shift or '?'} before)"
        if self.detection == "diff":
            fn = next((f for f in self.functions if f in CHANGE_FUNCTIONS), "diff")
            return f"{fn}() of the series"
        if self.detection == "anomaly":
            return "anomaly/forecast detection"
        return "threshold"

    def condition(self) -> str:
        t = int(self.threshold) if float(self.threshold).is_integer() else self.threshold
        return f"{self.comparator} {t}"


def _split_top(text: str, sep: str = ",") -> list[str]:
    """Split at ``sep`` outside parentheses, braces and quotes."""
    out, depth, buf, quote = [], 0, [], ""
    for ch in text:
        if quote:
            buf.append(ch)
            if ch == quote:
                quote = ""
            continue
        if ch in "\"'":
            quote = ch
        elif ch in "({":
            depth += 1
        elif ch in ")}":
            depth -= 1
        if ch == sep and depth == 0:
            out.append("".join(buf))
            buf = []
        else:
            buf.append(ch)
    out.append("".join(buf))
    return [s.strip() for s in out]


def _leading_call(text: str) -> tuple[str, str, int]:
    """``name(args)…`` at the start of ``text`` → (name, args, index after the closing parenthesis)."""
    m = re.match(r"\s*([a-z_][a-z0-9_]*)\s*\(", text, re.IGNORECASE)
    if not m:
        raise QueryError(f"expected a time aggregation like avg(last_5m) at the start of {text!r}")
    depth, quote = 1, ""
    for i in range(m.end(), len(text)):
        ch = text[i]
        if quote:
            if ch == quote:
                quote = ""
            continue
        if ch in "\"'":
            quote = ch
        elif ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
            if depth == 0:
                return m.group(1).lower(), text[m.end() : i], i + 1
    raise QueryError(f"unbalanced parentheses in {text!r}")


def _find_comparator(text: str) -> tuple[int, str]:
    """Position and operator of the last comparator outside parentheses, braces and quotes."""
    depth, quote, found = 0, "", (-1, "")
    i = 0
    while i < len(text):
        ch = text[i]
        if quote:
            if ch == quote:
                quote = ""
            i += 1
            continue
        if ch in "\"'":
            quote = ch
        elif ch in "({":
            depth += 1
        elif ch in ")}":
            depth -= 1
        elif depth == 0 and ch in "<>=!":  # the first characters of _COMPARATORS
            for op in _COMPARATORS:
                if text.startswith(op, i):
                    found = (i, op)
                    i += len(op) - 1
                    break
        i += 1
    return found


def _window_in(text: str) -> str:
    for part in re.split(r"[\s,()]+", text):
        if parse_window(part) is not None:
            return part.lower()
    return ""


def parse_metric_query(query: str) -> MetricQuery:
    """Parse a metric monitor query. Raises :class:`QueryError` for anything else."""
    raw = (query or "").strip()
    if not raw:
        raise QueryError("empty query")
    _check_size(raw, "the query")
    name, args, end = _leading_call(raw)
    rest = raw[end:].lstrip()
    if not rest.startswith(":"):
        raise QueryError(f"expected ':' after {name}(…) in {raw!r}")
    rest = rest[1:]
    shift = ""
    if name in ("change", "pct_change"):
        parts = _split_top(args)
        if len(parts) < 2:
            raise QueryError(f"{name}() needs (aggregation(window), shift) in {raw!r}")
        window = _window_in(parts[0])
        shift = parts[1].strip().lower()
        if parse_window(shift) is None:
            raise QueryError(f"{name}() has an unreadable comparison window {parts[1]!r} in {raw!r}")
    else:
        window = _window_in(args)
    pos, op = _find_comparator(rest)
    if pos < 0:
        raise QueryError(f"no comparator (>, >=, <, <=) in {raw!r}")
    expression, threshold_text = rest[:pos].strip(), rest[pos + len(op) :].strip()
    try:
        threshold = float(threshold_text)
    except ValueError:
        raise QueryError(f"threshold {threshold_text!r} is not a number in {raw!r}") from None
    terms = []
    for m in _TERM_RE.finditer(expression):
        scope_text = m.group("scope").strip()
        try:
            scope = parse_scope(scope_text)
        except QueryError as exc:
            raise QueryError(f"{exc} in {raw!r}") from None
        by = tuple(t.strip().lower() for t in (m.group("by") or "").split(",") if t.strip())
        mods = tuple(re.findall(r"\.([a-z_]+)\(", (m.group("tail1") or "") + (m.group("tail2") or ""), re.I))
        terms.append(MetricTerm((m.group("agg") or "").lower(), m.group("metric").lower(), scope_text, scope, by, mods))
    if not terms:
        raise QueryError(f"no metric term like max:metric{{scope}} in {raw!r}")
    functions = tuple(dict.fromkeys(f.lower() for f in _FUNC_RE.findall(_TERM_RE.sub(" ", expression))))
    if name in ("change", "pct_change"):
        detection = name
    elif any(f in ADAPTIVE_FUNCTIONS for f in functions):
        detection = "anomaly"
    elif any(f in CHANGE_FUNCTIONS for f in functions):
        detection = "diff"
    else:
        detection = "threshold"
    return MetricQuery(
        raw=raw,
        aggregation=name,
        detection=detection,
        window_s=parse_window(window) if window else None,
        window=window,
        comparator=op,
        threshold=threshold,
        terms=tuple(terms),
        shift=shift,
        shift_s=parse_window(shift) if shift else None,
        functions=functions,
    )


# ---------------------------------------------------------------------------------------------------------
# composite monitors

@dataclass(frozen=True)
class CompositeMember:
    monitor_id: int
    negated: bool  # referenced as !id (the composite needs it *not* to alert)


_COMPOSITE_TOKEN_RE = re.compile(r"\s*(\d+|&&|\|\||!|\(|\))")


def parse_composite(query: str) -> list[CompositeMember]:
    """``123 && (456 || !789)`` → members with their polarity. Raises :class:`QueryError`."""
    text = (query or "").strip()
    _check_size(text, "the composite query")
    tokens, pos = [], 0
    while pos < len(text):
        m = _COMPOSITE_TOKEN_RE.match(text, pos)
        if not m:
            if text[pos:].strip() == "":
                break
            raise QueryError(f"cannot read composite query {query!r} at position {pos}")
        tokens.append(m.group(1))
        pos = m.end()
    members: list[CompositeMember] = []
    i = 0

    def expr(neg: bool, depth: int) -> None:
        nonlocal i
        unary(neg, depth)
        while i < len(tokens) and tokens[i] in ("&&", "||"):
            i += 1
            unary(neg, depth)

    def unary(neg: bool, depth: int) -> None:
        nonlocal i
        if depth > MAX_NESTING:
            raise QueryError(f"composite query {text[:80]!r}… nests more than {MAX_NESTING} levels deep")
        if i >= len(tokens):
            raise QueryError(f"composite query {query!r} ends early")
        tok = tokens[i]
        if tok == "!":
            i += 1
            unary(not neg, depth + 1)
        elif tok == "(":
            i += 1
            expr(neg, depth + 1)
            if i >= len(tokens) or tokens[i] != ")":
                raise QueryError(f"unbalanced parentheses in composite query {query!r}")
            i += 1
        elif tok.isdigit():
            members.append(CompositeMember(int(tok), neg))
            i += 1
        else:
            raise QueryError(f"unexpected {tok!r} in composite query {query!r}")

    if not tokens:
        raise QueryError("empty composite query")
    expr(False, 0)
    if i != len(tokens):
        raise QueryError(f"unexpected {tokens[i]!r} in composite query {query!r}")
    return members
