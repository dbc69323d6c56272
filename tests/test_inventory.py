"""Inventory mechanics: pagination at the largest page size (moto ignores page sizes, so botocore's Stubber
plays the real service), error translation, memoisation under concurrency."""

from __future__ import annotations

import threading
import time

import pytest
from botocore.exceptions import ClientError, EndpointConnectionError
from botocore.stub import Stubber

from auditor.inventory import Inventory
from auditor.inventory.aws import AwsAccount
from auditor.inventory.core import Memo, NotAvailable, translate

U1 = "11111111-1111-1111-1111-111111111111"
U2 = "22222222-2222-2222-2222-222222222222"
FN = "arn:aws:lambda:us-east-1:123456789012:function:{}"


@pytest.fixture()
def account(monkeypatch, tmp_path):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    acct = AwsAccount(None)
    acct._account_id = "123456789012"  # no STS round trip in unit tests
    return acct


def _stub(acct, service):
    client = acct.session.client(service, region_name="us-east-1")
    acct._clients[(service, "us-east-1")] = client
    return Stubber(client)


def _fn(name, timeout=3):
    return {"FunctionName": name, "FunctionArn": FN.format(name), "Timeout": timeout}


def test_functions_are_paginated_at_the_largest_page_size(account):
    stub = _stub(account, "lambda")
    stub.add_response("list_functions", {"Functions": [_fn("a"), _fn("b")], "NextMarker": "m1"}, {"MaxItems": 50})
    stub.add_response("list_functions", {"Functions": [_fn("c", 60)]}, {"MaxItems": 50, "Marker": "m1"})
    inv = Inventory(account, ["us-east-1"])
    with stub:
        fns = inv.regions[0].awslambda.functions()
        again = inv.regions[0].awslambda.functions()
    assert sorted(f.name for f in fns.values()) == ["a", "b", "c"]
    assert fns[FN.format("c")].timeout == 60
    assert again is fns  # cached: the stub would raise on a third call
    assert account.stats.snapshot()["calls"]["lambda:ListFunctions"] == 2
    stub.assert_no_pending_responses()


def test_event_source_mappings_paginate_with_page_size_100(account):
    stub = _stub(account, "lambda")
    m = {"UUID": U1, "FunctionArn": FN.format("a") + ":live", "EventSourceArn": "arn:aws:sqs:us-east-1:1:q",
         "State": "Enabled", "BatchSize": 10, "ScalingConfig": {"MaximumConcurrency": 4}}
    stub.add_response("list_event_source_mappings", {"EventSourceMappings": [m], "NextMarker": "n"},
                      {"MaxItems": 100})
    stub.add_response("list_event_source_mappings", {"EventSourceMappings": [{**m, "UUID": U2}]},
                      {"MaxItems": 100, "Marker": "n"})
    inv = Inventory(account, ["us-east-1"])
    with stub:
        maps = inv.regions[0].awslambda.mappings()
    assert [x.uuid for x in maps] == [U1, U2]
    assert maps[0].qualifier == "live" and maps[0].unqualified_function_arn == FN.format("a")
    assert maps[0].maximum_concurrency == 4 and maps[0].enabled


def test_access_denied_becomes_not_available_with_the_action_and_is_cached(account):
    stub = _stub(account, "sqs")
    stub.add_client_error("list_queues", "AccessDenied", "not allowed", http_status_code=403)
    inv = Inventory(account, ["us-east-1"])
    with stub:
        for _ in range(2):  # the second ask is served from the cache (the stub has one response)
            with pytest.raises(NotAvailable) as exc:
                inv.regions[0].sqs.queues()
            assert exc.value.kind == "denied" and exc.value.iam_action == "sqs:ListQueues"


@pytest.mark.parametrize(("exc", "kind", "action"), [
    (ClientError({"Error": {"Code": "ThrottlingException"}, "ResponseMetadata": {"HTTPStatusCode": 400}}, "X"),
     "throttled", "lambda:GetFunctionConcurrency"),
    (ClientError({"Error": {"Code": "ResourceNotFoundException"}, "ResponseMetadata": {"HTTPStatusCode": 404}}, "X"),
     "not-found", "lambda:GetFunctionConcurrency"),
    (EndpointConnectionError(endpoint_url="https://lambda"), "unreachable", "lambda:GetFunctionConcurrency"),
])
def test_error_translation(exc, kind, action):
    na = translate(exc, "lambda", "GetFunctionConcurrency")
    assert na.kind == kind and na.iam_action == action


def test_s3_list_buckets_maps_to_its_real_iam_action():
    na = translate(ClientError({"Error": {"Code": "AccessDenied"}}, "ListBuckets"), "s3", "ListBuckets")
    assert na.iam_action == "s3:ListAllMyBuckets"


def test_retries_use_adaptive_mode(account):
    cfg = account.client("sqs", "us-east-1").meta.config
    assert cfg.retries["mode"] == "adaptive" and cfg.retries["total_max_attempts"] >= 5


def test_memo_computes_once_under_concurrency():
    memo, calls = Memo(), []

    def loader():
        calls.append(1)
        time.sleep(0.05)
        return object()

    results = []
    threads = [threading.Thread(target=lambda: results.append(memo.get("k", loader))) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(calls) == 1 and len({id(r) for r in results}) == 1
