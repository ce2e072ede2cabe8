"""The controller's policy: scoped ARNs, conditions, input checks, and the shipped copy."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.keyless.aws.plugins.filter.controller_policy import FilterModule, controller_policy

REPO = Path(__file__).resolve().parents[4]


def statement(policy: dict[str, Any], sid: str) -> dict[str, Any]:
    return next(item for item in policy["Statement"] if item["Sid"] == sid)


def test_the_filter_is_exported() -> None:
    assert FilterModule().filters() == {"controller_policy": controller_policy}


def test_iam_actions_name_only_the_role_and_the_profile() -> None:
    policy = controller_policy("app-role", "111122223333", "eu-west-1", "app-profile")
    assert statement(policy, "ManageTheInstanceRole")["Resource"] == "arn:aws:iam::111122223333:role/app-role"
    assert statement(policy, "ManageTheInstanceProfile")["Resource"] == (
        "arn:aws:iam::111122223333:instance-profile/app-profile"
    )
    for item in policy["Statement"]:
        actions = item["Action"] if isinstance(item["Action"], list) else [item["Action"]]
        assert all("*" not in action for action in actions), item
        if any(action.startswith("iam:") for action in actions):
            assert item["Resource"] != "*", item


def test_pass_role_only_that_role_only_to_ec2() -> None:
    item = statement(controller_policy("r", "111122223333", "us-east-1"), "PassTheInstanceRoleToEc2Only")
    assert item["Action"] == "iam:PassRole"
    assert item["Resource"] == "arn:aws:iam::111122223333:role/r"
    assert item["Condition"] == {"StringEquals": {"iam:PassedToService": "ec2.amazonaws.com"}}


def test_launch_requires_imdsv2_and_the_managed_tag() -> None:
    policy = controller_policy(
        "r", "111122223333", "us-east-1", managed_tag_key="owner", managed_tag_value="ops"
    )
    launch = statement(policy, "LaunchOnlyImdsv2InstancesTaggedManaged")
    assert launch["Resource"] == "arn:aws:ec2:us-east-1:111122223333:instance/*"
    assert launch["Condition"] == {
        "StringEquals": {"ec2:MetadataHttpTokens": "required", "aws:RequestTag/owner": "ops"}
    }
    change = statement(policy, "ChangeOnlyManagedInstances")
    assert change["Condition"] == {"StringEquals": {"aws:ResourceTag/owner": "ops"}}
    assert statement(policy, "TagOnlyAtLaunch")["Condition"] == {
        "StringEquals": {"ec2:CreateAction": "RunInstances"}
    }


def test_partition_and_path_follow_the_inputs() -> None:
    policy = controller_policy("r", "111122223333", "cn-north-1", path="/keyless/")
    assert (
        statement(policy, "ManageTheInstanceRole")["Resource"]
        == "arn:aws-cn:iam::111122223333:role/keyless/r"
    )
    assert statement(policy, "ManageTheInstanceProfile")["Resource"].endswith(":instance-profile/keyless/r")
    assert "arn:aws-cn:ec2:cn-north-1::image/*" in statement(policy, "LaunchWithTheseParts")["Resource"]


@pytest.mark.parametrize(
    ("args", "kwargs", "field"),
    [
        (("", "111122223333", "us-east-1"), {}, "role_name"),
        (("a" * 65, "111122223333", "us-east-1"), {}, "role_name"),
        (("role*", "111122223333", "us-east-1"), {}, "role_name"),
        (("r", "1111", "us-east-1"), {}, "account_id"),
        (("r", "111122223333", "*"), {}, "region"),
        (("r", "111122223333", "us-east-1"), {"profile_name": "p/q"}, "profile_name"),
        (("r", "111122223333", "us-east-1"), {"path": "keyless"}, "path"),
        (("r", "111122223333", "us-east-1"), {"managed_tag_key": "aws:owner"}, "managed_tag_key"),
        (("r", "111122223333", "us-east-1"), {"managed_tag_key": ""}, "managed_tag_key"),
    ],
)
def test_bad_input_names_the_field(args: tuple[str, ...], kwargs: dict[str, str], field: str) -> None:
    with pytest.raises(AnsibleFilterError, match=f"controller_policy: {field} "):
        controller_policy(*args, **kwargs)


def test_the_shipped_copy_is_the_rendering_for_the_defaults() -> None:
    shipped = json.loads((REPO / "docs" / "controller-policy.json").read_text())
    assert shipped == controller_policy("logsbucket-role", "111122223333", "us-east-1", "logsbucket-profile")
