# Internal use only: not a public API of keyless.aws; it may change without notice.
"""Controller-side fast path: run a module's ``run()`` in the worker process.

A module task pays for a new interpreter and the AnsiballZ wrapper before it does anything.
When the module would run on the controller anyway (local connection, the controller's own
Python, no become, not async), the action plugin validates the arguments and calls the same
``run()`` in the worker instead, shaping the result exactly like ``AnsibleModule`` would.
In every other case it executes the module normally.

Opt out per task/host/play with the variable ``keyless_aws_fast_path: false`` or for the whole
run with ``KEYLESS_AWS_FAST_PATH=0`` in the controller's environment.
"""

from __future__ import annotations

import gc
import importlib.util
import json
import os
import sys
import threading
import traceback
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime, time
from pathlib import Path
from typing import Any, ClassVar

from ansible import constants as C
from ansible.module_utils.common.arg_spec import ArgumentSpecValidator
from ansible.module_utils.common.parameters import remove_values
from ansible.module_utils.errors import UnsupportedError
from ansible.module_utils.parsing.convert_bool import boolean
from ansible.plugins.action.normal import ActionModule as NormalAction
from ansible.utils.display import Display

from ansible_collections.keyless.aws.plugins.module_utils._client import (
    IAM_DEFAULT_REGION,
    Clients,
    connection_no_log_values,
)
from ansible_collections.keyless.aws.plugins.module_utils._errors import KeylessAwsError
from ansible_collections.keyless.aws.plugins.module_utils._module import ModuleSpec, failure, invoke

try:
    # Lets a fast-path failure read "Module failed: ..." like the module's own, not "Action failed".
    # Private to ansible-core (2.19+); without it only that one header word differs.
    from ansible._internal._errors._captured import AnsibleModuleCapturedError
except ImportError:  # pragma: no cover - older or reorganised ansible-core
    AnsibleModuleCapturedError = None

display = Display()

SWITCH_VAR = "keyless_aws_fast_path"
SWITCH_ENV = "KEYLESS_AWS_FAST_PATH"
LOCAL_TRANSPORTS = frozenset({"local", "ansible.builtin.local"})
AUTO_INTERPRETERS = frozenset({"auto", "auto_silent", "auto_legacy", "auto_legacy_silent"})
TRACEBACK_VERBOSITY = 3
ALIAS_WARNING = "Both option {option} and its alias {alias} are set."

_ENVIRON_LOCK = threading.Lock()


# --- when the fast path applies --------------------------------------------------------------


@dataclass(frozen=True)
class TaskFacts:
    """Everything the decision depends on, read from the task, its connection and variables."""

    transport: str | None
    interpreter: str | None  # templated ansible_python_interpreter / interpreter_python
    is_async: bool
    become: bool
    switch_var: Any = None  # keyless_aws_fast_path, templated; None when unset
    switch_env: str | None = None  # KEYLESS_AWS_FAST_PATH from the controller's environment


def switched_on(switch_var: Any, switch_env: str | None) -> bool:
    """On unless the variable or the environment says otherwise; an unreadable value means off."""
    if switch_env is not None and switch_env.strip() and not boolean(switch_env, strict=False):
        return False
    return switch_var is None or boolean(switch_var, strict=False)


def same_interpreter(path: str, executable: str = sys.executable) -> bool:
    """True when ``path`` starts this very Python environment.

    Comparing the binaries' real paths is not enough: a venv's ``bin/python`` is a symlink to
    the base interpreter, which runs without the venv's packages. The directory the interpreter
    is started from (the venv's ``bin``) has to match as well.
    """
    if not path or not os.path.isabs(path) or not os.path.exists(path):
        return False
    wanted, own = Path(path), Path(executable)
    return wanted.parent.resolve() == own.parent.resolve() and wanted.resolve() == own.resolve()


def controller_has_boto3() -> bool:
    return all(importlib.util.find_spec(name) is not None for name in ("boto3", "botocore"))


def interpreter_allows(interpreter: str | None, executable: str = sys.executable) -> bool:
    """The module would run under the controller's Python, or may as well (discovery, boto3 here)."""
    if interpreter is None or interpreter.strip() in ("", *AUTO_INTERPRETERS):
        return controller_has_boto3()
    return same_interpreter(interpreter.strip(), executable)


def fast_path_applies(facts: TaskFacts, executable: str = sys.executable) -> bool:
    return (
        switched_on(facts.switch_var, facts.switch_env)
        and facts.transport in LOCAL_TRANSPORTS
        and not facts.is_async
        and not facts.become
        and interpreter_allows(facts.interpreter, executable)
    )


# --- validation and result shaping, as AnsibleModule does them --------------------------------


@dataclass
class Validated:
    params: dict[str, Any]
    no_log_values: set[str]
    error: str | None = None
    warnings: list[str] = field(default_factory=list)
    deprecations: list[dict[str, Any]] = field(default_factory=list)


def validate(spec: ModuleSpec, args: Mapping[str, Any], module_name: str) -> Validated:
    """ArgumentSpecValidator with AnsibleModule's wording for errors and alias warnings."""
    outcome = ArgumentSpecValidator(spec.argument_spec(), **spec.spec_extras).validate(dict(args))
    validated = Validated(
        params=outcome.validated_parameters,
        # As run_module does: a proxy URL's password inside aws_config is censored too.
        no_log_values=set(outcome._no_log_values) | connection_no_log_values(outcome.validated_parameters),
        warnings=[ALIAS_WARNING.format(**warning) for warning in outcome._warnings],
        deprecations=[dict(d) for d in outcome._deprecations],
    )
    if outcome.error_messages:
        validated.error = outcome.errors.msg
        if isinstance(outcome.errors[0], UnsupportedError):
            validated.error = f"Unsupported parameters for ({module_name}) module: {validated.error}"
    return validated


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    if isinstance(value, set | frozenset):
        return list(value)
    raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")


def shape_result(
    result: Mapping[str, Any], validated: Validated, with_invocation: bool = True
) -> dict[str, Any]:
    """What the module would have printed: invocation, warnings, no_log values censored."""
    shaped = dict(result)
    if with_invocation:
        shaped.setdefault("invocation", {"module_args": validated.params})
    else:
        shaped.pop("invocation", None)
    warnings = validated.warnings + list(shaped.pop("warnings", None) or [])
    if warnings:
        shaped["warnings"] = warnings
    if validated.deprecations:
        shaped["deprecations"] = validated.deprecations
    # Plain JSON types only, as a module's output is after its trip through JSON.
    shaped = json.loads(json.dumps(shaped, default=_json_default))
    # AnsibleModule keeps top-level booleans and None as they are: a no_log value of "True"
    # must not turn `changed: true` into a censored string.
    preserved = {key: value for key, value in shaped.items() if value is None or isinstance(value, bool)}
    shaped = remove_values(shaped, validated.no_log_values)
    shaped.update(preserved)
    return shaped


def unexpected_failure(err: Exception, with_traceback: bool) -> dict[str, Any]:
    result: dict[str, Any] = {"failed": True, "msg": f"{type(err).__name__}: {err}"}
    if with_traceback:
        result["exception"] = "".join(traceback.format_exception(err))
    return result


def execute(
    spec: ModuleSpec,
    args: Mapping[str, Any],
    module_name: str,
    check_mode: bool,
    diff: bool,
    with_traceback: bool = False,
    with_invocation: bool = True,
) -> dict[str, Any]:
    """The module's whole life in one call: validate, run, report; never raises."""
    validated = validate(spec, args, module_name)
    if validated.error:
        return shape_result({"failed": True, "msg": validated.error}, validated, with_invocation)
    try:
        result = invoke(spec, validated.params, check_mode, diff, clients=ControllerClients)
    except KeylessAwsError as err:
        result = {"failed": True, **failure(err)}
    except Exception as err:
        result = unexpected_failure(err, with_traceback)
    return shape_result(result, validated, with_invocation)


def as_module_failure(result: dict[str, Any]) -> dict[str, Any]:
    if result.get("failed") and AnsibleModuleCapturedError is not None:
        AnsibleModuleCapturedError.normalize_result_exception(result)
    return result


def inject_invocation(task_vars: Mapping[str, Any]) -> bool:
    """ansible-core 2.21 made ``invocation`` optional (INJECT_INVOCATION); before, always there."""
    if not C.config.get_configuration_definition("INJECT_INVOCATION"):
        return True
    return bool(C.config.get_config_value("INJECT_INVOCATION", variables=task_vars))


# --- botocore: parse service models once per controller, not once per task ------------------


class ServiceModels:
    """One botocore data loader per process, shared by every session the fast path creates.

    botocore parses a service's JSON model (plus endpoints and partitions) once per session: for
    a module that is 0.1-0.2 s of every task. Action plugins are imported in the controller's main
    process, where :meth:`warm` parses the models their modules use; task workers are forked from
    that process and inherit them already parsed.
    """

    def __init__(self) -> None:
        self._loader: Any = None
        self._data_path: str | None = None
        self._warmed: set[str] = set()

    def loader(self) -> Any:
        """The shared loader, or None when none exists or AWS_DATA_PATH differs from its own."""
        if self._loader is None or os.environ.get("AWS_DATA_PATH") != self._data_path:
            return None
        return self._loader

    def warm(self, services: tuple[str, ...]) -> None:
        """Parse each service's models once per process; a service already parsed costs nothing.

        Best effort: without boto3 (or on any botocore surprise) sessions load models as usual.
        """
        missing = tuple(service for service in services if service not in self._warmed)
        if not missing:
            return
        try:
            self._warm(missing)
        except Exception as err:
            display.debug(f"keyless.aws: service models not preloaded: {err}")
            return
        self._warmed.update(missing)
        keep_shared_across_forks()

    def _warm(self, services: tuple[str, ...]) -> None:
        import boto3
        import botocore.session

        if self._loader is None:
            self._data_path = os.environ.get("AWS_DATA_PATH")
            botocore_session = botocore.session.Session()
            boto3.session.Session(botocore_session=botocore_session)  # adds boto3's data path
            self._loader = botocore_session.get_component("data_loader")
        session = botocore.session.Session()
        session.register_component("data_loader", self._loader)
        for service in services:
            # Creating a client loads everything a real one needs, and makes no request.
            session.create_client(
                service, region_name=IAM_DEFAULT_REGION, aws_access_key_id="-", aws_secret_access_key="-"
            )


def keep_shared_across_forks() -> None:
    """Take everything alive now out of the cyclic garbage collector's walks (``gc.freeze``).

    Workers are forked from this process. Otherwise a worker's first full collection visits every
    inherited object, parsed models included, and writes to each one's GC header: the kernel then
    copies the parent's heap page by page, about 80 ms of every task on Python 3.11. This is the
    use the Python documentation gives for ``gc.freeze``; frozen objects are still freed by
    reference counting.
    """
    gc.collect()
    gc.freeze()


SERVICE_MODELS = ServiceModels()


class ControllerClients(Clients):
    """The module's clients, reading service models through the shared loader when there is one."""

    def _get_session(self) -> Any:
        if self._session is None:
            session = super()._get_session()
            loader = SERVICE_MODELS.loader()
            if loader is not None:
                # boto3 exposes its botocore session only as ``_session``; register_component is public.
                session._session.register_component("data_loader", loader)
        return self._session


# --- the task's environment ---------------------------------------------------------------------


@contextmanager
def task_environ(environment: Mapping[str, Any]) -> Iterator[None]:
    """The task's ``environment:`` in ``os.environ`` for the duration of the call, then restored.

    Each task runs in its own forked worker, so this only touches that worker; the lock keeps
    two threads of one worker from interleaving their changes.
    """
    with _ENVIRON_LOCK:
        saved = {name: os.environ.get(name) for name in environment}
        try:
            os.environ.update({name: str(value) for name, value in environment.items()})
            yield
        finally:
            for name, value in saved.items():
                if value is None:
                    os.environ.pop(name, None)
                else:
                    os.environ[name] = value


# --- the action plugin base -------------------------------------------------------------------


class FastPathAction(NormalAction):
    """Base of every keyless.aws action plugin: the fast path, or exactly the normal action.

    A subclass only names its module's ``spec``.
    """

    spec: ClassVar[ModuleSpec]

    def __init_subclass__(cls, **kwargs: Any) -> None:
        # The strategy imports an action class in the controller's main process, before it forks
        # the task's worker: the one moment to parse models that every worker then inherits.
        # Each service is parsed once per process, however many action classes name it.
        super().__init_subclass__(**kwargs)
        if switched_on(None, os.environ.get(SWITCH_ENV)):
            SERVICE_MODELS.warm(cls.spec.services)

    def run(self, tmp: str | None = None, task_vars: dict[str, Any] | None = None) -> dict[str, Any]:
        task_vars = task_vars if task_vars is not None else {}
        if not fast_path_applies(self._task_facts(task_vars)):
            return super().run(tmp, task_vars)
        display.vvv(f"keyless.aws: {self._task.action} runs in the controller process (fast path)")
        environment: dict[str, Any] = {}
        self._compute_environment_string(environment)
        with task_environ(environment):
            result = execute(
                self.spec,
                self._task.args,
                self._task.action,
                check_mode=bool(self._task.check_mode),
                diff=bool(self._task.diff),
                with_traceback=display.verbosity >= TRACEBACK_VERBOSITY,
                with_invocation=inject_invocation(task_vars),
            )
        return as_module_failure(result)

    def _task_facts(self, task_vars: dict[str, Any]) -> TaskFacts:
        return TaskFacts(
            transport=getattr(self._connection, "transport", None),
            interpreter=self._interpreter(task_vars),
            is_async=bool(self._task.async_val),
            become=bool(self._play_context.become),
            switch_var=self._templated(task_vars.get(SWITCH_VAR)),
            switch_env=os.environ.get(SWITCH_ENV),
        )

    def _interpreter(self, task_vars: dict[str, Any]) -> str | None:
        """The Python the module would get, looked up as ansible-core does for the target."""
        host_vars = task_vars
        if self._task.delegate_to:
            host_vars = task_vars.get("ansible_delegated_vars", {}).get(self._task.delegate_to, task_vars)
        value = C.config.get_config_value("INTERPRETER_PYTHON", variables=host_vars)
        value = self._templated(value)
        return None if value is None else str(value)

    def _templated(self, value: Any) -> Any:
        return None if value is None else self._templar.template(value)
