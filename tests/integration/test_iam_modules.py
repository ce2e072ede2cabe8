"""The IAM modules through the real ansible-playbook against the recording moto server.

Every test runs on the default (fast) path; the promises every run must keep (bad input calls
nothing, check mode mutates nothing, a second run changes nothing, diff shows before and after,
a missing region is named) run on the module path too (``both_paths``). That the two paths give
identical results for every module is test_fast_path's case-by-case comparison.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from unittest.mock import ANY

import aws_state
import awscalls
import pytest
from recap import play_recap
from steps import run_steps

PLAYBOOKS = Path(__file__).parent / "playbooks"
TRIPLE = PLAYBOOKS / "triple.yml"
TRIPLE_ABSENT = PLAYBOOKS / "triple_absent.yml"
NOOP_CALLS = ["GetRole", "GetRolePolicy", "GetInstanceProfile"]
READ_B = {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::b/*"}


def converge(run_playbook, playbook=TRIPLE, **kwargs):
    result = run_playbook(playbook, **kwargs)
    assert result.rc == 0, result
    return result, play_recap(result.stdout)["localhost"]


TRUST_EC2 = {
    "Version": "2012-10-17",
    "Statement": [
        {"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}
    ],
}
TRUST_LAMBDA = {
    "Version": "2012-10-17",
    "Statement": [
        {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}
    ],
}
NOTHING = {"roles": {}, "profiles": {}, "instances": {}}
TRIPLE_POLICY = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "Action": ["s3:PutObject", "s3:GetObject"],
            "Resource": "arn:aws:s3:::logs-bucket/*",
        }
    ],
}
# What triple.yml with its defaults leaves on the server.
TRIPLE_STATE = {
    **NOTHING,
    "roles": {
        "logsbucket-role": aws_state.new_role(
            TRUST_EC2, tags={"project": "logs"}, inline_policies={"LogsBucketPermissions": TRIPLE_POLICY}
        )
    },
    "profiles": {"logsbucket-profile": aws_state.new_profile(roles=["logsbucket-role"])},
}


def assert_ended(steps, check_steps: list[str], changed: list[str]) -> None:
    """The run succeeded; its check-mode steps made no mutating call; exactly these steps changed."""
    assert steps.check_mode() == {step: [] for step in check_steps}
    assert steps.changed() == changed
    assert steps.recap["changed"] == len(changed)
    assert steps.result.rc == 0, steps.result


def test_iam_role_lifecycle_shows_in_aws_after_each_apply_and_check_mode_mutates_nothing(
    run_playbook, aws, tmp_path
):
    steps = run_steps(run_playbook, aws, tmp_path, PLAYBOOKS / "iam_role.yml")
    assert steps["Create (check)"]["mutating"] == []
    created = aws_state.new_role(TRUST_EC2, description="integration test role", tags={"team": "platform"})
    assert steps.state_after("Create") == {**NOTHING, "roles": {"it-role": created}}
    # moto's UpdateRole clears a Description it is not sent (AWS keeps it: an absent field is left
    # as it is), so the description is not compared after the update; the module sends none.
    assert steps["Create again (check)"]["mutating"] == []
    assert steps["Change trust policy and tags (check)"]["mutating"] == []
    updated = {**created, "trust": TRUST_LAMBDA, "max_session_duration": 7200, "tags": {"team": "data"}}
    after_update = steps.state_after("Change trust policy and tags")
    assert after_update == {**NOTHING, "roles": {"it-role": {**updated, "description": ANY}}}
    inline = {"Version": "2012-10-17", "Statement": [READ_B]}
    with_inline = {**after_update["roles"]["it-role"], "inline_policies": {"inline": inline}}
    assert steps.state_after("Give the role an inline policy") == {
        **NOTHING,
        "roles": {"it-role": with_inline},
    }
    in_profile = aws_state.new_profile(roles=["it-role"])
    assert steps.state_after("Put the role in a profile") == {
        **NOTHING,
        "roles": {"it-role": with_inline},
        "profiles": {"it-role-profile": in_profile},
    }
    assert steps["Change again (check)"]["mutating"] == []
    assert steps["Delete (check)"]["mutating"] == []
    # The role's inline policy and its place in the profile went with it; the profile stayed.
    assert steps.state_after("Delete a role that has an inline policy and sits in a profile") == {
        **NOTHING,
        "profiles": {"it-role-profile": aws_state.new_profile()},
    }
    assert aws_state.world(aws.url) == NOTHING
    assert_ended(
        steps,
        check_steps=[
            "Create (check)",
            "Create again (check)",
            "Change trust policy and tags (check)",
            "Change again (check)",
            "Delete (check)",
            "Delete again (check)",
        ],
        changed=[
            "Create (check)",
            "Create",
            "Change trust policy and tags (check)",
            "Change trust policy and tags",
            "Give the role an inline policy",
            "Put the role in a profile",
            "Delete (check)",
            "Delete a role that has an inline policy and sits in a profile",
            "Clean up the profile",
        ],
    )


def test_iam_role_policy_lifecycle_shows_in_aws_after_each_apply_and_check_mode_mutates_nothing(
    run_playbook, aws, tmp_path
):
    steps = run_steps(run_playbook, aws, tmp_path, PLAYBOOKS / "iam_role_policy.yml")
    role = aws_state.new_role(TRUST_EC2)
    assert steps.state_after("Role to hold the policy") == {**NOTHING, "roles": {"it-policy-role": role}}
    statement = {
        "Sid": "Objects",
        "Effect": "Allow",
        "Action": ["s3:PutObject", "s3:GetObject"],
        "Resource": "arn:aws:s3:::logs-bucket/*",
    }
    assert steps["Put (check)"]["mutating"] == []
    put = {"LogsBucketPermissions": {"Version": "2012-10-17", "Statement": [statement]}}
    assert steps.state_after("Put") == {
        **NOTHING,
        "roles": {"it-policy-role": {**role, "inline_policies": put}},
    }
    widened = {**statement, "Action": ["s3:PutObject", "s3:GetObject", "s3:DeleteObject"]}
    granted = {"LogsBucketPermissions": {"Version": "2012-10-17", "Statement": [widened]}}
    assert steps.state_after("Grant one more action") == {
        **NOTHING,
        "roles": {"it-policy-role": {**role, "inline_policies": granted}},
    }
    assert steps["Put again (check)"]["mutating"] == []
    assert steps["Remove (check)"]["mutating"] == []
    assert steps.state_after("Remove") == {**NOTHING, "roles": {"it-policy-role": role}}
    assert steps.state_after("Clean up the role") == NOTHING
    assert_ended(
        steps,
        check_steps=[
            "Put (check)",
            "Put again (check)",
            "Remove (check)",
            "Remove again (check)",
        ],
        changed=[
            "Role to hold the policy",
            "Put (check)",
            "Put",
            "Grant one more action",
            "Remove (check)",
            "Remove",
            "Clean up the role",
        ],
    )


def test_iam_instance_profile_lifecycle_shows_in_aws_after_each_apply_and_check_mode_mutates_nothing(
    run_playbook, aws, tmp_path
):
    steps = run_steps(run_playbook, aws, tmp_path, PLAYBOOKS / "iam_instance_profile.yml")
    roles = {"it-role-a": aws_state.new_role(TRUST_EC2), "it-role-b": aws_state.new_role(TRUST_EC2)}
    assert steps.state_after("Two roles") == {**NOTHING, "roles": roles}
    assert steps["Create with role a (check)"]["mutating"] == []
    holding_a = aws_state.new_profile(roles=["it-role-a"], tags={"env": "test"})
    assert steps.state_after("Create with role a") == {
        **NOTHING,
        "roles": roles,
        "profiles": {"it-profile": holding_a},
    }
    assert steps["Create again (check)"]["mutating"] == []
    assert steps["Swap to role b (check)"]["mutating"] == []
    holding_b = {**holding_a, "roles": ["it-role-b"]}
    assert steps.state_after("Swap to role b") == {
        **NOTHING,
        "roles": roles,
        "profiles": {"it-profile": holding_b},
    }
    empty = {**holding_a, "roles": []}
    assert steps.state_after("Empty the profile") == {
        **NOTHING,
        "roles": roles,
        "profiles": {"it-profile": empty},
    }
    assert steps["Swap again (check)"]["mutating"] == []
    assert steps["Delete (check)"]["mutating"] == []
    assert steps.state_after("Delete") == {**NOTHING, "roles": roles}
    assert steps.state_after("Clean up the roles") == NOTHING
    assert_ended(
        steps,
        check_steps=[
            "Create with role a (check)",
            "Create again (check)",
            "Swap to role b (check)",
            "Swap again (check)",
            "Delete (check)",
            "Delete again (check)",
        ],
        changed=[
            "Two roles",
            "Create with role a (check)",
            "Create with role a",
            "Swap to role b (check)",
            "Swap to role b",
            "Empty the profile",
            "Delete (check)",
            "Delete",
            "Clean up the roles",
        ],
    )


@pytest.mark.both_paths
def test_bad_input_fails_naming_the_field_and_calls_nothing(run_playbook, aws):
    result, recap = converge(run_playbook, PLAYBOOKS / "bad_input.yml")
    cases = int(re.search(r"bad-input cases: (\d+)", result.stdout).group(1))
    assert cases == 33  # 19 role, 9 inline policy and 5 instance profile cases
    assert recap["failed"] == 0
    # Validation happens before any API call: the server saw nothing, so nothing changed.
    assert awscalls.fetch_calls(aws.url) == []


@pytest.mark.both_paths
def test_check_mode_makes_no_mutating_call_on_any_path(run_playbook, aws):
    _unused, recap = converge(run_playbook, check=True)
    assert recap["changed"] == 3
    assert awscalls.mutating_calls(awscalls.fetch_calls(aws.url)) == []

    converge(run_playbook)
    assert aws_state.world(aws.url) == TRIPLE_STATE
    awscalls.reset_calls(aws.url)
    edits = {"triple_service": "lambda.amazonaws.com", "triple_actions": ["s3:*"], "triple_tags": {"x": "y"}}
    _unused, recap = converge(run_playbook, extra_vars=edits, check=True)
    assert recap["changed"] == 2
    swap = {"triple_role": "other-role", "triple_policy_name": "Other"}
    _unused, recap = converge(run_playbook, extra_vars=swap, check=True)
    assert recap["changed"] == 3  # new role, new policy, profile swapped to the new role
    _unused, recap = converge(run_playbook, TRIPLE_ABSENT, check=True)
    assert recap["changed"] == 3
    assert awscalls.mutating_calls(awscalls.fetch_calls(aws.url)) == []

    _unused, recap = converge(run_playbook)
    assert recap["changed"] == 0, "check mode changed something on the server"
    assert aws_state.world(aws.url) == TRIPLE_STATE


@pytest.mark.both_paths
def test_noop_converge_is_idempotent_and_costs_three_calls(run_playbook, aws):
    _unused, first = converge(run_playbook)
    assert first["changed"] == 3
    assert aws_state.world(aws.url) == TRIPLE_STATE
    awscalls.reset_calls(aws.url)
    _unused, second = converge(run_playbook)
    assert second["changed"] == 0
    assert [call["operation"] for call in awscalls.fetch_calls(aws.url)] == NOOP_CALLS


@pytest.mark.both_paths
def test_diff_shows_before_and_after(run_playbook, aws):
    converge(run_playbook)
    widened = {"triple_actions": ["s3:PutObject", "s3:GetObject", "s3:DeleteObject"]}
    awscalls.reset_calls(aws.url)
    result, recap = converge(run_playbook, extra_vars=widened, check=True, diff=True)
    assert recap["changed"] == 1
    assert awscalls.mutating_calls(awscalls.fetch_calls(aws.url)) == []
    # The action list gains a line; the one before it gains a comma.
    assert diff_lines(result.stdout) == (['"s3:GetObject",', '"s3:DeleteObject"'], ['"s3:GetObject"'])
    # Equivalent input shows no diff at all, and nothing is printed without --diff.
    result, _unused = converge(run_playbook, diff=True)
    assert "--- before" not in result.stdout
    result, _unused = converge(run_playbook, extra_vars=widened)
    assert "--- before" not in result.stdout
    (statement,) = TRIPLE_POLICY["Statement"]
    widened_policy = {**TRIPLE_POLICY, "Statement": [{**statement, "Action": widened["triple_actions"]}]}
    (role,) = TRIPLE_STATE["roles"].values()
    assert aws_state.world(aws.url) == {
        **TRIPLE_STATE,
        "roles": {"logsbucket-role": {**role, "inline_policies": {"LogsBucketPermissions": widened_policy}}},
    }


def test_teardown_removes_everything_and_is_idempotent(run_playbook, aws):
    converge(run_playbook)
    assert aws_state.world(aws.url) == TRIPLE_STATE
    _unused, recap = converge(run_playbook, TRIPLE_ABSENT)
    assert recap["changed"] == 3
    assert aws_state.world(aws.url) == NOTHING
    _unused, recap = converge(run_playbook, TRIPLE_ABSENT)
    assert recap["changed"] == 0


def newest_ubuntu(endpoint: str) -> str:
    """The image the playbooks' Ubuntu name pattern finds, read with boto3."""
    images = aws_state.client(endpoint, "ec2").describe_images(
        Owners=["099720109477"],
        Filters=[{"Name": "name", "Values": ["ubuntu/images/hvm-ssd/ubuntu-*-amd64-server-*"]}],
    )["Images"]
    # The newest; moto's images share one creation date, and ec2_image_info breaks ties on name.
    return max(images, key=lambda image: (image["CreationDate"], image["Name"]))["ImageId"]


def test_ec2_instance_lifecycle_shows_in_aws_after_each_apply_and_check_mode_mutates_nothing(
    run_playbook, aws, tmp_path
):
    steps = run_steps(run_playbook, aws, tmp_path, PLAYBOOKS / "ec2_instance.yml")
    roles = {f"{name}-role": aws_state.new_role(TRUST_EC2) for name in ("first", "second")}
    profiles = {
        f"{name}-profile": aws_state.new_profile(roles=[f"{name}-role"]) for name in ("first", "second")
    }
    assert steps.state_after("Instance profiles holding them") == {
        **NOTHING,
        "roles": roles,
        "profiles": profiles,
    }
    newest = newest_ubuntu(aws.url)
    launched = {
        "id": ANY,
        "state": "running",
        "image": newest,
        "profile": "first-profile",
        "metadata": {"http_tokens": "required", "http_put_response_hop_limit": 1, "http_endpoint": "enabled"},
        "user_data": None,
        # Not asked for: EC2 picks the default VPC's subnet and group.
        "subnet": ANY,
        "groups": ANY,
        "key": None,
        "tags": {"Name": "it-instance", "purpose": "test"},
    }
    assert steps["Launch (check)"]["mutating"] == []
    iam_state = {"roles": roles, "profiles": profiles}
    assert steps.state_after("Launch") == {**iam_state, "instances": {"it-instance": launched}}
    assert steps["Launch again (check)"]["mutating"] == []
    assert steps["Swap profile and raise the hop limit (check)"]["mutating"] == []
    swapped = {
        **launched,
        "id": steps.state_after("Launch")["instances"]["it-instance"]["id"],
        "profile": "second-profile",
        "metadata": {**launched["metadata"], "http_put_response_hop_limit": 2},
    }
    assert steps.state_after("Swap profile and raise the hop limit") == {
        **iam_state,
        "instances": {"it-instance": swapped},
    }
    assert steps["Terminate (check)"]["mutating"] == []
    assert steps.state_after("Terminate") == {**iam_state, "instances": {}}
    assert aws_state.instance_states(aws.url, "it-instance") == ["terminated"]
    assert_ended(
        steps,
        check_steps=[
            "Launch (check)",
            "Launch again (check)",
            "Swap profile and raise the hop limit (check)",
            "Terminate (check)",
        ],
        changed=[
            "Roles and profiles to use",
            "Instance profiles holding them",
            "Launch (check)",
            "Launch",
            "Swap profile and raise the hop limit (check)",
            "Swap profile and raise the hop limit",
            "Terminate (check)",
            "Terminate",
        ],
    )


def test_instance_role_launches_with_profile_and_imdsv2_and_is_idempotent(run_playbook, aws):
    result, recap = converge(run_playbook, PLAYBOOKS / "instance_role.yml")
    assert recap["changed"] == 3  # role, profile, instance
    assert play_recap(result.stdout)["launch-test"]["failed"] == 0
    assert aws_state.world(aws.url) == {
        "roles": {"launch-role": aws_state.new_role(TRUST_EC2)},
        "profiles": {"launch-profile": aws_state.new_profile(roles=["launch-role"])},
        "instances": {
            "launch-test": {
                "id": ANY,
                "state": "running",
                "image": newest_ubuntu(aws.url),
                "profile": "launch-profile",
                "metadata": {
                    "http_tokens": "required",
                    "http_put_response_hop_limit": 1,
                    "http_endpoint": "enabled",
                },
                "user_data": None,
                "subnet": ANY,
                "groups": ANY,
                "key": None,
                "tags": {"Name": "launch-test"},
            }
        },
    }
    _unused, recap = converge(run_playbook, PLAYBOOKS / "instance_role.yml")
    assert recap["changed"] == 0


def aws_client(aws, service):
    """boto3 against the server, to read what AWS now holds (not through the module)."""
    import boto3

    return boto3.client(
        service,
        endpoint_url=aws.url,
        region_name="us-east-1",
        aws_access_key_id="AKIAIOSFODNN7EXAMPLE",
        aws_secret_access_key="not-checked-by-the-local-endpoint",
    )


def test_path_is_used_on_create_and_left_as_it_is_without_path(run_playbook, aws):
    _unused, recap = converge(run_playbook, PLAYBOOKS / "iam_path.yml")
    assert recap["failed"] == 0
    assert recap["changed"] == 4  # role and profile created, then tagged
    tagged = {"tags": {"team": "platform"}, "path": "/team/"}
    role = aws_state.new_role(TRUST_EC2, description="tagged later", **tagged)
    assert aws_state.world(aws.url) == {
        **NOTHING,
        "roles": {"path-role": role},
        "profiles": {"path-profile": aws_state.new_profile(roles=["path-role"], **tagged)},
    }


def diff_lines(stdout: str) -> tuple[list[str], list[str]]:
    """The added and removed lines of the diffs ansible-playbook printed."""
    lines = stdout.splitlines()
    added = [line[1:].strip() for line in lines if line.startswith("+") and not line.startswith("+++")]
    removed = [line[1:].strip() for line in lines if line.startswith("-") and not line.startswith("---")]
    return added, removed


@pytest.mark.both_paths
def test_diff_shows_policies_as_stored_and_as_written_not_normalized(run_playbook, aws):
    playbook = PLAYBOOKS / "iam_diff.yml"
    converge(run_playbook, playbook)
    source_account = {"StringEquals": {"aws:SourceAccount": "123456789012"}}
    trust = {
        "Version": "2012-10-17",
        "Statement": [{**TRUST_EC2["Statement"][0], "Condition": source_account}],
    }
    get_object = {
        "Effect": "Allow",
        "Action": ["s3:GetObject"],
        "Resource": "arn:aws:s3:::diff-bucket/*",
        "Condition": source_account,
    }
    inline = {"DiffPolicy": {"Version": "2012-10-17", "Statement": [get_object]}}
    role = aws_state.new_role(trust, tags={"team": "a"}, inline_policies=inline)
    assert aws_state.world(aws.url) == {**NOTHING, "roles": {"diff-role": role}}
    # The inline policy gains an action; the role only its tags, its trust policy is rewritten
    # in an equivalent form (action case), so it is unchanged and shown as IAM stores it.
    edits = {
        "diff_actions": ["s3:GetObject", "s3:PutObject"],
        "diff_trust_action": "STS:AssumeRole",
        "diff_role_tags": {"team": "b"},
    }
    # Whole documents as context, so the unchanged trust policy is printed too.
    context = {"ANSIBLE_DIFF_CONTEXT": "100"}
    awscalls.reset_calls(aws.url)
    result, recap = converge(run_playbook, playbook, extra_vars=edits, check=True, diff=True, env=context)
    assert recap["changed"] == 2
    assert awscalls.mutating_calls(awscalls.fetch_calls(aws.url)) == []
    added, removed = diff_lines(result.stdout)
    assert sorted(added) == ['"s3:GetObject",', '"s3:PutObject"', '"team": "b"']
    assert sorted(removed) == ['"s3:GetObject"', '"team": "a"']
    # Unchanged lines show the documents as written and stored, never the normalized form.
    assert '"aws:SourceAccount": "123456789012"' in result.stdout
    assert '"Action": "sts:AssumeRole",' in result.stdout
    for normalized in ("aws:sourceaccount", "sts:assumerole", "s3:getobject", "s3:putobject"):
        assert normalized not in result.stdout


def test_profile_naming_a_missing_role_fails_fast_and_creates_nothing(run_playbook, aws):
    import time

    started = time.monotonic()
    _unused, recap = converge(run_playbook, PLAYBOOKS / "profile_missing_role.yml")
    elapsed = time.monotonic() - started
    assert recap["failed"] == 0  # the module's failure is expected and asserted inside the playbook
    assert recap["ignored"] == 1
    # The role check re-reads a just-created role for up to 10 s; wait_timeout (120 s) is not spent.
    assert elapsed < 60, f"took {elapsed:.0f}s"
    iam = aws_client(aws, "iam")
    assert iam.list_instance_profiles()["InstanceProfiles"] == []
    assert "CreateInstanceProfile" not in [call["operation"] for call in awscalls.fetch_calls(aws.url)]


# --- branches a reviewer could break with every other test still green (issue 13) -------------

BRANCHES = PLAYBOOKS / "iam_branches.yml"
READ_ONLY = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Action": "s3:Get*", "Resource": "*"}],
}


def converge_branches(run_playbook, results_file, **extra_vars):
    """One run of iam_branches.yml; the role's and the profile's results as the tasks returned them."""
    result = run_playbook(BRANCHES, extra_vars={**extra_vars, "results_file": str(results_file)})
    assert result.rc == 0, result
    return json.loads(results_file.read_text())


def test_purged_tags_boundary_and_managed_policies_are_gone_as_aws_shows(run_playbook, aws, tmp_path):
    iam = aws_client(aws, "iam")
    boundary, first, second = (
        iam.create_policy(PolicyName=name, PolicyDocument=json.dumps(READ_ONLY))["Policy"]["Arn"]
        for name in ("boundary", "managed-a", "managed-b")
    )
    two_tags = {"keep": "1", "drop": "2"}
    created = converge_branches(
        run_playbook,
        tmp_path / "create.json",
        role_tags=two_tags,
        role_managed_policies=[first, second],
        profile_tags=two_tags,
    )
    assert created["role"]["operations"] == ["CreateRole", "AttachRolePolicy", "AttachRolePolicy"]
    attached = iam.list_attached_role_policies(RoleName="branch-role")["AttachedPolicies"]
    assert sorted(policy["PolicyArn"] for policy in attached) == [first, second]

    # A tag dropped (purge_tags defaults to true), a boundary set, every managed policy purged.
    updated = converge_branches(
        run_playbook,
        tmp_path / "update.json",
        role_tags={"keep": "1"},
        role_boundary=boundary,
        role_managed_policies=[],
        profile_tags={"keep": "1"},
    )
    assert updated["role"]["operations"] == [
        "PutRolePermissionsBoundary",
        "DetachRolePolicy",
        "DetachRolePolicy",
        "UntagRole",
    ]
    assert updated["profile"]["operations"] == ["UntagInstanceProfile"]
    role = iam.get_role(RoleName="branch-role")["Role"]
    assert role["Tags"] == [{"Key": "keep", "Value": "1"}]
    assert role["PermissionsBoundary"] == {
        "PermissionsBoundaryType": "PermissionsBoundaryPolicy",
        "PermissionsBoundaryArn": boundary,
    }
    assert iam.list_attached_role_policies(RoleName="branch-role")["AttachedPolicies"] == []
    profile = iam.get_instance_profile(InstanceProfileName="branch-profile")["InstanceProfile"]
    assert profile["Tags"] == [{"Key": "keep", "Value": "1"}]

    # The boundary removed as the module documents it (an empty string); a different path on the
    # existing profile refused, naming path, with the tag given alongside not applied.
    awscalls.reset_calls(aws.url)
    removed = converge_branches(
        run_playbook,
        tmp_path / "remove.json",
        role_boundary="",
        profile_path="/other/",
        profile_tags={"keep": "1", "new": "3"},
    )
    assert removed["role"]["operations"] == ["DeleteRolePermissionsBoundary"]
    assert "PermissionsBoundary" not in iam.get_role(RoleName="branch-role")["Role"]
    refused = removed["profile"]
    assert refused["failed"] is True
    assert refused["field"] == "path"
    assert refused["msg"] == "path: cannot change on an existing instance profile (it is /); delete it first"
    profile = iam.get_instance_profile(InstanceProfileName="branch-profile")["InstanceProfile"]
    assert (profile["Path"], profile["Tags"]) == ("/", [{"Key": "keep", "Value": "1"}])
    assert [member["RoleName"] for member in profile["Roles"]] == ["branch-role"]
    mutating = awscalls.mutating_calls(awscalls.fetch_calls(aws.url))
    assert [call["operation"] for call in mutating] == ["DeleteRolePermissionsBoundary"]


@pytest.mark.both_paths
def test_a_module_needing_a_region_without_one_fails_naming_region(run_playbook, aws, tmp_path):
    iam = aws_client(aws, "iam")
    iam.create_instance_profile(InstanceProfileName="region-profile")
    awscalls.reset_calls(aws.url)
    results_file = tmp_path / "results.json"
    result = run_playbook(PLAYBOOKS / "region_missing.yml", extra_vars={"results_file": str(results_file)})
    assert result.rc == 0, result
    results = json.loads(results_file.read_text())
    instance, profile = results["instance"], results["profile"]
    assert (instance["failed"], instance["field"]) == (True, "region")
    assert instance["msg"] == "region: is required for ec2 (or set AWS_REGION)"
    assert (profile["failed"], profile["field"]) == (True, "region")
    assert profile["msg"] == (
        "region: is needed to check which EC2 instances use the instance profile (or set force: true)"
    )
    # ec2_instance called nothing; the profile was read (IAM needs no region), and kept.
    assert [call["operation"] for call in awscalls.fetch_calls(aws.url)] == ["GetInstanceProfile"]
    assert iam.get_instance_profile(InstanceProfileName="region-profile")["InstanceProfile"]["Path"] == "/"
