# Internal use only: not a public API of keyless.aws; it may change without notice.
"""The whole behaviour of keyless.aws.ec2_image_info (find images, oldest first as amazon.aws's
ec2_ami_info lists them, the newest as ``latest``), and its ``SPEC``."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from ansible_collections.keyless.aws.plugins.module_utils import _ec2
from ansible_collections.keyless.aws.plugins.module_utils._aws import tag_dict
from ansible_collections.keyless.aws.plugins.module_utils._errors import ValidationError
from ansible_collections.keyless.aws.plugins.module_utils._module import ModuleSpec

OPTIONS: dict[str, dict[str, Any]] = {
    # ``owner`` and ``image_id`` are amazon.aws ec2_ami_info's aliases, with the same meaning.
    "owners": {"type": "list", "elements": "str", "default": [], "aliases": ["owner"]},
    "image_ids": {"type": "list", "elements": "str", "default": [], "aliases": ["image_id"]},
    "executable_users": {"type": "list", "elements": "str", "default": [], "aliases": ["executable_user"]},
    "name": {"type": "str"},
    "architecture": {"type": "str"},
    "filters": {"type": "dict", "default": {}},
}


# DescribeImages' Owners: "a combination of Amazon Web Services account IDs, self, amazon,
# aws-backup-vault, and aws-marketplace" (EC2 API Reference; the same list in botocore's model).
OWNER_ALIASES = ("self", "amazon", "aws-marketplace", "aws-backup-vault")


def is_image_owner(owner: str) -> bool:
    """A 12-digit account id or one of the aliases DescribeImages documents (case-sensitive)."""
    return bool(re.fullmatch(r"\d{12}", owner)) or owner in OWNER_ALIASES


# DescribeImages' ExecutableUsers: "an Amazon Web Services account ID, self (the sender of the
# request), or all (public AMIs)" (EC2 API Reference).
EXECUTABLE_USER_ALIASES = ("self", "all")


def is_executable_user(user: str) -> bool:
    return bool(re.fullmatch(r"\d{12}", user)) or user in EXECUTABLE_USER_ALIASES


def validate_image_params(params: Mapping[str, Any]) -> None:
    for index, owner in enumerate(params.get("owners") or []):
        if not is_image_owner(owner):
            raise ValidationError(
                f"owners[{index}]", f"must be a 12-digit account id or one of {', '.join(OWNER_ALIASES)}"
            )
    for index, user in enumerate(params.get("executable_users") or []):
        if not is_executable_user(user):
            raise ValidationError(f"executable_users[{index}]", "must be a 12-digit account id, self or all")
    if params.get("image_ids") and "image-id" in (params.get("filters") or {}):
        raise ValidationError("image_ids", "give image ids here or as the image-id filter, not both")
    # executable_users: [all] alone is every public image too; an account or self narrows it.
    narrowing_users = [user for user in params.get("executable_users") or [] if user != "all"]
    if not (narrowing_users or any(params.get(key) for key in ("owners", "image_ids", "name", "filters"))):
        raise ValidationError(
            "owners", "give owners, image_ids, name or filters: listing every public image is never useful"
        )


def image_filters(params: Mapping[str, Any]) -> list[dict[str, Any]]:
    filters = {"state": "available", **{str(k): v for k, v in (params.get("filters") or {}).items()}}
    # The image-id filter rather than DescribeImages' ImageIds: an id that does not exist (or is
    # not available) is then simply not found, where ImageIds fails the whole request.
    if params.get("image_ids"):
        filters["image-id"] = list(params["image_ids"])
    if params.get("name"):
        filters["name"] = params["name"]
    if params.get("architecture"):
        filters["architecture"] = params["architecture"]
    return [
        {"Name": key, "Values": value if isinstance(value, list) else [str(value)]}
        for key, value in filters.items()
    ]


def image_view(raw: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "image_id": raw["ImageId"],
        "name": raw.get("Name"),
        "owner_id": raw.get("OwnerId"),
        "creation_date": raw.get("CreationDate"),
        "architecture": raw.get("Architecture"),
        "description": raw.get("Description"),
        # amazon.aws ec2_ami_info's names for the same DescribeImages fields.
        "state": raw.get("State"),
        "public": raw.get("Public"),
        "root_device_type": raw.get("RootDeviceType"),
        "virtualization_type": raw.get("VirtualizationType"),
        "platform_details": raw.get("PlatformDetails"),
        "tags": tag_dict(raw.get("Tags")),
    }


def oldest_first(images: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Images by creation date, oldest first, as amazon.aws's ec2_ami_info sorts them.

    CreationDate is ISO 8601 (UTC): string order is time order. An image without a date counts
    as the oldest. Equal dates break on name, which carries the build date in Canonical's and
    Amazon's naming, then on image id, so the order never depends on the order of the answer.
    """
    return sorted(
        images,
        key=lambda image: (image.get("creation_date") or "", image.get("name") or "", image["image_id"]),
    )


def run(params: Mapping[str, Any], clients: Any, check_mode: bool, diff: bool) -> dict[str, Any]:
    validate_image_params(params)
    raw = _ec2.describe_images(
        clients.ec2,
        list(params.get("owners") or []),
        image_filters(params),
        list(params.get("executable_users") or []),
    )
    images = oldest_first([image_view(image) for image in raw])
    return {"changed": False, "images": images, "latest": images[-1] if images else None}


SPEC = ModuleSpec(OPTIONS, run, diff=False, services=("ec2",))
