# Internal use only: not a public API of keyless.aws; it may change without notice.
"""Plan and execute: the actions a module decides on, and the one executor that applies them.

A behaviour plans a list of ``Action`` values from (current, desired) without calling AWS;
check mode stops before ``Executor.run``, so it cannot mutate anything by construction. The
executor looks each action's operation up in an explicit table of handlers; an action's
``args`` are its handler's keyword arguments (the IAM and EC2 call files name them alike).
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from ansible_collections.keyless.aws.plugins.module_utils._retry import (
    RetryLog,
    RetryPolicy,
    on_codes,
    retry_when,
)


@dataclass(frozen=True)
class Action:
    """One mutating API call to make: ``operation`` is the AWS operation name."""

    operation: str
    args: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Retry:
    """Retry the errors ``when`` accepts, with jittered backoff, for up to ``timeout`` seconds."""

    when: Callable[[Exception], bool]
    timeout: float


def retry_codes(codes: Collection[str], timeout: float) -> Retry:
    """Retry the AWS error codes ``codes`` (at least one second, so a retry is possible at all)."""
    return Retry(on_codes(codes), max(timeout, 1))


@dataclass(frozen=True)
class Handler:
    """How one operation is applied: the call, its retries, and what to wait for afterwards.

    ``then`` runs once the call succeeded and is never retried with it: a wait that fails
    must not repeat a launch.
    """

    call: Callable[..., Any]
    retry: Retry | None = None
    then: Callable[[], Any] | None = None

    @classmethod
    def retrying(cls, call: Callable[..., Any], codes: Collection[str], timeout: float) -> Handler:
        """A handler whose call is retried on the AWS error codes ``codes`` for up to ``timeout``."""
        return cls(call, retry_codes(codes, timeout))


class Executor:
    """Applies planned actions in order through an explicit operation -> handler table."""

    def __init__(
        self, handlers: Mapping[str, Handler], policy: Callable[..., RetryPolicy] | None = None
    ) -> None:
        self._handlers = dict(handlers)
        # Looked up when the executor is made, so tests can put a fake clock in its place.
        self._policy = policy or RetryPolicy
        self._log = RetryLog()
        self.retries: list[dict[str, str]] = []

    def run(self, actions: list[Action]) -> None:
        for action in actions:
            self._apply(action)

    def _apply(self, action: Action) -> None:
        handler = self._handlers[action.operation]
        call = partial(handler.call, **action.args)
        if handler.retry is None:
            call()
        else:
            before = self._log.count
            try:
                retry_when(call, handler.retry.when, self._policy(timeout=handler.retry.timeout), self._log)
            finally:
                self.retries += [
                    {"operation": action.operation, "error": code} for code in self._log.attempts[before:]
                ]
        if handler.then is not None:
            handler.then()

    def retried(self, operation: str) -> int:
        """How often ``operation`` was retried so far."""
        return sum(1 for retry in self.retries if retry["operation"] == operation)


# --- tags: one planner for IAM and EC2 ----------------------------------------------------------


def string_tags(tags: Mapping[str, Any] | None) -> dict[str, str] | None:
    """Tags as AWS stores them: strings (YAML may hand over numbers or booleans)."""
    return None if tags is None else {str(key): str(value) for key, value in tags.items()}


def is_reserved_tag(key: str) -> bool:
    """An ``aws:`` key (any case): AWS sets these tags itself and refuses to add, change or delete them.

    CloudFormation (``aws:cloudformation:stack-name``), Auto Scaling and launch templates leave
    such tags on what they make ("Tag restrictions", EC2 User Guide; the same prefix is reserved in
    IAM); a plan that touched one would fail on every resource they made.
    """
    return key.lower().startswith("aws:")


def tag_changes(
    current: Mapping[str, str], desired: Mapping[str, str] | None, purge: bool
) -> tuple[dict[str, str], list[str]]:
    """Tags to set and tag keys to remove; ``desired=None`` means "leave tags alone".

    Reserved ``aws:`` tags are never set nor removed, whatever ``desired`` and ``purge`` say.
    """
    if desired is None:
        return {}, []
    to_set = {
        key: value for key, value in desired.items() if not is_reserved_tag(key) and current.get(key) != value
    }
    to_remove = (
        sorted(key for key in current if key not in desired and not is_reserved_tag(key)) if purge else []
    )
    return to_set, to_remove


def apply_tags(current: Mapping[str, str], to_set: Mapping[str, str], to_remove: list[str]) -> dict[str, str]:
    """The tags that result from a tag change, predicted in memory."""
    tags = {key: value for key, value in current.items() if key not in to_remove}
    tags.update(to_set)
    return tags


def plan_tags(
    current: Mapping[str, str],
    desired: Mapping[str, str] | None,
    purge: bool,
    operations: tuple[str, str],
    target: Mapping[str, str] | None = None,
) -> tuple[list[Action], dict[str, str]]:
    """Actions for a tag change and the tags that result.

    ``operations`` is (tag, untag), e.g. ("TagRole", "UntagRole"); ``target`` names the
    resource in the handlers' arguments (e.g. ``{"role": name}``). Removals go first.
    """
    to_set, to_remove = tag_changes(current, desired, purge)
    tag_op, untag_op = operations
    actions = []
    if to_remove:
        actions.append(Action(untag_op, {**(target or {}), "keys": list(to_remove)}))
    if to_set:
        actions.append(Action(tag_op, {**(target or {}), "tags": dict(to_set)}))
    return actions, apply_tags(current, to_set, to_remove)
