"""sandbox/lab.py without building or starting anything: its cache, its apt index, its config."""

from __future__ import annotations

import hashlib
import subprocess
from pathlib import Path

import lab
import pytest


def test_the_image_key_follows_the_recipe(monkeypatch: pytest.MonkeyPatch) -> None:
    key = lab.image_key()
    assert key == lab.image_key()
    assert key.startswith(f"debian-{lab.SUITE}-")
    monkeypatch.setattr(lab, "LOCAL_REPOSITORY_PACKAGES", (*lab.LOCAL_REPOSITORY_PACKAGES, "jq"))
    assert lab.image_key() != key
    monkeypatch.undo()
    monkeypatch.setattr(lab, "BUILD_FORMAT", lab.BUILD_FORMAT + 1)
    assert lab.image_key() != key


def test_the_cache_lives_outside_the_checkout(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("KEYLESS_LAB_CACHE", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert lab.cache_root() == tmp_path / "xdg" / "keyless.aws" / "lab"
    monkeypatch.setenv("KEYLESS_LAB_CACHE", str(tmp_path / "mine"))
    assert lab.cache_root() == tmp_path / "mine"


@pytest.fixture
def cache(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    monkeypatch.setenv("KEYLESS_LAB_CACHE", str(tmp_path / "cache"))
    monkeypatch.setattr(lab, "check_host", lambda: None)
    return tmp_path / "cache"


def test_a_cached_image_is_not_built_again(monkeypatch: pytest.MonkeyPatch, cache: Path) -> None:
    built: list[Path] = []

    def build(rootfs: Path, log: Path) -> None:
        built.append(rootfs)
        (rootfs / "etc").mkdir(parents=True)

    monkeypatch.setattr(lab, "_build", build)
    image, fresh = lab.ensure_image()
    assert (image, fresh) == (cache / lab.image_key(), True)
    assert (image / "etc").is_dir()
    assert (image / lab.COMPLETE_MARK).read_text().startswith("{")
    assert lab.ensure_image() == (image, False)
    assert len(built) == 1


def test_a_failed_build_leaves_no_image(monkeypatch: pytest.MonkeyPatch, cache: Path) -> None:
    def build(rootfs: Path, log: Path) -> None:
        rootfs.mkdir(parents=True)
        raise lab.LabError("mmdebstrap failed")

    monkeypatch.setattr(lab, "_build", build)
    with pytest.raises(lab.LabError, match="mmdebstrap failed"):
        lab.ensure_image()
    assert [path.name for path in cache.iterdir() if not path.name.startswith(".lock")] == []


def test_the_local_repository_lists_each_package_with_its_digest(tmp_path: Path) -> None:
    package = tmp_path / "pkg"
    (package / "DEBIAN").mkdir(parents=True)
    (package / "DEBIAN" / "control").write_text(
        "Package: keyless-demo\nVersion: 1.0-1\nArchitecture: all\nMaintainer: nobody <n@example.org>\n"
        "Description: a package for the test\n"
    )
    repository = tmp_path / "repo"
    repository.mkdir()
    deb = repository / "keyless-demo_1.0-1_all.deb"
    subprocess.run(["dpkg-deb", "--build", str(package), str(deb)], check=True, capture_output=True)

    lab._write_repository_index(repository)

    entry = (repository / "Packages").read_text()
    assert entry.startswith("Package: keyless-demo\nVersion: 1.0-1\n")
    assert "Filename: ./keyless-demo_1.0-1_all.deb\n" in entry
    assert f"Size: {deb.stat().st_size}\n" in entry
    assert f"SHA256: {hashlib.sha256(deb.read_bytes()).hexdigest()}\n" in entry


@pytest.mark.parametrize(
    ("ssh", "pipelining", "ssh_args"),
    [
        ("pipelining", "True", "-o ControlMaster=auto -o ControlPersist=60s"),
        ("persist", "False", "-o ControlMaster=auto -o ControlPersist=60s"),
        ("plain", "False", "-o ControlMaster=no"),
    ],
)
def test_the_ansible_cfg_is_a_users(tmp_path: Path, ssh: str, pipelining: str, ssh_args: str) -> None:
    cfg = lab.write_ansible_cfg(tmp_path / "ansible.cfg", tmp_path / "cp", ssh=ssh)
    text = cfg.read_text()
    assert f"pipelining = {pipelining}\n" in text
    assert f"ssh_args = {ssh_args}\n" in text
    assert f"control_path_dir = {tmp_path / 'cp'}\n" in text
    assert (tmp_path / "cp").is_dir()


def test_the_host_needs_root_and_its_tools(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(lab.os, "geteuid", lambda: 1000)
    with pytest.raises(lab.LabError, match="needs root"):
        lab.check_host()
    monkeypatch.setattr(lab.os, "geteuid", lambda: 0)
    monkeypatch.setattr(
        lab.shutil, "which", lambda tool: None if tool == "mmdebstrap" else f"/usr/bin/{tool}"
    )
    with pytest.raises(lab.LabError, match="needs mmdebstrap: apt-get install"):
        lab.check_host()


def test_the_inventory_reaches_it_like_an_ec2_host(tmp_path: Path) -> None:
    instance = lab.Lab(tmp_path, port=2222)
    assert instance.host_vars() == {
        "ansible_host": "127.0.0.1",
        "ansible_port": "2222",
        "ansible_user": "admin",
        "ansible_ssh_private_key_file": str(tmp_path / "id_ed25519"),
        "ansible_ssh_common_args": (
            f"-o UserKnownHostsFile={tmp_path / 'known_hosts'}"
            " -o StrictHostKeyChecking=yes -o IdentitiesOnly=yes"
        ),
    }
