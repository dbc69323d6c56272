"""Load documents given on the command line: ECS task definitions and IAM/S3 policy documents."""

from __future__ import annotations

import contextlib
import json
import os
from pathlib import Path
from typing import Any

from . import FileInputs
from .core import ConfigurationError

MAX_FILE_BYTES = 5 * 1024 * 1024


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


def load(paths: list[Path], root: Path | None = None) -> FileInputs:
    """Read each file once; unreadable files are a usage error, malformed policies are left to the checks.

    Each document is named by :func:`display_path` relative to ``root`` (default: :func:`repository_root`).
    """
    out = FileInputs()
    root = root if root is not None else repository_root()
    seen: set[str] = set()
    for path in paths:
        name = display_path(path, root)
        if name in seen:  # ./x.json and x.json: one document, judged once
            continue
        seen.add(name)
        try:
            if path.stat().st_size > MAX_FILE_BYTES:
                raise ConfigurationError(f"{path}: larger than {MAX_FILE_BYTES // (1024 * 1024)} MiB")
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            raise ConfigurationError(f"{path}: no such file") from None
        except (OSError, UnicodeDecodeError) as exc:
            raise ConfigurationError(f"{path}: cannot be read ({exc.__class__.__name__})") from None
        try:
            doc = json.loads(text)
        except RecursionError:
            raise ConfigurationError(f"{path}: the JSON nests too deeply to be read") from None
        except ValueError:
            # Not JSON at all: only a policy check can say something useful ("malformed policy").
            out.policies.append((name, text))
            continue
        kind = classify(doc)
        if kind == "task-definition":
            inner = doc["taskDefinition"] if isinstance(doc.get("taskDefinition"), dict) else doc
            out.task_definitions.append((name, inner))
        elif kind == "policy":
            policy = doc.get("Policy", doc)
            if isinstance(policy, str):  # `aws s3api get-bucket-policy` output wraps the document in a string
                with contextlib.suppress(ValueError):
                    policy = json.loads(policy)
            out.policies.append((name, policy))
        else:
            raise ConfigurationError(
                f"{path}: neither an ECS task definition (containerDefinitions) nor a policy document (Statement)"
            )
    return out
