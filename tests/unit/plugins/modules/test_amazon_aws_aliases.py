"""A task written with amazon.aws's option names validates into keyless.aws's options.

Each case is the argument spec as Ansible checks it (aliases resolved, types converted), then the
behaviour's own validation, as a task with only its FQCN changed would run.
"""

from __future__ import annotations

from typing import Any

import pytest
from ansible.module_utils.common.arg_spec import ArgumentSpecValidator

from ansible_collections.keyless.aws.plugins.module_utils import _ec2_image_info as images
from ansible_collections.keyless.aws.plugins.module_utils import _iam_instance_profile as profile
from ansible_collections.keyless.aws.plugins.module_utils import _iam_role as role
from ansible_collections.keyless.aws.plugins.module_utils import _iam_role_policy as role_policy
from ansible_collections.keyless.aws.plugins.module_utils._errors import ValidationError
from ansible_collections.keyless.aws.plugins.module_utils._module import ModuleSpec

TRUST = '{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}]}'  # noqa: E501
BOUNDARY = "arn:aws:iam::123456789012:policy/boundary"
READ = (
    '{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}]}'
)


def validated(spec: ModuleSpec, params: dict[str, Any]) -> dict[str, Any]:
    """The parameters a module gets for ``params``, as Ansible validates them."""
    result = ArgumentSpecValidator(spec.argument_spec()).validate(params)
    assert result.error_messages == []
    return result.validated_parameters


@pytest.mark.parametrize("purge", ["purge_policies", "purge_policy"])
@pytest.mark.parametrize("prefix", ["prefix", "path_prefix"])
def test_iam_role_task_written_for_amazon_aws(purge, prefix):
    params = validated(
        role.SPEC,
        {
            "name": "r",
            prefix: "/app/",
            "assume_role_policy_document": TRUST,
            "boundary_policy_arn": BOUNDARY,
            "managed_policies": ["arn:aws:iam::aws:policy/ReadOnlyAccess"],
            purge: False,
        },
    )
    desired = role.desired_role(params)
    assert (desired.path, desired.permissions_boundary, desired.purge_managed_policies) == (
        "/app/",
        BOUNDARY,
        False,
    )
    assert desired.trust_policy["Statement"][0]["Principal"] == {"Service": "ec2.amazonaws.com"}


def test_iam_role_boundary_is_amazon_aws_name_too():
    params = validated(role.SPEC, {"name": "r", "boundary": BOUNDARY})
    assert role.desired_role(params).permissions_boundary == BOUNDARY


def test_iam_role_instance_profile_options_default_to_false_and_false_is_accepted():
    params = validated(role.SPEC, {"name": "r", "create_instance_profile": False})
    assert (params["create_instance_profile"], params["delete_instance_profile"]) == (False, False)
    role.desired_role(params)


@pytest.mark.parametrize(
    ("option", "pointer"),
    [
        ("create_instance_profile", "create it with keyless.aws.iam_instance_profile (name, role)"),
        ("delete_instance_profile", "delete it with keyless.aws.iam_instance_profile (state: absent)"),
    ],
)
@pytest.mark.parametrize("state", ["present", "absent"])
def test_iam_role_refuses_to_manage_an_instance_profile(option, pointer, state):
    params = validated(role.SPEC, {"name": "r", "state": state, option: True})
    with pytest.raises(ValidationError) as err:
        role.desired_role(params)
    assert err.value.field == option
    assert err.value.rule.startswith("must be false: keyless.aws.iam_role never")
    assert pointer in err.value.rule


def test_iam_policy_task_written_for_amazon_aws():
    params = validated(
        role_policy.SPEC,
        {
            "iam_type": "role",
            "iam_name": "r",
            "policy_name": "p",
            "policy_json": READ,
        },
    )
    desired = role_policy.desired_policy(params)
    assert (desired.role, desired.name, desired.state) == ("r", "p", "present")


def test_iam_type_defaults_to_role():
    params = validated(role_policy.SPEC, {"role": "r", "name": "p", "state": "absent"})
    assert params["iam_type"] == "role"
    role_policy.desired_policy(params)


@pytest.mark.parametrize("iam_type", ["user", "group", "Role"])
def test_iam_type_other_than_role_says_only_roles_are_managed(iam_type):
    params = validated(
        role_policy.SPEC, {"iam_type": iam_type, "iam_name": "u", "name": "p", "state": "absent"}
    )
    with pytest.raises(ValidationError) as err:
        role_policy.desired_policy(params)
    assert (err.value.field, err.value.rule) == (
        "iam_type",
        "must be role: keyless.aws manages the inline policies of roles only; "
        "users and groups are not managed by this collection",
    )


@pytest.mark.parametrize("prefix", ["prefix", "path_prefix"])
def test_iam_instance_profile_prefix_is_the_path(prefix):
    params = validated(profile.SPEC, {"name": "p", prefix: "/app/", "role": "r"})
    assert profile.desired_profile(params).path == "/app/"


def test_ec2_ami_info_task_written_for_amazon_aws():
    params = validated(images.SPEC, {"owner": "self", "image_id": "ami-12c6146b"})
    assert (params["owners"], params["image_ids"]) == (["self"], ["ami-12c6146b"])
    images.validate_image_params(params)
    assert {"Name": "image-id", "Values": ["ami-12c6146b"]} in images.image_filters(params)
