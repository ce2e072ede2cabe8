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


@dataclass
class Service:
    """A running loopback service."""

    name: str
    process: subprocess.Popen[bytes]
    port: int
    log: Path
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
    service = Service(name=name, process=process, port=0, log=log)
    try:
        service.port = _wait_for_port(service, port_file, timeout)
    except BaseException:
        service.stop()
        raise
    service.pid_file = workdir / f"{name}.pid"
    service.pid_file.write_text(f"{process.pid}\n")
    return service


def _wait_for_port(service: Service, port_file: Path, timeout: float) -> int:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if port_file.exists():
            return int(port_file.read_text())
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
