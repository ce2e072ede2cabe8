"""What the AWS server holds, read with boto3 straight from it (never through a keyless.aws module).

Tests compare these with what a task asked, in one comparison per resource. Documents are
compared as IAM stores them: botocore URL-decodes and parses the policy documents IAM answers
(AssumeRolePolicyDocument, PolicyDocument), so they arrive as dicts. Tags are dicts; lists whose
order AWS does not keep (attached policy ARNs) are sorted.
"""

from __future__ import annotations

import base64
from typing import Any

import boto3
from botocore.exceptions import ClientError
from harness import ACCESS_KEY, REGION, SECRET_KEY

# Instances in these states are gone or going: a name identifies the one instance not in them.
ENDED = frozenset({"shutting-down", "terminated"})


def client(endpoint: str, service: str) -> Any:
    return boto3.client(
        service,
        endpoint_url=endpoint,
        region_name=REGION,
        aws_access_key_id=ACCESS_KEY,
        aws_secret_access_key=SECRET_KEY,
    )


def tag_dict(tags: list[dict[str, str]] | None) -> dict[str, str]:
    return {tag["Key"]: tag["Value"] for tag in tags or []}


def _not_found(error: ClientError) -> bool:
    return error.response["Error"]["Code"] == "NoSuchEntity"


def role(endpoint: str, name: str) -> dict[str, Any] | None:
    """The role as IAM shows it (None when there is none): trust, policies, boundary, tags."""
    iam = client(endpoint, "iam")
    try:
        found = iam.get_role(RoleName=name)["Role"]
    except ClientError as error:
        if _not_found(error):
            return None
        raise
    inline = {
        policy: iam.get_role_policy(RoleName=name, PolicyName=policy)["PolicyDocument"]
        for policy in iam.list_role_policies(RoleName=name)["PolicyNames"]
    }
    attached = iam.list_attached_role_policies(RoleName=name)["AttachedPolicies"]
    return {
        "path": found["Path"],
        "trust": found["AssumeRolePolicyDocument"],
        "description": found.get("Description"),
        "max_session_duration": found["MaxSessionDuration"],
        "inline_policies": inline,
        "managed_policies": sorted(policy["PolicyArn"] for policy in attached),
        "boundary": found.get("PermissionsBoundary", {}).get("PermissionsBoundaryArn"),
        "tags": tag_dict(found.get("Tags")),
    }


def new_role(trust: dict[str, Any], **fields: Any) -> dict[str, Any]:
    """``role()`` of a role created with only ``trust``, with ``fields`` as given on top."""
    return {
        "path": "/",
        "trust": trust,
        "description": None,
        "max_session_duration": 3600,
        "inline_policies": {},
        "managed_policies": [],
        "boundary": None,
        "tags": {},
        **fields,
    }


def profile(endpoint: str, name: str) -> dict[str, Any] | None:
    """The instance profile (None when there is none): path, the names of its roles, tags."""
    try:
        found = client(endpoint, "iam").get_instance_profile(InstanceProfileName=name)["InstanceProfile"]
    except ClientError as error:
        if _not_found(error):
            return None
        raise
    return {
        "path": found["Path"],
        "roles": [member["RoleName"] for member in found["Roles"]],
        "tags": tag_dict(found.get("Tags")),
    }


def new_profile(**fields: Any) -> dict[str, Any]:
    """``profile()`` of a profile created with only a name, with ``fields`` as given on top."""
    return {"path": "/", "roles": [], "tags": {}, **fields}


def _profile_name(arn: str | None) -> str | None:
    return arn.rpartition("/")[2] if arn else None


def _instances(ec2: Any, name: str) -> list[dict[str, Any]]:
    """Every instance whose Name tag is ``name`` exactly, ended ones included, oldest first."""
    reservations = ec2.describe_instances(Filters=[{"Name": "tag-key", "Values": ["Name"]}])["Reservations"]
    found = [
        instance
        for reservation in reservations
        for instance in reservation["Instances"]
        if tag_dict(instance.get("Tags")).get("Name") == name
    ]
    return sorted(found, key=lambda instance: instance["LaunchTime"])


def instance_states(endpoint: str, name: str) -> list[str]:
    """The state of every instance named ``name``, ended ones included, oldest first."""
    return [instance["State"]["Name"] for instance in _instances(client(endpoint, "ec2"), name)]


def instance(endpoint: str, name: str) -> dict[str, Any] | None:
    """The one live instance named ``name`` (None when there is none), as EC2 describes it.

    ``profile`` is the instance profile of its association in state ``associated``
    (DescribeIamInstanceProfileAssociations), None without one: moto leaves DescribeInstances'
    IamInstanceProfile at the old profile after ReplaceIamInstanceProfileAssociation, where AWS
    shows the new one, so the association is what is read. ``user_data`` is the script decoded
    once from the base64 DescribeInstanceAttribute answers.
    """
    ec2 = client(endpoint, "ec2")
    live = [found for found in _instances(ec2, name) if found["State"]["Name"] not in ENDED]
    if not live:
        return None
    (found,) = live  # more than one live instance with one name is a failure of its own
    instance_id = found["InstanceId"]
    by_instance = [{"Name": "instance-id", "Values": [instance_id]}]
    associations = ec2.describe_iam_instance_profile_associations(Filters=by_instance)
    associated = [
        _profile_name(association["IamInstanceProfile"]["Arn"])
        for association in associations["IamInstanceProfileAssociations"]
        if association["State"] == "associated"
    ]
    (associated_profile,) = associated or [None]  # EC2 allows one association per instance
    user_data = ec2.describe_instance_attribute(InstanceId=instance_id, Attribute="userData")["UserData"]
    metadata = found["MetadataOptions"]
    return {
        "id": instance_id,
        "state": found["State"]["Name"],
        "image": found["ImageId"],
        "profile": associated_profile,
        "metadata": {
            "http_tokens": metadata["HttpTokens"],
            "http_put_response_hop_limit": metadata["HttpPutResponseHopLimit"],
            "http_endpoint": metadata["HttpEndpoint"],
        },
        "user_data": base64.b64decode(user_data["Value"]).decode() if "Value" in user_data else None,
        "subnet": found.get("SubnetId"),
        "groups": [group["GroupId"] for group in found.get("SecurityGroups", [])],
        "key": found.get("KeyName"),
        "tags": tag_dict(found.get("Tags")),
    }


def world(endpoint: str) -> dict[str, Any]:
    """Every role, instance profile and named live instance on the server, by name."""
    iam, ec2 = client(endpoint, "iam"), client(endpoint, "ec2")
    roles = {found["RoleName"]: role(endpoint, found["RoleName"]) for found in iam.list_roles()["Roles"]}
    profiles = {
        found["InstanceProfileName"]: profile(endpoint, found["InstanceProfileName"])
        for found in iam.list_instance_profiles()["InstanceProfiles"]
    }
    names = {
        tag_dict(found.get("Tags")).get("Name")
        for reservation in ec2.describe_instances()["Reservations"]
        for found in reservation["Instances"]
        if found["State"]["Name"] not in ENDED
    }
    instances = {name: instance(endpoint, name) for name in sorted(names - {None})}
    return {"roles": roles, "profiles": profiles, "instances": instances}
