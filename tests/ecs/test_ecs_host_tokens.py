"""SC-1's matching: environment values name hosts as URL hosts, host:port or bare names — never substrings."""

from __future__ import annotations

import pytest
from auditor.checks.ecs_service_connect import host_tokens, is_secret_reference


@pytest.mark.parametrize(
    ("value", "host"),
    [
        ("http://inventory-api.shop:8080/v1", "inventory-api.shop"),
        ("https://Inventory-API.shop/items?x=1", "inventory-api.shop"),
        ("grpc://catalog:50051", "catalog"),
        ("jdbc:postgresql://orders-db.shop.local:5432/orders", "orders-db.shop.local"),
        ("http://user:pa55@catalog:8080/", "catalog"),
        ("catalog:8080", "catalog"),
        ("catalog:8080/v2/items", "catalog"),
        ("CATALOG", "catalog"),
        ("search-v1", "search-v1"),
        ("catalog:8080,search:9200", "search"),
        ("Host=catalog;Port=8080", "catalog"),
        ('{"upstream": "http://cart:8080"}', "cart"),
        ("pricing.shop.local.", "pricing.shop.local"),
    ],
)
def test_names_a_host(value, host):
    assert host in host_tokens(value)


@pytest.mark.parametrize(
    ("value", "host"),
    [
        ("http://inventory-api-v2:8080", "inventory-api"),  # another service, not a substring match
        ("shop-catalog-exports", "catalog"),  # a bucket name containing the word
        ("catalog-feed", "catalog"),
        ("https://api.partner.example/catalog", "catalog"),  # a path segment is not a host
        ("s3://bucket/catalog/", "catalog"),
        ("cataloged", "catalog"),
        ("http://catalog.example.com", "catalog"),
        ("8080", "8080"),
    ],
)
def test_does_not_name_a_host(value, host):
    assert host not in host_tokens(value)


@pytest.mark.parametrize(
    "value",
    [
        "arn:aws:ssm:us-east-1:123456789012:parameter/shop/inventory-url",
        "arn:aws:secretsmanager:eu-west-1:123456789012:secret:shop/url-AbCdEf",
        "{{resolve:ssm:/shop/inventory-url}}",
        "/aws/reference/secretsmanager/shop/url",
    ],
)
def test_secret_references(value):
    assert is_secret_reference(value)


def test_plain_values_are_not_secret_references():
    assert not is_secret_reference("http://inventory-api.shop:8080")
