# Internal use only: not a public API of keyless.aws; it may change without notice.
"""The bridge between a module's ``main()`` and its ``run()``: no AnsibleModule here."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from ansible_collections.keyless.aws.plugins.module_utils._client import Clients, validate_connection_params
from ansible_collections.keyless.aws.plugins.module_utils._errors import KeylessAwsError

Runner = Callable[[Mapping[str, Any], Any, bool, bool], dict[str, Any]]


def invoke(run: Runner, params: Mapping[str, Any], check_mode: bool, diff: bool) -> dict[str, Any]:
    """Validate the connection options and run; raises KeylessAwsError on any failure."""
    validate_connection_params(params)
    return run(params, Clients(params), check_mode, diff)


def failure(err: KeylessAwsError) -> dict[str, Any]:
    """Arguments for ``fail_json``: the message plus AWS's error code and operation."""
    details: dict[str, Any] = {"msg": err.message, "error_code": err.code}
    if err.operation:
        details["operation"] = err.operation
    field = getattr(err, "field", None)
    if field:
        details["field"] = field
    return details
