"""The benchmark's playbooks: N triples for either collection, the floors, an empty play.

A triple is a role EC2 may assume, an inline policy on it and an instance profile holding it.
Every task is written out (no loops), so a playbook of N triples has exactly 3N tasks and the
PLAY RECAP's ``changed`` counts tasks: 3N on create, 0 on a no-op, 1 after one policy edit.
The documents are literal data in both collections' tasks, so neither pays for templating.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

KEYLESS = "keyless.aws"
# The same keyless.aws tasks with the controller-side fast path switched off: every task runs
# its module in a new Python process, as amazon.aws's do (run.py --module-path).
KEYLESS_MODULE = "keyless.aws (module path)"
AMAZON = "amazon.aws"
COLLECTIONS = (KEYLESS, AMAZON)
SUBJECTS = (KEYLESS, KEYLESS_MODULE, AMAZON)
FLOORS = ("ping", "set_fact")
AWS_WORKLOADS = ("create", "noop", "change")
POLICY_NAME = "bench-policy"

# The example key pair from the AWS documentation: moto accepts any key, AWS accepts neither.
ACCESS_KEY = "AKIAIOSFODNN7EXAMPLE"
SECRET_KEY = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
REGION = "us-east-1"

TRUST_POLICY = {
    "Version": "2012-10-17",
    "Statement": [
        {"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}
    ],
}


@dataclass(frozen=True)
class Triple:
    index: int
    edited: bool = False

    @property
    def role(self) -> str:
        return f"bench-role-{self.index:03d}"

    @property
    def profile(self) -> str:
        return f"bench-profile-{self.index:03d}"

    @property
    def policy(self) -> dict[str, Any]:
        # The "real change": one more action on one triple's inline policy.
        actions = ["s3:GetObject", "s3:PutObject"] if self.edited else ["s3:GetObject"]
        resource = f"arn:aws:s3:::bench-bucket-{self.index:03d}/*"
        return {
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Action": actions, "Resource": resource}],
        }


def edited_index(size: int) -> int:
    """Which triple the change workload edits: the middle one."""
    return size // 2


def triples(size: int, edit: bool) -> list[Triple]:
    return [Triple(index, edit and index == edited_index(size)) for index in range(size)]


def keyless_tasks(triple: Triple) -> list[dict[str, Any]]:
    return [
        {
            "name": f"Role {triple.role}",
            "keyless.aws.iam_role": {"name": triple.role, "assume_role_policy": TRUST_POLICY},
        },
        {
            "name": f"Policy of {triple.role}",
            "keyless.aws.iam_role_policy": {
                "role": triple.role,
                "name": POLICY_NAME,
                "policy": triple.policy,
            },
        },
        {
            "name": f"Profile {triple.profile}",
            "keyless.aws.iam_instance_profile": {"name": triple.profile, "role": triple.role},
        },
    ]


def amazon_tasks(triple: Triple) -> list[dict[str, Any]]:
    # create_instance_profile defaults to true in amazon.aws.iam_role: the profile is managed
    # by its own task here, as in the keyless playbook.
    return [
        {
            "name": f"Role {triple.role}",
            "amazon.aws.iam_role": {
                "name": triple.role,
                "assume_role_policy_document": TRUST_POLICY,
                "create_instance_profile": False,
            },
        },
        {
            "name": f"Policy of {triple.role}",
            "amazon.aws.iam_policy": {
                "iam_type": "role",
                "iam_name": triple.role,
                "policy_name": POLICY_NAME,
                "policy_json": triple.policy,
            },
        },
        {
            "name": f"Profile {triple.profile}",
            "amazon.aws.iam_instance_profile": {"name": triple.profile, "role": triple.role},
        },
    ]


def floor_tasks(floor: str, count: int) -> list[dict[str, Any]]:
    if floor == "ping":
        return [{"name": f"Ping {number}", "ansible.builtin.ping": {}} for number in range(count)]
    return [
        {"name": f"Fact {number}", "ansible.builtin.set_fact": {f"bench_fact_{number}": number}}
        for number in range(count)
    ]


def _connection_defaults(endpoint: str) -> dict[str, str]:
    return {"endpoint_url": endpoint, "region": REGION, "access_key": ACCESS_KEY, "secret_key": SECRET_KEY}


def play(
    tasks: list[dict[str, Any]], endpoint: str, python: str, module_path: bool = False
) -> list[dict[str, Any]]:
    """One play on localhost; every playbook gets the same header, the empty one too."""
    defaults = _connection_defaults(endpoint)
    variables: dict[str, Any] = {"ansible_python_interpreter": python}
    if module_path:
        variables["keyless_aws_fast_path"] = False
    return [
        {
            "name": "keyless.aws benchmark",
            "hosts": "localhost",
            "gather_facts": False,
            "vars": variables,
            "module_defaults": {"group/keyless.aws.aws": defaults, "group/amazon.aws.aws": defaults},
            "tasks": tasks,
        }
    ]


def tasks_for(workload: str, collection: str | None, size: int) -> list[dict[str, Any]]:
    """``workload`` is create/noop/change (with a collection), ping, set_fact or empty."""
    if workload == "empty":
        return []
    if workload in FLOORS:
        return floor_tasks(workload, 3 * size)
    build = amazon_tasks if collection == AMAZON else keyless_tasks
    return [task for triple in triples(size, workload == "change") for task in build(triple)]


def write_playbook(
    directory: Path, workload: str, collection: str | None, size: int, endpoint: str, python: str
) -> Path:
    label = re.sub(r"[^a-z0-9]+", "_", f"{collection or 'floor'}-{workload}-{size}")
    path = directory / f"{label}.yml"
    if not path.exists():
        tasks = tasks_for(workload, collection, size)
        document = play(tasks, endpoint, python, module_path=collection == KEYLESS_MODULE)
        path.write_text(yaml.safe_dump(document, sort_keys=False, width=120))
    return path
