"""The demo server's per-host memory of moto's backend (auditor/demo/moto_dispatch.py) answers what moto does."""

from __future__ import annotations

import importlib

SERVICES = ("s3", "sqs", "lambda", "ecs", "iam", "sts", "kms", "ec2", "servicediscovery", "s3control", "events")


def test_each_host_gets_the_backend_moto_would_give() -> None:
    from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app

    dispatch = importlib.import_module("auditor.demo.moto_dispatch")
    dispatch.install()
    assert dispatch.installed()
    app = DomainDispatcherApplication(create_backend_app)
    moto_own = DomainDispatcherApplication.get_backend_for_host.moto_own
    hosts = [f"{s}.{r}.amazonaws.com" for s in SERVICES for r in ("us-east-1", "eu-west-1")]
    hosts += ["s3.amazonaws.com", "bucket.s3.amazonaws.com", "sqs", "moto_api", None, "example.org"]
    for _ in range(2):  # the second pass is answered from memory
        for host in hosts:
            assert app.get_backend_for_host(host) == moto_own(app, host), host
    assert app.get_backend_for_host("sqs.us-east-1.amazonaws.com") == "sqs"
    assert app.get_backend_for_host("example.org") is None
