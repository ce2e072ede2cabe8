"""Helpers for tests/molecule/test_awscli_role.py: environments, runs, a fake AWS CLI v2 bundle.

Everything stays on this host: the fake bundle is served from 127.0.0.1, and every run gets a
temporary HOME so that nothing can read or write the real ~/.aws.
"""
from __future__ import annotations

import os
import pwd
import re
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import launcher
from recap import play_recap

REPO = Path(__file__).resolve().parents[2]
ROLE_DIR = REPO / "roles" / "awscli"
PLAYBOOK = REPO / "tests" / "awscli_playbook.yml"
COLLECTIONS_PATH = REPO / ".build" / "collections"
# The tools of the interpreter running pytest, whichever virtualenv that is.
BIN_DIR = Path(sys.executable).parent
RUN_TIMEOUT = 300.0

_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
HOST = "localhost"  # the only host of the inventory (-i localhost,)
# The PATH of a role run: a fresh Debian's. Neither this virtualenv nor pyenv is on it: both ship
# an `aws`, which the auto method would keep. A test puts its fake commands in front.
SYSTEM_PATH = ("/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin", "/sbin", "/bin")


@dataclass(frozen=True)
class Result:
    rc: int
    output: str
    seconds: float

    def recap(self) -> dict[str, int]:
        """The host's counters in the last PLAY RECAP (ok, changed, failed, ...)."""
        hosts = play_recap(self.output)
        assert HOST in hosts, f"no PLAY RECAP for {HOST} in the output:\n{self.output}"
        return hosts[HOST]

    def task_status(self, name: str) -> str:
        """ok, changed, skipping, fatal... of the first run of the role task called ``name``."""
        match = re.search(rf"TASK \[keyless\.aws\.awscli : {re.escape(name)}\][^\n]*\n(\w+)", self.output)
        assert match, f"task {name!r} not in the output:\n{self.output}"
        return match.group(1).rstrip(":")

    def __str__(self) -> str:
        return f"rc={self.rc} after {self.seconds:.1f} s\n{self.output}"


def real_home() -> Path:
    """The home directory of the user running the tests, whatever HOME says."""
    return Path(pwd.getpwuid(os.getuid()).pw_dir)


def tree_state(path: Path) -> dict[str, tuple[int, int]]:
    """Every entry under ``path`` (and ``path`` itself) with its mtime and size: {} if absent."""
    if not path.exists():
        return {}
    entries = [path, *sorted(path.rglob("*"))]
    return {str(entry): (entry.lstat().st_mtime_ns, entry.lstat().st_size) for entry in entries}


def isolated_env(workdir: Path, path: Sequence[str | Path] | None = None) -> dict[str, str]:
    """The environment of every run: a temporary HOME, and ``path`` as PATH (by default the tools
    of this interpreter, then the caller's PATH)."""
    home, tmp = workdir / "home", workdir / "tmp"
    home.mkdir(parents=True, exist_ok=True)
    tmp.mkdir(parents=True, exist_ok=True)
    search_path = [BIN_DIR, os.environ.get("PATH", "")] if path is None else path
    env = launcher.clean_environment({
        "PATH": os.pathsep.join(str(directory) for directory in search_path),
        "HOME": str(home),
        # The role's temporary directories land here, where a test can see they were removed.
        "TMPDIR": str(tmp),
        "ANSIBLE_COLLECTIONS_PATH": str(COLLECTIONS_PATH),
        "ANSIBLE_NOCOLOR": "1",
        "ANSIBLE_FORCE_COLOR": "0",
        "ANSIBLE_LOCALHOST_WARNING": "False",
        "ANSIBLE_INVENTORY_UNPARSED_WARNING": "False",
        "ANSIBLE_RETRY_FILES_ENABLED": "False",
        "NO_COLOR": "1",
        "PY_COLORS": "0",
        "NO_PROXY": "127.0.0.1,localhost",
        "no_proxy": "127.0.0.1,localhost",
        # The pip method downloads awscli once per scenario run: keep the wheels between runs,
        # outside the temporary HOME and the real one.
        "PIP_CACHE_DIR": str(REPO / ".build" / "cache" / "pip"),
        "PIP_DISABLE_PIP_VERSION_CHECK": "1",
    })
    # pip still reads the user's own configuration (an index mirror, for instance).
    for candidate in (real_home() / ".config" / "pip" / "pip.conf", real_home() / ".pip" / "pip.conf"):
        if "PIP_CONFIG_FILE" not in env and candidate.is_file():
            env["PIP_CONFIG_FILE"] = str(candidate)
    return env


def run(command: list[str], env: dict[str, str], cwd: Path = REPO,
        timeout: float = RUN_TIMEOUT) -> Result:
    """Run ``command`` in a session of its own (a timeout kills its children too)."""
    finished = launcher.run(command, env, cwd, timeout, merge_stderr=True)
    return Result(finished.rc, _ANSI.sub("", finished.stdout), finished.seconds)


def playbook(workdir: Path, *args: str, path_first: Sequence[Path] = (),
             environment: Mapping[str, str] | None = None, **extra_vars: str) -> Result:
    """tests/awscli_playbook.yml on localhost (a local connection), with the role's variables as extra vars.

    The run's PATH is ``path_first`` followed by SYSTEM_PATH; ``environment`` adds variables.
    """
    command = [str(BIN_DIR / "ansible-playbook"), "-i", "localhost,", "-c", "local", str(PLAYBOOK),
               "-e", f"ansible_python_interpreter={sys.executable}", *args]
    for key, value in extra_vars.items():
        command += ["-e", f"{key}={value}"]
    return run(command, {**isolated_env(workdir, [*path_first, *SYSTEM_PATH]), **(environment or {})})


def fake_command(directory: Path, name: str, script: str) -> Path:
    """An executable shell script ``directory/name`` running ``script``; returns its path."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / name
    path.write_text(f"#!/bin/sh\n{script}")
    path.chmod(0o755)
    return path
