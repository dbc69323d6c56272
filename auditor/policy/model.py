"""The normalised form of an IAM policy document (immutable values)."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Any

from .glob import Pattern


class _Sentinel:
    """A value that is its own kind: one instance per subclass, kept across pickling, named by ``_name``."""

    _name = ""
    _inst: Any = None

    def __new__(cls):
        if cls.__dict__.get("_inst") is None:
            cls._inst = super().__new__(cls)
        return cls._inst

    def __repr__(self) -> str:
        return self._name

    def __reduce__(self):
        return (type(self), ())


class _Absent(_Sentinel):
    """The value of a context key that the request does not carry."""

    _name = "ABSENT"


ABSENT: Any = _Absent()


class _Unknown(_Sentinel):
    """The value of a context key that the request may carry but whose value the caller does not know (e.g.
    the source IP of a call AWS makes, ``kms:ViaService``): every clause on it is "unknown"."""

    _name = "UNKNOWN"


UNKNOWN: Any = _Unknown()


class Decision(enum.Enum):
    """What one policy says about one request."""

    ALLOWED = "allowed"  # an Allow matches and no Deny does
    DENIED = "denied"  # an explicit Deny matches: nothing else can allow it
    NOT_ALLOWED = "not-allowed"  # nothing matches: implicitly denied unless another policy allows it
    UNKNOWN = "unknown"  # depends on a part of the policy the engine cannot interpret

    def __str__(self) -> str:
        return self.value


@dataclass(frozen=True)
class Diagnostic:
    """Something wrong or noteworthy in a document, tied to a statement and key when it can be."""

    code: str
    severity: str  # critical | high | medium | low | info
    message: str
    statement: str = ""  # statement label (Sid or #n)
    key: str = ""
    value: str = ""

    def as_dict(self) -> dict[str, str]:
        return {k: v for k, v in self.__dict__.items() if v}


#: Diagnostic codes that make a value invalid (BP-3) rather than the document malformed.
VALUE_CODES = {"invalid-ip", "private-ip", "host-bits", "invalid-vpc-id", "invalid-vpce-id"}


@dataclass(frozen=True)
class Clause:
    """One ``operator: {key: values}`` entry of a Condition block."""

    operator: str  # as written
    base: str  # canonical base operator, e.g. "StringNotEquals" ("" when unknown)
    key: str  # as written
    key_lc: str
    values: tuple[Any, ...]  # strings, or None for a value that cannot be interpreted
    set_op: str = ""  # "" | "ForAnyValue" | "ForAllValues"
    if_exists: bool = False
    negated: bool = False
    error: str = ""  # the clause cannot be interpreted at all
    patterns: tuple[Pattern | None, ...] = ()  # compiled values for string/ARN operators

    @property
    def label(self) -> str:
        vals = ", ".join("?" if v is None else str(v) for v in self.values)
        return f"{self.operator} {self.key} [{vals}]"


@dataclass(frozen=True)
class Matcher:
    """Action/Resource (or NotAction/NotResource): OR over patterns, inverted for the Not form."""

    patterns: tuple[Pattern | None, ...]  # None: a pattern that cannot be interpreted (policy variable)
    negated: bool = False
    raw: tuple[str, ...] = ()
    present: bool = True


@dataclass(frozen=True)
class PrincipalEntry:
    kind: str  # "*" | "AWS" | "Service" | "Federated" | "CanonicalUser"
    value: str
    account: str = ""  # for AWS account principals (12 digits or :root)


@dataclass(frozen=True)
class PrincipalSpec:
    entries: tuple[PrincipalEntry, ...]
    negated: bool = False  # NotPrincipal

    @property
    def is_everyone(self) -> bool:
        return not self.negated and any(e.kind == "*" or (e.kind == "AWS" and e.value == "*") for e in self.entries)


@dataclass(frozen=True)
class Statement:
    index: int
    sid: str
    effect: str  # "Allow" | "Deny" | "" (invalid)
    actions: Matcher
    resources: Matcher
    principal: PrincipalSpec | None  # None: no Principal/NotPrincipal element
    clauses: tuple[Clause, ...]
    broken: str = ""  # non-empty: the statement as a whole cannot be interpreted
    raw: Any = field(default=None, compare=False, repr=False)

    @property
    def label(self) -> str:
        return self.sid or f"#{self.index + 1}"

    @property
    def conditional(self) -> bool:
        return bool(self.clauses)


@dataclass(frozen=True)
class Policy:
    statements: tuple[Statement, ...]
    kind: str = "resource"  # "resource" (bucket, queue or key policy: statements name a Principal) | "identity"
    version: str = ""
    diagnostics: tuple[Diagnostic, ...] = ()
    fatal: str = ""  # non-empty: no statement could be read (not JSON, not an object …)
    raw: Any = field(default=None, compare=False, repr=False)
    name: str = ""  # what verdicts over several policies call it ("inline:read-orders", "key policy", …)

    @property
    def value_diagnostics(self) -> list[Diagnostic]:
        return [d for d in self.diagnostics if d.code in VALUE_CODES]

    @property
    def document_diagnostics(self) -> list[Diagnostic]:
        return [d for d in self.diagnostics if d.code not in VALUE_CODES]

    def keys(self) -> list[str]:
        """Every condition key (lower case) the policy uses, in order of appearance."""
        out: dict[str, None] = {}
        for st in self.statements:
            for c in st.clauses:
                out.setdefault(c.key_lc)
        return list(out)

    def bucket_names(self) -> list[str]:
        """Bucket names the Resource elements name literally (for documents read from files)."""
        names: dict[str, None] = {}
        for st in self.statements:
            for r in st.resources.raw:
                if isinstance(r, str) and r.startswith("arn:aws:s3:::"):
                    name = r[len("arn:aws:s3:::"):].split("/", 1)[0]
                    if name and "*" not in name and "?" not in name and "$" not in name:
                        names.setdefault(name)
        return list(names)
