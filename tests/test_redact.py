import json
import logging
import sys

import pytest

from auditor.redact import (
    MASK,
    RedactingFilter,
    RedactingFormatter,
    redact,
    register_secret,
    scrub,
    scrub_known,
)


def test_registered_secrets_are_scrubbed_from_any_text():
    register_secret("my-very-own-token-1234")
    assert "my-very-own-token-1234" not in scrub("header: my-very-own-token-1234; more")


def test_key_shaped_values_are_masked():
    dd = "abcdef0123456789abcdef0123456789"
    akid = "AKIAIOSFODNN7EXAMPLE"
    text = scrub(f"apikey {dd} and {akid}")
    assert dd not in text and akid not in text and MASK in text


def test_arns_and_names_are_not_masked():
    arn = "arn:aws:sqs:us-east-1:123456789012:orders-dlq"
    assert scrub(arn) == arn


def test_redact_by_key_name_and_nested():
    out = redact({"options": {"apikey": "x" * 10, "Name": "datadog"}})
    assert out["options"] == {"apikey": MASK, "Name": "datadog"}


def test_name_value_pairs_with_secret_names_are_masked():
    env = [{"name": "DD_API_KEY", "value": "plainvalue1"}, {"name": "DD_SERVICE", "value": "shop"}]
    assert redact({"environment": env})["environment"] == [
        {"name": "DD_API_KEY", "value": MASK}, {"name": "DD_SERVICE", "value": "shop"}]


def test_tracebacks_in_logs_are_scrubbed():
    register_secret("trace-secret-value-77")
    formatter = RedactingFormatter("%(message)s")
    try:
        raise RuntimeError("failed with trace-secret-value-77")
    except RuntimeError:
        record = logging.LogRecord("auditor", logging.ERROR, __file__, 1, "boom", (), sys.exc_info())
    text = formatter.format(record)
    assert "Traceback" in text and "trace-secret-value-77" not in text


def test_logging_filter_scrubs(caplog):
    register_secret("logged-secret-value-99")
    logger = logging.getLogger("auditor.test")
    logger.addFilter(RedactingFilter())
    with caplog.at_level(logging.WARNING):
        logger.warning("calling with %s", "logged-secret-value-99")
    assert "logged-secret-value-99" not in caplog.text


@pytest.mark.parametrize(("text", "shown"), [
    ("http://tracer:p4ss-w0rd@agent:8126/v0.4", "http://tracer:***@agent:8126/v0.4"),
    ("DD_TRACE_AGENT_URL=http://u:p@agent:8126", "DD_TRACE_AGENT_URL=http://u:***@agent:8126"),
    ("https://ghp-token-value@github.com/o/r.git", "https://***@github.com/o/r.git"),  # a bare token
    ("postgres://app:p@ss@db:5432/shop", "postgres://app:***@db:5432/shop"),  # a raw "@" in the password
    ("redis://u:pa/ss#x@cache:6379", "redis://u:***@cache:6379"),  # raw "/" and "#" (an invalid URL, a secret)
    ("jdbc:postgresql://svc:pw@db/x", "jdbc:postgresql://svc:***@db/x"),
    ("first http://a:b@h1, then http://c:d@h2", "first http://a:***@h1, then http://c:***@h2"),
])
def test_credentials_in_urls_are_masked_and_the_url_stays_recognisable(text, shown):
    assert scrub(text) == shown
    assert scrub(shown) == shown  # idempotent


@pytest.mark.parametrize("text", [
    "https://app.datadoghq.com/monitors/123", "https://host/users/me@example.com", "https://host:8443/a@b",
    "http://[::1]:8080/x@y", "ops@example.com", "arn:aws:sqs:us-east-1:123456789012:orders-dlq",
    "https://@host/", "query avg:aws.sqs.x{queuename:orders} by {@team}",
])
def test_urls_without_credentials_are_left_alone(text):
    assert scrub(text) == text


def test_url_credentials_are_masked_in_evidence_whole_documents_and_logs(caplog):
    env = {"DD_TRACE_AGENT_URL": "http://u:hunter2-url@agent:8126"}
    assert redact({"environment": env}) == {"environment": {"DD_TRACE_AGENT_URL": "http://u:***@agent:8126"}}
    compact = json.dumps({"a": "http://u:hunter2-url@h", "b": "x@y", "c": "https://h/p"}, separators=(",", ":"))
    assert json.loads(scrub_known(compact)) == {"a": "http://u:***@h", "b": "x@y", "c": "https://h/p"}
    logger = logging.getLogger("auditor.test.url")
    logger.addFilter(RedactingFilter())
    with caplog.at_level(logging.WARNING):
        logger.warning("agent at %s", "http://u:hunter2-url@agent:8126")
    assert "hunter2-url" not in caplog.text and "http://u:***@agent:8126" in caplog.text


def test_url_redaction_survives_hostile_text():
    """Long runs that almost look like URLs finish (bounded patterns) and stay intact."""
    for text in ("a." * 50_000 + "://x", "x://" * 25_000, "http://u:" + "1" * 60_000 + "/@h", "@" * 100_000):
        assert len(scrub_known(text)) <= len(text)


SESSION_TOKEN = "IQoJb3JpZ2luX2VjEXAMPLEsessionTOKEN/abcdefghijklmnopqrstuvwxyz0123456789+ABCDEFGHIJ=="


@pytest.mark.parametrize("text", [
    f"x-amz-security-token:{SESSION_TOKEN}\nhost:127.0.0.1",  # the SDK's canonical request (-vv)
    f"{{'X-Amz-Security-Token': b'{SESSION_TOKEN}'}}",  # a request's headers as the SDK logs them
    f"b'<Credentials><SessionToken>{SESSION_TOKEN}</SessionToken><SecretAccessKey>{SESSION_TOKEN[:30]}"
    "</SecretAccessKey></Credentials>'",  # an STS answer's body (AssumeRole)
    f'{{"Credentials": {{"SessionToken": "{SESSION_TOKEN}", "secretAccessKey": "{SESSION_TOKEN[:30]}"}}}}',
    f"aws_session_token = {SESSION_TOKEN}",
    f"AWS_SESSION_TOKEN={SESSION_TOKEN}",
    # Spelled in any case: the name's regex ignores case, and so must the look that decides to run it.
    f"Aws_Session_Token={SESSION_TOKEN}",
    f"Secret_Access_Key: {SESSION_TOKEN[:30]} / SESSIONTOKEN: {SESSION_TOKEN}",
    f"secretaccesskey={SESSION_TOKEN[:30]} sessiontoken={SESSION_TOKEN}",
])
def test_session_tokens_and_secret_keys_are_masked_where_they_are_named(text):
    """A session token has no shape of its own: it is masked by the name in front of it."""
    shown = scrub_known(text)
    assert SESSION_TOKEN not in shown and SESSION_TOKEN[:30] not in shown and MASK in shown
    assert scrub(text) == shown


def _credential_names() -> list[str]:
    """Every name ``_CREDENTIAL_FIELD_RE`` masks the value of, read off the pattern itself (``_?`` both ways)."""
    import itertools
    import re

    from auditor.redact import _CREDENTIAL_FIELD_RE

    group = re.match(r"\(\?P<name>([^)]*)\)", _CREDENTIAL_FIELD_RE.pattern)
    assert group, "the pattern's name group is not where this test reads it"
    names = []
    for alternative in group[1].split("|"):
        parts = alternative.split("_?")
        for seps in itertools.product(("", "_"), repeat=len(parts) - 1):
            names.append(parts[0] + "".join(sep + part for sep, part in zip(seps, parts[1:], strict=True)))
    return names


def test_the_look_before_the_name_pattern_lets_through_every_name_it_masks_in_any_case():
    """The stems the cheap look checks for and the case-insensitive pattern are written apart: every name the
    pattern knows, lower, upper, capitalised and alternating, reaches the pattern and is masked."""
    names = _credential_names()
    assert len(names) == 7  # x-amz-security-token, 2 session tokens, 4 secret access keys
    for name in names:
        alternating = "".join(c.upper() if i % 2 else c for i, c in enumerate(name))
        for spelled in (name, name.upper(), name.title(), alternating):
            shown = scrub_known(f"{spelled}={SESSION_TOKEN}")
            assert SESSION_TOKEN not in shown and shown == f"{spelled}={MASK}", spelled


def test_words_near_those_names_are_left_alone():
    for text in ("the session token expired", "sessionTokenValidityDurationSeconds: 3600",
                 "SecretAccessKey rotation is on"):
        assert scrub_known(text) == text


def test_the_sdk_debug_log_never_shows_the_session_token_the_scan_signs_with(seeded_aws):
    """`-vv` logs the SDK's canonical requests, which carry temporary credentials' session token (CI runs with
    OIDC credentials, whose token this is): masked in every line, whatever the credentials' source."""
    from tests.conftest import run_auditor

    env = {"AWS_ENDPOINT_URL": seeded_aws.endpoint, "AWS_REGION": "us-east-1",
           "AWS_DISABLE_HOST_PREFIX_INJECTION": "true", "AWS_EC2_METADATA_DISABLED": "true",
           "AWS_ACCESS_KEY_ID": "ASIAEXAMPLEKEY123456", "AWS_SECRET_ACCESS_KEY": "wJalrXUtnFEMIK7MDENG" * 2,
           "AWS_SESSION_TOKEN": SESSION_TOKEN}
    run = run_auditor("scan", "--check", "VT-1", "-vv", "-f", "json", env=env)
    assert run.code == 1, run.stderr[-2000:]
    assert "x-amz-security-token:" + MASK in run.stderr  # the token was sent, and its line was written masked
    for secret in (SESSION_TOKEN, SESSION_TOKEN[:24], "wJalrXUtnFEMIK7MDENG" * 2, "ASIAEXAMPLEKEY123456"):
        assert secret not in run.stderr and secret not in run.stdout


def test_a_secret_registered_after_a_text_was_scrubbed_is_masked_in_it_next_time():
    """scrub() keeps its answers per text; registering a secret must not leave an answer that shows it."""
    secret = "hunter2-not-key-shaped"
    text = f"the agent said {secret} twice"
    assert scrub(text) == text  # not shaped like a key: nothing to mask yet, and the answer is kept
    register_secret(secret)
    assert secret not in scrub(text)
    assert secret not in redact({"note": text, "items": [text, 3, None, True]})["items"][0]


def test_redact_keeps_the_values_that_are_not_text():
    value = {"n": 3, "ok": True, "ratio": 0.5, "none": None, "nested": [{"token": "abc"}, ("a", 1)]}
    assert redact(value) == {"n": 3, "ok": True, "ratio": 0.5, "none": None,
                             "nested": [{"token": MASK}, ["a", 1]]}


def test_long_texts_are_scrubbed_but_not_kept():
    """Log lines and documents are unique and can be large (`-vv` writes thousands): only short texts are kept."""
    from auditor import redact as redact_mod

    long_text = "GET /2015-03-31/functions " + "x" * 2000 + " AKIAIOSFODNN7EXAMPLE"
    short_text = "arn:aws:sqs:us-east-1:123456789012:kept-for-next-time"
    assert "AKIAIOSFODNN7EXAMPLE" not in scrub(long_text)
    assert scrub(short_text) == short_text
    assert long_text not in redact_mod._scrubbed and short_text in redact_mod._scrubbed
