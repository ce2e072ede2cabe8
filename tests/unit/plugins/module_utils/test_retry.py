from __future__ import annotations

import random

import pytest
from botocore.exceptions import ClientError

from ansible_collections.keyless.aws.plugins.module_utils._retry import (
    RetryLog,
    RetryPolicy,
    WaitTimeout,
    invalid_principal,
    on_codes,
    poll,
    resent,
    retry_when,
)


class FakeClock:
    def __init__(self):
        self.now = 0.0
        self.sleeps: list[float] = []

    def clock(self):
        return self.now

    def sleep(self, seconds):
        self.sleeps.append(seconds)
        self.now += seconds


def client_error(code):
    return ClientError({"Error": {"Code": code, "Message": f"{code} happened"}}, "DeleteRole")


def policy(clock, timeout=30.0):
    return RetryPolicy(timeout=timeout, sleep=clock.sleep, clock=clock.clock, rng=random.Random(7))


def failing(times, code):
    state = {"left": times}

    def call():
        if state["left"]:
            state["left"] -= 1
            raise client_error(code)
        return "done"

    return call


def test_retries_listed_code_until_success_and_logs_each_retry():
    clock, log = FakeClock(), RetryLog()
    assert (
        retry_when(failing(3, "DeleteConflict"), on_codes({"DeleteConflict"}), policy(clock), log) == "done"
    )
    assert log.attempts == ["DeleteConflict"] * 3
    assert len(clock.sleeps) == 3


def test_other_codes_are_raised_at_once():
    clock = FakeClock()
    with pytest.raises(ClientError) as err:
        retry_when(failing(1, "AccessDenied"), on_codes({"DeleteConflict"}), policy(clock))
    assert err.value.response["Error"]["Code"] == "AccessDenied"
    assert clock.sleeps == []


def test_gives_up_with_the_real_error_when_time_runs_out():
    clock = FakeClock()
    with pytest.raises(ClientError):
        retry_when(failing(10_000, "NoSuchEntity"), on_codes({"NoSuchEntity"}), policy(clock, timeout=10))
    assert clock.now <= 10
    assert sum(clock.sleeps) <= 10


def test_delays_are_jittered_and_capped():
    rule = RetryPolicy(base_delay=0.5, max_delay=5.0, rng=random.Random(1))
    delays = [rule.delay(attempt) for attempt in range(12)]
    assert all(0 <= d <= 5.0 for d in delays)
    assert len(set(delays)) == len(delays)


def test_poll_returns_first_value_and_times_out_as_failure():
    clock = FakeClock()
    answers = iter([None, None, {"ok": 1}])
    assert poll(lambda: next(answers), policy(clock), "x") == {"ok": 1}
    with pytest.raises(WaitTimeout, match="timed out after 5s waiting for role r"):
        poll(lambda: None, policy(FakeClock(), timeout=5), "role r")


def test_poll_with_zero_timeout_reads_once():
    calls = []
    with pytest.raises(WaitTimeout):
        poll(lambda: calls.append(1), policy(FakeClock(), timeout=0), "x")
    assert calls == [1]


def test_translated_errors_keep_their_code_for_retries():
    from ansible_collections.keyless.aws.plugins.module_utils._errors import translate

    clock, log = FakeClock(), RetryLog()
    state = {"left": 2}

    def call():
        if state["left"]:
            state["left"] -= 1
            raise translate(client_error("DeleteConflict"), "DeleteRole")
        return "deleted"

    assert retry_when(call, on_codes({"DeleteConflict"}), policy(clock), log) == "deleted"
    assert log.count == 2


@pytest.mark.parametrize(
    ("code", "message", "expected"),
    [
        ("MalformedPolicyDocument", 'Invalid principal in policy: "AWS":"arn:aws:iam::1:role/x"', True),
        ("MalformedPolicyDocument", "Syntax errors in policy.", False),
        ("MalformedPolicyDocument", "Has prohibited field Resource", False),
        ("AccessDenied", "Invalid principal in policy", False),
    ],
)
def test_only_an_invalid_principal_is_a_propagation_error(code, message, expected):
    from ansible_collections.keyless.aws.plugins.module_utils._errors import translate

    err = ClientError({"Error": {"Code": code, "Message": message}}, "CreateRole")
    assert invalid_principal(err) is expected
    try:
        raise translate(err, "CreateRole") from err  # as the call layer raises it
    except Exception as translated:
        assert invalid_principal(translated) is expected


@pytest.mark.parametrize(("attempts", "expected"), [(0, False), (1, True), (None, False)])
def test_resent_reads_botocores_retry_count(attempts, expected):
    from ansible_collections.keyless.aws.plugins.module_utils._errors import translate

    meta = {} if attempts is None else {"RetryAttempts": attempts}
    err = ClientError({"Error": {"Code": "EntityAlreadyExists"}, "ResponseMetadata": meta}, "CreateRole")
    assert resent(err) is expected
    try:
        raise translate(err, "CreateRole") from err
    except Exception as translated:
        assert resent(translated) is expected
