"""One playbook run with every task's AWS calls and the AWS state after each apply recorded.

``callback_plugins/aws_steps.py`` writes a line per task; ``run_steps`` turns them into
``Steps``. Tests use it to check each step of a playbook that applies and checks in turn:
check mode made no mutating call, and what AWS holds after an apply is what the task asked.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from recap import play_recap

CALLBACKS = Path(__file__).parent / "callback_plugins"


@dataclass
class Steps:
    """The recorded tasks of one run, in order; ``steps["Task name"]`` is the last one so named."""

    recorded: list[dict[str, Any]]
    result: Any  # the run's launcher.Finished (rc, stdout, stderr)

    @property
    def recap(self) -> dict[str, int]:
        """localhost's counts in the PLAY RECAP."""
        return play_recap(self.result.stdout)["localhost"]

    def __iter__(self) -> Iterator[dict[str, Any]]:
        return iter(self.recorded)

    def __getitem__(self, task: str) -> dict[str, Any]:
        named = [step for step in self.recorded if step["task"] == task]
        if not named:
            raise KeyError(f"no task named {task!r}; recorded: {[step['task'] for step in self.recorded]}")
        return named[-1]

    def state_after(self, task: str) -> dict[str, Any]:
        """What AWS held right after ``task`` (an apply that changed something or called AWS to)."""
        state = self[task]["state"]
        assert state is not None, f"{task!r} made no change outside check mode: {self[task]}"
        return state

    def changed(self) -> list[str]:
        """The names of the tasks that reported a change, in order."""
        return [step["task"] for step in self.recorded if step["changed"]]

    def check_mode(self) -> dict[str, list[str]]:
        """Task name -> the mutating calls it made, for every keyless.aws task run in check mode."""
        return {step["task"]: step["mutating"] for step in self.recorded if step["check_mode"]}


def run_steps(run_playbook: Any, aws: Any, tmp_path: Path, playbook: Path, **kwargs: Any) -> Steps:
    """``run_playbook(playbook, **kwargs)`` with the aws_steps callback on.

    The run's success is not asserted here: a test asserts what the server saw first (check-mode
    calls, the state after each apply), so a failure names what went wrong on the server, and
    ``steps.result.rc`` after that.
    """
    steps_file = tmp_path / f"steps-{playbook.stem}-{len(list(tmp_path.glob('steps-*')))}.jsonl"
    env = {
        "ANSIBLE_CALLBACK_PLUGINS": str(CALLBACKS),
        "ANSIBLE_CALLBACKS_ENABLED": "aws_steps",
        "KEYLESS_TEST_STEPS_FILE": str(steps_file),
        "KEYLESS_TEST_ENDPOINT": aws.url,
        **kwargs.pop("env", {}),
    }
    result = run_playbook(playbook, env=env, **kwargs)
    recorded = [json.loads(line) for line in steps_file.read_text().splitlines()]
    return Steps(recorded, result)
