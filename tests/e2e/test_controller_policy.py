"""The controller's published least-privilege policy, proven on the flow.

The playbooks run as an IAM user whose only policy is ``keyless.aws.controller_policy`` rendered
for the sandbox's names, and the AWS server authorizes that user as AWS does
(sandbox/authorize.py: resource ARNs, ``iam:PassedToService``, ``ec2:MetadataHttpTokens``,
request and resource tags, ``ec2:CreateAction``). site.yml and teardown.yml must pass; every
action the policy grants must be one the flow is authorized for, and every action the flow is
authorized for must be granted by it (a missing one fails the playbooks first). Then, with the
same credentials, what the policy exists to refuse is refused.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import awscalls
import boto3
import flow
import pytest
from bad_day import HARNESS_APP_ID
from botocore.config import Config
from botocore.exceptions import ClientError
from policy_eval import Check, decide

from ansible_collections.keyless.aws.plugins.filter.controller_policy import controller_policy
from sandbox import CONTROLLER_USER, REGION, Sandbox

ACCOUNT = "123456789012"  # moto's
ROLE, PROFILE = "logsbucket-role", "logsbucket-profile"  # roles/keyless defaults
CONTROLLER_POLICY = controller_policy(ROLE, ACCOUNT, REGION, profile_name=PROFILE)
EC2_MAY_ASSUME = {
    "Effect": "Allow",
    "Principal": {"Service": "ec2.amazonaws.com"},
    "Action": "sts:AssumeRole",
}
TRUST = json.dumps({"Version": "2012-10-17", "Statement": [EC2_MAY_ASSUME]})


def granted_actions(policy: dict[str, Any]) -> set[str]:
    actions: set[str] = set()
    for item in policy["Statement"]:
        actions.update(item["Action"] if isinstance(item["Action"], list) else [item["Action"]])
    return actions


def without(policy: dict[str, Any], action: str) -> dict[str, Any]:
    reduced = copy.deepcopy(policy)
    for item in reduced["Statement"]:
        listed = item["Action"] if isinstance(item["Action"], list) else [item["Action"]]
        item["Action"] = [name for name in listed if name != action]
    return reduced


def controller_checks(sandbox: Sandbox) -> list[dict[str, Any]]:
    decisions = [d for d in awscalls.fetch_authorizations(sandbox.endpoint) if d["user"] == CONTROLLER_USER]
    return [{**check, "operation": d["operation"]} for d in decisions for check in d["checks"]]


def clients(sandbox: Sandbox, key: tuple[str, str]) -> tuple[Any, Any]:
    """EC2 and IAM clients with ``key``; the harness's app id keeps the bad day off them."""
    session = boto3.session.Session(*key, region_name=REGION)
    config = Config(user_agent_appid=HARNESS_APP_ID, retries={"mode": "standard"})
    ec2, iam = (session.client(name, endpoint_url=sandbox.endpoint, config=config) for name in ("ec2", "iam"))
    return ec2, iam


def test_site_and_teardown_pass_with_exactly_the_published_policy(sandbox: Sandbox, tmp_path: Path) -> None:
    rc, output = flow.site(sandbox, tmp_path)
    assert rc == 0, output[-4000:]
    rc, output = flow.play(sandbox, "teardown.yml", tmp_path)
    assert rc == 0, output[-4000:]
    left = sandbox.leftovers()
    assert (left["roles"], left["instance_profiles"], left["instances"]) == ([], [], [])

    checks = controller_checks(sandbox)
    assert [c for c in checks if not c["allowed"]] == []
    # The calls reached AWS as the controller: the recorder saw its key on each of them.
    recorded = {
        c["operation"]
        for c in awscalls.fetch_calls(sandbox.endpoint)
        if c["access_key"] == sandbox.controller_key[0]
    }
    assert recorded == {c["operation"] for c in checks}
    used = {c["action"] for c in checks}
    assert used == granted_actions(CONTROLLER_POLICY), (
        f"granted but never used: {sorted(granted_actions(CONTROLLER_POLICY) - used)}; "
        f"used but not granted: {sorted(used - granted_actions(CONTROLLER_POLICY))}"
    )
    assert {c["statement"] for c in checks} == {item["Sid"] for item in CONTROLLER_POLICY["Statement"]}
    # Each action is needed: without it, a check the flow made is denied.
    for action in sorted(used):
        reduced = without(CONTROLLER_POLICY, action)
        made = [
            Check(c["action"], c["resource"], {k: tuple(v) for k, v in c["context"].items()})
            for c in checks
            if c["action"] == action
        ]
        assert any(not decide([reduced], check).allowed for check in made), action


def test_what_the_policy_exists_to_refuse_is_refused(sandbox: Sandbox) -> None:
    admin_ec2, admin_iam = clients(sandbox, sandbox.admin_key)
    ec2, iam = clients(sandbox, sandbox.controller_key)
    for name in (ROLE, "other-role"):
        admin_iam.create_role(RoleName=name, AssumeRolePolicyDocument=TRUST)
        admin_iam.create_instance_profile(InstanceProfileName=f"{name}-profile")
        admin_iam.add_role_to_instance_profile(InstanceProfileName=f"{name}-profile", RoleName=name)
    image = admin_ec2.describe_images(Owners=["099720109477"])["Images"][0]["ImageId"]
    managed = [{"ResourceType": "instance", "Tags": [{"Key": "managed-by", "Value": "keyless.aws"}]}]

    def launch(tokens: str, tags: list[dict[str, Any]], profile: str) -> dict[str, Any]:
        return ec2.run_instances(
            ImageId=image,
            MinCount=1,
            MaxCount=1,
            InstanceType="t3.micro",
            MetadataOptions={"HttpTokens": tokens},
            TagSpecifications=tags,
            IamInstanceProfile={"Name": profile},
        )

    refused = {
        "IMDSv1 instance": lambda: launch("optional", managed, f"{ROLE}-profile"),
        "untagged instance": lambda: launch("required", [], f"{ROLE}-profile"),
        "another role passed": lambda: launch("required", managed, "other-role-profile"),
        "another role's policy": lambda: iam.put_role_policy(
            RoleName="other-role", PolicyName="p", PolicyDocument=TRUST
        ),
        "another role's trust": lambda: iam.update_assume_role_policy(
            RoleName="other-role", PolicyDocument=TRUST
        ),
    }
    outcomes = {}
    for what, call in refused.items():
        with pytest.raises(ClientError) as caught:
            call()
        outcomes[what] = caught.value.response["Error"]["Code"]
    assert outcomes == {
        "IMDSv1 instance": "UnauthorizedOperation",
        "untagged instance": "UnauthorizedOperation",
        "another role passed": "UnauthorizedOperation",
        "another role's policy": "AccessDenied",
        "another role's trust": "AccessDenied",
    }
    # What the flow does is allowed, and an instance the collection did not launch stays out of reach.
    launched = launch("required", managed, f"{ROLE}-profile")["Instances"][0]["InstanceId"]
    foreign = admin_ec2.run_instances(ImageId=image, MinCount=1, MaxCount=1)["Instances"][0]["InstanceId"]
    with pytest.raises(ClientError, match="UnauthorizedOperation"):
        ec2.terminate_instances(InstanceIds=[foreign])
    ec2.terminate_instances(InstanceIds=[launched])
    admin_ec2.terminate_instances(InstanceIds=[foreign])
