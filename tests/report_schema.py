"""Validate JSON reports against the schema shipped in the package (``auditor/report.schema.json``).

``tests/conftest.py run_auditor`` passes every JSON report a test produces through :func:`assert_valid_report`,
so the schema and docs/json-report.md cannot fall behind the output.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path

import jsonschema
from auditor.reports.json import schema


@cache
def _validator() -> jsonschema.Draft202012Validator:
    doc = schema()
    jsonschema.Draft202012Validator.check_schema(doc)
    return jsonschema.Draft202012Validator(doc, format_checker=jsonschema.FormatChecker())


def report_errors(doc: object) -> list[str]:
    return [f"/{'/'.join(map(str, e.absolute_path))}: {e.message[:300]}" for e in _validator().iter_errors(doc)]


def assert_valid_report(doc: object) -> object:
    errors = report_errors(doc)
    assert not errors, "JSON report does not match auditor/report.schema.json:\n" + "\n".join(errors[:20])
    return doc


def _value(args: list[str], *flags: str) -> str | None:
    for i, a in enumerate(args[:-1]):
        if a in flags:
            return args[i + 1]
    return None


def check_cli_reports(args: list[str], stdout: str, cwd: Path | None) -> None:
    """Validate the JSON reports one CLI run wrote: ``--json-output``, ``--format json`` to ``-o`` or stdout."""
    if not args or args[0] not in ("scan", "scan-file") or "--query" in args:
        return
    base = cwd or Path.cwd()
    texts = []
    extra = _value(args, "--json-output")
    if extra:
        texts.append(base / extra)
    if _value(args, "--format", "-f") == "json":
        out = _value(args, "--output", "-o")
        texts.append(base / out if out else stdout)
    for item in texts:
        if isinstance(item, Path):
            if not item.is_file():
                continue
            item = item.read_text(encoding="utf-8")
        if not item.strip():
            continue
        assert_valid_report(json.loads(item))
