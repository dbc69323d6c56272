"""``auditor policy explain``: the truth table of a bucket policy, from a file or a live bucket."""

from __future__ import annotations

import enum
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from .. import term
from . import actions as act
from .analysis import analyze
from .explain import layout, to_json
from .parser import parse

EXAMPLES = """Examples:

\b
  auditor policy explain bucket-policy.json
  auditor policy explain bucket-policy.json --action s3:PutObject
  auditor policy explain --bucket my-bucket --profile prod --format json
"""

app = typer.Typer(help="Work with IAM/S3 policy documents.", epilog=EXAMPLES, no_args_is_help=True,
                  add_completion=False, rich_markup_mode=None,
                  context_settings={"help_option_names": ["-h", "--help"]})


class Format(enum.StrEnum):
    table = "table"
    json = "json"


def _fail(message: str) -> typer.Exit:
    term.stderr_console().print(f"[red]error:[/] {escape(message)}", markup=True, highlight=False, soft_wrap=True)
    return typer.Exit(2)


@app.callback()
def _root() -> None:
    """Work with IAM/S3 policy documents."""


def _check_action(action: str) -> str:
    """The S3 action as the engine spells it, or a usage error naming the closest known one."""
    known = {a.lower(): a for a in act.KNOWN_ACTIONS}
    if action.lower() in known:
        return known[action.lower()]
    if "*" in action or "?" in action:
        raise _fail(f"--action must be one S3 action such as s3:GetObject, not a pattern (got {action!r})")
    from difflib import get_close_matches

    name = action if action.lower().startswith("s3:") else f"s3:{action}"
    close = get_close_matches(name.lower(), list(known), n=1, cutoff=0.6)
    hint = f"; did you mean {known[close[0]]}?" if close else "; e.g. s3:GetObject, s3:PutObject, s3:ListBucket"
    raise _fail(f"--action {action!r} is not an S3 bucket or object action auditor knows{hint}")


@app.command("explain", epilog=EXAMPLES, short_help="Show who can perform an S3 action under a bucket policy.")
def explain(
    # Described in the docstring: typer would print the argument's Python type beside it.
    file: Annotated[Path | None, typer.Argument(show_default=False, metavar="FILE", hidden=True)] = None,
    bucket: Annotated[str | None, typer.Option(
        "--bucket", metavar="NAME", help="Explain this live bucket's policy instead.")] = None,
    action: Annotated[str, typer.Option(
        "--action", metavar="ACTION", help="The S3 action to explain.")] = "s3:GetObject",
    profile: Annotated[str | None, typer.Option(
        "--profile", metavar="NAME", help="AWS profile (with --bucket).")] = None,
    region: Annotated[str | None, typer.Option(
        "--region", metavar="REGION", help="AWS region for the S3 calls.")] = None,
    format: Annotated[Format, typer.Option("--format", "-f", help="table or json.", metavar="FORMAT")] = Format.table,
    color: Annotated[term.ColorChoice | None, typer.Option(
        "--color", metavar="WHEN", help=term.COLOR_HELP,
        show_default=False)] = None,
) -> None:
    """Show who can perform ACTION: every class of request (network path, source IP, VPC, endpoint,
    principal, …) with the outcome and the statement that decided it.

    FILE: a bucket policy (JSON), or give --bucket to read a live bucket's policy.
    """
    term.set_color_choice(color)
    if (file is None) == (bucket is None):
        raise _fail("give either a policy FILE or --bucket NAME")
    action = _check_action(action)
    owner = None
    if file is not None:
        try:
            text = file.read_text(encoding="utf-8")
        except FileNotFoundError:
            raise _fail(f"{file}: no such file") from None
        except (OSError, UnicodeDecodeError) as exc:
            raise _fail(f"{file}: cannot be read ({type(exc).__name__})") from None
        source = str(file)
        document: object = text
        name = None
    else:
        source, document, owner, name = _live(bucket or "", profile, region)
        if document is None:
            sys.stdout.write(f"{bucket} has no bucket policy: only identity policies and ACLs decide access.\n")
            return
    policy = parse(document)
    if policy.fatal:
        raise _fail(f"{source}: {policy.fatal}")
    analysis = analyze(policy, action=action, bucket=name, owner=owner, force=("path",))
    if format is Format.json:
        sys.stdout.write(to_json(analysis, source))
        return
    out = term.Term.detect(sys.stdout)
    sys.stdout.write(layout(analysis, source, width=out.width).render(color=out.color))


def _live(bucket: str, profile: str | None, region: str | None) -> tuple[str, object, str | None, str]:
    from ..inventory import Inventory
    from ..inventory.aws import AwsAccount
    from ..inventory.core import ConfigurationError, NotAvailable

    try:
        aws = AwsAccount(profile)
        inv = Inventory(aws, [region or aws.default_region or "us-east-1"])
    except ConfigurationError as exc:
        raise _fail(str(exc)) from None
    try:
        where = inv.s3.region_of(bucket)
        text = inv.s3.policy(bucket, where)
    except NotAvailable as exc:
        if exc.kind == "not-found":
            raise _fail(f"bucket {bucket} does not exist") from None
        extra = f" (needs {exc.iam_action})" if exc.iam_action and exc.iam_action not in exc.reason else ""
        raise _fail(f"bucket {bucket}: {exc.reason}{extra}") from None
    finally:
        inv.close()
    return f"s3://{bucket}", text, inv.account, bucket
