import logging

from auditor.redact import MASK, RedactingFilter, redact, register_secret, scrub


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
    out = redact({"options": {"apikey": "x" * 10, "Name": "datadog"}, "env": [{"name": "DD_API_KEY", "value": "v"}]})
    assert out["options"] == {"apikey": MASK, "Name": "datadog"}


def test_logging_filter_scrubs(caplog):
    register_secret("logged-secret-value-99")
    logger = logging.getLogger("auditor.test")
    logger.addFilter(RedactingFilter())
    with caplog.at_level(logging.WARNING):
        logger.warning("calling with %s", "logged-secret-value-99")
    assert "logged-secret-value-99" not in caplog.text
