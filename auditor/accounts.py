"""Which accounts a multi-account scan reads, and how it reaches each: a role assumed from the base credentials.

Three sources, each a list of (account id, role ARN):

* ``--role-arn ARN`` (repeatable): the roles themselves;
* ``--accounts-file FILE``: one account per line — a role ARN, or a 12-digit account id (the role named by
  ``--role-name``) — optionally followed by a name; ``#`` starts a comment, blank lines are skipped;
* ``--org-role NAME``: the organization's ACTIVE accounts (``organizations:ListAccounts``, from the
  management account or a delegated administrator), role ``NAME`` in each. Accounts that are suspended,
  closed or still joining are left out and named in a notice: no role can be assumed in them.

``--shard I/N`` keeps the accounts whose id hashes to ``I`` (:func:`in_shard`): the shard of an account depends
on its id alone, not on its position in any list, so adding or removing an account never moves another one,
and N jobs with shards 1/N..N/N read every account exactly once.

:func:`assume` builds an :class:`~auditor.inventory.aws.AwsAccount` for a target: refreshable credentials of
the assumed role (botocore's own ``AssumeRoleCredentialFetcher``, refreshed before they expire, so a long
scan never fails half way), the profile's endpoint and configuration, and the read-only guard and call
counting of every account. The role is assumed once, up front, so that an account that cannot be reached is
known before any of its reads is started.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

from botocore.credentials import AssumeRoleCredentialFetcher, CredentialProvider, RefreshableCredentials
from botocore.exceptions import BotoCoreError, ClientError

from .config import read_user_file
from .inventory.aws import AwsAccount
from .inventory.core import CallStats, ConfigurationError, NotAvailable, ReadOnlyViolation, translate

ASSUME_ROLE = "sts:AssumeRole"
LIST_ACCOUNTS = "organizations:ListAccounts"
DEFAULT_SESSION_NAME = "auditor"

_ACCOUNT_ID = re.compile(r"^\d{12}$")
_ROLE_ARN = re.compile(r"^arn:(aws[a-z-]*):iam::(\d{12}):role/([\w+=,.@/-]{1,512})$")
_ROLE_NAME = re.compile(r"^[\w+=,.@/-]{1,512}$")
_SESSION_NAME = re.compile(r"^[\w+=,.@-]{2,64}$")
_SHARD = re.compile(r"^\s*(\d+)\s*/\s*(\d+)\s*$")


@dataclass(frozen=True, order=True)
class AccountTarget:
    """One account to scan and the role that reaches it."""

    account: str
    role_arn: str
    name: str = ""


@dataclass(frozen=True)
class Skipped:
    """An account of the organization that is not scanned (not ACTIVE)."""

    account: str
    name: str
    state: str


def role_arn(partition: str, account: str, role: str) -> str:
    return f"arn:{partition}:iam::{account}:role/{role.strip('/')}"


def parse_role_arn(text: str, where: str = "--role-arn") -> AccountTarget:
    arn = text.strip()
    m = _ROLE_ARN.match(arn)
    if not m:
        raise ConfigurationError(f"{where}: {arn!r} is not an IAM role ARN (arn:aws:iam::123456789012:role/NAME)")
    return AccountTarget(m.group(2), arn)


def check_role_name(name: str, option: str) -> str:
    name = name.strip()
    if not _ROLE_NAME.match(name) or name.startswith("arn:"):
        raise ConfigurationError(f"{option}: {name!r} is not a role name (e.g. auditor-readonly; a path such as "
                                 "team/auditor-readonly is allowed)")
    return name


def check_session_name(name: str) -> str:
    if not _SESSION_NAME.match(name):
        raise ConfigurationError(f"--role-session-name: {name!r} must be 2 to 64 letters, digits or =,.@_- "
                                 "(it names the session in the target accounts' CloudTrail)")
    return name


def read_accounts_file(path: Path, role_name: str | None, partition: str = "aws") -> list[AccountTarget]:
    """The accounts of ``path``: per line a role ARN or an account id (with ``role_name``), then an optional
    name; ``#`` comments and blank lines are skipped. Any other line is a usage error naming it."""
    text = read_user_file(path, name=f"--accounts-file {path}", missing=f"--accounts-file {path}: no such file",
                          directory=f"--accounts-file {path} is a directory")
    out: list[AccountTarget] = []
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        first, *rest = line.split(None, 1)
        name = " ".join(rest[0].split()) if rest else ""
        where = f"--accounts-file {path}, line {number}"
        if first.startswith("arn:"):
            target = parse_role_arn(first, where)
            out.append(AccountTarget(target.account, target.role_arn, name))
        elif _ACCOUNT_ID.match(first):
            if not role_name:
                raise ConfigurationError(f"{where}: account {first} needs --role-name (the role to assume in it), "
                                         "or write the role ARN instead of the account id")
            out.append(AccountTarget(first, role_arn(partition, first, role_name), name))
        else:
            raise ConfigurationError(f"{where}: {first!r} is neither a 12-digit account id nor an IAM role ARN")
    if not out:
        raise ConfigurationError(f"--accounts-file {path} lists no account")
    return out


def unique(targets: list[AccountTarget]) -> list[AccountTarget]:
    """Sorted by account id, each once; the same account with two different roles is a usage error."""
    by_account: dict[str, AccountTarget] = {}
    for t in targets:
        seen = by_account.get(t.account)
        if seen is not None and seen.role_arn != t.role_arn:
            raise ConfigurationError(f"account {t.account} is listed with two roles ({seen.role_arn} and "
                                     f"{t.role_arn}); keep one")
        if seen is None or (not seen.name and t.name):
            by_account[t.account] = t
    return [by_account[a] for a in sorted(by_account)]


def organization_accounts(base: AwsAccount, role: str, partition: str,
                          region: str) -> tuple[list[AccountTarget], list[Skipped]]:
    """The organization's ACTIVE accounts with role ``role`` in each, and those left out (not ACTIVE)."""
    targets: list[AccountTarget] = []
    skipped: list[Skipped] = []
    try:
        for page in base.paginate("organizations", region, "ListAccounts"):
            for acct in page.get("Accounts", []):
                state = str(acct.get("State") or acct.get("Status") or "")
                ident, name = str(acct.get("Id", "")), str(acct.get("Name", ""))
                if state == "ACTIVE":
                    targets.append(AccountTarget(ident, role_arn(partition, ident, role), name))
                else:
                    skipped.append(Skipped(ident, name, state or "unknown"))
    except NotAvailable as exc:
        cause = exc.__cause__
        code = cause.response.get("Error", {}).get("Code", "") if isinstance(cause, ClientError) else ""
        if code == "AWSOrganizationsNotInUseException":
            raise ConfigurationError("--org-role: the base account is not in an organization; list the accounts "
                                     "with --role-arn or --accounts-file") from None
        raise ConfigurationError(f"cannot list the organization's accounts: {exc.reason} (run with credentials of "
                                 "the management account or of a delegated administrator)") from None
    return sorted(targets), sorted(skipped, key=lambda s: s.account)


def parse_shard(text: str) -> tuple[int, int]:
    """``"2/8"`` → (2, 8); a usage error unless 1 <= I <= N."""
    m = _SHARD.match(text or "")
    if not m:
        raise ConfigurationError(f"--shard must be I/N, e.g. 1/4, got {text!r}")
    i, n = int(m.group(1)), int(m.group(2))
    if n < 1 or not 1 <= i <= n:
        raise ConfigurationError(f"--shard {text}: I must be between 1 and N (N at least 1)")
    return i, n


def shard_of(account: str, n: int) -> int:
    """The shard (1..n) an account belongs to: sha256 of its id, modulo n. Depends on the id alone."""
    return int(hashlib.sha256(account.encode("ascii")).hexdigest(), 16) % n + 1


def in_shard(account: str, i: int, n: int) -> bool:
    return shard_of(account, n) == i


class _AssumedRole(CredentialProvider):
    """First in the session's credential chain: the assumed role's refreshable credentials."""

    METHOD = "auditor-assume-role"
    CANONICAL_NAME = "auditor-assume-role"

    def __init__(self, credentials: RefreshableCredentials) -> None:
        self._credentials = credentials

    def load(self) -> RefreshableCredentials:
        return self._credentials


def assume(base: AwsAccount, target: AccountTarget, *, session_name: str = DEFAULT_SESSION_NAME,
           external_id: str | None = None, workers: int = 8, stats: CallStats | None = None) -> AwsAccount:
    """An :class:`AwsAccount` for ``target`` with the role's credentials, assumed from ``base``'s.

    Raises :class:`NotAvailable` naming ``sts:AssumeRole`` when the role cannot be assumed: it does not exist,
    its trust policy does not admit the base principal, the external id does not match, or the account is
    suspended or closed (AWS says AccessDenied to all of these). The AssumeRole calls are made through the
    target's own session, so they are guarded and counted with the account's other calls.
    """
    source = base.session.get_credentials()
    if source is None:
        raise ConfigurationError("no usable AWS credentials to assume the roles with; set --profile, AWS_PROFILE "
                                 "or the AWS_* variables")
    aws = AwsAccount(base.profile, workers=workers, stats=stats)
    botocore_session = aws.session._session
    create = botocore_session.create_client

    def sts_client(service: str, **credentials: str):
        return create(service, region_name=base.default_region or "us-east-1", config=aws._config, **credentials)

    extra = {"RoleSessionName": session_name}
    if external_id:
        extra["ExternalId"] = external_id
    fetcher = AssumeRoleCredentialFetcher(sts_client, source, target.role_arn, extra_args=extra)
    try:
        metadata = fetcher.fetch_credentials()
    except ReadOnlyViolation:
        raise
    except (ClientError, BotoCoreError) as exc:
        raise _assume_failed(target, exc) from exc
    credentials = RefreshableCredentials.create_from_metadata(metadata, fetcher.fetch_credentials,
                                                              method="assume-role")
    # First in the chain (a named profile's chain has no "env" provider to insert before).
    botocore_session.get_component("credential_provider").providers.insert(0, _AssumedRole(credentials))
    aws._account_id = target.account  # AssumeRole into the role's own account has just proved the identity
    return aws


def _assume_failed(target: AccountTarget, exc: Exception) -> NotAvailable:
    why = translate(exc, "sts", "AssumeRole")
    if why.kind == "denied":  # not "access denied" alone: granting an action to the base identity seldom helps
        reason = (f"the role {target.role_arn} could not be assumed: STS refused it (no such role in the account, "
                  "a trust policy that does not admit the base credentials, another external id, or a suspended "
                  "or closed account)")
    else:
        reason = f"the role {target.role_arn} could not be assumed: {why.reason}"
    return NotAvailable(reason, ASSUME_ROLE, kind=why.kind)
