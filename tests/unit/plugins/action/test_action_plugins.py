"""The action plugins: one per module, the same behaviour as the module, and the two paths."""

from __future__ import annotations

import gc
import importlib
import json
import os
import sys
from pathlib import Path
from unittest import mock

import pytest
from ansible.parsing.dataloader import DataLoader
from ansible.plugins.action.normal import ActionModule as NormalAction
from ansible.template import Templar, trust_as_template
from moto import mock_aws

from ansible_collections.keyless.aws.plugins.module_utils._module import ModuleSpec
from ansible_collections.keyless.aws.plugins.plugin_utils import _fast_path

REPO = Path(__file__).resolve().parents[4]
MODULES = sorted(path.stem for path in (REPO / "plugins" / "modules").glob("*.py"))
SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"


def action_class(name: str):
    return importlib.import_module(f"ansible_collections.keyless.aws.plugins.action.{name}").ActionModule


def test_every_module_has_an_action_plugin_and_nothing_else_does():
    actions = sorted(path.stem for path in (REPO / "plugins" / "action").glob("*.py"))
    assert actions == MODULES


@pytest.mark.parametrize("name", MODULES)
def test_module_and_action_hand_over_the_same_spec(monkeypatch, name):
    """The module's main() runs exactly the spec its action plugin names: one declaration."""
    module = importlib.import_module(f"ansible_collections.keyless.aws.plugins.modules.{name}")
    handed = []
    monkeypatch.setattr(module, "run_module", handed.append)
    module.main()
    assert handed == [action_class(name).spec]
    assert isinstance(handed[0], ModuleSpec)


def make_action(name: str, args: dict, task_vars: dict | None = None, **task_settings):
    settings = {
        "action": f"keyless.aws.{name}",
        "args": args,
        "async_val": 0,
        "check_mode": False,
        "diff": False,
        "delegate_to": None,
        "environment": [],
        "no_log": False,
    }
    settings.update(task_settings)
    task = mock.MagicMock(**settings)
    connection = mock.MagicMock(transport=settings.pop("transport", "local"))
    connection._shell.env_prefix.return_value = ""
    connection._shell.tmpdir = None
    play_context = mock.MagicMock(become=False)
    loader = DataLoader()
    templar = Templar(loader=loader, variables=task_vars or {})
    return action_class(name)(task, connection, play_context, loader, templar, None)


TASK_VARS = {"ansible_python_interpreter": sys.executable}


@pytest.fixture
def no_aws_environment(monkeypatch):
    for name in list(os.environ):
        if name.startswith("AWS_") or name == _fast_path.SWITCH_ENV:
            monkeypatch.delenv(name)


@pytest.mark.usefixtures("no_aws_environment")
def test_fast_path_runs_the_module_in_process_with_the_task_environment():
    environment = {
        "AWS_ACCESS_KEY_ID": "AKIAIOSFODNN7EXAMPLE",
        "AWS_SECRET_ACCESS_KEY": SECRET,
        "AWS_REGION": "eu-west-1",
    }
    action = make_action("iam_role_info", {"name": "fast"}, environment=[environment])
    with mock_aws(), mock.patch.object(NormalAction, "run") as module_run:
        trust = json.dumps({"Version": "2012-10-17", "Statement": []})
        import boto3

        boto3.client(
            "iam", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="y"
        ).create_role(RoleName="fast", AssumeRolePolicyDocument=trust)
        # ansible-core 2.21 adds invocation only when asked; 2.19 ignores the variable.
        result = action.run(task_vars={**TASK_VARS, "ansible_inject_invocation": True})
    module_run.assert_not_called()
    assert [role["role_name"] for role in result["roles"]] == ["fast"]
    assert result["invocation"]["module_args"]["region"] == "eu-west-1"
    assert result["invocation"]["module_args"]["secret_key"] == "VALUE_SPECIFIED_IN_NO_LOG_PARAMETER"
    assert "AWS_REGION" not in os.environ, "the task environment leaked out of the task"


@pytest.mark.usefixtures("no_aws_environment")
@pytest.mark.parametrize(
    ("settings", "task_vars"),
    [
        ({"transport": "ssh"}, TASK_VARS),
        ({"async_val": 30}, TASK_VARS),
        ({}, {"ansible_python_interpreter": "/usr/bin/python3.does-not-exist"}),
        ({}, {**TASK_VARS, "keyless_aws_fast_path": False}),
        ({}, {**TASK_VARS, "keyless_aws_fast_path": trust_as_template("{{ 1 == 2 }}")}),
    ],
    ids=["ssh", "async", "other python", "switched off", "templated switch"],
)
def test_otherwise_the_module_runs_as_it_would_without_the_plugin(settings, task_vars):
    action = make_action("iam_role", {"name": "r"}, task_vars, **settings)
    with mock.patch.object(NormalAction, "run", return_value={"from": "module"}) as module_run:
        assert action.run(task_vars=task_vars) == {"from": "module"}
    module_run.assert_called_once()


def test_become_and_the_environment_switch_send_the_task_to_the_module(monkeypatch):
    action = make_action("iam_role", {"name": "r"})
    action._play_context.become = True
    assert not _fast_path.fast_path_applies(action._task_facts(TASK_VARS))
    action._play_context.become = False
    monkeypatch.setenv(_fast_path.SWITCH_ENV, "0")
    assert not _fast_path.fast_path_applies(action._task_facts(TASK_VARS))


def test_a_delegated_task_uses_the_delegated_hosts_interpreter():
    action = make_action("iam_role", {"name": "r"}, delegate_to="builder")
    task_vars = {
        **TASK_VARS,
        "ansible_delegated_vars": {"builder": {"ansible_python_interpreter": "/opt/py"}},
    }
    assert action._task_facts(task_vars).interpreter == "/opt/py"


def test_the_interpreter_variable_is_templated():
    task_vars = {"ansible_python_interpreter": trust_as_template("{{ py }}"), "py": sys.executable}
    action = make_action("iam_role", {"name": "r"}, task_vars)
    assert action._task_facts(task_vars).interpreter == sys.executable


@pytest.mark.usefixtures("no_aws_environment")
def test_clients_share_the_parsed_service_models():
    _fast_path.SERVICE_MODELS.warm(("iam",))
    loader = _fast_path.SERVICE_MODELS.loader()
    assert loader is not None
    session = _fast_path.ControllerClients({"region": "us-east-1"})._get_session()
    assert session._session.get_component("data_loader") is loader


def test_a_different_aws_data_path_gets_its_own_models(monkeypatch):
    _fast_path.SERVICE_MODELS.warm(("iam",))
    monkeypatch.setenv("AWS_DATA_PATH", "/somewhere/else")
    assert _fast_path.SERVICE_MODELS.loader() is None
    session = _fast_path.ControllerClients({"region": "us-east-1"})._get_session()
    assert session._session.get_component("data_loader") is not None


def test_warming_leaves_what_workers_inherit_alone_for_the_collector():
    # A fresh registry and nothing frozen yet: an earlier test's warm-up cannot make this pass.
    gc.unfreeze()
    assert gc.get_freeze_count() == 0
    _fast_path.ServiceModels().warm(("iam",))
    assert gc.get_freeze_count() > 0


def test_warming_never_fails_an_import(monkeypatch):
    models = _fast_path.ServiceModels()
    monkeypatch.setitem(sys.modules, "boto3", None)  # as if boto3 were not installed
    models.warm(("iam",))
    assert models.loader() is None
