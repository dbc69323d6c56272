"""Keep secrets out of every output.

Two layers: values that look like secrets, or sit under a secret-sounding key, are masked when evidence is
recorded; and every secret the tool itself was given (Datadog keys, AWS keys) is registered here and scrubbed
from any text the CLI writes or logs, whatever path it took to get there.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Mapping
from typing import Any

MASK = "<redacted>"

_SECRET_KEY_RE = re.compile(
    r"(api[_-]?key|app[_-]?key|apikey|secret|password|passwd|token|credential|private[_-]?key|dd_api_key|"
    r"aws_secret_access_key|aws_session_token|authorization)",
    re.IGNORECASE,
)
_SECRET_VALUE_RES = [
    re.compile(r"\b(?:AKIA|ASIA)[A-Z0-9]{16}\b"),  # AWS access key ids
    re.compile(r"\b[0-9a-f]{32}\b"),  # Datadog API keys
    re.compile(r"\b[0-9a-f]{40}\b"),  # Datadog application keys
    re.compile(r"(?<![A-Za-z0-9/+=])[A-Za-z0-9/+=]{40}(?![A-Za-z0-9/+=])"),  # AWS secret access keys
]

_known: set[str] = set()
_lock = threading.Lock()


def register_secret(value: str | None) -> None:
    """Remember a secret so that :func:`scrub` removes it from any text."""
    if value and len(value) >= 6:
        with _lock:
            _known.add(value)


def is_secret_key(name: str) -> bool:
    return bool(_SECRET_KEY_RE.search(name or ""))


def scrub_known(text: str) -> str:
    """Remove every registered secret from ``text`` (safe on whole documents: hashes and ids survive)."""
    if not text:
        return text
    with _lock:
        known = sorted(_known, key=len, reverse=True)
    for value in known:
        if value in text:
            text = text.replace(value, MASK)
    return text


def scrub(text: str) -> str:
    """Remove registered secrets and anything shaped like a key from one message or evidence value."""
    text = scrub_known(text)
    if not text:
        return text
    for rx in _SECRET_VALUE_RES:
        text = rx.sub(MASK, text)
    return text


def redact(value: Any, key: str = "") -> Any:
    """Return ``value`` with secrets masked: by key name, by value shape, and by registry."""
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
