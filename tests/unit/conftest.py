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


class FakeClock:
    """Time that passes only when slept, so bounded retries run instantly and can be measured."""

    def __init__(self) -> None:
        self.now = 0.0

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def fake_clock(monkeypatch):
    """Every RetryPolicy the IAM behaviours make (executor retries, read-backs, re-checks) on a fake clock."""
    import functools

    from ansible_collections.keyless.aws.plugins.module_utils import (
        _converge,
        _iam_instance_profile,
        _plan,
        _retry,
    )

    clock = FakeClock()
    fake = functools.partial(_retry.RetryPolicy, sleep=clock.sleep, clock=clock.clock)
    for module in (_plan, _converge, _iam_instance_profile):
        monkeypatch.setattr(module, "RetryPolicy", fake, raising=False)
    return clock


@pytest.fixture
def other_run(clients):
    """Another run on the same account: a second IAM client whose calls this task does not record."""
    import boto3

    return boto3.client(
        "iam",
        region_name=PARAMS["region"],
        aws_access_key_id=PARAMS["access_key"],
        aws_secret_access_key=PARAMS["secret_key"],
    )


@pytest.fixture
def just_before(clients):
    """``just_before(operation, act)``: run ``act()`` once, right before this task sends ``operation``.

    That is the window between the task's read and its write, where a parallel run acts.
    """

    def register(operation: str, act) -> None:
        done = []

        def hook(**_kwargs):
            if not done:
                done.append(True)
                act()

        clients.iam.meta.events.register(f"before-call.iam.{operation}", hook)

    return register


def aws_error(code: str, message: str = "", operation: str = "Op", resent: int = 0):
    """A botocore ClientError as AWS answers it; ``resent`` is botocore's RetryAttempts."""
    from botocore.exceptions import ClientError

    return ClientError(
        {"Error": {"Code": code, "Message": message or code}, "ResponseMetadata": {"RetryAttempts": resent}},
        operation,
    )


@pytest.fixture
def answer_error():
    """``answer_error(code, message, operation, resent)``: a ClientError as AWS would answer it."""
    return aws_error


def _failing_first(real, errors):
    """Answer ``errors`` in turn, then call ``real``; ``attempts`` counts every call."""
    pending = list(errors)

    def call(**kwargs):
        call.attempts += 1
        if pending:
            raise pending.pop(0)
        return real(**kwargs)

    call.attempts = 0
    return call


@pytest.fixture
def failing_first():
    """``failing_first(real, errors)``: a stand-in for a client method that raises ``errors`` in
    turn, then calls ``real``; its ``attempts`` counts every call."""
    return _failing_first
