import pytest

from auditor.check import Recorder
from auditor.model import CheckMeta, Confidence, Remediation, Resource, Severity, Status
from tests.factories import make_check, queue


def test_severity_is_ordered_and_parses():
    assert Severity.INFO < Severity.LOW < Severity.MEDIUM < Severity.HIGH < Severity.CRITICAL
    assert max(Severity) is Severity.CRITICAL
    assert Severity.parse(" HIGH ") is Severity.HIGH
    assert Confidence.LOW < Confidence.HIGH
    with pytest.raises(ValueError, match="expected one of"):
        Severity.parse("severe")


def _meta(**over):
    base = dict(id="sqs-lambda/x", rule="VT-1", title="t", severity=Severity.LOW, description="d", risk="r",
                remediation=Remediation("fix"), docs=("https://docs.aws.amazon.com/x",))
    base.update(over)
    return CheckMeta(**base)


@pytest.mark.parametrize("over", [
    {"id": "NotKebab/x"}, {"id": "no-namespace"}, {"rule": "vt1"}, {"title": " "},
    {"docs": ()}, {"docs": ("http://insecure",)}, {"remediation": Remediation("")},
])
def test_check_metadata_is_validated_when_loaded(over):
    with pytest.raises(ValueError, match="invalid check metadata"):
        _meta(**over)


def test_recorder_stamps_identity_and_redacts_evidence():
    chk = make_check(rule="DLQ-2", id="sqs-lambda/low-max-receive-count", severity=Severity.MEDIUM)
    rec = Recorder(chk.meta)
    f = rec.fail(queue(), "orders is wrong", evidence={"apikey": "supersecretvalue", "count": 2})
    assert (f.check_id, f.rule, f.severity, f.status) == (chk.id, "DLQ-2", Severity.MEDIUM, Status.FAIL)
    assert f.evidence == {"apikey": "<redacted>", "count": 2}
    escalated = rec.fail(queue("p"), "p is worse", severity=Severity.HIGH)
    assert escalated.severity is Severity.HIGH


def test_a_finding_needs_a_resource_and_a_message():
    rec = Recorder(make_check().meta)
    with pytest.raises(TypeError):
        rec.fail("orders", "no resource object")  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        rec.fail(queue(), "  ")
    with pytest.raises(ValueError):
        Resource("aws", "1", "r", "", "id")


def test_not_available_inside_evaluating_is_not_evaluated_never_a_pass():
    from auditor.inventory.core import NotAvailable

    rec = Recorder(make_check().meta)
    with rec.evaluating(queue()):
        raise NotAvailable("access denied to sqs:GetQueueAttributes", "sqs:GetQueueAttributes")
    (f,) = rec.findings
    assert f.status is Status.NOT_EVALUATED and f.iam_action == "sqs:GetQueueAttributes"
    assert "orders" in f.message


def test_recorder_refuses_a_severity_the_check_does_not_declare():
    """A check that escalates must say so in ``severities=``: SARIF needs a rule descriptor for each one."""
    chk = make_check(severity=Severity.MEDIUM, severities=(Severity.MEDIUM, Severity.HIGH))
    rec = Recorder(chk.meta)
    assert rec.fail(queue("a"), "escalated", severity=Severity.HIGH).severity is Severity.HIGH
    with pytest.raises(ValueError, match="not among the severities"):
        rec.fail(queue("b"), "demoted", severity=Severity.INFO)
    assert len(rec.findings) == 1


def test_severities_default_to_the_default_and_must_include_it():
    assert _meta().severities == (Severity.LOW,)
    assert _meta(severity=Severity.MEDIUM, severities=(Severity.LOW, Severity.HIGH, Severity.MEDIUM)).severities == (
        Severity.HIGH, Severity.MEDIUM, Severity.LOW)
    with pytest.raises(ValueError, match="lack the default"):
        _meta(severity=Severity.MEDIUM, severities=(Severity.HIGH,))
    with pytest.raises(ValueError, match="former rule"):
        _meta(rule="BP-6", former_rules=("BP-6",))


def _declared_in_source(chk) -> set[str]:
    """Severities a check's module names as ``Severity.X`` outside the ``@check(...)`` decorators."""
    import ast
    import inspect
    import sys

    tree = ast.parse(inspect.getsource(sys.modules[chk.run.__module__]))
    decorators = {id(n) for node in ast.walk(tree) if isinstance(node, ast.FunctionDef)
                  for d in node.decorator_list for n in ast.walk(d)}
    funcs = {node.name: node for node in ast.walk(tree) if isinstance(node, ast.FunctionDef)}
    body = funcs[chk.run.__name__]
    return {n.attr.lower() for n in ast.walk(body) if id(n) not in decorators and isinstance(n, ast.Attribute)
            and isinstance(n.value, ast.Name) and n.value.id == "Severity"}


def test_every_severity_a_check_body_names_is_declared():
    """Catches an escalation added without its declaration before any input reaches it."""
    from auditor import engine

    for chk in engine.load_checks(plugins=False):
        named = _declared_in_source(chk)
        assert named <= {str(s) for s in chk.meta.severities}, (chk.id, named)


def test_rule_codes_are_unique_across_all_loaded_checks():
    from auditor import engine

    metas = [c.meta for c in engine.load_checks()]
    rules = [m.rule for m in metas]
    assert len(rules) == len(set(rules)), sorted(r for r in rules if rules.count(r) > 1)
    former = [code for m in metas for code in m.former_rules]
    assert len(former) == len(set(former)), "a former rule code is claimed by two checks"
    assert {m.id: m.rule for m in metas}["s3-policy/malformed-document"] == "BP-6"
    assert {m.id: m.rule for m in metas}["s3-policy/invalid-values"] == "BP-3"


def test_security_checks_are_exactly_the_security_matters():
    from auditor import engine

    security = {c.id for c in engine.load_checks(plugins=False) if c.meta.security}
    s3 = {c.id for c in engine.load_checks(plugins=False) if c.meta.family == "s3-policy"}
    assert security == s3 | {"firelens/plain-api-key", "firelens/datadog-tls-off"}


def test_inventory_identities_are_built_once_and_are_what_they_say():
    from auditor.inventory import resources as res

    arn = "arn:aws:lambda:eu-west-1:123456789012:function:orders:live"
    fn = res.function("123456789012", "eu-west-1", arn)
    assert fn == Resource("aws", "123456789012", "eu-west-1", "lambda-function", "orders",
                          "arn:aws:lambda:eu-west-1:123456789012:function:orders")
    assert res.function("123456789012", "eu-west-1", arn) is fn  # shared by every result on it
    q = res.queue("123456789012", "eu-west-1", "arn:aws:sqs:eu-west-1:123456789012:orders-dlq")
    assert q.id == "orders-dlq" and res.queue("123456789012", "eu-west-1", q.arn) is q
    assert res.queue("123456789012", "eu-west-1", q.arn, "shown-name").id == "shown-name"
