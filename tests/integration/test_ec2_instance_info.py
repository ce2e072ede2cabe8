"""ec2_instance_info through ansible-playbook against the AWS server, compared with boto3's reading.

The instances are launched with boto3, as someone else would; what the module returns is
compared field by field with DescribeInstances' answer read straight from the server.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import aws_state
import pytest

IMAGE = "ami-12c6146b"
TRUST = {
    "Version": "2012-10-17",
    "Statement": [
        {"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}
    ],
}
PLAYBOOK = """\
- name: Read instances with keyless.aws.ec2_instance_info, in check mode and not
  hosts: localhost
  gather_facts: false
  module_defaults:
    group/keyless.aws.aws:
      endpoint_url: "{{ aws_endpoint }}"
      region: "{{ aws_region }}"
      access_key: "{{ aws_access_key }}"
      secret_key: "{{ aws_secret_key }}"
  tasks:
    - name: By name
      keyless.aws.ec2_instance_info:
        name: info-web
      register: by_name
    - name: By name (check)
      keyless.aws.ec2_instance_info:
        name: info-web
      check_mode: true
      register: by_name_check
    - name: By ids and by a tag filter
      keyless.aws.ec2_instance_info:
        instance_ids: "{{ ids }}"
        filters:
          tag:project: info
      register: by_ids
    - name: Keep the results for the test
      ansible.builtin.copy:
        content: "{{ {'by_name': by_name, 'by_name_check': by_name_check, 'by_ids': by_ids} | to_json }}"
        dest: "{{ results_file }}"
        mode: "0600"
"""


def launch(ec2: Any, name: str, **kwargs: Any) -> str:
    tags = [{"Key": "Name", "Value": name}, {"Key": "project", "Value": "info"}]
    answer = ec2.run_instances(
        ImageId=IMAGE,
        MinCount=1,
        MaxCount=1,
        InstanceType="t3.small",
        TagSpecifications=[{"ResourceType": "instance", "Tags": tags}],
        **kwargs,
    )
    return answer["Instances"][0]["InstanceId"]


def as_boto3_reads_it(raw: dict[str, Any]) -> dict[str, Any]:
    """The fields the module shows, as DescribeInstances answers them (names in the module's words)."""
    metadata = raw["MetadataOptions"]
    return {
        "instance_id": raw["InstanceId"],
        "state": raw["State"]["Name"],
        "image_id": raw["ImageId"],
        "instance_type": raw["InstanceType"],
        "subnet_id": raw["SubnetId"],
        "security_group_ids": sorted(group["GroupId"] for group in raw["SecurityGroups"]),
        "private_ip_address": raw["PrivateIpAddress"],
        "iam_instance_profile_arn": raw.get("IamInstanceProfile", {}).get("Arn"),
        "metadata_options": {
            "http_tokens": metadata["HttpTokens"],
            "http_put_response_hop_limit": metadata["HttpPutResponseHopLimit"],
            "http_endpoint": metadata["HttpEndpoint"],
        },
        "tags": aws_state.tag_dict(raw["Tags"]),
        "launch_time": raw["LaunchTime"],
    }


def as_module_shows_it(view: dict[str, Any], fields: list[str]) -> dict[str, Any]:
    """Those fields of the module's view; its ISO 8601 launch time read back as a time."""
    shown = {key: view[key] for key in fields}
    return {**shown, "launch_time": datetime.fromisoformat(view["launch_time"])}


@pytest.mark.both_paths
def test_instances_read_by_name_ids_and_filters_are_what_ec2_describes(run_playbook, aws, tmp_path):
    iam, ec2 = aws_state.client(aws.url, "iam"), aws_state.client(aws.url, "ec2")
    iam.create_role(RoleName="info-role", AssumeRolePolicyDocument=json.dumps(TRUST))
    profile_arn = iam.create_instance_profile(InstanceProfileName="info-profile")["InstanceProfile"]["Arn"]
    iam.add_role_to_instance_profile(InstanceProfileName="info-profile", RoleName="info-role")
    ended = launch(ec2, "info-web")
    ec2.terminate_instances(InstanceIds=[ended])
    web = launch(
        ec2,
        "info-web",
        IamInstanceProfile={"Arn": profile_arn},
        MetadataOptions={"HttpTokens": "required", "HttpPutResponseHopLimit": 2, "HttpEndpoint": "enabled"},
    )
    other = launch(ec2, "info-other")
    launch(ec2, "info-web?")  # a Name that the name, read as a pattern, would also match
    # On a bad day EC2 plays its transitions (pending, shutting-down): settle them first, so the
    # module and boto3 read the same states.
    settle = {"Delay": 1, "MaxAttempts": 120}
    ec2.get_waiter("instance_terminated").wait(InstanceIds=[ended], WaiterConfig=settle)
    ec2.get_waiter("instance_running").wait(InstanceIds=[web, other], WaiterConfig=settle)
    results_file, playbook = tmp_path / "results.json", tmp_path / "ec2_instance_info.yml"
    playbook.write_text(PLAYBOOK)

    result = run_playbook(
        playbook, extra_vars={"ids": [web, other, "i-0123456789abcdef0"], "results_file": str(results_file)}
    )

    assert result.rc == 0, result
    results = json.loads(results_file.read_text())
    described = {
        raw["InstanceId"]: as_boto3_reads_it(raw)
        for reservation in ec2.describe_instances(InstanceIds=[web, other])["Reservations"]
        for raw in reservation["Instances"]
    }
    assert described[web]["iam_instance_profile_arn"] == profile_arn
    fields = [key for key in described[web] if key != "launch_time"]
    for key in ("by_name", "by_name_check"):
        assert results[key]["changed"] is False
        shown = [as_module_shows_it(view, fields) for view in results[key]["instances"]]
        assert shown == [described[web]]
    by_ids = sorted(results["by_ids"]["instances"], key=lambda view: view["instance_id"])
    shown = [as_module_shows_it(view, fields) for view in by_ids]
    assert shown == [described[instance] for instance in sorted([web, other])]
