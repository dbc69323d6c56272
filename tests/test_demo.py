"""`make demo` end to end: the demo module starts its own servers, scans, writes SARIF and JSON, stops."""

import json
import subprocess
import sys

from tests.sarif_rules import assert_valid_sarif


def test_demo_runs_the_main_job_and_writes_valid_reports(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "auditor.demo", "--out", str(tmp_path)],
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    # the table, on stdout, with every severity group the shop is built to show
    for heading in ("CRITICAL (", "HIGH (", "MEDIUM (", "LOW (", "INFO ("):
        assert heading in proc.stdout
    assert "API calls:" in proc.stderr  # --stats
    doc = assert_valid_sarif((tmp_path / "demo.sarif").read_text())
    report = json.loads((tmp_path / "demo.json").read_text())
    assert report["complete"] is True
    assert len(doc["runs"][0]["results"]) == report["summary"]["failed"] > 0
    shown = {f["rule"] for f in report["findings"] if f["status"] == "fail"}
    # every rule family of check-rules.md is demonstrated (FL-1 only exists in files: AWS rejects it)
    for family in ("SC-", "FL-", "CC-", "PB-", "VT-", "DLQ-", "DD-", "BP-"):
        assert any(r.startswith(family) for r in shown), family
    # the second account: the organization scanned account by account, one SARIF run and one file per account
    assert "ACCOUNTS (2)" in proc.stdout
    org = assert_valid_sarif((tmp_path / "org.sarif").read_text())
    ids = [run["automationDetails"]["id"] for run in org["runs"]]
    assert len(ids) == 2 and len(set(ids)) == 2 and "auditor/aws-123456789012/" in ids
    assert len(list((tmp_path / "accounts").glob("*.json"))) == 2
