from __future__ import annotations

import copy
import json

import pytest

from ansible_collections.keyless.aws.plugins.module_utils import _iam_role as _role
from ansible_collections.keyless.aws.plugins.module_utils._errors import AwsApiError, ValidationError
from ansible_collections.keyless.aws.plugins.module_utils._policy import policy_size
from ansible_collections.keyless.aws.plugins.module_utils._retry import WaitTimeout

TRUST = {
    "Version": "2012-10-17",
    "Statement": [
        {"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}
    ],
}
# The same trust policy as IAM would read it: reordered, list-wrapped, different case.
TRUST_EQUIVALENT = {
    "Statement": {
        "Action": ["STS:AssumeRole"],
        "Principal": {"Service": ["ec2.amazonaws.com"]},
        "Effect": "Allow",
    },
    "Version": "2012-10-17",
}
TRUST_LAMBDA = {
    "Version": "2012-10-17",
    "Statement": [
        {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}
    ],
}


def params(**overrides):
    base = {key: option.get("default") for key, option in _role.OPTIONS.items()}
    base.update(name="app-role", assume_role_policy=TRUST)
    base.update(overrides)
    return base


# The role as read_role shows it.
CURRENT_ROLE = {
    "role_name": "app-role",
    "role_id": "AROAEXAMPLE",
    "arn": "arn:aws:iam::123456789012:role/app-role",
    "path": "/",
    "description": "",
    "max_session_duration": 3600,
    "assume_role_policy_document": TRUST,
    "permissions_boundary": None,
    "tags": {"team": "a"},
    "create_date": "2026-01-01T00:00:00+00:00",
}


def current_view(**overrides):
    return {**copy.deepcopy(CURRENT_ROLE), **overrides}  # fresh nested tags and lists for every test


# --- pure decisions ---------------------------------------------------------------------


def ops(actions):
    return [action.operation for action in actions]


def test_equivalent_trust_policy_plans_nothing():
    desired = _role.desired_role(params(assume_role_policy=json.dumps(TRUST_EQUIVALENT), tags={"team": "a"}))
    actions, predicted = _role.plan_update(current_view(), desired, None)
    assert actions == []
    assert predicted == current_view()


def test_changed_trust_policy_plans_one_update():
    desired = _role.desired_role(params(assume_role_policy=TRUST_LAMBDA))
    actions, predicted = _role.plan_update(current_view(), desired, None)
    assert ops(actions) == ["UpdateAssumeRolePolicy"]
    assert predicted["assume_role_policy_document"] == TRUST_LAMBDA


def test_tags_purge_and_no_purge():
    desired = _role.desired_role(params(tags={"env": "prod"}))
    actions, predicted = _role.plan_update(current_view(), desired, None)
    assert ops(actions) == ["UntagRole", "TagRole"]
    assert predicted["tags"] == {"env": "prod"}
    desired = _role.desired_role(params(tags={"env": "prod"}, purge_tags=False))
    actions, predicted = _role.plan_update(current_view(), desired, None)
    assert ops(actions) == ["TagRole"]
    assert predicted["tags"] == {"team": "a", "env": "prod"}


def test_omitted_options_leave_things_alone():
    desired = _role.desired_role(params(assume_role_policy=None, tags=None))
    actions, _unused = _role.plan_update(
        current_view(description="d", max_session_duration=7200), desired, None
    )
    assert actions == []


def test_settings_and_boundary():
    boundary = "arn:aws:iam::123456789012:policy/boundary"
    desired = _role.desired_role(
        params(description="new", max_session_duration=7200, permissions_boundary=boundary)
    )
    actions, predicted = _role.plan_update(current_view(tags={}), desired, None)
    assert ops(actions) == ["UpdateRole", "PutRolePermissionsBoundary"]
    assert actions[0].args == {"role": "app-role", "description": "new", "max_session_duration": 7200}
    assert predicted["permissions_boundary"] == boundary
    desired = _role.desired_role(params(permissions_boundary=""))
    actions, predicted = _role.plan_update(current_view(permissions_boundary=boundary), desired, None)
    assert ops(actions) == ["DeleteRolePermissionsBoundary"]
    assert predicted["permissions_boundary"] is None


def test_managed_policies_attach_detach_and_purge():
    old, new = "arn:aws:iam::aws:policy/Old", "arn:aws:iam::aws:policy/New"
    current = current_view(managed_policies=[old])
    desired = _role.desired_role(params(managed_policies=[new]))
    actions, predicted = _role.plan_update(current, desired, [new])
    assert ops(actions) == ["DetachRolePolicy", "AttachRolePolicy"]
    assert predicted["managed_policies"] == [new]
    desired = _role.desired_role(params(managed_policies=[new], purge_managed_policies=False))
    actions, predicted = _role.plan_update(current, desired, [new])
    assert ops(actions) == ["AttachRolePolicy"]
    assert predicted["managed_policies"] == sorted([old, new])


def test_path_change_is_refused():
    with pytest.raises(ValidationError, match="path: cannot change"):
        _role.plan_update(current_view(), _role.desired_role(params(path="/other/")), None)


def test_create_requires_trust_policy():
    with pytest.raises(ValidationError, match="assume_role_policy: is required to create role app-role"):
        _role.plan_create(_role.desired_role(params(assume_role_policy=None)), None)


def test_delete_order():
    actions = _role.plan_delete("r", ["p"], ["inline"], ["arn:aws:iam::aws:policy/X"])
    assert ops(actions) == [
        "RemoveRoleFromInstanceProfile",
        "DeleteRolePolicy",
        "DetachRolePolicy",
        "DeleteRole",
    ]


NAME_CHARS = "must contain only ASCII letters, digits and _+=,.@-"
RESERVED_TAG = (
    'key must not start with "aws:": AWS reserves it for the tags it sets itself '
    "(such as aws:cloudformation:stack-name), which nobody can add, change or remove"
)


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"name": "bad name"}, f"name: {NAME_CHARS} (found ' ')"),
        ({"name": "x" * 65}, "name: must be at most 64 characters (is 65)"),
        ({"path": "no-slashes"}, 'path: must be "/" or begin and end with "/" (e.g. "/service-role/")'),
        (
            {"description": "a\x01b"},
            "description: must contain only printable ASCII, Latin-1 letters, "
            "tabs and newlines (found '\\x01')",
        ),
        (
            {"max_session_duration": 60},
            "max_session_duration: must be between 3600 and 43200 seconds (is 60)",
        ),
        (
            {"assume_role_policy": {"Statement": [{"Effect": "Maybe"}]}},
            'assume_role_policy.Statement[0].Effect: must be "Allow" or "Deny"',
        ),
        (
            {"permissions_boundary": "not-an-arn"},
            "permissions_boundary: must be an ARN: arn:<partition>:<service>:<region>:<account>:<resource>",
        ),
        (
            {"permissions_boundary": "arn:aws:s3:::policy/x"},
            "permissions_boundary: must be an ARN of service 'iam', not 's3'",
        ),
        (
            {"permissions_boundary": "arn:aws:iam::123456789012:role/x"},
            'permissions_boundary: must be an ARN whose resource starts with "policy/"',
        ),
        (
            {"managed_policies": ["arn:aws:s3:::bucket"]},
            "managed_policies[0]: must be an ARN of service 'iam', not 's3'",
        ),
        (
            {"managed_policies": ["ReadOnly", "arn:aws:iam::123456789012:role/x"]},
            'managed_policies[1]: must be an ARN whose resource starts with "policy/"',
        ),
        (
            {"managed_policies": ["has space"]},
            "managed_policies[0]: must be a managed policy ARN or name without white space",
        ),
        ({"tags": {"aws:reserved": "x"}}, f"tags['aws:reserved']: {RESERVED_TAG}"),
        ({"wait_timeout": -1}, "wait_timeout: must be 0 or more seconds"),
    ],
)
def test_bad_input_names_the_field_and_the_rule(overrides, message):
    with pytest.raises(ValidationError) as err:
        _role.desired_role(params(**overrides))
    assert str(err.value) == message


def test_options_left_out_take_the_documented_defaults():
    """A caller that passes only what is required (not through the argument spec) gets the
    defaults that the module documents."""
    desired = _role.desired_role({"name": "app-role", "assume_role_policy": TRUST})
    defaults = {key: option["default"] for key, option in _role.OPTIONS.items() if "default" in option}
    # amazon.aws's instance profile options are only ever accepted as false: nothing to keep.
    refused = {key: defaults.pop(key) for key in _role.PROFILE_OPTION_RULES}
    assert refused == {"create_instance_profile": False, "delete_instance_profile": False}
    assert {key: getattr(desired, key) for key in defaults} == defaults
    assert (desired.description, desired.purge_managed_policies) == (None, True)


def test_bad_json_names_the_field_and_the_parser_error():
    with pytest.raises(ValidationError) as err:
        _role.desired_role(params(assume_role_policy="{not json"))
    assert str(err.value).startswith("assume_role_policy: must be valid JSON (Expecting property name")


# --- run() against moto in-process, with every API call recorded ----------------------------

READ_ONLY = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Action": "s3:Get*", "Resource": "*"}],
}


def managed_arn(clients, name="ReadOnly"):
    """A customer-managed policy: moto has no AWS-managed ones unless told to load them."""
    return clients.iam.create_policy(PolicyName=name, PolicyDocument=json.dumps(READ_ONLY))["Policy"]["Arn"]


def test_create_then_noop_is_one_call(clients):
    result = _role.run(params(tags={"team": "a"}), clients, check_mode=False, diff=False)
    assert result["changed"] is True
    assert result["role"]["arn"].endswith(":role/app-role")
    assert result["role"]["tags"] == {"team": "a"}
    clients.reset()
    again = _role.run(params(assume_role_policy=TRUST_EQUIVALENT, tags={"team": "a"}), clients, False, False)
    assert again["changed"] is False
    assert clients.calls == ["GetRole"]


def test_check_mode_makes_no_mutating_call_on_any_path(clients):
    # create
    result = _role.run(params(), clients, check_mode=True, diff=True)
    assert result["changed"] is True
    assert result["diff"]["before"] == {}
    assert clients.mutating() == []
    assert _role.run(params(), clients, False, False)["changed"] is True
    # update trust policy, tags, settings, managed policies
    arn = managed_arn(clients)
    clients.reset()
    changed = params(
        assume_role_policy=TRUST_LAMBDA,
        tags={"x": "y"},
        description="d",
        managed_policies=[arn],
    )
    result = _role.run(changed, clients, check_mode=True, diff=True)
    assert result["changed"] is True
    assert clients.mutating() == []
    assert result["diff"]["after"]["assume_role_policy_document"]["Statement"][0]["Principal"] == {
        "Service": "lambda.amazonaws.com"
    }
    # delete (with an inline policy and a profile)
    clients.iam.put_role_policy(
        RoleName="app-role",
        PolicyName="p",
        PolicyDocument=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}],
            }
        ),
    )
    clients.iam.create_instance_profile(InstanceProfileName="prof")
    clients.iam.add_role_to_instance_profile(InstanceProfileName="prof", RoleName="app-role")
    clients.reset()
    result = _role.run(params(state="absent"), clients, check_mode=True, diff=False)
    assert result["changed"] is True
    assert result["removed"]["inline_policies"] == ["p"]
    assert clients.mutating() == []
    assert clients.iam.get_role(RoleName="app-role")


def test_delete_removes_profiles_policies_and_attachments(clients):
    _role.run(params(managed_policies=[managed_arn(clients)]), clients, False, False)
    iam = clients.iam
    iam.put_role_policy(
        RoleName="app-role",
        PolicyName="p",
        PolicyDocument=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}],
            }
        ),
    )
    iam.create_instance_profile(InstanceProfileName="prof")
    iam.add_role_to_instance_profile(InstanceProfileName="prof", RoleName="app-role")
    result = _role.run(params(state="absent"), clients, False, True)
    assert result["changed"] is True
    assert result["operations"] == [
        "RemoveRoleFromInstanceProfile",
        "DeleteRolePolicy",
        "DetachRolePolicy",
        "DeleteRole",
    ]
    assert result["diff"]["after"] == {}
    assert _role.run(params(state="absent"), clients, False, False)["changed"] is False
    assert iam.get_instance_profile(InstanceProfileName="prof")["InstanceProfile"]["Roles"] == []


def test_managed_policy_by_name_is_resolved_with_get_policy(clients, monkeypatch):
    arn = clients.iam.create_policy(
        PolicyName="custom",
        PolicyDocument=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}],
            }
        ),
    )["Policy"]["Arn"]
    clients.reset()
    result = _role.run(params(managed_policies=["custom"]), clients, False, False)
    assert result["role"]["managed_policies"] == [arn]
    assert "ListPolicies" not in clients.calls
    assert "GetPolicy" in clients.calls
    with pytest.raises(ValidationError, match=r"managed_policies\[0\]: no managed policy named missing"):
        _role.run(params(managed_policies=["missing"]), clients, False, False)


def test_access_denied_on_read_is_never_absent(clients):
    from botocore.exceptions import ClientError

    def denied(**_kwargs):
        raise ClientError({"Error": {"Code": "AccessDenied", "Message": "no"}}, "GetRole")

    clients.iam.get_role = denied
    with pytest.raises(AwsApiError) as err:
        _role.run(params(), clients, False, False)
    assert err.value.code == "AccessDenied"
    assert "CreateRole" not in clients.calls


# --- issue 12: real AWS shapes ---------------------------------------------------------------


def test_caller_identity_failure_is_a_clean_error_naming_get_caller_identity(clients):
    from botocore.stub import Stubber

    with Stubber(clients.client("sts")) as stub:
        stub.add_client_error("get_caller_identity", "ExpiredToken", "The security token has expired")
        with pytest.raises(AwsApiError) as err:
            _role.run(params(managed_policies=["custom"]), clients, False, False)
    assert err.value.operation == "GetCallerIdentity"
    assert err.value.code == "ExpiredToken"
    assert err.value.message.startswith("GetCallerIdentity failed with ExpiredToken: The security token")
    assert clients.mutating() == []


def test_update_without_path_keeps_the_existing_path():
    desired = _role.desired_role(params(path=None, tags={"team": "b"}))
    actions, predicted = _role.plan_update(current_view(path="/team/"), desired, None)
    assert ops(actions) == ["TagRole"]
    assert predicted["path"] == "/team/"


def test_create_without_path_uses_slash():
    actions, predicted = _role.plan_create(_role.desired_role(params(path=None)), None)
    assert actions[0].args["path"] == "/"
    assert predicted["path"] == "/"


def test_path_given_on_update_is_compared():
    desired = _role.desired_role(params(path="/team/"))
    assert _role.plan_update(current_view(path="/team/"), desired, None)[0] == []
    with pytest.raises(ValidationError, match=r"^path: cannot change on an existing role \(it is /team/\)"):
        _role.plan_update(current_view(path="/team/"), _role.desired_role(params(path="/")), None)


def test_path_option_has_no_default():
    assert "default" not in _role.OPTIONS["path"]


def big_trust(size):
    """A valid trust policy of exactly ``size`` characters as IAM counts them."""
    doc = json.loads(json.dumps(TRUST))
    doc["Statement"][0]["Sid"] = ""
    doc["Statement"][0]["Sid"] = "x" * (size - policy_size(doc))
    assert policy_size(doc) == size
    return doc


def test_trust_policy_over_default_quota_warns_and_leaves_the_verdict_to_iam(clients):
    result = _role.run(params(assume_role_policy=big_trust(3000)), clients, False, False)
    assert result["changed"] is True
    assert "CreateRole" in clients.calls
    assert len(result["warnings"]) == 1
    assert "default quota of 2048 characters" in result["warnings"][0]
    assert "is 3000 characters" in result["warnings"][0]
    # Sent again unchanged: nothing to send, nothing to warn about.
    again = _role.run(params(assume_role_policy=big_trust(3000)), clients, False, False)
    assert again["changed"] is False
    assert "warnings" not in again


def test_trust_policy_within_default_quota_does_not_warn(clients):
    result = _role.run(params(assume_role_policy=big_trust(2048)), clients, True, False)
    assert "warnings" not in result


def test_trust_policy_over_the_highest_quota_is_refused_locally():
    with pytest.raises(ValidationError, match=r"^assume_role_policy: must be at most 4096 characters"):
        _role.desired_role(params(assume_role_policy=big_trust(4097)))


def test_iam_limit_exceeded_for_a_trust_policy_is_a_clean_failure_naming_create_role(clients):
    from botocore.stub import Stubber

    quota = "Cannot exceed quota for ACLSizePerRole: 2048"
    with Stubber(clients.iam) as stub:
        stub.add_client_error("get_role", "NoSuchEntity", http_status_code=404)
        stub.add_client_error("create_role", "LimitExceeded", quota, http_status_code=409)
        with pytest.raises(AwsApiError) as err:
            _role.run(params(assume_role_policy=big_trust(3000)), clients, False, False)
    assert err.value.code == "LimitExceeded"
    assert err.value.operation == "CreateRole"
    assert err.value.message == f"CreateRole failed with LimitExceeded: {quota}"


def test_trust_size_warnings_only_for_actions_that_send_the_trust_policy():
    from ansible_collections.keyless.aws.plugins.module_utils._plan import Action

    big = big_trust(2049)
    actions = [
        Action("CreateRole", {"role": "r", "trust_policy": big}),
        Action("UpdateAssumeRolePolicy", {"role": "r", "trust_policy": TRUST}),
        Action("TagRole", {"role": "r", "tags": {"k": "v"}}),
    ]
    warnings = _role.trust_size_warnings(actions)
    assert len(warnings) == 1
    assert warnings[0].startswith("assume_role_policy: is 2049 characters")
    update = Action("UpdateAssumeRolePolicy", {"role": "r", "trust_policy": big})
    assert _role.trust_size_warnings([update]) == warnings


# A trust policy as a user may write it: mixed-case action and condition key, one-item lists.
TRUST_AS_WRITTEN = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "Principal": {"Service": ["lambda.amazonaws.com"]},
            "Action": ["STS:AssumeRole"],
            "Condition": {"StringEquals": {"aws:SourceAccount": "123456789012"}},
        }
    ],
}


def test_diff_shows_trust_policy_as_stored_and_as_written_not_normalized(clients):
    _role.run(params(), clients, False, False)
    stored = clients.iam.get_role(RoleName="app-role")["Role"]["AssumeRolePolicyDocument"]
    result = _role.run(params(assume_role_policy=TRUST_AS_WRITTEN), clients, True, True)
    assert result["changed"] is True
    assert result["diff"]["before"]["assume_role_policy_document"] == stored
    assert result["diff"]["after"]["assume_role_policy_document"] == TRUST_AS_WRITTEN


def test_diff_of_an_equivalent_trust_policy_shows_what_aws_stores(clients):
    _role.run(params(), clients, False, False)
    stored = clients.iam.get_role(RoleName="app-role")["Role"]["AssumeRolePolicyDocument"]
    result = _role.run(params(assume_role_policy=TRUST_EQUIVALENT, tags={"new": "tag"}), clients, True, True)
    assert result["operations"] == ["TagRole"]
    assert result["diff"]["before"]["assume_role_policy_document"] == stored
    assert result["diff"]["after"]["assume_role_policy_document"] == stored


# --- races, lost answers and IAM propagation (unit fakes: moto never loses an answer) ------------


def trust_of(iam, name="app-role"):
    return _role._iam.get_role(iam, name)["AssumeRolePolicyDocument"]


@pytest.mark.parametrize(
    ("other_trust", "operations"),
    [(TRUST_LAMBDA, ["UpdateAssumeRolePolicy"]), (TRUST, [])],
    ids=["other-trust-policy-is-updated", "same-role-reports-no-change"],
)
def test_create_role_entity_already_exists_converges_from_the_other_runs_role(
    clients, other_run, just_before, other_trust, operations
):
    # Another run creates the role between this task's read and its CreateRole.
    just_before(
        "CreateRole",
        lambda: other_run.create_role(RoleName="app-role", AssumeRolePolicyDocument=json.dumps(other_trust)),
    )
    result = _role.run(params(), clients, check_mode=False, diff=False)
    assert result["changed"] is bool(operations)
    assert result["operations"] == operations
    assert clients.mutating() == ["CreateRole", *operations]
    assert "another request created it" in result["warnings"][0].lower()
    assert result["role"]["arn"].endswith(":role/app-role")
    assert _role.policies_equivalent(trust_of(other_run), TRUST)


def test_create_role_lost_answer_resent_by_botocore_counts_as_this_runs_create(clients, answer_error):
    real_create = clients.iam.create_role

    def lost_answer(**kwargs):
        real_create(**kwargs)  # the first attempt created the role; its answer never arrived
        raise answer_error("EntityAlreadyExists", "Role with name app-role already exists.", "CreateRole", 1)

    clients.iam.create_role = lost_answer
    result = _role.run(params(tags={"team": "a"}), clients, False, False)
    assert result["changed"] is True
    assert result["operations"] == ["CreateRole"]
    assert "warnings" not in result
    assert result["role"]["tags"] == {"team": "a"}


def test_delete_role_after_another_run_deleted_it_is_success(clients, other_run, just_before):
    _role.run(params(managed_policies=[managed_arn(clients)]), clients, False, False)
    other_run.put_role_policy(RoleName="app-role", PolicyName="p", PolicyDocument=json.dumps(READ_ONLY))
    other_run.create_instance_profile(InstanceProfileName="prof")
    other_run.add_role_to_instance_profile(InstanceProfileName="prof", RoleName="app-role")

    def other_run_deletes_everything():
        other_run.remove_role_from_instance_profile(InstanceProfileName="prof", RoleName="app-role")
        other_run.delete_role_policy(RoleName="app-role", PolicyName="p")
        for attached in other_run.list_attached_role_policies(RoleName="app-role")["AttachedPolicies"]:
            other_run.detach_role_policy(RoleName="app-role", PolicyArn=attached["PolicyArn"])
        other_run.delete_role(RoleName="app-role")

    just_before("RemoveRoleFromInstanceProfile", other_run_deletes_everything)
    clients.reset()
    result = _role.run(params(state="absent"), clients, False, False)
    # Every call answered NoSuchEntity: the other run did the work, so this task changed nothing.
    assert clients.mutating() == [
        "RemoveRoleFromInstanceProfile",
        "DeleteRolePolicy",
        "DetachRolePolicy",
        "DeleteRole",
    ]
    assert result["changed"] is False
    assert result["operations"] == []


def test_wait_false_create_returns_the_prediction_when_get_role_lags(clients, answer_error, failing_first):
    not_yet = answer_error("NoSuchEntity", "The role with name app-role cannot be found.", "GetRole")
    clients.iam.get_role = failing_first(None, [not_yet] * 5)  # IAM shows the new role to no read yet
    result = _role.run(params(wait=False, tags={"team": "a"}), clients, False, False)
    assert result["changed"] is True
    assert result["role"]["arn"] == "arn:aws:iam::123456789012:role/app-role"
    assert result["role"]["role_id"].startswith("AROA")
    assert result["role"]["tags"] == {"team": "a"}
    assert clients.iam.get_role.attempts == 1  # the first read only: nothing is read back


INVALID_PRINCIPAL = 'Invalid principal in policy: "AWS":"arn:aws:iam::123456789012:role/just-made"'


def test_invalid_principal_on_create_and_trust_update_is_retried_as_propagation(
    clients, answer_error, fake_clock, failing_first
):
    propagating = answer_error("MalformedPolicyDocument", INVALID_PRINCIPAL, "CreateRole")
    clients.iam.create_role = failing_first(clients.iam.create_role, [propagating, propagating])
    assert _role.run(params(), clients, False, False)["changed"] is True
    assert clients.iam.create_role.attempts == 3
    propagating = answer_error("MalformedPolicyDocument", INVALID_PRINCIPAL, "UpdateAssumeRolePolicy")
    update = failing_first(clients.iam.update_assume_role_policy, [propagating])
    clients.iam.update_assume_role_policy = update
    result = _role.run(params(assume_role_policy=TRUST_LAMBDA), clients, False, False)
    assert result["operations"] == ["UpdateAssumeRolePolicy"]
    assert update.attempts == 2
    assert 0 < fake_clock.now <= 120


@pytest.mark.parametrize(
    ("code", "message"),
    [
        ("MalformedPolicyDocument", "Syntax errors in policy."),
        ("MalformedPolicyDocument", "Has prohibited field Resource"),
        ("AccessDenied", "User is not authorized to perform: iam:CreateRole"),
        ("ValidationError", "1 validation error detected"),
    ],
)
def test_other_create_errors_are_not_retried(clients, answer_error, fake_clock, code, message, failing_first):
    create = failing_first(clients.iam.create_role, [answer_error(code, message, "CreateRole")] * 5)
    clients.iam.create_role = create
    with pytest.raises(AwsApiError) as err:
        _role.run(params(), clients, False, False)
    assert err.value.code == code
    assert create.attempts == 1
    assert fake_clock.now == 0


def test_attach_right_after_create_retries_no_such_entity_but_not_on_an_existing_role(
    clients, answer_error, fake_clock, failing_first
):
    arn = managed_arn(clients)
    missing_role = answer_error(
        "NoSuchEntity", "The role with name app-role cannot be found.", "AttachRolePolicy"
    )
    attach = failing_first(clients.iam.attach_role_policy, [missing_role, missing_role])
    clients.iam.attach_role_policy = attach
    result = _role.run(params(managed_policies=[arn]), clients, False, False)
    assert result["operations"] == ["CreateRole", "AttachRolePolicy"]
    assert attach.attempts == 3
    # On a role that already existed, NoSuchEntity is AWS's real answer (e.g. a deleted policy).
    other = managed_arn(clients, "Other")
    attach = failing_first(clients.iam.attach_role_policy, [missing_role] * 5)
    clients.iam.attach_role_policy = attach
    with pytest.raises(AwsApiError, match="NoSuchEntity"):
        _role.run(params(managed_policies=[arn, other]), clients, False, False)
    assert attach.attempts == 1


def test_delete_role_answering_delete_conflict_once_is_retried_and_the_role_is_gone(
    clients, answer_error, fake_clock, failing_first
):
    # Right after the role left its profile, IAM can still answer DeleteConflict until its
    # replicas agree (IAM User Guide, "Changes that I make are not always immediately visible").
    _role.run(params(), clients, False, False)
    clients.iam.create_instance_profile(InstanceProfileName="prof")
    clients.iam.add_role_to_instance_profile(InstanceProfileName="prof", RoleName="app-role")
    conflict = answer_error(
        "DeleteConflict", "Cannot delete entity, must remove roles from instance profile first.", "DeleteRole"
    )
    delete = failing_first(clients.iam.delete_role, [conflict])
    clients.iam.delete_role = delete
    result = _role.run(params(state="absent"), clients, False, False)
    assert result["operations"] == ["RemoveRoleFromInstanceProfile", "DeleteRole"]
    assert delete.attempts == 2
    assert 0 < fake_clock.now <= 120
    assert clients.iam.list_roles()["Roles"] == []


# --- exact reports and diffs (each kills mutants `make mutation` showed alive) -----------------


def test_a_delete_reports_everything_it_removed_and_reads_the_attachments_once(clients):
    arn = managed_arn(clients)
    _role.run(params(managed_policies=[arn]), clients, False, False)
    clients.iam.put_role_policy(RoleName="app-role", PolicyName="p", PolicyDocument=json.dumps(READ_ONLY))
    clients.iam.create_instance_profile(InstanceProfileName="prof")
    clients.iam.add_role_to_instance_profile(InstanceProfileName="prof", RoleName="app-role")
    clients.reset()
    result = _role.run(params(state="absent"), clients, False, False)
    assert result["removed"] == {
        "instance_profiles": ["prof"],
        "inline_policies": ["p"],
        "managed_policies": [arn],
    }
    assert clients.calls.count("ListAttachedRolePolicies") == 1


def test_diff_shows_the_managed_policies_before_and_after(clients):
    first, second = managed_arn(clients, "first"), managed_arn(clients, "second")
    _role.run(params(managed_policies=[first]), clients, False, False)
    result = _role.run(params(managed_policies=[second]), clients, True, True)
    assert (result["diff"]["before"]["managed_policies"], result["diff"]["after"]["managed_policies"]) == (
        [first],
        [second],
    )


def test_the_role_view_maps_every_field_of_get_role():
    from datetime import UTC, datetime

    boundary = "arn:aws:iam::123456789012:policy/boundary"
    raw = {
        "RoleName": "app-role",
        "RoleId": "AROAEXAMPLE",
        "Arn": "arn:aws:iam::123456789012:role/team/app-role",
        "Path": "/team/",
        "Description": "the app",
        "MaxSessionDuration": 7200,
        "AssumeRolePolicyDocument": TRUST,
        "PermissionsBoundary": {"PermissionsBoundaryType": "Policy", "PermissionsBoundaryArn": boundary},
        "Tags": [{"Key": "team", "Value": "a"}],
        "CreateDate": datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC),
    }
    assert _role.role_view(raw, ["arn:b", "arn:a"]) == {
        "role_name": "app-role",
        "role_id": "AROAEXAMPLE",
        "arn": "arn:aws:iam::123456789012:role/team/app-role",
        "path": "/team/",
        "description": "the app",
        "max_session_duration": 7200,
        "assume_role_policy_document": TRUST,
        "permissions_boundary": boundary,
        "tags": {"team": "a"},
        "create_date": "2026-01-02T03:04:05+00:00",
        "managed_policies": ["arn:a", "arn:b"],
    }


def test_the_role_view_of_a_listed_role_fills_what_list_roles_leaves_out():
    raw = {"RoleName": "r", "RoleId": "AROA1", "Arn": "arn:aws:iam::123456789012:role/r", "Path": "/"}
    view = _role.role_view(raw)
    assert "managed_policies" not in view
    assert (
        view["description"],
        view["max_session_duration"],
        view["permissions_boundary"],
        view["tags"],
    ) == (
        "",
        3600,
        None,
        {},
    )
    assert view["assume_role_policy_document"] == {}


def test_every_setting_is_sent_and_removed_as_aws_then_stores_it(clients):
    """Read back with boto3 after each run: created with every setting, updated, boundary removed."""

    def apply(**options):
        return _role.run(params(**options), clients, check_mode=False, diff=False)["operations"]

    def stored():
        role = clients.iam.get_role(RoleName="app-role")["Role"]
        return (
            role.get("Description"),
            role["MaxSessionDuration"],
            role.get("PermissionsBoundary", {}).get("PermissionsBoundaryArn"),
            {tag["Key"]: tag["Value"] for tag in role.get("Tags", [])},
        )

    boundary, other = managed_arn(clients, "Boundary"), managed_arn(clients, "OtherBoundary")
    settings = {"description": "app", "max_session_duration": 7200, "permissions_boundary": boundary}
    assert apply(**settings, tags={"a": "1"}) == ["CreateRole"]
    assert stored() == ("app", 7200, boundary, {"a": "1"})
    settings = {"description": "web", "max_session_duration": 3600, "permissions_boundary": other}
    assert sorted(apply(**settings, tags={"b": "2"})) == [
        "PutRolePermissionsBoundary",
        "TagRole",
        "UntagRole",
        "UpdateRole",
    ]
    assert stored() == ("web", 3600, other, {"b": "2"})
    assert apply(permissions_boundary="", tags={"b": "2"}) == ["DeleteRolePermissionsBoundary"]
    assert stored() == ("web", 3600, None, {"b": "2"})


def test_who_am_i_is_asked_only_to_resolve_a_name_for_a_role_not_yet_created(clients):
    """Policy ARNs are taken as given; names are resolved in the role's own partition and account,
    from its ARN once it exists, from GetCallerIdentity before."""
    arn = managed_arn(clients)
    clients.reset()
    by_arn = _role.run(params(managed_policies=[arn]), clients, False, False)
    assert by_arn["role"]["managed_policies"] == [arn]
    assert "GetCallerIdentity" not in clients.calls and "GetPolicy" not in clients.calls
    clients.iam.detach_role_policy(RoleName="app-role", PolicyArn=arn)
    clients.reset()
    by_name = _role.run(params(managed_policies=["ReadOnly"]), clients, False, False)
    assert by_name["operations"] == ["AttachRolePolicy"]
    assert "GetCallerIdentity" not in clients.calls
    clients.reset()
    created = _role.run(params(name="new-role", managed_policies=["ReadOnly"]), clients, False, False)
    assert created["role"]["managed_policies"] == [arn]
    assert clients.calls.count("GetCallerIdentity") == 1


@pytest.mark.parametrize(
    ("given", "sent", "shown"),
    [
        ({"description": "new"}, {"description": "new", "max_session_duration": None}, ("new", 3600)),
        ({"max_session_duration": 7200}, {"description": None, "max_session_duration": 7200}, ("", 7200)),
        (
            {"description": "new", "max_session_duration": 7200},
            {"description": "new", "max_session_duration": 7200},
            ("new", 7200),
        ),
        ({"description": "", "max_session_duration": 3600}, None, ("", 3600)),
    ],
)
def test_update_role_sends_only_what_changes_and_predicts_it(given, sent, shown):
    desired = _role.desired_role(params(**given))
    actions, predicted = _role.plan_update(current_view(), desired, None)
    updates = [action.args for action in actions if action.operation == "UpdateRole"]
    assert updates == ([{"role": "app-role", **sent}] if sent else [])
    assert (predicted["description"], predicted["max_session_duration"]) == shown


def test_removing_a_boundary_names_the_role_and_is_a_no_op_without_one():
    desired = _role.desired_role(params(permissions_boundary=""))
    boundary = "arn:aws:iam::123456789012:policy/boundary"
    actions, _unused = _role.plan_update(current_view(permissions_boundary=boundary), desired, None)
    assert [(action.operation, action.args) for action in actions] == [
        ("DeleteRolePermissionsBoundary", {"role": "app-role"})
    ]
    assert _role.plan_update(current_view(permissions_boundary=None), desired, None)[0] == []


def test_check_mode_predicts_the_created_role_field_by_field(clients):
    arn = managed_arn(clients)
    settings = {"description": "d", "max_session_duration": 7200, "permissions_boundary": arn}
    full = _role.run(params(**settings, managed_policies=["ReadOnly"], tags={"a": "1"}), clients, True, False)
    bare = _role.run(params(), clients, True, False)
    unknown_until_created = {"role_id": None, "arn": None, "create_date": None}
    common = {
        "role_name": "app-role",
        "path": "/",
        "assume_role_policy_document": TRUST,
        **unknown_until_created,
    }
    assert full["role"] == {**common, **settings, "tags": {"a": "1"}, "managed_policies": [arn]}
    assert bare["role"] == {
        **common,
        "description": "",
        "max_session_duration": 3600,
        "permissions_boundary": None,
        "tags": {},
    }
    assert (full["operations"], bare["operations"]) == (["CreateRole", "AttachRolePolicy"], ["CreateRole"])
    assert clients.mutating() == ["CreatePolicy"]


def test_a_new_role_is_read_back_until_iam_shows_it(clients, answer_error, fake_clock, failing_first):
    not_yet = answer_error("NoSuchEntity", "The role with name app-role cannot be found.", "GetRole")
    clients.iam.get_role = failing_first(clients.iam.get_role, [not_yet] * 3)  # the first read and two more
    result = _role.run(params(), clients, False, False)
    assert result["role"]["arn"] == "arn:aws:iam::123456789012:role/app-role"
    assert clients.iam.get_role.attempts == 4 and fake_clock.now > 0


def test_a_role_iam_never_shows_fails_the_wait_naming_it(clients, answer_error, fake_clock, failing_first):
    not_yet = answer_error("NoSuchEntity", "The role with name app-role cannot be found.", "GetRole")
    clients.iam.get_role = failing_first(None, [not_yet] * 10_000)
    with pytest.raises(WaitTimeout) as err:
        _role.run(params(wait_timeout=30), clients, False, False)
    assert err.value.message == "timed out after 30s waiting for role app-role to become readable"


def test_a_delete_that_names_the_managed_policies_lists_the_attachments_once(clients):
    arn = managed_arn(clients)
    _role.run(params(managed_policies=[arn]), clients, False, False)
    clients.reset()
    result = _role.run(params(state="absent", managed_policies=[arn]), clients, False, False)
    assert result["removed"]["managed_policies"] == [arn]
    assert clients.calls.count("ListAttachedRolePolicies") == 1
    assert clients.mutating() == ["DetachRolePolicy", "DeleteRole"]
