"""The wheel installs auditor, auditor.checks and auditor.reports — never top-level `checks`/`reports` — and is
ready to publish: license, classifiers, project URLs, one version, one canonical repository URL."""

import email
import json
import re
import subprocess
import sys
import zipfile
from pathlib import Path

from auditor import __url__, __version__

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
    assert "auditor/report.schema.json" in names  # the JSON report's schema ships with the package
    json.loads(zipfile.ZipFile(wheel).read("auditor/report.schema.json"))

    info = email.message_from_bytes(zipfile.ZipFile(wheel).read(next(n for n in names if n.endswith("/METADATA"))))
    assert info["Version"] == __version__ == wheel.name.split("-")[1]  # one place: auditor.__version__
    assert info["License-Expression"] == "Apache-2.0"
    assert any(n.endswith(".dist-info/licenses/LICENSE") for n in names)
    assert "Apache License" in (ROOT / "LICENSE").read_text() and "Version 2.0" in (ROOT / "LICENSE").read_text()
    assert any(c.startswith("Programming Language :: Python :: 3.11") for c in info.get_all("Classifier"))
    urls = dict(u.split(", ", 1) for u in info.get_all("Project-URL"))
    assert urls["Source"] == urls["Homepage"] == __url__


def test_one_canonical_repository_url_everywhere():
    from auditor.reports import sarif

    from auditor.report import Report

    doc = sarif.document(Report(target={"provider": "file", "files": []}, checks=[], findings=[]))
    assert doc["runs"][0]["tool"]["driver"]["informationUri"] == __url__
    for path in ("action.yml", "docs/ci.md", "auditor/report.schema.json"):
        text = (ROOT / path).read_text()
        assert __url__.split("//")[1] in text, path
        others = {u for u in re.findall(r"github\.com/[\w.-]+/auditor\b", text)}
        assert others <= {__url__.split("//")[1]}, (path, others)
