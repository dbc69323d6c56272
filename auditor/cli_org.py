"""The command line of organisation scale: ``scan`` over many accounts, ``auditor accounts``, ``auditor merge``.

Kept apart from :mod:`auditor.cli` (which mounts these commands and calls :func:`scan_accounts`) so that the
single-account path stays as it was. Parse → build objects → run → render → exit code, as there.
"""

from __future__ import annotations

import enum
import json
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape

from . import accounts as accounts_mod
from .accounts import AccountTarget
from .inventory.core import CallStats, ConfigurationError
from .report import Report
from .reports import Format


@dataclass
class AccountOptions:
    """The multi-account options of ``scan`` and ``accounts``, checked before any call is made."""

    role_arns: list[AccountTarget] = field(default_factory=list)
    org_role: str | None = None
    accounts_file: Path | None = None
    role_name: str | None = None
    external_id: str | None = None
    session_name: str = accounts_mod.DEFAULT_SESSION_NAME
    shard: tuple[int, int] | None = None

    @classmethod
    def parse(cls, *, role_arn: list[str] | None, org_role: str | None, accounts_file: Path | None,
              role_name: str | None, external_id: str | None = None, session_name: str | None = None,
              shard: str | None = None) -> AccountOptions:
        out = cls(
            role_arns=[accounts_mod.parse_role_arn(a) for a in role_arn or []],
            org_role=accounts_mod.check_role_name(org_role, "--org-role") if org_role is not None else None,
            accounts_file=accounts_file,
            role_name=accounts_mod.check_role_name(role_name, "--role-name") if role_name is not None else None,
            external_id=external_id,
            session_name=accounts_mod.check_session_name(session_name or accounts_mod.DEFAULT_SESSION_NAME),
            shard=accounts_mod.parse_shard(shard) if shard is not None else None,
        )
        if out.org_role and (out.role_arns or out.accounts_file):
            raise ConfigurationError("--org-role lists the organization's accounts: it cannot be combined with "
                                     "--role-arn or --accounts-file")
        if out.role_name and not out.accounts_file:
            raise ConfigurationError("--role-name names the role for the account ids of --accounts-file")
        if not out.several:
            for given, name in ((out.shard, "--shard"), (external_id, "--external-id"),
                                (session_name, "--role-session-name")):
                if given is not None:
                    raise ConfigurationError(f"{name} applies to a scan of several accounts: add --org-role, "
                                             "--role-arn or --accounts-file")
        if external_id is not None and not external_id.strip():
            raise ConfigurationError("--external-id must not be empty")
        return out

    @property
    def several(self) -> bool:
        return bool(self.role_arns or self.org_role or self.accounts_file)

    def resolve(self, base: Any, region: str) -> tuple[list[AccountTarget], list[str], dict[str, Any]]:
        """The accounts to scan (this shard's), notices about those left out, and the target's settings."""
        from .inventory.regions import partition_of

        partition = partition_of(base, region)
        notices: list[str] = []
        settings: dict[str, Any] = {}
        if self.org_role:
            targets, skipped = accounts_mod.organization_accounts(base, self.org_role, partition, region)
            settings["org_role"] = self.org_role
            if skipped:
                listed = ", ".join(f"{s.account} ({s.state.lower()})" for s in skipped)
                notices.append(f"{len(skipped)} account(s) of the organization are not active and were not scanned: "
                               f"{listed}")
        else:
            targets = list(self.role_arns)
            if self.accounts_file is not None:
                targets += accounts_mod.read_accounts_file(self.accounts_file, self.role_name, partition)
        targets = accounts_mod.unique(targets)
        total = len(targets)
        if self.shard is not None:
            i, n = self.shard
            targets = [t for t in targets if accounts_mod.in_shard(t.account, i, n)]
            settings["shard"] = f"{i}/{n}"
            notices.append(f"shard {i}/{n}: {len(targets)} of {total} account(s)")
        return targets, notices, settings


def scan_accounts(opts: AccountOptions, *, profile: str | None, regions: list[str] | None, all_regions: bool,
                  checks: list, cfg: Any, check_named: bool, datadog: Any, datadog_site: str | None,
                  datadog_host: str | None, workers: int, parallel: int, deep: bool, sarif_category: str,
                  warnings: list[str], status: Any) -> Report:
    """Resolve the accounts, scan each, and return the combined report (raises ConfigurationError)."""
    from . import org
    from .datadog import mode as datadog_mode
    from .inventory.aws import AwsAccount
    from .inventory.datadog import DatadogInventory, DatadogSettings

    run_stats = CallStats()
    base = AwsAccount(profile, workers=workers, stats=run_stats)
    home = base.default_region or "us-east-1"
    if regions:
        base.validate_regions(regions)
    base_account = base.account_id()  # the base credentials work, before any account is tried
    status.update("listing the accounts…")
    targets, notices, settings = opts.resolve(base, home)
    try:
        dd_settings = DatadogSettings.resolve(site=datadog_site, host=datadog_host, environ=os.environ)
    except ValueError as exc:
        raise ConfigurationError(str(exc)) from None
    mode = datadog.value if datadog else cfg.datadog
    checks, dd_notice = datadog_mode.plan(
        mode, checks, configured=datadog_mode.intended(dd_settings, os.environ, datadog_site, datadog_host),
        named=check_named)
    dd = DatadogInventory(dd_settings, stats=run_stats)
    settings.update({
        "profile": profile or os.environ.get("AWS_PROFILE", ""),
        "base_account": base_account,
        "datadog": {"mode": mode, "used": not dd_notice, "configured": dd_settings.configured,
                    "site": dd_settings.site, "api_url": dd_settings.api_url,
                    "description": dd_settings.describe()},
    })
    if all_regions:
        settings["all_regions"] = True
    if sarif_category:
        settings["sarif_category"] = sarif_category
    if not all_regions and not regions:
        if not base.default_region:
            raise ConfigurationError("no AWS region: pass --region, --all-regions or set one in the profile")
        regions = [base.default_region]
    plan = org.Plan(base=base, targets=targets, checks=checks, regions=None if all_regions else regions,
                    workers=workers, parallel=parallel, deep=deep, session_name=opts.session_name,
                    external_id=opts.external_id, sarif_category=sarif_category, datadog=dd, settings=settings,
                    warnings=warnings, notices=notices + ([dd_notice] if dd_notice else []))
    status.update(f"scanning {len(targets)} account(s), {plan.accounts_at_once} at a time…")
    try:
        return org.scan(plan, run_stats=run_stats, on_progress=status.update)
    finally:
        dd.close()
        base.close()


_OUTPUT_EXT = ((Format.json, "json"), (Format.sarif, "sarif"), (Format.markdown, "md"))


def write_accounts(report: Report, directory: Path) -> None:
    """``--output-dir``: each account's report as ``<account>.json``, ``.sarif`` and ``.md`` (rendered first, then
    written, so a failed render leaves no file). The files merge back into the combined report."""
    from .cli import EXIT_OUTPUT, _fail, _render, _write_file, err
    from .merge import account_reports

    rendered = []
    for account, sub in account_reports(report).items():
        rendered += [(directory / f"{account}.{ext}", _render(sub, fmt, to_terminal=False)) for fmt, ext in _OUTPUT_EXT]
    try:
        directory.mkdir(parents=True, exist_ok=True)
        for path, text in rendered:
            _write_file(path, text)
    except OSError as exc:
        raise _fail(f"cannot write to --output-dir {directory}: {exc.strerror or exc}", EXIT_OUTPUT) from None
    err.print(f"wrote {len(rendered)} reports ({len(rendered) // len(_OUTPUT_EXT)} account(s) × JSON, SARIF, "
              f"Markdown) to {escape(str(directory))}")


# -- commands -------------------------------------------------------------------------------------------------
RoleArnOpt = Annotated[list[str] | None, typer.Option(
    "--role-arn", metavar="ARN", help="Scan the account of this role, assumed from the base credentials. Repeatable.")]
OrgRoleOpt = Annotated[str | None, typer.Option(
    "--org-role", metavar="NAME", help="Scan every ACTIVE account of the organization (organizations:ListAccounts, "
    "from the management or a delegated-admin account) through the role NAME in each.")]
AccountsFileOpt = Annotated[Path | None, typer.Option(
    "--accounts-file", metavar="FILE", dir_okay=False, help="Scan the accounts listed in FILE: per line a role ARN, "
    "or an account id (with --role-name), then an optional name; # comments.")]
RoleNameOpt = Annotated[str | None, typer.Option(
    "--role-name", metavar="NAME", help="The role to assume in the account ids of --accounts-file.")]
ShardOpt = Annotated[str | None, typer.Option(
    "--shard", metavar="I/N", help="Only the accounts of shard I of N (by a hash of the account id: N jobs cover "
    "every account once, and an account stays in its shard as others come and go).")]


class ListFormat(enum.StrEnum):
    text = "text"
    json = "json"


def list_accounts(*, profile: str | None, org_role: str | None, role_arn: list[str] | None,
                  accounts_file: Path | None, role_name: str | None, shard: str | None, fmt: ListFormat) -> None:
    """``auditor accounts``: the accounts a scan (or one shard of it) reads, one per line or as JSON."""
    from .cli import _fail, err
    from .inventory.aws import AwsAccount

    try:
        opts = AccountOptions.parse(role_arn=role_arn, org_role=org_role, accounts_file=accounts_file,
                                    role_name=role_name, shard=shard)
        if not opts.several:
            raise ConfigurationError("name the accounts: --org-role NAME, --role-arn ARN or --accounts-file FILE")
        base = AwsAccount(profile) if opts.org_role else None
        if base is not None:
            base.account_id()  # the base credentials work, or one line saying why
        home = (base.default_region if base else None) or "us-east-1"
        targets, notices, _ = opts.resolve(base or _NoBase(profile), home)
    except ConfigurationError as exc:
        raise _fail(str(exc)) from None
    n = opts.shard[1] if opts.shard else 1
    if fmt is ListFormat.json:
        doc = [{"account": t.account, "name": t.name, "role_arn": t.role_arn,
                "shard": f"{accounts_mod.shard_of(t.account, n)}/{n}"} for t in targets]
        sys.stdout.write(json.dumps(doc, indent=2) + "\n")
    else:
        for t in targets:
            sys.stdout.write("\t".join([t.account, t.role_arn, t.name]).rstrip("\t") + "\n")
    for note in notices:
        err.print(f"note: {escape(note)}", soft_wrap=True)


class _NoBase:
    """Without --org-role no AWS call is needed to list the accounts: only the partition, from the profile."""

    def __init__(self, profile: str | None) -> None:
        import boto3

        self.session = boto3.Session(profile_name=profile) if profile else boto3.Session()


def merge_reports(files: list[Path], outputs: list[tuple[Format, Path | None]], output_dir: Path | None,
                  fail_on: str) -> None:
    """``auditor merge``: one report of the JSON reports ``files``; writes ``outputs``, exits as a scan would."""
    from . import cli
    from .merge import load, merge

    try:
        report = merge([load(p) for p in files], [str(p) for p in files])
    except ConfigurationError as exc:
        raise cli._fail(str(exc)) from None
    if output_dir is not None:
        write_accounts(report, output_dir)
    failed, stdout_closed = cli._write(outputs, report)
    if stdout_closed and not failed:
        raise typer.Exit(cli.EXIT_STDOUT_CLOSED)
    if not any(fmt is Format.table and path is None for fmt, path in outputs):
        from .reports.table import summary_line

        cli.err.print(escape(summary_line(report)))
    if failed:
        raise cli._fail(f"could not write {'; '.join(failed)}", cli.EXIT_OUTPUT)
    raise typer.Exit(cli.exit_code(report, fail_on))
