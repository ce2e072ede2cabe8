"""Result shaping on the fast path: validation errors, no_log, invocation, failures, environment.

Where it matters, the expected value is what the real module prints for the same input, run
in-process through AnsibleModule, so the two paths cannot drift apart unnoticed.
"""

from __future__ import annotations

import contextlib
import datetime
import io
import json
import os
from unittest import mock

import pytest
from ansible import constants as C
from ansible.module_utils.common import arg_spec
from ansible.module_utils.common import warnings as module_warnings
from ansible.module_utils.testing import patch_module_args

from ansible_collections.keyless.aws.plugins.module_utils._errors import AwsApiError, ValidationError
from ansible_collections.keyless.aws.plugins.module_utils._iam_role_info import OPTIONS as ROLE_INFO_OPTIONS
from ansible_collections.keyless.aws.plugins.module_utils._iam_role_info import run as role_info_run
from ansible_collections.keyless.aws.plugins.module_utils._module import ModuleSpec
from ansible_collections.keyless.aws.plugins.modules import iam_role, iam_role_info, iam_role_policy
from ansible_collections.keyless.aws.plugins.plugin_utils import _fast_path
from ansible_collections.keyless.aws.plugins.plugin_utils._fast_path import (
    Validated,
    as_module_failure,
    execute,
    inject_invocation,
    shape_result,
    task_environ,
    validate,
)

ACTIONS = {
    module: __import__(f"ansible_collections.keyless.aws.plugins.action.{module}", fromlist=["ActionModule"])
    for module in ("iam_role", "iam_role_info", "iam_role_policy")
}
SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
NO_LOG = "VALUE_SPECIFIED_IN_NO_LOG_PARAMETER"
# ansible-core 2.21 leaves invocation out unless asked (INJECT_INVOCATION); 2.19 always adds it.
INVOCATION_OPTIONAL = bool(C.config.get_configuration_definition("INJECT_INVOCATION"))


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch):
    for name in list(os.environ):
        if name.startswith("AWS_"):
            monkeypatch.delenv(name)
    module_warnings._global_warnings.clear()
    module_warnings._global_deprecations.clear()


def module_output(module, args: dict) -> dict:
    """What the module prints for ``args``, run in-process like ansible-core would run it."""
    internal = {"_ansible_module_name": f"keyless.aws.{module.__name__.rsplit('.', 1)[-1]}"}
    if INVOCATION_OPTIONAL:
        internal["_ansible_inject_invocation"] = True
    out = io.StringIO()
    # In a process that has loaded the controller's display (as this one has), AnsibleModule hands
    # validator warnings to it instead of the result; collect them where they are raised.
    validator_warnings: list[str] = []
    with (
        patch_module_args({**args, **internal}),
        mock.patch.object(arg_spec, "warn", validator_warnings.append),
        contextlib.redirect_stdout(out),
        pytest.raises(SystemExit),
    ):
        module.main()
    result = json.loads(out.getvalue())
    # 2.19+ serialises warning objects; their text is what a user sees.
    warnings = [w["event"]["msg"] if isinstance(w, dict) else w for w in result.get("warnings") or []]
    if validator_warnings + warnings:
        result["warnings"] = validator_warnings + warnings
    return result


def fast_output(module, args: dict) -> dict:
    name = module.__name__.rsplit(".", 1)[-1]
    spec = ACTIONS[name].ActionModule.spec
    return execute(spec, args, f"keyless.aws.{name}", check_mode=False, diff=False)


BAD_INPUT = [
    pytest.param(iam_role_info, {"colour": "blue"}, id="unknown option"),
    pytest.param(iam_role_info, {"name": "a", "path_prefix": "/"}, id="mutually exclusive"),
    pytest.param(iam_role_info, {"name": "a", "role_name": "a", "path": "/"}, id="exclusive via aliases"),
    pytest.param(iam_role, {"name": "r", "max_session_duration": "one hour"}, id="wrong type"),
    pytest.param(iam_role, {"name": "r", "purge_tags": "perhaps"}, id="not a boolean"),
    pytest.param(iam_role, {"assume_role_policy": {}}, id="missing required"),
    pytest.param(iam_role_policy, {"role": "r", "name": "p", "state": "gone"}, id="bad choice"),
    pytest.param(
        iam_role_policy, {"role": "r", "name": "p", "secret_key": SECRET, "x": 1}, id="secret in args"
    ),
]


@pytest.mark.parametrize(("module", "args"), BAD_INPUT)
def test_argument_errors_read_exactly_like_the_modules(module, args):
    expected = module_output(module, args)
    actual = fast_output(module, args)
    assert expected["failed"] is actual["failed"] is True
    if "Valid booleans include" not in expected["msg"]:  # that list is printed from a set
        assert actual["msg"] == expected["msg"]
    assert actual["invocation"] == expected["invocation"]
    assert actual.get("warnings") == expected.get("warnings")
    assert SECRET not in json.dumps(actual)


def test_unknown_option_names_the_module_as_the_task_wrote_it():
    result = fast_output(iam_role_info, {"colour": "blue"})
    assert result["msg"].startswith("Unsupported parameters for (keyless.aws.iam_role_info) module: colour.")


def test_a_successful_run_matches_the_module_output(clients):
    """Same role, same warnings, same invocation (credentials censored) on both paths."""
    clients.iam.create_role(RoleName="r", AssumeRolePolicyDocument=json.dumps({"Version": "2012-10-17"}))
    args = {"name": "r", "role_name": "r", "region": "us-east-1", "access_key": "AKIAX", "secret_key": SECRET}
    assert fast_output(iam_role_info, args) == module_output(iam_role_info, args)


def test_env_fallbacks_are_read_and_their_secrets_censored(monkeypatch):
    monkeypatch.setenv("AWS_REGION", "eu-west-1")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SECRET)
    validated = validate(ModuleSpec(ROLE_INFO_OPTIONS, role_info_run), {"name": "r"}, "m")
    assert validated.params["region"] == "eu-west-1"
    assert SECRET in validated.no_log_values


def test_alias_warnings_come_first_then_the_modules_own():
    validated = Validated(params={}, no_log_values=set(), warnings=["from validation"])
    shaped = shape_result({"changed": False, "warnings": ["from run"]}, validated)
    assert shaped["warnings"] == ["from validation", "from run"]


def test_no_log_values_are_censored_everywhere_but_booleans_and_none_survive():
    validated = Validated(params={"secret_key": SECRET, "name": "True"}, no_log_values={SECRET, "True"})
    result = {"changed": True, "failed": None, "msg": f"the key {SECRET} was rejected", "nested": [SECRET]}
    shaped = shape_result(result, validated)
    assert shaped["invocation"] == {"module_args": {"secret_key": NO_LOG, "name": NO_LOG}}
    assert shaped["msg"] == "the key ******** was rejected"
    assert shaped["nested"] == [NO_LOG]
    assert shaped["changed"] is True
    assert shaped["failed"] is None


def test_invocation_can_be_left_out_and_results_become_plain_json():
    validated = Validated(params={"name": "r"}, no_log_values=set())
    when = datetime.datetime(2026, 1, 2, 3, 4, 5, tzinfo=datetime.UTC)
    shaped = shape_result({"changed": False, "invocation": {}, "at": when, "ids": ("a",)}, validated, False)
    assert shaped == {"changed": False, "at": "2026-01-02T03:04:05+00:00", "ids": ["a"]}


def recording_run(calls: list):
    def run(params, clients, check_mode, diff):
        calls.append((dict(params), type(clients).__name__, check_mode, diff))
        return {"changed": check_mode}

    return run


def test_run_gets_validated_params_check_mode_and_diff_only_if_the_module_diffs():
    calls: list = []
    diffing = ModuleSpec(ROLE_INFO_OPTIONS, recording_run(calls))
    quiet = ModuleSpec(ROLE_INFO_OPTIONS, recording_run(calls), diff=False)
    assert execute(diffing, {"role_name": "r"}, "m", check_mode=True, diff=True)["changed"] is True
    execute(quiet, {"name": "r"}, "m", check_mode=False, diff=True)
    (params, clients, check_mode, diff), quiet_call = calls
    quiet_diff = quiet_call[3]
    assert params["name"] == "r"
    assert params["validate_certs"] is True
    assert clients == "ControllerClients"
    assert (check_mode, diff, quiet_diff) == (True, True, False)


def test_validation_errors_never_reach_run():
    calls: list = []
    result = execute(ModuleSpec(ROLE_INFO_OPTIONS, recording_run(calls)), {"bad": 1}, "m", False, False)
    assert result["failed"] is True
    assert calls == []


def raising(err: Exception):
    def run(params, clients, check_mode, diff):
        raise err

    return run


def test_collection_errors_become_the_modules_failure_fields():
    err = AwsApiError(
        f"GetRole failed with AccessDenied for {SECRET}", code="AccessDenied", operation="GetRole"
    )
    args = {"name": "r", "secret_key": SECRET, "access_key": "AKIAX"}
    result = execute(ModuleSpec(ROLE_INFO_OPTIONS, raising(err)), args, "m", False, False)
    assert result["failed"] is True
    assert result["msg"] == "GetRole failed with AccessDenied for ********"
    assert (result["error_code"], result["operation"]) == ("AccessDenied", "GetRole")
    assert "exception" not in result


def test_validation_errors_from_run_name_the_field():
    err = ValidationError("name", "must be short")
    result = execute(ModuleSpec(ROLE_INFO_OPTIONS, raising(err)), {"name": "r"}, "m", False, False)
    assert (result["msg"], result["field"], result["error_code"]) == (
        "name: must be short",
        "name",
        "ValidationError",
    )


def test_connection_options_are_checked_before_run():
    calls: list = []
    result = execute(
        ModuleSpec(ROLE_INFO_OPTIONS, recording_run(calls)), {"access_key": "AK"}, "m", False, False
    )
    assert result["field"] == "secret_key"
    assert calls == []


@pytest.mark.parametrize("with_traceback", [False, True])
def test_unexpected_exceptions_fail_with_the_message_and_a_traceback_only_when_asked(with_traceback):
    spec = ModuleSpec(ROLE_INFO_OPTIONS, raising(KeyError("RoleName")))
    result = execute(spec, {"name": "r"}, "m", False, False, with_traceback=with_traceback)
    assert result["failed"] is True
    assert result["msg"] == "KeyError: 'RoleName'"
    assert ("Traceback (most recent call last)" in result.get("exception", "")) is with_traceback


def test_failures_are_reported_as_module_failures():
    result = as_module_failure({"failed": True, "msg": "no"})
    if _fast_path.AnsibleModuleCapturedError is not None:
        assert result["exception"].error_type is _fast_path.AnsibleModuleCapturedError
    assert as_module_failure({"changed": False}) == {"changed": False}


def test_task_environment_applies_during_the_call_and_is_restored(monkeypatch):
    monkeypatch.setenv("AWS_PROFILE", "before")
    with task_environ({"AWS_PROFILE": "during", "AWS_REGION": "eu-west-1", "AWS_MAX_ATTEMPTS": 3}):
        assert os.environ["AWS_PROFILE"] == "during"
        assert os.environ["AWS_REGION"] == "eu-west-1"
        assert os.environ["AWS_MAX_ATTEMPTS"] == "3"
    assert os.environ["AWS_PROFILE"] == "before"
    assert "AWS_REGION" not in os.environ


def test_task_environment_is_restored_after_an_exception():
    with pytest.raises(RuntimeError), task_environ({"AWS_REGION": "eu-west-1"}):
        raise RuntimeError
    assert "AWS_REGION" not in os.environ


def test_invocation_follows_the_cores_setting(monkeypatch):
    if not INVOCATION_OPTIONAL:
        assert inject_invocation({}) is True
        return
    assert inject_invocation({}) is False
    assert inject_invocation({"ansible_inject_invocation": True}) is True


# --- aws_ca_bundle and aws_config on the fast path -------------------------------------------

PROXY_PASSWORD = "pr0xy-Passw0rd"
PROXIED = {"proxies": {"https": f"http://alice:{PROXY_PASSWORD}@proxy.example:3128"}}


def client_probe(params, clients, check_mode, diff):
    """A module whose result is what its IAM client was built with."""
    client = clients.iam
    return {
        "changed": False,
        "clients": type(clients).__name__,
        "verify": client._endpoint.http_session._verify,
        "connect_timeout": client.meta.config.connect_timeout,
        "retries": client.meta.config.retries,
    }


def test_fast_path_clients_get_the_ca_bundle_and_aws_config(tmp_path):
    bundle = tmp_path / "ca.pem"
    bundle.write_text("")
    args = {
        "region": "us-east-1",
        "aws_ca_bundle": str(bundle),
        "aws_config": {"connect_timeout": 5, "retries": {"max_attempts": 2}},
    }
    result = execute(ModuleSpec({}, client_probe), args, "m", False, False)
    assert result["clients"] == "ControllerClients"
    assert (result["verify"], result["connect_timeout"]) == (str(bundle), 5)
    assert result["retries"] == {"mode": "standard", "total_max_attempts": 3}


def test_fast_path_never_reuses_a_client_built_for_another_ca_bundle(tmp_path):
    """Models are shared across tasks, clients are not: each task's bundle reaches its client."""
    spec = ModuleSpec({}, client_probe)
    verified = []
    for name in ("one.pem", "two.pem"):
        (tmp_path / name).write_text("")
        result = execute(
            spec, {"region": "us-east-1", "aws_ca_bundle": str(tmp_path / name)}, "m", False, False
        )
        verified.append(result["verify"])
    verified.append(
        execute(spec, {"region": "us-east-1", "validate_certs": False}, "m", False, False)["verify"]
    )
    assert verified == [str(tmp_path / "one.pem"), str(tmp_path / "two.pem"), False]


def test_a_missing_ca_bundle_fails_cleanly_before_run(tmp_path):
    calls: list = []
    spec = ModuleSpec(ROLE_INFO_OPTIONS, recording_run(calls))
    result = execute(spec, {"name": "r", "aws_ca_bundle": str(tmp_path / "nope.pem")}, "m", False, False)
    assert (result["failed"], result["field"]) == (True, "aws_ca_bundle")
    assert calls == []


def test_a_proxy_password_is_censored_like_the_module_does(clients):
    clients.iam.create_role(RoleName="r", AssumeRolePolicyDocument=json.dumps({"Version": "2012-10-17"}))
    args = {
        "name": "r",
        "region": "us-east-1",
        "access_key": "AKIAX",
        "secret_key": SECRET,
        "aws_config": PROXIED,
    }
    fast, module = fast_output(iam_role_info, args), module_output(iam_role_info, args)
    assert fast == module
    assert PROXY_PASSWORD not in json.dumps(fast)
    assert fast["invocation"]["module_args"]["aws_config"]["proxies"]["https"] == (
        "http://alice:********@proxy.example:3128"
    )


def test_a_proxy_password_is_censored_in_argument_errors_on_both_paths():
    args = {"name": "r", "colour": "blue", "aws_config": PROXIED}
    fast, module = fast_output(iam_role_info, args), module_output(iam_role_info, args)
    assert fast["invocation"] == module["invocation"]
    assert PROXY_PASSWORD not in json.dumps(fast) + json.dumps(module)


def test_an_unknown_aws_config_key_fails_naming_it_on_both_paths():
    args = {"name": "r", "aws_config": {"conect_timeout": 5, **PROXIED}}
    fast, module = fast_output(iam_role_info, args), module_output(iam_role_info, args)
    assert fast["field"] == module["field"] == "aws_config.conect_timeout"
    assert fast["msg"] == module["msg"]
    assert PROXY_PASSWORD not in json.dumps(fast) + json.dumps(module)
