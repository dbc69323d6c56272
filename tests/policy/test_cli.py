"""``auditor policy explain FILE``: table, JSON, and clean errors (exit 2, no traceback)."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from auditor.demo.seed_s3 import POLICIES
from auditor.policy.cli import app

runner = CliRunner()


def write(tmp_path, name, doc):
    p = tmp_path / name
    p.write_text(doc if isinstance(doc, str) else json.dumps(doc))
    return str(p)


def test_table_shows_paths_outcomes_and_statements(tmp_path):
    f = write(tmp_path, "split.json", POLICIES["shop-reports-split-deny"])
    r = runner.invoke(app, ["explain", f])
    assert r.exit_code == 0, r.output
    for text in ("internet", "VPC endpoint", "AWS service principal", "denied", "DenyOutsideOffice",
                 "DenyOutsideVpc", "s3:GetObject"):
        assert text in r.output


def test_json_for_another_action(tmp_path):
    f = write(tmp_path, "one.json", POLICIES["shop-assets-ip-or-vpc"])
    r = runner.invoke(app, ["explain", f, "--action", "s3:PutObject", "--format", "json"])
    assert r.exit_code == 0, r.output
    doc = json.loads(r.stdout)
    assert doc["action"] == "s3:PutObject" and doc["bucket"] == "shop-assets-ip-or-vpc"
    # nothing allows PutObject: what is not denied is "not allowed by this policy"
    assert {row["decision"] for row in doc["rows"]} == {"denied", "not-allowed"}


def test_diagnostics_and_not_modelled_keys_are_shown(tmp_path):
    doc = {"Version": "2012-10-17", "Statement": [{"Sid": "P", "Effect": "Allow", "Principal": "*",
                                                    "Action": "s3:GetObject", "Resource": "arn:aws:s3:::b/*",
                                                    "Condition": {"StringLike": {"aws:Referer": "https://x/*"},
                                                                  "IpAddress": {"aws:SourceIp": "10.0.0.0/8"}}}]}
    r = runner.invoke(app, ["explain", write(tmp_path, "p.json", doc)])
    assert r.exit_code == 0
    assert "not modelled" in r.output and "aws:Referer" in r.output and "private range" in r.output


@pytest.mark.parametrize(
    "args,message",
    [
        ([], "either a policy FILE or --bucket"),
        (["missing.json"], "no such file"),
        (["FILE", "--bucket", "b"], "either a policy FILE or --bucket"),
        (["FILE", "--action", "s3:Get*"], "--action must be one S3 action"),
        (["BAD"], "not valid JSON"),
    ],
)
def test_errors_exit_2_with_a_message(tmp_path, args, message):
    good = write(tmp_path, "good.json", POLICIES["shop-healthy"])
    bad = write(tmp_path, "bad.json", "{nope")
    args = [good if a == "FILE" else bad if a == "BAD" else str(tmp_path / a) if a.endswith(".json") else a
            for a in args]
    r = runner.invoke(app, ["explain", *args])
    assert r.exit_code == 2
    assert message in r.output
    assert r.exception is None or isinstance(r.exception, SystemExit)


def test_control_characters_in_policy_text_do_not_reach_the_terminal(tmp_path):
    doc = {"Version": "2012-10-17", "Statement": [{"Sid": "A\tB\x1b[31mRED\r", "Effect": "Allow", "Principal": "*",
                                                    "Action": "s3:GetObject", "Resource": "arn:aws:s3:::b/*"}]}
    r = runner.invoke(app, ["explain", write(tmp_path, "ctl.json", doc)])
    assert r.exit_code == 0, r.output
    assert "A B [31mRED" in r.output
    assert not any(c in r.output for c in "\t\x1b\r")
