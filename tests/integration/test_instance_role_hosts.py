"""keyless.aws.instance as a user's play meets it: a group of hosts, a new AMI release, launch settings.

Each test runs ``ansible-playbook`` with the checkout's collection against the recording AWS
server and reads what the role made back from the server with boto3.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import aws_state
import launcher
import yaml
from harness import ACCESS_KEY, ANSIBLE_PLAYBOOK, PLAYBOOK_TIMEOUT, REGION, SECRET_KEY, playbook_env
from recap import play_recap

TRUST = {
    "Version": "2012-10-17",
    "Statement": [
        {"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}
    ],
}
PROFILE = "hosts-profile"
# The images of the tests: made by the test's own account, so the newest is the test's to choose.
PATTERN = "keyless-pin-test-*"
BASE_IMAGE = "ami-12c6146b"  # a moto image, x86_64: the instance the test's images are made from
LOCAL = {"ansible_connection": "local", "ansible_python_interpreter": sys.executable}

PLAYBOOK = """\
---
- name: One instance per host, launched by keyless.aws.instance
  hosts: "{{ target_hosts | default('all') }}"
  gather_facts: false
  module_defaults:
    group/keyless.aws.aws:
      endpoint_url: "{{ aws_endpoint }}"
      region: "{{ aws_region }}"
      access_key: "{{ aws_access_key }}"
      secret_key: "{{ aws_secret_key }}"
  tasks:
    - name: Launch
      ansible.builtin.include_role:
        name: keyless.aws.instance

- name: What inventory holds afterwards
  hosts: localhost
  gather_facts: false
  tasks:
    - name: Keep the launched group and its instance ids for the test
      ansible.builtin.copy:
        content: >-
          {{ dict(groups['launched'] | default([]) | zip(groups['launched'] | default([])
             | map('extract', hostvars, 'instance_id'))) | to_json }}
        dest: "{{ results_file }}"
        mode: "0600"
      check_mode: false
"""


def setup(endpoint: str, root: Path, hosts: dict[str, dict[str, Any]], group_vars: dict[str, Any]) -> Path:
    """The instance profile (made with boto3, as another team would) and an inventory directory."""
    iam = aws_state.client(endpoint, "iam")
    iam.create_role(RoleName="hosts-role", AssumeRolePolicyDocument=json.dumps(TRUST))
    iam.create_instance_profile(InstanceProfileName=PROFILE)
    iam.add_role_to_instance_profile(InstanceProfileName=PROFILE, RoleName="hosts-role")
    (root / "inventory" / "group_vars").mkdir(parents=True)
    (root / "inventory" / "hosts.yml").write_text(yaml.safe_dump({"all": {"hosts": hosts, "vars": LOCAL}}))
    settings = {
        "instance_profile": PROFILE,
        "instance_ami_owner": "self",
        "instance_ami_name_pattern": PATTERN,
        "instance_host_vars": LOCAL,
        "instance_wait_for_connection": False,
        **group_vars,
    }
    (root / "inventory" / "group_vars" / "all.yml").write_text(yaml.safe_dump(settings))
    (root / "site.yml").write_text(PLAYBOOK)
    return root


def play(endpoint: str, root: Path, *options: str) -> launcher.Finished:
    """``ansible-playbook -i inventory site.yml``, which leaves the launched group in launched.json."""
    results = root / "launched.json"
    results.unlink(missing_ok=True)
    extra = {
        "aws_endpoint": endpoint,
        "aws_region": REGION,
        "aws_access_key": ACCESS_KEY,
        "aws_secret_key": SECRET_KEY,
        "results_file": str(results),
    }
    command = [
        str(ANSIBLE_PLAYBOOK),
        "-i",
        str(root / "inventory"),
        "-e",
        json.dumps(extra),
        *options,
        str(root / "site.yml"),
    ]
    return launcher.run(command, playbook_env(root), root, PLAYBOOK_TIMEOUT)


def launched_group(root: Path) -> dict[str, str]:
    """The hosts of the inventory group ``launched`` after the last play, and their instance ids."""
    return json.loads((root / "launched.json").read_text())


def make_image(endpoint: str, name: str) -> str:
    """An image of the test's account named ``name``, made from an instance of a moto image."""
    ec2 = aws_state.client(endpoint, "ec2")
    source = ec2.run_instances(ImageId=BASE_IMAGE, MinCount=1, MaxCount=1)["Instances"][0]["InstanceId"]
    image = ec2.create_image(InstanceId=source, Name=name)["ImageId"]
    ec2.terminate_instances(InstanceIds=[source])
    return image


def live(endpoint: str, name: str) -> list[dict[str, Any]]:
    """The instances named ``name`` that are not terminated or terminating, read with boto3."""
    ec2 = aws_state.client(endpoint, "ec2")
    filters = [
        {"Name": "tag:Name", "Values": [name]},
        {"Name": "instance-state-name", "Values": ["pending", "running", "stopping", "stopped"]},
    ]
    return [
        instance
        for reservation in ec2.describe_instances(Filters=filters)["Reservations"]
        for instance in reservation["Instances"]
    ]


def changed(finished: launcher.Finished) -> dict[str, int]:
    return {host: counts["changed"] for host, counts in play_recap(finished.stdout).items()}


def test_every_host_of_the_group_gets_its_instance_into_inventory(
    aws: launcher.Service, tmp_path: Path
) -> None:
    make_image(aws.url, "keyless-pin-test-20260101")
    hosts = {"web-1": {"instance_name": "web-1-vm"}, "web-2": {"instance_name": "web-2-vm"}}
    root = setup(aws.url, tmp_path, hosts, {})

    first = play(aws.url, root)
    launched = launched_group(root)

    assert first.rc == 0, str(first)
    ids = {
        name: [instance["InstanceId"] for instance in live(aws.url, name)]
        for name in ("web-1-vm", "web-2-vm")
    }
    assert launched == {name: found[0] for name, found in ids.items()}, (launched, ids)
    second = play(aws.url, root)
    relaunched = launched_group(root)
    assert second.rc == 0, str(second)
    assert {host: count for host, count in changed(second).items() if host != "localhost"} == {
        "web-1": 0,
        "web-2": 0,
    }
    assert relaunched == launched


def test_an_instance_keeps_its_image_when_a_newer_one_is_released(
    aws: launcher.Service, tmp_path: Path
) -> None:
    old = make_image(aws.url, "keyless-pin-test-20260101")
    root = setup(aws.url, tmp_path, {"pinned": {"instance_name": "pinned-vm"}}, {})
    first = play(aws.url, root)
    assert first.rc == 0, str(first)
    (launched,) = live(aws.url, "pinned-vm")
    assert launched["ImageId"] == old
    new = make_image(aws.url, "keyless-pin-test-20260201")

    rerun = play(aws.url, root)

    assert rerun.rc == 0, str(rerun)
    assert changed(rerun)["pinned"] == 0
    assert "WARNING" not in rerun.stdout + rerun.stderr, str(rerun)
    assert [(found["InstanceId"], found["ImageId"]) for found in live(aws.url, "pinned-vm")] == [
        (launched["InstanceId"], old)
    ]

    # Asked to, the role replaces the instance with one launched from the newest image.
    predicted = play(aws.url, root, "--check", "-e", "instance_replace_on_new_image=true")
    assert predicted.rc == 0, str(predicted)
    assert changed(predicted)["pinned"] >= 1
    assert [found["InstanceId"] for found in live(aws.url, "pinned-vm")] == [launched["InstanceId"]]
    replaced = play(aws.url, root, "-e", "instance_replace_on_new_image=true")
    inventory = launched_group(root)
    assert replaced.rc == 0, str(replaced)
    (relaunched,) = live(aws.url, "pinned-vm")
    assert relaunched["ImageId"] == new
    assert relaunched["InstanceId"] != launched["InstanceId"]
    assert inventory == {"pinned-vm": relaunched["InstanceId"]}
    settled = play(aws.url, root, "-e", "instance_replace_on_new_image=true")
    assert settled.rc == 0, str(settled)
    assert changed(settled)["pinned"] == 0


def test_launch_settings_reach_the_instance(aws: launcher.Service, tmp_path: Path) -> None:
    make_image(aws.url, "keyless-pin-test-20260101")
    settings = {
        "instance_assign_public_ip": True,
        "instance_root_volume": {"volume_size": 20, "volume_type": "gp3", "delete_on_termination": True},
        "instance_termination_protection": True,
        "instance_shutdown_behavior": "terminate",
        "instance_detailed_monitoring": True,
    }
    root = setup(aws.url, tmp_path, {"settings": {"instance_name": "settings-vm"}}, settings)

    first = play(aws.url, root)

    assert first.rc == 0, str(first)
    (instance,) = live(aws.url, "settings-vm")
    ec2 = aws_state.client(aws.url, "ec2")
    instance_id = instance["InstanceId"]

    def attribute(name: str) -> Any:
        answer = ec2.describe_instance_attribute(InstanceId=instance_id, Attribute=name)
        return next(value["Value"] for key, value in answer.items() if key[0].isupper() and "Value" in value)

    (root_mapping,) = [
        mapping
        for mapping in instance["BlockDeviceMappings"]
        if mapping["DeviceName"] == instance["RootDeviceName"]
    ]
    volume = ec2.describe_volumes(VolumeIds=[root_mapping["Ebs"]["VolumeId"]])["Volumes"][0]
    assert (volume["Size"], volume["VolumeType"]) == (20, "gp3")
    assert instance.get("PublicIpAddress")
    assert instance["Monitoring"]["State"] in {"enabled", "pending"}
    assert attribute("disableApiTermination") is True
    assert attribute("instanceInitiatedShutdownBehavior") == "terminate"
    second = play(aws.url, root)
    assert second.rc == 0, str(second)
    assert changed(second)["settings"] == 0
