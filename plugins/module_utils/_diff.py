# Internal use only: not a public API of keyless.aws; it may change without notice.
"""Planning primitives shared by every module: actions, tag differences, diff shaping.

A module plans a list of ``Action`` values from (current, desired) without calling AWS;
check mode stops there, so it cannot mutate anything by construction.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Action:
    """One mutating API call to make: ``operation`` is the AWS operation name."""

    operation: str
    args: Mapping[str, Any] = field(default_factory=dict)


def execute(actions: list[Action], handlers: Mapping[str, Callable[..., Any]], client: Any) -> None:
    """Run planned actions in order with the module_utils function registered per operation."""
    for action in actions:
        handlers[action.operation](client, **action.args)


def tag_changes(
    current: Mapping[str, str], desired: Mapping[str, str] | None, purge: bool
) -> tuple[dict[str, str], list[str]]:
    """Tags to set and tag keys to remove; ``desired=None`` means "leave tags alone"."""
    if desired is None:
        return {}, []
    to_set = {key: value for key, value in desired.items() if current.get(key) != value}
    to_remove = sorted(key for key in current if key not in desired) if purge else []
    return to_set, to_remove


def apply_tags(current: Mapping[str, str], to_set: Mapping[str, str], to_remove: list[str]) -> dict[str, str]:
    """The tags that result from a tag change, predicted in memory."""
    tags = {key: value for key, value in current.items() if key not in to_remove}
    tags.update(to_set)
    return tags


def tag_actions(
    name_arg: Mapping[str, str], to_set: Mapping[str, str], to_remove: list[str], tag_op: str, untag_op: str
) -> list[Action]:
    """Actions for a tag change on a resource identified by ``name_arg``."""
    actions = []
    if to_remove:
        actions.append(Action(untag_op, {**name_arg, "keys": list(to_remove)}))
    if to_set:
        actions.append(Action(tag_op, {**name_arg, "tags": dict(to_set)}))
    return actions


def make_diff(before: Mapping[str, Any] | None, after: Mapping[str, Any] | None) -> dict[str, Any]:
    """Ansible's diff structure; absent resources are shown as an empty mapping."""
    return {"before": dict(before or {}), "after": dict(after or {})}


def string_tags(tags: Mapping[str, Any] | None) -> dict[str, str] | None:
    """Tags as AWS stores them: strings (YAML may hand over numbers or booleans)."""
    return None if tags is None else {str(key): str(value) for key, value in tags.items()}
