"""The sandbox's authorizer names a request's checks as AWS does (moto in-process)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import authorize
import boto3
import pytest
from moto import mock_aws
from policy_eval import Check

REGION = "us-east-1"
ACCOUNT = "123456789012"
TRUST = json.dumps(
    {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}
        ],
    }
)


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, Any]]:
    for var in ("AWS_PROFILE", "AWS_ENDPOINT_URL"):
        monkeypatch.delenv(var, raising=False)
    with mock_aws():
        iam = boto3.client("iam", region_name=REGION)
        ec2 = boto3.client("ec2", region_name=REGION)
        iam.create_user(
            UserName="governed", Tags=[{"Key": authorize.GOVERNED_TAG[0], "Value": authorize.GOVERNED_TAG[1]}]
        )
        iam.create_user(UserName="plain")
        keys = {
            name: iam.create_access_key(UserName=name)["AccessKey"]["AccessKeyId"]
            for name in ("governed", "plain")
        }
        yield {"iam": iam, "ec2": ec2, "keys": keys}


def request(aws: dict[str, Any], service: str, operation: str, params: dict[str, str]) -> list[Check]:
    found = authorize.governed_user(aws["keys"]["governed"])
    assert found is not None
    backend, user = found
    return authorize.Request(backend, user, service, operation, REGION, params).checks()


def test_only_a_tagged_users_keys_are_governed(aws: dict[str, Any]) -> None:
    assert authorize.governed_user(aws["keys"]["governed"])[1].name == "governed"  # type: ignore[index]
    assert authorize.governed_user(aws["keys"]["plain"]) is None
    assert authorize.governed_user("AKIANOSUCHKEY0000000") is None


def test_create_role_is_checked_on_the_new_roles_arn_and_tagging_it_too(aws: dict[str, Any]) -> None:
    checks = request(
        aws,
        "iam",
        "CreateRole",
        {"RoleName": "app", "Path": "/keyless/", "Tags.member.1.Key": "team", "Tags.member.1.Value": "ops"},
    )
    arn = f"arn:aws:iam::{ACCOUNT}:role/keyless/app"
    assert [(c.action, c.resource) for c in checks] == [("iam:CreateRole", arn), ("iam:TagRole", arn)]
    assert checks[1].context["aws:RequestTag/team"] == ("ops",)
    assert checks[1].context["aws:TagKeys"] == ("team",)


def test_adding_a_role_to_a_profile_passes_it_to_ec2(aws: dict[str, Any]) -> None:
    aws["iam"].create_role(RoleName="app", AssumeRolePolicyDocument=TRUST, Path="/x/")
    checks = request(aws, "iam", "AddRoleToInstanceProfile", {"InstanceProfileName": "p", "RoleName": "app"})
    assert [(c.action, c.resource) for c in checks] == [
        ("iam:AddRoleToInstanceProfile", f"arn:aws:iam::{ACCOUNT}:instance-profile/p"),
        ("iam:PassRole", f"arn:aws:iam::{ACCOUNT}:role/x/app"),
    ]
    assert checks[1].context["iam:PassedToService"] == ("ec2.amazonaws.com",)


def test_run_instances_checks_every_resource_the_launch_touches(aws: dict[str, Any]) -> None:
    aws["iam"].create_role(RoleName="app", AssumeRolePolicyDocument=TRUST)
    aws["iam"].create_instance_profile(InstanceProfileName="p")
    aws["iam"].add_role_to_instance_profile(InstanceProfileName="p", RoleName="app")
    params = {
        "ImageId": "ami-1",
        "InstanceType": "t3.micro",
        "KeyName": "k",
        "SubnetId": "subnet-1",
        "SecurityGroupId.1": "sg-1",
        "IamInstanceProfile.Name": "p",
        "TagSpecification.1.ResourceType": "instance",
        "TagSpecification.1.Tag.1.Key": "managed-by",
        "TagSpecification.1.Tag.1.Value": "keyless.aws",
    }
    checks = request(aws, "ec2", "RunInstances", params)
    ec2 = f"arn:aws:ec2:{REGION}:{ACCOUNT}"
    assert [(c.action, c.resource) for c in checks] == [
        ("ec2:RunInstances", f"{ec2}:instance/*"),
        ("ec2:RunInstances", f"arn:aws:ec2:{REGION}::image/ami-1"),
        ("ec2:RunInstances", f"{ec2}:subnet/subnet-1"),
        ("ec2:RunInstances", f"{ec2}:network-interface/*"),
        ("ec2:RunInstances", f"{ec2}:security-group/sg-1"),
        ("ec2:RunInstances", f"{ec2}:volume/*"),
        ("ec2:RunInstances", f"{ec2}:key-pair/k"),
        ("iam:PassRole", f"arn:aws:iam::{ACCOUNT}:role/app"),
        ("ec2:CreateTags", f"{ec2}:instance/*"),
    ]
    instance = checks[0].context
    # Without MetadataOptions EC2 launches with HttpTokens optional: the key says so.
    assert instance["ec2:MetadataHttpTokens"] == ("optional",)
    assert instance["aws:RequestTag/managed-by"] == ("keyless.aws",)
    assert checks[-1].context["ec2:CreateAction"] == ("RunInstances",)
    required = request(aws, "ec2", "RunInstances", {**params, "MetadataOptions.HttpTokens": "required"})
    assert required[0].context["ec2:MetadataHttpTokens"] == ("required",)


def test_instance_changes_carry_the_instances_tags(aws: dict[str, Any]) -> None:
    image = aws["ec2"].describe_images(Owners=["099720109477"])["Images"][0]["ImageId"]
    launched = aws["ec2"].run_instances(
        ImageId=image,
        MinCount=1,
        MaxCount=1,
        TagSpecifications=[
            {"ResourceType": "instance", "Tags": [{"Key": "managed-by", "Value": "keyless.aws"}]}
        ],
    )
    instance_id = launched["Instances"][0]["InstanceId"]
    checks = request(aws, "ec2", "TerminateInstances", {"InstanceId.1": instance_id})
    assert [(c.action, c.resource) for c in checks] == [
        ("ec2:TerminateInstances", f"arn:aws:ec2:{REGION}:{ACCOUNT}:instance/{instance_id}")
    ]
    assert checks[0].context["aws:ResourceTag/managed-by"] == ("keyless.aws",)
    assert [c.resource for c in request(aws, "ec2", "DescribeInstances", {})] == ["*"]
    assert request(aws, "sts", "GetCallerIdentity", {}) == []
