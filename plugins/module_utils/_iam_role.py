# Internal use only: not a public API of keyless.aws; it may change without notice.
"""The whole behaviour of keyless.aws.iam_role, and its module spec (``SPEC``).

Decisions are pure functions of (current, desired); ``RoleResource`` runs them through the
converge skeleton. Nothing here imports AnsibleModule or exits.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import partial
from typing import Any

from ansible_collections.keyless.aws.plugins.module_utils import _iam
from ansible_collections.keyless.aws.plugins.module_utils._aws import iso, tag_dict
from ansible_collections.keyless.aws.plugins.module_utils._converge import (
    Plan,
    Resource,
    State,
    runner,
    with_created,
)
from ansible_collections.keyless.aws.plugins.module_utils._errors import ValidationError, error_code
from ansible_collections.keyless.aws.plugins.module_utils._module import (
    IAM_TAG_OPTIONS,
    STATE_OPTION,
    ModuleSpec,
    wait_options,
)
from ansible_collections.keyless.aws.plugins.module_utils._plan import (
    Action,
    Handler,
    already_exists,
    gone,
    plan_tags,
    retry_codes,
    retry_if,
    string_tags,
)
from ansible_collections.keyless.aws.plugins.module_utils._policy import (
    load_policy,
    policies_equivalent,
    trust_policy_size_warning,
    validate_policy,
)
from ansible_collections.keyless.aws.plugins.module_utils._retry import DELETE_RETRY_CODES, invalid_principal
from ansible_collections.keyless.aws.plugins.module_utils._validate import (
    DEFAULT_PATH,
    managed_policy_candidates,
    validate_arn,
    validate_description,
    validate_max_session_duration,
    validate_path,
    validate_role_name,
    validate_tags,
    validate_wait_timeouts,
)

# Aliases are amazon.aws iam_role's names where the meaning is the same (prefix, path_prefix,
# assume_role_policy_document, boundary_policy_arn, purge_policies, purge_policy), so a task
# written for it runs once its FQCN is changed.
OPTIONS: dict[str, dict[str, Any]] = {
    "name": {"type": "str", "required": True, "aliases": ["role_name"]},
    "state": STATE_OPTION,
    # No default: an existing role keeps its path; a new one gets "/" (see DEFAULT_PATH).
    "path": {"type": "str", "aliases": ["prefix", "path_prefix"]},
    "description": {"type": "str"},
    "assume_role_policy": {"type": "raw", "aliases": ["trust_policy", "assume_role_policy_document"]},
    "max_session_duration": {"type": "int"},
    "permissions_boundary": {"type": "str", "aliases": ["boundary", "boundary_policy_arn"]},
    "managed_policies": {"type": "list", "elements": "str", "aliases": ["managed_policy"]},
    "purge_managed_policies": {"type": "bool", "aliases": ["purge_policies", "purge_policy"]},
    # amazon.aws's instance profile side effects, refused when asked for (see refuse_profile_options).
    "create_instance_profile": {"type": "bool", "default": False},
    "delete_instance_profile": {"type": "bool", "default": False},
    **IAM_TAG_OPTIONS,
    **wait_options(120),
}

# amazon.aws iam_role creates an instance profile named like the role unless told not to, and
# deletes it with the role on request. Here a role is only a role: keyless.aws.iam_instance_profile
# manages profiles (deleting one refuses while an instance uses it), so asking for either side
# effect fails before any call instead of silently not happening.
PROFILE_OPTION_RULES = {
    "create_instance_profile": (
        "must be false: keyless.aws.iam_role never creates an instance profile; "
        "create it with keyless.aws.iam_instance_profile (name, role)"
    ),
    "delete_instance_profile": (
        "must be false: keyless.aws.iam_role never deletes an instance profile; delete it with "
        "keyless.aws.iam_instance_profile (state: absent), which refuses while an instance uses it"
    ),
}


def refuse_profile_options(params: Mapping[str, Any]) -> None:
    """Fail on amazon.aws's create_instance_profile/delete_instance_profile set to true."""
    for option, rule in PROFILE_OPTION_RULES.items():
        if params.get(option):
            raise ValidationError(option, rule)


@dataclass(frozen=True)
class DesiredRole:
    name: str
    state: str
    path: str | None  # None: as it is (DEFAULT_PATH on create)
    description: str | None
    trust_policy: dict[str, Any] | None
    max_session_duration: int | None
    permissions_boundary: str | None
    managed_policies: tuple[str, ...] | None
    purge_managed_policies: bool
    tags: dict[str, str] | None
    purge_tags: bool
    wait: bool
    wait_timeout: int


def desired_role(params: Mapping[str, Any]) -> DesiredRole:
    """Validate every option locally and return the desired state; raises ValidationError."""
    validate_role_name(params["name"], "name")
    refuse_profile_options(params)
    if params.get("path") is not None:
        validate_path(params["path"], "path")
    if params.get("description") is not None:
        validate_description(params["description"], "description")
    if params.get("max_session_duration") is not None:
        validate_max_session_duration(params["max_session_duration"], "max_session_duration")
    trust_policy = load_policy(params.get("assume_role_policy"), "assume_role_policy")
    if trust_policy is not None:
        validate_policy(trust_policy, "assume_role_policy", "trust")
    boundary = params.get("permissions_boundary")
    if boundary:
        validate_arn(boundary, "permissions_boundary", service="iam", resource_type="policy")
    managed = params.get("managed_policies")
    if managed is not None:
        for index, value in enumerate(managed):
            _validate_managed_reference(value, f"managed_policies[{index}]")
    validate_tags(string_tags(params.get("tags")), "tags")
    validate_wait_timeouts(params, "wait_timeout")
    purge_managed = params.get("purge_managed_policies")
    return DesiredRole(
        name=params["name"],
        state=params.get("state") or "present",
        path=params.get("path"),
        description=params.get("description"),
        trust_policy=trust_policy,
        max_session_duration=params.get("max_session_duration"),
        permissions_boundary=boundary,
        managed_policies=None if managed is None else tuple(managed),
        purge_managed_policies=True if purge_managed is None else purge_managed,
        tags=string_tags(params.get("tags")),
        purge_tags=params.get("purge_tags", True),
        wait=params.get("wait", True),
        wait_timeout=params.get("wait_timeout", 120),
    )


def _validate_managed_reference(value: str, field: str) -> None:
    if value.startswith("arn:"):
        validate_arn(value, field, service="iam", resource_type="policy")
    elif not value or any(ch.isspace() for ch in value):
        raise ValidationError(field, "must be a managed policy ARN or name without white space")


# --- state views ---------------------------------------------------------------------------


def role_view(raw: Mapping[str, Any], managed: list[str] | None = None) -> dict[str, Any]:
    """The ``role`` return value: snake_case keys, trust policy as a dict.

    ``Path`` is a required member of IAM's Role (GetRole's and ListRoles' answers alike).
    """
    boundary = raw.get("PermissionsBoundary") or {}
    view = {
        "role_name": raw["RoleName"],
        "role_id": raw.get("RoleId"),
        "arn": raw.get("Arn"),
        "path": raw["Path"],
        "description": raw.get("Description", ""),
        "max_session_duration": raw.get("MaxSessionDuration", 3600),
        "assume_role_policy_document": raw.get("AssumeRolePolicyDocument") or {},
        "permissions_boundary": boundary.get("PermissionsBoundaryArn"),
        "tags": tag_dict(raw.get("Tags")),
        "create_date": iso(raw.get("CreateDate")),
    }
    if managed is not None:
        view["managed_policies"] = sorted(managed)
    return view


# --- decisions (pure) --------------------------------------------------------------------


def plan_create(desired: DesiredRole, managed_arns: list[str] | None) -> tuple[list[Action], dict[str, Any]]:
    """Actions that create the role, and the role as it will then be."""
    if desired.trust_policy is None:
        raise ValidationError("assume_role_policy", f"is required to create role {desired.name}")
    actions = [
        Action(
            "CreateRole",
            {
                "role": desired.name,
                "path": desired.path or DEFAULT_PATH,
                "trust_policy": desired.trust_policy,
                "description": desired.description,
                "max_session_duration": desired.max_session_duration,
                "permissions_boundary": desired.permissions_boundary or None,
                "tags": desired.tags or None,
            },
        )
    ]
    actions += [Action("AttachRolePolicy", {"role": desired.name, "arn": arn}) for arn in managed_arns or []]
    predicted = {
        "role_name": desired.name,
        "role_id": None,
        "arn": None,
        "path": desired.path or DEFAULT_PATH,
        "description": desired.description or "",
        "max_session_duration": desired.max_session_duration or 3600,
        "assume_role_policy_document": desired.trust_policy,
        "permissions_boundary": desired.permissions_boundary or None,
        "tags": dict(desired.tags or {}),
        "create_date": None,
    }
    if managed_arns is not None:
        predicted["managed_policies"] = sorted(managed_arns)
    return actions, predicted


def plan_update(
    current: Mapping[str, Any], desired: DesiredRole, managed_arns: list[str] | None
) -> tuple[list[Action], dict[str, Any]]:
    """Actions that bring an existing role to the desired state, and the predicted result."""
    if desired.path is not None and desired.path != current["path"]:
        raise ValidationError(
            "path", f"cannot change on an existing role (it is {current['path']}); delete and re-create it"
        )
    name = desired.name
    predicted = dict(current)
    actions: list[Action] = []
    if desired.trust_policy is not None and not policies_equivalent(
        current["assume_role_policy_document"], desired.trust_policy
    ):
        actions.append(Action("UpdateAssumeRolePolicy", {"role": name, "trust_policy": desired.trust_policy}))
        predicted["assume_role_policy_document"] = desired.trust_policy
    actions += _plan_role_settings(current, desired, predicted)
    actions += _plan_boundary(current, desired, predicted)
    actions += _plan_managed(current, desired, managed_arns, predicted)
    tag_actions, predicted["tags"] = plan_tags(
        current["tags"], desired.tags, desired.purge_tags, ("TagRole", "UntagRole"), {"role": name}
    )
    return actions + tag_actions, predicted


def _plan_role_settings(
    current: Mapping[str, Any], desired: DesiredRole, predicted: dict[str, Any]
) -> list[Action]:
    description = desired.description if desired.description not in (None, current["description"]) else None
    duration = desired.max_session_duration
    if duration == current["max_session_duration"]:
        duration = None
    if description is None and duration is None:
        return []
    if description is not None:
        predicted["description"] = description
    if duration is not None:
        predicted["max_session_duration"] = duration
    return [
        Action(
            "UpdateRole", {"role": desired.name, "description": description, "max_session_duration": duration}
        )
    ]


def _plan_boundary(
    current: Mapping[str, Any], desired: DesiredRole, predicted: dict[str, Any]
) -> list[Action]:
    wanted, existing = desired.permissions_boundary, current["permissions_boundary"]
    if wanted is None or wanted == (existing or ""):
        return []
    predicted["permissions_boundary"] = wanted or None
    if wanted == "":
        return [Action("DeleteRolePermissionsBoundary", {"role": desired.name})]
    return [Action("PutRolePermissionsBoundary", {"role": desired.name, "arn": wanted})]


def _plan_managed(
    current: Mapping[str, Any],
    desired: DesiredRole,
    managed_arns: list[str] | None,
    predicted: dict[str, Any],
) -> list[Action]:
    if managed_arns is None:
        return []
    attached = set(current.get("managed_policies") or [])
    wanted = set(managed_arns)
    to_detach = sorted(attached - wanted) if desired.purge_managed_policies else []
    to_attach = sorted(wanted - attached)
    predicted["managed_policies"] = sorted((attached - set(to_detach)) | wanted)
    return [Action("DetachRolePolicy", {"role": desired.name, "arn": arn}) for arn in to_detach] + [
        Action("AttachRolePolicy", {"role": desired.name, "arn": arn}) for arn in to_attach
    ]


def trust_size_warnings(actions: list[Action]) -> list[str]:
    """A warning for each trust policy the plan sends that is over IAM's default size quota."""
    warnings = []
    for action in actions:
        if action.operation in ("CreateRole", "UpdateAssumeRolePolicy"):
            warning = trust_policy_size_warning(action.args["trust_policy"], "assume_role_policy")
            warnings += [warning] if warning else []
    return warnings


def plan_delete(name: str, profiles: list[str], inline: list[str], managed: list[str]) -> list[Action]:
    """Everything that must go before DeleteRole succeeds, in the order IAM requires, then DeleteRole."""
    actions = [Action("RemoveRoleFromInstanceProfile", {"profile": p, "role": name}) for p in profiles]
    actions += [Action("DeleteRolePolicy", {"role": name, "policy_name": policy}) for policy in inline]
    actions += [Action("DetachRolePolicy", {"role": name, "arn": arn}) for arn in managed]
    return [*actions, Action("DeleteRole", {"role": name})]


# --- orchestration -------------------------------------------------------------------------


def resolve_managed(iam: Any, clients: Any, references: tuple[str, ...], role_arn: str | None) -> list[str]:
    """Managed policy names become ARNs by constructing candidates and calling GetPolicy.

    Never lists every policy in the account (slow, and a ListPolicies permission users
    rarely grant). ARNs are taken as given.
    """
    partition, account = (
        _partition_and_account(clients, role_arn) if _has_names(references) else ("aws", None)
    )
    arns = []
    for index, reference in enumerate(references):
        if reference.startswith("arn:"):
            arns.append(reference)
            continue
        candidates = managed_policy_candidates(reference, partition, account)
        found = next((arn for arn in candidates if _iam.get_policy(iam, arn) is not None), None)
        if found is None:
            raise ValidationError(f"managed_policies[{index}]", f"no managed policy named {reference} exists")
        arns.append(found)
    return arns


def _has_names(references: tuple[str, ...]) -> bool:
    return any(not reference.startswith("arn:") for reference in references)


def _partition_and_account(clients: Any, role_arn: str | None) -> tuple[str, str | None]:
    arn = role_arn or _iam.caller_arn(clients.client("sts"))
    parts = arn.split(":")
    return parts[1], parts[4] or None


def read_role(iam: Any, name: str, with_managed: bool) -> dict[str, Any] | None:
    raw = _iam.get_role(iam, name)
    if raw is None:
        return None
    managed = _iam.list_attached_role_policy_arns(iam, name) if with_managed else None
    return role_view(raw, managed)


class RoleResource(Resource):
    result_key = "role"
    noun = "role"

    def __init__(self, params: Mapping[str, Any], clients: Any, check_mode: bool) -> None:
        self.desired = desired_role(params)
        self.clients = clients
        self.iam = clients.iam
        self.created: dict[str, Any] | None = None  # CreateRole's answer, once this run created the role

    def read(self) -> State | None:
        return read_role(self.iam, self.desired.name, with_managed=self.desired.managed_policies is not None)

    def plan(self, current: State | None) -> Plan:
        desired = self.desired
        if desired.state == "absent":
            return self._plan_absent(current)
        managed_arns = None
        if desired.managed_policies is not None:
            role_arn = current["arn"] if current else None
            managed_arns = resolve_managed(self.iam, self.clients, desired.managed_policies, role_arn)
        actions, predicted = (
            plan_create(desired, managed_arns)
            if current is None
            else plan_update(current, desired, managed_arns)
        )
        return Plan(actions, predicted, warnings=trust_size_warnings(actions))

    def _plan_absent(self, current: State | None) -> Plan:
        if current is None:
            return Plan([], None)
        name = self.desired.name
        profiles = [p["InstanceProfileName"] for p in _iam.list_instance_profiles_for_role(self.iam, name)]
        inline = _iam.list_role_policy_names(self.iam, name)
        managed = current.get("managed_policies")
        if managed is None:
            managed = _iam.list_attached_role_policy_arns(self.iam, name)
        removed = {"instance_profiles": profiles, "inline_policies": inline, "managed_policies": managed}
        return Plan(plan_delete(name, profiles, inline, managed), None, report={"removed": removed})

    def read_after(self, plan: Plan, current: State | None) -> State | None:
        desired = self.desired
        if desired.state == "absent":
            return None
        if not desired.wait:
            # No read back: right after CreateRole, GetRole may still answer NoSuchEntity (IAM User
            # Guide, "Changes that I make are not always immediately visible"). The prediction, with
            # the identifiers CreateRole answered, is what the role now is.
            return with_created(plan.predicted, self.created, "role_id", "RoleId")
        return self.read_back(
            self.read, desired.wait, desired.wait_timeout, f"role {desired.name} to become readable"
        )

    def handlers(self) -> dict[str, Handler]:
        iam, timeout = self.iam, self.desired.wait_timeout
        return {
            # IAM refuses a trust policy naming a principal created moments ago with "Invalid
            # principal in policy" until it knows the principal: retried, as nothing else is.
            "CreateRole": Handler(self._create, retry_if(invalid_principal, timeout), exists=already_exists),
            "UpdateAssumeRolePolicy": Handler(
                partial(_iam.update_assume_role_policy, iam), retry_if(invalid_principal, timeout)
            ),
            "UpdateRole": Handler(partial(_iam.update_role, iam)),
            "PutRolePermissionsBoundary": Handler(partial(_iam.put_role_permissions_boundary, iam)),
            "DeleteRolePermissionsBoundary": Handler(partial(_iam.delete_role_permissions_boundary, iam)),
            "AttachRolePolicy": Handler(
                partial(_iam.attach_role_policy, iam), retry_if(self._new_role_not_visible, timeout)
            ),
            "DetachRolePolicy": Handler(partial(_iam.detach_role_policy, iam), settled=gone),
            "TagRole": Handler(partial(_iam.tag_role, iam)),
            "UntagRole": Handler(partial(_iam.untag_role, iam)),
            "RemoveRoleFromInstanceProfile": Handler(
                partial(_iam.remove_role_from_instance_profile, iam), settled=gone
            ),
            "DeleteRolePolicy": Handler(partial(_iam.delete_role_policy, iam), settled=gone),
            # Right after detaching policies or leaving profiles, DeleteRole can still answer
            # DeleteConflict until IAM's replicas agree; NoSuchEntity means another run deleted it.
            "DeleteRole": Handler(
                partial(_iam.delete_role, iam), retry_codes(DELETE_RETRY_CODES, timeout), settled=gone
            ),
        }

    def _create(
        self,
        role: str,
        path: str,
        trust_policy: dict[str, Any],
        description: str | None,
        max_session_duration: int | None,
        permissions_boundary: str | None,
        tags: dict[str, str] | None,
    ) -> None:
        """CreateRole, keeping its answer: the new role's ARN and id, whatever GetRole shows yet."""
        self.created = _iam.create_role(
            self.iam, role, path, trust_policy, description, max_session_duration, permissions_boundary, tags
        )

    def _new_role_not_visible(self, err: Exception) -> bool:
        # AttachRolePolicy right after CreateRole can answer NoSuchEntity for the new role. On a
        # role that already existed, NoSuchEntity is a real answer (e.g. a wrong policy ARN).
        return self.created is not None and error_code(err) == "NoSuchEntity"

    def diff_view(self, state: State | None) -> dict[str, Any]:
        """What ``--diff`` shows: the user-settable fields, the trust policy as IAM stores it or,
        when the task changes it, as the user wrote it (Ansible prints both with sorted keys).

        Policies are compared normalized, but shown as written: a normalized document
        (``sts:assumerole``) reads as if the user's policy had been rewritten.
        """
        if not state:
            return {}
        view = {
            key: state[key]
            for key in (
                "role_name",
                "path",
                "description",
                "max_session_duration",
                "permissions_boundary",
                "tags",
            )
        }
        view["assume_role_policy_document"] = state["assume_role_policy_document"] or {}
        if "managed_policies" in state:
            view["managed_policies"] = state["managed_policies"]
        return view


run = runner(RoleResource)

SPEC = ModuleSpec(OPTIONS, run)
