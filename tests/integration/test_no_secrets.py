"""No secret on any path (issue 16, item 2), and the verification's private work directory (item 5).

site.yml runs on a local sandbox (moto, the metadata emulator, this machine as the instance) at
``-vvvv --diff`` with a log file, on both execution paths. Marker secrets are planted where a
user keeps them: static keys of another profile in the instance's existing ``~/.aws/config``, the
controller's own credentials in its environment, and keys given as a keyless.aws module's
options. Neither the output nor the log may hold any of them, nor the temporary credentials the
metadata service hands the instance, nor (base64) the config file: ``slurp`` prints that.
"""

from __future__ import annotations

import base64
import json
import os
import re
import secrets
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import launcher
import pytest
import yaml
from harness import ANSIBLE_PLAYBOOK, EXECUTION_PATHS, PLAYBOOK_TIMEOUT, REPO, execution_path_env
from imds_helpers import CREDENTIALS_PATH, metadata, metadata_token, role_credentials

from sandbox import Sandbox

HOST = "keyless-logs-writer"
ROLE = "logsbucket-role"


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sandbox]:
    """On a kind AWS: what is checked here is the output and the instance, not AWS's faults
    (test_bad_day and the e2e flow play those), and a bad day would only make each run longer."""
    with Sandbox(tmp_path_factory.mktemp("sandbox"), bad_day="off") as box:
        yield box


def marker(name: str) -> str:
    return f"KLMARK{name}{secrets.token_hex(12)}"


def base64_forms(secret: str) -> list[str]:
    """What ``secret`` looks like inside any base64 text, at each of the three byte alignments.

    Only the groups made of the secret's bytes alone are fixed: the first group may mix in the
    bytes before it, the last the bytes after.
    """
    raw = secret.encode()
    forms = []
    for offset in range(3):
        encoded = base64.b64encode(b"\0" * offset + raw).decode()
        forms.append(encoded[4 if offset else 0 : 4 * ((offset + len(raw)) // 3)])
    return forms


def forms(secret: str) -> tuple[str, ...]:
    return (secret, *base64_forms(secret))


def leaked(text: str, secrets_: dict[str, str]) -> list[str]:
    """The names of the secrets ``text`` holds, as they are or base64-encoded."""
    return [name for name, value in secrets_.items() if any(form in text for form in forms(value))]


def plant_config(sandbox: Sandbox, static: dict[str, str]) -> Path:
    """The instance's existing config: a profile with static keys right above [default]."""
    config = sandbox.instance_dir / "home" / ".aws" / "config"
    config.parent.mkdir(parents=True, exist_ok=True)
    config.write_text(
        "[profile ops]\n"
        f"aws_access_key_id = {static['config access key']}\n"
        f"aws_secret_access_key = {static['config secret key']}\n"
        f"aws_session_token = {static['config session token']}\n"
        "[default]\n"
        "region = eu-west-3\n"
    )
    return config


def option_keys_play(keys: dict[str, str]) -> dict[str, Any]:
    """A keyless.aws module given keys as options (unknown to AWS: it refuses them)."""
    task = {
        "name": "A module given keys as options",
        "keyless.aws.iam_role_info": {
            "name": ROLE,
            "access_key": keys["option access key"],
            "secret_key": keys["option secret key"],
            "session_token": keys["option session token"],
        },
        "vars": {"ansible_python_interpreter": "{{ ansible_playbook_python }}"},
        "ignore_errors": True,
    }
    return {"name": "Options", "hosts": "localhost", "gather_facts": False, "tasks": [task]}


# What a user debugging a later play could print: no secret may be kept there either.
LATER_PLAY = {
    "name": "Later",
    "hosts": "launched",
    "gather_facts": False,
    "tasks": [{"name": "Everything known", "ansible.builtin.debug": {"var": "hostvars[inventory_hostname]"}}],
}


def wrapper_playbook(directory: Path, flow: list[str], *plays: dict[str, Any]) -> Path:
    """The collection's playbooks named in ``flow``, then ``plays``."""
    imports = [
        {"name": name, "ansible.builtin.import_playbook": str(REPO / "playbooks" / name)} for name in flow
    ]
    playbook = directory / "no-secrets.yml"
    playbook.write_text(yaml.safe_dump([*imports, *plays], sort_keys=False))
    return playbook


@dataclass
class Run:
    finished: launcher.Finished
    log: str

    @property
    def text(self) -> str:
        return "\n".join((self.finished.stdout, self.finished.stderr, self.log))


def run_site(
    sandbox: Sandbox,
    tmp_path: Path,
    playbook: Path,
    path: str | None,
    host_vars: dict[str, Any] | None = None,
    verbosity: str = "-vvvv",
) -> Run:
    vars_file = tmp_path / "vars.json"
    extra = sandbox.extra_vars()
    # The AWS CLI of this venv (auto keeps it): no install from PyPI in a test of output.
    extra["keyless_instance_host_vars"] = {
        **sandbox.instance_host_vars(),
        "awscli_install_method": "auto",
        **(host_vars or {}),
    }
    vars_file.write_text(json.dumps(extra))
    log = tmp_path / "ansible.log"
    env = {
        **sandbox.controller_environment(),
        **execution_path_env(path),
        "PATH": f"{ANSIBLE_PLAYBOOK.parent}{os.pathsep}{os.environ.get('PATH', '')}",
        "ANSIBLE_LOG_PATH": str(log),
        "ANSIBLE_FORCE_COLOR": "0",
        "ANSIBLE_NOCOLOR": "1",
    }
    argv = [str(ANSIBLE_PLAYBOOK), "-e", f"@{vars_file}", "--diff", verbosity, str(playbook)]
    finished = launcher.run(argv, env, tmp_path, PLAYBOOK_TIMEOUT)
    return Run(finished, log.read_text(errors="replace") if log.exists() else "")


def instance_environment(sandbox: Sandbox) -> dict[str, str]:
    """The sandbox instance's, with a region: a test that runs verify_s3 without configure needs it."""
    return {**sandbox.instance_environment(), "AWS_DEFAULT_REGION": sandbox.region}


def issued_credentials(sandbox: Sandbox) -> dict[str, str]:
    """The temporary credentials the metadata emulator hands the instance now."""
    assert sandbox.imds is not None
    token = metadata_token(sandbox.imds)
    role = metadata(sandbox.imds, CREDENTIALS_PATH, token).body.strip()
    return role_credentials(sandbox.imds, role, token)


def names_with(*names: str) -> dict[str, str]:
    return {name: marker(name.replace(" ", "")) for name in names}


@pytest.mark.parametrize("path", EXECUTION_PATHS)
def test_no_secret_of_the_config_environment_or_options_at_vvvv_diff(
    sandbox: Sandbox, tmp_path: Path, path: str
) -> None:
    """Provision (keyless.aws modules on ``path``), configure (the config file), a module's options."""
    static = names_with("config access key", "config secret key", "config session token")
    options = names_with("option access key", "option secret key", "option session token")
    config = plant_config(sandbox, static)
    planted = config.read_text()
    flow = ["provision.yml", "configure.yml"]
    playbook = wrapper_playbook(tmp_path, flow, option_keys_play(options), LATER_PLAY)

    run = run_site(sandbox, tmp_path, playbook, path)

    assert run.finished.rc == 0, str(run.finished)
    assert run.log, "ANSIBLE_LOG_PATH got nothing"
    # Nothing is hidden by accident: the region changed (a diff to show), the other profile was
    # kept, and the option task reached AWS with the planted keys (which it refused).
    assert config.read_text() == planted.replace("region = eu-west-3", "region = us-east-1")
    # What --diff shows instead: the profile's own section and settings.
    assert f'"msg": "{config}: [default] region = us-east-1"' in run.finished.stdout
    assert '"hostvars[inventory_hostname]": {' in run.finished.stdout
    assert "InvalidClientTokenId" in run.text
    found = {**static, **options, "controller secret key (environment)": sandbox.admin_key[1]}
    assert leaked(run.text, found) == []
    assert base64.b64encode(planted.encode()).decode()[:40] not in run.text


def task_result(stdout: str, title: str) -> dict[str, Any]:
    """The result printed for the first host of the task named ``title`` (one line or indented)."""
    after = stdout.split(f"TASK [{title}]", 1)[1]
    shown = re.search(r"^(?:ok|changed): \[[^\]]+\] => ", after, re.MULTILINE)
    assert shown, after[:2000]
    result, _end = json.JSONDecoder().raw_decode(after[shown.end():])
    return result


class ConnectionLog:
    """A TCP listener that counts who connected and hangs up on them: a proxy nobody should use."""

    def __init__(self) -> None:
        self.server = socket.create_server(("127.0.0.1", 0))
        self.port = self.server.getsockname()[1]
        self.connections = 0
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    def _accept(self) -> None:
        while True:
            try:
                connection = self.server.accept()[0]
            except OSError:
                return
            self.connections += 1
            connection.close()

    def close(self) -> None:
        self.server.close()


@contextmanager
def dead_proxy() -> Iterator[ConnectionLog]:
    log = ConnectionLog()
    try:
        yield log
    finally:
        log.close()


@dataclass
class Workdir:
    """keyless_verify_workdir as a shared /tmp: another user's file sits at the old fixed name."""

    path: Path
    planted: Path = field(init=False)

    def __post_init__(self) -> None:
        self.path.mkdir(parents=True, exist_ok=True)
        self.planted = self.path / f"keyless-verify-{HOST}.txt"
        self.planted.write_text("someone else's file\n")


def test_verification_keeps_no_credentials_bypasses_the_proxy_and_uses_a_private_directory(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    """verify_s3 at ``-vvvv --diff``, with an http_proxy on the instance and a shared work directory.

    The metadata service is named ``localhost`` here, so that the instance's no_proxy (127.0.0.1,
    the AWS endpoint) does not cover it, as no_proxy on EC2 rarely names 169.254.169.254. The
    proxy hangs up on anyone: a metadata request through it would fail the run. The round trip's
    file goes in a directory of its own, which is removed: another user's file at the old fixed
    name is left alone. The temporary credentials appear nowhere, not even in a later play's hostvars.
    """
    assert sandbox.imds is not None
    workdir = Workdir(tmp_path / "shared-tmp")
    playbook = wrapper_playbook(tmp_path, ["provision.yml", "verify_s3.yml"], LATER_PLAY)
    with dead_proxy() as proxy:
        proxy_url = f"http://127.0.0.1:{proxy.port}"
        environment = {
            **instance_environment(sandbox),
            "AWS_EC2_METADATA_SERVICE_ENDPOINT": f"http://localhost:{sandbox.imds.port}/",
            **{name: proxy_url for name in ("http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY")},
            "no_proxy": "127.0.0.1",
            "NO_PROXY": "127.0.0.1",
        }
        host_vars = {"keyless_instance_environment": environment, "keyless_verify_workdir": str(workdir.path)}
        run = run_site(sandbox, tmp_path, playbook, None, host_vars)
        assert run.finished.rc == 0, str(run.finished)
        assert proxy.connections == 0
    assert '"round trip: ' in run.finished.stdout
    credentials = issued_credentials(sandbox)
    found = {
        "instance secret key (metadata service)": credentials["SecretAccessKey"],
        "instance session token (metadata service)": credentials["Token"],
        "controller secret key (environment)": sandbox.admin_key[1],
    }
    assert leaked(run.text, found) == []
    made = task_result(run.finished.stdout, "A private directory for the round trip's file")
    assert (Path(made["path"]).parent, made["mode"], made["state"]) == (workdir.path, "0700", "directory")
    assert not Path(made["path"]).exists()
    assert workdir.planted.read_text() == "someone else's file\n"
    assert sorted(p.name for p in workdir.path.iterdir()) == [workdir.planted.name]


def test_a_failed_round_trip_leaves_the_work_directory_as_it_was(sandbox: Sandbox, tmp_path: Path) -> None:
    """The private directory goes also when a step of the round trip fails (here the last one:
    the intent names s3:DeleteObject, which the policy does not grant)."""
    workdir = Workdir(tmp_path / "shared-tmp")
    playbook = wrapper_playbook(tmp_path, ["provision.yml", "verify_s3.yml"])
    host_vars = {
        "keyless_instance_environment": instance_environment(sandbox),
        "keyless_verify_workdir": str(workdir.path),
        "keyless_verify_expected_actions": ["s3:PutObject", "s3:GetObject", "s3:DeleteObject"],
    }

    run = run_site(sandbox, tmp_path, playbook, None, host_vars, verbosity="-v")

    assert run.finished.rc != 0, str(run.finished)
    assert "deleting the object failed: " in run.finished.stdout, str(run.finished)
    assert workdir.planted.read_text() == "someone else's file\n"
    assert sorted(p.name for p in workdir.path.iterdir()) == [workdir.planted.name]
