"""sandbox/imds.py: the --moto-auth-toggle lock lives in the sandbox's own directory, not in /tmp."""

from __future__ import annotations

import fcntl
import os
import tempfile
from pathlib import Path

import imds
import pytest

ENDPOINT = "http://127.0.0.1:5000"


def launcher_args(run_dir: Path, *extra: str) -> list[str]:
    """What sandbox.py and launcher.start_service pass: the port file in the sandbox's run dir."""
    return [
        "--instance-name", "keyless-logs-writer", "--aws-endpoint", ENDPOINT, "--region", "us-east-1",
        "--moto-auth-toggle", "--port-file", str(run_dir / "imds.port"), *extra,
    ]  # fmt: skip


@pytest.fixture
def shared_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A stand-in for the machine's shared temp directory, to see that nothing lands there."""
    shared = tmp_path / "shared-tmp"
    shared.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(shared))
    return shared


@pytest.fixture
def enforcement(monkeypatch: pytest.MonkeyPatch) -> list[bool]:
    switched: list[bool] = []
    monkeypatch.setattr(imds, "set_enforcement", lambda endpoint, on: switched.append(on))
    return switched


def toggle_for(argv: list[str]) -> imds.MotoAuthToggle:
    args = imds._parse_args(argv)
    return imds.MotoAuthToggle(args.aws_endpoint, imds.moto_auth_lock(args.moto_auth_lock, args.port_file))


def test_the_lock_is_in_the_sandbox_run_directory_the_moto_server_shares(tmp_path: Path, shared_tmp: Path):
    run_dir = tmp_path / "sandbox" / "run"  # sandbox.py's run_dir: aws.port and imds.port both live here
    toggle = toggle_for(launcher_args(run_dir))
    assert toggle.lock_file == run_dir / "moto-auth.lock"
    assert toggle.lock_file.is_relative_to(tmp_path / "sandbox")
    assert not toggle.lock_file.is_relative_to(shared_tmp)


def test_an_explicit_lock_file_wins(tmp_path: Path):
    lock = tmp_path / "moto" / "auth.lock"
    toggle = toggle_for(launcher_args(tmp_path / "run", "--moto-auth-lock", str(lock)))
    assert toggle.lock_file == lock


def test_without_a_port_file_or_lock_file_the_toggle_is_refused():
    args = imds._parse_args(launcher_args(Path("/unused"))[:-2])
    with pytest.raises(SystemExit, match="--moto-auth-toggle needs --moto-auth-lock"):
        imds.moto_auth_lock(args.moto_auth_lock, args.port_file)


def test_the_toggle_holds_the_lock_file_while_enforcement_is_off(
    tmp_path: Path, shared_tmp: Path, enforcement: list[bool]
):
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    toggle = toggle_for(launcher_args(run_dir))
    with toggle.suspended():
        assert enforcement == [False]
        with (run_dir / "moto-auth.lock").open("rb") as other_emulator, pytest.raises(BlockingIOError):
            fcntl.flock(other_emulator, fcntl.LOCK_EX | fcntl.LOCK_NB)
    assert enforcement == [False, True]
    assert os.stat(run_dir / "moto-auth.lock").st_mode & 0o777 == 0o600
    assert list(shared_tmp.iterdir()) == []


def test_a_symbolic_link_in_place_of_the_lock_file_is_refused(tmp_path: Path, enforcement: list[bool]):
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    target = tmp_path / "elsewhere"
    (run_dir / "moto-auth.lock").symlink_to(target)
    toggle = toggle_for(launcher_args(run_dir))
    with pytest.raises(OSError), toggle.suspended():
        pytest.fail("the toggle ran through a symbolic link")
    assert enforcement == []
    assert not target.exists()
