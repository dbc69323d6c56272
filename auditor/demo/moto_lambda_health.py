"""Report an event source mapping's own health, as AWS does, for mappings the demo marks — locally only.

AWS reports on every event source mapping ``State``, ``StateTransitionReason`` ("User initiated" or "Lambda
initiated", or the problem) and ``LastProcessingResult`` (``OK``, ``No records processed`` or
``PROBLEM: …``). moto 5.2.5 reports ``LastProcessingResult`` as null, ``StateTransitionReason`` always "User
initiated" and a ``State`` that only follows the Enabled flag, because nothing ever polls. The demo seeds
a mapping whose consumer lost access to its queue; in AWS, Lambda would soon report that itself. This
extension lets the seeder say what AWS would report for that one mapping (:func:`set_health`) and passes
every other mapping through unchanged. The checks' own tests cover these fields with botocore's Stubber
(validated against the real service model), and a test fails as soon as moto reports them itself.
"""

from __future__ import annotations

import threading
from typing import Any

_lock = threading.Lock()
_health: dict[str, dict[str, Any]] = {}  # mapping UUID → fields to report
_installed = False


def set_health(uuid: str, *, state: str | None = None, reason: str | None = None,
               last_result: str | None = None) -> None:
    """Make ``uuid`` report these fields (only takes effect in the process that runs the moto server)."""
    fields = {"State": state, "StateTransitionReason": reason, "LastProcessingResult": last_result}
    with _lock:
        _health[uuid] = {k: v for k, v in fields.items() if v is not None}


def install() -> None:
    global _installed
    with _lock:
        if _installed:
            return
        _installed = True
    from moto.awslambda.models import EventSourceMapping

    original = EventSourceMapping.get_configuration

    def get_configuration(self) -> dict[str, Any]:
        out = original(self)
        with _lock:
            out.update(_health.get(self.uuid, {}))
        return out

    EventSourceMapping.get_configuration = get_configuration
