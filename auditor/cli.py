"""The command line: parse → build objects → run → render → exit code. Nothing else lives here."""

from __future__ import annotations

import atexit
import enum
import gc
import logging
import os
import re
import signal
import stat
import sys
import tempfile
import threading
from collections.abc import Iterable
from contextlib import suppress
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from . import __version__, cli_params, engine, term
from . import baseline as baseline_mod
from . import config as config_mod
from .check import Check
from .cli_org import AccountsFileOpt, ListFormat, OrgRoleOpt, RoleArnOpt, RoleNameOpt, ShardOpt
from .inventory import Inventory
from .inventory.core import ConfigurationError, scan_deadline
from .model import Severity
from .redact import RedactingFilter, RedactingFormatter, scrub, scrub_known
from .report import Report
from .reports import Format

cli_params.install()  # typer's value coercion without pydantic for auditor's kinds of parameter

EXIT_OK = 0
EXIT_FINDINGS = 1
EXIT_USAGE = 2
EXIT_INCOMPLETE = 3
EXIT_INTERNAL = 4
EXIT_OUTPUT = 5  # the scan completed, but a requested output could not be written
EXIT_INTERRUPTED = 130  # Ctrl-C (128 + SIGINT), as a shell reports it
EXIT_STDOUT_CLOSED = 141  # the reader of stdout went away (128 + SIGPIPE), as for any Unix filter

#: How long a scan may take by default: long enough for a large account, short enough for a CI job.
DEFAULT_TIMEOUT = "15m"

app = typer.Typer(
    name="auditor",
    help="Audit live AWS accounts and Datadog for quiet event-driven and container pitfalls.",
    epilog="""Examples:

\b
  auditor checks                 # what auditor looks for
  auditor scan --profile prod    # that profile's account and region
  auditor scan-file examples/    # documents, offline, before deploy
""",
    no_args_is_help=True,
    add_completion=True,
    pretty_exceptions_enable=False,
    # Plain help: the same text on every terminal, in every pipe, at any width (no boxes, no padding).
    rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"]},
)
err = Console(stderr=True, highlight=False)
log = logging.getLogger("auditor")


class DatadogMode(enum.StrEnum):
    auto = "auto"
    required = "required"
    off = "off"


class _Stdout(Console):
    """The console of commands that print to stdout: a reader that went away (``| head``) ends the command
    with exit 141, as for ``sys.stdout.write`` (rich's own default is exit 1)."""

    def on_broken_pipe(self) -> None:
        self.quiet = True
        _silence_stdout()
        raise typer.Exit(EXIT_STDOUT_CLOSED)


class FailOn(enum.StrEnum):
    info = "info"
    low = "low"
    medium = "medium"
    high = "high"
    critical = "critical"
    never = "never"


def _setup_logging(verbose: int) -> None:
    """``-v``: what auditor does (account, regions, each load, retries) at INFO; ``-vv``: auditor's debug
    log and the AWS SDK's (botocore) too."""
    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(RedactingFilter())
    handler.setFormatter(RedactingFormatter("%(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.WARNING if not verbose else logging.INFO if verbose == 1 else logging.DEBUG)
    # Libraries log warnings with tracebacks for what auditor then reports in one line (e.g. botocore's
    # "Refreshing token failed" before an SSO error): those are for -vv only.
    for noisy in ("botocore", "boto3", "urllib3", "s3transfer"):
        logging.getLogger(noisy).setLevel(logging.DEBUG if verbose >= 2 else logging.ERROR)


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
        raise _fail(f"unknown check {exc.args[0]!r}{_closest_check(exc.args[0])}; `auditor checks` lists them") from None
    except engine.CheckLoadError as exc:
        raise _fail(str(exc)) from None
    for note in engine.rule_notices(checks, [*include, *exclude, *(waived or [])]):
        err.print(f"[yellow]note:[/] {escape(note)}", soft_wrap=True)
    return chosen


def _closest_check(name: str) -> str:
    checks = engine.load_checks(warnings=[])
    return config_mod.suggest(name, [c.id for c in checks] + [c.meta.rule for c in checks]
                              + sorted({c.meta.family for c in checks}))


#: What the person asked to see in the terminal report (``--show-not-evaluated``); set by the command.
_VIEW: dict[str, bool] = {"show_not_evaluated": False}


def _render(report: Report, fmt: Format, *, to_terminal: bool) -> Iterable[str]:
    """The report's text in ``fmt``, as pieces that join to it. The JSON report, which cannot fail to render,
    is made piece by piece as it is written (at 1x, 18 MB of text is never held at once)."""
    from .reports import RenderError, renderer
    from .reports import json as json_report
    from .reports.sarif import too_many_to_show

    # Messages and evidence were redacted when recorded; this last pass removes any secret the tool was
    # given or found, wherever it ended up, without touching ids or fingerprints (piece by piece: the JSON
    # report's pieces break at line ends, which no secret or URL crosses).
    if fmt is Format.json:
        return map(scrub_known, json_report.render_chunks(report))
    # The terminal's width and colour; a file gets COLUMNS (or the pipe width) and never colour.
    out = term.Term.detect(sys.stdout) if to_terminal else term.Term(term.width_for(_NOT_A_TTY), False)
    try:
        text = renderer(fmt)(report, color=out.color, width=out.width, **_VIEW)
    except RenderError as exc:
        raise _fail(str(exc)) from None
    if fmt is Format.sarif and too_many_to_show(report):
        err.print("[yellow]warning:[/] more than 5,000 results: GitHub shows only the first 5,000")
    return [scrub_known(text)]


def _write(outputs: list[tuple[Format, Path | None]], report: Report) -> tuple[list[str], bool]:
    """Render every requested format first, then write each: a failed render leaves no file behind.

    Returns the outputs that could not be written (one phrase each) and whether stdout was closed by its
    reader. A failed output does not stop the others.
    """
    rendered = [(fmt, path, _render(report, fmt, to_terminal=path is None)) for fmt, path in outputs]
    failed: list[str] = []
    stdout_closed = False
    for fmt, path, text in rendered:
        if path is None:
            try:
                for piece in text:
                    sys.stdout.write(piece)
                sys.stdout.flush()
            except BrokenPipeError:
                stdout_closed = True
                _silence_stdout()
            continue
        try:
            _write_file(path, text)
        except OSError as exc:
            failed.append(f"the {fmt.value} report to {path} ({exc.strerror or exc})")
            continue
        err.print(f"wrote {fmt.value} report to {escape(str(path))}", soft_wrap=True)
    return failed, stdout_closed


def _write_file(path: Path, text: str | Iterable[str]) -> None:
    """Write ``text`` (or its pieces, in order) where ``path`` points.

    A regular file (or a new one) is replaced atomically — a temporary file in the same directory, then a
    rename — so a reader never sees half a report; through a symlink, the target is replaced and the link
    kept. Anything else (``/dev/null``, ``/dev/stdout``, a FIFO, ``>(jq …)``'s ``/dev/fd/N``) is opened and
    written in place: replacing it would break it.
    """
    try:
        st = os.stat(path)  # follows symlinks
    except FileNotFoundError:
        st = None
    if st is not None and stat.S_ISDIR(st.st_mode):
        raise IsADirectoryError(21, "is a directory")
    if st is not None and not stat.S_ISREG(st.st_mode):
        with open(path, "w", encoding="utf-8") as fh:
            fh.writelines([text] if isinstance(text, str) else text)
        return
    target = Path(os.path.realpath(path))
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.writelines([text] if isinstance(text, str) else text)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, stat.S_IMODE(st.st_mode) if st is not None else 0o666 & ~_umask())
        os.replace(tmp, target)
    except BaseException:  # an error, or Ctrl-C: no temporary file stays behind
        with suppress(OSError):
            os.unlink(tmp)
        raise


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _silence_stdout() -> None:
    """After EPIPE: point stdout at /dev/null so the final flush cannot fail again."""
    with suppress(OSError, ValueError):
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)


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
    report.notices.extend(_stale_waivers(report, cfg))
    if output_dir is not None:
        from .cli_org import write_accounts

        write_accounts(report, output_dir)
    failed, stdout_closed = _write(outputs, report)
    if stdout_closed and not failed:
        raise typer.Exit(EXIT_STDOUT_CLOSED)  # the reader went away (`| head`): nothing more to say
    _ci_notes(report, outputs)
    if stats:
        _print_stats(report)
    if not any(fmt is Format.table and path is None for fmt, path in outputs):
        from .reports.table import summary_line

        err.print(escape(summary_line(report)))
    if failed:
        written = len(outputs) - len(failed) - int(stdout_closed)
        raise _fail(f"could not write {'; '.join(failed)} — the scan itself completed "
                    f"({written} of {len(outputs)} outputs written)", EXIT_OUTPUT)
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
    """The outputs asked for, ``-`` meaning stdout (None); refused before scanning when they cannot work."""
    outs: list[tuple[Format, Path | None]] = [(fmt, output)]
    outs += [(Format.sarif, sarif_output)] if sarif_output else []
    outs += [(Format.json, json_output)] if json_output else []
    outs = [(f, None if p is not None and str(p) == "-" else p) for f, p in outs]
    if sum(p is None for _, p in outs) > 1:
        raise _fail("only one output can go to stdout (`-`); give the others a file")
    for _, p in outs:
        if p is not None and p.is_dir():
            raise _fail(f"{p} is a directory; the report needs a file name")
    return outs


def _stale_waivers(report: Report, cfg: config_mod.Config) -> list[str]:
    """Waivers naming no check; in a complete live scan, waivers that matched nothing (see config.stale)."""
    if not cfg.suppressions:
        return []
    t = report.target
    live = t.get("provider") == "aws"
    return config_mod.stale(cfg, report.findings, ran=report.checks if live else [],
                            known=[c.meta for c in engine.load_checks(warnings=[])], complete=report.complete,
                            accounts=[t["account"]] if t.get("account") else t.get("accounts") or [],
                            regions=t.get("regions") or [])


def _apply_color(choice: term.ColorChoice) -> None:
    """``--color`` for stdout (see auditor.term) and for the messages on stderr."""
    global err
    term.set_color_choice(choice)
    err = term.stderr_console()


def _color_callback(value: term.ColorChoice | None) -> term.ColorChoice | None:
    if value is not None:  # a command's own --color; without it, the one before the command applies
        _apply_color(value)
    return value


class _NotATty:
    def isatty(self) -> bool:
        return False


_NOT_A_TTY = _NotATty()

FormatOpt = Annotated[Format, typer.Option("--format", "-f", metavar="FORMAT",
                                           help=f"Output format: {', '.join(Format)}.")]
OutputOpt = Annotated[Path | None, typer.Option("--output", "-o", metavar="FILE", dir_okay=False,
                                                help="Write the report here instead of stdout.")]
FailOnOpt = Annotated[
    FailOn | None,
    typer.Option("--fail-on", metavar="SEVERITY", show_default=False,
                 help="Exit 1 when a finding at or above this severity remains: "
                      f"{', '.join(config_mod.FAIL_ON)} (default: low)."),
]
CheckOpt = Annotated[list[str] | None, typer.Option(
    "--check", "-c", metavar="CHECK", help="Only this check (id, rule code or family). Repeatable.")]
SarifOutOpt = Annotated[Path | None, typer.Option("--sarif-output", metavar="FILE", dir_okay=False,
                                                  help="Also write SARIF here.")]
JsonOutOpt = Annotated[Path | None, typer.Option("--json-output", metavar="FILE", dir_okay=False,
                                                 help="Also write JSON here.")]
ExcludeOpt = Annotated[list[str] | None, typer.Option("--exclude-check", "-x", metavar="CHECK",
                                                      help="Skip this check. Repeatable.")]
ConfigOpt = Annotated[Path | None, typer.Option(
    "--config", metavar="FILE", help="Configuration file (default: the nearest .auditor.toml or pyproject.toml "
    "with [tool.auditor], from here up to the repository's top).")]
NoConfigOpt = Annotated[bool, typer.Option("--no-config", help="Read no configuration file.")]
VerboseOpt = Annotated[int, typer.Option(
    "--verbose", "-v", count=True, show_default=False,
    help="Log what auditor does on stderr (account, regions, each read, retries); -vv adds the AWS SDK's log.")]
ColorOpt = Annotated[term.ColorChoice | None, typer.Option(
    "--color", metavar="WHEN", show_default=False, callback=_color_callback,
    help=term.COLOR_HELP)]
ShowNotEvaluatedOpt = Annotated[bool, typer.Option(
    "--show-not-evaluated", help="List every result that was not evaluated, not only their causes.")]
MarkdownOutOpt = Annotated[
    Path | None, typer.Option("--markdown-output", metavar="FILE", help="Also write Markdown here (e.g. $GITHUB_STEP_SUMMARY).",
                              dir_okay=False)
]
BaselineOpt = Annotated[
    Path | None, typer.Option("--baseline", metavar="REPORT", help="A previous run's JSON report: mark findings new, unchanged or "
                              "fixed, and carry over those this run could not re-evaluate.", dir_okay=True)
]
FailOnNewOpt = Annotated[
    FailOn | None,
    typer.Option("--fail-on-new", metavar="SEVERITY", help="Exit 1 only for a finding new since --baseline at or above this severity "
                 "(without a baseline every finding is new). Replaces the configured fail_on."),
]
QueryOpt = Annotated[
    str | None, typer.Option("--query", metavar="EXPR", help="JMESPath over the JSON report, printed as JSON, e.g. "
                             "\"findings[?severity=='high'].resource.arn\".")
]
CategoryOpt = Annotated[
    str | None, typer.Option("--sarif-category", metavar="ID", help="SARIF analysis category (automationDetails.id); default "
                             "one per account. Give each account/region group of a workflow its own.")
]
TimeoutOpt = Annotated[str, typer.Option(
    "--timeout", metavar="DURATION",
    help="Stop waiting for AWS and Datadog after this long, e.g. 90s, 10m, 1h (0: no limit); what was not "
         "fetched by then is reported as not evaluated.")]

_DURATION = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h)")
_UNIT = {"ms": 0.001, "s": 1, "m": 60, "h": 3600}


def parse_duration(text: str) -> float | None:
    """``90s``, ``10m``, ``1h30m``, ``45`` (seconds) → seconds; ``0`` or ``none`` → None (no limit)."""
    value = text.strip().lower()
    if value in ("0", "none", "off"):
        return None
    if re.fullmatch(r"\d+(\.\d+)?", value):
        seconds = float(value)
    elif value and re.fullmatch(f"(?:{_DURATION.pattern})+", value):
        seconds = sum(float(n) * _UNIT[unit] for n, unit in _DURATION.findall(value))
    else:
        raise ValueError(f"--timeout must be a duration such as 90s, 10m or 1h30m (0 for no limit), got {text!r}")
    if seconds <= 0 or seconds > 7 * 24 * 3600:
        raise ValueError(f"--timeout must be between 1ms and 7 days, got {text!r}")
    return seconds


def _check_environment() -> None:
    """Every ``AUDITOR_*`` tuning variable, checked before anything runs: a typo is a usage error, not a
    traceback or a silently different scan."""
    from .datadog.settings import DatadogTuning
    from .inventory.aws import AwsTuning
    from .inventory.lambda_code import package_limit

    try:
        AwsTuning.from_env(os.environ)
        package_limit(os.environ)
        DatadogTuning.from_env(os.environ)
    except ValueError as exc:
        raise _fail(str(exc)) from None


def _settings(config_path: Path | None, fail_on: FailOn | None, exclude: list[str], no_config: bool = False):
    if no_config and config_path is not None:
        raise _fail("--config and --no-config cannot be used together")
    try:
        cfg = config_mod.Config() if no_config else config_mod.load(config_path)
    except ConfigurationError as exc:
        raise _fail(str(exc)) from None
    fail = fail_on.value if fail_on else (cfg.fail_on or "low")
    if cfg.source:
        log.info("configuration: %s", cfg.source)
    return cfg, fail, list(exclude) + cfg.exclude_checks


def _check_config_names(cfg: config_mod.Config) -> None:
    """An exclude_checks entry that names no check is an error naming the file (a typo excludes nothing)."""
    checks = engine.load_checks(warnings=[])
    for name in cfg.exclude_checks:
        try:
            engine.select(checks, [], [name])
        except KeyError:
            raise _fail(f"{cfg.source}: exclude_checks: unknown check {name!r}{_closest_check(name)}; "
                        "accepted: a check id, rule code or family (`auditor checks` lists them)") from None


def _prepare(verbose: int, config: Path | None, fail_on: FailOn | None, include: list[str] | None,
             exclude: list[str] | None, deep: bool, no_config: bool = False):
    """What every scanning command does first: logging, configuration, the selected checks."""
    _setup_logging(verbose)
    cfg, fail, excluded = _settings(config, fail_on, exclude or [], no_config)
    _check_config_names(cfg)
    warnings: list[str] = []
    waived = [s.check for s in cfg.suppressions]
    return cfg, fail, _select(include or [], excluded, deep, warnings, waived), warnings


SCAN_EXAMPLES = """Examples:

\b
  auditor scan --profile prod
  auditor scan --profile prod -r eu-west-1 -r us-east-1 --check sqs-lambda
  auditor scan --profile prod -f sarif -o auditor.sarif --fail-on high
  auditor scan --org-role auditor-readonly --all-regions --shard 1/4
"""


@app.command(epilog=SCAN_EXAMPLES, short_help="Scan an AWS account (and Datadog).")
def scan(
    profile: Annotated[str | None, typer.Option("--profile", "-p", metavar="NAME",
                                                help="AWS profile (default: the standard chain).")] = None,
    region: Annotated[list[str] | None, typer.Option(
        "--region", "-r", metavar="REGION",
        help="Region to scan. Repeatable. Default: AWS_REGION, AWS_DEFAULT_REGION or the profile's.")] = None,
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
        typer.Option("--datadog", metavar="MODE", help="auto: read Datadog only when configured (default); required: missing "
                     "keys make the scan incomplete (exit 3); off: skip the checks that need it."),
    ] = None,
    stats: Annotated[bool, typer.Option("--stats", help="Print API calls by operation on stderr.")] = False,
    deep: Annotated[bool, typer.Option("--deep", help="Also run deep checks (downloads function code).")] = False,
    workers: Annotated[int, typer.Option("--workers", min=1, max=64, metavar="N",
                                         help="Concurrent API calls.")] = 8,
    all_regions: Annotated[bool, typer.Option(
        "--all-regions", help="Scan every region the account has enabled (ec2:DescribeRegions), concurrently.")] = False,
    role_arn: RoleArnOpt = None,
    org_role: OrgRoleOpt = None,
    accounts_file: AccountsFileOpt = None,
    role_name: RoleNameOpt = None,
    external_id: Annotated[str | None, typer.Option(
        "--external-id", metavar="ID", help="The external id the roles' trust policies require.")] = None,
    role_session_name: Annotated[str | None, typer.Option(
        "--role-session-name", metavar="NAME",
        help="Session name in the accounts' CloudTrail (default: auditor).")] = None,
    shard: ShardOpt = None,
    parallel_accounts: Annotated[int, typer.Option(
        "--parallel-accounts", min=0, max=256, metavar="N",
        help="Accounts read at a time, all sharing --workers (default 0: max(2, workers/2)).")] = 0,
    output_dir: Annotated[Path | None, typer.Option(
        "--output-dir", metavar="DIR", file_okay=False,
        help="Also write each account's report (JSON, SARIF, Markdown) to DIR/<account>.*")] = None,
    datadog_site: Annotated[str | None, typer.Option("--datadog-site", metavar="SITE",
                                                     help="Datadog site (default: DD_SITE).")] = None,
    datadog_host: Annotated[str | None, typer.Option("--datadog-host", metavar="URL",
                                                     help="Full Datadog API URL (DD_HOST).")] = None,
    show_not_evaluated: ShowNotEvaluatedOpt = False,
    timeout: TimeoutOpt = DEFAULT_TIMEOUT,
    config: ConfigOpt = None,
    no_config: NoConfigOpt = False,
    color: ColorOpt = None,
    verbose: VerboseOpt = 0,
) -> None:
    """Scan an AWS account (and Datadog) and report the pitfalls found.

    With --org-role, --role-arn or --accounts-file: scan several accounts, each through a role assumed from the
    base credentials (--profile), and report them together (docs/scale.md)."""
    _VIEW["show_not_evaluated"] = show_not_evaluated
    try:
        seconds = parse_duration(timeout)
    except ValueError as exc:
        raise _fail(str(exc)) from None
    if any(not r.strip() for r in region or []):
        raise _fail("--region needs a region name, e.g. --region us-east-1")
    _check_environment()
    cfg, fail, checks, warnings = _prepare(verbose, config, fail_on, check, exclude_check, deep, no_config)
    ci = _CiOptions(baseline, fail_on_new, query, format, sarif_category)
    outputs = ci.outputs(format, output, sarif_output, json_output, markdown_output)
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
    from .memory import limit_malloc_arenas

    limit_malloc_arenas()  # before the pools start their threads
    if org.several:
        try:
            with err.status("connecting to AWS…") as status, scan_deadline(seconds, timeout.strip()) as deadline:
                report = scan_accounts(
                    org, profile=profile, regions=list(dict.fromkeys(r.strip() for r in region or [])) or None,
                    all_regions=all_regions, checks=checks, cfg=cfg, check_named=bool(check), datadog=datadog,
                    datadog_site=datadog_site, datadog_host=datadog_host, workers=workers, parallel=parallel_accounts,
                    deep=deep, sarif_category=ci.sarif_category, warnings=warnings, status=status)
                _note_deadline(report, deadline.reason)
        except ConfigurationError as exc:
            raise _fail(str(exc)) from None
        _finish(report, cfg, outputs, fail, stats, ci, output_dir)
    from .datadog import mode as datadog_mode
    from .inventory.aws import AwsAccount

    inventory = None
    try:
        with err.status("connecting to AWS…") as status, scan_deadline(seconds, timeout.strip()) as deadline:
            aws = AwsAccount(profile, workers=workers)
            regions = list(dict.fromkeys(r.strip() for r in region or []))
            not_enabled = _all_regions(aws) if all_regions else None
            if not_enabled is not None:
                regions, not_enabled = not_enabled
            if not regions:
                if not aws.default_region:
                    raise ConfigurationError("no AWS region: pass --region or set one in the profile")
                regions = [aws.default_region]
            aws.validate_regions(regions)
            log.info("regions: %s", ", ".join(regions))
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
            log.info("account %s (profile %s); %d checks", inventory.account, target["profile"] or "-", len(checks))
            report = engine.run(inventory, checks, target=target, warnings=warnings,
                                on_progress=lambda msg: status.update(msg))
            if dd_notice:
                report.notices.append(dd_notice)
            if not_enabled:
                report.notices.append(f"{len(not_enabled)} region(s) not enabled for the account were not scanned: "
                                      f"{', '.join(not_enabled)}")
            _note_deadline(report, deadline.reason)
    except ConfigurationError as exc:
        raise _fail(str(exc)) from None
    finally:
        if inventory is not None:
            inventory.close()
    report.stats = inventory.stats.snapshot()  # final: a call that was still on its way when the scan ended
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


def _note_deadline(report: Report, reason: str) -> None:
    """When the deadline cut the scan short, say so once, in the report and on stderr."""
    cut = sum(1 for f in report.not_evaluated if reason in (f.reason or ""))
    if cut:
        note = (f"{reason}: {cut} result(s) not evaluated because their data was not fetched in time "
                "(raise --timeout to wait longer)")
        report.warnings.append(note)
        err.print(f"[yellow]warning:[/] {escape(note)}", soft_wrap=True)


def _datadog(inventory: Inventory, site: str | None, host: str | None):
    from .inventory.datadog import DatadogInventory, DatadogSettings

    try:
        settings = DatadogSettings.resolve(site=site, host=host, environ=os.environ)
    except ValueError as exc:
        raise ConfigurationError(str(exc)) from None
    return DatadogInventory(settings, stats=inventory.stats)


SCAN_FILE_EXAMPLES = """Examples:

\b
  auditor scan-file taskdef.json bucket-policy.json
  auditor scan-file examples/    # the .json files it recognises, recursively
  aws ecs describe-task-definition --task-definition web | auditor scan-file -
"""


@app.command("scan-file", epilog=SCAN_FILE_EXAMPLES, short_help="Check task definitions and policies offline.")
def scan_file(
    # Described in the docstring: typer would print the argument's Python type beside it.
    paths: Annotated[list[Path], typer.Argument(metavar="PATH", show_default=False, hidden=True)],
    check: CheckOpt = None,
    exclude_check: ExcludeOpt = None,
    format: FormatOpt = Format.table,
    output: OutputOpt = None,
    sarif_output: SarifOutOpt = None,
    json_output: JsonOutOpt = None,
    markdown_output: MarkdownOutOpt = None,
    fail_on: FailOnOpt = None,
    show_not_evaluated: ShowNotEvaluatedOpt = False,
    baseline: BaselineOpt = None,
    fail_on_new: FailOnNewOpt = None,
    query: QueryOpt = None,
    sarif_category: CategoryOpt = None,
    repo_root: Annotated[
        Path | None,
        typer.Option("--repo-root", metavar="DIR", help="Name files relative to this directory (default: the git working tree "
                     "of the current directory).", file_okay=False),
    ] = None,
    config: ConfigOpt = None,
    no_config: NoConfigOpt = False,
    color: ColorOpt = None,
    verbose: VerboseOpt = 0,
) -> None:
    """Check task definitions and policy documents offline, before they are deployed.

    PATH: ECS task definitions or bucket policies (JSON): files, directories (searched recursively for .json
    files) or - for standard input. The type of each document is told by its shape.
    """
    _VIEW["show_not_evaluated"] = show_not_evaluated
    cfg, fail, checks, warnings = _prepare(verbose, config, fail_on, check, exclude_check, False, no_config)
    ci = _CiOptions(baseline, fail_on_new, query, format, sarif_category)
    fail = "never" if fail_on_new and fail_on is None else fail
    outputs = ci.outputs(format, output, sarif_output, json_output, markdown_output)
    from .inventory.files import load, repository_root

    if repo_root is not None and not repo_root.is_dir():
        raise _fail(f"--repo-root {repo_root}: no such directory")
    root = repo_root if repo_root is not None else repository_root()
    try:
        files = load(list(paths), root, stdin=sys.stdin)
    except ConfigurationError as exc:
        raise _fail(str(exc)) from None
    for note in files.notes:  # which type each document was read as: words kept whole, no padding
        for line in term.wrap(note, term.width_for(sys.stderr), indent="  "):
            err.print(escape(line), soft_wrap=True)
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


class ChecksFormat(enum.StrEnum):
    table = "table"
    json = "json"


def _print(doc) -> None:
    """A laid-out document on stdout, at the terminal's width and in colour when colour is wanted."""
    out = term.Term.detect(sys.stdout)
    sys.stdout.write(doc.render(color=out.color))


CHECKS_EXAMPLES = """Examples:

\b
  auditor checks
  auditor checks --format json | jq -r '.[].rule'
"""


@app.command("checks", epilog=CHECKS_EXAMPLES)
def list_checks(
    format: Annotated[ChecksFormat, typer.Option("--format", "-f", metavar="FORMAT",
                                                 help="table or json.")] = ChecksFormat.table,
    color: ColorOpt = None,
) -> None:
    """List the available checks."""
    warnings: list[str] = []
    checks = _select([], [], True, warnings)
    if format is ChecksFormat.json:
        import json

        from .reports.json import check_dict

        sys.stdout.write(json.dumps([check_dict(c.meta) for c in checks], indent=2) + "\n")
        return
    from .catalog import checks_layout

    _print(checks_layout(checks, width=term.width_for(sys.stdout)))
    for w in warnings:
        err.print(f"[yellow]warning:[/] {escape(w)}", soft_wrap=True)


EXPLAIN_EXAMPLES = """Examples:

\b
  auditor explain VT-1
  auditor explain sqs-lambda/no-redrive-policy
  auditor explain firelens       # every check of the family
"""


@app.command(epilog=EXPLAIN_EXAMPLES, short_help="Explain a check and how to fix what it finds.")
def explain(
    check_id: Annotated[str, typer.Argument(metavar="CHECK", show_default=False, hidden=True)],
    color: ColorOpt = None,
) -> None:
    """Explain a check: what it looks for, why it matters, how to fix it.

    CHECK: a check id, a rule code (e.g. VT-1) or a family (every check of it).
    """
    from .catalog import explain_layout
    from .term import Doc

    checks = _select([check_id], [], True, [])
    doc = Doc()
    for c in checks:
        doc.blank().extend(explain_layout(c.meta, width=term.width_for(sys.stdout)))
    _print(doc)


@app.command("iam-policy", short_help="Print the read-only IAM policy auditor needs.",
             epilog="Examples:\n\n\b\n  auditor iam-policy > auditor-policy.json\n"
                    "  auditor iam-policy --base > auditor-base.json   # for --org-role\n")
def iam_policy(
    base: Annotated[bool, typer.Option(
        "--base", help="The policy of the base credentials of a multi-account scan (assume the scan role, list "
        "the organization's accounts) instead of the scanned accounts' read-only one.")] = False,
) -> None:
    """Print the least-privilege IAM policy auditor needs (read-only) in each scanned account."""
    from importlib.resources import files

    name = "iam_policy_base.json" if base else "iam_policy.json"
    sys.stdout.write(files("auditor").joinpath(name).read_text(encoding="utf-8"))


ACCOUNTS_EXAMPLES = """Examples:

\b
  auditor accounts --org-role auditor-readonly
  auditor accounts --org-role auditor-readonly --shard 2/8 --format json
  auditor accounts --accounts-file accounts.txt --role-name auditor-readonly
"""


@app.command("accounts", epilog=ACCOUNTS_EXAMPLES, short_help="List the accounts a scan (or a shard) reads.")
def accounts(
    profile: Annotated[str | None, typer.Option("--profile", "-p", metavar="NAME",
                                                help="AWS profile of the base credentials.")] = None,
    org_role: OrgRoleOpt = None,
    role_arn: RoleArnOpt = None,
    accounts_file: AccountsFileOpt = None,
    role_name: RoleNameOpt = None,
    shard: ShardOpt = None,
    format: Annotated[ListFormat, typer.Option("--format", "-f", metavar="FORMAT", help="text or json.")] =
    ListFormat.text,
    color: ColorOpt = None,
) -> None:
    """List the accounts a scan (or one --shard of it) reads: account id, the role assumed in it, its name."""
    from .cli_org import list_accounts

    list_accounts(profile=profile, org_role=org_role, role_arn=role_arn, accounts_file=accounts_file,
                  role_name=role_name, shard=shard, fmt=format)


MERGE_EXAMPLES = """Examples:

\b
  auditor merge shard-*.json
  auditor merge shard-*.json -f markdown -o summary.md --json-output org.json
  auditor merge out/accounts/*.json -f sarif -o org.sarif
"""


@app.command("merge", epilog=MERGE_EXAMPLES, short_help="Combine JSON reports (shards) into one.")
def merge(
    files: Annotated[list[Path], typer.Argument(metavar="FILE", show_default=False, hidden=True)],
    format: FormatOpt = Format.table,
    output: OutputOpt = None,
    sarif_output: SarifOutOpt = None,
    json_output: JsonOutOpt = None,
    markdown_output: MarkdownOutOpt = None,
    output_dir: Annotated[Path | None, typer.Option(
        "--output-dir", metavar="DIR", file_okay=False, help="Also write each account's report to DIR.")] = None,
    fail_on: FailOnOpt = None,
    color: ColorOpt = None,
) -> None:
    """Combine JSON reports of accounts (one per --shard, or per account) into one report, with totals per
    account; its exit code is a scan's.

    FILE: JSON reports of `auditor scan` (--format json or --json-output).
    """
    from .cli_org import merge_reports

    outputs = _outputs(format, output, sarif_output, json_output)
    outputs += [(Format.markdown, markdown_output)] if markdown_output else []
    merge_reports(list(files), outputs, output_dir, fail_on.value if fail_on else "low")


@app.command(epilog="Example:\n\n\b\n  auditor version        # or: auditor --version\n")
def version() -> None:
    """Print the version."""
    typer.echo(f"auditor {__version__}")


def _show_version(value: bool) -> None:
    if value:
        typer.echo(f"auditor {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[bool, typer.Option("--version", callback=_show_version, is_eager=True,
                                          help="Print the version and exit.")] = False,
    color: Annotated[term.ColorChoice | None, typer.Option(
        "--color", metavar="WHEN", show_default=False,
        help=term.COLOR_HELP)] = None,
) -> None:
    # Runs before the command's own options are read: a command's --color overrides this one.
    _apply_color(color or term.ColorChoice.auto)


def _mount_policy() -> None:
    try:
        from .policy.cli import app as policy_app
    except ModuleNotFoundError:
        return
    app.add_typer(policy_app, name="policy", help="Work with IAM/S3 policy documents.")


_mount_policy()


class Interrupted(BaseException):
    """The first Ctrl-C. A BaseException, so that no handler on the way (click's, a check's ``except
    Exception``) turns it into something else; it unwinds the scan without waiting for any call."""


def _on_interrupt(signum: int, frame: object) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # a second Ctrl-C is never needed, and never a traceback
    raise Interrupted


def main() -> None:
    # A scan allocates millions of short-lived objects (parsed responses, findings) and keeps most of what
    # survives until it ends: at the collector's default pace (a young collection every 700 allocations, a
    # full one that traverses every live object every 100 of those) a 1x benchmark scan spent 3.4 s of CPU
    # collecting, 7 full collections 2.0 s of it; a young collection every 50,000 allocations and no full
    # one during a scan: 0.6 s, with the same peak RSS (140 MB; without any collection: 169 MB). The
    # imported modules are frozen out of every collection.
    gc.freeze()
    gc.set_threshold(50_000, 50, 100)
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGINT, _on_interrupt)
    try:
        app()
        code = EXIT_OK
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else (EXIT_OK if exc.code is None else EXIT_INTERNAL)
        if code == 1 and type(sys.stdout).__name__ == "PacifyFlushWrapper":
            code = EXIT_STDOUT_CLOSED  # click met EPIPE on stdout (`auditor checks | head -0`)
    except Interrupted:
        err.print("interrupted: the scan was stopped; no report was written")
        code = EXIT_INTERRUPTED
    except Exception as exc:  # noqa: BLE001 - a bug of ours: one clear line, the traceback only with -v
        log.info("internal error", exc_info=True)
        err.print(f"[bold red]internal error:[/] {escape(scrub(f'{type(exc).__name__}: {exc}'))} "
                  "(run with --verbose for details; please report it)", soft_wrap=True)
        code = EXIT_INTERNAL
    _exit(code)


def _exit(code: int) -> None:
    """Exit with ``code`` without waiting for abandoned work, and without taking the heap apart.

    A call still hanging on a worker thread (the deadline passed, or Ctrl-C) would hold the interpreter's
    exit until its timeout: when such threads remain, the streams are flushed and the process ends at once.
    Otherwise the exit handlers run (``logging``'s flush, a coverage tool's save), the streams are flushed,
    and the process ends there too: every file the command wrote is closed by then, and what an ordinary exit
    would add is freeing each object the scan left, one by one (0.26–0.37 s after a 2x benchmark scan's
    report was written, the interpreter's last act; the operating system takes the memory back at once).
    Under a profiler or a tracer (``python -m cProfile``, ``trace``, a debugger) the exit is the ordinary
    ``SystemExit``, so that they write what they measured; code that embeds the CLI calls ``app`` instead.
    """
    try:
        sys.stdout.flush()
    except (BrokenPipeError, ValueError):
        _silence_stdout()
        if code == EXIT_OK:
            code = EXIT_STDOUT_CLOSED
    with suppress(OSError, ValueError):
        sys.stderr.flush()
    busy = [t for t in threading.enumerate() if t is not threading.main_thread() and not t.daemon and t.is_alive()]
    if not busy:
        if sys.getprofile() is not None or sys.gettrace() is not None:
            sys.exit(code)
        atexit._run_exitfuncs()
        with suppress(OSError, ValueError):
            sys.stdout.flush()
        with suppress(OSError, ValueError):
            sys.stderr.flush()
    os._exit(code)
