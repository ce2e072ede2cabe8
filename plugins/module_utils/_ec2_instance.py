# Internal use only: not a public API of keyless.aws; it may change without notice.
"""The whole behaviour of keyless.aws.ec2_instance (one instance, found by its Name tag), and its ``SPEC``."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from ansible_collections.keyless.aws.plugins.module_utils import _ec2
from ansible_collections.keyless.aws.plugins.module_utils._aws import iso, tag_dict, tag_list
from ansible_collections.keyless.aws.plugins.module_utils._converge import Plan, Resource, State, runner
from ansible_collections.keyless.aws.plugins.module_utils._errors import (
    AwsApiError,
    KeylessAwsError,
    ValidationError,
    error_code,
)
from ansible_collections.keyless.aws.plugins.module_utils._module import ModuleSpec, wait_options
from ansible_collections.keyless.aws.plugins.module_utils._plan import (
    Action,
    Executor,
    Handler,
    Retry,
    plan_tags,
    string_tags,
)
from ansible_collections.keyless.aws.plugins.module_utils._retry import RetryPolicy, poll
from ansible_collections.keyless.aws.plugins.module_utils._validate import (
    validate_arn,
    validate_ec2_tags,
    validate_instance_profile_name,
    validate_wait_timeouts,
)

OPTIONS: dict[str, dict[str, Any]] = {
    "name": {"type": "str", "required": True},
    "state": {"type": "str", "default": "running", "choices": ["running", "stopped", "absent"]},
    "image_id": {"type": "str"},
    "instance_type": {"type": "str"},
    "key_name": {"type": "str"},
    # vpc_subnet_id, iam_instance_profile and instance_role: amazon.aws.ec2_instance's names for them.
    "subnet_id": {"type": "str", "aliases": ["vpc_subnet_id"]},
    "security_group_ids": {"type": "list", "elements": "str"},
    "instance_profile": {"type": "str", "aliases": ["iam_instance_profile", "instance_role"]},
    "network": {"type": "dict", "options": {"assign_public_ip": {"type": "bool"}}},
    "root_volume": {
        "type": "dict",
        "options": {
            "volume_size": {"type": "int", "aliases": ["size"]},
            "volume_type": {"type": "str", "choices": ["gp2", "gp3", "io1", "io2", "st1", "sc1", "standard"]},
            "iops": {"type": "int"},
            "throughput": {"type": "int"},
            "encrypted": {"type": "bool"},
            "kms_key_id": {"type": "str", "no_log": False},
            "delete_on_termination": {"type": "bool"},
        },
    },
    "availability_zone": {"type": "str"},
    "placement_group": {"type": "str"},
    "termination_protection": {"type": "bool"},
    "instance_initiated_shutdown_behavior": {"type": "str", "choices": ["stop", "terminate"]},
    "detailed_monitoring": {"type": "bool"},
    "ebs_optimized": {"type": "bool"},
    "metadata_options": {
        "type": "dict",
        "options": {
            "http_tokens": {"type": "str", "choices": ["required", "optional"]},
            "http_put_response_hop_limit": {"type": "int"},
            "http_endpoint": {"type": "str", "choices": ["enabled", "disabled"]},
        },
    },
    "user_data": {"type": "str"},
    "tags": {"type": "dict"},
    "purge_tags": {"type": "bool", "default": True},
    **wait_options(300),
    "profile_wait_timeout": {"type": "int", "default": 60},
}

DEFAULT_INSTANCE_TYPE = "t3.micro"
# IMDSv2 only, one hop: the safe defaults AWS recommends ("Use IMDSv2", EC2 User Guide).
DEFAULT_METADATA = {"http_tokens": "required", "http_put_response_hop_limit": 1, "http_endpoint": "enabled"}
METADATA_API_KEYS = {
    "http_tokens": "HttpTokens",
    "http_put_response_hop_limit": "HttpPutResponseHopLimit",
    "http_endpoint": "HttpEndpoint",
}

# A new instance profile is not usable by EC2 for a few seconds (IAM eventual consistency);
# EC2 then answers with one of these messages, under InvalidParameterValue or NoSuchEntity.
PROFILE_NOT_READY = (
    "invalid iam instance profile",
    "has no associated iam roles",
    "instance profile",
)
# The operations that name an instance profile, retried while it propagates.
PROFILE_OPERATIONS = ("RunInstances", "AssociateIamInstanceProfile", "ReplaceIamInstanceProfileAssociation")
THROTTLING_CODES = frozenset({"RequestLimitExceeded", "Throttling", "ThrottlingException"})

# The states in which an instance holds its name ("Instance state changes", EC2 User Guide). A
# shutting-down instance only ever becomes terminated: it is gone, and a new one may be launched.
IDENTITY_STATES = ["pending", "running", "stopping", "stopped"]
# States an instance never leaves except for terminated: waiting there for anything else is futile.
DYING_STATES = frozenset({"shutting-down", "terminated"})
# RunInstances' ClientToken: at most 64 ASCII characters ("Ensuring idempotency", EC2 API Reference).
TOKEN_PREFIX = "keyless-"
# How many earlier launches with the same request a replayed token may lead through (below).
MAX_TOKEN_GENERATIONS = 20

# EBS volume limits ("Amazon EBS volume types", EBS User Guide): size in GiB by type, and the
# provisioned IOPS and throughput (MiB/s) each type takes. io2 Block Express goes to 64 TiB.
VOLUME_SIZES = {
    "gp2": (1, 16384),
    "gp3": (1, 16384),
    "io1": (4, 16384),
    "io2": (4, 65536),
    "st1": (125, 16384),
    "sc1": (125, 16384),
    "standard": (1, 1024),
}
VOLUME_IOPS = {"gp3": (3000, 16000), "io1": (100, 64000), "io2": (100, 256000)}
GP3_THROUGHPUT = (125, 1000)
# Types whose IOPS EC2 cannot choose itself: RunInstances refuses them without Iops.
IOPS_REQUIRED = frozenset({"io1", "io2"})
ROOT_VOLUME_API_KEYS = {
    "volume_size": "VolumeSize",
    "volume_type": "VolumeType",
    "iops": "Iops",
    "throughput": "Throughput",
    "encrypted": "Encrypted",
    "kms_key_id": "KmsKeyId",
    "delete_on_termination": "DeleteOnTermination",
}
# Key ARN, alias ARN, key id (multi-Region ones start with mrk-) or alias name (KMS Developer Guide,
# "Key identifiers (KeyId)").
KMS_KEY = re.compile(
    r"arn:aws[a-z-]*:kms:[a-z0-9-]+:\d{12}:(key|alias)/[A-Za-z0-9/_-]+"
    r"|alias/[A-Za-z0-9/_-]{1,250}|(mrk-)?[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}"
    r"|mrk-[0-9a-f]{32}"
)
# Monitoring.State in DescribeInstances: pending and enabled mean detailed monitoring is (being) on.
MONITORING_ON = frozenset({"pending", "enabled"})


@dataclass(frozen=True)
class DesiredInstance:
    name: str
    state: str
    image_id: str | None
    instance_type: str | None
    key_name: str | None
    subnet_id: str | None
    security_group_ids: tuple[str, ...] | None
    instance_profile: str | None
    metadata: dict[str, Any] = field(default_factory=dict)
    user_data: str | None = None
    tags: dict[str, str] | None = None
    purge_tags: bool = True
    wait: bool = True
    wait_timeout: int = 300
    profile_wait_timeout: int = 60
    assign_public_ip: bool | None = None
    root_volume: dict[str, Any] | None = None
    availability_zone: str | None = None
    placement_group: str | None = None
    termination_protection: bool | None = None
    shutdown_behavior: str | None = None
    detailed_monitoring: bool | None = None
    ebs_optimized: bool | None = None


def desired_instance(params: Mapping[str, Any]) -> DesiredInstance:
    _validate_instance_params(params)
    metadata = {
        key: value for key, value in (params.get("metadata_options") or {}).items() if value is not None
    }
    groups = params.get("security_group_ids")
    return DesiredInstance(
        name=params["name"],
        state=params.get("state") or "running",
        image_id=params.get("image_id"),
        instance_type=params.get("instance_type"),
        key_name=params.get("key_name"),
        subnet_id=params.get("subnet_id"),
        security_group_ids=None if groups is None else tuple(groups),
        instance_profile=params.get("instance_profile"),
        metadata=metadata,
        user_data=params.get("user_data"),
        tags=string_tags(params.get("tags")),
        purge_tags=params.get("purge_tags", True),
        wait=params.get("wait", True),
        wait_timeout=params.get("wait_timeout", 300),
        profile_wait_timeout=params.get("profile_wait_timeout", 60),
        assign_public_ip=(params.get("network") or {}).get("assign_public_ip"),
        root_volume=_given(params.get("root_volume")),
        availability_zone=params.get("availability_zone"),
        placement_group=params.get("placement_group"),
        termination_protection=params.get("termination_protection"),
        shutdown_behavior=params.get("instance_initiated_shutdown_behavior"),
        detailed_monitoring=params.get("detailed_monitoring"),
        ebs_optimized=params.get("ebs_optimized"),
    )


def _given(options: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """The suboptions the user set (None when the option itself is not set)."""
    if options is None:
        return None
    return {key: value for key, value in options.items() if value is not None}


def _validate_instance_params(params: Mapping[str, Any]) -> None:
    name = params["name"]
    if not name or len(name) > 256:
        raise ValidationError("name", "must be 1 to 256 characters (it is the Name tag)")
    _match(params.get("image_id"), r"ami-[0-9a-f]{8,17}", "image_id", "must look like ami-0123456789abcdef0")
    _match(params.get("subnet_id"), r"subnet-[0-9a-f]{8,17}", "subnet_id", "must look like subnet-0123abcd")
    for index, group in enumerate(params.get("security_group_ids") or []):
        _match(group, r"sg-[0-9a-f]{8,17}", f"security_group_ids[{index}]", "must look like sg-0123abcd")
    profile = params.get("instance_profile")
    if profile:
        if profile.startswith("arn:"):
            validate_arn(profile, "instance_profile", service="iam", resource_type="instance-profile")
        else:
            validate_instance_profile_name(profile, "instance_profile")
    hops = (params.get("metadata_options") or {}).get("http_put_response_hop_limit")
    if hops is not None and not 1 <= hops <= 64:
        raise ValidationError("metadata_options.http_put_response_hop_limit", "must be between 1 and 64")
    user_data = params.get("user_data")
    if user_data is not None and len(user_data.encode()) > 16384:
        # "User data is limited to 16 KB, in raw form, before it is base64-encoded" (EC2 User Guide).
        raise ValidationError("user_data", "must be at most 16 KB (16384 bytes of UTF-8 text)")
    validate_ec2_tags(string_tags(params.get("tags")), "tags", added=("Name",))
    validate_wait_timeouts(params, "wait_timeout", "profile_wait_timeout")
    validate_root_volume(_given(params.get("root_volume")))
    _validate_placement(params)
    if params.get("state") == "absent" and params.get("termination_protection"):
        raise ValidationError("termination_protection", "cannot be true with state absent")


def _validate_placement(params: Mapping[str, Any]) -> None:
    # Zone names such as us-east-1a or us-west-2-lax-1a (Local Zones), "Regions and Zones", EC2 User Guide.
    zone_rule = "must be an Availability Zone name such as us-east-1a"
    _match(params.get("availability_zone"), r"[a-z]{2}(-[a-z0-9]+)+[a-z]", "availability_zone", zone_rule)
    group = params.get("placement_group")
    if group is not None and not 1 <= len(group) <= 255:
        raise ValidationError("placement_group", "must be 1 to 255 characters")


def validate_root_volume(volume: Mapping[str, Any] | None) -> None:
    """The EBS limits of the root volume's size, IOPS, throughput and key, before any call."""
    if not volume:
        return
    kind = volume.get("volume_type")
    size = volume.get("volume_size")
    low, high = VOLUME_SIZES.get(kind, (1, 65536))
    if size is not None and not low <= size <= high:
        where = f"for volume_type {kind}" if kind else "for any volume type"
        raise ValidationError("root_volume.volume_size", f"must be between {low} and {high} GiB {where}")
    _validate_iops(kind, volume.get("iops"))
    throughput = volume.get("throughput")
    if throughput is not None and kind != "gp3":
        raise ValidationError("root_volume.throughput", "is valid only with volume_type gp3")
    if throughput is not None and not GP3_THROUGHPUT[0] <= throughput <= GP3_THROUGHPUT[1]:
        raise ValidationError("root_volume.throughput", "must be between 125 and 1000 MiB/s for gp3")
    key = volume.get("kms_key_id")
    if key is not None and volume.get("encrypted") is not True:
        raise ValidationError("root_volume.kms_key_id", "needs encrypted: true")
    if key is not None and not KMS_KEY.fullmatch(key):
        raise ValidationError(
            "root_volume.kms_key_id", "must be a KMS key ARN, key id, alias ARN or alias/name"
        )


def _validate_iops(kind: str | None, iops: int | None) -> None:
    if iops is None:
        if kind in IOPS_REQUIRED:
            raise ValidationError("root_volume.iops", f"is required with volume_type {kind}")
        return
    if kind not in VOLUME_IOPS:
        raise ValidationError("root_volume.iops", "is valid only with volume_type io1, io2 or gp3")
    low, high = VOLUME_IOPS[kind]
    if not low <= iops <= high:
        raise ValidationError("root_volume.iops", f"must be between {low} and {high} for volume_type {kind}")


def _match(value: str | None, pattern: str, name: str, rule: str) -> None:
    if value is not None and not re.fullmatch(pattern, value):
        raise ValidationError(name, rule)


# --- state view ------------------------------------------------------------------------------


def instance_view(raw: Mapping[str, Any]) -> dict[str, Any]:
    """The ``instance`` return value (snake_case)."""
    metadata = raw.get("MetadataOptions") or {}
    return {
        "instance_id": raw["InstanceId"],
        "state": (raw.get("State") or {}).get("Name"),
        "image_id": raw.get("ImageId"),
        "instance_type": raw.get("InstanceType"),
        "key_name": raw.get("KeyName"),
        "subnet_id": raw.get("SubnetId"),
        "security_group_ids": sorted(group["GroupId"] for group in raw.get("SecurityGroups", [])),
        "private_ip_address": raw.get("PrivateIpAddress"),
        "public_ip_address": raw.get("PublicIpAddress"),
        "private_dns_name": raw.get("PrivateDnsName"),
        "public_dns_name": raw.get("PublicDnsName"),
        "iam_instance_profile_arn": (raw.get("IamInstanceProfile") or {}).get("Arn"),
        "metadata_options": {key: metadata.get(api) for key, api in METADATA_API_KEYS.items()},
        "tags": tag_dict(raw.get("Tags")),
        "launch_time": iso(raw.get("LaunchTime")),
        "availability_zone": (raw.get("Placement") or {}).get("AvailabilityZone"),
        # EC2 answers GroupName "" for an instance in no placement group.
        "placement_group": (raw.get("Placement") or {}).get("GroupName") or None,
        "detailed_monitoring": (raw.get("Monitoring") or {}).get("State") in MONITORING_ON,
        "ebs_optimized": raw.get("EbsOptimized"),
    }


def root_mapping(raw: Mapping[str, Any]) -> dict[str, Any] | None:
    """The block device mapping of the instance's root device (None for an instance-store root)."""
    for mapping in raw.get("BlockDeviceMappings") or []:
        if mapping.get("DeviceName") == raw.get("RootDeviceName") and "Ebs" in mapping:
            return mapping
    return None


def root_volume_view(mapping: Mapping[str, Any], volume: Mapping[str, Any]) -> dict[str, Any]:
    """The ``root_volume`` return value: the volume (DescribeVolumes) and its mapping's flag."""
    return {
        "volume_id": volume.get("VolumeId"),
        "volume_size": volume.get("Size"),
        "volume_type": volume.get("VolumeType"),
        "iops": volume.get("Iops"),
        "throughput": volume.get("Throughput"),
        "encrypted": volume.get("Encrypted"),
        "kms_key_id": volume.get("KmsKeyId"),
        # Kept by the instance's mapping, not by the volume.
        "delete_on_termination": (mapping.get("Ebs") or {}).get("DeleteOnTermination"),
    }


def read_settings(ec2: Any, raw: Mapping[str, Any], desired: DesiredInstance) -> dict[str, Any]:
    """The settings DescribeInstances does not show, read only when the task names them.

    Termination protection is also read for state absent, so a protected instance is refused
    before any call (and in check mode) rather than by TerminateInstances.
    """
    instance_id = raw["InstanceId"]
    settings: dict[str, Any] = {}
    if desired.termination_protection is not None or desired.state == "absent":
        protected = _ec2.instance_attribute(ec2, instance_id, "disableApiTermination")
        settings["termination_protection"] = bool(protected)
    if desired.shutdown_behavior is not None:
        behavior = _ec2.instance_attribute(ec2, instance_id, "instanceInitiatedShutdownBehavior")
        settings["instance_initiated_shutdown_behavior"] = behavior
    mapping = root_mapping(raw) if desired.root_volume is not None else None
    if mapping is not None:
        volume = _ec2.describe_volume(ec2, mapping["Ebs"]["VolumeId"])
        settings["root_volume"] = root_volume_view(mapping, volume) if volume else None
    return settings


# --- decisions (pure) ------------------------------------------------------------------------


def profile_matches(current_arn: str | None, wanted: str) -> bool:
    """A profile given by name matches an ARN whose last path segment is that name."""
    if current_arn is None:
        return False
    if wanted.startswith("arn:"):
        return current_arn == wanted
    return current_arn.rsplit("/", 1)[-1] == wanted


def profile_spec(wanted: str) -> dict[str, str]:
    return {"Arn": wanted} if wanted.startswith("arn:") else {"Name": wanted}


def metadata_change(current: Mapping[str, Any], wanted: Mapping[str, Any]) -> dict[str, Any] | None:
    """Full metadata options to send, or None when the options the user set already hold.

    Only options the user set are compared. The request always carries every option
    (current value where the user set none): sent alone, a hop-limit change can reset
    HttpTokens to ``optional`` (IMDSv1) on some endpoints, a downgrade nobody asked for.
    """
    if all(current.get(key) == value for key, value in wanted.items()):
        return None
    merged = {key: current.get(key) for key in METADATA_API_KEYS}
    merged.update(wanted)
    return {METADATA_API_KEYS[key]: value for key, value in merged.items() if value is not None}


def plan_create(
    desired: DesiredInstance, root_device: str | None = None
) -> tuple[list[Action], dict[str, Any]]:
    """RunInstances (and a stop); ``root_device`` is the image's RootDeviceName, needed for root_volume."""
    if desired.image_id is None:
        raise ValidationError("image_id", f"is required to launch instance {desired.name}")
    if desired.root_volume is not None and root_device is None:
        raise KeylessAwsError(
            f"image {desired.image_id} was not found (DescribeImages); "
            "root_volume needs the image's root device name",
            code="ImageNotFound",
            operation="DescribeImages",
        )
    metadata = {**DEFAULT_METADATA, **desired.metadata}
    tags = {**(desired.tags or {}), "Name": desired.name}
    request: dict[str, Any] = {
        "ImageId": desired.image_id,
        "InstanceType": desired.instance_type or DEFAULT_INSTANCE_TYPE,
        "MetadataOptions": {METADATA_API_KEYS[key]: value for key, value in metadata.items()},
        "TagSpecifications": [{"ResourceType": "instance", "Tags": tag_list(tags)}],
    }
    if desired.key_name:
        request["KeyName"] = desired.key_name
    request.update(network_request(desired))
    request.update(launch_settings(desired, root_device))
    if desired.instance_profile:
        request["IamInstanceProfile"] = profile_spec(desired.instance_profile)
    if desired.user_data is not None:
        # Text, as is: botocore base64-encodes UserData for RunInstances itself (its
        # before-parameter-build handler); encoded here too, cloud-init would get base64 text.
        request["UserData"] = desired.user_data
    actions = [Action("RunInstances", {"request": request})]
    if desired.state == "stopped":
        # A new instance is pending, and AWS stops only a running one: wait for it, even without wait.
        actions.append(Action("StopInstances", {"wait_first": "running"}))
    predicted = {
        "instance_id": None,
        "state": desired.state,
        "image_id": desired.image_id,
        "instance_type": request["InstanceType"],
        "key_name": desired.key_name,
        "subnet_id": desired.subnet_id,
        "security_group_ids": sorted(desired.security_group_ids or []),
        "iam_instance_profile_arn": desired.instance_profile,
        "metadata_options": metadata,
        "tags": tags,
        **predicted_settings(desired),
    }
    return actions, predicted


def network_request(desired: DesiredInstance) -> dict[str, Any]:
    """Subnet and groups, at the top level or, to set the public IP, in the primary interface.

    AssociatePublicIpAddress exists only inside NetworkInterfaces, and a request with
    NetworkInterfaces may not also carry the top-level SubnetId or SecurityGroupIds
    (EC2 API Reference, RunInstances and InstanceNetworkInterfaceSpecification).
    """
    groups = list(desired.security_group_ids or [])
    if desired.assign_public_ip is None:
        top: dict[str, Any] = {"SubnetId": desired.subnet_id, "SecurityGroupIds": groups}
        return {key: value for key, value in top.items() if value}
    interface: dict[str, Any] = {"DeviceIndex": 0, "AssociatePublicIpAddress": desired.assign_public_ip}
    if desired.subnet_id:
        interface["SubnetId"] = desired.subnet_id
    if groups:
        interface["Groups"] = groups
    return {"NetworkInterfaces": [interface]}


def launch_settings(desired: DesiredInstance, root_device: str | None) -> dict[str, Any]:
    """The RunInstances members of the launch-only and attribute options the user set."""
    request: dict[str, Any] = {}
    placement = {"AvailabilityZone": desired.availability_zone, "GroupName": desired.placement_group}
    if any(placement.values()):
        request["Placement"] = {key: value for key, value in placement.items() if value}
    if desired.root_volume is not None and root_device is not None:
        ebs = {ROOT_VOLUME_API_KEYS[key]: value for key, value in desired.root_volume.items()}
        request["BlockDeviceMappings"] = [{"DeviceName": root_device, "Ebs": ebs}]
    members = {
        "DisableApiTermination": desired.termination_protection,
        "InstanceInitiatedShutdownBehavior": desired.shutdown_behavior,
        "EbsOptimized": desired.ebs_optimized,
    }
    request.update({key: value for key, value in members.items() if value is not None})
    if desired.detailed_monitoring is not None:
        request["Monitoring"] = {"Enabled": desired.detailed_monitoring}
    return request


def predicted_settings(desired: DesiredInstance) -> dict[str, Any]:
    """What a new instance will show of the new options (None where EC2 chooses)."""
    predicted: dict[str, Any] = {
        "availability_zone": desired.availability_zone,
        "placement_group": desired.placement_group,
        "detailed_monitoring": bool(desired.detailed_monitoring),
        "ebs_optimized": desired.ebs_optimized,
    }
    if desired.termination_protection is not None:
        predicted["termination_protection"] = desired.termination_protection
    if desired.shutdown_behavior is not None:
        predicted["instance_initiated_shutdown_behavior"] = desired.shutdown_behavior
    if desired.root_volume is not None:
        predicted["root_volume"] = {"volume_id": None, **desired.root_volume}
    return predicted


def launch_token(request: Mapping[str, Any], passed: Sequence[str] = ()) -> str:
    """The same token for the same request (and the same earlier instances it brought back)."""
    material = json.dumps({"request": request, "passed": list(passed)}, sort_keys=True, default=str)
    return f"{TOKEN_PREFIX}{hashlib.sha256(material.encode()).hexdigest()[:48]}"


def is_launch_of(instance: Mapping[str, Any], name: str) -> bool:
    """Whether RunInstances' instance is a live one of this name, not an earlier launch replayed."""
    if instance.get("State", {}).get("Name") in DYING_STATES:
        return False
    tags = instance.get("Tags")
    return tags is None or tag_dict(tags).get("Name") == name


def plan_update(current: Mapping[str, Any], desired: DesiredInstance) -> tuple[list[Action], dict[str, Any]]:
    predicted = dict(current)
    actions: list[Action] = []
    if desired.state == "absent":
        return plan_terminate(current, desired), {**predicted, "state": "terminated"}
    wanted = desired.instance_profile
    if wanted and not profile_matches(current["iam_instance_profile_arn"], wanted):
        operation = "ReplaceIamInstanceProfileAssociation" if current["iam_instance_profile_arn"] else None
        actions.append(Action(operation or "AssociateIamInstanceProfile", {"profile": profile_spec(wanted)}))
        predicted["iam_instance_profile_arn"] = wanted
    options = metadata_change(current["metadata_options"], desired.metadata)
    if options is not None:
        actions.append(Action("ModifyInstanceMetadataOptions", {"options": options}))
        predicted["metadata_options"] = {**current["metadata_options"], **desired.metadata}
    wanted_tags = None if desired.tags is None else {**desired.tags, "Name": desired.name}
    tag_actions, predicted["tags"] = plan_tags(
        current["tags"], wanted_tags, desired.purge_tags, ("CreateTags", "DeleteTags")
    )
    actions += tag_actions
    actions += plan_attributes(current, desired, predicted)
    actions += plan_monitoring(current.get("detailed_monitoring"), desired.detailed_monitoring, predicted)
    power = _plan_power(current["state"], desired.state, predicted)
    resize = plan_instance_type(current, desired, predicted)
    # The type changes while the instance is stopped: after a stop, before a start.
    starts = bool(power) and power[0].operation == "StartInstances"
    actions += resize + power if starts else power + resize
    return actions, predicted


def plan_terminate(current: Mapping[str, Any], desired: DesiredInstance) -> list[Action]:
    """TerminateInstances; a protected instance only when the task turns its protection off.

    EC2 refuses to terminate an instance whose disableApiTermination is true (EC2 User Guide,
    "Enable termination protection"); refused here, the message says how to go on.
    """
    terminate = Action("TerminateInstances", {})
    if not current.get("termination_protection"):
        return [terminate]
    if desired.termination_protection is not False:
        raise KeylessAwsError(
            f"instance {current['instance_id']} ({desired.name}) has termination protection on; set "
            "termination_protection: false in this task to turn it off and terminate the instance",
            code="TerminationProtected",
        )
    return [
        Action("ModifyInstanceAttribute", {"attribute": "disableApiTermination", "value": False}),
        terminate,
    ]


# The options changed on a live instance with ModifyInstanceAttribute: return key, API attribute.
LIVE_ATTRIBUTES = {
    "termination_protection": "disableApiTermination",
    "instance_initiated_shutdown_behavior": "instanceInitiatedShutdownBehavior",
}


def plan_attributes(
    current: Mapping[str, Any], desired: DesiredInstance, predicted: dict[str, Any]
) -> list[Action]:
    """One ModifyInstanceAttribute per attribute that differs (the API takes one per call)."""
    wanted = {
        "termination_protection": desired.termination_protection,
        "instance_initiated_shutdown_behavior": desired.shutdown_behavior,
    }
    actions = []
    for key, value in wanted.items():
        if value is not None and current.get(key) != value:
            actions.append(
                Action("ModifyInstanceAttribute", {"attribute": LIVE_ATTRIBUTES[key], "value": value})
            )
            predicted[key] = value
    return actions


def plan_monitoring(current: bool | None, wanted: bool | None, predicted: dict[str, Any]) -> list[Action]:
    """MonitorInstances or UnmonitorInstances when detailed monitoring is not as wanted."""
    if wanted is None or bool(current) == wanted:
        return []
    predicted["detailed_monitoring"] = wanted
    return [Action("MonitorInstances" if wanted else "UnmonitorInstances")]


def type_change_applies(state: str, wanted_state: str) -> bool:
    """Whether the instance type may change: EC2 changes it only on a stopped instance.

    That is one that is (or is becoming) stopped, or one this task stops; a running instance
    the task keeps running is never stopped unasked ("Change the instance type", EC2 User Guide).
    """
    return state in ("stopped", "stopping") or wanted_state == "stopped"


def plan_instance_type(
    current: Mapping[str, Any], desired: DesiredInstance, predicted: dict[str, Any]
) -> list[Action]:
    wanted = desired.instance_type
    if wanted is None or wanted == current.get("instance_type"):
        return []
    if not type_change_applies(current["state"], desired.state):
        return []
    predicted["instance_type"] = wanted
    args: dict[str, Any] = {"attribute": "instanceType", "value": wanted}
    if current["state"] != "stopped":
        # A stop just made (or one under way) may not be over yet, even with wait.
        args["wait_first"] = "stopped"
    return [Action("ModifyInstanceAttribute", args)]


def _plan_power(state: str, wanted: str, predicted: dict[str, Any]) -> list[Action]:
    """Start or stop; AWS starts only a stopped instance and stops only a running one.

    Anything else answers IncorrectInstanceState, so a stopping instance is first waited for
    until stopped, a pending one until running (bounded by wait_timeout, even without wait).
    """
    if wanted == "running" and state in ("stopped", "stopping"):
        predicted["state"] = "running"
        return [Action("StartInstances", {"wait_first": "stopped"} if state == "stopping" else {})]
    if wanted == "stopped" and state in ("pending", "running"):
        predicted["state"] = "stopped"
        return [Action("StopInstances", {"wait_first": "running"} if state == "pending" else {})]
    return []


def cannot_become(wanted: str, state: str | None) -> bool:
    """Whether an instance seen in ``state`` will never be ``wanted``, however long one waits.

    Only dying states count: a stopped instance seen while waiting for running may be an answer
    from before the start (DescribeInstances is eventually consistent), a dying one never is.
    """
    return wanted != "terminated" and state in DYING_STATES


def state_reason(raw: Mapping[str, Any]) -> str:
    """Why the instance is in its state, as EC2 says it (e.g. Server.InternalError on launch)."""
    reason = raw.get("StateReason") or {}
    return (
        reason.get("Message") or reason.get("Code") or raw.get("StateTransitionReason") or "no reason given"
    )


def drift_warnings(current: Mapping[str, Any], desired: DesiredInstance) -> list[str]:
    """Settings that differ but are not changed in place (they need a new instance or a stop)."""
    resizes = type_change_applies(current["state"], desired.state)
    wanted_settings = {
        "image_id": desired.image_id,
        "instance_type": None if resizes else desired.instance_type,
        "key_name": desired.key_name,
        "subnet_id": desired.subnet_id,
        "availability_zone": desired.availability_zone,
        "placement_group": desired.placement_group,
        "ebs_optimized": desired.ebs_optimized,
    }
    warnings = []
    for option, wanted in wanted_settings.items():
        if wanted is not None and wanted != current.get(option):
            warnings.append(
                f"{option} is {current.get(option)!r}, not {wanted!r}; it is not changed in place"
            )
    warnings += public_ip_warnings(current, desired.assign_public_ip)
    warnings += root_volume_warnings(current.get("root_volume"), desired.root_volume)
    warnings += imdsv1_warnings(current, desired.metadata)
    return warnings


def imdsv1_warnings(current: Mapping[str, Any], wanted: Mapping[str, Any]) -> list[str]:
    """An instance that still serves IMDSv1 is never left so silently, nor changed unasked.

    Only when the task does not say http_tokens: otherwise the task's value is applied.
    """
    if "http_tokens" in wanted or (current.get("metadata_options") or {}).get("http_tokens") != "optional":
        return []
    return [
        "the instance's metadata service answers without a token (IMDSv1: http_tokens is optional) and "
        "the task does not set metadata_options.http_tokens, so it is not changed; set "
        "metadata_options.http_tokens: required to turn IMDSv1 off"
    ]


def public_ip_warnings(current: Mapping[str, Any], wanted: bool | None) -> list[str]:
    """A public address is set at launch only; compared while running (a stopped instance has none)."""
    if wanted is None or current["state"] != "running":
        return []
    has = current.get("public_ip_address") is not None
    if has == wanted:
        return []
    found = f"has public IP {current['public_ip_address']}" if has else "has no public IP"
    return [f"network.assign_public_ip is {wanted} but the instance {found}; it is not changed in place"]


def root_volume_warnings(current: Mapping[str, Any] | None, wanted: Mapping[str, Any] | None) -> list[str]:
    """The root volume's settings that differ; this module never calls ModifyVolume."""
    if not wanted or current is None:
        return []
    warnings = []
    for key, value in wanted.items():
        same = kms_key_matches(current.get(key), value) if key == "kms_key_id" else current.get(key) == value
        if not same:
            warnings.append(
                f"root_volume.{key} is {current.get(key)!r}, not {value!r}; it is not changed in place"
            )
    return warnings


def kms_key_matches(current_arn: str | None, wanted: str) -> bool:
    """A key id matches its key ARN; an alias is not compared (only KMS knows which key it names)."""
    if wanted.startswith("alias/") or ":alias/" in wanted:
        return True
    if current_arn is None or wanted.startswith("arn:"):
        return current_arn == wanted
    return current_arn.rsplit("/", 1)[-1] == wanted


# --- orchestration ---------------------------------------------------------------------------


def is_profile_not_ready(err: Exception) -> bool:
    """EC2's answers while a new instance profile propagates, plus throttling."""
    code = error_code(err)
    if code in THROTTLING_CODES:
        return True
    if code not in ("InvalidParameterValue", "NoSuchEntity", "InvalidParameterCombination"):
        return False
    message = (err.message if isinstance(err, KeylessAwsError) else str(err)).lower()
    return any(fragment in message for fragment in PROFILE_NOT_READY)


def named_exactly(instances: list[dict[str, Any]], name: str) -> list[dict[str, Any]]:
    """The instances that are ``name``: Name tag equal to it, in a state that holds a name.

    The filter sent to EC2 already says so, but a filter value is a pattern to EC2 (``web-?``
    matches ``web-1``): the identity is checked here too, so no other instance is adopted or
    terminated whatever the endpoint matched.
    """
    return [
        raw
        for raw in instances
        if tag_dict(raw.get("Tags")).get("Name") == name
        and (raw.get("State") or {}).get("Name") in IDENTITY_STATES
    ]


def find_raw_instance(ec2: Any, name: str) -> dict[str, Any] | None:
    """The one live instance named ``name`` as DescribeInstances answers it, or None."""
    instances = named_exactly(_ec2.instances_named(ec2, name, IDENTITY_STATES), name)
    if len(instances) > 1:
        ids = ", ".join(sorted(instance["InstanceId"] for instance in instances))
        raise KeylessAwsError(
            f"more than one live instance is named {name} ({ids}); name must identify one instance",
            code="AmbiguousName",
        )
    return instances[0] if instances else None


def find_instance(ec2: Any, name: str) -> dict[str, Any] | None:
    raw = find_raw_instance(ec2, name)
    return instance_view(raw) if raw else None


class InstanceActions:
    """The handlers of one instance's actions; the instance id is known once it exists."""

    def __init__(self, ec2: Any, desired: DesiredInstance, instance_id: str | None) -> None:
        self.ec2 = ec2
        self.desired = desired
        self.instance_id = instance_id

    def handlers(self) -> dict[str, Handler]:
        profile_retry = Retry(is_profile_not_ready, self.desired.profile_wait_timeout)
        return {
            "RunInstances": Handler(self.launch, profile_retry, then=partial(self.wait_state, "running")),
            "AssociateIamInstanceProfile": Handler(self.associate, profile_retry, then=self.wait_association),
            "ReplaceIamInstanceProfileAssociation": Handler(
                self.replace_association, profile_retry, then=self.wait_association
            ),
            "ModifyInstanceMetadataOptions": Handler(self.modify_metadata),
            "ModifyInstanceAttribute": Handler(self.modify_attribute),
            "MonitorInstances": Handler(self.monitor),
            "UnmonitorInstances": Handler(self.unmonitor),
            "CreateTags": Handler(self.create_tags),
            "DeleteTags": Handler(self.delete_tags),
            "StartInstances": Handler(self.start, then=partial(self.wait_state, "running")),
            "StopInstances": Handler(self.stop, then=partial(self.wait_state, "stopped")),
            "TerminateInstances": Handler(self.terminate, then=partial(self.wait_state, "terminated")),
        }

    @property
    def target(self) -> str:
        """The instance being changed; only a planning bug can ask before it exists."""
        if self.instance_id is None:
            raise AssertionError("no instance to act on")
        return self.instance_id

    def launch(self, request: dict[str, Any]) -> None:
        """RunInstances with a ClientToken made from the request, so a launch happens once.

        A retried call whose answer was lost, and two runs of the same task at once, send the same
        token and get the same instance back. EC2 keeps a token for at least 24 hours after the
        instance terminates, and answers it with that instance: a token that brings back an
        instance that is gone (or no longer carries this name) is salted with its id and sent again.
        """
        passed: list[str] = []
        while len(passed) < MAX_TOKEN_GENERATIONS:
            token = launch_token(request, passed)
            instance = _ec2.run_instance(self.ec2, {**request, "ClientToken": token})
            if is_launch_of(instance, self.desired.name):
                self.instance_id = instance["InstanceId"]
                return
            passed.append(instance["InstanceId"])
        raise KeylessAwsError(
            f"RunInstances gave back {len(passed)} earlier instances for this request instead of a new one "
            f"({', '.join(passed)})",
            operation="RunInstances",
        )

    def associate(self, profile: dict[str, str]) -> None:
        _ec2.associate_profile(self.ec2, self.target, profile)

    def replace_association(self, profile: dict[str, str]) -> None:
        associations = _ec2.profile_associations(self.ec2, self.target)
        if not associations:
            _ec2.associate_profile(self.ec2, self.target, profile)
            return
        _ec2.replace_profile(self.ec2, associations[0]["AssociationId"], profile)

    def modify_metadata(self, options: dict[str, Any]) -> None:
        _ec2.modify_metadata_options(self.ec2, self.target, options)

    def modify_attribute(self, attribute: str, value: Any, wait_first: str | None = None) -> None:
        if wait_first:
            self.await_state(wait_first)
        _ec2.modify_instance_attribute(self.ec2, self.target, attribute, value)

    def monitor(self) -> None:
        _ec2.monitor_instance(self.ec2, self.target)

    def unmonitor(self) -> None:
        _ec2.unmonitor_instance(self.ec2, self.target)

    def create_tags(self, tags: dict[str, str]) -> None:
        _ec2.create_tags(self.ec2, self.target, tags)

    def delete_tags(self, keys: list[str]) -> None:
        _ec2.delete_tags(self.ec2, self.target, keys)

    def start(self, wait_first: str | None = None) -> None:
        if wait_first:
            self.await_state(wait_first)
        _ec2.start_instance(self.ec2, self.target)

    def stop(self, wait_first: str | None = None) -> None:
        if wait_first:
            self.await_state(wait_first)
        _ec2.stop_instance(self.ec2, self.target)

    def terminate(self) -> None:
        _ec2.terminate_instance(self.ec2, self.target)

    def wait_state(self, wanted: str) -> None:
        """After a change: wait for its outcome when the task waits."""
        if self.desired.wait:
            self.await_state(wanted)

    def await_state(self, wanted: str) -> None:
        """Poll until the instance is ``wanted``, up to wait_timeout; fail at once if it never will be."""
        instance_id = self.target

        def reached() -> bool | None:
            raw = _ec2.describe_instance(self.ec2, instance_id) or {}
            state = (raw.get("State") or {}).get("Name")
            if state == wanted:
                return True
            if cannot_become(wanted, state):
                raise KeylessAwsError(
                    f"instance {instance_id} is {state}, it will not become {wanted}: {state_reason(raw)}",
                    code="InstanceStateUnreachable",
                )
            return None

        poll(
            reached, RetryPolicy(timeout=self.desired.wait_timeout), f"instance {instance_id} to be {wanted}"
        )

    def wait_association(self) -> None:
        if not self.desired.wait:
            return
        instance_id, wanted = self.target, self.desired.instance_profile or ""

        def associated() -> bool | None:
            for association in _ec2.profile_associations(self.ec2, instance_id):
                arn = (association.get("IamInstanceProfile") or {}).get("Arn")
                if association.get("State") == "associated" and profile_matches(arn, wanted):
                    return True
            return None

        poll(
            associated,
            RetryPolicy(timeout=self.desired.wait_timeout),
            f"instance profile {wanted} to be associated with {instance_id}",
        )


def reconcile_profile(ec2: Any, view: dict[str, Any] | None, wanted: str | None) -> dict[str, Any] | None:
    """Trust the association API when the instance's own profile field disagrees.

    The association is what EC2 serves credentials from; some endpoints update the
    instance's ``IamInstanceProfile`` field later than the association (or not at all).
    Only asked when the field differs from what is wanted, so a no-op run costs nothing extra.
    """
    if view is None or not view.get("instance_id") or not wanted:
        return view
    if profile_matches(view["iam_instance_profile_arn"], wanted):
        return view
    for association in _ec2.profile_associations(ec2, view["instance_id"]):
        if association.get("State") == "associated":
            view["iam_instance_profile_arn"] = (association.get("IamInstanceProfile") or {}).get("Arn")
    return view


class InstanceResource(Resource):
    def __init__(self, params: Mapping[str, Any], clients: Any, check_mode: bool) -> None:
        self.desired = desired_instance(params)
        self.ec2 = clients.ec2
        self.executor: Executor | None = None

    def read(self) -> State | None:
        raw = find_raw_instance(self.ec2, self.desired.name)
        return self.view(raw) if raw else None

    def view(self, raw: Mapping[str, Any]) -> State | None:
        """The instance as the task sees it: DescribeInstances, the settings it names, the profile."""
        view = {**instance_view(raw), **read_settings(self.ec2, raw, self.desired)}
        return reconcile_profile(self.ec2, view, self.desired.instance_profile)

    def plan(self, current: State | None) -> Plan:
        desired = self.desired
        if current is None and desired.state == "absent":
            return Plan([], None)
        if current is None:
            return Plan(*plan_create(desired, self.root_device()))
        actions, predicted = plan_update(current, desired)
        if desired.state == "absent":
            return Plan(actions, None)
        return Plan(actions, predicted, warnings=drift_warnings(current, desired))

    def apply(self, plan: Plan, current: State | None) -> State | None:
        instance = InstanceActions(self.ec2, self.desired, current["instance_id"] if current else None)
        executor = self.executor = Executor(instance.handlers())
        try:
            executor.run(plan.actions)
        except AwsApiError as err:
            if err.operation in PROFILE_OPERATIONS and is_profile_not_ready(err):
                raise self._profile_not_usable(err, executor) from err
            raise
        if self.desired.state == "absent" or instance.instance_id is None:
            return plan.predicted
        raw = _ec2.describe_instance(self.ec2, instance.instance_id)
        if raw is None:
            # DescribeInstances is eventually consistent: right after RunInstances (wait: false) it
            # may not show the instance yet. The prediction, with the id EC2 gave, is what it is.
            return {**plan.predicted, "instance_id": instance.instance_id}
        return self.view(raw)

    def root_device(self) -> str | None:
        """The image's root device name, asked only when root_volume is set (and an image given)."""
        image = self.desired.image_id
        if self.desired.root_volume is None or image is None:
            return None
        return _ec2.image_root_device(self.ec2, image)

    def _profile_not_usable(self, err: AwsApiError, executor: Executor) -> KeylessAwsError:
        retries = sum(executor.retried(operation) for operation in PROFILE_OPERATIONS)
        return KeylessAwsError(
            f"instance profile {self.desired.instance_profile} did not become usable by EC2 in "
            f"{self.desired.profile_wait_timeout} seconds ({retries} retries): {err.message}",
            code=err.code,
            operation=err.operation,
        )

    def result(self, after: State | None) -> dict[str, Any]:
        return {"instance": after or {}, "retries": self.executor.retries if self.executor else []}

    def diff_view(self, state: State | None) -> dict[str, Any]:
        if not state:
            return {}
        return {key: state[key] for key in DIFF_KEYS if key in state}


# What --diff shows: the settable fields, and the launch settings the task may name. Not the
# public address: a stop drops it (an Elastic IP stays), which no prediction can tell.
DIFF_KEYS = (
    "state",
    "instance_type",
    "image_id",
    "iam_instance_profile_arn",
    "metadata_options",
    "tags",
    "availability_zone",
    "placement_group",
    "detailed_monitoring",
    "ebs_optimized",
    "termination_protection",
    "instance_initiated_shutdown_behavior",
    "root_volume",
)


run = runner(InstanceResource)

SPEC = ModuleSpec(OPTIONS, run, services=("ec2",))
