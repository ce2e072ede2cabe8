# Internal use only: not a public API of keyless.aws; it may change without notice.
"""The whole behaviour of keyless.aws.iam_instance_profile, and its module spec (``SPEC``)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import partial
from typing import Any

from ansible_collections.keyless.aws.plugins.module_utils import _ec2, _iam
from ansible_collections.keyless.aws.plugins.module_utils._aws import iso, tag_dict
from ansible_collections.keyless.aws.plugins.module_utils._converge import (
    Plan,
    Resource,
    State,
    runner,
    with_created,
)
from ansible_collections.keyless.aws.plugins.module_utils._errors import (
    KeylessAwsError,
    ValidationError,
    error_code,
)
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
    string_tags,
)
from ansible_collections.keyless.aws.plugins.module_utils._retry import (
    DELETE_RETRY_CODES,
    RetryPolicy,
    WaitTimeout,
    poll,
)
from ansible_collections.keyless.aws.plugins.module_utils._validate import (
    DEFAULT_PATH,
    validate_instance_profile_name,
    validate_path,
    validate_role_name,
    validate_tags,
    validate_wait_timeouts,
)

OPTIONS: dict[str, dict[str, Any]] = {
    "name": {"type": "str", "required": True, "aliases": ["instance_profile_name"]},
    "state": STATE_OPTION,
    # No default: an existing profile keeps its path; a new one gets "/" (DEFAULT_PATH).
    # prefix and path_prefix: amazon.aws iam_instance_profile's older names for the path.
    "path": {"type": "str", "aliases": ["prefix", "path_prefix"]},
    "role": {"type": "str", "aliases": ["role_name"]},
    **IAM_TAG_OPTIONS,
    "force": {"type": "bool", "default": False},
    **wait_options(120),
}

# A role that was just created can be refused by AddRoleToInstanceProfile with
# NoSuchEntity for a few seconds (IAM eventual consistency).
ADD_ROLE_RETRY_CODES = ("NoSuchEntity", "ConcurrentModification")

# How long a role to be added may stay invisible to GetRole before the task fails. The previous
# task (iam_role, wait: true by default) has already read the role back, so this only covers a
# role created without waiting or a read served by a lagging replica; a missing role fails within
# this bound instead of after the whole wait_timeout.
ROLE_RECHECK_SECONDS = 10.0


@dataclass(frozen=True)
class DesiredProfile:
    name: str
    state: str
    path: str | None  # None: as it is (DEFAULT_PATH on create)
    role: str | None
    tags: dict[str, str] | None
    purge_tags: bool
    force: bool
    wait: bool
    wait_timeout: int


def desired_profile(params: Mapping[str, Any]) -> DesiredProfile:
    validate_instance_profile_name(params["name"], "name")
    if params.get("path") is not None:
        validate_path(params["path"], "path")
    role = params.get("role")
    if role:
        validate_role_name(role, "role")
    tags = string_tags(params.get("tags"))
    validate_tags(tags, "tags")
    validate_wait_timeouts(params, "wait_timeout")
    return DesiredProfile(
        name=params["name"],
        state=params.get("state") or "present",
        path=params.get("path"),
        role=role,
        tags=tags,
        purge_tags=params.get("purge_tags", True),
        force=params.get("force", False),
        wait=params.get("wait", True),
        wait_timeout=params.get("wait_timeout", 120),
    )


def profile_view(raw: Mapping[str, Any]) -> dict[str, Any]:
    """The ``instance_profile`` return value (snake_case).

    ``Path`` and ``Roles`` are required members of IAM's InstanceProfile: every answer has them.
    """
    roles = [role["RoleName"] for role in raw["Roles"]]
    return {
        "instance_profile_name": raw["InstanceProfileName"],
        "instance_profile_id": raw.get("InstanceProfileId"),
        "arn": raw.get("Arn"),
        "path": raw["Path"],
        "role": roles[0] if roles else None,
        "roles": roles,
        "tags": tag_dict(raw.get("Tags")),
        "create_date": iso(raw.get("CreateDate")),
    }


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
    path = desired.path or DEFAULT_PATH
    actions = [Action("CreateInstanceProfile", {"profile": desired.name, "path": path, "tags": desired.tags})]
    role_actions, roles = plan_roles(desired.name, [], desired.role)
    predicted = {
        "instance_profile_name": desired.name,
        "instance_profile_id": None,
        "arn": None,
        "path": path,
        "role": roles[0] if roles else None,
        "roles": roles,
        "tags": dict(desired.tags or {}),
        "create_date": None,
    }
    return actions + role_actions, predicted


def plan_update(current: Mapping[str, Any], desired: DesiredProfile) -> tuple[list[Action], dict[str, Any]]:
    if desired.path is not None and desired.path != current["path"]:
        raise ValidationError(
            "path",
            f"cannot change on an existing instance profile (it is {current['path']}); delete it first",
        )
    actions, roles = plan_roles(desired.name, current["roles"], desired.role)
    tag_actions, tags = plan_tags(
        current["tags"],
        desired.tags,
        desired.purge_tags,
        ("TagInstanceProfile", "UntagInstanceProfile"),
        {"profile": desired.name},
    )
    predicted = {**current, "roles": roles, "role": roles[0] if roles else None, "tags": tags}
    return actions + tag_actions, predicted


def adds_role(actions: list[Action]) -> str | None:
    """The role a plan adds to the profile, if any: the only plan that needs the role to exist."""
    return next((a.args["role"] for a in actions if a.operation == "AddRoleToInstanceProfile"), None)


def full_profile_settled(profile: str, held: list[str], wanted: str) -> bool:
    """Whether AddRoleToInstanceProfile's LimitExceeded means the wanted role is already in.

    A profile holds one role. LimitExceeded on a profile this task read as empty means another
    request (or botocore's resend of this one) filled it: with the wanted role that is success,
    with another role a clear failure; an empty profile leaves AWS's answer as it is.
    """
    if held == [wanted]:
        return True
    if held:
        raise KeylessAwsError(
            f"instance profile {profile} already holds role {', '.join(held)}, added by another request "
            f"after this task read the profile; a profile holds one role, so {wanted} was not added",
            code="LimitExceeded",
            operation="AddRoleToInstanceProfile",
        )
    return False


def plan_delete(current: Mapping[str, Any]) -> list[Action]:
    """Empty the profile (IAM refuses to delete one that holds a role), then delete it."""
    name = current["instance_profile_name"]
    actions = [
        Action("RemoveRoleFromInstanceProfile", {"profile": name, "role": role}) for role in current["roles"]
    ]
    return [*actions, Action("DeleteInstanceProfile", {"profile": name})]


# --- orchestration -------------------------------------------------------------------------


def read_profile(iam: Any, name: str) -> dict[str, Any] | None:
    raw = _iam.get_instance_profile(iam, name)
    return None if raw is None else profile_view(raw)


class InstanceProfileResource(Resource):
    result_key = "instance_profile"
    noun = "instance profile"

    def __init__(self, params: Mapping[str, Any], clients: Any, check_mode: bool) -> None:
        self.desired = desired_profile(params)
        self.clients = clients
        self.iam = clients.iam
        self.check_mode = check_mode
        self.created: dict[str, Any] | None = None  # CreateInstanceProfile's answer, once this run created it

    def read(self) -> State | None:
        return read_profile(self.iam, self.desired.name)

    def plan(self, current: State | None) -> Plan:
        if self.desired.state == "absent":
            return self._plan_absent(current)
        plan = (
            Plan(*plan_create(self.desired)) if current is None else Plan(*plan_update(current, self.desired))
        )
        role = adds_role(plan.actions)
        if role is not None:
            plan.warnings += self._check_role(role)
        return plan

    def _check_role(self, role: str) -> list[str]:
        """Fail before any change when the role to add does not exist.

        Without this, AddRoleToInstanceProfile's NoSuchEntity was retried for the whole
        wait_timeout and left an empty profile behind. Only a plan that adds the role reads it:
        a no-op run makes no extra call.

        IAM is eventually consistent (IAM User Guide, "Changes that I make are not always
        immediately visible"): a role created moments ago is re-read for up to
        ROLE_RECHECK_SECONDS. In check mode an earlier, checked task may be about to create the
        role: one read, and a warning.
        """
        if self.check_mode:
            if _iam.get_role(self.iam, role) is not None:
                return []
            return [f"role {role} does not exist yet; assuming an earlier task creates it"]
        timeout = min(ROLE_RECHECK_SECONDS, self.desired.wait_timeout)
        try:
            poll(lambda: _iam.get_role(self.iam, role), RetryPolicy(timeout=timeout), f"role {role}")
        except WaitTimeout:
            raise ValidationError(
                "role",
                f"role {role} does not exist (GetRole answered NoSuchEntity for {timeout:g}s); "
                "create it first (keyless.aws.iam_role); nothing was changed",
            ) from None
        return []

    def _plan_absent(self, current: State | None) -> Plan:
        if current is None:
            return Plan([], None)
        desired = self.desired
        # With force the check is skipped: it needs EC2 access and a region the user may not have.
        in_use = [] if desired.force else _associated_instances(self.clients, current["arn"])
        if in_use:
            raise KeylessAwsError(
                f"instance profile {desired.name} is in use by EC2 instance(s) {', '.join(in_use)}; "
                "terminate them or disassociate the profile first, or set force: true",
                code="ProfileInUse",
            )
        return Plan(plan_delete(current), None, report={"associated_instances": in_use})

    def read_after(self, plan: Plan, current: State | None) -> State | None:
        if self.desired.state == "absent":
            return None
        if not self.desired.wait:
            # No read back: right after a create IAM may not show the profile yet. The prediction,
            # with the identifiers CreateInstanceProfile answered, is what the profile now is.
            return with_created(plan.predicted, self.created, "instance_profile_id", "InstanceProfileId")
        return self._read_with_role()

    def handlers(self) -> dict[str, Handler]:
        iam, timeout = self.iam, self.desired.wait_timeout
        return {
            "CreateInstanceProfile": Handler(self._create, exists=already_exists),
            "AddRoleToInstanceProfile": Handler(
                partial(_iam.add_role_to_instance_profile, iam),
                retry_codes(ADD_ROLE_RETRY_CODES, timeout),
                settled=self._role_already_added,
            ),
            "RemoveRoleFromInstanceProfile": Handler(
                partial(_iam.remove_role_from_instance_profile, iam), settled=gone
            ),
            "TagInstanceProfile": Handler(partial(_iam.tag_instance_profile, iam)),
            "UntagInstanceProfile": Handler(partial(_iam.untag_instance_profile, iam)),
            "DeleteInstanceProfile": Handler(
                partial(_iam.delete_instance_profile, iam),
                retry_codes(DELETE_RETRY_CODES, timeout),
                settled=gone,
            ),
        }

    def _create(self, profile: str, path: str, tags: dict[str, str] | None) -> None:
        """CreateInstanceProfile, keeping its answer: the new profile's ARN and id."""
        self.created = _iam.create_instance_profile(self.iam, profile, path, tags)

    def _role_already_added(self, err: Exception, profile: str, role: str) -> bool:
        if error_code(err) != "LimitExceeded":
            return False
        current = read_profile(self.iam, profile)
        return full_profile_settled(profile, current["roles"] if current else [], role)

    def _read_with_role(self) -> State:
        # GetInstanceProfile right after CreateInstanceProfile may answer NoSuchEntity.
        # Waiting until it reads back with the wanted role is what EC2 needs before launch.
        desired = self.desired

        def fetch() -> State | None:
            profile = self.read()
            if profile is None or (
                desired.role is not None and profile["roles"] != ([desired.role] if desired.role else [])
            ):
                return None
            return profile

        return self.read_back(
            fetch,
            desired.wait,
            desired.wait_timeout,
            f"instance profile {desired.name} to be readable with its role",
        )

    def diff_view(self, state: State | None) -> dict[str, Any]:
        if not state:
            return {}
        return {key: state[key] for key in ("instance_profile_name", "path", "roles", "tags")}


run = runner(InstanceProfileResource)


def _associated_instances(clients: Any, profile_arn: str) -> list[str]:
    if clients.region is None:
        raise ValidationError(
            "region", "is needed to check which EC2 instances use the instance profile (or set force: true)"
        )
    return _ec2.instances_using_profile(clients.ec2, profile_arn)


SPEC = ModuleSpec(OPTIONS, run)
