"""When the fast path applies: switch, connection, interpreter, async and become."""

from __future__ import annotations

import dataclasses
import sys

import pytest

from ansible_collections.keyless.aws.plugins.plugin_utils import _fast_path
from ansible_collections.keyless.aws.plugins.plugin_utils._fast_path import (
    TaskFacts,
    fast_path_applies,
    interpreter_allows,
    same_interpreter,
    switched_on,
)

ON_THE_CONTROLLER = TaskFacts(transport="local", interpreter=sys.executable, is_async=False, become=False)


@pytest.mark.parametrize(
    ("switch_var", "switch_env", "expected"),
    [
        (None, None, True),
        (None, "", True),
        (None, "1", True),
        (None, "yes", True),
        (None, "0", False),
        (None, "false", False),
        (None, "off", False),
        (True, None, True),
        ("true", None, True),
        (False, None, False),
        ("no", None, False),
        ("maybe", None, False),  # unreadable: the safe way is the module
        (True, "0", False),  # the environment turns it off for the whole run
        (False, "1", False),
    ],
)
def test_switch(switch_var, switch_env, expected):
    assert switched_on(switch_var, switch_env) is expected


def test_the_controller_itself_takes_the_fast_path():
    assert fast_path_applies(ON_THE_CONTROLLER)
    assert fast_path_applies(dataclasses.replace(ON_THE_CONTROLLER, transport="ansible.builtin.local"))


@pytest.mark.parametrize(
    "change",
    [
        {"transport": "ssh"},
        {"transport": "paramiko"},
        {"transport": None},
        {"is_async": True},
        {"become": True},
        {"switch_var": False},
        {"switch_env": "0"},
        {"interpreter": "/usr/bin/python3-that-is-not-us"},
    ],
    ids=lambda change: next(iter(change.items())).__repr__(),
)
def test_anything_else_executes_the_module(change):
    assert not fast_path_applies(dataclasses.replace(ON_THE_CONTROLLER, **change))


@pytest.fixture
def pythons(tmp_path):
    """A base interpreter and a venv whose bin/ links to it, as ``python -m venv`` makes them."""
    base = tmp_path / "base" / "bin"
    base.mkdir(parents=True)
    (base / "python3.11").write_text("")
    venv = tmp_path / "venv" / "bin"
    venv.mkdir(parents=True)
    (venv / "python").symlink_to(base / "python3.11")
    (venv / "python3").symlink_to("python")
    (tmp_path / "venv-link").symlink_to(tmp_path / "venv")
    return tmp_path


def test_same_interpreter_is_the_same_environment_not_just_the_same_binary(pythons):
    own = str(pythons / "venv" / "bin" / "python")
    assert same_interpreter(str(pythons / "venv" / "bin" / "python3"), own)
    assert same_interpreter(str(pythons / "venv-link" / "bin" / "python"), own)
    # Same binary once resolved, but started from outside the venv: no venv packages there.
    assert not same_interpreter(str(pythons / "base" / "bin" / "python3.11"), own)


@pytest.mark.parametrize("path", ["", "python3", "bin/python", "/no/such/python", "/usr/bin/env python3"])
def test_paths_that_cannot_be_the_controller_python(path):
    assert not same_interpreter(path, sys.executable)


@pytest.mark.parametrize(
    "interpreter", [None, "", "auto", "auto_silent", "auto_legacy", " auto_legacy_silent "]
)
def test_discovery_takes_the_fast_path_only_if_the_controller_has_boto3(monkeypatch, interpreter):
    monkeypatch.setattr(_fast_path, "controller_has_boto3", lambda: True)
    assert interpreter_allows(interpreter)
    monkeypatch.setattr(_fast_path, "controller_has_boto3", lambda: False)
    assert not interpreter_allows(interpreter)


def test_an_explicit_interpreter_must_be_ours_even_if_boto3_is_here(monkeypatch):
    monkeypatch.setattr(_fast_path, "controller_has_boto3", lambda: True)
    assert interpreter_allows(sys.executable)
    assert not interpreter_allows("/usr/bin/python3", executable="/opt/venv/bin/python")


def test_controller_has_boto3_in_the_test_venv():
    assert _fast_path.controller_has_boto3()
