"""The vocabulary every part of auditor speaks: severities, findings, check metadata.

Everything here is an immutable value. Findings are never built by hand in a check: the engine gives each
check a :class:`Recorder` that stamps the check's identity on every finding it builds (zizmor's pattern), so a
finding cannot carry the wrong id, a missing resource or unredacted evidence.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any


class _Ordered(enum.Enum):
    """An enum whose members compare by declaration order and print as their value."""

    @property
    def rank(self) -> int:
        return list(type(self)).index(self)

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

    def __str__(self) -> str:
        return self.value


@dataclass(frozen=True, order=True)
class Resource:
    """Where a finding lives. ``provider`` is ``aws``, ``datadog`` or ``file``."""

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

    def __post_init__(self) -> None:
        problems = []
        if not _ID_RE.match(self.id):
            problems.append(f"id {self.id!r} is not kebab-case 'family/name'")
        if not _RULE_RE.match(self.rule):
            problems.append(f"rule {self.rule!r} is not like 'VT-1'")
        for name in ("title", "description", "risk"):
            if not str(getattr(self, name)).strip():
                problems.append(f"{name} is empty")
        if not isinstance(self.severity, Severity):
            problems.append("severity must be a Severity")
        if not isinstance(self.confidence, Confidence):
            problems.append("confidence must be a Confidence")
        if not isinstance(self.remediation, Remediation) or not self.remediation.text.strip():
            problems.append("remediation text is empty")
        if not self.docs or not all(isinstance(u, str) and u.startswith("https://") for u in self.docs):
            problems.append("docs must be a non-empty tuple of https:// links")
        if problems:
            raise ValueError(f"invalid check metadata for {self.id!r}: " + "; ".join(problems))

    @property
    def family(self) -> str:
        return self.id.split("/", 1)[0]


@dataclass(frozen=True)
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

    def sort_key(self) -> tuple:
        return (-self.severity.rank, self.check_id, self.resource.account, self.resource.region,
                self.resource.type, self.resource.id, self.key, self.message)
