"""The local Datadog API answers the real client like Datadog does: typed models, paging, auth, read-only."""

from __future__ import annotations

import urllib.error
import urllib.request

import pytest
from datadog_api_client import ApiClient, Configuration
from datadog_api_client.exceptions import ForbiddenException, NotFoundException
from datadog_api_client.v1.api.authentication_api import AuthenticationApi
from datadog_api_client.v1.api.monitors_api import MonitorsApi
from datadog_api_client.v2.api.downtimes_api import DowntimesApi

from auditor.demo import seed_datadog
from auditor.demo.datadog_server import DatadogServer, monitor

from .conftest import API_KEY, APP_KEY


def client(server: DatadogServer, api_key: str = API_KEY, app_key: str = APP_KEY) -> ApiClient:
    conf = Configuration(host=server.url, api_key={"apiKeyAuth": api_key, "appKeyAuth": app_key})
    return ApiClient(conf)


def test_monitors_deserialise_into_the_clients_typed_models(dd_server):
    with client(dd_server) as api:
        got = MonitorsApi(api).list_monitors(with_downtimes=True)
    assert len(got) == len(seed_datadog.monitors())
    first = got[0]
    assert isinstance(first.id, int) and first.name and str(first.type) == "query alert"
    assert str(first.overall_state) == "OK"
    assert first.created.tzinfo is not None and first.creator.handle
    assert first.options.thresholds.critical == 0
    types = {str(m.type) for m in got}
    assert {"query alert", "composite", "log alert"} <= types
    invoices = next(m for m in got if m.id == seed_datadog.INVOICES_DLQ)
    assert [d.scope for d in invoices.matching_downtimes] == [["*"]]
    assert invoices.matching_downtimes[0].end is None


def test_pagination_like_the_real_api(dd_server):
    with client(dd_server) as api:
        mon = MonitorsApi(api)
        all_ids = [m.id for m in mon.list_monitors()]
        paged = [m.id for m in mon.list_monitors_with_pagination(page_size=4)]
        page1 = [m.id for m in mon.list_monitors(page=1, page_size=4)]
        past_end = mon.list_monitors(page=50, page_size=4)
        default_size = mon.list_monitors(page=0)
        after = [m.id for m in mon.list_monitors(id_offset=all_ids[-3])]
    assert paged == all_ids == sorted(all_ids)
    assert page1 == all_ids[4:8]
    assert past_end == []
    assert len(default_size) == len(all_ids)  # page given, page_size defaults to 100
    assert after == all_ids[-2:]
    pages = [q for m, p, q in dd_server.requests if p == "/api/v1/monitor" and q.get("page_size") == ["4"]]
    walked = [[str(i)] for i in range(len(all_ids) // 4 + 1)]  # until a short (possibly empty) page
    assert [q["page"] for q in pages] == [*walked, ["1"], ["50"]]


def test_filters_and_with_downtimes(dd_server):
    with client(dd_server) as api:
        mon = MonitorsApi(api)
        named = mon.list_monitors(name="ledger")
        tagged = mon.list_monitors(monitor_tags="team:payments")
        bare = mon.list_monitors(with_downtimes=False, page=0, page_size=3)
    assert {m.id for m in named} == {seed_datadog.LEDGER_DLQ_MEMBER, seed_datadog.LEDGER_ERRORS_MEMBER,
                                     seed_datadog.LEDGER_COMPOSITE}
    assert [m.id for m in tagged] == [seed_datadog.PAYMENTS_DLQ]
    assert all("matching_downtimes" not in m.to_dict() for m in bare)


def test_get_monitor_and_404(dd_server):
    with client(dd_server) as api:
        mon = MonitorsApi(api)
        assert mon.get_monitor(seed_datadog.ORDERS_DLQ).name.startswith("[orders]")
        with pytest.raises(NotFoundException):
            mon.get_monitor(1)


def test_downtimes_v2(dd_server):
    with client(dd_server) as api:
        dts = DowntimesApi(api)
        everything = dts.list_downtimes()
        current = dts.list_downtimes(current_only=True)
        paged = list(dts.list_downtimes_with_pagination(page_limit=1))
    statuses = sorted(str(d.attributes.status) for d in everything.data)
    assert statuses == ["active", "canceled", "scheduled"]
    assert [d.attributes.monitor_identifier.monitor_id for d in current.data] == [seed_datadog.INVOICES_DLQ]
    assert current.meta.page.total_filtered_count == 1
    assert len(paged) == 3


def test_keys_are_enforced_like_datadog(dd_server):
    with client(dd_server, api_key="0" * 32) as api:
        with pytest.raises(ForbiddenException):
            AuthenticationApi(api).validate()
        with pytest.raises(ForbiddenException):
            MonitorsApi(api).list_monitors()
    with client(dd_server, app_key="0" * 40) as api:
        assert AuthenticationApi(api).validate().valid is True  # validate needs the API key only
        with pytest.raises(ForbiddenException):
            MonitorsApi(api).list_monitors()


def test_read_only_and_links(dd_server):
    req = urllib.request.Request(f"{dd_server.url}/api/v1/monitor", data=b"{}", method="POST")
    with pytest.raises(urllib.error.HTTPError) as err:
        urllib.request.urlopen(req, timeout=5)
    assert err.value.code == 405
    page = urllib.request.urlopen(f"{dd_server.url}/monitors/{seed_datadog.ORDERS_DLQ}", timeout=5).read().decode()
    assert "[orders] Messages arriving in orders-dlq" in page


def test_monitor_helper_builds_full_objects():
    m = monitor(7, "n", "change(avg(last_5m),last_5m):max:a.b{queuename:x} by {queuename} > 2",
                options={"evaluation_delay": 900}, tags=["t:1"])
    assert m["type"] == "query alert" and m["multi"] is True
    assert m["options"]["thresholds"] == {"critical": 2.0}
    assert m["options"]["evaluation_delay"] == 900 and m["options"]["notify_no_data"] is False
    assert monitor(8, "c", "1 && !2")["type"] == "composite"
    for field in ("id", "name", "type", "query", "message", "tags", "options", "overall_state", "created",
                  "modified", "creator", "multi", "priority", "restricted_roles", "deleted"):
        assert field in m


def test_pages_of_up_to_1000_and_larger_pages_refused():
    """Like the Monitors API: page_size up to 1000 honoured; a larger one is an error, never a short page."""
    mons = [monitor(i, f"m{i}", f"avg(last_5m):max:aws.sqs.approximate_number_of_messages_visible{{queuename:q{i}}} > 0")
            for i in range(1, 1501)]
    with DatadogServer(mons, api_key=API_KEY, app_key=APP_KEY).start() as server:
        with client(server) as api:
            mon = MonitorsApi(api)
            first = mon.list_monitors(page=0, page_size=1000, with_downtimes=False)
            second = mon.list_monitors(page=1, page_size=1000, with_downtimes=False)
        req = urllib.request.Request(f"{server.url}/api/v1/monitor?page=0&page_size=1001",
                                     headers={"DD-API-KEY": API_KEY, "DD-APPLICATION-KEY": APP_KEY})
        with pytest.raises(urllib.error.HTTPError) as err:
            urllib.request.urlopen(req, timeout=5)
    assert (len(first), len(second)) == (1000, 500)
    assert [m.id for m in first + second] == list(range(1, 1501))
    assert err.value.code == 400 and b"page_size" in err.value.read()
