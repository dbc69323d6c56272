import logging
import sys

from auditor.redact import MASK, RedactingFilter, RedactingFormatter, redact, register_secret, scrub


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
