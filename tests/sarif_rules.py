"""Validate SARIF the way its consumers do: the official schema, then GitHub code scanning's own rules; and
say what GitHub will display for a result (:func:`github_shows`).

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
    if len(runs) > 20:
        errs.append(f"{len(runs)} runs: GitHub rejects a file of more than 20")
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
            sev = props.get("security-severity")
            if sev is not None and (not isinstance(sev, str) or not _SEVERITY_RE.match(sev)
                                    or not 0.0 < float(sev) <= 10.0):
                errs.append(f"{where}: security-severity {sev!r} is not a string 0.1..10.0")
            # docs/sarif.md: the tag `security` and a security-severity go together (both or neither), so what
            # GitHub shows never depends on how it reads one without the other.
            if ("security" in props.get("tags", [])) != (sev is not None):
                errs.append(f"{where}: the tag 'security' and security-severity must come together")
            level = r.get("defaultConfiguration", {}).get("level")
            if level not in ("error", "warning", "note"):
                errs.append(f"{where}: bad default level")
            elif isinstance(sev, str) and _SEVERITY_RE.match(sev):
                try:
                    if _CONTRACT_LEVEL.get(_band(float(sev))) != level:
                        errs.append(f"{where}: default level {level} does not match security-severity {sev}")
                except AssertionError as exc:
                    errs.append(f"{where}: {exc}")
        results = run.get("results", [])
        if len(results) > 25_000:
            errs.append("more than 25,000 results in a run")
        for i, res in enumerate(results):
            where = f"result {i} ({res.get('ruleId')})"
            if not res.get("message", {}).get("text", "").strip():
                errs.append(f"{where}: empty message")
            if res.get("ruleId") not in ids:
                errs.append(f"{where}: ruleId not among the rules")
            elif "ruleIndex" in res and not (0 <= res["ruleIndex"] < len(ids) and ids[res["ruleIndex"]] == res["ruleId"]):
                errs.append(f"{where}: ruleIndex {res['ruleIndex']} does not point at rule {res['ruleId']}")
            else:
                rule_level = rules[ids.index(res["ruleId"])].get("defaultConfiguration", {}).get("level")
                if res.get("level", rule_level) != rule_level:
                    errs.append(f"{where}: level {res.get('level')} differs from its rule's default {rule_level}")
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


#: docs/sarif.md's levels for each GitHub security band (critical/high → error, medium → warning, low → note).
_CONTRACT_LEVEL = {"Critical": "error", "High": "error", "Medium": "warning", "Low": "note"}


def _band(score: float) -> str | None:
    """GitHub's band for a security-severity score, exactly as documented (see :func:`github_shows`); None for
    "no security severity"; AssertionError for a score the documentation leaves undecided (e.g. 9.0, 8.95)."""
    if not 0.0 < score <= 10.0:
        return None
    if score > 9.0:
        return "Critical"
    if 7.0 <= score <= 8.9:
        return "High"
    if 4.0 <= score <= 6.9:
        return "Medium"
    if 0.1 <= score <= 3.9:
        return "Low"
    raise AssertionError(f"GitHub's documentation does not say how security-severity {score} is shown")


def github_shows(doc: dict, res: dict) -> str:
    """The severity GitHub code scanning displays for result ``res`` of ``doc``, from its documentation only.

    Source: GitHub Docs, "SARIF support for code scanning"
    (https://docs.github.com/en/code-security/code-scanning/integrating-with-code-scanning/sarif-support-for-code-scanning,
    github/docs ``content/code-security/code-scanning/integrating-with-code-scanning/sarif-support-for-code-scanning.md``):

    - ``reportingDescriptor.properties.security-severity``: "If you include a value for this field, results for
      the rule are treated as security results. A string representing a score ... greater than 0.0 up to 10.0,
      for security queries (@tags includes security) ... Code scanning translates numerical scores as follows:
      over 9.0 is critical, from 7.0 to 8.9 is high, from 4.0 to 6.9 is medium and from 0.1 to 3.9 is low. A
      value of 0.0 or any other value outside the given range is regarded as having no security severity."
      The rule carries the score; a result has no such field, so every result of the rule shows it.
    - ``result.level``: "The severity of the result. This level overrides the default severity defined by the
      rule." ``reportingDescriptor.defaultConfiguration.level``: "By default, the defaultConfiguration.level is
      set to warning." Valid values: note, warning, error (shown as Note, Warning, Error).

    A score on a rule without the tag ``security`` is refused (the page ties the score to security queries and
    also says the score alone makes a security result: it does not settle the case), as is a score the page
    leaves between two bands, a ``none`` level, and a ``ruleIndex`` that names another rule than ``ruleId``.
    """
    rules = next(run for run in doc["runs"] if res in run.get("results", []))["tool"]["driver"]["rules"]
    if "ruleIndex" in res:
        rule = rules[res["ruleIndex"]]
        assert res.get("ruleId", rule["id"]) == rule["id"], "ruleIndex and ruleId name different rules"
    else:
        rule = next(r for r in rules if r["id"] == res["ruleId"])
    props = rule.get("properties", {})
    raw = props.get("security-severity")
    if raw is not None:
        try:
            band = _band(float(raw))
        except (TypeError, ValueError):
            band = None  # not a number: no security severity
        if band is not None:
            assert "security" in props.get("tags", []), f"rule {rule['id']}: a score without the tag security"
            return band
    level = res.get("level") or rule.get("defaultConfiguration", {}).get("level") or "warning"
    shown = {"error": "Error", "warning": "Warning", "note": "Note"}.get(level)
    assert shown, f"GitHub's documentation does not say how level {level!r} is shown"
    return shown


def assert_valid_sarif(doc: dict | str) -> dict:
    if isinstance(doc, str):
        doc = json.loads(doc)
    problems = schema_errors(doc) + github_errors(doc)
    assert not problems, "invalid SARIF:\n" + "\n".join(problems[:30])
    return doc
