"""Organisation scale on the moto server: many accounts in one run, isolation, shards, merge, all regions.

One organization for the module (its own moto process): a management account and five members, each seeded
with a healthy consumer and ``n`` broken ones (auditor/demo/seed_org.py): ``alpha`` and ``beta`` are ordinary,
``gamma`` has no scan role (the role cannot be assumed), ``delta`` is suspended (not listed as ACTIVE; its
role cannot be assumed either) and ``epsilon``'s role requires an external id. moto lets anyone assume any role;
the demo server's STS extension (auditor/demo/moto_sts_trust.py) refuses as AWS does, and the test
``test_moto_still_lets_anyone_assume_any_role`` says when moto starts doing that itself.
"""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path

import pytest

from auditor.demo.seed_org import SCAN_ROLE, seed_organization
from auditor.demo.servers import LocalAws
from tests.conftest import run_auditor
from tests.report_schema import assert_valid_report
from tests.sarif_rules import assert_valid_sarif

MEMBERS = [("alpha", 1, "ok"), ("beta", 2, "ok"), ("gamma", 0, "no-role"), ("delta", 1, "suspended"),
           ("epsilon", 1, "external-id:shop-audit")]
EXTERNAL_ID = "shop-audit"
#: Fields that describe a run rather than its accounts (auditor/merge.py): left out when reports are compared.
RUN_FIELDS = ("started_at", "finished_at", "stats")


@pytest.fixture(scope="module")
def org():
    aws = LocalAws().start_isolated()
    try:
        organization = seed_organization(aws, MEMBERS, management=1)
        aws.organization = organization
        yield aws
    finally:
        aws.stop()


def _comparable(doc: dict) -> dict:
    """A JSON report without what describes the run (timestamps, call counts) or a shard of it."""
    out = {k: v for k, v in doc.items() if k not in RUN_FIELDS}
    out["target"] = {k: v for k, v in doc["target"].items() if k != "shard"}
    out["notices"] = [n for n in doc["notices"] if not n.startswith("shard ")]
    out["accounts"] = [{k: v for k, v in a.items() if k not in RUN_FIELDS} for a in doc.get("accounts", [])]
    return out


def _scan(org, *args: str, tmp: Path | None = None) -> tuple[int, dict, str]:
    r = run_auditor("scan", "--profile", "demo", "--format", "json", "--fail-on", "never", *args, env=org.env(),
                    cwd=tmp)
    assert r.code in (0, 1, 3), r.stderr
    return r.code, assert_valid_report(json.loads(r.stdout)), r.stderr


@pytest.fixture(scope="module")
def org_scan(org, tmp_path_factory):
    """One scan of the whole organization: JSON on stdout, SARIF and one file per account beside it."""
    tmp = tmp_path_factory.mktemp("org")
    code, doc, stderr = _scan(org, "--org-role", SCAN_ROLE, "--sarif-output", str(tmp / "org.sarif"),
                              "--output-dir", str(tmp / "accounts"))
    return {"code": code, "doc": doc, "stderr": stderr, "dir": tmp}


def _failing(doc: dict, account: str) -> dict[str, set[str]]:
    out: dict[str, set[str]] = {}
    for f in doc["findings"]:
        if f["status"] == "fail" and f["resource"]["account"] == account:
            out.setdefault(f["resource"]["id"], set()).add(f["rule"])
    return out


def test_each_active_account_is_scanned_through_its_role_with_its_own_findings(org, org_scan):
    doc, o = org_scan["doc"], org.organization
    active = sorted(m.account for m in o.accounts if m.state != "suspended")
    assert doc["target"]["accounts"] == active
    assert [a["account"] for a in doc["accounts"]] == active
    for m in o.accounts:
        if m.state != "ok":
            continue
        want = {rid: rules["fail"] for rid, rules in m.expected.items() if rules.get("fail")}
        assert _failing(doc, m.account) == want, m.name
        entry = next(a for a in doc["accounts"] if a["account"] == m.account)
        assert entry["status"] == "scanned" and entry["complete"] is True
        assert entry["role_arn"] == m.role_arn and entry["name"] == m.name
        assert entry["summary"]["failed"] == sum(len(r) for r in want.values())
        assert entry["stats"]["calls"]["sts:AssumeRole"] == 1  # the account's own calls, its role included
    suspended = o.member("delta")
    assert any(suspended.account in n and "suspended" in n for n in doc["notices"])
    assert doc["summary"]["failed"] == sum(a["summary"]["failed"] for a in doc["accounts"])


def test_an_account_that_cannot_be_reached_is_not_evaluated_alone(org, org_scan):
    doc, o = org_scan["doc"], org.organization
    assert org_scan["code"] == 3  # incomplete, nothing at or above --fail-on (never)
    for name in ("gamma", "epsilon"):  # no role; a role that wants an external id this run did not give
        m = o.member(name)
        entry = next(a for a in doc["accounts"] if a["account"] == m.account)
        assert entry["status"] == "not-evaluated" and entry["iam_action"] == "sts:AssumeRole"
        assert m.role_arn in entry["reason"] and "STS refused it" in entry["reason"]
        gaps = [f for f in doc["findings"] if f["resource"]["account"] == m.account]
        assert {f["status"] for f in gaps} == {"not-evaluated"}
        assert sorted(f["check_id"] for f in gaps) == sorted(c["id"] for c in doc["checks"])  # every check, once
        assert {(f["resource"]["type"], f["resource"]["id"], f["iam_action"]) for f in gaps} == {
            ("account", m.account, "sts:AssumeRole")}
    assert doc["complete"] is False
    from auditor.reports import table

    text = table.render(_report(doc), width=200)
    assert "ACCOUNTS (5)" in text and "not evaluated: the role" in text and "(sts:AssumeRole)" in text


def test_external_id_and_suspended_accounts_with_role_arns(org):
    """--role-arn: a suspended account is not evaluated (the others go on), --external-id opens the role that
    asks for it, and a finding at --fail-on still fails the run whatever else was not evaluated."""
    o = org.organization
    alpha, delta, epsilon = o.member("alpha"), o.member("delta"), o.member("epsilon")
    r = run_auditor("scan", "--profile", "demo", "--format", "json", "--check", "VT-1", "--role-arn", alpha.role_arn,
                    "--role-arn", delta.role_arn, "--role-arn", epsilon.role_arn, "--external-id", EXTERNAL_ID,
                    "--role-session-name", "nightly-audit", "--fail-on", "high", env=org.env())
    assert r.code == 1, r.stderr  # VT-1 is high: exit codes keep their meaning
    doc = assert_valid_report(json.loads(r.stdout))
    status = {a["account"]: a["status"] for a in doc["accounts"]}
    assert status == {alpha.account: "scanned", delta.account: "not-evaluated", epsilon.account: "scanned"}
    assert set(_failing(doc, epsilon.account)) == {"jobs-1"}
    assert doc["target"]["accounts"] == sorted(status)


def test_sarif_has_one_run_per_account_each_its_own_category(org, org_scan):
    doc = org_scan["doc"]
    sarif = assert_valid_sarif((org_scan["dir"] / "org.sarif").read_text())
    runs = sarif["runs"]
    assert [r["properties"]["account"] for r in runs] == doc["target"]["accounts"]
    assert [r["automationDetails"]["id"] for r in runs] == [f"auditor/aws-{a}/" for a in doc["target"]["accounts"]]
    for run in runs:
        account = run["properties"]["account"]
        assert {res["properties"]["account"] for res in run["results"]} <= {account}
        assert len(run["results"]) == sum(f["status"] == "fail" and f["resource"]["account"] == account
                                          for f in doc["findings"])
        entry = next(a for a in doc["accounts"] if a["account"] == account)
        assert run["invocations"][0]["executionSuccessful"] is entry["complete"]


def test_output_dir_holds_one_report_per_account_that_merge_back_into_the_run(org_scan, tmp_path):
    doc, accounts = org_scan["doc"], org_scan["dir"] / "accounts"
    ids = doc["target"]["accounts"]
    assert sorted(p.name for p in accounts.iterdir()) == sorted(f"{a}.{ext}" for a in ids for ext in ("json", "md", "sarif"))
    for a in ids:
        one = assert_valid_report(json.loads((accounts / f"{a}.json").read_text()))
        assert one["target"]["accounts"] == [a]
        assert assert_valid_sarif((accounts / f"{a}.sarif").read_text())["runs"][0]["automationDetails"]["id"] == \
            f"auditor/aws-{a}/"
    out = tmp_path / "merged.json"
    r = run_auditor("merge", *sorted(str(p) for p in accounts.glob("*.json")), "--format", "json", "-o", str(out),
                    "--fail-on", "never")
    assert r.code == 3, r.stderr
    assert _comparable(assert_valid_report(json.loads(out.read_text()))) == _comparable(doc)


def test_shards_cover_every_account_once_and_merge_into_the_unsharded_run(org, org_scan, tmp_path):
    """The organization recipe (examples/github/org-audit.yml) as written: each shard job's Scan and Upload steps,
    then the summary job's Merge step, run by bash on the moto organization with two shards. Every active account
    is scanned by exactly one shard, each account's SARIF is uploaded on its own with its own category, and the
    merged report equals one unsharded scan."""
    from auditor.accounts import in_shard

    active = org_scan["doc"]["target"]["accounts"]
    for n in (1, 2, 3, 7):
        shards = [[a for a in active if in_shard(a, i, n)] for i in range(1, n + 1)]
        assert sorted(a for shard in shards for a in shard) == active, n  # every account in exactly one shard
    r = run_auditor("accounts", "--profile", "demo", "--org-role", SCAN_ROLE, "--shard", "2/2", env=org.env())
    assert r.code == 0, r.stderr
    by_account = {m.account: m for m in org.organization.accounts}
    assert r.stdout.splitlines() == [f"{a}\t{by_account[a].role_arn}\t{by_account[a].name}"
                                     for a in active if in_shard(a, 2, 2)]
    assert "shard 2/2" in r.stderr and "suspended" in r.stderr

    recipe = _Recipe(org, tmp_path)
    for shard in (1, 2):
        code = recipe.run("scan", "Scan", shard=shard)
        assert code in (0, 1, 3), recipe.last.stderr
        shard_doc = assert_valid_report(json.loads((recipe.out(shard) / f"shard-{shard}.json").read_text()))
        assert shard_doc["target"]["accounts"] == [a for a in active if in_shard(a, shard, 2)]
        assert recipe.run("scan", "Upload to code scanning", shard=shard) == 0
        recipe.download(shard)
    assert recipe.run("summary", "Merge the shards") == 3  # incomplete: gamma and epsilon cannot be reached
    merged = assert_valid_report(json.loads((recipe.baseline / "auditor.json").read_text()))
    assert _comparable(merged) == _comparable(org_scan["doc"])
    assert "### Accounts (5)" in recipe.summary.read_text()
    uploads = recipe.uploads()
    assert sorted(u["runs"][0]["properties"]["account"] for u in uploads) == active
    assert {u["runs"][0]["automationDetails"]["id"] for u in uploads} == {f"auditor/aws-{a}/" for a in active}


class _Recipe:
    """Runs the steps of examples/github/org-audit.yml as GitHub's runner does (bash -eo pipefail), with the
    workflow's and the step's env, on the moto organization; ``gh`` records the uploads instead of sending them."""

    def __init__(self, org, tmp: Path) -> None:
        import os
        import sys

        import yaml

        self.wf = yaml.safe_load((Path(__file__).parent.parent / "examples" / "github" / "org-audit.yml").read_text())
        self.tmp = tmp
        self.baseline = tmp / "summary" / "auditor-baseline"
        self.summary = tmp / "step-summary.md"
        self.shards = tmp / "summary" / "shards"
        (tmp / "bin").mkdir()
        gh = tmp / "bin" / "gh"  # gh api --method POST PATH --input FILE
        gh.write_text(f"#!{sys.executable}\nimport shutil, sys, uuid\nargs = sys.argv[1:]\n"
                      f"shutil.copy(args[args.index('--input') + 1], r'{tmp}/upload-' + uuid.uuid4().hex + '.json')\n"
                      "print('{\"id\": \"1\"}')\n")
        gh.chmod(0o755)
        self.env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "DD_"))}
        self.env.update(org.env(), AWS_PROFILE="demo", PATH=f"{tmp / 'bin'}:{Path(sys.executable).parent}:"
                        f"{os.environ['PATH']}", GITHUB_SHA="0" * 40, GITHUB_REF="refs/heads/main",
                        GITHUB_REPOSITORY="example/audits", RUNNER_TEMP=str(tmp), GITHUB_OUTPUT=str(tmp / "output"),
                        GITHUB_STEP_SUMMARY=str(self.summary), SHARDS="2")

    def out(self, shard: int) -> Path:
        return self.tmp / f"shard-{shard}" / "auditor-out"

    def run(self, job: str, name: str, shard: int | None = None) -> int:
        import subprocess

        spec = self.wf["jobs"][job]
        step = next(s for s in spec["steps"] if s.get("name") == name)
        where = self.tmp / (f"shard-{shard}" if shard else "summary")
        where.mkdir(exist_ok=True)
        env = {**self.env, **{k: str(v) for k, v in spec.get("env", {}).items()}}
        env.update(SHARD=str(shard or ""), SCAN_ROLE=SCAN_ROLE, REGIONS="us-east-1", AUDITOR_DATADOG="auto")
        proc = subprocess.run(["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", step["run"]], cwd=where,
                              env=env, capture_output=True, text=True, timeout=300)
        assert "Traceback" not in proc.stderr, proc.stderr
        self.last = proc  # for the assertion messages of the caller
        return proc.returncode

    def download(self, shard: int) -> None:
        """actions/download-artifact with merge-multiple: every shard's JSON in one folder."""
        import shutil

        self.shards.mkdir(parents=True, exist_ok=True)
        for report in self.out(shard).glob("shard-*.json"):
            shutil.copy(report, self.shards / report.name)

    def uploads(self) -> list[dict]:
        import base64
        import gzip

        out = []
        for body in self.tmp.glob("upload-*.json"):
            doc = json.loads(body.read_text())
            assert doc["commit_sha"] == "0" * 40 and doc["ref"] == "refs/heads/main"
            out.append(assert_valid_sarif(gzip.decompress(base64.b64decode(doc["sarif"])).decode()))
        return out


def test_all_regions_scans_the_enabled_regions_and_names_the_others(org):
    """moto's DescribeRegions: 20 regions enabled by default, the opt-in ones not opted in (and other partitions'
    regions, which are left out)."""
    ec2 = org.client("ec2")
    regions = {r["RegionName"]: r["OptInStatus"] for r in ec2.describe_regions(AllRegions=True)["Regions"]}
    enabled = sorted(r for r, s in regions.items() if s != "not-opted-in" and r.split("-")[0] not in ("cn", "us-gov")
                     and not r.startswith("us-gov"))
    from auditor.demo.seed import SeedContext

    far = SeedContext(org.client, "eu-north-1")  # a consumer outside the profile's region: VT-1 fails on it
    _, queue = far.queue("far-away", VisibilityTimeout=5)
    far.function("far-away-consumer", timeout=60)
    far.client("lambda").create_event_source_mapping(FunctionName="far-away-consumer", EventSourceArn=queue)
    _, doc, _ = _scan(org, "--all-regions", "--check", "VT-1")
    assert doc["target"]["all_regions"] is True
    assert doc["target"]["regions"] == enabled and "eu-north-1" in enabled
    assert doc["target"]["regions_not_enabled"] and set(doc["target"]["regions_not_enabled"]).isdisjoint(enabled)
    assert any("not enabled" in n for n in doc["notices"])
    assert doc["stats"]["calls"]["ec2:DescribeRegions"] == 1
    scanned = {f["resource"]["region"] for f in doc["findings"]}
    assert "us-east-1" in scanned  # the management account's consumers
    assert any(f["resource"]["region"] == "eu-north-1" and f["resource"]["id"] == "far-away" and f["status"] == "fail"
               for f in doc["findings"])  # the other region was read, not only listed
    r = run_auditor("scan", "--profile", "demo", "--all-regions", "--region", "us-east-1", env=org.env())
    assert r.code == 2 and "cannot be used together" in r.stderr


def test_usage_errors_are_one_line_and_exit_2(org, tmp_path):
    from auditor.cli_org import AccountOptions
    from auditor.inventory.core import ConfigurationError

    bad_file = tmp_path / "accounts.txt"
    bad_file.write_text("# prod\n123456789012 payments\nnot-an-account\n")
    r = run_auditor("scan", "--profile", "demo", "--accounts-file", str(bad_file), "--role-name", SCAN_ROLE,
                    env=org.env())
    assert r.code == 2 and "line 3" in r.stderr and "Traceback" not in r.stderr, r.stderr
    assert len(r.stderr.strip().splitlines()) == 1, r.stderr
    base = {"role_arn": None, "org_role": None, "accounts_file": None, "role_name": None}
    cases = [
        ({"shard": "4/3", "org_role": SCAN_ROLE}, "I must be between 1 and N"),
        ({"shard": "1/2"}, "several accounts"),
        ({"shard": "two"}, "I/N"),
        ({"org_role": SCAN_ROLE, "role_arn": ["arn:aws:iam::123456789012:role/x"]}, "cannot be combined"),
        ({"role_arn": ["arn:aws:iam::1234:role/x"]}, "not an IAM role ARN"),
        ({"org_role": "arn:aws:iam::123456789012:role/x"}, "not a role name"),
        ({"role_arn": ["arn:aws:iam::123456789012:role/x"], "session_name": "a b"}, "--role-session-name"),
        ({"role_name": SCAN_ROLE}, "--accounts-file"),
    ]
    for kw, words in cases:
        with pytest.raises(ConfigurationError, match=words):
            AccountOptions.parse(**{**base, **kw})
    for text, words in (("123456789012\n", "needs --role-name"), ("# nothing\n", "lists no account")):
        bad_file.write_text(text)
        with pytest.raises(ConfigurationError, match=words):
            AccountOptions.parse(**{**base, "accounts_file": bad_file}).resolve(_NoCredentials(), "us-east-1")
    with pytest.raises(ConfigurationError, match="two roles"):
        AccountOptions.parse(**{**base, "role_arn": ["arn:aws:iam::123456789012:role/a",
                                                     "arn:aws:iam::123456789012:role/b"]}).resolve(_NoCredentials(),
                                                                                                 "us-east-1")


class _NoCredentials:
    """What resolving an explicit list of accounts needs of the base credentials: only the partition."""

    def __init__(self) -> None:
        import boto3

        self.session = boto3.Session(region_name="us-east-1")


def test_accounts_file_lists_ids_and_role_arns_with_names_and_comments(org, tmp_path):
    from auditor.accounts import AccountTarget
    from auditor.cli_org import AccountOptions

    o = org.organization
    alpha, beta = o.member("alpha"), o.member("beta")
    listing = tmp_path / "accounts.txt"
    listing.write_text(f"# the accounts of the payments team\n{alpha.account}   payments prod  # owned by them\n\n"
                       f"\t{beta.role_arn}\n")
    opts = AccountOptions.parse(role_arn=[alpha.role_arn], org_role=None, accounts_file=listing, role_name=SCAN_ROLE)
    targets, _, _ = opts.resolve(_NoCredentials(), "us-east-1")
    assert targets == sorted([AccountTarget(alpha.account, alpha.role_arn, "payments prod"),
                              AccountTarget(beta.account, beta.role_arn)])


# -- in the test's process: the shared bound, failures while listing regions, the guard, merge's algebra ---------
@pytest.fixture()
def org_env(org, monkeypatch):
    for k, v in org.env().items():
        monkeypatch.setenv(k, v)
    return org


def _plan(checks: list[str], targets, **kw):
    from auditor import engine, org
    from auditor.inventory.aws import AwsAccount

    chosen = engine.select(engine.load_checks(plugins=False), checks)
    return org.Plan(base=AwsAccount("demo"), targets=targets, checks=chosen, regions=["us-east-1"], **kw)


def _targets(o, *names):
    from auditor.accounts import AccountTarget

    return [AccountTarget(m.account, m.role_arn, m.name) for m in map(o.member, names)]


def test_accounts_share_one_bound_on_calls_in_flight(org_env, monkeypatch):
    """Three accounts read at once with --workers 1: the calls of their inventories (on the pool threads) are
    never more than one in flight, the shared bound; only the calls that reach an account (AssumeRole, on the
    accounts' own threads) come on top, one per account. Each call is held 30 ms so that calls do overlap: with
    an inventory's own pools per account, three accounts put up to three calls in flight."""
    from botocore.endpoint import Endpoint

    from auditor import org as org_mod
    from auditor.inventory.core import CallStats

    lock = threading.Lock()
    now: dict[str, int] = {}
    peak: dict[str, int] = {}
    on_accounts: list[bytes] = []  # the requests made on the accounts' own threads
    send = Endpoint._send

    def counted(self, request):
        kind = threading.current_thread().name.rsplit("_", 1)[0]
        with lock:
            if kind == "auditor-account":
                on_accounts.append(request.body if isinstance(request.body, bytes) else str(request.body).encode())
            now[kind] = now.get(kind, 0) + 1
            peak[kind] = max(peak.get(kind, 0), now[kind])
            peak["pools"] = max(peak.get("pools", 0), now.get("auditor-pool", 0))
        try:
            time.sleep(0.03)
            return send(self, request)
        finally:
            with lock:
                now[kind] -= 1

    monkeypatch.setattr(Endpoint, "_send", counted)
    o = org_env.organization
    plan = _plan(["sqs-lambda", "lambda-concurrency"], _targets(o, "alpha", "beta", "management"), workers=1,
                 parallel=3)
    report = org_mod.scan(plan, run_stats=CallStats())
    assert [a.evaluated for a in report.accounts] == [True, True, True]
    assert set(peak) <= {"auditor-pool", "auditor-account", "pools"}, peak
    assert peak["pools"] == 1, peak
    assert len(on_accounts) == 3 and all(b"Action=AssumeRole" in body for body in on_accounts), on_accounts


def test_an_account_whose_regions_cannot_be_listed_is_not_evaluated_alone(org_env, monkeypatch):
    from auditor import org as org_mod
    from auditor.inventory.core import CallStats, NotAvailable
    from auditor.inventory.regions import AccountRegions, enabled_regions

    o = org_env.organization
    beta = o.member("beta").account

    def denied_for_beta(aws, home):
        if aws.account_id() == beta:
            raise NotAvailable("access denied to ec2:DescribeRegions", "ec2:DescribeRegions", kind="denied")
        listed = enabled_regions(aws, home)
        assert "us-east-1" in listed.enabled and listed.not_enabled
        return AccountRegions(["us-east-1"], listed.not_enabled)  # the test reads one region of the twenty

    monkeypatch.setattr(org_mod, "enabled_regions", denied_for_beta)
    plan = _plan(["VT-1"], _targets(o, "alpha", "beta"))
    plan.regions = None  # --all-regions
    report = org_mod.scan(plan, run_stats=CallStats())
    by_id = {a.account: a for a in report.accounts}
    assert not by_id[beta].evaluated and by_id[beta].iam_action == "ec2:DescribeRegions"
    alpha = o.member("alpha").account
    assert by_id[alpha].evaluated and "us-east-1" in by_id[alpha].regions
    assert [f.resource.id for f in report.failures] == ["jobs-1"]


def test_a_failing_region_is_not_evaluated_and_the_others_go_on(org_env):
    """A region the account has enabled but that fails (an SCP denying it, an endpoint down) is not evaluated,
    on the region's own listings; the other regions' findings stand."""
    from botocore.awsrequest import AWSResponse

    from auditor import engine
    from auditor.inventory import Inventory
    from auditor.inventory.aws import AwsAccount

    aws = AwsAccount("demo")

    class Body:
        def stream(self, **_):
            yield b'{"__type": "AccessDeniedException", "message": "denied by a service control policy"}'

    def scp(request, **_):  # every call to eu-west-3 is denied, as by an SCP that denies the region
        if "/eu-west-3/" in str(request.headers.get("Authorization", b"")):
            return AWSResponse(request.url, 403, {"Content-Type": "application/x-amz-json-1.0"}, Body())
        return None

    aws.session.events.register("before-send.*.*", scp)
    inventory = Inventory(aws, ["us-east-1", "eu-west-3"], workers=2)
    try:
        checks = engine.select(engine.load_checks(plugins=False), ["VT-1"])
        report = engine.run(inventory, checks, target={"provider": "aws", "account": inventory.account})
    finally:
        inventory.close()
    assert [f.resource.id for f in report.failures] == ["jobs-1"]
    gaps = report.not_evaluated
    assert gaps and {f.resource.region for f in gaps} == {"eu-west-3"}
    assert all(f.resource.type == "region" for f in gaps)


def test_the_read_only_guard_lets_exactly_sts_assume_role_through():
    """AssumeRole is the one call that is not a read; every other operation of STS, Organizations, IAM and
    Account that is not a Describe/List/Get is refused before it is sent."""
    import botocore.session

    from auditor.inventory.aws import CREDENTIAL_CALLS, _guard
    from auditor.inventory.core import READ_ONLY_PREFIXES, ReadOnlyViolation

    session = botocore.session.get_session()
    allowed = []
    for service in ("sts", "organizations", "iam", "account"):
        model = session.get_service_model(service)
        for name in model.operation_names:
            op = model.operation_model(name)
            try:
                _guard(op)
            except ReadOnlyViolation:
                assert not name.startswith(READ_ONLY_PREFIXES) and (service, name) not in CREDENTIAL_CALLS
                continue
            allowed.append((service, name))
    assert [a for a in allowed if not a[1].startswith(READ_ONLY_PREFIXES)] == [("sts", "AssumeRole")]
    assert {("sts", "AssumeRole")} == CREDENTIAL_CALLS


def test_base_policy_is_what_the_base_credentials_call(org_scan):
    """`auditor iam-policy --base` grants exactly the declared base operations, and an organization scan makes no
    other call with the base credentials than those (and sts:GetCallerIdentity, which needs no permission)."""
    from importlib.resources import files

    from auditor.inventory.loads import base_actions
    from auditor.merge import sum_stats

    base = json.loads(files("auditor").joinpath("iam_policy_base.json").read_text())
    granted = {a for s in base["Statement"] for a in s["Action"]}
    assert granted == set(base_actions()) == {"sts:AssumeRole", "organizations:ListAccounts"}
    r = run_auditor("iam-policy", "--base")
    assert json.loads(r.stdout) == base
    doc = org_scan["doc"]
    per_account = sum_stats(a["stats"] for a in doc["accounts"])["calls"]
    run_level = {k for k, n in doc["stats"]["calls"].items() if n > per_account.get(k, 0)}
    assert run_level == {"organizations:ListAccounts", "sts:GetCallerIdentity"}
    assert {k for a in doc["accounts"] for k in a["stats"]["calls"] if k.startswith("sts:")} <= {"sts:AssumeRole"}


def test_merge_is_associative_and_idempotent(org_scan):
    from auditor.reports.json import document

    from auditor.merge import account_report, merge

    whole = _report(org_scan["doc"])
    parts = [account_report(whole, a.account) for a in whole.accounts]
    a, b, c = merge(parts[:1]), merge(parts[1:2]), merge(parts[2:])

    def same(x, y):
        return _comparable(document(x)) == _comparable(document(y))

    assert same(merge([a, merge([b, c])]), merge([merge([a, b]), c]))
    assert same(merge([c, a, b]), merge([a, b, c]))
    assert same(merge([whole, whole]), whole) and same(merge([whole]), whole)
    assert document(merge([whole, whole])) == document(merge([whole]))  # exactly, stats and times included
    assert same(merge([a, b, c]), whole)


def test_merge_keeps_the_latest_scan_of_an_account_in_several_reports(org_scan):
    import dataclasses

    from auditor.merge import account_report, merge

    whole = _report(org_scan["doc"])
    first = whole.accounts[0].account
    old = account_report(whole, first)
    new = account_report(whole, first)
    new.accounts = [dataclasses.replace(new.accounts[0], finished_at="2999-01-01T00:00:00Z", name="renamed")]
    for order in ([old, new], [new, old]):
        assert merge(order).accounts[0].name == "renamed"


def test_merge_refuses_what_is_not_an_account_report(org_scan, tmp_path):
    from auditor.reports import json as json_report

    from auditor.inventory.core import ConfigurationError
    from auditor.merge import load, merge
    from tests.factories import report_with

    files_report = tmp_path / "files.json"
    report = report_with()
    report.target = {"provider": "file", "files": ["td.json"]}
    files_report.write_text(json_report.render(report))
    one = org_scan["dir"] / "accounts" / f"{org_scan['doc']['target']['accounts'][0]}.json"
    with pytest.raises(ConfigurationError, match="scan-file"):
        merge([load(one), load(files_report)])
    for text, words in (("{}", "not an auditor JSON report"), ("[", "is not JSON")):
        bad = tmp_path / "bad.json"
        bad.write_text(text)
        with pytest.raises(ConfigurationError, match=words):
            load(bad)
    with pytest.raises(ConfigurationError, match="no such file"):
        load(tmp_path / "none.json")


def test_merge_refuses_reports_of_different_checks(org_scan):
    """A shard that skipped a check (Datadog not configured in its job, another --check) must not make its
    accounts read as passing that check: GitHub would close their alerts."""
    from dataclasses import replace

    from auditor.inventory.core import ConfigurationError
    from auditor.merge import load, merge

    first, second = (load(p) for p in sorted((org_scan["dir"] / "accounts").glob("*.json"))[:2])
    dropped = first.checks[0].id
    fewer = replace(second, checks=[c for c in second.checks if c.id != dropped],
                    findings=[f for f in second.findings if f.check_id != dropped])
    assert merge([first, second]).accounts  # the same checks: merged
    with pytest.raises(ConfigurationError, match=f"report 2 did not run {dropped}"):
        merge([first, fewer])


def test_moto_still_lets_anyone_assume_any_role():
    """When this fails, moto refuses AssumeRole itself: drop auditor/demo/moto_sts_trust.py."""
    from moto.sts.models import STSBackend, sts_backends

    from auditor.demo import moto_sts_trust

    assume = moto_sts_trust._original or STSBackend.assume_role  # moto's own, patched or not in this process
    role = assume(sts_backends["123456789012"]["aws"], region_name="us-east-1", role_session_name="probe",
                  role_arn="arn:aws:iam::111122223333:role/none-such", policy=None, duration=900, external_id=None)
    assert role.account_id == "111122223333"


def _report(doc: dict):
    from auditor.merge import from_document

    return from_document(doc)


def test_a_shard_compared_with_the_merged_report_of_last_night(org_scan, tmp_path):
    """The recipe keeps one baseline for every shard, the merged report: a shard leaves the other shards'
    findings alone (neither fixed nor carried), and carries over those of an account it could not reach."""
    import dataclasses

    from auditor.reports.json import document

    from auditor import baseline as baseline_mod
    from auditor.merge import account_report, merge
    from auditor.model import Status
    from auditor.org import _unreachable

    last_night = tmp_path / "merged.json"
    last_night.write_text(json.dumps(org_scan["doc"]))
    whole = _report(org_scan["doc"])
    beta = next(a for a in whole.accounts if a.name == "beta")
    alpha = next(a for a in whole.accounts if a.name == "alpha")
    # Tonight's shard: alpha as last night, beta unreachable (its role was deleted).
    tonight = merge([account_report(whole, alpha.account), account_report(whole, beta.account)])
    gone = dataclasses.replace(tonight.accounts[[a.account for a in tonight.accounts].index(beta.account)])
    checks = [type("C", (), {"meta": m})() for m in tonight.checks]
    tonight.findings = [f for f in tonight.findings if f.resource.account != beta.account] + \
        _unreachable(gone, checks, "the role could not be assumed", "sts:AssumeRole")
    tonight.accounts = [gone if a.account == beta.account else a for a in tonight.accounts]
    cmp = baseline_mod.apply(tonight, baseline_mod.load(last_night))
    beta_failures = sum(f["status"] == "fail" and f["resource"]["account"] == beta.account
                        for f in org_scan["doc"]["findings"])
    others = sum(f["status"] == "fail" and f["resource"]["account"] not in (alpha.account, beta.account)
                 for f in org_scan["doc"]["findings"])
    assert (cmp.new, cmp.carried_over, cmp.fixed, cmp.other_accounts) == (0, beta_failures, [], others)
    assert cmp.unchanged == sum(f.status is Status.FAIL for f in tonight.findings)
    assert any("accounts this run did not scan" in n for n in tonight.notices)
    doc = document(tonight)
    by_account = {a["account"]: a["baseline"] for a in doc["accounts"]}
    assert by_account[beta.account]["carried_over"] == beta_failures and by_account[alpha.account]["new"] == 0
    assert _comparable(document(merge([tonight]))) == _comparable(doc)  # still its own merge


def test_the_step_functions_design_is_valid_and_its_task_command_runs(org, org_scan, tmp_path):
    """examples/aws: the task definition is what ECS's RegisterTaskDefinition accepts, the state machine's
    states and overrides agree with it, and the task's command — examples/aws/task.sh, run by sh as the
    container runs it — scans a shard into S3 and merges the shards from S3, here on the moto organization."""
    import os
    import subprocess
    import sys

    import botocore.session
    from botocore.validate import ParamValidator

    here = Path(__file__).parent.parent / "examples" / "aws"
    task = json.loads((here / "auditor-task-definition.json").read_text())
    asl = json.loads((here / "org-audit.asl.json").read_text())
    model = botocore.session.get_session().get_service_model("ecs").operation_model("RegisterTaskDefinition")
    assert ParamValidator().validate(task, model.input_shape).generate_report() == ""
    container = task["containerDefinitions"][0]
    script = (here / "task.sh").read_text()
    body = "\n".join(script.splitlines()[next(i for i, ln in enumerate(script.splitlines())
                                               if not ln.startswith("#")):]) + "\n"
    assert container["entryPoint"] == ["sh", "-c"] and container["command"] == [body]

    def states(machine):
        for name, state in machine["States"].items():
            yield name, state, machine
            if state["Type"] == "Map":
                yield from states(state["ItemProcessor"])

    tasks = []
    for name, state, machine in states(asl):
        for target in [state.get("Next"), state.get("Default"), *(c["Next"] for c in state.get("Choices", [])),
                       *(c["Next"] for c in state.get("Catch", []))]:
            assert target is None or target in machine["States"], (name, target)
        if state["Type"] == "Map":
            assert state["ItemProcessor"]["ProcessorConfig"] == {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"}
        if state["Type"] == "Task":
            tasks.append(state)
            params = state["Parameters"]
            assert state["Resource"] == "arn:aws:states:::ecs:runTask.sync"
            assert params["TaskDefinition"] == task["family"] and params["LaunchType"] == "FARGATE"
            override = params["Overrides"]["ContainerOverrides"][0]
            assert override["Name"] == container["name"]
            assert {e["Name"] for e in override["Environment"]} <= {"AUDITOR_MODE", "AUDITOR_SHARD", "AUDITOR_RESULTS"}
    assert len(tasks) == 2

    s3 = org.client("s3")
    s3.create_bucket(Bucket="auditor-results")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "DD_"))}
    env.update(org.env(), AWS_PROFILE="demo", PATH=f"{Path(sys.executable).parent}:{os.environ['PATH']}",
               AUDITOR_RESULTS="s3://auditor-results/nights/1", AUDITOR_SCAN_ROLE=SCAN_ROLE,
               AUDITOR_SCAN_ARGS="--region us-east-1 --check VT-1", TMPDIR=str(tmp_path))
    for mode in ("scan", "merge"):
        proc = subprocess.run(["sh", "-c", body], env={**env, "AUDITOR_MODE": mode, "AUDITOR_SHARD": "1/1"},
                              capture_output=True, text=True, timeout=300)
        assert proc.returncode == 0, proc.stderr
    keys = sorted(o["Key"] for o in s3.list_objects_v2(Bucket="auditor-results")["Contents"])
    assert keys == ["nights/1/organization.json", "nights/1/shards/shard-1-1.json", "nights/1/summary.md"]
    merged = assert_valid_report(json.loads(s3.get_object(Bucket="auditor-results",
                                                          Key="nights/1/organization.json")["Body"].read()))
    assert merged["target"]["accounts"] == org_scan["doc"]["target"]["accounts"]
    assert [f for f in merged["findings"] if f["status"] == "fail"] == \
        [f for f in org_scan["doc"]["findings"] if f["status"] == "fail" and f["rule"] == "VT-1"]
