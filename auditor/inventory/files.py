"""Load documents given on the command line: ECS task definitions and IAM/S3 policy documents.

The type of each document is told by its shape (``containerDefinitions``: a task definition; ``Statement``,
or ``Policy`` as ``aws s3api get-bucket-policy`` prints it: a policy), and a note says which was chosen. A
file that is not JSON, or is JSON of neither shape, is a usage error naming the file (and the line and column
where JSON parsing stopped): auditor cannot tell what it was meant to be. ``-`` reads standard input; a
directory is searched recursively for ``.json`` files, and those of neither shape are skipped with a note.
"""

from __future__ import annotations

import contextlib
import json
import os
from pathlib import Path
from typing import IO, Any

from . import FileInputs
from .core import ConfigurationError

MAX_FILE_BYTES = 5 * 1024 * 1024
STDIN = "-"

KIND_LABEL = {"task-definition": "ECS task definition", "policy": "bucket policy"}


def classify(doc: Any) -> str:
    """``task-definition``, ``policy`` or ``unknown`` for one parsed JSON document."""
    if isinstance(doc, dict):
        inner = doc.get("taskDefinition") if isinstance(doc.get("taskDefinition"), dict) else doc
        if "containerDefinitions" in inner:
            return "task-definition"
        if "Statement" in doc or "Policy" in doc:
            return "policy"
    return "unknown"


def repository_root(start: Path | None = None) -> Path:
    """The working tree ``start`` (default: the current directory) is in: the nearest directory holding
    ``.git`` (a directory, or a file in a worktree or submodule), else ``start`` itself."""
    here = Path(os.path.abspath(start or Path.cwd()))
    for d in (here, *here.parents):
        if (d / ".git").exists():
            return d
    return here


def display_path(path: Path, root: Path) -> str:
    """The name a file goes by in every report: its path relative to ``root`` with ``/`` separators
    (``./x.json``, ``x.json`` and ``$PWD/x.json`` are one name, so one SARIF alert), or its normalised
    absolute path when it lies outside ``root``."""
    absolute = Path(os.path.realpath(path))
    base = Path(os.path.realpath(root))
    try:
        return absolute.relative_to(base).as_posix()
    except ValueError:
        return absolute.as_posix()


def _shape(doc: dict) -> str:
    """How the document's shape was read, for the note that says which type was chosen."""
    if isinstance(doc.get("taskDefinition"), dict):
        return "describe-task-definition output"
    if "containerDefinitions" in doc:
        return "containerDefinitions"
    if "Statement" in doc:
        return "Statement"
    return "get-bucket-policy output"


class NotRecognised(ConfigurationError):
    """A document that is neither a task definition nor a policy (skipped inside a directory)."""


def _read(path: Path, stdin: IO[str] | None) -> str:
    """The text of one file, or of standard input for ``-``."""
    if str(path) == STDIN:
        if stdin is None:
            raise ConfigurationError("-: standard input is not available")
        text = stdin.read(MAX_FILE_BYTES + 1)
        if len(text) > MAX_FILE_BYTES:
            raise ConfigurationError(f"<stdin>: larger than {MAX_FILE_BYTES // (1024 * 1024)} MiB")
        return text
    try:
        if path.stat().st_size > MAX_FILE_BYTES:
            raise ConfigurationError(f"{path}: larger than {MAX_FILE_BYTES // (1024 * 1024)} MiB")
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigurationError(f"{path}: no such file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigurationError(f"{path}: cannot be read ({exc.__class__.__name__})") from None


def parse(name: str, text: str) -> tuple[str, Any]:
    """(kind, document) of one file's text; a usage error when it is not JSON or of neither shape."""
    try:
        doc = json.loads(text)
    except RecursionError:
        raise ConfigurationError(f"{name}: the JSON nests too deeply to be read") from None
    except json.JSONDecodeError as exc:
        hint = " (YAML is not read: convert it to JSON)" if name.lower().endswith((".yaml", ".yml")) else ""
        raise ConfigurationError(f"{name}: not valid JSON, line {exc.lineno}, column {exc.colno}: {exc.msg}"
                                 f"{hint}") from None
    except ValueError as exc:
        raise ConfigurationError(f"{name}: not valid JSON: {exc}") from None
    kind = classify(doc)
    if kind == "unknown":
        got = f"an object with keys {', '.join(sorted(map(str, doc))[:6])}" if isinstance(doc, dict) and doc \
            else f"a JSON {type(doc).__name__.replace('dict', 'object').replace('list', 'array')}"
        raise NotRecognised(f"{name}: neither an ECS task definition (containerDefinitions) nor a bucket policy "
                            f"(Statement); it is {got}")
    return kind, doc


def _expand(paths: list[Path]) -> list[tuple[Path, bool]]:
    """(file, found in a directory) for every path; a directory gives its ``.json`` files, recursively, sorted,
    skipping hidden folders."""
    out: list[tuple[Path, bool]] = []
    for path in paths:
        if str(path) != STDIN and path.is_dir():
            found = sorted(p for p in path.rglob("*.json")
                           if p.is_file() and not any(part.startswith(".") for part in p.relative_to(path).parts))
            if not found:
                raise ConfigurationError(f"{path}: a directory with no .json file in it")
            out += [(p, True) for p in found]
        else:
            out.append((path, False))
    return out


def load(paths: list[Path], root: Path | None = None, stdin: IO[str] | None = None) -> FileInputs:
    """Read each document once. An unreadable or unparsable file is a usage error, and so is one of neither
    shape named on the command line; in a directory, JSON of neither shape (package.json…) is skipped with a
    note. Malformed policies (JSON of a policy's shape that AWS would reject) are left to the checks.

    Each document is named by :func:`display_path` relative to ``root`` (default: :func:`repository_root`);
    standard input is ``<stdin>``.
    """
    out = FileInputs()
    root = root if root is not None else repository_root()
    seen: set[str] = set()
    for path, in_dir in _expand(paths):
        name = "<stdin>" if str(path) == STDIN else display_path(path, root)
        if name in seen:  # ./x.json and x.json, or a file also inside a directory given: judged once
            continue
        seen.add(name)
        text = _read(path, stdin)
        try:  # errors name the file as it was given (or found in a directory given)
            kind, doc = parse("<stdin>" if str(path) == STDIN else str(path), text)
        except NotRecognised as exc:
            if not in_dir:
                raise
            out.notes.append(f"skipped {exc}")  # package.json, tsconfig.json… beside the documents
            continue
        out.notes.append(f"{name}: read as {'an' if kind == 'task-definition' else 'a'} {KIND_LABEL[kind]} "
                         f"({_shape(doc)})")
        if kind == "task-definition":
            inner = doc["taskDefinition"] if isinstance(doc.get("taskDefinition"), dict) else doc
            out.task_definitions.append((name, inner))
        else:
            policy = doc.get("Policy", doc) if "Statement" not in doc else doc
            if isinstance(policy, str):  # `aws s3api get-bucket-policy` output wraps the document in a string
                with contextlib.suppress(ValueError):
                    policy = json.loads(policy)
            out.policies.append((name, policy))
    if not out.task_definitions and not out.policies:
        raise ConfigurationError("no ECS task definition or bucket policy among " + ", ".join(map(str, paths)))
    return out
