"""The child processes of the sandbox, the tests and the bench (stdlib only).

- ``clean_environment``: the one environment every child starts from (one scrub list);
- ``start_service``/``start_aws_server``: loopback services. Each writes its port to a file
  once it listens; the launcher waits for that file, records the PID, and always stops what it
  started (SIGTERM, then SIGKILL). Services also get ``--exit-with-parent`` so that nothing
  outlives the process that started it;
- ``run``: a command that runs to its end (``ansible-playbook``, ``molecule``) in a process
  group of its own, killed whole on a timeout or an interrupt.
"""

from __future__ import annotations

import abc
import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Self

SANDBOX = Path(__file__).resolve().parent
START_TIMEOUT = 30.0
STOP_TIMEOUT = 5.0
# Settings no child may inherit from the caller: nothing real (keys, profiles, endpoints,
# Ansible or molecule configuration) leaks into the sandbox, a test or a measured run; no
# ``KEYLESS_AWS_FAST_PATH=0`` in a shell turns the fast path off behind a caller's back; and
# moto keeps its default of not loading AWS's managed policies (slow to start, and not what
# the sandbox's call counts assume). A caller that wants one of these passes it in ``extra``.
SCRUBBED_PREFIXES = ("AWS_", "ANSIBLE_", "BOTO", "KEYLESS_AWS_", "MOLECULE_")
SCRUBBED_NAMES = frozenset({"MOTO_IAM_LOAD_MANAGED_POLICIES"})
# What services additionally drop: coverage.py's settings (COVERAGE_PROCESS_START, ...).
SERVICE_SCRUBBED_PREFIXES = ("COVERAGE_",)


def clean_environment(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """The caller's environment without the scrubbed settings above, plus ``extra``."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(SCRUBBED_PREFIXES) and key not in SCRUBBED_NAMES
    }
    env.update(extra or {})
    return env


@dataclass
class Service:
    """A running loopback service."""

    name: str
    process: subprocess.Popen[bytes]
    port: int
    log: Path
    port_file: Path
    pid_file: Path | None = None

    @property
    def url(self) -> str:
        """Where it listens: the endpoint for clients (``http://127.0.0.1:PORT``)."""
        return f"http://127.0.0.1:{self.port}"

    def output(self) -> str:
        """Everything the service has written to its log so far."""
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def stop(self, timeout: float = STOP_TIMEOUT) -> None:
        """SIGTERM, then SIGKILL after ``timeout``; safe to call twice."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
        self.process.wait()
        if self.pid_file is not None:
            self.pid_file.unlink(missing_ok=True)


class Started(abc.ABC):
    """Something started and always stopped: ``with`` runs ``start()`` and then ``stop()``.

    ``start()`` runs the subclass's ``_start()``; should that fail part-way, ``stop()`` undoes
    what it did start before the error goes on.
    """

    @abc.abstractmethod
    def _start(self) -> None:
        """Start everything; what was started by the time of an error must be stoppable."""

    @abc.abstractmethod
    def stop(self) -> None:
        """Stop whatever is running; safe to call after a partial start, and twice."""

    def start(self) -> None:
        try:
            self._start()
        except BaseException:
            self.stop()
            raise

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def tail(log: Path, lines: int = 30) -> str:
    if not log.exists():
        return ""
    return "\n".join(log.read_text(errors="replace").splitlines()[-lines:])


def start_service(
    name: str, argv: list[str], workdir: Path, env: dict[str, str], timeout: float = START_TIMEOUT
) -> Service:
    """Run ``argv`` plus ``--port 0 --port-file F --exit-with-parent``; wait until it listens.

    Services (the AWS stand-in, the metadata emulator) never run under the coverage of a test
    run: they are not the code measured, and tracing them made moto too slow to answer.
    """
    env = {key: value for key, value in env.items() if not key.startswith(SERVICE_SCRUBBED_PREFIXES)}
    workdir.mkdir(parents=True, exist_ok=True)
    port_file, log = workdir / f"{name}.port", workdir / f"{name}.log"
    port_file.unlink(missing_ok=True)
    command = [
        *argv,
        "--host",
        "127.0.0.1",
        "--port",
        "0",
        "--port-file",
        str(port_file),
        "--exit-with-parent",
    ]
    with log.open("wb") as handle:
        process = subprocess.Popen(
            command, stdin=subprocess.DEVNULL, stdout=handle, stderr=subprocess.STDOUT, env=env, cwd=workdir
        )
    service = Service(name=name, process=process, port=0, log=log, port_file=port_file)
    try:
        service.port = _wait_for_port(service, timeout)
    except BaseException:
        service.stop()
        raise
    service.pid_file = workdir / f"{name}.pid"
    service.pid_file.write_text(f"{process.pid}\n")
    return service


def start_aws_server(
    workdir: Path,
    preload: str = "",
    quiet: bool = True,
    python: str = sys.executable,
    timeout: float = START_TIMEOUT,
    bad_day: str = "off",
) -> Service:
    """``aws_server.py`` (moto and the call recorder), ``preload`` being e.g. ``"iam,ec2"``.

    ``bad_day`` is the server's ``--bad-day`` spec (sandbox/bad_day.py): ``off``, ``realistic``, ...
    """
    argv = [python, str(SANDBOX / "aws_server.py"), *["--quiet"] * quiet, "--bad-day", bad_day]
    argv += ["--preload", preload] if preload else []
    return start_service("aws_server", argv, workdir, clean_environment(), timeout)


def _wait_for_port(service: Service, timeout: float) -> int:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if service.port_file.exists():
            return int(service.port_file.read_text())
        if service.process.poll() is not None:
            raise RuntimeError(
                f"{service.name} exited with {service.process.returncode}:\n{tail(service.log)}"
            )
        time.sleep(0.02)
    raise RuntimeError(f"{service.name} did not listen within {timeout:.0f} s:\n{tail(service.log)}")


def _running(pid: int) -> bool:
    """Alive: a zombie waiting for its reaper has already ended."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, IndexError):
        return False
    return state != "Z"


def outlived(pid: int, grace: float = 5.0) -> bool:
    """Whether ``pid`` is still running after ``grace`` seconds; if so, it is SIGKILLed.

    For checks that nothing outlives what started it, which leave no stray process behind
    when they fail.
    """
    deadline = time.monotonic() + grace
    while _running(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    if not _running(pid):
        return False
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)
    return True


def stop_recorded(workdir: Path) -> list[int]:
    """Stop services a crashed run left behind (PID files in ``workdir``); returns their PIDs."""
    stopped = []
    for pid_file in workdir.glob("*.pid"):
        with contextlib.suppress(ValueError, OSError):
            pid = int(pid_file.read_text())
            # Only a process of ours: a recycled PID must never be killed.
            if "sandbox/" in Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace"):
                os.kill(pid, signal.SIGTERM)
                stopped.append(pid)
        pid_file.unlink(missing_ok=True)
    return stopped


@dataclass(frozen=True)
class Finished:
    """What a command left: its exit status, its output and how long it took."""

    rc: int
    stdout: str
    stderr: str
    seconds: float

    def __str__(self) -> str:
        streams = f"--- stdout\n{self.stdout}\n--- stderr\n{self.stderr}"
        return f"rc={self.rc} after {self.seconds:.1f} s\n{streams}"


def run(
    command: list[str],
    env: Mapping[str, str],
    cwd: Path,
    timeout: float,
    merge_stderr: bool = False,
) -> Finished:
    """Run ``command`` to its end in a session of its own; ``merge_stderr`` interleaves both.

    On a timeout (``subprocess.TimeoutExpired``) or an interrupt the whole process group is
    killed, so ansible-playbook's forked workers and the modules they run go with it.
    """
    start = time.perf_counter()
    process = subprocess.Popen(
        command,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT if merge_stderr else subprocess.PIPE,
        env=dict(env),
        cwd=cwd,
        start_new_session=True,
    )
    try:
        stdout, stderr = process.communicate(timeout=timeout)
    except BaseException:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.communicate()
        raise
    return Finished(
        process.returncode,
        stdout.decode(errors="replace"),
        (stderr or b"").decode(errors="replace"),
        time.perf_counter() - start,
    )
