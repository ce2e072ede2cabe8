# Internal use only: not a public API of keyless.aws; it may change without notice.
"""The whole behaviour of keyless.aws.ec2_instance_info (read instances, change nothing), and its ``SPEC``.

Instances are shown as keyless.aws.ec2_instance shows its ``instance`` (``instance_view``), so a
task can read what the module would manage.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ansible_collections.keyless.aws.plugins.module_utils import _ec2
from ansible_collections.keyless.aws.plugins.module_utils._aws import tag_dict
from ansible_collections.keyless.aws.plugins.module_utils._ec2_instance import IDENTITY_STATES, instance_view
from ansible_collections.keyless.aws.plugins.module_utils._errors import ValidationError
from ansible_collections.keyless.aws.plugins.module_utils._module import ModuleSpec

# instance_ids and filters are amazon.aws ec2_instance_info's names, with the same meaning.
OPTIONS: dict[str, dict[str, Any]] = {
    "name": {"type": "str"},
    "instance_ids": {"type": "list", "elements": "str", "default": []},
    "filters": {"type": "dict", "default": {}},
}

STATE_FILTER = "instance-state-name"


def validate_info_params(params: Mapping[str, Any]) -> None:
    filters = params.get("filters") or {}
    if params.get("instance_ids") and "instance-id" in filters:
        raise ValidationError("instance_ids", "give instance ids here or as the instance-id filter, not both")
    name = params.get("name")
    if name is not None and not 1 <= len(name) <= 256:
        raise ValidationError("name", "must be 1 to 256 characters (it is the Name tag)")
    if name is not None and "tag:Name" in filters:
        raise ValidationError("name", "give the name here or as the tag:Name filter, not both")


def instance_filters(params: Mapping[str, Any]) -> list[dict[str, Any]]:
    """DescribeInstances filters for the options.

    ``name`` is sent escaped (EC2 reads ``*`` and ``?`` as wildcards) and, unless the filters
    name the states, limited to the states in which an instance holds its name, as
    keyless.aws.ec2_instance finds it. Instance ids go as the ``instance-id`` filter rather than
    InstanceIds, so an id that does not exist is not found instead of failing the request
    (``InvalidInstanceID.NotFound``).
    """
    filters: dict[str, Any] = {str(key): value for key, value in (params.get("filters") or {}).items()}
    if params.get("instance_ids"):
        filters["instance-id"] = list(params["instance_ids"])
    if params.get("name") is not None:
        filters["tag:Name"] = _ec2.filter_literal(params["name"])
        filters.setdefault(STATE_FILTER, list(IDENTITY_STATES))
    return [
        {"Name": key, "Values": [str(item) for item in value] if isinstance(value, list) else [str(value)]}
        for key, value in filters.items()
    ]


def select(raw: list[dict[str, Any]], name: str | None) -> list[dict[str, Any]]:
    """The instances to return, oldest launch first (then by id): named exactly ``name`` when given.

    The filter already asked for the name, but an endpoint may read an escape differently; the
    Name tag is compared here too, as keyless.aws.ec2_instance does.
    """
    chosen = [item for item in raw if name is None or tag_dict(item.get("Tags")).get("Name") == name]
    views = [instance_view(item) for item in chosen]
    return sorted(views, key=lambda view: (view["launch_time"] or "", view["instance_id"]))


def run(params: Mapping[str, Any], clients: Any, check_mode: bool, diff: bool) -> dict[str, Any]:
    validate_info_params(params)
    raw = _ec2.describe_instances(clients.ec2, instance_filters(params))
    return {"changed": False, "instances": select(raw, params.get("name"))}


SPEC = ModuleSpec(OPTIONS, run, diff=False, services=("ec2",))
