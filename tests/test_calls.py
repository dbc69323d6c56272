"""The calls a scan makes: only what the chosen checks read, and no more than AWS makes necessary.

* ``auditor scan --check FAMILY`` (the real CLI against the seeded demo account) calls exactly the
  operations of that family's declared loads and the loads they build on — every one of them (the seed
  exercises each) and nothing of any other load or service, Datadog included;
* bucket regions come from ``ListBuckets``' ``BucketRegion`` (botocore's model: ``ListBucketsOutput``
  ``Buckets[].BucketRegion``, returned when the request carries a parameter, which ``MaxBuckets`` is);
  ``GetBucketLocation`` is called only for a bucket the listing gives no region for — as moto 5.2.5 does for
  every bucket, which keeps that path covered by the demo and the dependency matrix.
"""

from __future__ import annotations

import json

import pytest

from auditor import engine
from auditor.inventory import loads
from tests.conftest import run_auditor

#: Calls that are not reads of a load: the identity lookup every scan makes first (it needs no permission), and
#: the deep scan's download of the package lambda:GetFunction points at (counted for --stats).
_NOT_LOADS = {"sts:GetCallerIdentity", "download:lambda-code-package"}

_CHECKS = engine.load_checks(plugins=False)
CASES = [(family, False) for family in sorted({c.meta.family for c in _CHECKS})] + [
    (family, True) for family in sorted({c.meta.family for c in _CHECKS if c.meta.deep})]


def _declared(family: str, deep: bool) -> tuple[set[str], set[str]]:
    """(operations the family's loads must call, operations they may call)."""
    requires = {key for c in _CHECKS if c.meta.family == family and (deep or not c.meta.deep) for key in c.requires}
    ops = [op for key in loads.closure(requires, deep=deep) for op in loads.LOADS[key].operations]
    return {op.key for op in ops if not op.auxiliary}, {op.key for op in ops}


@pytest.mark.parametrize(("family", "deep"), CASES, ids=[f"{f}{'-deep' if d else ''}" for f, d in CASES])
def test_check_of_one_family_makes_exactly_that_familys_calls(family, deep, demo_env, tmp_path):
    out = tmp_path / "report.json"
    result = run_auditor("scan", "--profile", "demo", "--check", family, *(["--deep"] if deep else []), "--stats",
                         "--format", "json", "--output", str(out), "--fail-on", "never", env=demo_env)
    assert result.code == 0, result.stderr
    report = json.loads(out.read_text())
    assert {c["id"].split("/")[0] for c in report["checks"]} == {family}
    called = set(report["stats"]["calls"]) - _NOT_LOADS
    must, may = _declared(family, deep)
    assert not called - may, f"--check {family} also called {sorted(called - may)}"
    assert not must - called, f"--check {family} never called {sorted(must - called)} (seed or loads are off)"


# -- bucket regions ------------------------------------------------------------------------------------------
def test_bucket_regions_come_from_the_listing_and_get_bucket_location_only_where_it_has_none(stubbed_aws):
    """Real API shapes (botocore Stubber): two buckets with ``BucketRegion``, one without (an S3-compatible
    endpoint, or an answer from before October 2024): one ``GetBucketLocation``, for that bucket alone."""
    s3 = stubbed_aws.stub("s3")
    s3.add_response("list_buckets", {"Buckets": [
        {"Name": "logs", "BucketRegion": "eu-west-1"},
        {"Name": "media", "BucketRegion": "us-east-1"},
        {"Name": "old"},
    ]}, {"MaxBuckets": 10000})
    s3.add_response("get_bucket_location", {"LocationConstraint": "EU"}, {"Bucket": "old"})
    inv = stubbed_aws.inventory()
    try:
        buckets = inv.s3.buckets()
        assert [(b.name, b.region) for b in buckets] == [
            ("logs", "eu-west-1"), ("media", "us-east-1"), ("old", "eu-west-1")]
        assert {k: v for k, v in inv.stats.calls.items() if k.startswith("s3:")} == {
            "s3:ListBuckets": 1, "s3:GetBucketLocation": 1}
    finally:
        inv.close()


def test_a_bucket_whose_listed_region_is_absent_and_location_denied_is_not_available(stubbed_aws):
    from auditor.inventory.core import NotAvailable

    s3 = stubbed_aws.stub("s3")
    s3.add_response("list_buckets", {"Buckets": [{"Name": "old"}]}, {"MaxBuckets": 10000})
    s3.add_client_error("get_bucket_location", service_error_code="AccessDenied", http_status_code=403,
                        expected_params={"Bucket": "old"})
    inv = stubbed_aws.inventory()
    try:
        (got,) = inv.s3.buckets()
        assert isinstance(got, NotAvailable) and got.iam_action == "s3:GetBucketLocation"
    finally:
        inv.close()


def test_one_buckets_region_alone_lists_no_buckets(stubbed_aws):
    """``auditor policy explain --bucket`` reads one bucket: GetBucketLocation, never the whole listing."""
    stubbed_aws.stub("s3").add_response("get_bucket_location", {"LocationConstraint": "eu-west-1"},
                                        {"Bucket": "media"})
    listed: list[str] = []
    stubbed_aws.aws.client("s3", "us-east-1").meta.events.register_first(
        "provide-client-params.s3.ListBuckets", lambda **_: listed.append("ListBuckets"))
    inv = stubbed_aws.inventory()
    try:
        assert inv.s3.region_of("media") == "eu-west-1"
        assert listed == []
    finally:
        inv.close()


def test_moto_still_lists_buckets_without_their_region(seeded_aws):
    """moto 5.2.5 answers ``ListBuckets`` without ``BucketRegion`` even when asked with ``MaxBuckets``: the demo
    and the dependency matrix therefore exercise the ``GetBucketLocation`` fallback. When this fails, moto
    returns the region: the fallback then needs a Stubber case of its own in the matrix (``s3:GetBucketLocation``
    would never be called by the seeded account), and the demo's call counts drop by one call per bucket."""
    listed = seeded_aws.client("s3").list_buckets(MaxBuckets=10000)["Buckets"]
    assert listed and not any("BucketRegion" in b for b in listed)


def test_a_second_prefetch_of_reserved_concurrency_hands_the_pools_nothing(stubbed_aws, monkeypatch):
    """Each of the four concurrency checks prefetches the reserved concurrency the load already read: the
    answered functions are not handed to the pools again (at 2x that was 1,536 items per check, after the
    scan's last response), and nothing is called twice."""
    lam = stubbed_aws.stub("lambda")
    arns = [f"arn:aws:lambda:us-east-1:123456789012:function:fn{i}" for i in range(2)]
    for i in range(2):
        lam.add_response("get_function_concurrency", {"ReservedConcurrentExecutions": 5 + i},
                         {"FunctionName": arns[i]})
    inv = stubbed_aws.inventory()
    try:
        region = inv.regions[0]
        handed: list[list[str]] = []
        real = region.pools.map_detail
        monkeypatch.setattr(region.pools, "map_detail", lambda fn, items: handed.append(list(items)) or real(fn, items))
        region.awslambda.prefetch_reserved([arns[0], f"{arns[0]}:live", arns[1]])
        region.awslambda.prefetch_reserved([arns[1], f"{arns[0]}:live"])
        assert handed == [arns, []]
        assert [region.awslambda.reserved_concurrency(a) for a in arns] == [5, 6]
        assert inv.stats.calls.get("lambda:GetFunctionConcurrency") == 2
    finally:
        inv.close()


def test_past_the_deadline_reserved_concurrency_read_in_time_is_judged_and_the_rest_is_not(stubbed_aws):
    """A check that runs after the scan's deadline judges what was read before it (its prefetch has nothing left
    to wait for) and gets the deadline's reason for anything that was not."""
    from auditor.inventory.core import NotAvailable, scan_deadline

    lam = stubbed_aws.stub("lambda")
    arns = [f"arn:aws:lambda:us-east-1:123456789012:function:fn{i}" for i in range(2)]
    lam.add_response("get_function_concurrency", {"ReservedConcurrentExecutions": 5}, {"FunctionName": arns[0]})
    inv = stubbed_aws.inventory()
    try:
        region = inv.regions[0]
        region.awslambda.prefetch_reserved([arns[0]])
        with scan_deadline(0):
            region.awslambda.prefetch_reserved([arns[0]])  # read in time: nothing to wait for
            assert region.awslambda.reserved_concurrency(arns[0]) == 5
            with pytest.raises(NotAvailable) as exc:
                region.awslambda.prefetch_reserved(arns)
            assert exc.value.kind == "deadline"
        assert inv.stats.calls.get("lambda:GetFunctionConcurrency") == 1
    finally:
        inv.close()


def test_a_prefetch_of_configurations_skips_functions_the_listing_answered(stubbed_aws, monkeypatch):
    """Unqualified and ``$LATEST`` ARNs are answered by ``ListFunctions``: only a version's or an alias's
    configuration is handed to the pools (and called), and a second prefetch hands nothing."""
    lam = stubbed_aws.stub("lambda")
    base = "arn:aws:lambda:us-east-1:123456789012:function:fn"
    lam.add_response("list_functions", {"Functions": [
        {"FunctionName": "fn", "FunctionArn": base, "Timeout": 30}]}, {"MaxItems": 50})
    lam.add_response("get_function_configuration", {"FunctionName": "fn", "FunctionArn": f"{base}:live",
                                                    "Timeout": 60}, {"FunctionName": f"{base}:live"})
    inv = stubbed_aws.inventory()
    try:
        region = inv.regions[0]
        region.awslambda.functions()
        handed: list[list[str]] = []
        real = region.pools.map_detail
        monkeypatch.setattr(region.pools, "map_detail", lambda fn, items: handed.append(list(items)) or real(fn, items))
        region.awslambda.prefetch_configurations([base, f"{base}:$LATEST", f"{base}:live"])
        region.awslambda.prefetch_configurations([base, f"{base}:live"])
        assert handed == [[f"{base}:live"], []]
        assert region.awslambda.configuration(f"{base}:live").timeout == 60
        assert inv.stats.calls.get("lambda:GetFunctionConfiguration") == 1
    finally:
        inv.close()
