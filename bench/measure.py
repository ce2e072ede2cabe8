"""One measured ``ansible-playbook`` run: wall time, CPU time, PLAY RECAP and the AWS calls.

Calls are counted by the recording server (``sandbox/aws_server.py``), between a reset of its
log just before the run and a read just after it, the same way for both collections.
"""

from __future__ import annotations

import json
import resource
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "sandbox"))
import awscalls  # noqa: E402
import launcher  # noqa: E402
from recap import play_recap  # noqa: E402

PLAYBOOK_TIMEOUT = 900.0
TIMER = "keyless_bench_timer"  # bench/callback_plugins/keyless_bench_timer.py
is_mutating = awscalls.is_mutating


@dataclass
class Run:
    """The record of one run, as written to results.json."""

    rep: int
    size: int
    workload: str
    collection: str | None
    tasks: int
    raw_s: float
    cpu_s: float
    changed: int
    calls: dict[str, int] = field(default_factory=dict)
    mutating: int = 0
    errors: int = 0
    task_s: list[float] = field(default_factory=list)


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run_playbook(command: list[str], env: dict[str, str], cwd: Path) -> tuple[float, float, str]:
    """(wall seconds, CPU seconds of the whole process tree, stdout); fails on a non-zero rc.

    The CPU time comes from the rusage of waited-for children: ansible-playbook waits for its
    workers and module processes, so their time is in it. Other engineers' load on the machine
    inflates the wall time but hardly the CPU time.
    """
    cpu_before = _children_cpu()
    result = launcher.run(command, env, cwd, PLAYBOOK_TIMEOUT)
    cpu = _children_cpu() - cpu_before
    if result.rc != 0:
        raise RuntimeError(
            f"{' '.join(command)} failed with rc={result.rc}:\n"
            f"{result.stdout[-4000:]}\n{result.stderr[-4000:]}"
        )
    return result.seconds, cpu, result.stdout


def changed_tasks(stdout: str) -> int:
    recap = play_recap(stdout)
    return sum(host.get("changed", 0) for host in recap.values())


@dataclass
class Runner:
    """Runs playbooks against one recording server with a clean environment."""

    endpoint: str
    workdir: Path
    collections_path: str
    python: str = sys.executable

    @property
    def ansible_playbook(self) -> Path:
        # Not resolved: a venv's bin/python is a symlink and the venv's scripts sit beside it.
        return Path(self.python).parent / "ansible-playbook"

    @property
    def task_times(self) -> Path:
        return self.workdir / "task-times.json"

    def read_task_times(self, tasks: int) -> list[float]:
        """The timer callback's intervals, one per task; a run that lost some is refused."""
        intervals = json.loads(self.task_times.read_text())
        self.task_times.unlink()
        if len(intervals) != tasks:
            raise RuntimeError(f"the timer callback saw {len(intervals)} tasks, expected {tasks}")
        return [float(value) for value in intervals]

    def env(self) -> dict[str, str]:
        """The sandbox's clean environment plus what a measured run needs.

        No AWS, Ansible or ``KEYLESS_AWS_`` setting of the caller's gets through: a
        ``KEYLESS_AWS_FAST_PATH=0`` in the shell would turn the fast-path subject into the module
        path, and the module-path subject sets its switch in the playbook, not here.
        """
        home = self.workdir / "home"
        home.mkdir(parents=True, exist_ok=True)
        return launcher.clean_environment(
            {
                "HOME": str(home),
                "ANSIBLE_HOME": str(home / ".ansible"),
                "ANSIBLE_LOCAL_TEMP": str(self.workdir / "ansible-local"),
                "ANSIBLE_REMOTE_TEMP": str(self.workdir / "ansible-remote"),
                "ANSIBLE_COLLECTIONS_PATH": self.collections_path,
                # Only the collections on that path: never one installed in site-packages.
                "ANSIBLE_COLLECTIONS_SCAN_SYS_PATH": "False",
                "ANSIBLE_FORKS": "1",
                "ANSIBLE_NOCOLOR": "1",
                "ANSIBLE_RETRY_FILES_ENABLED": "False",
                "ANSIBLE_LOCALHOST_WARNING": "False",
                "ANSIBLE_INVENTORY_UNPARSED_WARNING": "False",
                "ANSIBLE_CALLBACK_PLUGINS": str(REPO / "bench" / "callback_plugins"),
                "ANSIBLE_CALLBACKS_ENABLED": TIMER,
                "KEYLESS_BENCH_TASK_TIMES": str(self.task_times),
                "AWS_CONFIG_FILE": str(self.workdir / "no-aws-config"),
                "AWS_SHARED_CREDENTIALS_FILE": str(self.workdir / "no-aws-credentials"),
                "AWS_EC2_METADATA_DISABLED": "true",
                "NO_PROXY": "127.0.0.1,localhost",
                "no_proxy": "127.0.0.1,localhost",
            }
        )

    def measure(self, playbook: Path, meta: dict[str, Any]) -> Run:
        """Run ``playbook`` once; ``meta`` holds rep, size, workload, collection and tasks."""
        awscalls.reset_calls(self.endpoint)
        command = [str(self.ansible_playbook), "-i", "localhost,", "-c", "local", "-f", "1", str(playbook)]
        wall, cpu, stdout = run_playbook(command, self.env(), self.workdir)
        calls = awscalls.fetch_calls(self.endpoint)
        return Run(
            task_s=self.read_task_times(meta["tasks"]),
            **meta,
            raw_s=wall,
            cpu_s=cpu,
            changed=changed_tasks(stdout),
            calls=dict(sorted(awscalls.operation_counts(calls).items())),
            mutating=len(awscalls.mutating_calls(calls)),
            errors=sum(1 for call in calls if call.get("status", 200) >= 400),
        )
