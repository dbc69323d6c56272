"""Project configuration: ``.auditor.toml`` or ``[tool.auditor]`` in ``pyproject.toml``.

```toml
[tool.auditor]
fail_on = "high"
exclude_checks = ["PB-2"]
datadog = "required"                        # auto (default) | required | off, see DATADOG_MODES

[[tool.auditor.suppress]]
check = "sqs-lambda/no-redrive-policy"      # id, rule code or family
resource = "arn:aws:sqs:*:*:scratch-*"      # id or ARN, shell-style wildcards
reason = "scratch queues are disposable"    # required
expires = 2027-03-31                        # optional; an expired waiver stops applying
```
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import difflib
import fnmatch
import json
import tomllib
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .inventory.core import ConfigurationError
from .model import CheckMeta, Finding, Severity, Status, current_rule

#: Values of ``fail_on`` (and ``--fail-on``): a severity, or ``never``.
FAIL_ON = (*(str(s) for s in Severity), "never")

#: What a scan does about Datadog (``datadog`` setting, ``--datadog``):
#: ``auto``: read Datadog when anything of it is configured (a key, DD_SITE, DD_HOST); with nothing configured
#: the checks that need it are skipped with a notice (the scan is still complete); ``required``: Datadog must
#: be read — missing keys leave those checks not evaluated (exit 3); ``off``: never read it, skip them.
DATADOG_MODES = ("auto", "required", "off")


@dataclass(frozen=True)
class Suppression:
    check: str
    resource: str
    reason: str
    expires: dt.date | None = None
    where: str = ""  # ``suppress[2]``: how notices about this waiver name it

    def matches(self, f: Finding) -> bool:
        c = self.check
        if c not in ("*", f.check_id, f.rule) and c.upper() != f.rule and c != f.check_id.split("/")[0]:
            return False
        return any(fnmatch.fnmatchcase(v, self.resource) for v in (f.resource.id, f.resource.arn) if v)


@dataclass
class Config:
    fail_on: str | None = None
    exclude_checks: list[str] = field(default_factory=list)
    suppressions: list[Suppression] = field(default_factory=list)
    datadog: str = "auto"
    source: str = ""


#: The keys auditor reads, with what each accepts (named in every error about them).
KEYS = {
    "fail_on": "a severity: " + ", ".join(FAIL_ON),
    "exclude_checks": 'a list of check ids, rule codes or families, e.g. ["PB-2"]',
    "datadog": "whether the scan reads Datadog: " + ", ".join(DATADOG_MODES),
    "suppress": "an array of tables ([[suppress]]) with check, resource, reason and optional expires",
}
SUPPRESS_KEYS = {
    "check": "a check id, rule code or family",
    "resource": "a resource id or ARN, shell-style wildcards allowed",
    "reason": "why the finding is accepted (required)",
    "expires": "a date such as 2027-03-31 (optional)",
}
#: A directory holding one of these is the top of a repository: the search for a configuration stops there.
VCS_MARKERS = (".git", ".hg", ".svn")
CONFIG_NAME = ".auditor.toml"


def find(cwd: Path | None = None) -> Path | None:
    """The configuration that applies in ``cwd``: the nearest ``.auditor.toml``, or ``pyproject.toml`` with a
    ``[tool.auditor]`` table, in ``cwd`` or a parent directory. The search stops at the top of a repository
    (a directory holding ``.git``, ``.hg`` or ``.svn``) or at the filesystem root; a ``pyproject.toml``
    without an auditor section is passed over, as ruff and pytest do."""
    here = (cwd or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        candidate = folder / CONFIG_NAME
        if candidate.is_file():
            return candidate
        pyproject = folder / "pyproject.toml"
        if pyproject.is_file() and _has_section(pyproject):
            return pyproject
        if any((folder / marker).exists() for marker in VCS_MARKERS):
            return None
    return None


def _has_section(pyproject: Path) -> bool:
    try:
        data = tomllib.loads(pyproject.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
        return False  # not ours to judge: auditor reads only its own section
    tool = data.get("tool")
    return isinstance(tool, dict) and "auditor" in tool


def read_user_file(path: Path | str, *, name: str, missing: str, directory: str) -> str:
    """The text of a file the user named (UTF-8). Each way it cannot be read is a :class:`ConfigurationError`
    of one line (exit 2): ``missing`` or ``directory`` as given, else ``<name>: cannot be read (<why>)``."""
    try:
        return Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigurationError(missing) from None
    except IsADirectoryError:
        raise ConfigurationError(directory) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigurationError(f"{name}: cannot be read ({type(exc).__name__})") from None


def load(path: Path | None = None, cwd: Path | None = None) -> Config:
    """The configuration at ``path``, or the one :func:`find` finds from ``cwd``; none is an empty Config."""
    if path is None:
        path = find(cwd)
        if path is None:
            return Config()
    text = read_user_file(path, name=str(path), missing=f"configuration file not found: {path}",
                          directory=f"{path} is a directory, not a configuration file")
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigurationError(f"{path}: invalid TOML ({exc})") from None
    if Path(path).name == "pyproject.toml" or isinstance(data.get("tool"), dict):
        tool = data.get("tool", {})
        if not isinstance(tool, dict) or "auditor" not in tool:
            raise ConfigurationError(f"{path}: no [tool.auditor] table")
        return _parse(tool["auditor"], str(path), "tool.auditor.")
    return _parse(data, str(path))


def suggest(name: str, choices: Iterable[str]) -> str:
    """`` (did you mean 'x'?)`` for the closest of ``choices`` to a mistyped ``name``, else ""."""
    pool = list(choices)
    folded = {c.lower().replace("-", "_"): c for c in pool}
    key = name.lower().replace("-", "_")
    if key in folded:
        return f" (did you mean {folded[key]!r}?)"
    close = difflib.get_close_matches(name, pool, n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _unknown_keys(table: dict, known: dict[str, str], where: str) -> None:
    for key in table:
        if key not in known:
            raise ConfigurationError(f"{where}unknown key {key!r}{suggest(key, known)}; "
                                     f"accepted keys: {', '.join(known)}")


def _parse(section: Any, source: str, prefix: str = "") -> Config:
    if not isinstance(section, dict):
        raise ConfigurationError(f"{source}: [tool.auditor] must be a table")
    _unknown_keys(section, KEYS, f"{source}: {prefix}")
    cfg = Config(source=source)
    if "fail_on" in section:
        value = section["fail_on"]
        if not isinstance(value, str) or value.strip().lower() not in FAIL_ON:
            hint = suggest(value, FAIL_ON) if isinstance(value, str) else ""
            raise ConfigurationError(f"{source}: {prefix}fail_on = {_toml(value)} is not accepted{hint}; "
                                     f"accepted values: {', '.join(FAIL_ON)}")
        cfg.fail_on = value.strip().lower()
    if "datadog" in section:
        mode = section["datadog"]
        if mode not in DATADOG_MODES:
            hint = suggest(mode, DATADOG_MODES) if isinstance(mode, str) else ""
            raise ConfigurationError(f"{source}: {prefix}datadog = {_toml(mode)} is not accepted{hint}; "
                                     f"accepted values: {', '.join(DATADOG_MODES)}")
        cfg.datadog = mode
    excludes = section.get("exclude_checks", [])
    if not isinstance(excludes, list) or not all(isinstance(x, str) for x in excludes):
        raise ConfigurationError(f"{source}: {prefix}exclude_checks must be a list of strings, e.g. [\"PB-2\"]")
    cfg.exclude_checks = list(excludes)
    suppress = section.get("suppress", [])
    if not isinstance(suppress, list):
        raise ConfigurationError(f"{source}: {prefix}suppress must be an array of tables ([[suppress]])")
    for i, item in enumerate(suppress):
        where = f"{source}: {prefix}suppress[{i}]"
        if not isinstance(item, dict):
            raise ConfigurationError(f"{where} must be a table with check, resource and reason")
        _unknown_keys(item, SUPPRESS_KEYS, f"{where}: ")
        for key in ("check", "resource", "reason"):
            if key in item and not isinstance(item[key], str):
                raise ConfigurationError(f"{where}: {key} = {_toml(item[key])} must be a string "
                                         f"({SUPPRESS_KEYS[key]})")
        if not item.get("check") or not item.get("resource"):
            raise ConfigurationError(f"{where} needs `check` and `resource`")
        if not str(item.get("reason", "")).strip():
            raise ConfigurationError(f"{where} needs a `reason` (a waiver without one cannot be reviewed)")
        expires = item.get("expires")
        if isinstance(expires, str):
            try:
                expires = dt.date.fromisoformat(expires)
            except ValueError:
                raise ConfigurationError(f"{where}: `expires` is not a date (YYYY-MM-DD)") from None
        if isinstance(expires, dt.datetime):
            expires = expires.date()
        if expires is not None and not isinstance(expires, dt.date):
            raise ConfigurationError(f"{where}: `expires` must be a date such as 2027-03-31")
        cfg.suppressions.append(Suppression(str(item["check"]), str(item["resource"]), str(item["reason"]),
                                            expires, where.split(": ", 1)[1]))
    return cfg


def _toml(value: Any) -> str:
    return json.dumps(value) if isinstance(value, (str, int, float, bool)) else type(value).__name__


def apply(findings: list[Finding], cfg: Config, today: dt.date | None = None,
          checks: Iterable[CheckMeta] = ()) -> tuple[list[Finding], list[str]]:
    """Mark waived failures as suppressed; return them with warnings about expired waivers.

    ``checks`` resolves a waiver written with a former rule code that no check has taken since (a rule code
    always means the check that has it now, see :func:`auditor.model.current_rule`).
    """
    today = today or dt.date.today()
    metas = list(checks)
    warnings, active = [], []
    for s in cfg.suppressions:
        if s.expires and s.expires < today:
            warnings.append(f"suppression of {s.check} on {s.resource} expired on {s.expires}; it no longer applies")
        else:
            code = current_rule(s.check, metas)
            active.append(dataclasses.replace(s, check=code) if code.upper() != s.check.strip().upper() else s)
    out = []
    for f in findings:
        if f.status in (Status.FAIL, Status.CARRIED_OVER):
            for s in active:
                if s.matches(f):
                    f = dataclasses.replace(f, suppressed=s.reason + (f" (until {s.expires})" if s.expires else ""))
                    break
        out.append(f)
    return out, warnings


def _names(s: Suppression, meta: CheckMeta, metas: list[CheckMeta]) -> bool:
    c = s.check.strip()
    return (c in ("*", meta.id, meta.family, meta.family + "/*") or current_rule(c, metas) == meta.rule)


def stale(cfg: Config, findings: Iterable[Finding], *, ran: Iterable[CheckMeta], known: Iterable[CheckMeta],
          complete: bool, accounts: Iterable[str] = (), regions: Iterable[str] = (),
          today: dt.date | None = None) -> list[str]:
    """Notices for waivers that no longer do anything: one that names no check at all (a typo, a removed
    check), and — when the scan was complete and ran its check — one that matched no failure (the problem is
    fixed, or the resource pattern is wrong). A waiver whose ARN names an account or region this scan did not
    cover is not judged."""
    today = today or dt.date.today()
    known, ran = list(known), list(ran)
    fails = [f for f in findings if f.status is Status.FAIL]
    accounts, regions = list(accounts), list(regions)
    out: list[str] = []
    for s in cfg.suppressions:
        label = f"{cfg.source}: {s.where or 'waiver'} (check {s.check!r}, resource {s.resource!r})"
        if not any(_names(s, m, known) for m in known):
            names = [m.id for m in known] + [m.rule for m in known] + sorted({m.family for m in known})
            out.append(f"{label} names no check{suggest(s.check, names)}; it waives nothing")
            continue
        if not complete or (s.expires and s.expires < today) or not any(_names(s, m, known) for m in ran):
            continue
        if not _in_scope(s.resource, accounts, regions):
            continue
        code = current_rule(s.check, known)
        active = dataclasses.replace(s, check=code) if code.upper() != s.check.strip().upper() else s
        if not any(active.matches(f) for f in fails):
            out.append(f"{label} matched no finding in this complete scan: the problem is gone or the pattern "
                       "is wrong; remove or correct the waiver")
    return out


def _in_scope(pattern: str, accounts: list[str], regions: list[str]) -> bool:
    parts = pattern.split(":")
    if len(parts) < 6 or parts[0] != "arn":
        return True
    region, account = parts[3], parts[4]
    if regions and region and not any(fnmatch.fnmatchcase(r, region) for r in regions):
        return False
    return not (accounts and account and not any(fnmatch.fnmatchcase(a, account) for a in accounts))
