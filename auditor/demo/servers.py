"""Local stand-ins for AWS and Datadog on 127.0.0.1, for the demo and the end-to-end tests.

AWS is moto's real HTTP server (``ThreadedMotoServer``), reached by boto3 through an ordinary profile with
``endpoint_url``; Datadog is the project's own API server (``auditor.demo.datadog_server``) reached by the
real ``datadog-api-client``. Extensions of moto (fields moto drops but AWS returns) are installed here,
narrowly, and nowhere else.
"""

from __future__ import annotations

import importlib
import os
import socket
import tempfile
import textwrap
from dataclasses import dataclass, field
from pathlib import Path

DEMO_ACCESS_KEY = "testing"
DEMO_SECRET_KEY = "testing"

#: Narrow extensions of the moto server, installed before it starts (each module has ``install()``).
MOTO_EXTENSIONS = ("auditor.demo.moto_ext", "auditor.demo.moto_lambda_code", "auditor.demo.moto_iam_sigv4",
                   "auditor.demo.moto_lambda_health", "auditor.demo.moto_sts_trust",
                   "auditor.demo.moto_dispatch")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _install_extensions() -> None:
    for name in MOTO_EXTENSIONS:
        importlib.import_module(name).install()


@dataclass
class LocalAws:
    """A moto server on 127.0.0.1 and a profile pointing at it."""

    port: int = 0
    home: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="auditor-aws-")))
    profile: str = "demo"
    region: str = "us-east-1"

    def start(self) -> LocalAws:
        os.environ.setdefault("MOTO_ALLOW_NONEXISTENT_REGION", "true")
        import logging

        from moto.server import ThreadedMotoServer

        logging.getLogger("werkzeug").setLevel(logging.ERROR)
        latency = float(os.environ.get("AUDITOR_MOTO_LATENCY_MS", "0") or 0) / 1000
        if latency or os.environ.get("AUDITOR_MOTO_BENCH"):
            from .bench_server import install  # latency, AWS page sizes, request counts (benchmarks)

            install(latency)

        _install_extensions()
        self.port = self.port or free_port()
        self._server = ThreadedMotoServer(ip_address="127.0.0.1", port=self.port, verbose=False)
        self._server.start()
        self.write_profile()
        return self

    def start_isolated(self, env: dict[str, str] | None = None, stderr=None) -> LocalAws:
        """Start the server in a child process, so its state is not shared with other servers of this one.

        ``env`` adds to the child's environment (e.g. ``AUDITOR_MOTO_BENCH=1`` for the benchmark's server);
        ``stderr`` is where the server's own log goes (default: this process's standard error).
        """
        import subprocess
        import sys

        self.port = self.port or free_port()
        self._proc = subprocess.Popen(
            [sys.executable, "-m", "auditor.demo.serve", str(self.port)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=stderr, text=True,
            env={**os.environ, **(env or {})},
        )
        line = self._proc.stdout.readline() if self._proc.stdout else ""
        if line.strip() != "ready":
            self._proc.kill()
            raise RuntimeError("the isolated moto server did not start")
        self.write_profile()
        return self

    def stop(self) -> None:
        server = getattr(self, "_server", None)
        if server is not None:
            server.stop()
            self._server = None
        proc = getattr(self, "_proc", None)
        if proc is not None:
            if proc.stdin:
                proc.stdin.close()
            try:
                proc.wait(timeout=10)
            except Exception:  # noqa: BLE001
                proc.kill()
            self._proc = None

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def config_file(self) -> Path:
        return self.home / "config"

    @property
    def credentials_file(self) -> Path:
        return self.home / "credentials"

    def write_profile(self) -> None:
        self.home.mkdir(parents=True, exist_ok=True)
        self.config_file.write_text(
            textwrap.dedent(
                f"""\
                [profile {self.profile}]
                region = {self.region}
                endpoint_url = {self.endpoint}
                """
            )
        )
        self.credentials_file.write_text(
            textwrap.dedent(
                f"""\
                [{self.profile}]
                aws_access_key_id = {DEMO_ACCESS_KEY}
                aws_secret_access_key = {DEMO_SECRET_KEY}
                """
            )
        )

    def env(self) -> dict[str, str]:
        """Environment for a process that should use this account through ``--profile``."""
        return {
            "AWS_CONFIG_FILE": str(self.config_file),
            "AWS_SHARED_CREDENTIALS_FILE": str(self.credentials_file),
            "AWS_DISABLE_HOST_PREFIX_INJECTION": "true",
            "AWS_EC2_METADATA_DISABLED": "true",
        }

    def session(self):
        import boto3

        return boto3.Session(
            aws_access_key_id=DEMO_ACCESS_KEY,
            aws_secret_access_key=DEMO_SECRET_KEY,
            region_name=self.region,
        )

    def client(self, service: str, region: str | None = None):
        return self.session().client(service, region_name=region or self.region, endpoint_url=self.endpoint)

    def reset(self) -> None:
        import urllib.request

        urllib.request.urlopen(urllib.request.Request(f"{self.endpoint}/moto-api/reset", method="POST")).read()
