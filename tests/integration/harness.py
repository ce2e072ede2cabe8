"""Helpers for integration tests: real ``ansible-playbook`` runs against the recording AWS server.

The server itself is ``sandbox/launcher.py``'s ``start_aws_server``: a ``launcher.Service``
whose ``url`` is the endpoint; ``sandbox/awscalls.py`` reads and resets what it recorded.
"""
from __future__ import annotations

import contextlib
import itertools
import json
import os
import socket
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import launcher

REPO = Path(__file__).resolve().parents[2]
SANDBOX = REPO / "sandbox"
COLLECTIONS_PATH = REPO / ".build" / "collections"
ANSIBLE_PLAYBOOK = Path(sys.executable).parent / "ansible-playbook"

REGION = "us-east-1"
# The example key pair from the AWS documentation: moto accepts any key, AWS accepts neither.
ACCESS_KEY = "AKIAIOSFODNN7EXAMPLE"
SECRET_KEY = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"

# How keyless.aws modules run (their action plugins read this on the controller): "fast" runs
# them in the controller process, "module" as ordinary modules. None keeps the default (fast).
FAST_PATH_ENV = "KEYLESS_AWS_FAST_PATH"
EXECUTION_PATHS = ("fast", "module")

PLAYBOOK_TIMEOUT = 300.0


def port_is_open(port: int, host: str = "127.0.0.1") -> bool:
    with contextlib.suppress(OSError), socket.create_connection((host, port), timeout=1):
        return True
    return False


# --- ansible-playbook -----------------------------------------------------------------------

def playbook_env(workdir: Path, overrides: dict[str, str] | None = None) -> dict[str, str]:
    """An environment with no AWS credentials or Ansible settings of the caller's."""
    home = workdir / "home"
    for path in (home, workdir / "ansible-local", workdir / "ansible-remote"):
        path.mkdir(parents=True, exist_ok=True)
    return launcher.clean_environment({
        "PATH": f"{ANSIBLE_PLAYBOOK.parent}{os.pathsep}{os.environ.get('PATH', '')}",
        "HOME": str(home),
        "ANSIBLE_HOME": str(home / ".ansible"),
        "ANSIBLE_COLLECTIONS_PATH": str(COLLECTIONS_PATH),
        "ANSIBLE_LOCAL_TEMP": str(workdir / "ansible-local"),
        "ANSIBLE_REMOTE_TEMP": str(workdir / "ansible-remote"),
        "ANSIBLE_STDOUT_CALLBACK": "ansible.builtin.default",
        "ANSIBLE_FORCE_COLOR": "0",
        "ANSIBLE_NOCOLOR": "1",
        "ANSIBLE_HOST_KEY_CHECKING": "False",
        "ANSIBLE_LOCALHOST_WARNING": "False",
        "ANSIBLE_INVENTORY_UNPARSED_WARNING": "False",
        "ANSIBLE_RETRY_FILES_ENABLED": "False",
        # Only the files below may feed botocore: a developer's ~/.aws is never read.
        "AWS_CONFIG_FILE": str(workdir / "no-aws-config"),
        "AWS_SHARED_CREDENTIALS_FILE": str(workdir / "no-aws-credentials"),
        "AWS_EC2_METADATA_DISABLED": "true",
        "NO_PROXY": "127.0.0.1,localhost",
        "no_proxy": "127.0.0.1,localhost",
        **(overrides or {}),
    })


def execution_path_env(path: str | None) -> dict[str, str]:
    """The controller environment that selects an execution path (empty for the default)."""
    if path is None:
        return {}
    if path not in EXECUTION_PATHS:
        raise ValueError(f"execution path must be one of {EXECUTION_PATHS}, not {path!r}")
    return {FAST_PATH_ENV: "1" if path == "fast" else "0"}


def base_extra_vars(endpoint: str) -> dict[str, Any]:
    return {
        "aws_endpoint": endpoint,
        "aws_region": REGION,
        "aws_access_key": ACCESS_KEY,
        "aws_secret_key": SECRET_KEY,
        "ansible_python_interpreter": sys.executable,
    }


@dataclass(frozen=True)
class PlaybookCommand:
    """One ``ansible-playbook`` run as ``PlaybookRunner`` would start it, for a test that starts it itself."""

    argv: list[str]
    env: dict[str, str]
    cwd: Path


@dataclass
class PlaybookRunner:
    """``run_playbook(...)``: ``ansible-playbook`` against one endpoint, in one work dir.

    ``path`` ("fast", "module" or None) picks how keyless.aws modules run; ``env`` overrides it.
    """

    endpoint: str
    workdir: Path
    timeout: float = PLAYBOOK_TIMEOUT
    path: str | None = None
    _counter: itertools.count[int] = field(default_factory=itertools.count)

    def command(self, playbook: Path, extra_vars: dict[str, Any] | None = None, check: bool = False,
                diff: bool = False, verbosity: int = 0,
                env: dict[str, str] | None = None) -> PlaybookCommand:
        """The ``ansible-playbook`` command line, environment and run directory of one run."""
        run_dir = self.workdir / f"run{next(self._counter)}"
        run_dir.mkdir(parents=True)
        vars_file = run_dir / "extra_vars.json"
        vars_file.write_text(json.dumps({**base_extra_vars(self.endpoint), **(extra_vars or {})}))
        argv = [str(ANSIBLE_PLAYBOOK), "-i", "localhost,", "-c", "local", "-e", f"@{vars_file}"]
        argv += ["--check"] * check + ["--diff"] * diff
        argv += [f"-{'v' * verbosity}"] if verbosity else []
        argv.append(str(Path(playbook).resolve()))
        overrides = {**execution_path_env(self.path), **(env or {})}
        return PlaybookCommand(argv, playbook_env(self.workdir, overrides), run_dir)

    def __call__(self, playbook: Path, extra_vars: dict[str, Any] | None = None, check: bool = False,
                 diff: bool = False, verbosity: int = 0,
                 env: dict[str, str] | None = None) -> launcher.Finished:
        command = self.command(playbook, extra_vars, check, diff, verbosity, env)
        return launcher.run(command.argv, command.env, command.cwd, self.timeout)
