"""The sandbox authorizes chosen IAM users the way AWS does, where moto cannot.

moto 5.2's enforcement checks an identity policy against the role's ARN only when the request
names an existing role, and against ``*`` otherwise (CreateRole, instance profiles, all of EC2);
it reads no condition key but ``sts:ExternalId``. A policy scoped to ARNs, tags and condition
keys would then be denied where AWS allows it, and conditions would never deny. So for an IAM
user tagged ``keyless-sandbox:authorizer = aws-rules`` this layer decides every request itself:

- it names the request's IAM checks as the Service Authorization Reference lists them: the
  action on each resource ARN the request touches, and the dependent checks AWS makes
  (``iam:PassRole`` when RunInstances or AddRoleToInstanceProfile hands a role to EC2,
  ``ec2:CreateTags`` with ``ec2:CreateAction`` when RunInstances tags at launch,
  ``iam:TagRole``/``iam:TagInstanceProfile`` when IAM tags at creation);
- it fills the condition keys it can read from the request and from moto's state:
  ``aws:RequestTag/*``, ``aws:TagKeys``, ``aws:ResourceTag/*`` (instances, volumes, roles,
  instance profiles), ``ec2:MetadataHttpTokens`` (``optional`` when the request does not say,
  EC2's default), ``ec2:InstanceType``, ``ec2:InstanceProfile``, ``ec2:CreateAction``,
  ``iam:PassedToService``, ``aws:RequestedRegion``, ``aws:PrincipalArn``,
  ``aws:PrincipalAccount``. Any other key is absent, so a policy that needs it is denied;
- it evaluates the user's inline and attached policies (``policy_eval.py``; group policies and
  permissions boundaries are not read) and answers AWS's ``AccessDenied`` (IAM, STS) or
  ``UnauthorizedOperation`` (EC2) when a check fails. An allowed request goes on to moto, which
  still checks its signature but not its permissions.

AWS documents that AddRoleToInstanceProfile needs ``iam:PassRole`` on the role; it does not say
which ``iam:PassedToService`` it carries. The sandbox plays ``ec2.amazonaws.com``, the only
service that takes instance profiles. Every decision is kept and listed by
``GET /_keyless/authorizations`` (``POST /_keyless/authorizations/reset`` clears them). Other
principals (the sandbox administrator, instance roles) are left to moto as before.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterable
from dataclasses import asdict
from typing import Any

from awscalls import AUTHORIZATIONS_PATH, RESET_AUTHORIZATIONS_PATH
from bad_day import CALL_KEY, Answer, Journal, error_answer, forward, numbered, request_params, send
from policy_eval import Check, Decision, PolicyError, decide

Environ = dict[str, Any]
StartResponse = Callable[..., Any]
WsgiApp = Callable[[Environ, StartResponse], Iterable[bytes]]

GOVERNED_TAG = ("keyless-sandbox:authorizer", "aws-rules")
EC2_SERVICE = "ec2.amazonaws.com"

# IAM operations on one role (RoleName) or one instance profile (InstanceProfileName).
ROLE_OPERATIONS = frozenset(
    {
        "CreateRole",
        "GetRole",
        "DeleteRole",
        "UpdateRole",
        "UpdateRoleDescription",
        "UpdateAssumeRolePolicy",
        "PutRolePolicy",
        "GetRolePolicy",
        "DeleteRolePolicy",
        "ListRolePolicies",
        "AttachRolePolicy",
        "DetachRolePolicy",
        "ListAttachedRolePolicies",
        "ListInstanceProfilesForRole",
        "TagRole",
        "UntagRole",
        "ListRoleTags",
        "PutRolePermissionsBoundary",
        "DeleteRolePermissionsBoundary",
    }
)
PROFILE_OPERATIONS = frozenset(
    {
        "CreateInstanceProfile",
        "GetInstanceProfile",
        "DeleteInstanceProfile",
        "AddRoleToInstanceProfile",
        "RemoveRoleFromInstanceProfile",
        "TagInstanceProfile",
        "UntagInstanceProfile",
        "ListInstanceProfileTags",
    }
)
# EC2 operations on instances named by InstanceId or InstanceId.N.
INSTANCE_OPERATIONS = frozenset(
    {
        "TerminateInstances",
        "StopInstances",
        "StartInstances",
        "RebootInstances",
        "ModifyInstanceAttribute",
        "ModifyInstanceMetadataOptions",
        "MonitorInstances",
        "UnmonitorInstances",
        "AssociateIamInstanceProfile",
        "GetConsoleOutput",
    }
)
# EC2 resource id prefix -> ARN resource type (CreateTags, DeleteTags).
EC2_RESOURCE_TYPES = {
    "i-": "instance",
    "vol-": "volume",
    "ami-": "image",
    "subnet-": "subnet",
    "sg-": "security-group",
    "eni-": "network-interface",
    "snap-": "snapshot",
}

_allowed_here = threading.local()


def moto_skips_permissions() -> bool:
    return getattr(_allowed_here, "active", False)


def install_moto_bypass() -> None:
    """moto keeps checking signatures; the permission check of a request decided here is ours."""
    from moto.iam import access_control

    original = access_control.IAMRequestBase.check_action_permitted
    if getattr(original, "keyless_bypass", False):
        return

    def check_action_permitted(self: Any, resource: str) -> None:
        if moto_skips_permissions():
            return
        original(self, resource)

    check_action_permitted.keyless_bypass = True  # type: ignore[attr-defined]
    access_control.IAMRequestBase.check_action_permitted = check_action_permitted  # type: ignore[method-assign]


# --- moto's state (this layer runs in moto's process) --------------------------------------


def _iam_backends() -> Iterable[Any]:
    from moto.iam.models import iam_backends

    for account in list(iam_backends.keys()):
        for partition in list(iam_backends[account].keys()):
            yield iam_backends[account][partition]


def governed_user(access_key: str) -> tuple[Any, Any] | None:
    """(IAM backend, user) of an access key whose user carries the governed tag."""
    for backend in _iam_backends():
        for user in list(backend.users.values()):
            if not any(key.access_key_id == access_key for key in user.access_keys):
                continue
            tags = backend.tagger.list_tags_for_resource(user.arn)["Tags"]
            if {"Key": GOVERNED_TAG[0], "Value": GOVERNED_TAG[1]} in tags:
                return backend, user
            return None
    return None


def user_policies(user: Any) -> list[dict[str, Any]]:
    """The user's inline policies and the default versions of its attached managed policies."""
    documents = [json.loads(text) if isinstance(text, str) else text for text in user.policies.values()]
    for policy in user.managed_policies.values():
        for version in policy.versions:
            if version.is_default:
                document = version.document
                documents.append(json.loads(document) if isinstance(document, str) else document)
    return documents


def _iam_entity(getter: Callable[[str], Any], name: str) -> Any:
    try:
        return getter(name)
    except Exception:  # moto's NoSuchEntity: the entity does not exist (yet)
        return None


def _iam_tags(entity: Any) -> dict[str, str]:
    tags = getattr(entity, "tags", None) or {}
    if isinstance(tags, dict):
        return {str(value.get("Key", key)): str(value.get("Value", "")) for key, value in tags.items()}
    return {str(item["Key"]): str(item["Value"]) for item in tags}


def _ec2_backend(account: str, region: str) -> Any:
    from moto.ec2.models import ec2_backends

    return ec2_backends[account][region]


def _ec2_tags(account: str, region: str, resource_id: str) -> dict[str, str]:
    found = _ec2_backend(account, region).describe_tags(filters={"resource-id": [resource_id]})
    return {
        str(item.get("key", item.get("Key"))): str(item.get("value", item.get("Value"))) for item in found
    }


# --- a request's checks ----------------------------------------------------------------------


def _tag_context(prefix: str, tags: dict[str, str]) -> dict[str, tuple[str, ...]]:
    context = {f"{prefix}/{key}": (value,) for key, value in tags.items()}
    if prefix == "aws:RequestTag" and tags:
        context["aws:TagKeys"] = tuple(tags)
    return context


def _member_tags(params: dict[str, str], prefix: str, member: str = "member") -> dict[str, str]:
    """IAM's ``Tags.member.N.Key`` or EC2's ``Tag.N.Key`` lists."""
    tags = {}
    for index in range(1, 51):
        base = f"{prefix}.{member}.{index}" if member else f"{prefix}.{index}"
        if f"{base}.Key" not in params:
            break
        tags[params[f"{base}.Key"]] = params.get(f"{base}.Value", "")
    return tags


class Request:
    """What IAM's authorization sees of one call: its principal, region and parameters."""

    def __init__(
        self, backend: Any, user: Any, service: str, operation: str, region: str, params: dict[str, str]
    ) -> None:
        self.backend, self.user = backend, user
        self.service, self.operation, self.region, self.params = service, operation, region, params
        self.account = user.account_id
        self.partition = user.arn.split(":", 2)[1]

    def base_context(self) -> dict[str, tuple[str, ...]]:
        return {
            "aws:RequestedRegion": (self.region,),
            "aws:PrincipalArn": (self.user.arn,),
            "aws:PrincipalAccount": (self.account,),
        }

    def check(self, action: str, resource: str, **context: tuple[str, ...]) -> Check:
        return Check(action, resource, {**self.base_context(), **context})

    # IAM

    def role_arn(self, name: str, path: str | None = None) -> str:
        role = _iam_entity(self.backend.get_role, name)
        if role is not None:
            return str(role.arn)
        return f"arn:{self.partition}:iam::{self.account}:role{path or '/'}{name}"

    def profile_arn(self, name: str, path: str | None = None) -> str:
        profile = _iam_entity(self.backend.get_instance_profile, name)
        if profile is not None:
            return str(profile.arn)
        return f"arn:{self.partition}:iam::{self.account}:instance-profile{path or '/'}{name}"

    def pass_role(self, role_arn: str) -> Check:
        return self.check("iam:PassRole", role_arn, **{"iam:PassedToService": (EC2_SERVICE,)})

    def iam_checks(self) -> list[Check]:
        action, params = f"iam:{self.operation}", self.params
        if self.operation in ROLE_OPERATIONS:
            name = params.get("RoleName", "")
            arn = self.role_arn(name, params.get("Path"))
            return self._tagged_checks(action, arn, _iam_entity(self.backend.get_role, name), "iam:TagRole")
        if self.operation in PROFILE_OPERATIONS:
            name = params.get("InstanceProfileName", "")
            arn = self.profile_arn(name, params.get("Path"))
            profile = _iam_entity(self.backend.get_instance_profile, name)
            checks = self._tagged_checks(action, arn, profile, "iam:TagInstanceProfile")
            if self.operation == "AddRoleToInstanceProfile":
                checks.append(self.pass_role(self.role_arn(params.get("RoleName", ""))))
            return checks
        return [self.check(action, "*")]

    def _tagged_checks(self, action: str, arn: str, entity: Any, tag_action: str) -> list[Check]:
        resource_tags = _tag_context("aws:ResourceTag", _iam_tags(entity)) if entity is not None else {}
        request_tags = _tag_context("aws:RequestTag", _member_tags(self.params, "Tags"))
        if self.operation.startswith("Untag"):
            keys = numbered(self.params, "TagKeys.member")
            request_tags = {"aws:TagKeys": tuple(keys)} if keys else {}
        checks = [self.check(action, arn, **resource_tags, **request_tags)]
        if self.operation.startswith("Create") and request_tags:
            checks.append(self.check(tag_action, arn, **request_tags))
        return checks

    # EC2

    def ec2_arn(self, kind: str, resource_id: str) -> str:
        account = "" if kind == "image" else self.account
        return f"arn:{self.partition}:ec2:{self.region}:{account}:{kind}/{resource_id}"

    def ec2_checks(self) -> list[Check]:
        action = f"ec2:{self.operation}"
        if self.operation.startswith("Describe"):
            return [self.check(action, "*")]
        if self.operation == "RunInstances":
            return self.run_instances_checks()
        if self.operation in INSTANCE_OPERATIONS:
            ids = numbered(self.params, "InstanceId") or [self.params.get("InstanceId", "")]
            checks = [self._instance_check(action, instance_id) for instance_id in ids]
            if self.operation == "AssociateIamInstanceProfile":
                checks += self._pass_profile_role()
            return checks
        if self.operation in ("CreateTags", "DeleteTags"):
            return self._tag_checks(action)
        return [self.check(action, "*")]

    def _instance_check(self, action: str, instance_id: str) -> Check:
        tags = _ec2_tags(self.account, self.region, instance_id)
        return self.check(
            action, self.ec2_arn("instance", instance_id), **_tag_context("aws:ResourceTag", tags)
        )

    def _tag_checks(self, action: str) -> list[Check]:
        requested = _member_tags(self.params, "Tag", "")
        checks = []
        for resource_id in numbered(self.params, "ResourceId"):
            kind = next((k for p, k in EC2_RESOURCE_TYPES.items() if resource_id.startswith(p)), "resource")
            existing = _tag_context("aws:ResourceTag", _ec2_tags(self.account, self.region, resource_id))
            checks.append(
                self.check(
                    action,
                    self.ec2_arn(kind, resource_id),
                    **existing,
                    **_tag_context("aws:RequestTag", requested),
                )
            )
        return checks

    def _launch_tags(self, resource_type: str) -> dict[str, str]:
        tags: dict[str, str] = {}
        for index in range(1, 20):
            prefix = f"TagSpecification.{index}"
            if f"{prefix}.ResourceType" not in self.params:
                break
            if self.params[f"{prefix}.ResourceType"] == resource_type:
                tags.update(_member_tags(self.params, prefix, "Tag"))
        return tags

    def _pass_profile_role(self) -> list[Check]:
        arn = self.params.get("IamInstanceProfile.Arn")
        name = self.params.get("IamInstanceProfile.Name") or (arn.rsplit("/", 1)[-1] if arn else None)
        profile = _iam_entity(self.backend.get_instance_profile, name) if name else None
        return [self.pass_role(str(role.arn)) for role in getattr(profile, "roles", [])]

    def run_instances_checks(self) -> list[Check]:
        params, action = self.params, "ec2:RunInstances"
        instance_tags = self._launch_tags("instance")
        profile = params.get("IamInstanceProfile.Arn") or params.get("IamInstanceProfile.Name")
        instance_context = {
            "ec2:MetadataHttpTokens": (params.get("MetadataOptions.HttpTokens", "optional"),),
            "ec2:InstanceType": (params.get("InstanceType", "m1.small"),),
            **({"ec2:InstanceProfile": (profile,)} if profile else {}),
            **_tag_context("aws:RequestTag", instance_tags),
        }
        subnet = params.get("SubnetId") or params.get("NetworkInterface.1.SubnetId") or "*"
        groups = numbered(params, "SecurityGroupId") or numbered(params, "NetworkInterface.1.SecurityGroupId")
        checks = [
            self.check(action, self.ec2_arn("instance", "*"), **instance_context),
            self.check(action, self.ec2_arn("image", params.get("ImageId", ""))),
            self.check(action, self.ec2_arn("subnet", subnet)),
            self.check(action, self.ec2_arn("network-interface", "*")),
            *(self.check(action, self.ec2_arn("security-group", group)) for group in groups or ["*"]),
            self.check(
                action,
                self.ec2_arn("volume", "*"),
                **_tag_context("aws:RequestTag", self._launch_tags("volume")),
            ),
        ]
        if params.get("KeyName"):
            checks.append(self.check(action, self.ec2_arn("key-pair", params["KeyName"])))
        if params.get("Placement.GroupName"):
            checks.append(self.check(action, self.ec2_arn("placement-group", params["Placement.GroupName"])))
        checks += self._pass_profile_role()
        for kind in ("instance", "volume"):
            tags = self._launch_tags(kind)
            if tags:
                checks.append(
                    self.check(
                        "ec2:CreateTags",
                        self.ec2_arn(kind, "*"),
                        **{"ec2:CreateAction": ("RunInstances",)},
                        **_tag_context("aws:RequestTag", tags),
                    )
                )
        return checks

    def checks(self) -> list[Check]:
        if self.service == "iam":
            return self.iam_checks()
        if self.service == "ec2":
            return self.ec2_checks()
        if self.service == "sts" and self.operation == "GetCallerIdentity":
            return []  # always allowed (AWS: no permission is needed)
        return [self.check(f"{self.service}:{self.operation}", "*")]


# --- the middleware ------------------------------------------------------------------------


def _denial(service: str, user_arn: str, check: Check, decision: Decision) -> Answer:
    why = (
        "with an explicit deny in an identity-based policy"
        if decision.reason == "explicit deny"
        else f"because no identity-based policy allows the {check.action} action"
    )
    text = (
        f"User: {user_arn} is not authorized to perform: {check.action} on resource: {check.resource} {why}"
    )
    if service == "ec2":
        return error_answer(
            "ec2", 403, "UnauthorizedOperation", f"You are not authorized to perform this operation. {text}"
        )
    return error_answer(service, 403, "AccessDenied", text)


class AwsAuthorizer:
    """WSGI middleware: AWS's authorization for governed IAM users (see the module docstring)."""

    def __init__(self, app: WsgiApp) -> None:
        self._app = app
        self._decisions = Journal(AUTHORIZATIONS_PATH, RESET_AUTHORIZATIONS_PATH)
        install_moto_bypass()

    def __call__(self, environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        if path.startswith(AUTHORIZATIONS_PATH):
            method = environ.get("REQUEST_METHOD", "GET").upper()
            return send(self._decisions.answer(method, path), start_response)
        call = environ.get(CALL_KEY) or {}
        governed = governed_user(call["access_key"]) if call.get("access_key") else None
        if governed is None:
            return self._app(environ, start_response)
        backend, user = governed
        request = Request(
            backend,
            user,
            call["service"],
            call["operation"],
            call.get("region") or "",
            request_params(environ),
        )
        denied = self._decide(request, call)
        if denied is not None:
            return send(denied, start_response)
        _allowed_here.active = True
        try:
            answer = forward(self._app, environ)
        finally:
            _allowed_here.active = False
        return send(answer, start_response)

    def _decide(self, request: Request, call: dict[str, Any]) -> Answer | None:
        """The first failing check's denial, or None; the decision is kept either way."""
        policies = user_policies(request.user)
        results: list[dict[str, Any]] = []
        denied: Answer | None = None
        for check in request.checks():
            try:
                decision = decide(policies, check)
            except PolicyError as error:
                decision = Decision(False, f"policy not evaluated: {error}")
            results.append(
                {
                    **asdict(check),
                    "context": {k: list(v) for k, v in check.context.items()},
                    **asdict(decision),
                }
            )
            if not decision.allowed and denied is None:
                denied = _denial(request.service, request.user.arn, check, decision)
        self._decisions.append({
            "user": request.user.name,
            "access_key": call["access_key"],
            "service": request.service,
            "operation": request.operation,
            "allowed": denied is None,
            "checks": results,
        })
        return denied
