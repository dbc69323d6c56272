"""The container image: small, non-root, pinned base, `auditor` as entry point — built and run where a container
engine answers, skipped with the reason where none does."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from auditor import __version__

ROOT = Path(__file__).resolve().parent.parent
DOCKERFILE = ROOT / "Dockerfile"
TAG = "auditor-test:ci"


def _instructions() -> list[tuple[str, str]]:
    text = re.sub(r"\\\n", " ", DOCKERFILE.read_text())
    return [tuple(line.split(None, 1)) for line in text.splitlines() if line.strip() and not line.startswith("#")]


def test_dockerfile_pins_its_base_runs_as_a_user_and_enters_auditor():
    steps = _instructions()
    bases = [arg.split()[0] for op, arg in steps if op == "FROM"]
    assert bases and all(re.search(r"@sha256:[0-9a-f]{64}$|:\d+\.\d+\.\d+-[a-z]+-[a-z]+$", b) for b in bases), bases
    users = [arg for op, arg in steps if op == "USER"]
    assert users and users[-1].split(":")[0] not in ("root", "0")
    assert [arg for op, arg in steps if op == "ENTRYPOINT"][-1] == '["auditor"]'
    assert not any(op == "ADD" for op, _ in steps)  # nothing fetched at build time but the base and PyPI


def _engine() -> str:
    """The container CLI to use, or skip saying exactly why there is none that works."""
    cli = shutil.which("docker") or shutil.which("podman")
    if cli is None:
        pytest.skip("no container runtime: neither docker nor podman is on PATH")
    probe = subprocess.run([cli, "info", "--format", "{{.ServerVersion}}"], capture_output=True, text=True,
                           timeout=60)
    if probe.returncode != 0:
        why = (probe.stderr.strip().splitlines() or ["no answer"])[-1]
        pytest.skip(f"{Path(cli).name} client found but no container engine answers: {why}")
    return cli


def test_image_builds_and_runs_as_non_root():
    cli = _engine()
    build = subprocess.run([cli, "build", "-t", TAG, str(ROOT)], capture_output=True, text=True, timeout=900)
    assert build.returncode == 0, build.stderr[-3000:]
    run = subprocess.run([cli, "run", "--rm", TAG, "version"], capture_output=True, text=True, timeout=120)
    assert run.returncode == 0 and run.stdout.strip() == f"auditor {__version__}", run.stdout + run.stderr
    uid = subprocess.run([cli, "run", "--rm", "--entrypoint", "id", TAG, "-u"], capture_output=True, text=True,
                         timeout=120)
    assert uid.stdout.strip() not in ("", "0")
    policy = subprocess.run([cli, "run", "--rm", TAG, "iam-policy"], capture_output=True, text=True, timeout=120)
    assert '"Statement"' in policy.stdout
