"""Make moto's ``GetFunction`` code location downloadable, locally.

AWS answers ``lambda:GetFunction`` with ``Code.Location``, a presigned S3 URL valid for 10 minutes. moto
5.2 returns an ``https://awslambda-<region>-tasks.s3…amazonaws.com/…`` address that serves nothing (and is not
on this machine). This extension — for the demo and tests only — rewrites that location to a small HTTP
server on 127.0.0.1 that returns the exact bytes moto stored, so the deep scan runs its real download code.
"""

from __future__ import annotations

import secrets
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

_lock = threading.Lock()
_packages: dict[str, object] = {}  # token → moto LambdaFunction
_server: ThreadingHTTPServer | None = None


class _Handler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # noqa: N802 - http.server API
        token = self.path.rsplit("/", 1)[-1].split("?", 1)[0]
        with _lock:
            fn = _packages.get(token)
        body = getattr(fn, "code_bytes", b"") if fn is not None else b""
        if not body:
            self.send_response(403)  # what S3 says for an unknown or expired presigned URL
            self.end_headers()
            return
        self.send_response(200)
        self.send_header("Content-Type", "application/zip")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args) -> None:
        pass


def install() -> None:
    global _server
    with _lock:
        if _server is not None:
            return
        _server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        threading.Thread(target=_server.serve_forever, daemon=True, name="moto-lambda-code").start()
        base = f"http://127.0.0.1:{_server.server_address[1]}/code"

    from moto.awslambda.models import LambdaFunction

    original = LambdaFunction.get_code

    def get_code(self):
        resp = original(self)
        code = resp.get("Code") or {}
        if code.get("RepositoryType") == "S3":
            token = secrets.token_hex(8)
            with _lock:
                _packages[token] = self
            code["Location"] = f"{base}/{token}"
        return resp

    LambdaFunction.get_code = get_code
