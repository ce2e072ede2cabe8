# Internal use only: not a public API of keyless.aws; it may change without notice.
"""The whole behaviour of keyless.aws.iam_role_policy: one inline policy of one role."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ansible_collections.keyless.aws.plugins.module_utils import _iam
from ansible_collections.keyless.aws.plugins.module_utils._diff import Action, execute, make_diff
from ansible_collections.keyless.aws.plugins.module_utils._errors import ValidationError
from ansible_collections.keyless.aws.plugins.module_utils._policy import (
    load_policy,
    normalize_policy,
    policies_equivalent,
    policy_size,
    validate_inline_total,
    validate_policy,
)
from ansible_collections.keyless.aws.plugins.module_utils._validate import (
    validate_policy_name,
    validate_role_name,
)

ROLE_POLICY_OPTIONS: dict[str, dict[str, Any]] = {
    "role": {"type": "str", "required": True, "aliases": ["role_name"]},
    "name": {"type": "str", "required": True, "aliases": ["policy_name"]},
    "policy": {"type": "raw", "aliases": ["policy_document", "policy_json"]},
    "state": {"type": "str", "default": "present", "choices": ["present", "absent"]},
}

HANDLERS = {"PutRolePolicy": _iam.put_role_policy, "DeleteRolePolicy": _iam.delete_role_policy}


@dataclass(frozen=True)
class DesiredPolicy:
    role: str
    name: str
    policy: dict[str, Any] | None
    state: str


def desired_policy(params: Mapping[str, Any]) -> DesiredPolicy:
    validate_role_name(params["role"], "role")
    validate_policy_name(params["name"], "name")
    state = params.get("state") or "present"
    policy = load_policy(params.get("policy"), "policy")
    if state == "present":
        if policy is None:
            raise ValidationError("policy", "is required when state is present")
        validate_policy(policy, "policy", "identity")
    return DesiredPolicy(role=params["role"], name=params["name"], policy=policy, state=state)


def plan(current: dict[str, Any] | None, desired: DesiredPolicy) -> list[Action]:
    """Put when absent or not equivalent; delete when present and unwanted (pure)."""
    if desired.state == "absent":
        return (
            []
            if current is None
            else [Action("DeleteRolePolicy", {"role": desired.role, "name": desired.name})]
        )
    if desired.policy is None:  # desired_policy() guarantees a policy for state=present
        raise AssertionError("no policy to put")
    if current is not None and policies_equivalent(current, desired.policy):
        return []
    return [Action("PutRolePolicy", {"role": desired.role, "name": desired.name, "policy": desired.policy})]


def check_aggregate_size(iam: Any, desired: DesiredPolicy) -> None:
    """IAM caps the inline policies of one role at 10,240 characters together.

    Only read when a put is planned, so a no-op run stays at one API call.
    """
    if desired.policy is None:
        raise AssertionError("no policy to size")
    sizes = {
        name: policy_size(_iam.get_role_policy(iam, desired.role, name) or {})
        for name in _iam.list_role_policy_names(iam, desired.role)
        if name != desired.name
    }
    sizes[desired.name] = policy_size(desired.policy)
    validate_inline_total(sizes, "policy")


def run(params: Mapping[str, Any], clients: Any, check_mode: bool, diff: bool) -> dict[str, Any]:
    desired = desired_policy(params)
    iam = clients.iam
    current = _iam.get_role_policy(iam, desired.role, desired.name)
    if current is None and _iam.get_role(iam, desired.role) is None:
        # GetRolePolicy says NoSuchEntity both for a missing role and a missing policy.
        if desired.state == "absent":
            return _result(desired, None, None, [], diff)
        if check_mode:
            # In a checked play an earlier task may be about to create the role.
            result = _result(desired, None, desired.policy, plan(None, desired), diff)
            warning = f"role {desired.role} does not exist yet; assuming an earlier task creates it"
            result["warnings"] = [warning]
            return result
        raise ValidationError(
            "role", f"role {desired.role} does not exist; create it first (keyless.aws.iam_role)"
        )
    actions = plan(current, desired)
    if actions and actions[0].operation == "PutRolePolicy":
        check_aggregate_size(iam, desired)
    if actions and not check_mode:
        execute(actions, HANDLERS, iam)
    after = desired.policy if desired.state == "present" else None
    return _result(desired, current, after, actions, diff)


def _result(
    desired: DesiredPolicy,
    before: dict[str, Any] | None,
    after: dict[str, Any] | None,
    actions: list[Action],
    diff: bool,
) -> dict[str, Any]:
    effective = after if actions else before
    result: dict[str, Any] = {
        "changed": bool(actions),
        "role_name": desired.role,
        "policy_name": desired.name,
        "policy": effective,
        "operations": [action.operation for action in actions],
    }
    if diff:
        result["diff"] = make_diff(_diff_view(desired, before), _diff_view(desired, after))
    return result


def _diff_view(desired: DesiredPolicy, policy: dict[str, Any] | None) -> dict[str, Any]:
    if policy is None:
        return {}
    return {"role_name": desired.role, "policy_name": desired.name, "policy": normalize_policy(policy)}
