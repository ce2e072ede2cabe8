# Internal use only: not a public API of keyless.aws; it may change without notice.
"""The whole behaviour of keyless.aws.iam_role_policy (one inline policy of one role), and its ``SPEC``."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import partial
from typing import Any

from ansible_collections.keyless.aws.plugins.module_utils import _iam
from ansible_collections.keyless.aws.plugins.module_utils._converge import Plan, Resource, State, runner
from ansible_collections.keyless.aws.plugins.module_utils._errors import ValidationError
from ansible_collections.keyless.aws.plugins.module_utils._module import STATE_OPTION, ModuleSpec
from ansible_collections.keyless.aws.plugins.module_utils._plan import Action, Handler, gone
from ansible_collections.keyless.aws.plugins.module_utils._policy import (
    load_policy,
    policies_equivalent,
    policy_size,
    validate_inline_total,
    validate_policy,
)
from ansible_collections.keyless.aws.plugins.module_utils._validate import (
    validate_policy_name,
    validate_role_name,
)

# iam_name, policy_name and policy_json are amazon.aws iam_policy's names (with iam_type: role).
OPTIONS: dict[str, dict[str, Any]] = {
    "role": {"type": "str", "required": True, "aliases": ["role_name", "iam_name"]},
    "name": {"type": "str", "required": True, "aliases": ["policy_name"]},
    "policy": {"type": "raw", "aliases": ["policy_document", "policy_json"]},
    "state": STATE_OPTION,
    # Not restricted by choices in the spec: Ansible's "must be one of: role" would not say why.
    "iam_type": {"type": "str", "default": "role"},
}

IAM_TYPE_RULE = (
    "must be role: keyless.aws manages the inline policies of roles only; "
    "users and groups are not managed by this collection"
)


@dataclass(frozen=True)
class DesiredPolicy:
    role: str
    name: str
    policy: dict[str, Any] | None
    state: str


def desired_policy(params: Mapping[str, Any]) -> DesiredPolicy:
    if params.get("iam_type", "role") != "role":
        raise ValidationError("iam_type", IAM_TYPE_RULE)
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
            else [Action("DeleteRolePolicy", {"role": desired.role, "policy_name": desired.name})]
        )
    if desired.policy is None:  # desired_policy() guarantees a policy for state=present
        raise AssertionError("no policy to put")
    if current is not None and policies_equivalent(current, desired.policy):
        return []
    return [
        Action("PutRolePolicy", {"role": desired.role, "policy_name": desired.name, "policy": desired.policy})
    ]


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


class RolePolicyResource(Resource):
    def __init__(self, params: Mapping[str, Any], clients: Any, check_mode: bool) -> None:
        self.desired = desired_policy(params)
        self.iam = clients.iam
        self.check_mode = check_mode
        self.role_exists = True

    def read(self) -> State | None:
        current = _iam.get_role_policy(self.iam, self.desired.role, self.desired.name)
        # GetRolePolicy says NoSuchEntity both for a missing role and a missing policy.
        if current is None:
            self.role_exists = _iam.get_role(self.iam, self.desired.role) is not None
        return current

    def plan(self, current: State | None) -> Plan:
        desired = self.desired
        if not self.role_exists and desired.state == "present":
            if not self.check_mode:
                raise ValidationError(
                    "role", f"role {desired.role} does not exist; create it first (keyless.aws.iam_role)"
                )
            # In a checked play an earlier task may be about to create the role.
            warning = f"role {desired.role} does not exist yet; assuming an earlier task creates it"
            return Plan(plan(None, desired), desired.policy, warnings=[warning])
        actions = plan(current, desired)
        if self.role_exists and actions and actions[0].operation == "PutRolePolicy":
            check_aggregate_size(self.iam, desired)
        if not actions:
            return Plan([], current)
        return Plan(actions, desired.policy if desired.state == "present" else None)

    def handlers(self) -> dict[str, Handler]:
        return {
            "PutRolePolicy": Handler(partial(_iam.put_role_policy, self.iam)),
            # NoSuchEntity: another run deleted the policy (or the role) after this task read it.
            "DeleteRolePolicy": Handler(partial(_iam.delete_role_policy, self.iam), settled=gone),
        }

    def result(self, after: State | None) -> dict[str, Any]:
        return {"role_name": self.desired.role, "policy_name": self.desired.name, "policy": after}

    def diff_view(self, state: State | None) -> dict[str, Any]:
        """The policy as IAM stores it or, when the task changes it, as the user wrote it."""
        if state is None:
            return {}
        return {
            "role_name": self.desired.role,
            "policy_name": self.desired.name,
            "policy": state,
        }


run = runner(RolePolicyResource)

SPEC = ModuleSpec(OPTIONS, run)
