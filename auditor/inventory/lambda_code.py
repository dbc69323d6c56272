"""Deep scan: download a function's deployment package once, never execute it, and look for the signs of
partial batch responses (``batchItemFailures`` / Powertools batch processors)."""

from __future__ import annotations

import io
import os
import re
import tempfile
import urllib.request
import zipfile
import zlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from .core import NotAvailable, active_deadline, env_number

DEFAULT_MAX_PACKAGE_BYTES = 80 * 1024 * 1024
MAX_MEMBER_BYTES = 8 * 1024 * 1024
_CHUNK = 1024 * 1024

#: What returning partial batch failures looks like, by language and library.
PATTERNS = {
    "batchItemFailures": re.compile(rb"batchItemFailures|BatchItemFailures|batch_item_failures"),
    "powertools-batch": re.compile(
        rb"aws_lambda_powertools\.utilities\.batch|process_partial_response|@aws-lambda-powertools/batch|"
        rb"processPartialResponse|software\.amazon\.lambda\.powertools\.batch|AWS\.Lambda\.Powertools\.BatchProcessing"
    ),
    "SQSBatchResponse": re.compile(rb"SQSBatchResponse"),
}
_SOURCE_SUFFIXES = (".py", ".js", ".mjs", ".cjs", ".ts", ".java", ".kt", ".cs", ".go", ".rb", ".class")
_LIBRARY_DIRS = ("node_modules/", "site-packages/", "dist-packages/", "vendor/", "aws_lambda_powertools/",
                 "botocore/", "boto3/", ".dist-info/")


@dataclass(frozen=True)
class CodeSignals:
    """Where each pattern was found, split into the function's own files and bundled libraries."""

    app: dict[str, tuple[str, ...]] = field(default_factory=dict)
    library: dict[str, tuple[str, ...]] = field(default_factory=dict)
    layers: tuple[str, ...] = ()
    size: int = 0

    @property
    def any(self) -> bool:
        return bool(self.app or self.library)


def scan_zip(data: io.BufferedIOBase | io.BytesIO) -> tuple[dict[str, list[str]], dict[str, list[str]]]:
    app: dict[str, list[str]] = {}
    lib: dict[str, list[str]] = {}
    try:
        zf = zipfile.ZipFile(data)
    except (zipfile.BadZipFile, NotImplementedError, ValueError, OSError) as exc:
        raise NotAvailable(f"the deployment package is not a readable zip ({exc})", "lambda:GetFunction") from None
    with zf:
        for info in zf.infolist():
            name = info.filename
            if info.is_dir() or not name.endswith(_SOURCE_SUFFIXES) or info.file_size > MAX_MEMBER_BYTES:
                continue
            try:
                blob = zf.read(info)
            except (zipfile.BadZipFile, RuntimeError, OSError, NotImplementedError, zlib.error, EOFError):
                continue  # encrypted, corrupt or exotically compressed member: skip it
            bucket = lib if any(d in name for d in _LIBRARY_DIRS) else app
            for label, rx in PATTERNS.items():
                if rx.search(blob):
                    bucket.setdefault(label, []).append(name)
    return app, lib


def package_limit(environ: Mapping[str, str] = os.environ) -> int:
    """The largest package the deep scan downloads: ``AUDITOR_MAX_CODE_BYTES`` (a bad value is a usage error)."""
    return env_number(environ, "AUDITOR_MAX_CODE_BYTES", DEFAULT_MAX_PACKAGE_BYTES, low=1, high=10 * 1024**3,
                      integer=True)


def download(url: str, *, limit: int | None = None) -> tempfile.SpooledTemporaryFile:
    """Stream ``url`` into a spooled file, refusing anything past ``limit`` bytes (default: :func:`package_limit`)."""
    limit = package_limit() if limit is None else limit
    deadline = active_deadline()
    if deadline.expired:
        raise deadline.exceeded("lambda:GetFunction")
    if urlsplit(url).scheme not in ("https", "http"):
        raise NotAvailable("the code location is not an HTTP(S) URL", "lambda:GetFunction")
    out = tempfile.SpooledTemporaryFile(max_size=16 * 1024 * 1024)  # noqa: SIM115 - the caller closes it
    try:
        with urllib.request.urlopen(url, timeout=60) as resp:  # noqa: S310 - scheme checked above
            declared = resp.headers.get("Content-Length")
            if declared and int(declared) > limit:
                raise NotAvailable(f"the package is {int(declared)} bytes, over the {limit}-byte cap",
                                   "lambda:GetFunction")
            total = 0
            while chunk := resp.read(_CHUNK):
                total += len(chunk)
                if total > limit:
                    raise NotAvailable(f"the package is over the {limit}-byte cap", "lambda:GetFunction")
                out.write(chunk)
    except NotAvailable:
        out.close()
        raise
    except (OSError, ValueError) as exc:
        out.close()
        reason = getattr(exc, "reason", None) or getattr(exc, "code", None) or type(exc).__name__
        raise NotAvailable(f"the deployment package could not be downloaded ({reason})", "lambda:GetFunction") from None
    out.seek(0)
    return out
