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
import fnmatch
import tomllib
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .inventory.core import ConfigurationError
from .model import CheckMeta, Finding, Status, current_rule

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


def load(path: Path | None = None, cwd: Path | None = None) -> Config:
    cwd = cwd or Path.cwd()
    if path is None:
        if (cwd / ".auditor.toml").is_file():
            path = cwd / ".auditor.toml"
        elif (cwd / "pyproject.toml").is_file():
            try:
                data = tomllib.loads((cwd / "pyproject.toml").read_text(encoding="utf-8"))
            except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
                return Config()  # not ours to judge: auditor reads only its own section
            section = data.get("tool", {}).get("auditor")
            return _parse(section, str(cwd / "pyproject.toml")) if section else Config()
        else:
            return Config()
    try:
        data = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigurationError(f"configuration file not found: {path}") from None
    except IsADirectoryError:
        raise ConfigurationError(f"{path} is a directory, not a configuration file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigurationError(f"{path}: cannot be read ({type(exc).__name__})") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigurationError(f"{path}: invalid TOML ({exc})") from None
    section = data.get("tool", {}).get("auditor", data)
    return _parse(section, str(path))


def _parse(section: Any, source: str) -> Config:
    if not isinstance(section, dict):
        raise ConfigurationError(f"{source}: [tool.auditor] must be a table")
    cfg = Config(source=source)
    if "fail_on" in section:
        if not isinstance(section["fail_on"], str):
            raise ConfigurationError(f"{source}: fail_on must be a string such as \"high\"")
        cfg.fail_on = section["fail_on"]
    if "datadog" in section:
        mode = section["datadog"]
        if mode not in DATADOG_MODES:
            raise ConfigurationError(f"{source}: datadog must be one of {', '.join(map(repr, DATADOG_MODES))}, "
                                     f"got {mode!r}")
        cfg.datadog = mode
    excludes = section.get("exclude_checks", [])
    if not isinstance(excludes, list) or not all(isinstance(x, str) for x in excludes):
        raise ConfigurationError(f"{source}: exclude_checks must be a list of strings, e.g. [\"PB-2\"]")
    cfg.exclude_checks = list(excludes)
    suppress = section.get("suppress", [])
    if not isinstance(suppress, list):
        raise ConfigurationError(f"{source}: suppress must be an array of tables ([[suppress]])")
    for i, item in enumerate(suppress):
        where = f"{source}: suppress[{i}]"
        if not isinstance(item, dict) or not item.get("check") or not item.get("resource"):
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
        cfg.suppressions.append(Suppression(str(item["check"]), str(item["resource"]), str(item["reason"]), expires))
    return cfg


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
