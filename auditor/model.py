"""The vocabulary every part of auditor speaks: severities, findings, check metadata.

Everything here is an immutable value. Findings are never built by hand in a check: the engine gives each
check a :class:`Recorder` that stamps the check's identity on every finding it builds (zizmor's pattern), so a
finding cannot carry the wrong id, a missing resource or unredacted evidence.
"""

from __future__ import annotations

import enum
import hashlib
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

_RANKS: dict[Any, int] = {}


class _Ordered(enum.Enum):
    """An enum whose members compare by declaration order and print as their value."""

    @property
    def rank(self) -> int:
        # Members are sorted once per scan for every result (report order, severities): keep each one's place.
        try:
            return _RANKS[self]
        except KeyError:
            for i, member in enumerate(type(self)):
                _RANKS[member] = i
            return _RANKS[self]

    def __lt__(self, other: object) -> bool:
        if type(other) is not type(self):
            return NotImplemented
        return self.rank < other.rank  # type: ignore[attr-defined]

    def __le__(self, other: object) -> bool:
        if type(other) is not type(self):
            return NotImplemented
        return self.rank <= other.rank  # type: ignore[attr-defined]

    def __gt__(self, other: object) -> bool:
        if type(other) is not type(self):
            return NotImplemented
        return self.rank > other.rank  # type: ignore[attr-defined]

    def __ge__(self, other: object) -> bool:
        if type(other) is not type(self):
            return NotImplemented
        return self.rank >= other.rank  # type: ignore[attr-defined]

    def __str__(self) -> str:
        return str(self.value)

    @classmethod
    def parse(cls, text: str):
        try:
            return cls(text.strip().lower())
        except ValueError:
            allowed = ", ".join(m.value for m in cls)
            raise ValueError(f"unknown {cls.__name__.lower()} {text!r} (expected one of: {allowed})") from None


class Severity(_Ordered):
    INFO = "info"
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    CRITICAL = "critical"


class Confidence(_Ordered):
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"


class Status(enum.Enum):
    FAIL = "fail"
    PASS = "pass"
    NOT_EVALUATED = "not-evaluated"
    #: A failure of the previous run (``--baseline``) that this run could not re-evaluate: still open, carried
    #: into every output so GitHub does not close its alert (see :mod:`auditor.baseline`).
    CARRIED_OVER = "carried-over"

    def __str__(self) -> str:
        return self.value


#: Resource types that stand for a whole listing, not one resource: a not-evaluated entry on one of them means
#: "everything this listing would have held is unknown". ``region`` is ``RegionInventory.scope(what)`` (id
#: ``<region>/<what>``), ``s3-buckets`` the account's bucket list, ``monitors`` a Datadog organisation,
#: ``ecs-cluster`` a cluster whose services could not be listed, ``check`` a check that crashed (the engine),
#: ``account`` an account of a multi-account scan that could not be reached at all (``auditor.org``).
#: :func:`auditor.baseline.covers` is the one place that reads it.
SCOPE_TYPES = frozenset({"region", "s3-buckets", "monitors", "ecs-cluster", "check", "account"})

#: Region values of resources that belong to no region (IAM, the bucket list, Datadog).
GLOBAL_REGIONS = frozenset({"", "global", "-"})


@dataclass(frozen=True, order=True, slots=True)  # slots: a scan holds one per result (16,000 at 1x)
class Resource:
    """Where a finding lives. ``provider`` is ``aws``, ``datadog``, ``file`` (or ``auditor`` for a check's own
    failure)."""

    provider: str
    account: str
    region: str
    type: str
    id: str
    arn: str = ""

    def __post_init__(self) -> None:
        for name in ("provider", "type", "id"):
            if not getattr(self, name):
                raise ValueError(f"Resource.{name} must not be empty ({self!r})")

    @property
    def display(self) -> str:
        return f"{self.type} {self.id}"

    @property
    def is_scope(self) -> bool:
        """Whether this stands for a whole listing (see :data:`SCOPE_TYPES`) rather than one resource."""
        return self.type in SCOPE_TYPES

    @property
    def is_global(self) -> bool:
        return self.region in GLOBAL_REGIONS


_ID_RE = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*/[a-z0-9]+(?:-[a-z0-9]+)*$")
_RULE_RE = re.compile(r"^[A-Z]{2,4}-\d+$")


@dataclass(frozen=True)
class Remediation:
    text: str
    cli: str = ""
    terraform: str = ""


@dataclass(frozen=True)
class CheckMeta:
    """What a check is, declared once. Validated on construction so a bad plugin fails at load time."""

    id: str
    rule: str
    title: str
    severity: Severity
    description: str
    risk: str
    remediation: Remediation
    docs: tuple[str, ...]
    confidence: Confidence = Confidence.HIGH
    deep: bool = False  # only runs with --deep
    #: A security matter (bucket policies, plain API keys, TLS off), not a reliability one: decides how GitHub
    #: code scanning shows its results (by security-severity or by level; see auditor/reports/sarif.py).
    security: bool = False
    #: Every severity the check may give a finding (default: just ``severity``). The Recorder refuses any
    #: other, so the declaration cannot fall behind the code that escalates or demotes.
    severities: tuple[Severity, ...] = ()
    #: Rule codes this check had before (``BP-3`` for s3-policy/malformed-document, now ``BP-6``): a user who
    #: names one is told what it means now (see :func:`former_rule_notice`).
    former_rules: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        problems = []
        declared = tuple(self.severities) or (self.severity,)
        if all(isinstance(s, Severity) for s in declared):
            declared = tuple(sorted(set(declared), reverse=True))
        object.__setattr__(self, "severities", declared)
        object.__setattr__(self, "former_rules", tuple(self.former_rules))
        if not _ID_RE.match(self.id):
            problems.append(f"id {self.id!r} is not kebab-case 'family/name'")
        if not _RULE_RE.match(self.rule):
            problems.append(f"rule {self.rule!r} is not like 'VT-1'")
        for name in ("title", "description", "risk"):
            if not str(getattr(self, name)).strip():
                problems.append(f"{name} is empty")
        if not isinstance(self.severity, Severity):
            problems.append("severity must be a Severity")
        if not all(isinstance(s, Severity) for s in self.severities):
            problems.append("severities must be Severity values")
        elif self.severity not in self.severities:
            problems.append(f"severities {[str(s) for s in self.severities]} lack the default {self.severity}")
        if not isinstance(self.confidence, Confidence):
            problems.append("confidence must be a Confidence")
        for old in self.former_rules:
            if not _RULE_RE.match(old) or old == self.rule:
                problems.append(f"former rule {old!r} is not a rule code other than {self.rule!r}")
        if not isinstance(self.remediation, Remediation) or not self.remediation.text.strip():
            problems.append("remediation text is empty")
        if not self.docs or not all(isinstance(u, str) and u.startswith("https://") for u in self.docs):
            problems.append("docs must be a non-empty tuple of https:// links")
        if problems:
            raise ValueError(f"invalid check metadata for {self.id!r}: " + "; ".join(problems))

    @property
    def family(self) -> str:
        return self.id.split("/", 1)[0]

    @property
    def kind(self) -> str:
        """``security`` or ``reliability``: how the check is shown in docs, ``explain`` and SARIF."""
        return "security" if self.security else "reliability"


def former_rule_notice(name: str, metas: Iterable[CheckMeta]) -> str:
    """A one-line notice when ``name`` (a user's selector or waiver) is a check's former rule code, else "".

    A current code always means its current check; a former code that no check uses any more still selects
    the renamed check (see :func:`current_rule`).
    """
    code = name.strip().upper()
    metas = list(metas)
    renamed = [m for m in metas if code in m.former_rules]
    if not renamed:
        return ""
    now = [m for m in metas if m.rule == code]
    moved = "; ".join(f"it is {m.rule}" if len(renamed) == 1 else f"{m.id} is {m.rule}" for m in renamed)
    names = ", ".join(m.id for m in renamed)
    if now:
        return f"{code} no longer covers {names}; {moved} ({code} means {now[0].id} only)"
    return f"{code} was renamed: {names} is {', '.join(m.rule for m in renamed)}; {code} still selects it for now"


def current_rule(name: str, metas: Iterable[CheckMeta]) -> str:
    """The rule code ``name`` stands for: itself (upper-cased) when a check has it now; the new code when it is
    the former code of exactly one check and nobody has taken it since; else ``name`` unchanged (an id…)."""
    code = name.strip().upper()
    metas = list(metas)
    if any(m.rule == code for m in metas):
        return code
    renamed = [m.rule for m in metas if code in m.former_rules]
    return renamed[0] if len(renamed) == 1 else name.strip()


@dataclass(frozen=True, slots=True)  # slots: 16,000 findings and passes at 1x, 0.4 KB less each
class Finding:
    check_id: str
    rule: str
    severity: Severity
    confidence: Confidence
    status: Status
    resource: Resource
    message: str
    remediation: str = ""
    evidence: Mapping[str, Any] = field(default_factory=dict)
    reason: str = ""  # for not-evaluated: why
    iam_action: str = ""  # for not-evaluated: the permission that would let it be evaluated
    suppressed: str = ""  # justification when waived by configuration
    key: str = ""  # tells apart findings of one rule on one resource (e.g. the mapped function)
    baseline: str = ""  # with --baseline: "new" or "unchanged" (see auditor.baseline)

    @property
    def fingerprint(self) -> str:
        """This pitfall on this resource, stable from run to run: see :func:`fingerprint`."""
        return fingerprint(self)

    def sort_key(self) -> tuple:
        return (-self.severity.rank, self.check_id, self.resource.account, self.resource.region,
                self.resource.type, self.resource.id, self.key, self.message)


def fingerprint(f: Finding) -> str:
    """The identity of "this check's pitfall on this resource": a hash of check id + resource + key.

    One definition for SARIF (``partialFingerprints.primaryLocationLineHash``), the JSON report and
    ``--baseline``. It leaves out the severity, the message and the evidence on purpose, so an alert keeps
    its identity from night to night whatever changes in how it is described.
    """
    r = f.resource
    ident = "\x1f".join([f.check_id, r.provider, r.account, r.region, r.type, r.id, f.key])
    return hashlib.sha256(ident.encode()).hexdigest()[:32] + ":1"
