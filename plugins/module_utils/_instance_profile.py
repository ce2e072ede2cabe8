# Internal use only: not a public API of keyless.aws; it may change without notice.
"""The whole behaviour of keyless.aws.iam_instance_profile."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ansible_collections.keyless.aws.plugins.module_utils import _ec2, _iam
from ansible_collections.keyless.aws.plugins.module_utils._diff import (
    Action,
    apply_tags,
    execute,
    make_diff,
    string_tags,
    tag_actions,
    tag_changes,
)
from ansible_collections.keyless.aws.plugins.module_utils._errors import KeylessAwsError, ValidationError
from ansible_collections.keyless.aws.plugins.module_utils._retry import RetryPolicy, poll, retry_on
from ansible_collections.keyless.aws.plugins.module_utils._validate import (
    validate_instance_profile_name,
    validate_path,
    validate_role_name,
    validate_tags,
)

INSTANCE_PROFILE_OPTIONS: dict[str, dict[str, Any]] = {
    "name": {"type": "str", "required": True, "aliases": ["instance_profile_name"]},
    "state": {"type": "str", "default": "present", "choices": ["present", "absent"]},
    "path": {"type": "str", "default": "/"},
    "role": {"type": "str", "aliases": ["role_name"]},
    "tags": {"type": "dict", "aliases": ["resource_tags"]},
    "purge_tags": {"type": "bool", "default": True},
    "force": {"type": "bool", "default": False},
    "wait": {"type": "bool", "default": True},
    "wait_timeout": {"type": "int", "default": 120},
}

HANDLERS = {
    "CreateInstanceProfile": _iam.create_instance_profile,
    "AddRoleToInstanceProfile": _iam.add_role_to_instance_profile,
    "RemoveRoleFromInstanceProfile": _iam.remove_role_from_instance_profile,
    "TagInstanceProfile": _iam.tag_instance_profile,
    "UntagInstanceProfile": _iam.untag_instance_profile,
}

# A role that was just created can be refused by AddRoleToInstanceProfile with
# NoSuchEntity for a few seconds (IAM eventual consistency).
ADD_ROLE_RETRY_CODES = ("NoSuchEntity", "ConcurrentModification")
DELETE_RETRY_CODES = ("DeleteConflict", "ConcurrentModification")


@dataclass(frozen=True)
class DesiredProfile:
    name: str
    state: str
    path: str
    role: str | None
    tags: dict[str, str] | None
    purge_tags: bool
    force: bool
    wait: bool
    wait_timeout: int


def desired_profile(params: Mapping[str, Any]) -> DesiredProfile:
    validate_instance_profile_name(params["name"], "name")
    validate_path(params.get("path") or "/", "path")
    role = params.get("role")
    if role:
        validate_role_name(role, "role")
    tags = string_tags(params.get("tags"))
    validate_tags(tags, "tags")
    if params.get("wait_timeout", 120) < 0:
        raise ValidationError("wait_timeout", "must be 0 or more seconds")
    return DesiredProfile(
        name=params["name"],
        state=params.get("state") or "present",
        path=params.get("path") or "/",
        role=role,
        tags=tags,
        purge_tags=params.get("purge_tags", True),
        force=params.get("force", False),
        wait=params.get("wait", True),
        wait_timeout=params.get("wait_timeout", 120),
    )


def profile_view(raw: Mapping[str, Any]) -> dict[str, Any]:
    """The ``instance_profile`` return value (snake_case)."""
    roles = [role["RoleName"] for role in raw.get("Roles", [])]
    created = raw.get("CreateDate")
    return {
        "instance_profile_name": raw["InstanceProfileName"],
        "instance_profile_id": raw.get("InstanceProfileId"),
        "arn": raw.get("Arn"),
        "path": raw.get("Path", "/"),
        "role": roles[0] if roles else None,
        "roles": roles,
        "tags": _iam.tag_dict(raw.get("Tags")),
        "create_date": created.isoformat() if hasattr(created, "isoformat") else created,
    }


def diff_view(profile: Mapping[str, Any] | None) -> dict[str, Any]:
    if not profile:
        return {}
    return {key: profile[key] for key in ("instance_profile_name", "path", "roles", "tags")}


# --- decisions (pure) ----------------------------------------------------------------------


def plan_roles(name: str, current_roles: list[str], wanted: str | None) -> tuple[list[Action], list[str]]:
    """Role membership: None leaves it, "" empties it, a name makes it exactly that role.

    A profile holds at most one role (IAM quota), so a different role is swapped:
    remove first, then add.
    """
    if wanted is None:
        return [], list(current_roles)
    target = [wanted] if wanted else []
    if current_roles == target:
        return [], target
    actions = [
        Action("RemoveRoleFromInstanceProfile", {"profile": name, "role": role})
        for role in current_roles
        if role not in target
    ]
    actions += [
        Action("AddRoleToInstanceProfile", {"profile": name, "role": role})
        for role in target
        if role not in current_roles
    ]
    return actions, target


def plan_create(desired: DesiredProfile) -> tuple[list[Action], dict[str, Any]]:
    actions = [
        Action("CreateInstanceProfile", {"name": desired.name, "path": desired.path, "tags": desired.tags})
    ]
    role_actions, roles = plan_roles(desired.name, [], desired.role)
    predicted = {
        "instance_profile_name": desired.name,
        "instance_profile_id": None,
        "arn": None,
        "path": desired.path,
        "role": roles[0] if roles else None,
        "roles": roles,
        "tags": dict(desired.tags or {}),
        "create_date": None,
    }
    return actions + role_actions, predicted


def plan_update(current: Mapping[str, Any], desired: DesiredProfile) -> tuple[list[Action], dict[str, Any]]:
    if desired.path != current["path"]:
        raise ValidationError(
            "path",
            f"cannot change on an existing instance profile (it is {current['path']}); delete it first",
        )
    actions, roles = plan_roles(desired.name, current["roles"], desired.role)
    to_set, to_remove = tag_changes(current["tags"], desired.tags, desired.purge_tags)
    actions += tag_actions(
        {"name": desired.name}, to_set, to_remove, "TagInstanceProfile", "UntagInstanceProfile"
    )
    predicted = {
        **current,
        "roles": roles,
        "role": roles[0] if roles else None,
        "tags": apply_tags(current["tags"], to_set, to_remove),
    }
    return actions, predicted


def plan_delete(current: Mapping[str, Any]) -> list[Action]:
    name = current["instance_profile_name"]
    return [
        Action("RemoveRoleFromInstanceProfile", {"profile": name, "role": role}) for role in current["roles"]
    ]


# --- orchestration -------------------------------------------------------------------------


def read_profile(iam: Any, name: str) -> dict[str, Any] | None:
    raw = _iam.get_instance_profile(iam, name)
    return None if raw is None else profile_view(raw)


def run(params: Mapping[str, Any], clients: Any, check_mode: bool, diff: bool) -> dict[str, Any]:
    desired = desired_profile(params)
    iam = clients.iam
    current = read_profile(iam, desired.name)
    if desired.state == "absent":
        return _run_absent(clients, desired, current, check_mode, diff)
    actions, predicted = plan_create(desired) if current is None else plan_update(current, desired)
    after = predicted
    if actions and not check_mode:
        _apply(iam, actions, desired)
        after = _reread(iam, desired)
    result: dict[str, Any] = {
        "changed": bool(actions),
        "instance_profile": after,
        "operations": [action.operation for action in actions],
    }
    if diff:
        result["diff"] = make_diff(diff_view(current), diff_view(after))
    return result


def _apply(iam: Any, actions: list[Action], desired: DesiredProfile) -> None:
    retry = RetryPolicy(timeout=max(desired.wait_timeout, 1))
    for action in actions:
        if action.operation == "AddRoleToInstanceProfile":
            retry_on(lambda a=action: execute([a], HANDLERS, iam), ADD_ROLE_RETRY_CODES, retry)
        else:
            execute([action], HANDLERS, iam)


def _reread(iam: Any, desired: DesiredProfile) -> dict[str, Any]:
    # GetInstanceProfile right after CreateInstanceProfile may answer NoSuchEntity.
    # Waiting until it reads back with the wanted role is what EC2 needs before launch.
    def fetch() -> dict[str, Any] | None:
        profile = read_profile(iam, desired.name)
        if profile is None or (
            desired.role is not None and profile["roles"] != ([desired.role] if desired.role else [])
        ):
            return None
        return profile

    timeout = desired.wait_timeout if desired.wait else 0
    return poll(
        fetch, RetryPolicy(timeout=timeout), f"instance profile {desired.name} to be readable with its role"
    )


def _run_absent(
    clients: Any, desired: DesiredProfile, current: Mapping[str, Any] | None, check_mode: bool, diff: bool
) -> dict[str, Any]:
    result: dict[str, Any] = {"changed": current is not None, "instance_profile": {}, "operations": []}
    if current is None:
        if diff:
            result["diff"] = make_diff(None, None)
        return result
    # With force the check is skipped: it needs EC2 access and a region the user may not have.
    in_use = [] if desired.force else _associated_instances(clients, current["arn"])
    if in_use and not desired.force:
        raise KeylessAwsError(
            f"instance profile {desired.name} is in use by EC2 instance(s) {', '.join(in_use)}; "
            "terminate them or disassociate the profile first, or set force: true",
            code="ProfileInUse",
        )
    actions = plan_delete(current)
    iam = clients.iam
    if not check_mode:
        execute(actions, HANDLERS, iam)
        retry_on(
            lambda: _iam.delete_instance_profile(iam, desired.name),
            DELETE_RETRY_CODES,
            RetryPolicy(timeout=max(desired.wait_timeout, 1)),
        )
    result["operations"] = [action.operation for action in actions] + ["DeleteInstanceProfile"]
    result["associated_instances"] = in_use
    if diff:
        result["diff"] = make_diff(diff_view(current), None)
    return result


def _associated_instances(clients: Any, profile_arn: str) -> list[str]:
    if clients.region is None:
        raise ValidationError(
            "region", "is needed to check which EC2 instances use the instance profile (or set force: true)"
        )
    return _ec2.instances_using_profile(clients.ec2, profile_arn)
