"""Test-only callback: per task, the AWS calls the server recorded and what AWS holds after it.

Enabled by ``steps.py`` (``ANSIBLE_CALLBACKS_ENABLED=aws_steps``) for the playbooks whose every
step a test checks. For each task it writes one JSON line to ``KEYLESS_TEST_STEPS_FILE``: the
task's name and action, whether it ran in check mode, changed or failed, the operations the
server recorded while it ran, and, after a keyless.aws task that changed something or made a
mutating call outside check mode, every role, profile and instance read with boto3 from the server
(``aws_state.world``). The callback runs in the controller between tasks (linear strategy, one
host), so nothing else calls the server while it reads; its own reads are left out of the next
task's calls.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

from ansible.plugins.callback import CallbackBase

HERE = Path(__file__).resolve().parent.parent
for directory in (HERE, HERE.parents[1] / "sandbox"):
    if str(directory) not in sys.path:
        sys.path.insert(0, str(directory))

import aws_state  # noqa: E402
import awscalls  # noqa: E402

DOCUMENTATION = """
name: aws_steps
type: aggregate
short_description: The AWS calls of each task and the AWS state after each apply (tests only)
description: See the module docstring.
"""

STEPS_FILE = "KEYLESS_TEST_STEPS_FILE"
ENDPOINT = "KEYLESS_TEST_ENDPOINT"
# The modules that change AWS; their _info siblings only read.
MUTATING_MODULES = frozenset({"iam_role", "iam_role_policy", "iam_instance_profile", "ec2_instance"})


def module_name(action: str) -> str:
    return action.rpartition(".")[2]


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "aggregate"
    CALLBACK_NAME = "aws_steps"
    CALLBACK_NEEDS_ENABLED = True

    def __init__(self) -> None:
        super().__init__()
        self._endpoint = os.environ[ENDPOINT]
        self._file = Path(os.environ[STEPS_FILE])
        self._seen = 0

    def v2_playbook_on_task_start(self, task: Any, is_conditional: bool) -> None:
        self._seen = len(awscalls.fetch_calls(self._endpoint))

    def _step(self, result: Any, failed: bool = False, skipped: bool = False) -> None:
        task, answer = result.task, result.result
        calls = awscalls.fetch_calls(self._endpoint)[self._seen :]
        module = module_name(task.resolved_action or task.action)
        check_mode = bool(task.check_mode)
        changed = bool(answer.get("changed"))
        mutating = [call["operation"] for call in awscalls.mutating_calls(calls)]
        state = None
        # After an apply that changed something, or called AWS to (a failed one may have).
        if module in MUTATING_MODULES and (changed or mutating) and not check_mode:
            state = aws_state.world(self._endpoint)
        step = {
            "task": task.get_name(),
            "module": module,
            "check_mode": check_mode,
            "changed": changed,
            "failed": failed,
            "skipped": skipped,
            "operations": [call["operation"] for call in calls],
            "mutating": mutating,
            "state": state,
        }
        with self._file.open("a") as steps:
            steps.write(json.dumps(step) + "\n")
        self._seen = len(awscalls.fetch_calls(self._endpoint))

    def v2_runner_on_ok(self, result: Any) -> None:
        self._step(result)

    def v2_runner_on_failed(self, result: Any, ignore_errors: bool = False) -> None:
        self._step(result, failed=True)

    def v2_runner_on_skipped(self, result: Any) -> None:
        self._step(result, skipped=True)
