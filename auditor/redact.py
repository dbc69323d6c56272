"""Keep secrets out of every output.

Two layers: values that look like secrets, or sit under a secret-sounding key, are masked when evidence is
recorded; and every secret the tool itself was given (Datadog keys, AWS keys) is registered here and scrubbed
from any text the CLI writes or logs, whatever path it took to get there. Credentials written into a URL
(``http://user:password@agent:8126``, ``https://token@host``) belong to both layers: whatever variable or
option holds such a URL, every output shows it as ``http://user:***@agent:8126`` / ``https://***@host``. So do
AWS credentials named in text (``x-amz-security-token:…``, ``<SessionToken>…``, ``"SecretAccessKey": "…"``):
the SDK's debug log (``-vv``) writes the session token of every signed request.
"""

from __future__ import annotations

import functools
import logging
import re
import threading
from collections.abc import Callable, Mapping
from typing import Any

MASK = "<redacted>"
URL_MASK = "***"  # in URLs: ``user:***@host`` keeps the URL recognisable

_SECRET_KEY_RE = re.compile(
    r"(api[_-]?key|app[_-]?key|apikey|secret|password|passwd|token|credential|private[_-]?key|dd_api_key|"
    r"aws_secret_access_key|aws_session_token|authorization)",
    re.IGNORECASE,
)
#: What a text holds, lowered, wherever that pattern matches (``x-amz-security-token``, ``session_?token``,
#: ``secret_?access_?key``, in any case): a look for these first (the case-insensitive regex has no literal to
#: skip ahead with: 1.35 s on a 1x scan's 15 MB report; lowering a 2x scan's 30 MB and looking, 0.2 s).
_CREDENTIAL_FIELD_STEMS = ("security-token", "sessiontoken", "session_token", "secretaccess", "secret_access")
_SECRET_VALUE_RES = [
    re.compile(r"\b(?:AKIA|ASIA)[A-Z0-9]{16}\b"),  # AWS access key ids
    re.compile(r"\b[0-9a-f]{32}\b"),  # Datadog API keys
    re.compile(r"\b[0-9a-f]{40}\b"),  # Datadog application keys
    re.compile(r"(?<![A-Za-z0-9/+=])[A-Za-z0-9/+=]{40}(?![A-Za-z0-9/+=])"),  # AWS secret access keys
]
#: Matches wherever one of them does: one pass tells whether a text needs them at all (most do not).
_ANY_SECRET_VALUE_RE = re.compile("|".join(f"(?:{rx.pattern})" for rx in _SECRET_VALUE_RES))
#: Every value above is a run of at least 20 of these characters: a text without one needs no other look
#: (names, ARNs and sentences, the bulk of what a scan records, are told apart three times faster this way).
_SECRET_RUN_RE = re.compile(r"[A-Za-z0-9/+=]{20}")

# A URL scheme, not preceded by another scheme character (bounded: no quadratic scan of long dotted text).
_SCHEME = r"(?<![A-Za-z0-9+.\-])[A-Za-z][A-Za-z0-9+.\-]{0,31}://"
# The authority ends at / ? # and never crosses whitespace, quotes or angle brackets (JSON, markdown, HTML);
# userinfo runs to its *last* "@", as URL parsers read it (a password may contain a raw "@").
_URL_USERINFO_RE = re.compile(rf"(?P<scheme>{_SCHEME})(?P<userinfo>[^\s/?#\"'<>]{{1,1024}})@")
# An invalid URL whose password holds a raw / ? or # (``redis://u:pa/ss@cache``) still carries a secret: a
# ``user:`` followed by something that is not a port, then an "@" further on.
_URL_BROKEN_PASSWORD_RE = re.compile(
    rf"(?P<scheme>{_SCHEME})(?P<user>[^\s/?#\"'<>:@\[\]]{{0,256}}):(?!\d*[/?#])"
    r"[^\s\"'<>@/?#]{0,256}[/?#][^\s\"'<>]{0,256}@"
)
#: The longest scheme the two patterns accept: every match starts at most this far before a "://".
_SCHEME_MAX = 32
#: A temporary credential's session token has no shape of its own (base64 of any length), and the AWS SDK's
#: debug log (``-vv``) writes it: in every signed request (``x-amz-security-token:…`` in the canonical request)
#: and in STS answers (``<SessionToken>…``, ``"SessionToken": "…"``), with the secret key beside it. So the
#: value that follows these names is masked wherever it appears, whatever credentials were used.
_CREDENTIAL_FIELD_RE = re.compile(
    r"(?P<name>x-amz-security-token|session_?token|secret_?access_?key)(?P<sep>[\"']?\s*[:=>]\s*b?[\"']?)"
    r"(?P<value>[A-Za-z0-9/+=]{16,})",
    re.IGNORECASE,
)

_known: set[str] = set()
_known_longest_first: tuple[str, ...] = ()  # what scrub_known replaces, in this order
_lock = threading.Lock()


def register_secret(value: str | None) -> None:
    """Remember a secret so that :func:`scrub` removes it from any text."""
    global _known_longest_first, _generation
    if value and len(value) >= 6:
        with _lock:
            if value not in _known:
                _known.add(value)
                _known_longest_first = tuple(sorted(_known, key=len, reverse=True))
                _scrubbed.clear()  # answers given before this secret was known
                _generation += 1  # and those being worked out while it was registered


@functools.lru_cache(maxsize=4096)
def is_secret_key(name: str) -> bool:
    """Whether a key (an evidence field, an environment variable's name) says its value is secret. The same
    few names come back for every finding, so the answers are kept."""
    return bool(_SECRET_KEY_RE.search(name or ""))


def _masked_userinfo(m: re.Match[str]) -> str:
    user, colon, _ = m["userinfo"].partition(":")
    return f"{m['scheme']}{user}:{URL_MASK}@" if colon else f"{m['scheme']}{URL_MASK}@"


def mask_url_credentials(text: str) -> str:
    """``scheme://user:password@host`` → ``scheme://user:***@host``; ``scheme://token@host`` → ``scheme://***@host``.

    Safe on whole documents (JSON, SARIF, tables, logs): only the userinfo of a URL changes.
    """
    if not text or "@" not in text or "://" not in text:  # both patterns need the two
        return text
    text = _sub_near_schemes(_URL_BROKEN_PASSWORD_RE, lambda m: f"{m['scheme']}{m['user']}:{URL_MASK}@", text)
    return _sub_near_schemes(_URL_USERINFO_RE, _masked_userinfo, text)


def _sub_near_schemes(rx: re.Pattern[str], repl: Callable[[re.Match[str]], str], text: str) -> str:
    """``rx.sub(repl, text)`` for a pattern whose matches start with a URL scheme, trying only the positions
    up to :data:`_SCHEME_MAX` characters before each "://" (the same matches, left to right): ``sub`` itself
    would try every position of a whole report, with a look-behind and a scheme at each."""
    starts: list[int] = []
    at = text.find("://")
    while at >= 0:
        starts.extend(range(max(at - _SCHEME_MAX, starts[-1] + 1 if starts else 0), at))
        at = text.find("://", at + 3)
    out: list[str] = []
    done = 0
    for start in starts:
        if start < done:
            continue
        m = rx.match(text, start)
        if m:
            out.append(text[done:start])
            out.append(repl(m))
            done = m.end()
    if not out:
        return text
    out.append(text[done:])
    return "".join(out)


def _may_name_credential(text: str) -> bool:
    """Whether ``_CREDENTIAL_FIELD_RE`` may match: the text, lowered, holds one of its names' stems
    (``Secret_Access_Key``, ``SESSIONTOKEN`` and ``x-amz-security-token`` alike). Looking for nine spellings
    instead, as before, was faster (``scrub_known`` over a 2x scan's 33,221 report lines: 0.09 s then, 0.11 s
    now) and missed every other one: ``Secret_Access_Key=…`` was written out unmasked."""
    return any(map(text.lower().__contains__, _CREDENTIAL_FIELD_STEMS))


def scrub_known(text: str) -> str:
    """Remove every registered secret and every URL's credentials from ``text`` (safe on whole documents:
    hashes and ids survive)."""
    if not text:
        return text
    for value in _known_longest_first:
        if value in text:
            text = text.replace(value, MASK)
    if _may_name_credential(text):
        text = _CREDENTIAL_FIELD_RE.sub(lambda m: f"{m['name']}{m['sep']}{MASK}", text)
    return mask_url_credentials(text)


#: Answers of :func:`scrub` by text. A scan records the same values again and again (a queue's ARN in every
#: check that judges it, the same sentences): 72 % of the 75,000 texts a 1x scan's results hold are repeats,
#: every one of them at most 256 characters long. Longer texts (log lines, documents: unique, and a ``-vv`` scan
#: writes thousands) are not kept. Emptied when a secret is registered (an earlier answer may not mask it) and
#: when it is full.
_scrubbed: dict[str, str] = {}
_SCRUBBED_MAX = 65_536
_SCRUBBED_TEXT_MAX = 256
_generation = 0


def scrub(text: str) -> str:
    """Remove registered secrets and anything shaped like a key from one message or evidence value."""
    if type(text) is not str or len(text) > _SCRUBBED_TEXT_MAX:
        return _scrub(text)
    try:
        return _scrubbed[text]
    except KeyError:
        pass
    generation = _generation
    out = _scrub(text)
    with _lock:
        if generation == _generation:
            if len(_scrubbed) >= _SCRUBBED_MAX:
                _scrubbed.clear()
            _scrubbed[text] = out
    return out


def _scrub(text: str) -> str:
    text = scrub_known(text)
    if not text or not _SECRET_RUN_RE.search(text) or not _ANY_SECRET_VALUE_RE.search(text):
        return text
    for rx in _SECRET_VALUE_RES:
        text = rx.sub(MASK, text)
    return text


def redact(value: Any, key: str = "") -> Any:
    """Return ``value`` with secrets masked: by key name, by value shape, and by registry."""
    kind = type(value)
    if kind is str:
        return MASK if key and value and is_secret_key(key) else scrub(value)
    if kind is int or kind is bool or kind is float or value is None:
        return value
    if isinstance(value, Mapping):
        # ECS-style {"name": "DD_API_KEY", "value": "..."} pairs: the name says the value is secret.
        pair_name = value.get("name", value.get("Name"))
        if isinstance(pair_name, str) and is_secret_key(pair_name):
            return {k: (MASK if str(k).lower() == "value" and v else redact(v, str(k))) for k, v in value.items()}
        return {k: redact(v, str(k)) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [redact(v, key) for v in value]
    if isinstance(value, str):
        if key and is_secret_key(key) and value:
            return MASK
        return scrub(value)
    return value


class RedactingFormatter(logging.Formatter):
    """Scrubs the whole formatted record, tracebacks included."""

    def format(self, record: logging.LogRecord) -> str:
        return scrub(super().format(record))


class RedactingFilter(logging.Filter):
    """Scrubs log records before any handler formats them."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            msg = record.getMessage()
        except Exception:  # pragma: no cover - a broken format string is still logged, masked
            msg = str(record.msg)
        record.msg = scrub(msg)
        record.args = ()
        return True
