"""auditor's coercion of command-line values (auditor/cli_params.py) answers exactly what typer's own does.

typer 0.29 builds a pydantic adapter per parameter; ``cli_params.Direct`` answers auditor's kinds of parameter
without one and hands anything else to typer's. Here both are asked the same question for every parameter of
every command — defaults, typical values, wrong values — and must give the same value or the same error.
"""

from __future__ import annotations

import subprocess
import sys
from enum import Enum
from pathlib import Path
from typing import Any, get_args, get_origin

import pytest
import typer
import typer.main
from typer._coercion import build_runtime_param

from auditor import cli, cli_params

GROUP = typer.main.get_command(cli.app)


def _params() -> list[tuple[str, Any]]:
    group = GROUP
    out = []
    for name, command in sorted(group.commands.items()):
        for sub in [command, *getattr(command, "commands", {}).values()]:
            for p in sub.params:
                if hasattr(p, "type_descriptor"):
                    out.append((f"{name} {p.name}", p))
    return out


PARAMS = _params()


def _values(p: Any, tmp: Path) -> list[Any]:
    """Values a user or a default can give the parameter: good ones and wrong ones."""
    annotation = p.type_descriptor.annotation
    leaf = get_args(annotation)[0] if get_origin(annotation) is list else annotation
    values: list[Any] = [None, p.default]
    if isinstance(leaf, type) and issubclass(leaf, Enum):
        members = list(leaf)
        values += [members[0], str(members[0].value), str(members[-1].value).upper(), "no-such-choice", ""]
    elif leaf is int:
        values += ["8", "0", "-3", "+4", "1000000", " 8", "8.5", "1_000", "eight", "", 7, True]
    elif isinstance(leaf, type) and issubclass(leaf, Path):
        (tmp / "file.json").write_text("{}")
        values += [str(tmp / "file.json"), str(tmp), str(tmp / "missing.json"), "-", "", tmp / "file.json"]
    else:
        values += ["demo", "", "us-east-1,eu-west-1", b"bytes"]
    if get_origin(annotation) is list:
        values = [None, (), *[(v,) for v in values if v is not None], tuple(v for v in values[2:4] if v is not None),
                  "not-a-tuple"]
    return values


def _answer(runtime: Any, p: Any, value: Any) -> tuple[str, Any]:
    ctx = typer.Context(GROUP)
    try:
        return "value", runtime.coerce(value, param=p, ctx=ctx)
    except Exception as exc:  # noqa: BLE001 - the error itself is what is compared
        return type(exc).__name__, str(exc)


@pytest.mark.parametrize(("where", "param"), PARAMS, ids=[w for w, _ in PARAMS])
def test_same_answers_as_typer(where: str, param: Any, tmp_path: Path) -> None:
    direct = cli_params.Direct(param.type_descriptor)
    typers = build_runtime_param(param.type_descriptor)
    for value in _values(param, tmp_path):
        mine, theirs = _answer(direct, param, value), _answer(typers, param, value)
        assert mine == theirs, f"{where} {value!r}"
        assert type(mine[1]) is type(theirs[1]), f"{where} {value!r}"
        if mine[0] == "value" and isinstance(mine[1], list):
            assert [type(v) for v in mine[1]] == [type(v) for v in theirs[1]]


def test_every_kind_of_parameter_is_answered_directly() -> None:
    """The common kinds never reach pydantic (else this module would save nothing)."""
    missed = [where for where, p in PARAMS
              if cli_params.Direct(p.type_descriptor).leaf is None and p.type_descriptor.annotation is not bool]
    assert missed == []


def test_a_scan_file_run_does_not_import_pydantic() -> None:
    """A whole command — parsing ~40 parameters, Paths and choices among them — without pydantic."""
    example = Path(__file__).parents[1] / "examples" / "policy-split-deny.json"
    # main() ends the process itself (after the exit handlers): the question is asked from one of those.
    code = ("import atexit, sys\nfrom auditor import cli\nsys.argv = ['auditor', 'scan-file', sys.argv[1], '--format', "
            "'json', '--fail-on', 'never']\natexit.register(lambda: print('pydantic' in sys.modules, file=sys.stderr))\n"
            "cli.main()\nprint('main() returned', file=sys.stderr)")
    run = subprocess.run([sys.executable, "-c", code, str(example)], capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stderr[-2000:]
    assert "main() returned" not in run.stderr
    assert run.stderr.strip().splitlines()[-1] == "False", run.stderr[-2000:]
    assert '"findings"' in run.stdout


def test_a_profiled_run_ends_the_ordinary_way_so_the_profile_is_written(tmp_path) -> None:
    """``main()`` ends the process itself to skip freeing the scan's objects, except under a profiler or tracer,
    which writes what it measured once ``main()`` has raised SystemExit."""
    example = Path(__file__).parents[1] / "examples" / "policy-split-deny.json"
    prof = tmp_path / "scan.prof"
    run = subprocess.run([sys.executable, "-m", "cProfile", "-o", str(prof), "-m", "auditor", "scan-file", str(example),
                          "--format", "json", "--fail-on", "never"], capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr[-2000:]
    assert '"findings"' in run.stdout
    assert prof.stat().st_size > 0
