# Copyright: keyless.aws contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The least-privilege IAM policy of the controller that runs the keyless flow.

``controller_policy`` renders, for one role and instance profile in one account and region, the
identity policy that site.yml (provision, configure, verify_s3) and teardown.yml need on the
controller, and nothing more:

- IAM actions only on that role's and that profile's ARNs;
- ``iam:PassRole`` only of that role, and only to EC2 (``iam:PassedToService``);
- ``ec2:RunInstances`` only for instances that require IMDSv2 (``ec2:MetadataHttpTokens``) and
  carry the managed tag at launch (``aws:RequestTag``); tags only at launch (``ec2:CreateAction``);
- instance changes only on instances carrying the managed tag (``aws:ResourceTag``);
- the read-only Describe calls the modules make, on ``*`` (EC2 has no resource-level
  permissions for them).

The action lists are the calls the flow makes (tests/e2e/test_controller_policy.py runs site.yml
and teardown.yml in the sandbox with exactly this policy and compares them).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from ansible.errors import AnsibleFilterError

from ansible_collections.keyless.aws.plugins.filter.flow import partition
from ansible_collections.keyless.aws.plugins.module_utils._errors import ValidationError
from ansible_collections.keyless.aws.plugins.module_utils._validate import (
    validate_ec2_tags,
    validate_instance_profile_name,
    validate_path,
    validate_role_name,
)

ROLE_ACTIONS = (
    "iam:CreateRole",
    "iam:TagRole",
    "iam:GetRole",
    "iam:DeleteRole",
    "iam:PutRolePolicy",
    "iam:GetRolePolicy",
    "iam:ListRolePolicies",
    "iam:DeleteRolePolicy",
    "iam:ListAttachedRolePolicies",
    "iam:ListInstanceProfilesForRole",
)
PROFILE_ACTIONS = (
    "iam:CreateInstanceProfile",
    "iam:TagInstanceProfile",
    "iam:GetInstanceProfile",
    "iam:AddRoleToInstanceProfile",
    "iam:RemoveRoleFromInstanceProfile",
    "iam:DeleteInstanceProfile",
)
MANAGED_INSTANCE_ACTIONS = ("ec2:TerminateInstances",)
READ_ACTIONS = (
    "ec2:DescribeImages",
    "ec2:DescribeInstances",
    "ec2:DescribeInstanceAttribute",
)
# The other resources RunInstances is authorized on (Service Authorization Reference).
LAUNCH_RESOURCE_TYPES = (
    "subnet",
    "network-interface",
    "security-group",
    "volume",
    "key-pair",
    "placement-group",
)

_ACCOUNT = re.compile(r"^\d{12}$")
_REGION = re.compile(r"^[a-z]{2}(-[a-z]+)+-\d+$")


def _check(field: str, value: Any, validate: Callable[[Any, str], None]) -> Any:
    """``value`` as the modules' own input checks (module_utils/_validate.py) take it."""
    try:
        validate(value, field)
    except ValidationError as error:
        raise AnsibleFilterError(f"controller_policy: {field} {error.rule}, not {value!r}") from error
    return value


def _pattern(pattern: re.Pattern[str], rule: str) -> Callable[[Any, str], None]:
    def validate(value: Any, field: str) -> None:
        if not isinstance(value, str) or not pattern.match(value):
            raise ValidationError(field, rule)

    return validate


def controller_policy(
    role_name: Any,
    account_id: Any,
    region: Any,
    profile_name: Any = None,
    path: Any = "/",
    managed_tag_key: Any = "managed-by",
    managed_tag_value: Any = "keyless.aws",
) -> dict[str, Any]:
    """The policy document (a dict) for this role, profile, account and region."""
    role = _check("role_name", role_name, validate_role_name)
    profile = _check("profile_name", profile_name or role, validate_instance_profile_name)
    account = _check("account_id", str(account_id), _pattern(_ACCOUNT, "must be 12 digits"))
    region = _check("region", region, _pattern(_REGION, "must be a region name such as us-east-1"))
    path = _check("path", path, validate_path)
    # The tag as EC2 takes it on the instance (RunInstances' tags are EC2 tags).
    key = _check("managed_tag_key", managed_tag_key, lambda v, f: validate_ec2_tags({v: ""}, f))
    value = _check("managed_tag_value", managed_tag_value, lambda v, f: validate_ec2_tags({"k": v}, f))
    part = partition(region)
    role_arn = f"arn:{part}:iam::{account}:role{path}{role}"
    ec2 = f"arn:{part}:ec2:{region}:{account}"
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "ManageTheInstanceRole",
                "Effect": "Allow",
                "Action": list(ROLE_ACTIONS),
                "Resource": role_arn,
            },
            {
                "Sid": "ManageTheInstanceProfile",
                "Effect": "Allow",
                "Action": list(PROFILE_ACTIONS),
                "Resource": f"arn:{part}:iam::{account}:instance-profile{path}{profile}",
            },
            {
                "Sid": "PassTheInstanceRoleToEc2Only",
                "Effect": "Allow",
                "Action": "iam:PassRole",
                "Resource": role_arn,
                "Condition": {"StringEquals": {"iam:PassedToService": "ec2.amazonaws.com"}},
            },
            {
                "Sid": "LaunchOnlyImdsv2InstancesTaggedManaged",
                "Effect": "Allow",
                "Action": "ec2:RunInstances",
                "Resource": f"{ec2}:instance/*",
                "Condition": {
                    "StringEquals": {"ec2:MetadataHttpTokens": "required", f"aws:RequestTag/{key}": value}
                },
            },
            {
                "Sid": "LaunchWithTheseParts",
                "Effect": "Allow",
                "Action": "ec2:RunInstances",
                "Resource": [f"arn:{part}:ec2:{region}::image/*"]
                + [f"{ec2}:{kind}/*" for kind in LAUNCH_RESOURCE_TYPES],
            },
            {
                "Sid": "TagOnlyAtLaunch",
                "Effect": "Allow",
                "Action": "ec2:CreateTags",
                "Resource": [f"{ec2}:instance/*", f"{ec2}:volume/*"],
                "Condition": {"StringEquals": {"ec2:CreateAction": "RunInstances"}},
            },
            {
                "Sid": "ChangeOnlyManagedInstances",
                "Effect": "Allow",
                "Action": list(MANAGED_INSTANCE_ACTIONS),
                "Resource": f"{ec2}:instance/*",
                "Condition": {"StringEquals": {f"aws:ResourceTag/{key}": value}},
            },
            {"Sid": "ReadEc2", "Effect": "Allow", "Action": list(READ_ACTIONS), "Resource": "*"},
        ],
    }


class FilterModule:
    """keyless.aws.controller_policy."""

    def filters(self) -> dict[str, Any]:
        return {"controller_policy": controller_policy}
