"""A scan asks glibc for few malloc arenas, once, unless the user chose with MALLOC_ARENA_MAX."""

from __future__ import annotations

import subprocess
import sys

import pytest

PROBE = ("import auditor.memory as m; print(m.limit_malloc_arenas(), m.limit_malloc_arenas())")


def _probe(env: dict[str, str]) -> str:
    return subprocess.run([sys.executable, "-c", PROBE], env=env, capture_output=True, text=True,
                          check=True).stdout.strip()


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's mallopt")
def test_the_limit_is_set_once_and_a_users_choice_wins():
    import os

    env = {k: v for k, v in os.environ.items() if k != "MALLOC_ARENA_MAX"}
    assert _probe(env) == "True False"  # set, then left alone
    assert _probe({**env, "MALLOC_ARENA_MAX": "8"}) == "False False"
