# Internal use only: not a public API of keyless.aws; it may change without notice.
"""Thin EC2 calls, errors translated, nothing decided here."""

from __future__ import annotations

from typing import Any

from ansible_collections.keyless.aws.plugins.module_utils._iam import call

EC2 = Any  # a botocore EC2 client

LIVE_STATES = ["pending", "running", "shutting-down", "stopping", "stopped"]


def describe_instances(ec2: EC2, filters: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Every instance matching ``filters``, across pages."""
    instances: list[dict[str, Any]] = []
    token: str | None = None
    while True:
        kwargs: dict[str, Any] = {"Filters": filters}
        if token:
            kwargs["NextToken"] = token
        page = call("DescribeInstances", ec2.describe_instances, **kwargs)
        for reservation in page.get("Reservations", []):
            instances.extend(reservation.get("Instances", []))
        token = page.get("NextToken")
        if not token:
            return instances


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
