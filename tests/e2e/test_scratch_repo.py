"""A user's own repository uses the collection: the acceptance test of keyless.aws.instance_role.

A scratch repository in a temporary directory outside the checkout installs keyless.aws from
this checkout's git history (``git+file://``, pinned to HEAD), as a user's
``collections/requirements.yml`` would from GitHub, and runs its own play for a group of two
hosts: the IAM role, inline policy and instance profile once (``keyless.aws.instance_role``,
run once on localhost), one instance per host (``keyless.aws.instance``). Its settings live in
its own inventory's group_vars. The play runs twice against the sandbox's AWS; what it made is
read back from the server with boto3.

The git source installs committed content only: in CI the checkout is a fresh clone.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import boto3
import launcher
import pytest
import yaml
from recap import play_recap

from sandbox import REPO, SANDBOX_AMI_PATTERN, Sandbox

GROUP = "web"
HOSTS = ("scratch-web-1", "scratch-web-2")
ROLE = "scratch-web-writer"
PREFIX = "web/"
TIMEOUT = 600.0

SITE = """\
---
# Keyless S3 access for the web servers: one IAM role, policy and instance profile for the
# group, one instance per host.
- name: Keyless S3 access for the web servers
  hosts: web
  gather_facts: false
  tasks:
    - name: Role, inline policy and instance profile, once for the group
      ansible.builtin.include_role:
        name: keyless.aws.instance_role
        apply:
          run_once: true
          delegate_to: localhost
      run_once: true

    - name: One instance per host, with the profile, launched from the controller
      ansible.builtin.include_role:
        name: keyless.aws.instance
        apply:
          delegate_to: localhost
      vars:
        instance_name: "{{ inventory_hostname }}"
        instance_profile: "{{ instance_role_result.profile_name }}"
"""


def head_commit() -> str:
    found = subprocess.run(
        ["git", "-C", str(REPO), "rev-parse", "HEAD"], capture_output=True, text=True, check=True
    )
    return found.stdout.strip()


def scratch_repo(root: Path, bucket: str) -> Path:
    """requirements.yml, ansible.cfg, inventory with group_vars, site.yml: a user's repository."""
    (root / "collections").mkdir(parents=True)
    (root / "inventory" / "group_vars").mkdir(parents=True)
    requirements = {"collections": [{"name": f"git+file://{REPO}", "type": "git", "version": head_commit()}]}
    (root / "collections" / "requirements.yml").write_text(yaml.safe_dump(requirements))
    (root / "ansible.cfg").write_text("[defaults]\ncollections_path = ./collections\ninventory = inventory\n")
    # The hosts are this machine over a local connection, as the sandbox's instance is.
    local = {"ansible_connection": "local", "ansible_python_interpreter": sys.executable}
    hosts = {"all": {"children": {GROUP: {"hosts": dict.fromkeys(HOSTS), "vars": local}}}}
    (root / "inventory" / "hosts.yml").write_text(yaml.safe_dump(hosts))
    group_vars = {
        "instance_role_name": ROLE,
        "instance_role_grants": [{"bucket": bucket, "prefix": PREFIX}],
        # An image the sandbox's AWS has; each launched host is reached as the inventory's is.
        "instance_ami_name_pattern": SANDBOX_AMI_PATTERN,
        "instance_host_vars": local,
    }
    (root / "inventory" / "group_vars" / f"{GROUP}.yml").write_text(yaml.safe_dump(group_vars))
    (root / "site.yml").write_text(SITE)
    return root


def environment(sandbox: Sandbox) -> dict[str, str]:
    """The sandbox's controller environment, without the checkout's collection path: the
    scratch repository's ansible.cfg says where collections are."""
    env = sandbox.controller_environment()
    env.pop("ANSIBLE_COLLECTIONS_PATH", None)
    return env


def tool(sandbox: Sandbox, name: str) -> str:
    return str(Path(sandbox.python).parent / name)


def admin(sandbox: Sandbox, service: str) -> Any:
    session = boto3.session.Session(*sandbox.admin_key, region_name=sandbox.region)
    return session.client(service, endpoint_url=sandbox.endpoint)


def test_a_scratch_repo_installs_the_collection_from_git_and_converges_a_group(
    sandbox: Sandbox, tmp_path_factory: pytest.TempPathFactory
) -> None:
    if not (REPO / ".git").exists():
        pytest.skip("the checkout has no .git: the scratch repository installs the collection from git")
    root = scratch_repo(tmp_path_factory.mktemp("scratch-repo"), sandbox.bucket)
    assert not root.resolve().is_relative_to(REPO.resolve())
    env = environment(sandbox)

    install = [tool(sandbox, "ansible-galaxy"), "collection", "install", "-r", "collections/requirements.yml",
               "-p", "collections"]
    installed = launcher.run(install, env, root, TIMEOUT, merge_stderr=True)
    assert installed.rc == 0, str(installed)
    listing = [tool(sandbox, "ansible-galaxy"), "collection", "list", "keyless.aws"]
    listed = launcher.run(listing, env, root, TIMEOUT)
    assert listed.rc == 0, str(listed)
    assert f"# {root / 'collections' / 'ansible_collections'}" in listed.stdout, listed.stdout

    playbook = [tool(sandbox, "ansible-playbook"), "site.yml"]
    first = launcher.run(playbook, env, root, TIMEOUT, merge_stderr=True)
    assert first.rc == 0, str(first)
    # The role, the policy and the profile once (on the first host's turn), an instance each.
    assert {host: counts["changed"] for host, counts in play_recap(first.stdout).items()} == {
        HOSTS[0]: 4, HOSTS[1]: 1}
    second = launcher.run(playbook, env, root, TIMEOUT, merge_stderr=True)
    assert second.rc == 0, str(second)
    second_changed = {host: counts["changed"] for host, counts in play_recap(second.stdout).items()}
    assert second_changed == dict.fromkeys(HOSTS, 0)

    iam = admin(sandbox, "iam")
    role = iam.get_role(RoleName=ROLE)["Role"]
    assert role["AssumeRolePolicyDocument"]["Statement"] == [
        {"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}]
    assert iam.list_role_policies(RoleName=ROLE)["PolicyNames"] == [f"{ROLE}-access"]
    policy = iam.get_role_policy(RoleName=ROLE, PolicyName=f"{ROLE}-access")["PolicyDocument"]
    assert policy["Statement"] == [{"Effect": "Allow", "Action": ["s3:PutObject", "s3:GetObject"],
                                    "Resource": f"arn:aws:s3:::{sandbox.bucket}/{PREFIX}*"}]
    profile = iam.get_instance_profile(InstanceProfileName=ROLE)["InstanceProfile"]
    assert [held["RoleName"] for held in profile["Roles"]] == [ROLE]

    reservations = admin(sandbox, "ec2").describe_instances(
        Filters=[{"Name": "instance-state-name", "Values": ["pending", "running"]}])["Reservations"]
    instances = {
        tag["Value"]: instance["IamInstanceProfile"]["Arn"]
        for reservation in reservations
        for instance in reservation["Instances"]
        for tag in instance.get("Tags", [])
        if tag["Key"] == "Name"
    }
    assert instances == dict.fromkeys(HOSTS, profile["Arn"]), json.dumps(instances)
