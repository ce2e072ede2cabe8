"""keyless.aws.instance_role (the IAM role, its inline policy, its instance profile) against moto.

The molecule scenario (roles/instance_role/molecule/moto) converges twice; everything else runs
its converge.yml with ansible-playbook and extra vars (check mode, state absent, bad input).
What the role made is read back from the server with boto3, never through the modules.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from awscalls import fetch_calls, mutating_calls, reset_all, reset_calls
from awscli_support import BIN_DIR, REPO, Result, isolated_env, run
from launcher import Service, start_aws_server
from recap import play_recap

ROLE_DIR = REPO / "roles" / "instance_role"
CONVERGE = ROLE_DIR / "molecule" / "moto" / "converge.yml"
REGION = "us-east-1"
KEYS = ("AKIAIOSFODNN7EXAMPLE", "molecule-test-secret")
ROLE = "molecule-writer"
TRUST = {
    "Version": "2012-10-17",
    "Statement": [
        {"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}
    ],
}
NOTHING = {"roles": {}, "profiles": {}}
ALIAS = "arn:aws:kms:us-east-1:123456789012:alias/logs"


def not_a_bucket(index: int, name: str, rule: str) -> str:
    """The role's message for a grant whose bucket breaks an S3 naming rule (its beginning)."""
    return f'instance_role_grants[{index}].bucket must be the name of an S3 bucket: "{name}" {rule}'


@pytest.fixture(scope="module")
def aws(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    service = start_aws_server(tmp_path_factory.mktemp("aws"), preload="iam")
    try:
        yield service
    finally:
        service.stop()


@pytest.fixture
def endpoint(aws: Service) -> str:
    """The server, emptied (resources and recorded calls) for each test."""
    reset_all(aws.url)
    return aws.url


def client(service: str, endpoint: str) -> Any:
    return boto3.client(service, endpoint_url=endpoint, region_name=REGION,
                        aws_access_key_id=KEYS[0], aws_secret_access_key=KEYS[1])


def environment(tmp_path: Path, endpoint: str, kms_key_arn: str) -> dict[str, str]:
    env = isolated_env(tmp_path)
    env.update(
        KEYLESS_TEST_AWS_ENDPOINT=endpoint,
        KEYLESS_TEST_KMS_KEY_ARN=kms_key_arn,
        AWS_ACCESS_KEY_ID=KEYS[0],
        AWS_SECRET_ACCESS_KEY=KEYS[1],
        AWS_CONFIG_FILE=str(tmp_path / "none"),
        AWS_SHARED_CREDENTIALS_FILE=str(tmp_path / "none"),
    )
    return env


def converge(tmp_path: Path, endpoint: str, kms_key_arn: str, *options: str, **extra_vars: Any) -> Result:
    """The scenario's converge.yml with ansible-playbook, ``extra_vars`` over the play's."""
    inventory = tmp_path / "hosts.yml"
    inventory.write_text(json.dumps({"all": {"hosts": {"controller": {
        "ansible_connection": "local", "ansible_python_interpreter": sys.executable}}}}))
    command = [str(BIN_DIR / "ansible-playbook"), "-i", str(inventory), *options, str(CONVERGE)]
    if extra_vars:
        command += ["-e", json.dumps(extra_vars)]
    return run(command, environment(tmp_path, endpoint, kms_key_arn), REPO)


def changed(result: Result) -> int:
    assert result.rc == 0, result
    return play_recap(result.output)["controller"]["changed"]


def deployed(endpoint: str) -> dict[str, Any]:
    """Every role (trust policy, description, tags, inline policies) and profile on the server."""
    iam = client("iam", endpoint)
    roles = {}
    for role in iam.list_roles()["Roles"]:
        name = role["RoleName"]
        got = iam.get_role(RoleName=name)["Role"]
        roles[name] = {
            "trust": got["AssumeRolePolicyDocument"],
            "description": got.get("Description"),
            "tags": {tag["Key"]: tag["Value"] for tag in got.get("Tags", [])},
            "policies": {
                policy: iam.get_role_policy(RoleName=name, PolicyName=policy)["PolicyDocument"]
                for policy in iam.list_role_policies(RoleName=name)["PolicyNames"]
            },
        }
    profiles = {}
    for profile in iam.list_instance_profiles()["InstanceProfiles"]:
        name = profile["InstanceProfileName"]
        # moto answers ListInstanceProfileTags with an HTTP 500; GetInstanceProfile has the tags.
        tags = iam.get_instance_profile(InstanceProfileName=name)["InstanceProfile"].get("Tags", [])
        profiles[name] = {
            "roles": [role["RoleName"] for role in profile["Roles"]],
            "tags": {tag["Key"]: tag["Value"] for tag in tags},
        }
    return {"roles": roles, "profiles": profiles}


def converged(kms_key_arn: str) -> dict[str, Any]:
    """What converge.yml's settings must leave on the server."""
    tags = {"managed-by": "keyless.aws", "suite": "molecule"}
    policy = {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Action": ["s3:PutObject", "s3:GetObject"],
             "Resource": "arn:aws:s3:::molecule-logs/web/*"},
            {"Effect": "Allow", "Action": ["s3:GetObject"], "Resource": "arn:aws:s3:::molecule-reports/*"},
            {"Effect": "Allow", "Action": ["kms:GenerateDataKey", "kms:Decrypt"], "Resource": kms_key_arn,
             "Condition": {"StringEquals": {"kms:ViaService": f"s3.{REGION}.amazonaws.com"}}},
        ],
    }
    return {
        "roles": {ROLE: {
            "trust": TRUST,
            "description": "Keyless S3 access for the molecule scenario",
            "tags": tags,
            "policies": {f"{ROLE}-access": policy},
        }},
        "profiles": {ROLE: {"roles": [ROLE], "tags": tags}},
    }


def new_key(endpoint: str) -> str:
    return client("kms", endpoint).create_key(Description="instance_role test")["KeyMetadata"]["Arn"]


def test_molecule_converges_once_and_then_changes_nothing(tmp_path: Path, endpoint: str) -> None:
    key = new_key(endpoint)
    molecule = [str(BIN_DIR / "molecule"), "test", "-s", "moto"]
    result = run(molecule, environment(tmp_path, endpoint, key), ROLE_DIR)
    assert result.rc == 0, result
    assert "idempotence] Executed: Successful" in result.output
    assert deployed(endpoint) == converged(key)


def test_check_mode_changes_nothing_present_or_absent(tmp_path: Path, endpoint: str) -> None:
    key = new_key(endpoint)
    reset_calls(endpoint)
    checked = converge(tmp_path, endpoint, key, "--check", "--diff")
    assert changed(checked) == 3  # role, policy, profile: what a real run would do
    assert '"role_arn": null' in checked.output
    assert mutating_calls(fetch_calls(endpoint)) == []
    assert deployed(endpoint) == NOTHING
    assert changed(converge(tmp_path, endpoint, key)) == 3
    reset_calls(endpoint)
    assert changed(converge(tmp_path, endpoint, key, "--check", instance_role_state="absent")) == 3
    assert mutating_calls(fetch_calls(endpoint)) == []
    assert deployed(endpoint) == converged(key)


def test_absent_removes_profile_policy_and_role_then_changes_nothing(tmp_path: Path, endpoint: str) -> None:
    key = new_key(endpoint)
    assert changed(converge(tmp_path, endpoint, key)) == 3
    removed = converge(tmp_path, endpoint, key, instance_role_state="absent")
    assert changed(removed) == 3
    assert deployed(endpoint) == NOTHING
    assert changed(converge(tmp_path, endpoint, key, instance_role_state="absent")) == 0


def test_a_whole_policy_document_instead_of_grants(tmp_path: Path, endpoint: str) -> None:
    document = {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::elsewhere/*"}]}
    result = converge(tmp_path, endpoint, "", instance_role_grants=[], instance_role_policy=document,
                      instance_role_policy_name="Whole")
    assert changed(result) == 3
    assert deployed(endpoint)["roles"][ROLE]["policies"] == {"Whole": document}


def test_a_prefix_ends_at_a_slash_and_an_expected_owner_is_a_condition(tmp_path: Path, endpoint: str) -> None:
    """"logs" must not also grant logs-old/; a bucket claimed by another account is never used."""
    grants = [{"bucket": "molecule-logs", "prefix": "logs", "expected_bucket_owner": "111122223333"},
              {"bucket": "molecule-reports", "prefix": "daily/", "actions": ["s3:GetObject"]}]
    result = converge(tmp_path, endpoint, "", instance_role_grants=grants)
    assert changed(result) == 3
    assert deployed(endpoint)["roles"][ROLE]["policies"][f"{ROLE}-access"]["Statement"] == [
        {"Effect": "Allow", "Action": ["s3:PutObject", "s3:GetObject"],
         "Resource": "arn:aws:s3:::molecule-logs/logs/*",
         "Condition": {"StringEquals": {"s3:ResourceAccount": "111122223333"}}},
        {"Effect": "Allow", "Action": ["s3:GetObject"], "Resource": "arn:aws:s3:::molecule-reports/daily/*"},
    ]


@pytest.mark.parametrize(
    ("extra_vars", "message"),
    [
        ({"instance_role_grants": [{"bucket": "logs", "colour": "red"}]},
         "instance_role_grants.colour. Supported parameters include: actions, bucket, expected_bucket_owner,"
         " kms_key_arn, prefix"),
        ({"instance_role_grants": [{"prefix": "web/"}]}, "missing required arguments: bucket"),
        ({"instance_role_grants": [{"bucket": ""}]},
         not_a_bucket(0, "", "must be 3 to 63 characters long")),
        ({"instance_role_grants": [{"bucket": "logs"}, {"bucket": "logs/*"}]},
         not_a_bucket(1, "logs/*", "must have only lowercase")),
        ({"instance_role_grants": [{"bucket": "*"}]},
         not_a_bucket(0, "*", "must be 3 to 63 characters long")),
        ({"instance_role_grants": [{"bucket": "my-logs-*"}]},
         not_a_bucket(0, "my-logs-*", "must have only lowercase")),
        ({"instance_role_grants": [{"bucket": "my..logs"}]},
         not_a_bucket(0, "my..logs", "must not have two adjacent dots")),
        ({"instance_role_grants": [{"bucket": "logs", "prefix": "web*"}]},
         "instance_role_grants[0].prefix must not hold *, which IAM reads as a wildcard"),
        ({"instance_role_grants": [{"bucket": "logs", "expected_bucket_owner": "12345"}]},
         'instance_role_grants[0].expected_bucket_owner must be a 12-digit AWS account id, not "12345"'),
        ({"instance_role_grants": [{"bucket": "logs", "actions": []}]},
         "instance_role_grants[0].actions must name at least one action"),
        ({"instance_role_grants": [{"bucket": "logs", "kms_key_arn": ALIAS}]},
         "instance_role_grants[0].kms_key_arn must be a KMS key ARN"
         f" (arn:PARTITION:kms:REGION:ACCOUNT:key/ID), not {ALIAS}"),
        ({"instance_role_policy": {"Version": "2012-10-17", "Statement": []}},
         "instance_role_grants and instance_role_policy are both set: give one of them"),
        ({"instance_role_grants": []}, "instance_role_grants or instance_role_policy is required"),
    ],
    ids=["unknown-key", "no-bucket", "empty-bucket", "bucket-with-slash", "bucket-star", "bucket-wildcard",
         "bucket-dots", "prefix-wildcard", "owner-not-an-account", "no-actions", "kms-alias", "both",
         "neither"],
)
def test_a_bad_grant_fails_before_any_aws_call(
    tmp_path: Path, endpoint: str, extra_vars: dict[str, Any], message: str
) -> None:
    refused = converge(tmp_path, endpoint, "arn:aws:kms:us-east-1:123456789012:key/k1", **extra_vars)
    assert refused.rc != 0
    assert message in refused.output
    assert fetch_calls(endpoint) == []
