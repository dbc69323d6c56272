"""The command line: parse → build objects → run → render → exit code. Nothing else lives here."""

from __future__ import annotations

import enum
import logging
import os
import re
import signal
import stat
import sys
import tempfile
import threading
from contextlib import suppress
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from . import __version__, engine
from . import config as config_mod
from .check import Check
from .inventory import Inventory
from .inventory.core import ConfigurationError, scan_deadline
from .model import Severity
from .redact import RedactingFilter, RedactingFormatter, scrub, scrub_known
from .report import Report
from .reports import Format

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
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
err = Console(stderr=True, highlight=False)
log = logging.getLogger("auditor")


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


def _setup_logging(verbose: bool) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(RedactingFilter())
    handler.setFormatter(RedactingFormatter("%(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.DEBUG if verbose else logging.WARNING)
    # Libraries log warnings with tracebacks for what auditor then reports in one line (e.g. botocore's
    # "Refreshing token failed" before an SSO error): those are for --verbose only.
    for noisy in ("botocore", "boto3", "urllib3"):
        logging.getLogger(noisy).setLevel(logging.INFO if verbose else logging.ERROR)


def _fail(message: str, code: int = EXIT_USAGE) -> typer.Exit:
    err.print(f"[bold red]error:[/] {escape(scrub(message))}", soft_wrap=True)
    return typer.Exit(code)


def exit_code(report: Report, fail_on: str) -> int:
    if fail_on != FailOn.never.value:
        threshold = Severity.parse(fail_on)
        if any(f.severity >= threshold for f in report.failures):
            return EXIT_FINDINGS
    if not report.complete:
        return EXIT_INCOMPLETE
    return EXIT_OK


def _select(include: list[str], exclude: list[str], deep: bool, warnings: list[str]) -> list[Check]:
    try:
        checks = engine.load_checks(warnings=warnings)
        return engine.select(checks, include, exclude, deep=deep)
    except KeyError as exc:
        raise _fail(f"unknown check {exc.args[0]!r}; `auditor checks` lists them") from None
    except engine.CheckLoadError as exc:
        raise _fail(str(exc)) from None


def _render(report: Report, fmt: Format, *, to_terminal: bool) -> str:
    from .reports import renderer
    from .reports.sarif import SarifLimitError, too_many_to_show

    color = to_terminal and fmt is Format.table and sys.stdout.isatty() and not os.environ.get("NO_COLOR")
    width = Console().width if color else 140
    try:
        text = renderer(fmt)(report, color=color, width=width)
    except SarifLimitError as exc:
        raise _fail(str(exc)) from None
    if fmt is Format.sarif and too_many_to_show(report):
        err.print("[yellow]warning:[/] more than 5,000 results: GitHub shows only the first 5,000")
    # Messages and evidence were redacted when recorded; this last pass removes any secret the tool was
    # given or found, wherever it ended up, without touching ids or fingerprints.
    return scrub_known(text)


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
                sys.stdout.write(text)
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
        err.print(f"wrote {fmt.value} report to {escape(str(path))}")
    return failed, stdout_closed


def _write_file(path: Path, text: str) -> None:
    """Write ``text`` where ``path`` points.

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
            fh.write(text)
        return
    target = Path(os.path.realpath(path))
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
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
            stats: bool) -> None:
    """Apply waivers, write every output, exit with the code the report deserves."""
    report.findings, expired = config_mod.apply(report.findings, cfg)
    report.notices.extend(expired)
    failed, stdout_closed = _write(outputs, report)
    if stdout_closed and not failed:
        raise typer.Exit(EXIT_STDOUT_CLOSED)  # the reader went away (`| head`): nothing more to say
    if stats:
        _print_stats(report)
    if not any(fmt is Format.table and path is None for fmt, path in outputs):
        from .reports.table import summary_line

        err.print(escape(summary_line(report)))
    if failed:
        written = len(outputs) - len(failed) - int(stdout_closed)
        raise _fail(f"could not write {'; '.join(failed)} — the scan itself completed "
                    f"({written} of {len(outputs)} outputs written)", EXIT_OUTPUT)
    raise typer.Exit(exit_code(report, fail_on))


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
    return cfg, fail, _select(include or [], excluded, deep, warnings), warnings


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
    fail_on: FailOnOpt = None,
    stats: Annotated[bool, typer.Option("--stats", help="Print API calls by operation on stderr.")] = False,
    deep: Annotated[bool, typer.Option("--deep", help="Also run deep checks (downloads function code).")] = False,
    workers: Annotated[int, typer.Option("--workers", min=1, max=64, help="Concurrent API calls.")] = 8,
    datadog_site: Annotated[str | None, typer.Option("--datadog-site", help="Datadog site (default: DD_SITE).")] = None,
    datadog_host: Annotated[str | None, typer.Option("--datadog-host", help="Full Datadog API URL (DD_HOST).")] = None,
    timeout: TimeoutOpt = DEFAULT_TIMEOUT,
    config: ConfigOpt = None,
    verbose: VerboseOpt = False,
) -> None:
    """Scan an AWS account (and Datadog) and report the pitfalls found."""
    try:
        seconds = parse_duration(timeout)
    except ValueError as exc:
        raise _fail(str(exc)) from None
    if any(not r.strip() for r in region or []):
        raise _fail("--region needs a region name, e.g. --region us-east-1")
    _check_environment()
    outputs = _outputs(format, output, sarif_output, json_output)
    cfg, fail, checks, warnings = _prepare(verbose, config, fail_on, check, exclude_check, deep)
    from .inventory.aws import AwsAccount

    inventory = None
    try:
        with err.status("connecting to AWS…") as status, scan_deadline(seconds, timeout.strip()) as deadline:
            aws = AwsAccount(profile, workers=workers)
            regions = list(dict.fromkeys(r.strip() for r in region or []))
            if not regions:
                if not aws.default_region:
                    raise ConfigurationError("no AWS region: pass --region or set one in the profile")
                regions = [aws.default_region]
            aws.validate_regions(regions)
            inventory = Inventory(aws, regions, workers=workers, deep=deep)
            inventory.datadog = _datadog(inventory, datadog_site, datadog_host)
            target = {
                "provider": "aws",
                "account": inventory.account,
                "regions": regions,
                "profile": profile or os.environ.get("AWS_PROFILE", ""),
                "datadog": inventory.datadog.settings.describe(),
            }
            status.update(f"scanning account {inventory.account} in {', '.join(regions)}…")
            report = engine.run(inventory, checks, target=target, warnings=warnings,
                                on_progress=lambda msg: status.update(msg))
            _note_deadline(report, deadline.reason)
    except ConfigurationError as exc:
        raise _fail(str(exc)) from None
    finally:
        if inventory is not None:
            inventory.close()
    _finish(report, cfg, outputs, fail, stats)


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


@app.command("scan-file")
def scan_file(
    paths: Annotated[list[Path], typer.Argument(help="ECS task-definition or bucket-policy JSON files.")],
    check: CheckOpt = None,
    exclude_check: ExcludeOpt = None,
    format: FormatOpt = Format.table,
    output: OutputOpt = None,
    sarif_output: SarifOutOpt = None,
    json_output: JsonOutOpt = None,
    fail_on: FailOnOpt = None,
    config: ConfigOpt = None,
    verbose: VerboseOpt = False,
) -> None:
    """Check task definitions and policy documents offline, before they are deployed."""
    cfg, fail, checks, warnings = _prepare(verbose, config, fail_on, check, exclude_check, False)
    from .inventory.files import load

    try:
        files = load(list(paths))
    except ConfigurationError as exc:
        raise _fail(str(exc)) from None
    inventory = Inventory(None, [], files=files)
    try:
        target = {"provider": "file", "files": [str(p) for p in paths]}
        report = engine.run(inventory, checks, target=target, warnings=warnings)
    finally:
        inventory.close()
    # Only checks that had something to say about files belong in this report.
    used = {f.check_id for f in report.findings}
    report.checks = [m for m in report.checks if m.id in used] or report.checks
    _finish(report, cfg, _outputs(format, output, sarif_output, json_output), fail, False)


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
    console = _Stdout(highlight=False)
    table = Table(title=f"{len(checks)} checks", title_justify="left")
    table.add_column("Rule")
    table.add_column("Id", no_wrap=True)
    table.add_column("Severity")
    table.add_column("Title")
    for c in sorted(checks, key=lambda c: (c.meta.family, c.meta.rule)):
        title = c.meta.title + (" (--deep)" if c.meta.deep else "")
        table.add_row(c.meta.rule, c.id, str(c.meta.severity), title)
    console.print(table)
    for w in warnings:
        err.print(f"[yellow]warning:[/] {escape(w)}")


@app.command()
def explain(check_id: Annotated[str, typer.Argument(help="Check id or rule code, e.g. VT-1.")]) -> None:
    """Explain a check: what it looks for, why it matters, how to fix it."""
    checks = _select([check_id], [], True, [])
    console = _Stdout(highlight=False)
    for c in checks:
        m = c.meta
        console.rule(f"[bold]{m.rule} {escape(m.id)}")
        console.print(f"[bold]{escape(m.title)}[/]  severity: {m.severity}  confidence: {m.confidence}")
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
def iam_policy() -> None:
    """Print the least-privilege IAM policy auditor needs (read-only)."""
    from importlib.resources import files

    sys.stdout.write(files("auditor").joinpath("iam_policy.json").read_text(encoding="utf-8"))


@app.command()
def version() -> None:
    """Print the version."""
    typer.echo(f"auditor {__version__}")


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
        log.debug("internal error", exc_info=True)
        err.print(f"[bold red]internal error:[/] {escape(scrub(f'{type(exc).__name__}: {exc}'))} "
                  "(run with --verbose for details; please report it)", soft_wrap=True)
        code = EXIT_INTERNAL
    _exit(code)


def _exit(code: int) -> None:
    """Exit with ``code`` without waiting for abandoned work.

    A call still hanging on a worker thread (the deadline passed, or Ctrl-C) would hold the interpreter's
    exit until its timeout: when such threads remain, the streams are flushed and the process ends at once.
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
    if busy:
        os._exit(code)
    sys.exit(code)
