"""auditor's botocore loader keeps only the operations auditor calls, and parses those exactly as botocore does."""

from __future__ import annotations

import botocore.session
import pytest
from botocore.model import ServiceModel

from auditor.inventory.aws import AwsAccount, _lean_loader, declared_operations
from auditor.inventory.core import ReadOnlyViolation, UndeclaredRead


def _tree(shape, seen=()):
    """A shape as botocore reads answers with it: type, serialisation and members, recursively."""
    if shape is None:
        return None
    if shape.name in seen:
        return ("recursive", shape.name)
    seen = (*seen, shape.name)
    out = [shape.type_name, shape.serialization.get("name"), shape.serialization.get("flattened"),
           shape.metadata.get("required")]
    if shape.type_name == "structure":
        out.append(tuple((k, _tree(v, seen)) for k, v in shape.members.items()))
    elif shape.type_name == "list":
        out.append(_tree(shape.member, seen))
    elif shape.type_name == "map":
        out.append((_tree(shape.key, seen), _tree(shape.value, seen)))
    return tuple(out)


@pytest.mark.parametrize("service", sorted(s for s in declared_operations() if s != "datadog"))
def test_every_declared_operation_reads_answers_as_botocore_does(service):
    full = botocore.session.get_session().get_service_model(service)
    loader = _lean_loader()  # a fresh one: creating an S3 client edits its model's request URIs in place
    lean = ServiceModel(loader.load_service_model(service, "service-2"), service)
    for name in declared_operations()[service]:
        a, b = full.operation_model(name), lean.operation_model(name)
        assert _tree(a.input_shape) == _tree(b.input_shape), name
        assert _tree(a.output_shape) == _tree(b.output_shape), name
        assert a.http == b.http and a.metadata == b.metadata
    # What it leaves out: every other operation's shapes (EC2 keeps a few dozen of its thousands).
    assert len(lean.shape_names) < len(full.shape_names)
    assert set(lean.operation_names) == set(full.operation_names)  # every method exists, for the guard


def test_an_undeclared_read_is_refused_before_it_is_sent_and_a_write_is_still_read_only(monkeypatch):
    for key, value in {"AWS_ACCESS_KEY_ID": "AKIDEXAMPLE", "AWS_SECRET_ACCESS_KEY": "x" * 20,
                       "AWS_DEFAULT_REGION": "us-east-1", "AWS_ENDPOINT_URL": "http://127.0.0.1:9"}.items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    acct = AwsAccount()
    with pytest.raises(UndeclaredRead, match="ec2:DescribeInstances is not a declared operation"):  # a bug: exit 4
        acct.call("ec2", "us-east-1", "DescribeInstances")
    with pytest.raises(ReadOnlyViolation, match="TerminateInstances"):
        acct.call("ec2", "us-east-1", "TerminateInstances", InstanceIds=["i-0"])
    assert acct.stats.snapshot()["calls"] == {}  # nothing was sent


@pytest.mark.parametrize("type_name", ["service-2", "endpoint-rule-set-1", "paginators-1"])
def test_which_services_exist_is_botocores_answer(type_name):
    """The loader answers "is there such a service" for one name without listing them all; the answer, and the
    list when something reads it, are botocore's."""
    from botocore.exceptions import UnknownServiceError
    from botocore.loaders import Loader

    theirs = Loader().list_available_services(type_name)
    ours = _lean_loader().list_available_services(type_name)
    for name in [*theirs[::7], "sqs", "s3", "no-such-service", "sqs/2012-11-05", ""]:
        assert (name in ours) == (name in theirs), name
    assert list(ours) == theirs and len(ours) == len(theirs) and ours[0] == theirs[0]
    with pytest.raises(UnknownServiceError) as raised:
        _lean_loader().load_service_model("no-such-service", type_name)
    assert "sqs" in str(raised.value) and "no-such-service" in str(raised.value)
