"""Unit-test fixtures: moto in-process (mock_aws) and a call recorder on our clients."""

from __future__ import annotations

import pytest
from moto import mock_aws

from ansible_collections.keyless.aws.plugins.module_utils._client import Clients

READ_PREFIXES = ("Get", "List", "Describe")


class RecordingClients(Clients):
    """Our real client factory, with every API call recorded through botocore's events."""

    def __init__(self, params):
        super().__init__(params)
        self.calls: list[str] = []

    def _make(self, service):
        client = super()._make(service)
        client.meta.events.register("before-call.*.*", self._record)
        return client

    def _record(self, model, **_kwargs):
        self.calls.append(model.name)

    def mutating(self) -> list[str]:
        return [name for name in self.calls if not name.startswith(READ_PREFIXES)]

    def reset(self) -> None:
        self.calls.clear()


PARAMS = {
    "region": "us-east-1",
    "access_key": "AKIAUNITTESTEXAMPLE1",
    "secret_key": "unit-test-secret-key-not-real",
    "session_token": None,
    "profile": None,
    "endpoint_url": None,
    "validate_certs": True,
}


@pytest.fixture
def clients(monkeypatch):
    for var in ("AWS_PROFILE", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_IAM", "AWS_ENDPOINT_URL_EC2"):
        monkeypatch.delenv(var, raising=False)
    with mock_aws():
        yield RecordingClients(PARAMS)
