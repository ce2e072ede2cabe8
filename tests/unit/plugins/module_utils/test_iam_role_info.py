from __future__ import annotations

import json

import pytest

from ansible_collections.keyless.aws.plugins.module_utils import _iam_role_info as _role_info
from ansible_collections.keyless.aws.plugins.module_utils._errors import ValidationError

TRUST = json.dumps(
    {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}
        ],
    }
)
POLICY = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}],
}


def test_one_role_with_everything_attached(clients):
    iam = clients.iam
    iam.create_role(
        RoleName="r", Path="/app/", AssumeRolePolicyDocument=TRUST, Tags=[{"Key": "k", "Value": "v"}]
    )
    iam.put_role_policy(RoleName="r", PolicyName="inline", PolicyDocument=json.dumps(POLICY))
    arn = iam.create_policy(PolicyName="managed", PolicyDocument=json.dumps(POLICY))["Policy"]["Arn"]
    iam.attach_role_policy(RoleName="r", PolicyArn=arn)
    iam.create_instance_profile(InstanceProfileName="p")
    iam.add_role_to_instance_profile(InstanceProfileName="p", RoleName="r")
    clients.reset()
    role = _role_info.run({"name": "r"}, clients, True, False)["roles"][0]
    assert role["assume_role_policy_document"]["Statement"][0]["Principal"] == {
        "Service": "ec2.amazonaws.com"
    }
    assert role["inline_policies"] == {"inline": POLICY}
    assert role["managed_policies"] == [arn]
    assert role["instance_profiles"][0]["instance_profile_name"] == "p"
    assert role["tags"] == {"k": "v"}
    assert clients.mutating() == []


def test_path_prefix_and_unknown_name(clients):
    clients.iam.create_role(RoleName="a", Path="/app/", AssumeRolePolicyDocument=TRUST)
    clients.iam.create_role(RoleName="b", Path="/other/", AssumeRolePolicyDocument=TRUST)
    names = [r["role_name"] for r in _role_info.run({"path_prefix": "/app/"}, clients, False, False)["roles"]]
    assert names == ["a"]
    assert _role_info.run({"name": "missing"}, clients, False, False)["roles"] == []


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"name": "bad name"}, "name"),
        ({"path_prefix": "/has space/"}, "path_prefix"),
        ({"path_prefix": "/caf\u00e9/"}, "path_prefix"),
    ],
)
def test_bad_input(params, field):
    with pytest.raises(ValidationError) as err:
        _role_info.validate_info_params(params)
    assert err.value.field == field


def test_a_prefix_of_slashes_only_is_the_root_path():
    assert _role_info.normalize_path_prefix("//") == "/"


def test_name_and_path_prefix_together_are_refused_by_the_spec():
    from ansible.module_utils.common.arg_spec import ArgumentSpecValidator

    spec = _role_info.SPEC
    outcome = ArgumentSpecValidator(spec.argument_spec(), **spec.spec_extras).validate(
        {"name": "a", "path_prefix": "/x/"}
    )
    assert "mutually exclusive: name|path_prefix" in outcome.errors.msg


# --- issue 12: a prefix without slashes, as ListRoles' model and amazon.aws accept -----------


@pytest.mark.parametrize(
    ("given", "sent"),
    [
        ("team", "/team/"),
        ("/team", "/team/"),
        ("team/", "/team/"),
        ("/team/", "/team/"),
        ("/", "/"),
        ("a/b", "/a/b/"),
        ("/XteamX/", "/XteamX/"),
        ("X", "/X/"),
    ],
)
def test_path_prefix_is_normalized_to_a_whole_path(given, sent):
    assert _role_info.normalize_path_prefix(given) == sent


def test_path_prefix_without_slashes_finds_the_roles_under_it(clients):
    clients.iam.create_role(RoleName="a", Path="/team/", AssumeRolePolicyDocument=TRUST)
    clients.iam.create_role(RoleName="b", Path="/teamwork/", AssumeRolePolicyDocument=TRUST)
    roles = _role_info.run({"path_prefix": "team"}, clients, False, False)["roles"]
    assert [r["role_name"] for r in roles] == ["a"]


def test_each_instance_profile_of_the_role_is_listed_with_its_arn_and_path(clients):
    iam = clients.iam
    iam.create_role(RoleName="r", AssumeRolePolicyDocument=TRUST)
    profiles = {}
    for name, path in (("p1", "/app/"), ("p2", "/")):
        profiles[name] = iam.create_instance_profile(InstanceProfileName=name, Path=path)["InstanceProfile"]
        iam.add_role_to_instance_profile(InstanceProfileName=name, RoleName="r")
    role = _role_info.run({"name": "r"}, clients, False, False)["roles"][0]
    assert sorted(role["instance_profiles"], key=lambda p: p["instance_profile_name"]) == [
        {"instance_profile_name": "p1", "arn": profiles["p1"]["Arn"], "path": "/app/"},
        {"instance_profile_name": "p2", "arn": profiles["p2"]["Arn"], "path": "/"},
    ]


def test_without_name_or_prefix_every_role_is_listed_whatever_its_path(clients):
    clients.iam.create_role(RoleName="a", Path="/app/", AssumeRolePolicyDocument=TRUST)
    clients.iam.create_role(RoleName="b", AssumeRolePolicyDocument=TRUST)
    roles = _role_info.run({"name": None, "path_prefix": None}, clients, False, False)["roles"]
    assert sorted((r["role_name"], r["path"]) for r in roles) == [("a", "/app/"), ("b", "/")]


def test_a_listed_role_shows_what_only_get_role_answers_and_nothing_changes(clients):
    """ListRoles omits tags and the permissions boundary: each listed role is read with GetRole."""
    iam = clients.iam
    boundary = iam.create_policy(PolicyName="boundary", PolicyDocument=json.dumps(POLICY))["Policy"]["Arn"]
    iam.create_role(
        RoleName="a",
        Path="/app/",
        AssumeRolePolicyDocument=TRUST,
        Tags=[{"Key": "k", "Value": "v"}],
        PermissionsBoundary=boundary,
    )
    result = _role_info.run({"path_prefix": "app"}, clients, False, False)
    assert result["changed"] is False
    [role] = result["roles"]
    assert (role["tags"], role["permissions_boundary"]) == ({"k": "v"}, boundary)
