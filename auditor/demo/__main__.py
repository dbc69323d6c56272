"""``python -m auditor.demo``: the whole product on a built-in local account, start to finish.

Starts moto's server and the local Datadog API on free 127.0.0.1 ports, seeds the online shop, writes an AWS
profile ``demo`` for it, runs ``auditor scan --profile demo`` (the table) and writes the SARIF file next to
it. Then the shop's organization gains a second account (``staging``) and the same profile scans both through
the role ``auditor-readonly`` (``--org-role``): the per-account view, one SARIF run and one report file per
account. Then it stops what it started.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

from . import seed as seed_mod
from .servers import LocalAws

DEMO_DD_API_KEY = "0123456789abcdef0123456789abcdef"
DEMO_DD_APP_KEY = "0123456789abcdef0123456789abcdef01234567"


def start_datadog():
    from . import seed_datadog
    from .datadog_server import DatadogServer

    server = DatadogServer(
        monitors=seed_datadog.monitors(), downtimes=seed_datadog.downtimes(),
        api_key=DEMO_DD_API_KEY, app_key=DEMO_DD_APP_KEY,
    )
    server.unlisted = set(seed_datadog.UNLISTED)
    return server.start()


def datadog_env(server) -> dict[str, str]:
    return {"DD_HOST": server.url, "DD_API_KEY": DEMO_DD_API_KEY, "DD_APP_KEY": DEMO_DD_APP_KEY}


def missing_dependency() -> str:
    """The one-line error to show when the local AWS (moto's server) cannot be imported, else ""."""
    try:
        import moto.server  # noqa: F401 - moto[server]: moto and the web server it runs on
    except ImportError as exc:
        name = (getattr(exc, "name", None) or "moto").split(".")[0]
        return (f"the demo needs the local AWS server ({name} is not installed): "
                "pip install 'auditor[demo]' (or, in a checkout: make demo)")
    return ""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m auditor.demo", description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="out", help="folder for the SARIF and JSON reports (default: out)")
    parser.add_argument("scan_args", nargs="*", help="extra arguments for `auditor scan`")
    args = parser.parse_args(argv)
    problem = missing_dependency()
    if problem:
        print(f"error: {problem}", file=sys.stderr)
        return 2
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)

    aws = LocalAws(home=out / "aws").start()
    dd = None
    try:
        print(f"local AWS (moto) on {aws.endpoint}; profile 'demo' in {aws.config_file}", file=sys.stderr)
        seed_mod.seed(aws.client)
        dd = start_datadog()
        print(f"local Datadog API on {dd.url}", file=sys.stderr)
        env = {**os.environ, **aws.env(), **datadog_env(dd)}
        base = [sys.executable, "-m", "auditor", "scan", "--profile", "demo", "--deep", *args.scan_args]
        sarif = out / "demo.sarif"
        shown = subprocess.run([*base, "--stats", "--sarif-output", str(sarif), "--json-output",
                                str(out / "demo.json")], env=env)
        meaning = {0: "clean", 1: "findings at or above --fail-on", 2: "usage error", 3: "scan incomplete"}
        print(f"\n`auditor scan` exited {shown.returncode} ({meaning.get(shown.returncode, 'error')}). "
              f"SARIF: {sarif}  JSON: {out / 'demo.json'}", file=sys.stderr)
        if shown.returncode not in (0, 1, 3):
            return shown.returncode
        return organization(aws, env, out)
    finally:
        if dd is not None:
            dd.stop()
        aws.stop()


def organization(aws: LocalAws, env: dict[str, str], out: Path) -> int:
    """The shop's organization with a second account, scanned account by account through a role."""
    from . import seed_org

    org = seed_org.seed_organization(aws, [("staging", 2, "ok")])
    staging = org.members[0]
    print(f"\n== the organization: the shop ({org.management.account}) and staging ({staging.account}), each "
          f"through the role {seed_org.SCAN_ROLE} (the SQS/Lambda checks) ==\n", file=sys.stderr, flush=True)
    scan = subprocess.run([sys.executable, "-m", "auditor", "scan", "--profile", "demo", "--org-role",
                           seed_org.SCAN_ROLE, "--check", "sqs-lambda", "--fail-on", "never", "--json-output",
                           str(out / "org.json"), "--sarif-output", str(out / "org.sarif"), "--output-dir",
                           str(out / "accounts")], env=env)
    print(f"\n`auditor scan --org-role` exited {scan.returncode}. One SARIF run per account: {out / 'org.sarif'}; "
          f"one report per account: {out / 'accounts'}; `auditor merge {out / 'accounts'}/*.json` puts them "
          "back together.", file=sys.stderr)
    return 0 if scan.returncode in (0, 1, 3) else scan.returncode


if __name__ == "__main__":
    sys.exit(main())
