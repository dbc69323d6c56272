"""The command line: parse → build objects → run → render → exit code. Nothing else lives here."""

from __future__ import annotations

import enum
import logging
import os
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from . import __version__, engine
from . import baseline as baseline_mod
from . import config as config_mod
from .check import Check
from .cli_org import AccountsFileOpt, OrgRoleOpt, RoleArnOpt, RoleNameOpt, ShardOpt
from .inventory import Inventory
from .inventory.core import ConfigurationError
from .model import Severity
from .redact import RedactingFilter, RedactingFormatter, scrub, scrub_known
from .report import Report
from .reports import Format

EXIT_OK = 0
EXIT_FINDINGS = 1
EXIT_USAGE = 2
EXIT_INCOMPLETE = 3
EXIT_INTERNAL = 4

app = typer.Typer(
    name="auditor",
    help="Audit live AWS accounts and Datadog for quiet event-driven and container pitfalls.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
err = Console(stderr=True, highlight=False)
log = logging.getLogger("auditor")


class DatadogMode(enum.StrEnum):
    auto = "auto"
    required = "required"
    off = "off"


class FailOn(enum.StrEnum):
    info = "info"
    low = "low"
    medium = "medium"
    high = "high"
    critical = "critical"
    never = "never"


def _setup_logging(verbose: bool) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(RedactingFilter())
    handler.setFormatter(RedactingFormatter("%(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.DEBUG if verbose else logging.WARNING)
    for noisy in ("botocore", "boto3", "urllib3"):
        logging.getLogger(noisy).setLevel(logging.INFO if verbose else logging.WARNING)


def _fail(message: str, code: int = EXIT_USAGE) -> typer.Exit:
    err.print(f"[bold red]error:[/] {escape(scrub(message))}", soft_wrap=True)
    return typer.Exit(code)


def exit_code(report: Report, fail_on: str, fail_on_new: str | None = None) -> int:
    """1 for a failure at or above ``fail_on``, or a *new* one (not in ``--baseline``; without a baseline every
    finding is new) at or above ``fail_on_new``; else 3 when the scan is incomplete; else 0."""
    if fail_on != FailOn.never.value:
        threshold = Severity.parse(fail_on)
        if any(f.severity >= threshold for f in report.failures):
            return EXIT_FINDINGS
    if fail_on_new is not None and fail_on_new != FailOn.never.value:
        threshold = Severity.parse(fail_on_new)
        if any(f.severity >= threshold and f.baseline != baseline_mod.UNCHANGED for f in report.failures):
            return EXIT_FINDINGS
    if not report.complete:
        return EXIT_INCOMPLETE
    return EXIT_OK


def _select(include: list[str], exclude: list[str], deep: bool, warnings: list[str],
            waived: list[str] | None = None) -> list[Check]:
    try:
        checks = engine.load_checks(warnings=warnings)
        chosen = engine.select(checks, include, exclude, deep=deep)
    except KeyError as exc:
        raise _fail(f"unknown check {exc.args[0]!r}; `auditor checks` lists them") from None
    except engine.CheckLoadError as exc:
        raise _fail(str(exc)) from None
    for note in engine.rule_notices(checks, [*include, *exclude, *(waived or [])]):
        err.print(f"[yellow]note:[/] {escape(note)}", soft_wrap=True)
    return chosen


def _render(report: Report, fmt: Format, *, to_terminal: bool) -> str:
    from .reports import RenderError, renderer
    from .reports.sarif import too_many_to_show

    color = to_terminal and fmt is Format.table and sys.stdout.isatty() and not os.environ.get("NO_COLOR")
    width = Console().width if color else 140
    try:
        text = renderer(fmt)(report, color=color, width=width)
    except RenderError as exc:
        raise _fail(str(exc)) from None
    if fmt is Format.sarif and too_many_to_show(report):
        err.print("[yellow]warning:[/] more than 5,000 results: GitHub shows only the first 5,000")
    # Messages and evidence were redacted when recorded; this last pass removes any secret the tool was
    # given or found, wherever it ended up, without touching ids or fingerprints.
    return scrub_known(text)


def _write(outputs: list[tuple[Format, Path | None]], report: Report) -> None:
    """Render every requested format first, then write: a failed render leaves no file behind."""
    rendered = [(fmt, path, _render(report, fmt, to_terminal=path is None)) for fmt, path in outputs]
    for fmt, path, text in rendered:
        if path is None:
            sys.stdout.write(text)
            sys.stdout.flush()
            continue
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_name(f".{path.name}.tmp")
            tmp.write_text(text, encoding="utf-8")
            tmp.replace(path)
        except OSError as exc:
            raise _fail(f"cannot write {path}: {exc.strerror or exc}") from None
        err.print(f"wrote {fmt.value} report to {escape(str(path))}")


def _print_stats(report: Report) -> None:
    stats = report.stats or {}
    table = Table(title=f"API calls: {stats.get('total_calls', 0)}", title_justify="left")
    table.add_column("operation")
    table.add_column("calls", justify="right")
    table.add_column("retries", justify="right")
    retries = stats.get("retries", {})
    for op, n in stats.get("calls", {}).items():
        table.add_row(op, str(n), str(retries.get(op, 0)))
    err.print(table)


def _finish(report: Report, cfg: config_mod.Config, outputs: list[tuple[Format, Path | None]], fail_on: str,
            stats: bool, ci: _CiOptions | None = None, output_dir: Path | None = None) -> None:
    """Apply waivers, compare with the baseline, write every output, exit with the code the report deserves."""
    ci = ci or _CiOptions()
    report.findings, expired = config_mod.apply(report.findings, cfg, checks=report.checks)
    report.notices.extend(expired)
    if ci.baseline is not None:
        try:
            baseline_mod.apply(report, ci.baseline)
        except ConfigurationError as exc:
            raise _fail(str(exc)) from None
        report.findings, _ = config_mod.apply(report.findings, cfg, checks=report.checks)  # waive carried ones too
    if output_dir is not None:
        from .cli_org import write_accounts

        write_accounts(report, output_dir)
    _write(outputs, report)
    _ci_notes(report, outputs)
    if stats:
        _print_stats(report)
    if not any(fmt is Format.table and path is None for fmt, path in outputs):
        from .reports.table import summary_line

        err.print(escape(summary_line(report)))
    raise typer.Exit(exit_code(report, fail_on, ci.fail_on_new))


class _CiOptions:
    """What the CI-minded options asked for, checked before anything is scanned (a usage error costs no call)."""

    def __init__(self, baseline: Path | None = None, fail_on_new: FailOn | None = None, query: str | None = None,
                 fmt: Format = Format.table, sarif_category: str | None = None) -> None:
        from .reports.json import Query

        try:
            self.baseline = baseline_mod.load(baseline) if baseline is not None else None
        except ConfigurationError as exc:
            raise _fail(str(exc)) from None
        self.fail_on_new = fail_on_new.value if fail_on_new else None
        self.query = None
        if query is not None:
            if fmt not in (Format.table, Format.json):
                raise _fail(f"--query selects from the JSON report; it cannot be combined with --format {fmt.value}")
            try:
                self.query = Query.parse(query)
            except ValueError as exc:
                raise _fail(str(exc)) from None
        self.sarif_category = (sarif_category or "").strip()
        if sarif_category is not None and not self.sarif_category:
            raise _fail("--sarif-category must not be empty")

    def outputs(self, fmt: Format, output: Path | None, sarif_output: Path | None, json_output: Path | None,
                markdown_output: Path | None) -> list[tuple[Format, Path | None]]:
        outs = _outputs(fmt, output, sarif_output, json_output)
        if self.query is not None:
            outs[0] = (self.query, output)  # type: ignore[assignment]  # renders itself (reports.renderer)
        outs += [(Format.markdown, markdown_output)] if markdown_output else []
        return outs


def _ci_notes(report: Report, outputs: list[tuple[Format, Path | None]]) -> None:
    """An incomplete scan headed for GitHub code scanning without a baseline loses alerts: say so."""
    from .reports.sarif import closing_warning

    if any(fmt is Format.sarif for fmt, _ in outputs):
        warning = closing_warning(report)
        if warning:
            err.print(f"[yellow]warning:[/] {escape(warning)}", soft_wrap=True)
    if report.carried_over:
        err.print(f"note: {len(report.carried_over)} finding(s) of the baseline could not be re-evaluated and are "
                  "carried over as still open", soft_wrap=True)


def _outputs(fmt: Format, output: Path | None, sarif_output: Path | None, json_output: Path | None):
    outs: list[tuple[Format, Path | None]] = [(fmt, output)]
    outs += [(Format.sarif, sarif_output)] if sarif_output else []
    outs += [(Format.json, json_output)] if json_output else []
    return outs


FormatOpt = Annotated[Format, typer.Option("--format", "-f", help="Output format.")]
OutputOpt = Annotated[
    Path | None, typer.Option("--output", "-o", help="Write the report here instead of stdout.", dir_okay=False)
]
FailOnOpt = Annotated[
    FailOn | None,
    typer.Option("--fail-on", help="Exit 1 when a finding at or above this severity remains (default: low)."),
]
CheckOpt = Annotated[
    list[str] | None, typer.Option("--check", "-c", help="Only this check (id, rule code or family). Repeatable.")
]
SarifOutOpt = Annotated[
    Path | None, typer.Option("--sarif-output", help="Also write SARIF here.", dir_okay=False)
]
JsonOutOpt = Annotated[Path | None, typer.Option("--json-output", help="Also write JSON here.", dir_okay=False)]
ExcludeOpt = Annotated[list[str] | None, typer.Option("--exclude-check", "-x", help="Skip this check. Repeatable.")]
ConfigOpt = Annotated[Path | None, typer.Option("--config", help="Configuration file (default: .auditor.toml).")]
VerboseOpt = Annotated[bool, typer.Option("--verbose", "-v", help="Debug logging on stderr.")]
MarkdownOutOpt = Annotated[
    Path | None, typer.Option("--markdown-output", help="Also write Markdown here (e.g. $GITHUB_STEP_SUMMARY).",
                              dir_okay=False)
]
BaselineOpt = Annotated[
    Path | None, typer.Option("--baseline", help="A previous run's JSON report: mark findings new, unchanged or "
                              "fixed, and carry over those this run could not re-evaluate.", dir_okay=True)
]
FailOnNewOpt = Annotated[
    FailOn | None,
    typer.Option("--fail-on-new", help="Exit 1 only for a finding new since --baseline at or above this severity "
                 "(without a baseline every finding is new). Replaces the configured fail_on."),
]
QueryOpt = Annotated[
    str | None, typer.Option("--query", help="JMESPath over the JSON report, printed as JSON, e.g. "
                             "\"findings[?severity=='high'].resource.arn\".")
]
CategoryOpt = Annotated[
    str | None, typer.Option("--sarif-category", help="SARIF analysis category (automationDetails.id); default "
                             "one per account. Give each account/region group of a workflow its own.")
]


def _settings(config_path: Path | None, fail_on: FailOn | None, exclude: list[str]):
    try:
        cfg = config_mod.load(config_path)
    except ConfigurationError as exc:
        raise _fail(str(exc)) from None
    fail = fail_on.value if fail_on else (cfg.fail_on or "low")
    if fail != "never":
        try:
            Severity.parse(fail)
        except ValueError as exc:
            raise _fail(f"{cfg.source}: fail_on: {exc}") from None
    return cfg, fail, list(exclude) + cfg.exclude_checks


def _prepare(verbose: bool, config: Path | None, fail_on: FailOn | None, include: list[str] | None,
             exclude: list[str] | None, deep: bool):
    """What every scanning command does first: logging, configuration, the selected checks."""
    _setup_logging(verbose)
    cfg, fail, excluded = _settings(config, fail_on, exclude or [])
    warnings: list[str] = []
    waived = [s.check for s in cfg.suppressions]
    return cfg, fail, _select(include or [], excluded, deep, warnings, waived), warnings


@app.command()
def scan(
    profile: Annotated[str | None, typer.Option("--profile", "-p", help="AWS profile (default: the standard chain).")] = None,
    region: Annotated[list[str] | None, typer.Option("--region", "-r", help="Region to scan. Repeatable.")] = None,
    check: CheckOpt = None,
    exclude_check: ExcludeOpt = None,
    format: FormatOpt = Format.table,
    output: OutputOpt = None,
    sarif_output: SarifOutOpt = None,
    json_output: JsonOutOpt = None,
    markdown_output: MarkdownOutOpt = None,
    fail_on: FailOnOpt = None,
    baseline: BaselineOpt = None,
    fail_on_new: FailOnNewOpt = None,
    query: QueryOpt = None,
    sarif_category: CategoryOpt = None,
    datadog: Annotated[
        DatadogMode | None,
        typer.Option("--datadog", help="auto: read Datadog only when configured (default); required: missing "
                     "keys make the scan incomplete (exit 3); off: skip the checks that need it."),
    ] = None,
    stats: Annotated[bool, typer.Option("--stats", help="Print API calls by operation on stderr.")] = False,
    deep: Annotated[bool, typer.Option("--deep", help="Also run deep checks (downloads function code).")] = False,
    workers: Annotated[int, typer.Option("--workers", min=1, max=64, help="Concurrent API calls.")] = 8,
    all_regions: Annotated[bool, typer.Option(
        "--all-regions", help="Scan every region the account has enabled (ec2:DescribeRegions), concurrently.")] = False,
    role_arn: RoleArnOpt = None,
    org_role: OrgRoleOpt = None,
    accounts_file: AccountsFileOpt = None,
    role_name: RoleNameOpt = None,
    external_id: Annotated[str | None, typer.Option(
        "--external-id", metavar="ID", help="The external id the roles' trust policies require.")] = None,
    role_session_name: Annotated[str | None, typer.Option(
        "--role-session-name", metavar="NAME", help="Session name in the accounts' CloudTrail (default: auditor).")] = None,
    shard: ShardOpt = None,
    parallel_accounts: Annotated[int, typer.Option(
        "--parallel-accounts", min=0, max=256, metavar="N",
        help="Accounts read at a time, all sharing --workers (default 0: max(2, workers/2)).")] = 0,
    output_dir: Annotated[Path | None, typer.Option(
        "--output-dir", metavar="DIR", file_okay=False,
        help="Also write each account's report (JSON, SARIF, Markdown) to DIR/<account>.*")] = None,
    datadog_site: Annotated[str | None, typer.Option("--datadog-site", help="Datadog site (default: DD_SITE).")] = None,
    datadog_host: Annotated[str | None, typer.Option("--datadog-host", help="Full Datadog API URL (DD_HOST).")] = None,
    config: ConfigOpt = None,
    verbose: VerboseOpt = False,
) -> None:
    """Scan an AWS account (and Datadog) and report the pitfalls found.

    With --org-role, --role-arn or --accounts-file: scan several accounts, each through a role assumed from the
    base credentials (--profile), and report them together (docs/scale.md)."""
    cfg, fail, checks, warnings = _prepare(verbose, config, fail_on, check, exclude_check, deep)
    ci = _CiOptions(baseline, fail_on_new, query, format, sarif_category)
    fail = "never" if fail_on_new and fail_on is None else fail
    from .cli_org import AccountOptions, scan_accounts

    try:
        org = AccountOptions.parse(role_arn=role_arn, org_role=org_role, accounts_file=accounts_file,
                                   role_name=role_name, external_id=external_id, session_name=role_session_name,
                                   shard=shard)
    except ConfigurationError as exc:
        raise _fail(str(exc)) from None
    if all_regions and region:
        raise _fail("--all-regions and --region cannot be used together")
    outputs = ci.outputs(format, output, sarif_output, json_output, markdown_output)
    if org.several:
        try:
            with err.status("connecting to AWS…") as status:
                report = scan_accounts(
                    org, profile=profile, regions=list(dict.fromkeys(region or [])) or None, all_regions=all_regions,
                    checks=checks, cfg=cfg, check_named=bool(check), datadog=datadog, datadog_site=datadog_site,
                    datadog_host=datadog_host, workers=workers, parallel=parallel_accounts, deep=deep,
                    sarif_category=ci.sarif_category, warnings=warnings, status=status)
        except ConfigurationError as exc:
            raise _fail(str(exc)) from None
        _finish(report, cfg, outputs, fail, stats, ci, output_dir)
    from .datadog import mode as datadog_mode
    from .inventory.aws import AwsAccount

    inventory = None
    try:
        with err.status("connecting to AWS…") as status:
            aws = AwsAccount(profile, workers=workers)
            regions = list(dict.fromkeys(region or []))
            not_enabled = _all_regions(aws) if all_regions else None
            if not_enabled is not None:
                regions, not_enabled = not_enabled
            if not regions:
                if not aws.default_region:
                    raise ConfigurationError("no AWS region: pass --region or set one in the profile")
                regions = [aws.default_region]
            aws.validate_regions(regions)
            inventory = Inventory(aws, regions, workers=workers, deep=deep)
            inventory.datadog = _datadog(inventory, datadog_site, datadog_host)
            dd = inventory.datadog.settings
            mode = datadog.value if datadog else cfg.datadog
            checks, dd_notice = datadog_mode.plan(
                mode, checks, configured=datadog_mode.intended(dd, os.environ, datadog_site, datadog_host),
                named=bool(check))
            target = {
                "provider": "aws",
                "account": inventory.account,
                "regions": regions,
                "profile": profile or os.environ.get("AWS_PROFILE", ""),
                "datadog": {"mode": mode, "used": not dd_notice, "configured": dd.configured, "site": dd.site,
                            "api_url": dd.api_url, "description": dd.describe()},
            }
            if ci.sarif_category:
                target["sarif_category"] = ci.sarif_category
            if not_enabled is not None:
                target.update(all_regions=True, regions_not_enabled=not_enabled)
            status.update(f"scanning account {inventory.account} in {', '.join(regions)}…")
            report = engine.run(inventory, checks, target=target, warnings=warnings,
                                on_progress=lambda msg: status.update(msg))
            if dd_notice:
                report.notices.append(dd_notice)
            if not_enabled:
                report.notices.append(f"{len(not_enabled)} region(s) not enabled for the account were not scanned: "
                                      f"{', '.join(not_enabled)}")
    except ConfigurationError as exc:
        raise _fail(str(exc)) from None
    finally:
        if inventory is not None:
            inventory.close()
    _finish(report, cfg, outputs, fail, stats, ci, output_dir)


def _all_regions(aws) -> tuple[list[str], list[str]]:
    """``--all-regions`` for the profile's own account: (enabled, not enabled); unlisted is a usage error."""
    from .inventory.core import NotAvailable
    from .inventory.regions import enabled_regions

    try:
        found = enabled_regions(aws, aws.default_region or "us-east-1")
    except NotAvailable as exc:
        raise ConfigurationError(f"--all-regions: the account's regions cannot be listed: {exc.reason} "
                                 "(grant it, or name the regions with --region)") from None
    return found.enabled, found.not_enabled


def _datadog(inventory: Inventory, site: str | None, host: str | None):
    from .inventory.datadog import DatadogInventory, DatadogSettings

    try:
        settings = DatadogSettings.resolve(site=site, host=host, environ=os.environ)
    except ValueError as exc:
        raise ConfigurationError(str(exc)) from None
    return DatadogInventory(settings, stats=inventory.stats)


@app.command("scan-file")
def scan_file(
    paths: Annotated[list[Path], typer.Argument(help="ECS task-definition or bucket-policy JSON files.")],
    check: CheckOpt = None,
    exclude_check: ExcludeOpt = None,
    format: FormatOpt = Format.table,
    output: OutputOpt = None,
    sarif_output: SarifOutOpt = None,
    json_output: JsonOutOpt = None,
    markdown_output: MarkdownOutOpt = None,
    fail_on: FailOnOpt = None,
    baseline: BaselineOpt = None,
    fail_on_new: FailOnNewOpt = None,
    query: QueryOpt = None,
    sarif_category: CategoryOpt = None,
    repo_root: Annotated[
        Path | None,
        typer.Option("--repo-root", help="Name files relative to this directory (default: the git working tree "
                     "of the current directory).", file_okay=False),
    ] = None,
    config: ConfigOpt = None,
    verbose: VerboseOpt = False,
) -> None:
    """Check task definitions and policy documents offline, before they are deployed."""
    cfg, fail, checks, warnings = _prepare(verbose, config, fail_on, check, exclude_check, False)
    ci = _CiOptions(baseline, fail_on_new, query, format, sarif_category)
    fail = "never" if fail_on_new and fail_on is None else fail
    outputs = ci.outputs(format, output, sarif_output, json_output, markdown_output)
    from .inventory.files import load, repository_root

    if repo_root is not None and not repo_root.is_dir():
        raise _fail(f"--repo-root {repo_root}: no such directory")
    root = repo_root if repo_root is not None else repository_root()
    try:
        files = load(list(paths), root)
    except ConfigurationError as exc:
        raise _fail(str(exc)) from None
    names = list(dict.fromkeys([n for n, _ in files.task_definitions] + [n for n, _ in files.policies]))
    outside = [n for n in names if n.startswith("/")]
    if outside and any(fmt is Format.sarif for fmt, _ in outputs):
        raise _fail(f"{outside[0]} is outside the repository {root}: SARIF locations must be repository-relative "
                    "(run from the repository, or pass --repo-root)")
    inventory = Inventory(None, [], files=files)
    try:
        target = {"provider": "file", "files": names}
        if ci.sarif_category:
            target["sarif_category"] = ci.sarif_category
        report = engine.run(inventory, checks, target=target, warnings=warnings)
    finally:
        inventory.close()
    # Only checks that had something to say about files belong in this report.
    used = {f.check_id for f in report.findings}
    report.checks = [m for m in report.checks if m.id in used] or report.checks
    _finish(report, cfg, outputs, fail, False, ci)


@app.command("checks")
def list_checks(
    format: Annotated[Format, typer.Option("--format", "-f", help="table or json.")] = Format.table,
) -> None:
    """List the available checks."""
    warnings: list[str] = []
    checks = _select([], [], True, warnings)
    if format is Format.json:
        import json

        from .reports.json import check_dict

        sys.stdout.write(json.dumps([check_dict(c.meta) for c in checks], indent=2) + "\n")
        return
    console = Console(highlight=False)
    table = Table(title=f"{len(checks)} checks", title_justify="left")
    table.add_column("Rule")
    table.add_column("Id", no_wrap=True)
    table.add_column("Severity")
    table.add_column("Kind")
    table.add_column("Title")
    for c in sorted(checks, key=lambda c: (c.meta.family, c.meta.rule)):
        title = c.meta.title + (" (--deep)" if c.meta.deep else "")
        table.add_row(c.meta.rule, c.id, ", ".join(map(str, c.meta.severities)), c.meta.kind, title)
    console.print(table)
    for w in warnings:
        err.print(f"[yellow]warning:[/] {escape(w)}")


@app.command()
def explain(check_id: Annotated[str, typer.Argument(help="Check id or rule code, e.g. VT-1.")]) -> None:
    """Explain a check: what it looks for, why it matters, how to fix it."""
    checks = _select([check_id], [], True, [])
    console = Console(highlight=False)
    for c in checks:
        m = c.meta
        console.rule(f"[bold]{m.rule} {escape(m.id)}")
        console.print(f"[bold]{escape(m.title)}[/]  severity: {m.severity}  confidence: {m.confidence}")
        console.print(f"{m.kind} rule · severities it can emit: {', '.join(map(str, m.severities))}"
                      + (f" · formerly {', '.join(m.former_rules)}" if m.former_rules else ""))
        console.print(f"\n[bold]What it checks[/]\n{escape(m.description)}")
        console.print(f"\n[bold]Why it matters[/]\n{escape(m.risk)}")
        console.print(f"\n[bold]Remediation[/]\n{escape(m.remediation.text)}")
        if m.remediation.cli:
            console.print("\n[bold]AWS CLI[/]")
            console.print(m.remediation.cli, markup=False)
        if m.remediation.terraform:
            console.print("\n[bold]Terraform[/]")
            console.print(m.remediation.terraform, markup=False)
        console.print("\n[bold]Documentation[/]")
        for url in m.docs:
            console.print(f"  {url}", markup=False)


@app.command("iam-policy")
def iam_policy(
    base: Annotated[bool, typer.Option(
        "--base", help="The policy of the base credentials of a multi-account scan (assume the scan role, list "
        "the organization's accounts) instead of the scanned accounts' read-only one.")] = False,
) -> None:
    """Print the least-privilege IAM policy auditor needs (read-only) in each scanned account."""
    from importlib.resources import files

    name = "iam_policy_base.json" if base else "iam_policy.json"
    sys.stdout.write(files("auditor").joinpath(name).read_text(encoding="utf-8"))


@app.command()
def version() -> None:
    """Print the version."""
    typer.echo(f"auditor {__version__}")


def _mount_org() -> None:
    from .cli_org import mount

    mount(app)


def _mount_policy() -> None:
    try:
        from .policy.cli import app as policy_app
    except ModuleNotFoundError:
        return
    app.add_typer(policy_app, name="policy", help="Work with IAM/S3 policy documents.")


_mount_policy()
_mount_org()


def main() -> None:
    try:
        app()
    except KeyboardInterrupt:
        err.print("interrupted")
        sys.exit(130)
    except Exception as exc:  # noqa: BLE001 - a bug of ours: one clear line, the traceback only with -v
        log.debug("internal error", exc_info=True)
        err.print(f"[bold red]internal error:[/] {escape(scrub(f'{type(exc).__name__}: {exc}'))} "
                  "(run with --verbose for details; please report it)", soft_wrap=True)
        sys.exit(EXIT_INTERNAL)
