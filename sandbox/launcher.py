"""Start and stop the sandbox's loopback services as child processes (stdlib only).

Each service writes its port to a file once it listens; the launcher waits for that file,
records the PID, and always stops what it started (SIGTERM, then SIGKILL). Services also
get ``--exit-with-parent`` so that nothing outlives the process that started it.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

START_TIMEOUT = 30.0
STOP_TIMEOUT = 5.0
# Settings a service must not inherit from the caller: nothing real (keys, profiles, endpoints,
# Ansible configuration) leaks into the sandbox, and moto keeps its default of not loading AWS's
# managed policies (slow to start, and not what the sandbox's call counts assume).
SCRUBBED_PREFIXES = ("AWS_", "ANSIBLE_", "BOTO")
SCRUBBED_NAMES = frozenset({"MOTO_IAM_LOAD_MANAGED_POLICIES"})


def clean_environment(extra: dict[str, str] | None = None) -> dict[str, str]:
    """The caller's environment without AWS, Ansible or moto-preload settings, plus ``extra``."""
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
        return f"http://127.0.0.1:{self.port}"

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


def tail(log: Path, lines: int = 30) -> str:
    if not log.exists():
        return ""
    return "\n".join(log.read_text(errors="replace").splitlines()[-lines:])


def start_service(
    name: str, argv: list[str], workdir: Path, env: dict[str, str], timeout: float = START_TIMEOUT
) -> Service:
    """Run ``argv`` plus ``--port 0 --port-file F --exit-with-parent``; wait until it listens."""
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


def stop_recorded(workdir: Path) -> list[int]:
    """Stop services a crashed run left behind (PID files in ``workdir``); returns their PIDs."""
    stopped = []
    for pid_file in workdir.glob("*.pid"):
        with contextlib.suppress(ValueError, OSError):
            pid = int(pid_file.read_text())
            # Only a process of ours: a recycled PID must never be killed.
            if "sandbox/" in Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace"):
                os.kill(pid, 15)
                stopped.append(pid)
        pid_file.unlink(missing_ok=True)
    return stopped
