"""The playbooks' shared defaults (roles/keyless) and the inventory values that override them.

provision.yml and teardown.yml run for real against the recording AWS server, the way a user
runs them: ``ansible-playbook -i <inventory dir> playbooks/X.yml``, every setting in the
inventory's ``group_vars/all.yml``. What they created is read back from the server with boto3.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import boto3
import launcher
import pytest
import yaml
from harness import ACCESS_KEY, ANSIBLE_PLAYBOOK, PLAYBOOK_TIMEOUT, REGION, REPO, SECRET_KEY, playbook_env
from recap import play_recap

PLAYBOOKS = REPO / "playbooks"
ROLE = REPO / "roles" / "keyless"
BUCKET = "defaults-test-bucket"

# What the inventory must give in any case: the bucket, an image moto has, and a launched
# "instance" that Ansible reaches over a local connection (as in the sandbox).
REQUIRED = {
    "keyless_bucket": BUCKET,
    "instance_ami_name_pattern": "ubuntu/images/hvm-ssd/ubuntu-*-amd64-server-*",
    "keyless_instance_host_vars": {
        "ansible_connection": "local",
        "ansible_python_interpreter": sys.executable,
    },
}
# Every resource setting set to something else than its default.
OVERRIDES = {
    "keyless_role_name": "inventory-role",
    "keyless_profile_name": "inventory-profile",
    "keyless_policy_name": "InventoryPermissions",
    "keyless_trusted_service": "ec2.amazonaws.com.cn",
    "keyless_policy_actions": ["s3:GetObject"],
    "keyless_bucket_prefix": "inventory/",
    "keyless_instance_name": "inventory-writer",
}
# What provision.yml creates when the inventory names nothing.
DEFAULTS = {
    "keyless_role_name": "logsbucket-role",
    "keyless_profile_name": "logsbucket-profile",
    "keyless_policy_name": "LogsBucketPermissions",
    "keyless_trusted_service": "ec2.amazonaws.com",
    "keyless_policy_actions": ["s3:PutObject", "s3:GetObject"],
    "keyless_bucket_prefix": "",
    "keyless_instance_name": "keyless-logs-writer",
}


def inventory(path: Path, group_vars: dict[str, Any]) -> Path:
    """An inventory directory: localhost, and ``group_vars/all.yml`` holding ``group_vars``."""
    (path / "group_vars").mkdir(parents=True)
    (path / "hosts.yml").write_text(yaml.safe_dump({"all": {"hosts": {"localhost": {}}}}))
    (path / "group_vars" / "all.yml").write_text(yaml.safe_dump(group_vars))
    return path


def run(playbook: str, inventory_dir: Path, workdir: Path, *options: str,
        endpoint: str | None = None) -> launcher.Finished:
    """``ansible-playbook -i inventory_dir [options] playbooks/<playbook>``, against ``endpoint``."""
    aws = {"AWS_ENDPOINT_URL": endpoint, "AWS_REGION": REGION, "AWS_ACCESS_KEY_ID": ACCESS_KEY,
           "AWS_SECRET_ACCESS_KEY": SECRET_KEY} if endpoint else {}
    command = [str(ANSIBLE_PLAYBOOK), "-i", str(inventory_dir), *options, str(PLAYBOOKS / playbook)]
    return launcher.run(command, playbook_env(workdir, aws), workdir, PLAYBOOK_TIMEOUT)


def client(service: str, endpoint: str) -> Any:
    return boto3.client(service, endpoint_url=endpoint, region_name=REGION,
                        aws_access_key_id=ACCESS_KEY, aws_secret_access_key=SECRET_KEY)


def deployed(endpoint: str) -> dict[str, Any]:
    """The settings as the server shows them: every role with its trust, policies and profiles."""
    iam, ec2 = client("iam", endpoint), client("ec2", endpoint)
    roles = {}
    for role in iam.list_roles()["Roles"]:
        name = role["RoleName"]
        (statement,) = role["AssumeRolePolicyDocument"]["Statement"]
        policies = {
            policy: iam.get_role_policy(RoleName=name, PolicyName=policy)["PolicyDocument"]["Statement"]
            for policy in iam.list_role_policies(RoleName=name)["PolicyNames"]
        }
        roles[name] = {"trusted": statement["Principal"]["Service"], "policies": policies}
    profiles = {
        profile["InstanceProfileName"]: [role["RoleName"] for role in profile["Roles"]]
        for profile in iam.list_instance_profiles()["InstanceProfiles"]
    }
    reservations = ec2.describe_instances(
        Filters=[{"Name": "instance-state-name", "Values": ["pending", "running"]}]
    )["Reservations"]
    instances = {
        tag["Value"]: instance["IamInstanceProfile"]["Arn"].rpartition("/")[2]
        for reservation in reservations
        for instance in reservation["Instances"]
        for tag in instance.get("Tags", [])
        if tag["Key"] == "Name"
    }
    return {"roles": roles, "profiles": profiles, "instances": instances}


# A prefix without its "/" and a bucket owner: the policy grants the objects under "inventory/"
# only (not "inventory-old/"), and only in a bucket of that account.
NARROWED = {**OVERRIDES, "keyless_bucket_prefix": "inventory",
            "keyless_expected_bucket_owner": "111122223333"}


def expected(settings: dict[str, Any]) -> dict[str, Any]:
    prefix = settings["keyless_bucket_prefix"]
    statement = {
        "Effect": "Allow",
        "Action": settings["keyless_policy_actions"],
        "Resource": f"arn:aws:s3:::{BUCKET}/{prefix}{'/' if prefix and not prefix.endswith('/') else ''}*",
    }
    if settings.get("keyless_expected_bucket_owner"):
        owner = settings["keyless_expected_bucket_owner"]
        statement["Condition"] = {"StringEquals": {"s3:ResourceAccount": owner}}
    return {
        "roles": {
            settings["keyless_role_name"]: {
                "trusted": settings["keyless_trusted_service"],
                "policies": {settings["keyless_policy_name"]: [statement]},
            }
        },
        "profiles": {settings["keyless_profile_name"]: [settings["keyless_role_name"]]},
        "instances": {settings["keyless_instance_name"]: settings["keyless_profile_name"]},
    }


@pytest.mark.parametrize(
    ("group_vars", "settings"),
    [({}, DEFAULTS), (OVERRIDES, OVERRIDES), (NARROWED, NARROWED)],
    ids=["defaults", "inventory-group-vars", "prefix-without-slash-and-bucket-owner"],
)
def test_provision_and_teardown_follow_the_defaults_unless_inventory_overrides(
    aws: launcher.Service, tmp_path: Path, group_vars: dict[str, Any], settings: dict[str, Any]
) -> None:
    inventory_dir = inventory(tmp_path / "inventory", {**REQUIRED, **group_vars})

    provisioned = run("provision.yml", inventory_dir, tmp_path, endpoint=aws.url)
    assert provisioned.rc == 0, str(provisioned)
    assert deployed(aws.url) == expected(settings)

    # The same inventory tells teardown.yml what to remove: all of it.
    removed = run("teardown.yml", inventory_dir, tmp_path, endpoint=aws.url)
    assert removed.rc == 0, str(removed)
    assert play_recap(removed.stdout)["localhost"]["changed"] == 4
    assert deployed(aws.url) == {"roles": {}, "profiles": {}, "instances": {}}


@pytest.mark.parametrize(
    ("options", "hosts"),
    [((), ["launched-host"]), (("-e", "keyless_instance_group=elsewhere"), ["elsewhere-host"])],
    ids=["default-group", "extra-var"],
)
def test_configure_and_verify_target_the_instance_group(
    tmp_path: Path, options: tuple[str, ...], hosts: list[str]
) -> None:
    inventory_dir = tmp_path / "inventory"
    inventory_dir.mkdir()
    (inventory_dir / "hosts.yml").write_text(yaml.safe_dump({"all": {"children": {
        "launched": {"hosts": {"launched-host": {}}},
        "elsewhere": {"hosts": {"elsewhere-host": {}}},
    }}}))
    for playbook in ("configure.yml", "verify_s3.yml"):
        listed = run(playbook, inventory_dir, tmp_path, "--list-hosts", *options)
        assert listed.rc == 0, str(listed)
        play_hosts = [line.strip() for line in listed.stdout.split("hosts (", 1)[1].splitlines()[1:]]
        assert [host for host in play_hosts if host] == hosts


def test_argument_spec_documents_each_default() -> None:
    """``ansible-doc -t role keyless.aws.keyless`` shows the defaults the playbooks use."""
    defaults = yaml.safe_load((ROLE / "defaults" / "main.yml").read_text())
    specs = yaml.safe_load((ROLE / "meta" / "argument_specs.yml").read_text())
    options = specs["argument_specs"]["main"]["options"]
    documented = {name: spec["default"] for name, spec in options.items() if "default" in spec}
    templated = {name for name, value in defaults.items() if "{{" in json.dumps(value)}
    assert set(defaults) <= set(options)
    assert documented == {name: value for name, value in defaults.items() if name not in templated}


def inline_policies(endpoint: str, region: str = REGION) -> dict[str, list[dict[str, Any]]]:
    """Every inline policy's statements on the server, by role name, read with boto3."""
    iam = boto3.client("iam", endpoint_url=endpoint, region_name=region,
                       aws_access_key_id=ACCESS_KEY, aws_secret_access_key=SECRET_KEY)
    return {
        role["RoleName"]: [
            statement
            for policy in iam.list_role_policies(RoleName=role["RoleName"])["PolicyNames"]
            for statement in iam.get_role_policy(RoleName=role["RoleName"], PolicyName=policy)[
                "PolicyDocument"]["Statement"]
        ]
        for role in iam.list_roles()["Roles"]
    }


def test_provision_builds_the_bucket_arn_in_the_partition_of_the_role(
    aws: launcher.Service, tmp_path: Path
) -> None:
    """In aws-cn the bucket's ARN is arn:aws-cn:s3:::…; the role's ARN, from IAM, tells the partition.

    moto plays IAM in China: a role created through cn-north-1 has an arn:aws-cn:iam ARN.
    """
    region = "cn-north-1"
    inventory_dir = inventory(tmp_path / "inventory", {**REQUIRED, "keyless_region": region})
    try:
        provisioned = run("provision.yml", inventory_dir, tmp_path, endpoint=aws.url)
        assert provisioned.rc == 0, str(provisioned)
        (statement,) = inline_policies(aws.url, region)["logsbucket-role"]
        assert statement["Resource"] == f"arn:aws-cn:s3:::{BUCKET}/*"
    finally:
        removed = run("teardown.yml", inventory_dir, tmp_path, endpoint=aws.url)
        assert removed.rc == 0, str(removed)


def test_a_kms_key_adds_generate_data_key_and_decrypt_through_s3_to_the_inline_policy(
    aws: launcher.Service, tmp_path: Path
) -> None:
    """SSE-KMS with a customer managed key: PutObject needs kms:GenerateDataKey, GetObject kms:Decrypt."""
    key_arn = client("kms", aws.url).create_key(Description="keyless flow test")["KeyMetadata"]["Arn"]
    inventory_dir = inventory(tmp_path / "inventory", {**REQUIRED, "keyless_kms_key_arn": key_arn})
    try:
        provisioned = run("provision.yml", inventory_dir, tmp_path, endpoint=aws.url)
        assert provisioned.rc == 0, str(provisioned)
        assert inline_policies(aws.url)["logsbucket-role"] == [
            {
                "Effect": "Allow",
                "Action": ["s3:PutObject", "s3:GetObject"],
                "Resource": f"arn:aws:s3:::{BUCKET}/*",
            },
            {
                "Effect": "Allow",
                "Action": ["kms:GenerateDataKey", "kms:Decrypt"],
                "Resource": key_arn,
                "Condition": {"StringEquals": {"kms:ViaService": f"s3.{REGION}.amazonaws.com"}},
            },
        ]
    finally:
        removed = run("teardown.yml", inventory_dir, tmp_path, endpoint=aws.url)
        assert removed.rc == 0, str(removed)


def test_a_kms_alias_is_refused_before_any_aws_call(aws: launcher.Service, tmp_path: Path) -> None:
    """IAM policies name KMS keys by key ARN only; an alias ARN would grant nothing."""
    alias = "arn:aws:kms:us-east-1:123456789012:alias/logs"
    inventory_dir = inventory(tmp_path / "inventory", {**REQUIRED, "keyless_kms_key_arn": alias})
    refused = run("provision.yml", inventory_dir, tmp_path, endpoint=aws.url)
    assert refused.rc != 0
    expected_message = f"must be a KMS key ARN (arn:PARTITION:kms:REGION:ACCOUNT:key/ID), not {alias}"
    assert f"keyless_kms_key_arn {expected_message}" in refused.stdout
    assert inline_policies(aws.url) == {}
