"""Load documents given on the command line: ECS task definitions and IAM/S3 policy documents."""

from __future__ import annotations

import contextlib
import json
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


def load(paths: list[Path]) -> FileInputs:
    """Read each file once; unreadable files are a usage error, malformed policies are left to the checks."""
    out = FileInputs()
    for path in paths:
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
        except ValueError:
            # Not JSON at all: only a policy check can say something useful ("malformed policy").
            out.policies.append((str(path), text))
            continue
        kind = classify(doc)
        if kind == "task-definition":
            inner = doc["taskDefinition"] if isinstance(doc.get("taskDefinition"), dict) else doc
            out.task_definitions.append((str(path), inner))
        elif kind == "policy":
            policy = doc.get("Policy", doc)
            if isinstance(policy, str):  # `aws s3api get-bucket-policy` output wraps the document in a string
                with contextlib.suppress(ValueError):
                    policy = json.loads(policy)
            out.policies.append((str(path), policy))
        else:
            raise ConfigurationError(
                f"{path}: neither an ECS task definition (containerDefinitions) nor a policy document (Statement)"
            )
    return out
