"""The wheel installs auditor, auditor.checks and auditor.reports — never top-level `checks`/`reports`."""

import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_wheel_claims_only_the_auditor_top_level_package(tmp_path):
    proc = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(tmp_path),
         str(ROOT)],
        capture_output=True, text=True, timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    (wheel,) = tmp_path.glob("auditor-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    top_level = {n.split("/", 1)[0] for n in names if not n.split("/", 1)[0].endswith((".dist-info", ".data"))}
    assert top_level == {"auditor"}
    assert "auditor/checks/sqs_lambda.py" in names
    assert "auditor/reports/sarif.py" in names
    assert not any(n.startswith(("checks/", "reports/", "tests/")) for n in names)
    # every package of the source tree made it in (a new subpackage must be listed in pyproject.toml)
    for init in ROOT.joinpath("auditor").rglob("__init__.py"):
        rel = init.relative_to(ROOT).as_posix()
        assert rel in names, f"{rel} missing from the wheel"
    for module in ROOT.joinpath("checks").glob("*.py"):
        assert f"auditor/checks/{module.name}" in names
    meta = next(n for n in names if n.endswith(".dist-info/entry_points.txt"))
    assert "auditor = auditor.cli:main" in zipfile.ZipFile(wheel).read(meta).decode()
