# Internal use only: not a public API of keyless.aws; it may change without notice.
"""Thin EC2 calls, errors translated, nothing decided here."""

from __future__ import annotations

import re
from typing import Any

from ansible_collections.keyless.aws.plugins.module_utils._aws import call, paginate, read, tag_list

EC2 = Any  # a botocore EC2 client

LIVE_STATES = ["pending", "running", "shutting-down", "stopping", "stopped"]


def describe_instances(ec2: EC2, filters: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Every instance matching ``filters``, across pages."""
    reservations = paginate(ec2.describe_instances, "Reservations", Filters=filters)
    return [instance for reservation in reservations for instance in reservation.get("Instances", [])]


def instances_using_profile(ec2: EC2, profile_arn: str) -> list[str]:
    """Ids of non-terminated instances whose instance profile is ``profile_arn``.

    Filtered client-side: the ``iam-instance-profile.arn`` filter is not honoured by every
    EC2-compatible endpoint, while the instance's ``IamInstanceProfile.Arn`` always is.
    """
    instances = describe_instances(ec2, [{"Name": "instance-state-name", "Values": LIVE_STATES}])
    return sorted(
        instance["InstanceId"]
        for instance in instances
        if (instance.get("IamInstanceProfile") or {}).get("Arn") == profile_arn
    )


def filter_literal(value: str) -> str:
    r"""A filter value that matches ``value`` itself, not as a pattern.

    EC2 reads ``*`` and ``?`` in filter values as wildcards, and a backslash escapes either of
    them or itself (EC2 API reference, ``Filter``: the value ``\*amazon\?\\`` means ``*amazon?\``).
    """
    return re.sub(r"([\\*?])", r"\\\1", value)


def instances_named(ec2: EC2, name: str, states: list[str]) -> list[dict[str, Any]]:
    """Instances in one of ``states`` whose Name tag is ``name``, as the endpoint matched them.

    The value is escaped, but callers still compare the tag exactly: an endpoint that reads an
    escape differently would otherwise hand over another instance.
    """
    filters = [
        {"Name": "tag:Name", "Values": [filter_literal(name)]},
        {"Name": "instance-state-name", "Values": states},
    ]
    return describe_instances(ec2, filters)


def describe_instance(ec2: EC2, instance_id: str) -> dict[str, Any] | None:
    answer = read(ec2.describe_instances, InstanceIds=[instance_id])
    if answer is None:
        return None
    for reservation in answer.get("Reservations", []):
        for instance in reservation.get("Instances", []):
            return instance
    return None


def run_instance(ec2: EC2, request: dict[str, Any]) -> dict[str, Any]:
    answer = call(ec2.run_instances, MinCount=1, MaxCount=1, **request)
    return answer["Instances"][0]


def start_instance(ec2: EC2, instance_id: str) -> None:
    call(ec2.start_instances, InstanceIds=[instance_id])


def stop_instance(ec2: EC2, instance_id: str) -> None:
    call(ec2.stop_instances, InstanceIds=[instance_id])


def terminate_instance(ec2: EC2, instance_id: str) -> None:
    call(ec2.terminate_instances, InstanceIds=[instance_id])


def profile_associations(ec2: EC2, instance_id: str) -> list[dict[str, Any]]:
    """Current (associating/associated) profile associations of one instance."""
    answer = call(
        ec2.describe_iam_instance_profile_associations,
        Filters=[{"Name": "instance-id", "Values": [instance_id]}],
    )
    return [
        association
        for association in answer.get("IamInstanceProfileAssociations", [])
        if association.get("State") in ("associating", "associated")
    ]


def associate_profile(ec2: EC2, instance_id: str, profile: dict[str, str]) -> None:
    call(
        ec2.associate_iam_instance_profile,
        InstanceId=instance_id,
        IamInstanceProfile=profile,
    )


def replace_profile(ec2: EC2, association_id: str, profile: dict[str, str]) -> None:
    call(
        ec2.replace_iam_instance_profile_association,
        AssociationId=association_id,
        IamInstanceProfile=profile,
    )


def modify_metadata_options(ec2: EC2, instance_id: str, options: dict[str, Any]) -> None:
    call(
        ec2.modify_instance_metadata_options,
        InstanceId=instance_id,
        **options,
    )


def create_tags(ec2: EC2, instance_id: str, tags: dict[str, str]) -> None:
    call(ec2.create_tags, Resources=[instance_id], Tags=tag_list(tags))


def delete_tags(ec2: EC2, instance_id: str, keys: list[str]) -> None:
    call(ec2.delete_tags, Resources=[instance_id], Tags=[{"Key": key} for key in sorted(keys)])


# DescribeImages: "We strongly recommend using only paginated requests. Unpaginated requests are
# susceptible to throttling and timeouts" (EC2 API Reference). A request is paginated when it
# sends MaxResults; 1000 is the largest page EC2's describe calls serve.
IMAGE_PAGE_SIZE = 1000


def describe_images(
    ec2: EC2, owners: list[str], filters: list[dict[str, Any]], executable_users: list[str] | None = None
) -> list[dict[str, Any]]:
    """Every image matching ``owners``, ``filters`` and, when given, ``executable_users``, across pages."""
    kwargs: dict[str, Any] = {"Filters": filters, "PaginationConfig": {"PageSize": IMAGE_PAGE_SIZE}}
    if owners:
        kwargs["Owners"] = owners
    if executable_users:
        kwargs["ExecutableUsers"] = executable_users
    return list(paginate(ec2.describe_images, "Images", **kwargs))


def image_root_device(ec2: EC2, image_id: str) -> str | None:
    """The root device name of ``image_id`` (e.g. ``/dev/xvda``), None when no such image is visible.

    Filtered by ``image-id`` rather than asked by ``ImageIds``: an unknown id is then an empty
    answer, not an ``InvalidAMIID.NotFound`` error.
    """
    images = describe_images(ec2, [], [{"Name": "image-id", "Values": [image_id]}])
    return images[0].get("RootDeviceName") if images else None


def describe_volume(ec2: EC2, volume_id: str) -> dict[str, Any] | None:
    answer = call(ec2.describe_volumes, VolumeIds=[volume_id])
    volumes = answer.get("Volumes", [])
    return volumes[0] if volumes else None


def instance_attribute(ec2: EC2, instance_id: str, attribute: str) -> Any:
    """One attribute's value (``attribute`` as the API names it, e.g. ``disableApiTermination``)."""
    answer = call(ec2.describe_instance_attribute, InstanceId=instance_id, Attribute=attribute)
    return (answer.get(attribute[0].upper() + attribute[1:]) or {}).get("Value")


def modify_instance_attribute(ec2: EC2, instance_id: str, attribute: str, value: Any) -> None:
    """Change one attribute; ModifyInstanceAttribute changes one attribute per call.

    ``instanceInitiatedShutdownBehavior`` goes in the documented ``Attribute``/``Value`` form
    (EC2 API Reference, ModifyInstanceAttribute), the only one moto plays; the others go in their
    typed ``{"Value": ...}`` members, which keep booleans booleans.
    """
    if attribute == "instanceInitiatedShutdownBehavior":
        call(ec2.modify_instance_attribute, InstanceId=instance_id, Attribute=attribute, Value=value)
        return
    member = attribute[0].upper() + attribute[1:]
    call(ec2.modify_instance_attribute, InstanceId=instance_id, **{member: {"Value": value}})


def monitor_instance(ec2: EC2, instance_id: str) -> None:
    call(ec2.monitor_instances, InstanceIds=[instance_id])


def unmonitor_instance(ec2: EC2, instance_id: str) -> None:
    call(ec2.unmonitor_instances, InstanceIds=[instance_id])
