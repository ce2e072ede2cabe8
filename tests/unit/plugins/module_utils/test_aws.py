"""The generic AWS call layer: operation names from botocore, error translation, pages, tags."""

from __future__ import annotations

import datetime

import boto3
import pytest
from botocore.exceptions import ClientError

from ansible_collections.keyless.aws.plugins.module_utils import _aws
from ansible_collections.keyless.aws.plugins.module_utils._errors import AwsApiError


def offline_client(service):
    return boto3.client(service, region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="y")


@pytest.mark.parametrize(
    ("service", "method", "operation"),
    [
        ("iam", "get_role", "GetRole"),
        ("iam", "list_instance_profiles_for_role", "ListInstanceProfilesForRole"),
        ("ec2", "describe_iam_instance_profile_associations", "DescribeIamInstanceProfileAssociations"),
        ("ec2", "run_instances", "RunInstances"),
    ],
)
def test_the_operation_is_named_by_botocore(service, method, operation):
    client = offline_client(service)
    assert _aws.operation_name(getattr(client, method)) == operation


def test_a_test_double_is_named_by_its_function():
    def delete_role(**_kwargs):
        return {}

    assert _aws.operation_name(delete_role) == "delete_role"


def test_errors_name_the_operation_and_keep_the_code():
    client = offline_client("iam")

    def refuse(**_params):
        raise ClientError({"Error": {"Code": "AccessDenied", "Message": "no"}}, "DeleteRole")

    client.meta.events.register("before-call.iam.DeleteRole", refuse)
    with pytest.raises(AwsApiError) as err:
        _aws.call(client.delete_role, RoleName="r")
    assert (err.value.operation, err.value.code) == ("DeleteRole", "AccessDenied")
    assert err.value.message.startswith("DeleteRole failed with AccessDenied")


def test_not_found_is_an_answer_for_reads_only(clients):
    assert _aws.read(clients.iam.get_role, RoleName="missing") is None
    with pytest.raises(AwsApiError, match="DeleteRole failed with NoSuchEntity"):
        _aws.call(clients.iam.delete_role, RoleName="missing")


def test_paginate_follows_every_page(clients):
    trust = '{"Version":"2012-10-17","Statement":[]}'
    for index in range(3):
        clients.iam.create_role(RoleName=f"r{index}", AssumeRolePolicyDocument=trust)
    names = [role["RoleName"] for role in _aws.paginate(clients.iam.list_roles, "Roles", MaxItems=1)]
    assert sorted(names) == ["r0", "r1", "r2"]


def test_tags_and_timestamps():
    assert _aws.tag_list({"b": "2", "a": "1"}) == [{"Key": "a", "Value": "1"}, {"Key": "b", "Value": "2"}]
    assert _aws.tag_dict([{"Key": "a", "Value": "1"}]) == {"a": "1"}
    assert _aws.tag_dict(None) == {}
    when = datetime.datetime(2026, 12, 1, tzinfo=datetime.UTC)
    assert _aws.iso(when) == "2026-12-01T00:00:00+00:00"
    assert _aws.iso(None) is None
