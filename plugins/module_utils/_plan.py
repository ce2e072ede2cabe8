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

from ansible_collections.keyless.aws.plugins.module_utils._errors import error_code
from ansible_collections.keyless.aws.plugins.module_utils._retry import (
    RetryLog,
    RetryPolicy,
    aws_answer,
    on_codes,
    resent,
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


def retry_if(when: Callable[[Exception], bool], timeout: float) -> Retry:
    """Retry the errors ``when`` accepts (at least one second, so a retry is possible at all)."""
    return Retry(when, max(timeout, 1))


def retry_codes(codes: Collection[str], timeout: float) -> Retry:
    """Retry the AWS error codes ``codes``."""
    return retry_if(on_codes(codes), timeout)


@dataclass(frozen=True)
class Handler:
    """How one operation is applied: the call, its retries, and what to wait for afterwards.

    ``then`` runs once the call succeeded and is never retried with it: a wait that fails
    must not repeat a launch.

    ``settled(err, **args)`` says an error means the call's effect is already in place (a delete
    answering NoSuchEntity: another run removed the thing first); the action then counts as
    done. It may raise a clearer error of its own. ``exists(err)`` says a create found its
    entity already there (EntityAlreadyExists): the executor stops with ``Conflict`` so the
    resource can be read again and planned from what is there.
    """

    call: Callable[..., Any]
    retry: Retry | None = None
    then: Callable[[], Any] | None = None
    settled: Callable[..., bool] | None = None
    exists: Callable[[Exception], bool] | None = None


def gone(err: Exception, **_args: Any) -> bool:
    """A ``settled`` rule for deletes and removals: NoSuchEntity means the thing is already gone."""
    return error_code(err) == "NoSuchEntity"


def already_exists(err: Exception) -> bool:
    """An ``exists`` rule for creates."""
    return error_code(err) == "EntityAlreadyExists"


class Conflict(Exception):
    """A create answered that its entity already exists.

    ``applied`` lists the actions this run did before (and including the create when botocore
    had resent it: the lost first attempt may have created it); ``error`` is AWS's answer.
    """

    def __init__(self, action: Action, error: Exception, applied: list[Action]) -> None:
        super().__init__(str(error))
        self.action = action
        self.error = error
        self.ours = resent(error)
        self.message = aws_answer(error).get("Error", {}).get("Message") or str(error)
        self.applied = [*applied, action] if self.ours else list(applied)


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

    def run(self, actions: list[Action]) -> list[Action]:
        """Apply ``actions`` in order; return the ones whose effect this run made.

        An action settled by another request (its error says the effect was already in place,
        and botocore had not resent the request) is left out, so ``changed`` stays honest.
        """
        applied: list[Action] = []
        for action in actions:
            if self._apply(action, applied):
                applied.append(action)
        return applied

    def _apply(self, action: Action, applied: list[Action]) -> bool:
        """Apply one action; whether its effect is this run's (``applied``: the actions before it)."""
        handler = self._handlers[action.operation]
        call = partial(handler.call, **action.args)
        ours = True
        try:
            self._call(action.operation, handler, call)
        except Exception as err:
            if handler.exists is not None and handler.exists(err):
                raise Conflict(action, err, applied) from err
            if handler.settled is None or not handler.settled(err, **action.args):
                raise
            ours = resent(err)
        if handler.then is not None:
            handler.then()
        return ours

    def _call(self, operation: str, handler: Handler, call: Callable[[], Any]) -> None:
        if handler.retry is None:
            call()
            return
        before = self._log.count
        try:
            retry_when(call, handler.retry.when, self._policy(timeout=handler.retry.timeout), self._log)
        finally:
            self.retries += [{"operation": operation, "error": code} for code in self._log.attempts[before:]]

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
