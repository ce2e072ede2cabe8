from __future__ import annotations

import json

import pytest

from ansible_collections.keyless.aws.plugins.module_utils import _iam_role_policy as rp
from ansible_collections.keyless.aws.plugins.module_utils._errors import ValidationError

TRUST = (
    '{"Version":"2012-10-17","Statement":[{"Effect":"Allow",'
    '"Principal":{"Service":"ec2.amazonaws.com"},"Action":"sts:AssumeRole"}]}'
)
POLICY = {
    "Version": "2012-10-17",
    "Statement": [
        {"Effect": "Allow", "Action": ["s3:PutObject", "s3:GetObject"], "Resource": "arn:aws:s3:::b/*"}
    ],
}
REORDERED = {
    "Statement": {
        "Resource": ["arn:aws:s3:::b/*"],
        "Action": ["S3:GetObject", "s3:putobject"],
        "Effect": "Allow",
    },
    "Version": "2012-10-17",
}


def params(**overrides):
    base = {"role": "app-role", "name": "Bucket", "policy": POLICY, "state": "present"}
    base.update(overrides)
    return base


def test_plan_is_pure_and_semantic():
    desired = rp.desired_policy(params())
    assert [a.operation for a in rp.plan(None, desired)] == ["PutRolePolicy"]
    assert rp.plan(REORDERED, desired) == []
    edited = json.loads(json.dumps(POLICY))
    edited["Statement"][0]["Action"].append("s3:DeleteObject")
    assert [a.operation for a in rp.plan(edited, desired)] == ["PutRolePolicy"]
    absent = rp.desired_policy(params(state="absent", policy=None))
    assert rp.plan(None, absent) == []
    assert [a.operation for a in rp.plan(POLICY, absent)] == ["DeleteRolePolicy"]


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"policy": None}, "policy: is required when state is present"),
        ({"policy": "[]"}, "policy: must be a JSON object, not list"),
        (
            {
                "policy": {
                    "Version": "2012-10-17",
                    "Statement": [{"Effect": "Allow", "Action": "s3:GetObject"}],
                }
            },
            "policy.Statement[0]: must contain exactly one of Resource or NotResource (found neither)",
        ),
        ({"role": ""}, "role: must not be empty"),
        (
            {"name": "no spaces allowed"},
            "name: must contain only ASCII letters, digits and _+=,.@- (found ' ')",
        ),
    ],
)
def test_bad_input_names_the_field_and_the_rule(overrides, message):
    with pytest.raises(ValidationError) as err:
        rp.desired_policy(params(**overrides))
    assert str(err.value) == message


def test_state_left_out_is_present():
    assert rp.desired_policy({"role": "app-role", "name": "Bucket", "policy": POLICY}).state == "present"


def test_check_mode_results_predict_the_policy_and_its_removal(clients):
    missing_role = rp.run(params(), clients, True, False)
    assert missing_role == {
        "changed": True,
        "role_name": "app-role",
        "policy_name": "Bucket",
        "policy": POLICY,
        "operations": ["PutRolePolicy"],
        "warnings": ["role app-role does not exist yet; assuming an earlier task creates it"],
    }
    clients.iam.create_role(RoleName="app-role", AssumeRolePolicyDocument=TRUST)
    rp.run(params(), clients, False, False)
    clients.reset()
    # A policy given with state=absent is not what the role ends with.
    removal = rp.run(params(state="absent", policy=POLICY), clients, True, False)
    assert removal == {
        "changed": True,
        "role_name": "app-role",
        "policy_name": "Bucket",
        "policy": None,
        "operations": ["DeleteRolePolicy"],
    }
    assert clients.mutating() == []


def test_run_put_noop_delete_and_check_mode(clients):
    clients.iam.create_role(RoleName="app-role", AssumeRolePolicyDocument=TRUST)
    clients.reset()
    checked = rp.run(params(), clients, True, True)
    assert checked["changed"] is True
    assert checked["diff"]["before"] == {}
    assert clients.mutating() == []
    assert rp.run(params(), clients, False, False)["changed"] is True
    clients.reset()
    again = rp.run(params(policy=json.dumps(REORDERED)), clients, False, False)
    assert again["changed"] is False
    assert clients.calls == ["GetRolePolicy"]
    assert rp.run(params(state="absent", policy=None), clients, True, False)["changed"] is True
    assert clients.mutating() == []
    assert rp.run(params(state="absent", policy=None), clients, False, False)["changed"] is True
    assert rp.run(params(state="absent", policy=None), clients, False, False)["changed"] is False


def test_missing_role_is_a_clear_error_but_predicted_in_check_mode(clients):
    with pytest.raises(ValidationError, match="role: role app-role does not exist"):
        rp.run(params(), clients, False, False)
    checked = rp.run(params(), clients, True, False)
    assert checked["changed"] is True
    assert "does not exist yet" in checked["warnings"][0]
    assert clients.mutating() == []


def test_aggregate_inline_size_is_enforced_before_put(clients):
    clients.iam.create_role(RoleName="app-role", AssumeRolePolicyDocument=TRUST)
    big = {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Action": "s3:GetObject", "Resource": f"arn:aws:s3:::bucket/{'x' * 60}/{i}"}
            for i in range(60)
        ],
    }
    rp.run(params(name="first", policy=big), clients, False, False)
    clients.reset()
    with pytest.raises(ValidationError) as err:
        rp.run(params(name="second", policy=big), clients, False, False)
    assert err.value.field == "policy"
    assert err.value.rule.startswith(
        "the inline policies of one role must total at most 10240 characters, not counting white space "
        "(these 2 total "
    )
    assert clients.mutating() == []


# --- issue 12: --diff shows documents as stored and as written -------------------------------

# As a user may write it: mixed-case actions and condition key, one-item list, Statement a dict.
AS_WRITTEN = {
    "Version": "2012-10-17",
    "Statement": {
        "Effect": "Allow",
        "Action": ["s3:PutObject", "S3:GetObject", "s3:DeleteObject"],
        "Resource": ["arn:aws:s3:::b/*"],
        "Condition": {"StringEquals": {"aws:SourceAccount": "123456789012"}},
    },
}


@pytest.mark.parametrize(
    ("policy", "check_mode", "changed"),
    [(AS_WRITTEN, True, True), (REORDERED, False, False)],
    ids=["changed-policy-shown-as-written", "equivalent-policy-shown-as-stored"],
)
def test_diff_shows_policy_as_stored_and_a_change_as_written_not_normalized(
    clients, policy, check_mode, changed
):
    clients.iam.create_role(RoleName="app-role", AssumeRolePolicyDocument=TRUST)
    rp.run(params(), clients, False, False)
    stored = clients.iam.get_role_policy(RoleName="app-role", PolicyName="Bucket")["PolicyDocument"]
    result = rp.run(params(policy=policy), clients, check_mode, True)
    assert result["changed"] is changed
    assert result["diff"]["before"]["policy"] == stored
    assert result["diff"]["after"]["policy"] == (policy if changed else stored)


def test_delete_policy_after_another_run_deleted_it_is_success(clients, other_run, just_before):
    clients.iam.create_role(RoleName="app-role", AssumeRolePolicyDocument=TRUST)
    rp.run(params(), clients, False, False)
    just_before(
        "DeleteRolePolicy", lambda: other_run.delete_role_policy(RoleName="app-role", PolicyName="Bucket")
    )
    clients.reset()
    result = rp.run(params(state="absent", policy=None), clients, False, False)
    assert clients.mutating() == ["DeleteRolePolicy"]  # sent, and answered NoSuchEntity
    assert result["changed"] is False
    assert result["operations"] == []


def test_diff_names_the_role_and_the_policy(clients):
    clients.iam.create_role(RoleName="app-role", AssumeRolePolicyDocument=TRUST)
    result = rp.run(params(), clients, True, True)
    assert result["diff"] == {
        "before": {},
        "after": {"role_name": "app-role", "policy_name": "Bucket", "policy": POLICY},
    }
