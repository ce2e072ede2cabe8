# Internal use only: not a public API of keyless.aws; it may change without notice.
"""Thin IAM (and STS) calls: one function per API operation, errors translated, nothing decided here.

Reads return ``None`` for "not found"; every other error (AccessDenied included) raises
AwsApiError. Policy documents are returned as dicts (boto3 already URL-decodes them).
Arguments use one vocabulary: ``role`` and ``profile`` are names, ``policy_name`` an inline
policy's name, ``trust_policy`` and ``policy`` documents, ``arn`` a managed policy's ARN.
"""

from __future__ import annotations

import json
from typing import Any

from ansible_collections.keyless.aws.plugins.module_utils._aws import call, paginate, read, tag_list
from ansible_collections.keyless.aws.plugins.module_utils._policy import decode_policy

IAM = Any  # a botocore IAM client


def dump(doc: dict[str, Any]) -> str:
    return json.dumps(doc, separators=(",", ":"), sort_keys=True)


# --- roles -------------------------------------------------------------------------------


def get_role(iam: IAM, role: str) -> dict[str, Any] | None:
    answer = read(iam.get_role, RoleName=role)
    if answer is None:
        return None
    found = answer["Role"]
    found["AssumeRolePolicyDocument"] = decode_policy(found.get("AssumeRolePolicyDocument") or {})
    return found


def list_roles(iam: IAM, path_prefix: str) -> list[dict[str, Any]]:
    roles = list(paginate(iam.list_roles, "Roles", PathPrefix=path_prefix))
    for found in roles:
        found["AssumeRolePolicyDocument"] = decode_policy(found.get("AssumeRolePolicyDocument") or {})
    return roles


def create_role(
    iam: IAM,
    role: str,
    path: str,
    trust_policy: dict[str, Any],
    description: str | None = None,
    max_session_duration: int | None = None,
    permissions_boundary: str | None = None,
    tags: dict[str, str] | None = None,
) -> dict[str, Any]:
    kwargs: dict[str, Any] = {"RoleName": role, "Path": path, "AssumeRolePolicyDocument": dump(trust_policy)}
    if description is not None:
        kwargs["Description"] = description
    if max_session_duration is not None:
        kwargs["MaxSessionDuration"] = max_session_duration
    if permissions_boundary:
        kwargs["PermissionsBoundary"] = permissions_boundary
    if tags:
        kwargs["Tags"] = tag_list(tags)
    return call(iam.create_role, **kwargs)["Role"]


def update_assume_role_policy(iam: IAM, role: str, trust_policy: dict[str, Any]) -> None:
    call(
        iam.update_assume_role_policy,
        RoleName=role,
        PolicyDocument=dump(trust_policy),
    )


def update_role(iam: IAM, role: str, description: str | None, max_session_duration: int | None) -> None:
    kwargs: dict[str, Any] = {"RoleName": role}
    if description is not None:
        kwargs["Description"] = description
    if max_session_duration is not None:
        kwargs["MaxSessionDuration"] = max_session_duration
    call(iam.update_role, **kwargs)


def put_role_permissions_boundary(iam: IAM, role: str, arn: str) -> None:
    call(
        iam.put_role_permissions_boundary,
        RoleName=role,
        PermissionsBoundary=arn,
    )


def delete_role_permissions_boundary(iam: IAM, role: str) -> None:
    call(iam.delete_role_permissions_boundary, RoleName=role)


def tag_role(iam: IAM, role: str, tags: dict[str, str]) -> None:
    call(iam.tag_role, RoleName=role, Tags=tag_list(tags))


def untag_role(iam: IAM, role: str, keys: list[str]) -> None:
    call(iam.untag_role, RoleName=role, TagKeys=sorted(keys))


def delete_role(iam: IAM, role: str) -> None:
    call(iam.delete_role, RoleName=role)


# --- the caller (STS) ------------------------------------------------------------------------


def caller_arn(sts: Any) -> str:
    """The ARN of the identity making the calls (STS GetCallerIdentity; needs no permission)."""
    return call(sts.get_caller_identity)["Arn"]


# --- inline and managed policies ----------------------------------------------------------


def list_role_policy_names(iam: IAM, role: str) -> list[str]:
    return list(paginate(iam.list_role_policies, "PolicyNames", RoleName=role))


def get_role_policy(iam: IAM, role: str, policy_name: str) -> dict[str, Any] | None:
    answer = read(iam.get_role_policy, RoleName=role, PolicyName=policy_name)
    if answer is None:
        return None
    return decode_policy(answer["PolicyDocument"])


def put_role_policy(iam: IAM, role: str, policy_name: str, policy: dict[str, Any]) -> None:
    call(
        iam.put_role_policy,
        RoleName=role,
        PolicyName=policy_name,
        PolicyDocument=dump(policy),
    )


def delete_role_policy(iam: IAM, role: str, policy_name: str) -> None:
    call(iam.delete_role_policy, RoleName=role, PolicyName=policy_name)


def list_attached_role_policy_arns(iam: IAM, role: str) -> list[str]:
    attached = paginate(iam.list_attached_role_policies, "AttachedPolicies", RoleName=role)
    return [policy["PolicyArn"] for policy in attached]


def get_policy(iam: IAM, arn: str) -> dict[str, Any] | None:
    answer = read(iam.get_policy, PolicyArn=arn)
    return None if answer is None else answer["Policy"]


def attach_role_policy(iam: IAM, role: str, arn: str) -> None:
    call(iam.attach_role_policy, RoleName=role, PolicyArn=arn)


def detach_role_policy(iam: IAM, role: str, arn: str) -> None:
    call(iam.detach_role_policy, RoleName=role, PolicyArn=arn)


# --- instance profiles --------------------------------------------------------------------


def get_instance_profile(iam: IAM, profile: str) -> dict[str, Any] | None:
    answer = read(iam.get_instance_profile, InstanceProfileName=profile)
    return None if answer is None else answer["InstanceProfile"]


def list_instance_profiles_for_role(iam: IAM, role: str) -> list[dict[str, Any]]:
    return list(paginate(iam.list_instance_profiles_for_role, "InstanceProfiles", RoleName=role))


def create_instance_profile(iam: IAM, profile: str, path: str, tags: dict[str, str] | None) -> dict[str, Any]:
    kwargs: dict[str, Any] = {"InstanceProfileName": profile, "Path": path}
    if tags:
        kwargs["Tags"] = tag_list(tags)
    return call(iam.create_instance_profile, **kwargs)["InstanceProfile"]


def add_role_to_instance_profile(iam: IAM, profile: str, role: str) -> None:
    call(
        iam.add_role_to_instance_profile,
        InstanceProfileName=profile,
        RoleName=role,
    )


def remove_role_from_instance_profile(iam: IAM, profile: str, role: str) -> None:
    call(
        iam.remove_role_from_instance_profile,
        InstanceProfileName=profile,
        RoleName=role,
    )


def tag_instance_profile(iam: IAM, profile: str, tags: dict[str, str]) -> None:
    call(iam.tag_instance_profile, InstanceProfileName=profile, Tags=tag_list(tags))


def untag_instance_profile(iam: IAM, profile: str, keys: list[str]) -> None:
    call(iam.untag_instance_profile, InstanceProfileName=profile, TagKeys=sorted(keys))


def delete_instance_profile(iam: IAM, profile: str) -> None:
    call(iam.delete_instance_profile, InstanceProfileName=profile)
