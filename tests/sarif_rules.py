"""Validate SARIF the way its consumers do: the official schema, then GitHub code scanning's own rules.

Used by every test that produces SARIF (tests import ``assert_valid_sarif``).
"""

from __future__ import annotations

import gzip
import hashlib
import json
import re
from functools import cache
from pathlib import Path
from urllib.parse import urlsplit

import jsonschema

SCHEMA_PATH = Path(__file__).parent / "data" / "sarif-schema-2.1.0.json"
SCHEMA_SHA256 = "c3b4bb2d6093897483348925aaa73af03b3e3f4bd4ca38cef26dcb4212a2682e"
_SEVERITY_RE = re.compile(r"^(10\.0|[0-9]\.[0-9])$")


@cache
def _validator() -> jsonschema.Draft4Validator:
    raw = SCHEMA_PATH.read_bytes()
    assert hashlib.sha256(raw).hexdigest() == SCHEMA_SHA256, "the vendored SARIF schema was modified"
    return jsonschema.Draft4Validator(json.loads(raw), format_checker=jsonschema.FormatChecker())


def schema_errors(doc: dict) -> list[str]:
    return [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in _validator().iter_errors(doc)]


def github_errors(doc: dict) -> list[str]:
    """The rules of docs/sarif.md that the schema does not enforce."""
    errs: list[str] = []
    runs = doc.get("runs", [])
    categories = [(r["tool"]["driver"]["name"], (r.get("automationDetails") or {}).get("id")) for r in runs]
    if len(set(categories)) != len(categories):
        errs.append("several runs share tool and category")
    for run in runs:
        rules = run["tool"]["driver"].get("rules", [])
        ids = [r["id"] for r in rules]
        if len(ids) != len(set(ids)):
            errs.append("duplicate rule ids")
        for r in rules:
            where = f"rule {r.get('id')}"
            for path in (("name",), ("shortDescription", "text"), ("fullDescription", "text"), ("help", "text"),
                         ("help", "markdown")):
                node = r
                for p in path:
                    node = (node or {}).get(p)
                if not node or not str(node).strip():
                    errs.append(f"{where}: {'.'.join(path)} empty")
            if len(r.get("fullDescription", {}).get("text", "")) > 1000:
                errs.append(f"{where}: fullDescription over 1000 characters")
            props = r.get("properties", {})
            if "security" not in props.get("tags", []):
                errs.append(f"{where}: tags lack 'security'")
            sev = props.get("security-severity")
            if sev is not None and (not isinstance(sev, str) or not _SEVERITY_RE.match(sev)
                                    or not 0.0 < float(sev) <= 10.0):
                errs.append(f"{where}: security-severity {sev!r} is not a string 0.1..10.0")
            if r.get("defaultConfiguration", {}).get("level") not in ("error", "warning", "note"):
                errs.append(f"{where}: bad default level")
        results = run.get("results", [])
        if len(results) > 25_000:
            errs.append("more than 25,000 results in a run")
        for i, res in enumerate(results):
            where = f"result {i} ({res.get('ruleId')})"
            if not res.get("message", {}).get("text", "").strip():
                errs.append(f"{where}: empty message")
            if res.get("ruleId") not in ids:
                errs.append(f"{where}: ruleId not among the rules")
            locs = res.get("locations")
            if not locs:
                errs.append(f"{where}: no locations")
                continue
            for loc in locs:
                uri = (loc.get("physicalLocation") or {}).get("artifactLocation", {}).get("uri")
                if not uri:
                    errs.append(f"{where}: location without physicalLocation.artifactLocation.uri")
                    continue
                scheme = urlsplit(uri).scheme
                if scheme and scheme != "file":
                    errs.append(f"{where}: uri {uri!r} has scheme {scheme!r}")
                if " " in uri:
                    errs.append(f"{where}: uri {uri!r} has a space")
                if ":" in uri.split("/", 1)[0] and scheme != "file":
                    errs.append(f"{where}: colon in the first path segment of {uri!r}")
            if not res.get("partialFingerprints", {}).get("primaryLocationLineHash"):
                errs.append(f"{where}: no primaryLocationLineHash")
            if res.get("level") not in ("error", "warning", "note", "none"):
                errs.append(f"{where}: bad level")
    if len(gzip.compress(json.dumps(doc).encode())) > 10 * 1024 * 1024:
        errs.append("over 10 MB gzipped")
    return errs


def assert_valid_sarif(doc: dict | str) -> dict:
    if isinstance(doc, str):
        doc = json.loads(doc)
    problems = schema_errors(doc) + github_errors(doc)
    assert not problems, "invalid SARIF:\n" + "\n".join(problems[:30])
    return doc
