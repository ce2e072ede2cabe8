from __future__ import annotations

import pytest

from ansible_collections.keyless.aws.plugins.module_utils import _iam_instance_profile as ip
from ansible_collections.keyless.aws.plugins.module_utils._errors import KeylessAwsError, ValidationError

TRUST = (
    '{"Version":"2012-10-17","Statement":[{"Effect":"Allow",'
    '"Principal":{"Service":"ec2.amazonaws.com"},"Action":"sts:AssumeRole"}]}'
)


def params(**overrides):
    base = {key: option.get("default") for key, option in ip.OPTIONS.items()}
    base.update(name="app-profile")
    base.update(overrides)
    return base


def ops(actions):
    return [action.operation for action in actions]


@pytest.mark.parametrize(
    ("current", "wanted", "expected_ops", "expected_roles"),
    [
        ([], None, [], []),
        (["a"], None, [], ["a"]),
        ([], "a", ["AddRoleToInstanceProfile"], ["a"]),
        (["a"], "a", [], ["a"]),
        (["a"], "b", ["RemoveRoleFromInstanceProfile", "AddRoleToInstanceProfile"], ["b"]),
        (["a"], "", ["RemoveRoleFromInstanceProfile"], []),
        ([], "", [], []),
    ],
)
def test_role_membership_decisions(current, wanted, expected_ops, expected_roles):
    actions, roles = ip.plan_roles("p", current, wanted)
    assert ops(actions) == expected_ops
    assert roles == expected_roles


def test_swap_removes_before_adding():
    actions, _unused = ip.plan_roles("p", ["old"], "new")
    assert [a.args["role"] for a in actions] == ["old", "new"]


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"name": "has space"}, "name"),
        ({"name": "p" * 129}, "name"),
        ({"role": "bad/role"}, "role"),
        ({"path": "/no-trailing"}, "path"),
        ({"tags": {"k" * 129: "v"}}, "tags"),
    ],
)
def test_bad_input_names_the_field(overrides, field):
    with pytest.raises(ValidationError) as err:
        ip.desired_profile(params(**overrides))
    assert err.value.field.startswith(field)


def make_role(clients, name):
    clients.iam.create_role(RoleName=name, AssumeRolePolicyDocument=TRUST)


def test_create_noop_swap_and_empty(clients):
    make_role(clients, "r1")
    make_role(clients, "r2")
    created = ip.run(params(role="r1", tags={"a": "1"}), clients, False, True)
    assert created["changed"] is True
    assert created["instance_profile"]["role"] == "r1"
    assert created["instance_profile"]["arn"].endswith(":instance-profile/app-profile")
    clients.reset()
    assert ip.run(params(role="r1", tags={"a": "1"}), clients, False, False)["changed"] is False
    assert clients.calls == ["GetInstanceProfile"]
    swapped = ip.run(params(role="r2"), clients, False, True)
    assert swapped["operations"] == ["RemoveRoleFromInstanceProfile", "AddRoleToInstanceProfile"]
    assert swapped["diff"]["before"]["roles"] == ["r1"]
    assert swapped["diff"]["after"]["roles"] == ["r2"]
    emptied = ip.run(params(role=""), clients, False, False)
    assert emptied["instance_profile"]["roles"] == []


def test_check_mode_never_mutates(clients):
    make_role(clients, "r1")
    make_role(clients, "r2")
    clients.reset()
    assert ip.run(params(role="r1"), clients, True, True)["changed"] is True
    assert clients.mutating() == []
    ip.run(params(role="r1"), clients, False, False)
    clients.reset()
    for variant in (params(role="r2"), params(role=""), params(tags={"x": "y"}), params(state="absent")):
        result = ip.run(variant, clients, True, True)
        assert result["changed"] is True
        assert clients.mutating() == [], variant
    assert clients.iam.get_instance_profile(InstanceProfileName="app-profile")["InstanceProfile"]["Roles"]


def test_delete_refuses_while_an_instance_uses_it(clients):
    make_role(clients, "r1")
    profile = ip.run(params(role="r1"), clients, False, False)["instance_profile"]
    ec2 = clients.ec2
    instance = ec2.run_instances(
        ImageId="ami-12345678",
        MinCount=1,
        MaxCount=1,
        IamInstanceProfile={"Arn": profile["arn"]},
    )["Instances"][0]["InstanceId"]
    with pytest.raises(KeylessAwsError, match=f"in use by EC2 instance\\(s\\) {instance}.*force: true"):
        ip.run(params(state="absent"), clients, False, False)
    assert clients.iam.get_instance_profile(InstanceProfileName="app-profile")
    forced = ip.run(params(state="absent", force=True), clients, False, False)
    assert forced["operations"] == ["RemoveRoleFromInstanceProfile", "DeleteInstanceProfile"]
    assert ip.run(params(state="absent"), clients, False, False)["changed"] is False
