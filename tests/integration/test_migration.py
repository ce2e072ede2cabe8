"""Moving from amazon.aws: a playbook written for it runs once only its module names change.

``migration_amazon_aws.yml`` is written as amazon.aws documents its modules (their option names,
``images | last`` for the newest image). The test rewrites the module names and nothing else,
runs the playbook twice against the AWS server and reads the outcome with boto3 from the server.
"""

from __future__ import annotations

import json
import re
import time
from pathlib import Path
from typing import Any
from unittest.mock import ANY

import aws_state
from recap import play_recap

PLAYBOOK = Path(__file__).parent / "playbooks" / "migration_amazon_aws.yml"

TRUST = {
    "Version": "2012-10-17",
    "Statement": [
        {"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}
    ],
}
LOGS = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "Action": ["s3:PutObject", "s3:GetObject"],
            "Resource": "arn:aws:s3:::migration-logs/*",
        }
    ],
}
READ = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Action": "s3:ListBucket", "Resource": "*"}],
}
# The tasks that change something on a first run: role, inline policy, profile, instance, results file.
FIRST_RUN_CHANGES = 5


# amazon.aws's modules whose keyless.aws counterpart has another name.
RENAMED = {"iam_policy": "iam_role_policy", "ec2_ami_info": "ec2_image_info"}


# A module name (or the module_defaults group) as a YAML key: ``amazon.aws.iam_role:`` ending its line.
FQCN_KEY = re.compile(r"(?<=[\s/])amazon\.aws\.(\w+)(?=:$)", re.MULTILINE)


def keyless_playbook(text: str) -> str:
    """The playbook with amazon.aws's module names made keyless.aws's, and nothing else changed."""
    return FQCN_KEY.sub(lambda match: f"keyless.aws.{RENAMED.get(match[1], match[1])}", text)


def test_only_module_names_and_the_module_defaults_group_are_rewritten():
    original = PLAYBOOK.read_text().splitlines()
    rewritten = keyless_playbook(PLAYBOOK.read_text()).splitlines()
    changed = [
        (before.strip(), after.strip())
        for before, after in zip(original, rewritten, strict=True)
        if before != after
    ]
    assert changed == [
        ("group/amazon.aws.aws:", "group/keyless.aws.aws:"),
        ("amazon.aws.iam_role:", "keyless.aws.iam_role:"),
        ("amazon.aws.iam_policy:", "keyless.aws.iam_role_policy:"),
        ("amazon.aws.iam_instance_profile:", "keyless.aws.iam_instance_profile:"),
        ("amazon.aws.ec2_ami_info:", "keyless.aws.ec2_image_info:"),
        ("amazon.aws.ec2_instance:", "keyless.aws.ec2_instance:"),
        ("amazon.aws.ec2_instance_info:", "keyless.aws.ec2_instance_info:"),
    ]


def prepare_account(endpoint: str) -> dict[str, Any]:
    """What the playbook expects to find: two managed policies, the default subnet, two images.

    The images are registered a second apart (EC2 dates images to the second), the newer one with
    the name that sorts first, so neither name order nor newest-first order makes it the last.
    """
    iam, ec2 = aws_state.client(endpoint, "iam"), aws_state.client(endpoint, "ec2")
    boundary = iam.create_policy(PolicyName="migration-boundary", PolicyDocument=json.dumps(READ))
    read = iam.create_policy(PolicyName="migration-read", PolicyDocument=json.dumps(READ))
    older = ec2.register_image(Name="migration-image-b")["ImageId"]
    time.sleep(1.1)
    newer = ec2.register_image(Name="migration-image-a")["ImageId"]
    dates = {
        image["ImageId"]: image["CreationDate"]
        for image in ec2.describe_images(ImageIds=[older, newer])["Images"]
    }
    assert dates[older] < dates[newer]
    subnets = ec2.describe_subnets(Filters=[{"Name": "default-for-az", "Values": ["true"]}])["Subnets"]
    return {
        "boundary_policy_arn": boundary["Policy"]["Arn"],
        "read_policy_arn": read["Policy"]["Arn"],
        "subnet_id": subnets[0]["SubnetId"],
        "newest_image": newer,
    }


def test_amazon_aws_playbook_runs_with_only_module_names_changed_then_changes_nothing(
    run_playbook, aws, tmp_path
):
    account = prepare_account(aws.url)
    playbook = tmp_path / "migration_keyless_aws.yml"
    playbook.write_text(keyless_playbook(PLAYBOOK.read_text()))
    results_file = tmp_path / "migration-results.json"
    extra_vars = {
        "boundary_policy_arn": account["boundary_policy_arn"],
        "subnet_id": account["subnet_id"],
        "results_file": str(results_file),
    }

    def changes(check: bool) -> int:
        result = run_playbook(playbook, extra_vars=extra_vars, check=check)
        assert result.rc == 0, result
        return play_recap(result.stdout)["localhost"]["changed"]

    # Check mode on the empty account predicts every change and makes none.
    assert changes(check=True) == FIRST_RUN_CHANGES
    assert aws_state.world(aws.url) == {"roles": {}, "profiles": {}, "instances": {}}
    assert not results_file.exists()
    assert changes(check=False) == FIRST_RUN_CHANGES
    seen_first = json.loads(results_file.read_text())
    assert changes(check=True) == 0
    assert changes(check=False) == 0

    expected_role = aws_state.new_role(
        TRUST,
        description="Role of the migrated instance",
        boundary=account["boundary_policy_arn"],
        managed_policies=[account["read_policy_arn"]],
        inline_policies={"migration-logs": LOGS},
        tags={"project": "migration"},
    )
    expected_profile = aws_state.new_profile(
        path="/migration/", roles=["migration-role"], tags={"project": "migration"}
    )
    expected_instance = {
        "id": ANY,
        "state": "running",
        "image": account["newest_image"],
        "profile": "migration-profile",
        "metadata": {"http_tokens": "required", "http_put_response_hop_limit": 2, "http_endpoint": "enabled"},
        "user_data": None,
        "subnet": account["subnet_id"],
        "groups": ANY,
        "key": None,
        "tags": {"Name": "migration-instance", "project": "migration"},
    }
    # No instance profile named like the role: amazon.aws's create_instance_profile is not played.
    assert aws_state.world(aws.url) == {
        "roles": {"migration-role": expected_role},
        "profiles": {"migration-profile": expected_profile},
        "instances": {"migration-instance": expected_instance},
    }
    instance_id = aws_state.instance(aws.url, "migration-instance")["id"]
    seen = {
        "newest_image": account["newest_image"],
        "instances": [instance_id],
        "instance_images": [account["newest_image"]],
    }
    assert seen_first == seen
    assert json.loads(results_file.read_text()) == seen
