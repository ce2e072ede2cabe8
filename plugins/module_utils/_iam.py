# Internal use only: not a public API of keyless.aws; it may change without notice.
"""Thin IAM calls: one function per API operation, errors translated, nothing decided here.

Reads return ``None`` for "not found"; every other error (AccessDenied included) raises
AwsApiError. Policy documents are returned as dicts (boto3 already URL-decodes them).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

from ansible_collections.keyless.aws.plugins.module_utils._errors import is_not_found, translate
from ansible_collections.keyless.aws.plugins.module_utils._policy import decode_policy

IAM = Any  # a botocore IAM client


def call(operation: str, method: Callable[..., dict[str, Any]], **kwargs: Any) -> dict[str, Any]:
    """Invoke one API operation; any failure becomes AwsApiError naming the operation."""
    try:
        return method(**kwargs)
    except Exception as err:
        if not _is_aws_error(err):
            raise
        raise translate(err, operation) from err


def read(operation: str, method: Callable[..., dict[str, Any]], **kwargs: Any) -> dict[str, Any] | None:
    """Like ``call`` but "not found" is an answer (None), not an error."""
    try:
        return method(**kwargs)
    except Exception as err:
        if is_not_found(err):
            return None
        if not _is_aws_error(err):
            raise
        raise translate(err, operation) from err


def paginate(iam: IAM, operation: str, key: str, **kwargs: Any) -> Iterator[dict[str, Any]]:
    """Yield every item of a paginated IAM listing."""
    paginator = iam.get_paginator(snake_case(operation))
    try:
        for page in paginator.paginate(**kwargs):
            yield from page.get(key, [])
    except Exception as err:
        if not _is_aws_error(err):
            raise
        raise translate(err, operation) from err


def _is_aws_error(err: Exception) -> bool:
    """botocore's ClientError and BotoCoreError family; anything else is a bug, left to surface."""
    return hasattr(err, "response") or type(err).__module__.startswith("botocore")


def snake_case(operation: str) -> str:
    return "".join(f"_{c.lower()}" if c.isupper() else c for c in operation).lstrip("_")


def tag_list(tags: dict[str, str]) -> list[dict[str, str]]:
    return [{"Key": key, "Value": value} for key, value in sorted(tags.items())]


def tag_dict(tags: list[dict[str, str]] | None) -> dict[str, str]:
    return {tag["Key"]: tag["Value"] for tag in tags or []}


def dump(doc: dict[str, Any]) -> str:
    return json.dumps(doc, separators=(",", ":"), sort_keys=True)


# --- roles -------------------------------------------------------------------------------


def get_role(iam: IAM, name: str) -> dict[str, Any] | None:
    answer = read("GetRole", iam.get_role, RoleName=name)
    if answer is None:
        return None
    role = answer["Role"]
    role["AssumeRolePolicyDocument"] = decode_policy(role.get("AssumeRolePolicyDocument") or {})
    return role


def list_roles(iam: IAM, path_prefix: str) -> list[dict[str, Any]]:
    roles = list(paginate(iam, "ListRoles", "Roles", PathPrefix=path_prefix))
    for role in roles:
        role["AssumeRolePolicyDocument"] = decode_policy(role.get("AssumeRolePolicyDocument") or {})
    return roles


def create_role(iam: IAM, name: str, path: str, trust: dict[str, Any], **optional: Any) -> dict[str, Any]:
    kwargs: dict[str, Any] = {"RoleName": name, "Path": path, "AssumeRolePolicyDocument": dump(trust)}
    if optional.get("description") is not None:
        kwargs["Description"] = optional["description"]
    if optional.get("max_session_duration") is not None:
        kwargs["MaxSessionDuration"] = optional["max_session_duration"]
    if optional.get("permissions_boundary"):
        kwargs["PermissionsBoundary"] = optional["permissions_boundary"]
    if optional.get("tags"):
        kwargs["Tags"] = tag_list(optional["tags"])
    return call("CreateRole", iam.create_role, **kwargs)["Role"]


def update_assume_role_policy(iam: IAM, name: str, trust: dict[str, Any]) -> None:
    call("UpdateAssumeRolePolicy", iam.update_assume_role_policy, RoleName=name, PolicyDocument=dump(trust))


def update_role(iam: IAM, name: str, description: str | None, max_session_duration: int | None) -> None:
    kwargs: dict[str, Any] = {"RoleName": name}
    if description is not None:
        kwargs["Description"] = description
    if max_session_duration is not None:
        kwargs["MaxSessionDuration"] = max_session_duration
    call("UpdateRole", iam.update_role, **kwargs)


def put_role_permissions_boundary(iam: IAM, name: str, arn: str) -> None:
    call(
        "PutRolePermissionsBoundary",
        iam.put_role_permissions_boundary,
        RoleName=name,
        PermissionsBoundary=arn,
    )


def delete_role_permissions_boundary(iam: IAM, name: str) -> None:
    call("DeleteRolePermissionsBoundary", iam.delete_role_permissions_boundary, RoleName=name)


def tag_role(iam: IAM, name: str, tags: dict[str, str]) -> None:
    call("TagRole", iam.tag_role, RoleName=name, Tags=tag_list(tags))


def untag_role(iam: IAM, name: str, keys: list[str]) -> None:
    call("UntagRole", iam.untag_role, RoleName=name, TagKeys=sorted(keys))


def delete_role(iam: IAM, name: str) -> None:
    call("DeleteRole", iam.delete_role, RoleName=name)


# --- inline and managed policies ----------------------------------------------------------


def list_role_policy_names(iam: IAM, role: str) -> list[str]:
    return list(paginate(iam, "ListRolePolicies", "PolicyNames", RoleName=role))


def get_role_policy(iam: IAM, role: str, name: str) -> dict[str, Any] | None:
    answer = read("GetRolePolicy", iam.get_role_policy, RoleName=role, PolicyName=name)
    if answer is None:
        return None
    return decode_policy(answer["PolicyDocument"])


def put_role_policy(iam: IAM, role: str, name: str, policy: dict[str, Any]) -> None:
    call("PutRolePolicy", iam.put_role_policy, RoleName=role, PolicyName=name, PolicyDocument=dump(policy))


def delete_role_policy(iam: IAM, role: str, name: str) -> None:
    call("DeleteRolePolicy", iam.delete_role_policy, RoleName=role, PolicyName=name)


def list_attached_role_policy_arns(iam: IAM, role: str) -> list[str]:
    attached = paginate(iam, "ListAttachedRolePolicies", "AttachedPolicies", RoleName=role)
    return [policy["PolicyArn"] for policy in attached]


def get_policy(iam: IAM, arn: str) -> dict[str, Any] | None:
    answer = read("GetPolicy", iam.get_policy, PolicyArn=arn)
    return None if answer is None else answer["Policy"]


def attach_role_policy(iam: IAM, role: str, arn: str) -> None:
    call("AttachRolePolicy", iam.attach_role_policy, RoleName=role, PolicyArn=arn)


def detach_role_policy(iam: IAM, role: str, arn: str) -> None:
    call("DetachRolePolicy", iam.detach_role_policy, RoleName=role, PolicyArn=arn)


# --- instance profiles --------------------------------------------------------------------


def get_instance_profile(iam: IAM, name: str) -> dict[str, Any] | None:
    answer = read("GetInstanceProfile", iam.get_instance_profile, InstanceProfileName=name)
    return None if answer is None else answer["InstanceProfile"]


def list_instance_profiles_for_role(iam: IAM, role: str) -> list[dict[str, Any]]:
    return list(paginate(iam, "ListInstanceProfilesForRole", "InstanceProfiles", RoleName=role))


def create_instance_profile(iam: IAM, name: str, path: str, tags: dict[str, str] | None) -> dict[str, Any]:
    kwargs: dict[str, Any] = {"InstanceProfileName": name, "Path": path}
    if tags:
        kwargs["Tags"] = tag_list(tags)
    return call("CreateInstanceProfile", iam.create_instance_profile, **kwargs)["InstanceProfile"]


def add_role_to_instance_profile(iam: IAM, profile: str, role: str) -> None:
    call(
        "AddRoleToInstanceProfile",
        iam.add_role_to_instance_profile,
        InstanceProfileName=profile,
        RoleName=role,
    )


def remove_role_from_instance_profile(iam: IAM, profile: str, role: str) -> None:
    call(
        "RemoveRoleFromInstanceProfile",
        iam.remove_role_from_instance_profile,
        InstanceProfileName=profile,
        RoleName=role,
    )


def tag_instance_profile(iam: IAM, name: str, tags: dict[str, str]) -> None:
    call("TagInstanceProfile", iam.tag_instance_profile, InstanceProfileName=name, Tags=tag_list(tags))


def untag_instance_profile(iam: IAM, name: str, keys: list[str]) -> None:
    call("UntagInstanceProfile", iam.untag_instance_profile, InstanceProfileName=name, TagKeys=sorted(keys))


def delete_instance_profile(iam: IAM, name: str) -> None:
    call("DeleteInstanceProfile", iam.delete_instance_profile, InstanceProfileName=name)
