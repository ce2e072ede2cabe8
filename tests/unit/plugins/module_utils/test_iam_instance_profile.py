from __future__ import annotations

import copy

import pytest

from ansible_collections.keyless.aws.plugins.module_utils import _iam_instance_profile as ip
from ansible_collections.keyless.aws.plugins.module_utils._errors import KeylessAwsError, ValidationError
from ansible_collections.keyless.aws.plugins.module_utils._retry import WaitTimeout

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


NAME_CHARS = "must contain only ASCII letters, digits and _+=,.@-"


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"name": "has space"}, f"name: {NAME_CHARS} (found ' ')"),
        ({"name": "p" * 129}, "name: must be at most 128 characters (is 129)"),
        ({"role": "bad/role"}, f"role: {NAME_CHARS} (found '/')"),
        ({"path": "/no-trailing"}, 'path: must be "/" or begin and end with "/" (e.g. "/service-role/")'),
        ({"tags": {"k" * 129: "v"}}, f"tags['{'k' * 129}']: key must be at most 128 characters (is 129)"),
        ({"wait_timeout": -1}, "wait_timeout: must be 0 or more seconds"),
    ],
)
def test_bad_input_names_the_field_and_the_rule(overrides, message):
    with pytest.raises(ValidationError) as err:
        ip.desired_profile(params(**overrides))
    assert str(err.value) == message


def test_options_left_out_take_the_documented_defaults():
    """A caller that passes only what is required (not through the argument spec) gets the
    defaults that the module documents."""
    desired = ip.desired_profile({"name": "app-profile"})
    defaults = {key: option["default"] for key, option in ip.OPTIONS.items() if "default" in option}
    assert {key: getattr(desired, key) for key in defaults} == defaults


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
    launched = [
        clients.ec2.run_instances(
            ImageId="ami-12345678", MinCount=1, MaxCount=1, IamInstanceProfile={"Arn": profile["arn"]}
        )["Instances"][0]["InstanceId"]
        for _launch in range(2)
    ]
    with pytest.raises(KeylessAwsError) as err:
        ip.run(params(state="absent"), clients, False, False)
    assert err.value.code == "ProfileInUse"
    assert err.value.message == (
        f"instance profile app-profile is in use by EC2 instance(s) {', '.join(sorted(launched))}; "
        "terminate them or disassociate the profile first, or set force: true"
    )
    assert clients.iam.get_instance_profile(InstanceProfileName="app-profile")
    forced = ip.run(params(state="absent", force=True), clients, False, False)
    assert forced["operations"] == ["RemoveRoleFromInstanceProfile", "DeleteInstanceProfile"]
    assert ip.run(params(state="absent"), clients, False, False)["changed"] is False


# --- issue 12: path is left as it is unless given ----------------------------------------------


# The profile as read_profile shows it.
CURRENT_PROFILE = {
    "instance_profile_name": "app-profile",
    "instance_profile_id": "AIPAEXAMPLE",
    "arn": "arn:aws:iam::123456789012:instance-profile/team/app-profile",
    "path": "/team/",
    "role": None,
    "roles": [],
    "tags": {},
    "create_date": "2026-01-01T00:00:00+00:00",
}


def current_profile(**overrides):
    return {**copy.deepcopy(CURRENT_PROFILE), **overrides}  # fresh nested tags and lists for every test


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


# --- races, lost answers and a missing role (unit fakes: moto never loses an answer) -------------


def roles_in(iam, name="app-profile"):
    return [
        role["RoleName"]
        for role in iam.get_instance_profile(InstanceProfileName=name)["InstanceProfile"]["Roles"]
    ]


def test_create_profile_entity_already_exists_converges_from_the_other_runs_profile(
    clients, other_run, just_before
):
    make_role(clients, "r1")
    # Another run creates the (still empty) profile between this task's read and its create.
    just_before(
        "CreateInstanceProfile", lambda: other_run.create_instance_profile(InstanceProfileName="app-profile")
    )
    result = ip.run(params(role="r1"), clients, False, False)
    assert result["changed"] is True
    assert result["operations"] == ["AddRoleToInstanceProfile"]
    assert "another request created it" in result["warnings"][0].lower()
    assert roles_in(other_run) == ["r1"]


def test_add_role_limit_exceeded_with_the_wanted_role_already_in_is_success(clients, other_run, just_before):
    make_role(clients, "r1")
    other_run.create_instance_profile(InstanceProfileName="app-profile")
    just_before(
        "AddRoleToInstanceProfile",
        lambda: other_run.add_role_to_instance_profile(InstanceProfileName="app-profile", RoleName="r1"),
    )
    result = ip.run(params(role="r1"), clients, False, False)
    assert "AddRoleToInstanceProfile" in clients.mutating()  # it was sent, and answered LimitExceeded
    assert result["changed"] is False
    assert result["operations"] == []
    assert result["instance_profile"]["roles"] == ["r1"]


def test_add_role_limit_exceeded_with_another_role_fails_clearly(clients, other_run, just_before):
    make_role(clients, "r1")
    make_role(clients, "r2")
    other_run.create_instance_profile(InstanceProfileName="app-profile")
    just_before(
        "AddRoleToInstanceProfile",
        lambda: other_run.add_role_to_instance_profile(InstanceProfileName="app-profile", RoleName="r2"),
    )
    with pytest.raises(KeylessAwsError) as err:
        ip.run(params(role="r1"), clients, False, False)
    assert err.value.message.startswith(
        "instance profile app-profile already holds role r2, added by another request"
    )
    assert err.value.code == "LimitExceeded"
    assert roles_in(other_run) == ["r2"]


def test_delete_profile_after_another_run_deleted_it_is_success(clients, other_run, just_before):
    make_role(clients, "r1")
    ip.run(params(role="r1"), clients, False, False)

    def other_run_deletes_it():
        other_run.remove_role_from_instance_profile(InstanceProfileName="app-profile", RoleName="r1")
        other_run.delete_instance_profile(InstanceProfileName="app-profile")

    just_before("RemoveRoleFromInstanceProfile", other_run_deletes_it)
    clients.reset()
    result = ip.run(params(state="absent", force=True), clients, False, False)
    assert clients.mutating() == ["RemoveRoleFromInstanceProfile", "DeleteInstanceProfile"]
    assert result["changed"] is False
    assert result["operations"] == []


def test_wait_false_create_returns_the_prediction_when_get_instance_profile_lags(clients, answer_error):
    make_role(clients, "r1")
    real_read = clients.iam.get_instance_profile
    reads = []

    def stale(**kwargs):
        reads.append(kwargs)
        raise answer_error(
            "NoSuchEntity", "Instance Profile app-profile cannot be found.", "GetInstanceProfile"
        )

    clients.iam.get_instance_profile = stale  # IAM shows the new profile to no read yet
    result = ip.run(params(role="r1", wait=False), clients, False, False)
    assert result["changed"] is True
    assert result["instance_profile"]["arn"] == "arn:aws:iam::123456789012:instance-profile/app-profile"
    assert result["instance_profile"]["roles"] == ["r1"]
    assert len(reads) == 1  # the first read only: nothing is read back
    stored = real_read(InstanceProfileName="app-profile")["InstanceProfile"]
    assert stored["Roles"][0]["RoleName"] == "r1"
    # The identifiers come from CreateInstanceProfile's answer.
    assert result["instance_profile"]["instance_profile_id"] == stored["InstanceProfileId"]


def test_profile_naming_a_missing_role_fails_fast_and_creates_nothing(clients, fake_clock):
    with pytest.raises(ValidationError) as err:
        ip.run(params(role="missing-role"), clients, False, False)
    assert str(err.value) == (
        "role: role missing-role does not exist "
        f"(GetRole answered NoSuchEntity for {ip.ROLE_RECHECK_SECONDS:g}s); "
        "create it first (keyless.aws.iam_role); nothing was changed"
    )
    assert clients.mutating() == []
    assert fake_clock.now <= ip.ROLE_RECHECK_SECONDS < 120
    assert clients.iam.list_instance_profiles()["InstanceProfiles"] == []


def test_role_created_moments_ago_is_rechecked_then_added(clients, answer_error, fake_clock):
    make_role(clients, "r1")
    real_get_role = clients.iam.get_role
    not_yet = [answer_error("NoSuchEntity", "The role with name r1 cannot be found.", "GetRole")] * 2

    def lagging(**kwargs):
        if not_yet:
            raise not_yet.pop()
        return real_get_role(**kwargs)

    clients.iam.get_role = lagging
    result = ip.run(params(role="r1"), clients, False, False)
    assert result["instance_profile"]["roles"] == ["r1"]
    assert 0 < fake_clock.now <= ip.ROLE_RECHECK_SECONDS


def test_missing_role_in_check_mode_is_a_warning_not_a_failure(clients):
    result = ip.run(params(role="made-by-an-earlier-task"), clients, True, False)
    assert result["changed"] is True
    assert result["warnings"] == [
        "role made-by-an-earlier-task does not exist yet; assuming an earlier task creates it"
    ]
    assert clients.mutating() == []


@pytest.mark.parametrize(("held", "settled"), [(["wanted"], True), ([], False)])
def test_full_profile_settled_decisions(held, settled):
    assert ip.full_profile_settled("p", held, "wanted") is settled


def test_full_profile_with_another_role_is_a_clear_error():
    with pytest.raises(KeylessAwsError, match="instance profile p already holds role other"):
        ip.full_profile_settled("p", ["other"], "wanted")


# --- exact predictions, errors and reports (each kills mutants `make mutation` showed alive) ----


def test_check_mode_predicts_the_role_swap_and_purged_tags_exactly(clients):
    make_role(clients, "r1")
    make_role(clients, "r2")
    ip.run(params(role="r1", tags={"a": "1"}), clients, False, False)
    swapped = ip.run(params(role="r2", tags={"b": "2"}), clients, True, False)["instance_profile"]
    assert (swapped["roles"], swapped["role"], swapped["tags"]) == (["r2"], "r2", {"b": "2"})
    emptied = ip.run(params(role="", tags={"a": "1"}), clients, True, False)["instance_profile"]
    assert (emptied["roles"], emptied["role"], emptied["tags"]) == ([], None, {"a": "1"})
    kept = ip.run(params(role="r1", tags={"b": "2"}, purge_tags=False), clients, True, False)
    assert kept["instance_profile"]["tags"] == {"a": "1", "b": "2"}
    stored = clients.iam.get_instance_profile(InstanceProfileName="app-profile")["InstanceProfile"]
    assert ([role["RoleName"] for role in stored["Roles"]], stored["Tags"]) == (
        ["r1"],
        [{"Key": "a", "Value": "1"}],
    )


def test_a_full_profile_error_says_which_profile_role_and_call():
    with pytest.raises(KeylessAwsError) as err:
        ip.full_profile_settled("p", ["other", "third"], "wanted")
    assert (err.value.message, err.value.code, err.value.operation) == (
        "instance profile p already holds role other, third, added by another request after this task "
        "read the profile; a profile holds one role, so wanted was not added",
        "LimitExceeded",
        "AddRoleToInstanceProfile",
    )


def test_a_delete_reports_that_no_instance_used_the_profile(clients):
    make_role(clients, "r1")
    ip.run(params(role="r1"), clients, False, False)
    result = ip.run(params(state="absent"), clients, False, False)
    assert (result["changed"], result["associated_instances"]) == (True, [])


def test_without_a_region_the_in_use_check_names_the_region_option(clients, monkeypatch):
    make_role(clients, "r1")
    ip.run(params(role="r1"), clients, False, False)
    monkeypatch.setattr(type(clients), "region", property(lambda _self: None))
    with pytest.raises(ValidationError) as err:
        ip.run(params(state="absent"), clients, False, False)
    assert (err.value.field, err.value.rule) == (
        "region",
        "is needed to check which EC2 instances use the instance profile (or set force: true)",
    )


def test_another_error_from_add_role_is_a_failure_not_success(clients, answer_error):
    make_role(clients, "r1")
    clients.iam.create_instance_profile(InstanceProfileName="app-profile")

    def refused(**_kwargs):
        raise answer_error("InvalidInput", "refused", "AddRoleToInstanceProfile")

    clients.iam.add_role_to_instance_profile = refused
    with pytest.raises(KeylessAwsError) as err:
        ip.run(params(role="r1"), clients, False, False)
    assert err.value.code == "InvalidInput"


def test_the_profile_view_maps_every_field_of_get_instance_profile():
    from datetime import UTC, datetime

    raw = {
        "InstanceProfileName": "app-profile",
        "InstanceProfileId": "AIPAEXAMPLE",
        "Arn": "arn:aws:iam::123456789012:instance-profile/team/app-profile",
        "Path": "/team/",
        "Roles": [{"RoleName": "r1", "Path": "/", "Arn": "arn:aws:iam::123456789012:role/r1"}],
        "Tags": [{"Key": "env", "Value": "test"}],
        "CreateDate": datetime(2026, 1, 1, tzinfo=UTC),
    }
    assert ip.profile_view(raw) == {**CURRENT_PROFILE, "role": "r1", "roles": ["r1"], "tags": {"env": "test"}}
    assert ip.profile_view({**raw, "Roles": []})["role"] is None


def test_tags_are_added_changed_and_removed_as_aws_then_stores_them(clients):
    def stored():
        profile = clients.iam.get_instance_profile(InstanceProfileName="app-profile")["InstanceProfile"]
        tags = profile.get("Tags", [])
        return {tag["Key"]: tag["Value"] for tag in tags}

    ip.run(params(tags={"a": "1", "b": "2"}), clients, False, False)
    assert stored() == {"a": "1", "b": "2"}
    changed = ip.run(params(tags={"b": "3", "c": "4"}), clients, False, False)
    assert changed["operations"] == ["UntagInstanceProfile", "TagInstanceProfile"]
    assert stored() == {"b": "3", "c": "4"}


def without_roles_for(clients, reads):
    """GetInstanceProfile shows the profile without its role for the first ``reads`` reads, as IAM
    may right after AddRoleToInstanceProfile; the number of reads is recorded in the answer list."""
    real_read = clients.iam.get_instance_profile
    answers = []

    def lagging(**kwargs):
        answer = real_read(**kwargs)
        if len(answers) < reads:
            answer["InstanceProfile"]["Roles"] = []
        answers.append(answer)
        return answer

    clients.iam.get_instance_profile = lagging
    return answers


def test_the_profile_is_read_back_until_it_shows_its_role(clients, fake_clock):
    make_role(clients, "r1")
    answers = without_roles_for(clients, reads=3)
    result = ip.run(params(role="r1"), clients, False, False)
    assert result["instance_profile"]["roles"] == ["r1"]
    assert len(answers) == 4 and fake_clock.now > 0


def test_a_profile_that_never_shows_its_role_fails_the_wait_naming_it(clients, fake_clock):
    make_role(clients, "r1")
    without_roles_for(clients, reads=10_000)
    with pytest.raises(WaitTimeout) as err:
        ip.run(params(role="r1", wait_timeout=30), clients, False, False)
    assert err.value.message == (
        "timed out after 30s waiting for instance profile app-profile to be readable with its role"
    )


def test_check_mode_predicts_the_created_profile_field_by_field(clients):
    make_role(clients, "r1")
    clients.reset()
    result = ip.run(params(role="r1", tags={"a": "1"}), clients, True, False)
    assert result["instance_profile"] == {
        "instance_profile_name": "app-profile",
        "instance_profile_id": None,
        "arn": None,
        "path": "/",
        "role": "r1",
        "roles": ["r1"],
        "tags": {"a": "1"},
        "create_date": None,
    }
    assert clients.mutating() == []
    empty = ip.run(params(), clients, True, False)["instance_profile"]
    assert (empty["role"], empty["roles"]) == (None, [])


def test_add_role_right_after_the_role_was_made_is_retried_until_iam_sees_it(
    clients, answer_error, fake_clock, failing_first
):
    make_role(clients, "r1")
    not_yet = answer_error(
        "NoSuchEntity", "The role with name r1 cannot be found.", "AddRoleToInstanceProfile"
    )
    clients.iam.add_role_to_instance_profile = failing_first(
        clients.iam.add_role_to_instance_profile, [not_yet] * 2
    )
    result = ip.run(params(role="r1"), clients, False, False)
    assert clients.iam.add_role_to_instance_profile.attempts == 3
    assert result["instance_profile"]["roles"] == ["r1"]
    stored = clients.iam.get_instance_profile(InstanceProfileName="app-profile")["InstanceProfile"]
    assert [role["RoleName"] for role in stored["Roles"]] == ["r1"]


def test_delete_answering_delete_conflict_once_is_retried_and_the_profile_is_gone(
    clients, answer_error, fake_clock, failing_first
):
    clients.iam.create_instance_profile(InstanceProfileName="app-profile")
    conflict = answer_error(
        "DeleteConflict", "Cannot delete entity, must remove roles first.", "DeleteInstanceProfile"
    )
    clients.iam.delete_instance_profile = failing_first(clients.iam.delete_instance_profile, [conflict])
    result = ip.run(params(state="absent"), clients, False, False)
    assert (result["changed"], clients.iam.delete_instance_profile.attempts) == (True, 2)
    assert clients.iam.list_instance_profiles()["InstanceProfiles"] == []


def test_limit_exceeded_for_a_profile_another_run_just_deleted_is_the_error_it_is(clients, answer_error):
    make_role(clients, "r1")
    real_delete = clients.iam.delete_instance_profile

    def full_then_gone(**kwargs):
        real_delete(InstanceProfileName="app-profile")  # another run deletes the profile
        raise answer_error("LimitExceeded", "Cannot exceed quota for InstanceSessionsPerInstanceProfile: 1")

    clients.iam.add_role_to_instance_profile = full_then_gone
    with pytest.raises(KeylessAwsError) as err:
        ip.run(params(role="r1"), clients, False, False)
    assert err.value.code == "LimitExceeded"
