# Internal use only: not a public API of keyless.aws; it may change without notice.
"""The generic AWS call layer, for every service: calls, reads, pages, tags, timestamps.

Errors are translated into one family (``AwsApiError`` naming the operation). A read returns
``None`` for "not found"; every other error, AccessDenied included, raises. The IAM and EC2
call files build on these; nothing here knows a service.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import Any

from ansible_collections.keyless.aws.plugins.module_utils._errors import is_not_found, translate

Method = Callable[..., dict[str, Any]]  # a botocore client's bound method, e.g. iam.get_role


def operation_name(method: Method) -> str:
    """AWS's name of the operation a client method calls (iam.get_role -> GetRole)."""
    try:
        return method.__self__.meta.method_to_api_mapping[method.__name__]  # type: ignore[attr-defined]
    except (AttributeError, KeyError):  # not a botocore client method: a test double
        return method.__name__ if hasattr(method, "__name__") else "request"


def call(method: Method, **kwargs: Any) -> dict[str, Any]:
    """Invoke one API operation; any failure becomes AwsApiError naming the operation."""
    try:
        return method(**kwargs)
    except Exception as err:
        if not is_aws_error(err):
            raise
        raise translate(err, operation_name(method)) from err


def read(method: Method, **kwargs: Any) -> dict[str, Any] | None:
    """Like ``call`` but "not found" is an answer (None), not an error."""
    try:
        return method(**kwargs)
    except Exception as err:
        if is_not_found(err):
            return None
        if not is_aws_error(err):
            raise
        raise translate(err, operation_name(method)) from err


def paginate(method: Method, key: str, **kwargs: Any) -> Iterator[dict[str, Any]]:
    """Yield every item under ``key`` of the paginated listing ``method`` calls."""
    # botocore names a paginator after the client method it pages (list_roles).
    paginator = method.__self__.get_paginator(method.__name__)  # type: ignore[attr-defined]
    try:
        for page in paginator.paginate(**kwargs):
            yield from page.get(key, [])
    except Exception as err:
        if not is_aws_error(err):
            raise
        raise translate(err, operation_name(method)) from err


def is_aws_error(err: Exception) -> bool:
    """botocore's ClientError and BotoCoreError family; anything else is a bug, left to surface."""
    return hasattr(err, "response") or type(err).__module__.startswith("botocore")


def tag_list(tags: Mapping[str, str]) -> list[dict[str, str]]:
    """Tags in AWS's request shape, sorted so requests are stable."""
    return [{"Key": key, "Value": value} for key, value in sorted(tags.items())]


def tag_dict(tags: list[dict[str, str]] | None) -> dict[str, str]:
    """Tags from AWS's response shape."""
    return {tag["Key"]: tag["Value"] for tag in tags or []}


def iso(value: Any) -> Any:
    """A timestamp from botocore (datetime) as ISO 8601 text; anything else unchanged."""
    return value.isoformat() if hasattr(value, "isoformat") else value
