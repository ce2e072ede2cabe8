"""The IAM modules through the real ansible-playbook against the recording moto server."""

from __future__ import annotations

import json
import re
from pathlib import Path

import awscalls
import pytest
from recap import play_recap

PLAYBOOKS = Path(__file__).parent / "playbooks"
TRIPLE = PLAYBOOKS / "triple.yml"
TRIPLE_ABSENT = PLAYBOOKS / "triple_absent.yml"
NOOP_CALLS = ["GetRole", "GetRolePolicy", "GetInstanceProfile"]


def converge(run_playbook, playbook=TRIPLE, **kwargs):
    result = run_playbook(playbook, **kwargs)
    assert result.rc == 0, result
    return result, play_recap(result.stdout)["localhost"]


@pytest.mark.parametrize("module", ["iam_role", "iam_role_policy", "iam_instance_profile"])
def test_module_lifecycle_check_apply_check_apply(run_playbook, aws, module):
    _unused, recap = converge(run_playbook, PLAYBOOKS / f"{module}.yml")
    assert recap["failed"] == 0
    assert recap["changed"] > 0


def test_bad_input_fails_naming_the_field_and_calls_nothing(run_playbook, aws):
    result, recap = converge(run_playbook, PLAYBOOKS / "bad_input.yml")
    cases = int(re.search(r"bad-input cases: (\d+)", result.stdout).group(1))
    assert cases >= 20
    assert recap["failed"] == 0
    # Validation happens before any API call: the server saw nothing, so nothing changed.
    assert awscalls.fetch_calls(aws.url) == []


def test_check_mode_makes_no_mutating_call_on_any_path(run_playbook, aws):
    _unused, recap = converge(run_playbook, check=True)
    assert recap["changed"] == 3
    assert awscalls.mutating_calls(awscalls.fetch_calls(aws.url)) == []

    converge(run_playbook)
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


def test_noop_converge_is_idempotent_and_costs_three_calls(run_playbook, aws):
    _unused, first = converge(run_playbook)
    assert first["changed"] == 3
    awscalls.reset_calls(aws.url)
    _unused, second = converge(run_playbook)
    assert second["changed"] == 0
    assert [call["operation"] for call in awscalls.fetch_calls(aws.url)] == NOOP_CALLS


def test_diff_shows_before_and_after(run_playbook, aws):
    converge(run_playbook)
    widened = {"triple_actions": ["s3:PutObject", "s3:GetObject", "s3:DeleteObject"]}
    result, recap = converge(run_playbook, extra_vars=widened, check=True, diff=True)
    assert recap["changed"] == 1
    added = [line for line in result.stdout.splitlines() if line.startswith("+") and "s3:" in line]
    removed = [line for line in result.stdout.splitlines() if line.startswith("-") and "s3:" in line]
    assert any("s3:DeleteObject" in line for line in added), result.stdout
    assert not any("s3:DeleteObject" in line for line in removed)
    # Equivalent input shows no diff at all, and nothing is printed without --diff.
    result, _unused = converge(run_playbook, diff=True)
    assert "--- before" not in result.stdout
    result, _unused = converge(run_playbook, extra_vars=widened)
    assert "--- before" not in result.stdout


def test_teardown_removes_everything_and_is_idempotent(run_playbook, aws):
    converge(run_playbook)
    _unused, recap = converge(run_playbook, TRIPLE_ABSENT)
    assert recap["changed"] == 3
    _unused, recap = converge(run_playbook, TRIPLE_ABSENT)
    assert recap["changed"] == 0


def test_ec2_instance_lifecycle(run_playbook, aws):
    _unused, recap = converge(run_playbook, PLAYBOOKS / "ec2_instance.yml")
    assert recap["failed"] == 0


def test_instance_role_launches_with_profile_and_imdsv2_and_is_idempotent(run_playbook, aws):
    result, recap = converge(run_playbook, PLAYBOOKS / "instance_role.yml")
    assert recap["changed"] == 3  # role, profile, instance
    assert play_recap(result.stdout)["launch-test"]["failed"] == 0
    import boto3

    ec2 = boto3.client(
        "ec2",
        endpoint_url=aws.url,
        region_name="us-east-1",
        aws_access_key_id="AKIAIOSFODNN7EXAMPLE",
        aws_secret_access_key="not-checked-by-the-local-endpoint",
    )
    described = ec2.describe_instances(Filters=[{"Name": "tag:Name", "Values": ["launch-test"]}])
    instances = [
        i for r in described["Reservations"] for i in r["Instances"] if i["State"]["Name"] != "terminated"
    ]
    assert len(instances) == 1
    assert instances[0]["IamInstanceProfile"]["Arn"].endswith("instance-profile/launch-profile")
    assert instances[0]["MetadataOptions"]["HttpTokens"] == "required"
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
    iam = aws_client(aws, "iam")
    assert iam.get_role(RoleName="path-role")["Role"]["Path"] == "/team/"
    assert iam.get_role(RoleName="path-role")["Role"]["Tags"] == [{"Key": "team", "Value": "platform"}]
    profile = iam.get_instance_profile(InstanceProfileName="path-profile")["InstanceProfile"]
    assert profile["Path"] == "/team/"
    assert profile["Tags"] == [{"Key": "team", "Value": "platform"}]


def diff_lines(stdout: str) -> tuple[list[str], list[str]]:
    """The added and removed lines of the diffs ansible-playbook printed."""
    lines = stdout.splitlines()
    added = [line[1:].strip() for line in lines if line.startswith("+") and not line.startswith("+++")]
    removed = [line[1:].strip() for line in lines if line.startswith("-") and not line.startswith("---")]
    return added, removed


def test_diff_shows_policies_as_stored_and_as_written_not_normalized(run_playbook, aws):
    playbook = PLAYBOOKS / "iam_diff.yml"
    converge(run_playbook, playbook)
    # The inline policy gains an action; the role only its tags, its trust policy is rewritten
    # in an equivalent form (action case), so it is unchanged and shown as IAM stores it.
    edits = {
        "diff_actions": ["s3:GetObject", "s3:PutObject"],
        "diff_trust_action": "STS:AssumeRole",
        "diff_role_tags": {"team": "b"},
    }
    # Whole documents as context, so the unchanged trust policy is printed too.
    context = {"ANSIBLE_DIFF_CONTEXT": "100"}
    result, recap = converge(run_playbook, playbook, extra_vars=edits, check=True, diff=True, env=context)
    assert recap["changed"] == 2
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
