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


# --- issue 12: path is left as it is unless given ----------------------------------------------


def current_profile(**overrides):
    view = {
        "instance_profile_name": "app-profile",
        "instance_profile_id": "AIPAEXAMPLE",
        "arn": "arn:aws:iam::123456789012:instance-profile/team/app-profile",
        "path": "/team/",
        "role": None,
        "roles": [],
        "tags": {},
        "create_date": "2026-01-01T00:00:00+00:00",
    }
    view.update(overrides)
    return view


def test_update_without_path_keeps_the_existing_path():
    desired = ip.desired_profile(params(path=None, tags={"team": "b"}))
    actions, predicted = ip.plan_update(current_profile(), desired)
    assert ops(actions) == ["TagInstanceProfile"]
    assert predicted["path"] == "/team/"


def test_create_without_path_uses_slash():
    actions, predicted = ip.plan_create(ip.desired_profile(params(path=None)))
    assert actions[0].args["path"] == "/"
    assert predicted["path"] == "/"


def test_different_path_on_an_existing_profile_is_refused():
    with pytest.raises(
        ValidationError, match=r"^path: cannot change on an existing instance profile \(it is /team/\)"
    ):
        ip.plan_update(current_profile(), ip.desired_profile(params(path="/")))


def test_path_option_has_no_default():
    assert "default" not in ip.OPTIONS["path"]


def test_diff_view_shows_the_profile_as_it_is():
    view = ip.InstanceProfileResource.diff_view(None, current_profile(roles=["r"]))  # type: ignore[arg-type]
    assert view == {"instance_profile_name": "app-profile", "path": "/team/", "roles": ["r"], "tags": {}}
