"""How a check is declared and how it records its outcome.

A check is metadata plus a function ``run(inventory, rec)``. The function reads the inventory and calls
``rec.fail`` / ``rec.ok`` / ``rec.not_evaluated``; the :class:`Recorder` stamps the check's id, rule,
default severity and confidence on every finding and redacts the evidence, so a check cannot build a
finding wrong. A finding may escalate or demote its severity only to one the check declares in
``severities=`` (the SARIF report needs a rule descriptor for every severity a check can emit).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from .inventory.core import NotAvailable
from .model import CheckMeta, Confidence, Finding, Remediation, Resource, Severity, Status
from .redact import redact, scrub

RunFn = Callable[[Any, "Recorder"], None]


@dataclass(frozen=True)
class Check:
    meta: CheckMeta
    run: RunFn
    requires: tuple[str, ...] = ()  # declared reads: loads of auditor.inventory.loads, e.g. ("sqs.queues",)

    @property
    def operations(self):
        """Every API operation this check's verdicts may depend on (its loads and what they build on)."""
        from .inventory.loads import closure, operations

        return operations(closure(self.requires, deep=True))

    @property
    def id(self) -> str:
        return self.meta.id


def check(
    *,
    id: str,
    rule: str,
    title: str,
    severity: Severity,
    security: bool = False,
    severities: tuple[Severity, ...] = (),
    former_rules: tuple[str, ...] = (),
    description: str,
    risk: str,
    remediation: str,
    cli: str = "",
    terraform: str = "",
    docs: tuple[str, ...],
    confidence: Confidence = Confidence.HIGH,
    requires: tuple[str, ...] = (),
    deep: bool = False,
) -> Callable[[RunFn], Check]:
    """Decorator turning ``run(inventory, rec)`` into a validated :class:`Check`."""
    meta = CheckMeta(
        id=id,
        rule=rule,
        title=title,
        severity=severity,
        security=security,
        severities=tuple(severities),
        former_rules=tuple(former_rules),
        description=description,
        risk=risk,
        remediation=Remediation(remediation, cli, terraform),
        docs=tuple(docs),
        confidence=confidence,
        deep=deep,
    )

    from .inventory.loads import LOADS

    unknown = [key for key in requires if key not in LOADS]
    if unknown:
        raise ValueError(f"invalid check metadata for {id!r}: unknown inventory load(s) {', '.join(unknown)} "
                         f"(known: {', '.join(sorted(LOADS))})")

    def wrap(fn: RunFn) -> Check:
        return Check(meta, fn, tuple(requires))

    return wrap


class Recorder:
    """Collects one check's findings; the only way a check can create a :class:`Finding`."""

    def __init__(self, meta: CheckMeta) -> None:
        self.meta = meta
        self.findings: list[Finding] = []

    def _make(self, status: Status, resource: Resource, message: str, **kw: Any) -> Finding:
        if not isinstance(resource, Resource):
            raise TypeError(f"{self.meta.id}: a finding needs a Resource, got {type(resource).__name__}")
        if not message.strip():
            raise ValueError(f"{self.meta.id}: a finding needs a message")
        severity = kw.pop("severity", None) or self.meta.severity
        if severity not in self.meta.severities:
            raise ValueError(f"{self.meta.id}: severity {severity} is not among the severities the check declares "
                             f"({', '.join(map(str, self.meta.severities))}); declare it in severities=")
        evidence: Mapping[str, Any] = redact(dict(kw.pop("evidence", None) or {}))
        finding = Finding(
            check_id=self.meta.id,
            rule=self.meta.rule,
            severity=severity,
            confidence=kw.pop("confidence", None) or self.meta.confidence,
            status=status,
            resource=resource,
            message=scrub(message),
            remediation=self.meta.remediation.text,
            evidence=evidence,
            **kw,
        )
        self.findings.append(finding)
        return finding

    def fail(
        self,
        resource: Resource,
        message: str,
        *,
        severity: Severity | None = None,
        confidence: Confidence | None = None,
        evidence: Mapping[str, Any] | None = None,
        key: str = "",
    ) -> Finding:
        return self._make(
            Status.FAIL, resource, message, severity=severity, confidence=confidence, evidence=evidence, key=key
        )

    def ok(
        self, resource: Resource, message: str, *, evidence: Mapping[str, Any] | None = None, key: str = ""
    ) -> Finding:
        return self._make(Status.PASS, resource, message, evidence=evidence, key=key)

    def not_evaluated(self, resource: Resource, reason: str, iam_action: str = "", *, key: str = "") -> Finding:
        return self._make(
            Status.NOT_EVALUATED,
            resource,
            f"{resource.display} was not evaluated: {reason}",
            reason=scrub(reason),
            iam_action=iam_action,
            key=key,
        )

    @contextmanager
    def evaluating(self, resource: Resource, *, key: str = "") -> Iterator[None]:
        """Run a block for one resource; data that cannot be fetched makes it "not evaluated", not passing."""
        try:
            yield
        except NotAvailable as exc:
            self.not_evaluated(resource, exc.reason, exc.iam_action, key=key)
