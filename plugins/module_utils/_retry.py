# Internal use only: not a public API of keyless.aws; it may change without notice.
"""Bounded, jittered retries for IAM's eventual consistency.

botocore's own retry modes cover throttling and transient 5xx answers. They do not cover
the IAM quirks documented in "Troubleshooting IAM: changes that I make are not always
immediately visible": a role that was just created can answer NoSuchEntity for a few
seconds, a parallel change answers ConcurrentModification, and a delete issued right after
detaching things can answer DeleteConflict until IAM catches up. Those are retried here,
for a bounded time, with full jitter (AWS Architecture Blog, "Exponential Backoff And
Jitter").
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from typing import Any, TypeVar

from ansible_collections.keyless.aws.plugins.module_utils._errors import KeylessAwsError, error_code

T = TypeVar("T")

# A delete issued right after detaching policies or leaving profiles can answer DeleteConflict
# until IAM's replicas agree; a parallel change answers ConcurrentModification.
DELETE_RETRY_CODES = ("DeleteConflict", "ConcurrentModification")


class WaitTimeout(KeylessAwsError):
    """A wait ran out of time."""

    def __init__(self, message: str) -> None:
        super().__init__(message, code="WaitTimeout")


@dataclass
class RetryPolicy:
    """How long and how often to retry; ``sleep``/``clock`` are injectable for tests."""

    timeout: float = 30.0
    base_delay: float = 0.5
    max_delay: float = 5.0
    sleep: Callable[[float], None] = time.sleep
    clock: Callable[[], float] = time.monotonic
    rng: random.Random = field(default_factory=random.Random)

    def delay(self, attempt: int) -> float:
        """Full-jitter delay for the given attempt (0-based)."""
        ceiling = min(self.max_delay, self.base_delay * (2**attempt))
        return self.rng.uniform(0, ceiling)


@dataclass
class RetryLog:
    """What was retried, so results can report it."""

    attempts: list[str] = field(default_factory=list)

    @property
    def count(self) -> int:
        return len(self.attempts)


def on_codes(codes: Collection[str]) -> Callable[[Exception], bool]:
    """A retry predicate: the AWS error code (of a ClientError or our AwsApiError) is in ``codes``."""
    return lambda err: error_code(err) in codes


def aws_answer(err: BaseException) -> dict[str, Any]:
    """The parsed AWS answer behind an error (a botocore ClientError, or the one our AwsApiError wraps)."""
    for candidate in (err, err.__cause__):
        response = getattr(candidate, "response", None)
        if isinstance(response, dict):
            return response
    return {}


def resent(err: BaseException) -> bool:
    """botocore sent this request more than once before the answer that raised ``err``.

    botocore retries a request whose answer was lost (connection reset, timeout, 5xx) and
    counts it in ``ResponseMetadata.RetryAttempts``. An earlier attempt may then have taken
    effect, so "EntityAlreadyExists" on a create or "NoSuchEntity" on a delete may be this
    task's own work. With no resend, the same answer means another request did it first.
    """
    return bool(aws_answer(err).get("ResponseMetadata", {}).get("RetryAttempts"))


def invalid_principal(err: Exception) -> bool:
    """A trust policy names a principal IAM cannot resolve yet: a propagation error, worth retrying.

    IAM resolves each principal ARN of a trust policy when it stores the policy; a role or user
    created moments earlier can be refused with MalformedPolicyDocument "Invalid principal in
    policy" until IAM's replicas know it (IAM User Guide, "Changes that I make are not always
    immediately visible"). Every other MalformedPolicyDocument answer is a real error.
    """
    message = aws_answer(err).get("Error", {}).get("Message") or ""
    return error_code(err) == "MalformedPolicyDocument" and "Invalid principal in policy" in message


def retry_when(
    call: Callable[[], T],
    retryable: Callable[[Exception], bool],
    policy: RetryPolicy,
    log: RetryLog | None = None,
) -> T:
    """Run ``call``, retrying errors that ``retryable`` accepts, with jitter, until the timeout.

    The last error is re-raised when time runs out, so the caller sees the real AWS answer.
    """
    deadline = policy.clock() + policy.timeout
    attempt = 0
    while True:
        try:
            return call()
        except Exception as err:
            if not retryable(err):
                raise
            pause = policy.delay(attempt)
            if policy.clock() + pause > deadline:
                raise
            if log is not None:
                log.attempts.append(error_code(err) or type(err).__name__)
            policy.sleep(pause)
            attempt += 1


def poll(fetch: Callable[[], T | None], policy: RetryPolicy, what: str) -> T:
    """Call ``fetch`` until it returns something, with jittered pauses, up to the timeout.

    Raises WaitTimeout (never a warning): a wait that gives up must fail the task.
    """
    deadline = policy.clock() + policy.timeout
    attempt = 0
    while True:
        value = fetch()
        if value is not None:
            return value
        pause = max(policy.delay(attempt), 0.05)
        if policy.clock() + pause > deadline:
            raise WaitTimeout(f"timed out after {policy.timeout:g}s waiting for {what}")
        policy.sleep(pause)
        attempt += 1
