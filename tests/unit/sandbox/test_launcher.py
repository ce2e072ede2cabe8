"""sandbox/launcher.py: the one clean environment and the one process-group runner."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import launcher
import pytest

# One setting per scrubbed prefix or name, each set the way it would leak from a shell.
LEAKS = {
    "AWS_PROFILE": "production",
    "AWS_ACCESS_KEY_ID": "AKIAREALKEY",
    "AWS_ENDPOINT_URL": "https://iam.amazonaws.com",
    "ANSIBLE_CONFIG": "/etc/ansible/other.cfg",
    "BOTO_CONFIG": "/etc/boto.cfg",
    "BOTO3_SOMETHING": "1",
    "KEYLESS_AWS_FAST_PATH": "0",
    "MOLECULE_DRIVER_NAME": "docker",
    "MOTO_IAM_LOAD_MANAGED_POLICIES": "true",
}


@pytest.fixture
def leaky_shell(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in LEAKS.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("KEYLESS_TEST_KEPT", "kept")


@pytest.mark.usefixtures("leaky_shell")
def test_clean_environment_drops_every_scrubbed_setting() -> None:
    env = launcher.clean_environment()
    assert sorted(set(LEAKS) & set(env)) == []
    assert env["KEYLESS_TEST_KEPT"] == "kept"
    assert env["PATH"] == os.environ["PATH"]


@pytest.mark.usefixtures("leaky_shell")
def test_the_fast_path_switch_of_a_shell_never_reaches_a_child() -> None:
    # The bench's fast-path subject once ran the module path when a shell had this set.
    assert "KEYLESS_AWS_FAST_PATH" not in launcher.clean_environment()


@pytest.mark.usefixtures("leaky_shell")
def test_a_caller_adds_what_it_needs_explicitly() -> None:
    env = launcher.clean_environment({"KEYLESS_AWS_FAST_PATH": "1", "AWS_REGION": "eu-west-1"})
    assert (env["KEYLESS_AWS_FAST_PATH"], env["AWS_REGION"]) == ("1", "eu-west-1")
    assert "AWS_PROFILE" not in env


def python(code: str) -> list[str]:
    return [sys.executable, "-c", code]


def test_run_returns_status_and_both_streams(tmp_path: Path) -> None:
    code = "import sys; print('to stdout'); print('to stderr', file=sys.stderr); sys.exit(3)"
    finished = launcher.run(python(code), os.environ, tmp_path, timeout=30)
    assert (finished.rc, finished.stdout, finished.stderr) == (3, "to stdout\n", "to stderr\n")
    assert finished.seconds > 0


def test_run_can_interleave_stderr_into_stdout(tmp_path: Path) -> None:
    code = "import sys; print('one', flush=True); print('two', file=sys.stderr, flush=True)"
    finished = launcher.run(python(code), os.environ, tmp_path, timeout=30, merge_stderr=True)
    assert (finished.stdout, finished.stderr) == ("one\ntwo\n", "")


def test_run_uses_the_given_environment_and_directory(tmp_path: Path) -> None:
    code = "import os; print(os.getcwd(), os.environ.get('ONLY_HERE'))"
    finished = launcher.run(python(code), {**os.environ, "ONLY_HERE": "yes"}, tmp_path, timeout=30)
    assert finished.stdout.split() == [str(tmp_path), "yes"]


# A child that starts a grandchild (as ansible-playbook forks workers), records its PID, and
# hangs. The grandchild's output goes elsewhere and it outlives the child, so only killing the
# process group stops both in time.
HANGS = """
import subprocess, sys, time
worker = subprocess.Popen(["sleep", "600"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
open(sys.argv[1], "w").write(str(worker.pid))
time.sleep(60)
"""


def test_a_timeout_kills_the_whole_process_group(tmp_path: Path) -> None:
    pid_file = tmp_path / "worker.pid"
    started = time.monotonic()
    with pytest.raises(subprocess.TimeoutExpired):
        launcher.run([*python(HANGS), str(pid_file)], os.environ, tmp_path, timeout=3)
    waited = time.monotonic() - started
    assert not launcher.outlived(int(pid_file.read_text()))
    assert waited < 30, "run() waited for the child instead of killing it"


def test_outlived_tells_a_survivor_and_kills_it() -> None:
    survivor = subprocess.Popen(["sleep", "600"])
    reaped = subprocess.Popen(["true"])
    reaped.wait()
    zombie = subprocess.Popen(["true"])  # ended, but not waited for yet
    while Path(f"/proc/{zombie.pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z":
        time.sleep(0.01)
    try:
        assert launcher.outlived(survivor.pid, grace=0.2)
        assert survivor.wait(timeout=5) == -9
        assert not launcher.outlived(reaped.pid, grace=0.2)
        assert not launcher.outlived(zombie.pid, grace=0.2)
    finally:
        survivor.kill()
        survivor.wait()
        zombie.wait()


class Recorded(launcher.Started):
    """Records what Started calls; ``_start`` fails when told to."""

    def __init__(self, fail: bool = False) -> None:
        self.calls: list[str] = []
        self.fail = fail

    def _start(self) -> None:
        self.calls.append("_start")
        if self.fail:
            raise RuntimeError("no port")

    def stop(self) -> None:
        self.calls.append("stop")


def test_started_stops_what_a_failed_start_left_and_passes_the_error_on() -> None:
    thing = Recorded(fail=True)
    with pytest.raises(RuntimeError, match="no port"):
        thing.start()
    assert thing.calls == ["_start", "stop"]


def test_started_as_a_context_manager_always_stops() -> None:
    thing = Recorded()
    with pytest.raises(KeyError), thing as entered:
        assert entered is thing
        assert thing.calls == ["_start"]
        raise KeyError("in the block")
    assert thing.calls == ["_start", "stop"]
