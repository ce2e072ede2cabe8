# Internal use only: not a public API of keyless.aws; it may change without notice.
"""A module's one declaration (``ModuleSpec``) and the runner every module's ``main()`` uses.

Each behaviour file declares its module once: options, extra argument-spec checks, ``run``,
whether it diffs, and which services' models the controller-side fast path preloads. The
module file hands that spec to ``run_module``; its action plugin names the same spec.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, NoReturn

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.keyless.aws.plugins.module_utils._client import (
    Clients,
    aws_argument_spec,
    connection_no_log_values,
    validate_connection_params,
)
from ansible_collections.keyless.aws.plugins.module_utils._errors import KeylessAwsError, ValidationError

# Option pieces that several modules share (hashi_vault composes its specs the same way).
STATE_OPTION: dict[str, Any] = {"type": "str", "default": "present", "choices": ["present", "absent"]}
# Documented once too, by the doc fragment keyless.aws.common.tags.
IAM_TAG_OPTIONS: dict[str, dict[str, Any]] = {
    "tags": {"type": "dict", "aliases": ["resource_tags"]},
    "purge_tags": {"type": "bool", "default": True},
}


def wait_options(timeout: int) -> dict[str, dict[str, Any]]:
    """``wait`` (on by default) and ``wait_timeout`` in seconds."""
    return {"wait": {"type": "bool", "default": True}, "wait_timeout": {"type": "int", "default": timeout}}


Runner = Callable[[Mapping[str, Any], Any, bool, bool], dict[str, Any]]
ClientsFactory = Callable[[Mapping[str, Any]], Clients]


@dataclass(frozen=True)
class ModuleSpec:
    """Everything that makes a module, declared once."""

    options: Mapping[str, dict[str, Any]]
    run: Runner
    spec_extras: Mapping[str, Any] = field(default_factory=dict)  # e.g. mutually_exclusive
    diff: bool = True
    services: tuple[str, ...] = ("iam",)  # whose models the fast path parses ahead of the first task

    def argument_spec(self) -> dict[str, dict[str, Any]]:
        """The module's options plus the common AWS ones."""
        return aws_argument_spec(**self.options)


def invoke(
    spec: ModuleSpec,
    params: Mapping[str, Any],
    check_mode: bool,
    diff: bool,
    clients: ClientsFactory = Clients,
) -> dict[str, Any]:
    """Validate the connection options and run; raises KeylessAwsError on any failure."""
    validate_connection_params(params)
    return spec.run(params, clients(params), check_mode, diff and spec.diff)


def failure(err: KeylessAwsError) -> dict[str, Any]:
    """Arguments for ``fail_json``: the message plus AWS's error code and operation."""
    details: dict[str, Any] = {"msg": err.message, "error_code": err.code}
    if err.operation:
        details["operation"] = err.operation
    if isinstance(err, ValidationError):
        details["field"] = err.field
    return details


class AwsModule(AnsibleModule):
    """AnsibleModule that also censors the secrets inside connection options (a proxy password).

    no_log can only censor a whole option, and ``aws_config`` is mostly not secret. Its values
    join ``no_log_values`` just before any result is printed, argument errors included.
    """

    def exit_json(self, **kwargs: Any) -> NoReturn:
        self.no_log_values.update(connection_no_log_values(self.params))
        super().exit_json(**kwargs)

    def fail_json(self, *args: Any, **kwargs: Any) -> NoReturn:
        self.no_log_values.update(connection_no_log_values(self.params))
        super().fail_json(*args, **kwargs)


def run_module(spec: ModuleSpec) -> None:
    """A module's whole life: parse arguments, run, report; exits the process."""
    module = AwsModule(argument_spec=spec.argument_spec(), supports_check_mode=True, **spec.spec_extras)
    try:
        result = invoke(spec, module.params, module.check_mode, module._diff)
    except KeylessAwsError as err:
        module.fail_json(**failure(err))
    # ansible-core 2.19+ deprecates warnings passed to exit_json: hand them to warn().
    for warning in result.pop("warnings", []):
        module.warn(warning)
    module.exit_json(**result)
