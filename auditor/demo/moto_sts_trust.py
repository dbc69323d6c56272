"""AssumeRole as AWS decides it, for the local demo/test server only.

moto 5.2.5 lets anyone assume any role ARN, existing or not ("the role does not need to exist"), so a test of
"an account whose role cannot be assumed" would pass against a server that never refuses. AWS refuses with
``AccessDenied`` when the role does not exist in its account, when the role's trust policy has no Allow of
``sts:AssumeRole`` for the caller's account (``arn:…:iam::<caller>:root``, the bare account id, or ``*``),
when that statement's ``sts:ExternalId`` condition does not match the external id given, and when the account
is suspended or closed. This module patches ``STSBackend.assume_role`` to do the same: only the Allow
statements' principals, actions and ``StringEquals sts:ExternalId`` are read, which is all the tests and the
demo use. ``tests/test_org.py`` keeps a test that fails as soon as upstream moto refuses by itself.
"""

from __future__ import annotations

import json
import threading
from typing import Any
from urllib.parse import unquote

_lock = threading.Lock()
_installed = False
_original: Any = None  # moto's own assume_role, kept for the test that notices when moto refuses by itself


def installed() -> bool:
    return _installed


def install() -> None:
    """Patch moto's STS backend (idempotent; affects this process only)."""
    global _installed, _original
    with _lock:
        if _installed:
            return
        import warnings

        from moto.sts.exceptions import STSClientError

        # AWS answers AccessDenied without a modelled error shape; moto's serialiser says so on every refusal.
        warnings.filterwarnings("ignore", message=r"Exception\(AccessDenied\) with code AccessDenied")
        from moto.sts.models import STSBackend

        class AccessDenied(STSClientError):
            code = "AccessDenied"

        original = _original = STSBackend.assume_role

        def assume_role(self, region_name: str, role_session_name: str, role_arn: str, policy: str, duration: int,
                        external_id: str) -> Any:
            why = refusal(self.account_id, role_arn, external_id)
            if why:
                raise AccessDenied(f"User: arn:aws:iam::{self.account_id}:user/moto is not authorized to perform: "
                                   f"sts:AssumeRole on resource: {role_arn} ({why})")
            return original(self, region_name, role_session_name, role_arn, policy, duration, external_id)

        STSBackend.assume_role = assume_role  # type: ignore[method-assign]
        _installed = True


def refusal(caller: str, role_arn: str, external_id: str | None) -> str:
    """Why AWS would refuse ``caller`` the role ``role_arn``, or "" when it would not."""
    from moto.iam.models import iam_backends
    from moto.organizations.models import organizations_backends

    parts = role_arn.split(":")
    if len(parts) < 6 or parts[2] != "iam":
        return "not a role ARN"
    partition, account = parts[1], parts[4]
    managed = organizations_backends.master_accounts.get(account)
    if managed is not None:
        org = organizations_backends[managed[0]][managed[1]]
        member = next((a for a in org.accounts if a.id == account), None)
        if member is not None and member.status != "ACTIVE":
            return f"the account is {member.status.lower()}"
    try:
        role = iam_backends[account][partition].get_role_by_arn(role_arn)
    except Exception:  # noqa: BLE001 - moto's IAMNotFoundException
        return "no such role"
    document = role.assume_role_policy_document
    try:
        trust = json.loads(unquote(document) if isinstance(document, str) else json.dumps(document))
    except ValueError:
        return "unreadable trust policy"
    statements = trust.get("Statement", [])
    for st in statements if isinstance(statements, list) else [statements]:
        if st.get("Effect") != "Allow" or not _action(st.get("Action")) or not _principal(st.get("Principal"), caller):
            continue
        wanted = ((st.get("Condition") or {}).get("StringEquals") or {}).get("sts:ExternalId")
        if wanted is not None and wanted != external_id:
            continue
        return ""
    return "the trust policy does not admit the caller"


def _listed(value: Any) -> list[str]:
    return [value] if isinstance(value, str) else list(value or [])


def _action(value: Any) -> bool:
    return any(a in ("sts:AssumeRole", "sts:*", "*") for a in _listed(value))


def _principal(value: Any, caller: str) -> bool:
    if value == "*":
        return True
    aws = _listed((value or {}).get("AWS")) if isinstance(value, dict) else []
    return any(p == "*" or p == caller or (p.startswith("arn:") and p.split(":")[4] == caller) for p in aws)
