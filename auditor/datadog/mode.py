"""Whether a scan reads Datadog: the ``datadog`` setting (``auto``, ``required``, ``off``; see
:data:`auditor.config.DATADOG_MODES`) applied to the selected checks."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pragma: no cover
    from ..check import Check
    from .settings import DatadogSettings


def reads_datadog(chk: Check) -> bool:
    """Whether ``chk``'s declared reads include a Datadog load."""
    from ..inventory.loads import DATADOG, LOADS, closure

    return any(LOADS[key].scope == DATADOG for key in closure(chk.requires))


def intended(settings: DatadogSettings, environ: Mapping[str, str], site: str | None, host: str | None) -> bool:
    """Whether anything says this scan should read Datadog: a key, a site or a host, from flags or environment.
    A half-configured Datadog (one key, or a site without keys) is intent, and its gaps are reported."""
    named = [site, host, environ.get("DD_SITE"), environ.get("DD_HOST")]
    return bool(settings.api_key or settings.app_key or any((v or "").strip() for v in named))


def plan(mode: str, checks: list[Check], *, configured: bool, named: bool) -> tuple[list[Check], str]:
    """The checks to run and a notice ("" for none).

    ``off`` skips every check that reads Datadog; ``auto`` skips them when nothing of Datadog is configured
    and the user did not name them with ``--check`` (``named``); ``required`` keeps them, so missing keys make
    them "not evaluated" and the scan incomplete (exit 3).
    """
    needing = [c for c in checks if reads_datadog(c)]
    if not needing or mode == "required" or (mode == "auto" and (configured or named)):
        return checks, ""
    kept = [c for c in checks if c not in needing]
    rules = ", ".join(sorted({c.meta.rule for c in needing}))
    if mode == "off":
        why = "datadog = \"off\""
    else:
        why = "no Datadog configuration (DD_API_KEY, DD_APP_KEY, DD_SITE or DD_HOST)"
    return kept, (f"Datadog checks skipped ({rules}): {why}; set datadog = \"required\" (or --datadog required) "
                  "to make missing Datadog keys fail the scan")
