"""The collection as users get it: build the tarball, install it offline, use the installed copy.

Nothing here touches the network: ``ansible-galaxy collection install --offline`` installs the
local tarball, and every Ansible command runs with ANSIBLE_COLLECTIONS_PATH set to the install
directory alone, so a module that works only from the checkout fails here.

The playbook run last is ``tests/packaging/playbook.yml`` unless KEYLESS_PACKAGING_PLAYBOOK
names another; it gets ``packaging_collections_path`` as an extra var.
"""

from __future__ import annotations

import fnmatch
import json
import os
import subprocess
import sys
import tarfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import launcher
import pytest
import yaml
from recap import play_recap

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
PLAYBOOK = Path(os.environ.get("KEYLESS_PACKAGING_PLAYBOOK", REPO / "tests" / "packaging" / "playbook.yml"))

# Development files that must never reach users (galaxy.yml's build_ignore keeps them out).
FORBIDDEN_PREFIXES = (
    ".venv",
    ".build/",
    ".git/",
    "tests/output/",
    ".pytest_cache/",
    ".ruff_cache/",
)
FORBIDDEN_PARTS = ("__pycache__",)
# The developer toolchain (galaxy.yml's build_ignore): a user gets no benchmark (nor its unit
# tests), no hack/ helpers, no Makefile and no dev requirements or lock files.
TOOLCHAIN_DIRS = ("bench/", "hack/", "tests/unit/bench/", "tests/unit/hack/")
TOOLCHAIN_FILES = ("Makefile", "requirements/dev.in", "requirements/dev-*.txt", "requirements/bench.txt")
# What a user needs: everything under these directories, and these files.
USER_DIRS = ("plugins", "roles", "playbooks")
USER_FILES = (
    "README.md",
    "meta/runtime.yml",
    "meta/execution-environment.yml",
    "requirements.txt",
    "requirements/runtime.txt",
    "bindep.txt",
)


@dataclass(frozen=True)
class Installed:
    tarball: Path
    collections_path: Path
    env: dict[str, str]
    workdir: Path


def run(args: list[str], env: dict[str, str], cwd: Path) -> launcher.Finished:
    result = launcher.run(args, env, cwd, timeout=300)
    assert result.rc == 0, f"{' '.join(args)} exited {result.rc}:\n{result.stdout}\n{result.stderr}"
    return result


def clean_env(collections_path: Path) -> dict[str, str]:
    """The sandbox's one isolated environment, with only the installed copy on the collections path."""
    return launcher.clean_environment(
        {
            "ANSIBLE_COLLECTIONS_PATH": str(collections_path),
            "ANSIBLE_COLLECTIONS_SCAN_SYS_PATH": "false",
            "ANSIBLE_NOCOLOR": "1",
            "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",
        }
    )


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Installed:
    workdir = tmp_path_factory.mktemp("packaging")
    collections_path = workdir / "collections"
    env = clean_env(collections_path)
    dist = workdir / "dist"
    run(
        [str(BIN / "ansible-galaxy"), "collection", "build", "--output-path", str(dist), str(REPO)],
        env,
        workdir,
    )
    (tarball,) = dist.glob("keyless-aws-*.tar.gz")
    run(
        [
            str(BIN / "ansible-galaxy"),
            "collection",
            "install",
            "--offline",
            "-p",
            str(collections_path),
            str(tarball),
        ],
        env,
        workdir,
    )
    return Installed(tarball=tarball, collections_path=collections_path, env=env, workdir=workdir)


def tarball_files(tarball: Path) -> set[str]:
    with tarfile.open(tarball) as tar:
        files = {member.name.removeprefix("./") for member in tar.getmembers() if member.isfile()}
    return files - {"MANIFEST.json", "FILES.json"}


def checkout_files(*directories: str) -> set[str]:
    """Files under ``directories`` of the checkout, caches aside."""
    return {
        path.relative_to(REPO).as_posix()
        for directory in directories
        for path in (REPO / directory).rglob("*")
        if path.is_file() and "__pycache__" not in path.parts
    }


def is_toolchain(name: str) -> bool:
    return name.startswith(TOOLCHAIN_DIRS) or any(fnmatch.fnmatchcase(name, file) for file in TOOLCHAIN_FILES)


def checkout_modules() -> set[str]:
    return {
        f"keyless.aws.{path.stem}"
        for path in (REPO / "plugins" / "modules").glob("*.py")
        if not path.name.startswith("_")
    }


def test_tarball_is_named_after_galaxy_version(installed: Installed) -> None:
    version = yaml.safe_load((REPO / "galaxy.yml").read_text())["version"]
    assert installed.tarball.name == f"keyless-aws-{version}.tar.gz"


def test_tarball_holds_no_development_files(installed: Installed) -> None:
    with tarfile.open(installed.tarball) as tar:
        names = [name.removeprefix("./") for name in tar.getnames()]
    leaked = [
        name
        for name in names
        if name.startswith(FORBIDDEN_PREFIXES) or any(part in FORBIDDEN_PARTS for part in name.split("/"))
    ]
    assert not leaked
    assert {"MANIFEST.json", "FILES.json", "meta/runtime.yml"} <= set(names)


def test_tarball_leaves_the_developer_toolchain_out(installed: Installed) -> None:
    # The checkout has each kind of toolchain file, so the check below looks for files that exist.
    candidates = checkout_files("bench", "hack", "tests/unit/bench", "requirements") | {"Makefile"}
    toolchain = {name for name in candidates if is_toolchain(name)}
    assert {"bench/run.py", "hack/sanity_tree.py", "Makefile", "requirements/dev.in",
            "requirements/dev-py311.txt", "requirements/bench.txt"} <= toolchain
    assert any(name.startswith("tests/unit/bench/") for name in toolchain)
    shipped = tarball_files(installed.tarball)
    assert sorted(name for name in shipped if is_toolchain(name)) == []


def test_tarball_holds_what_a_user_needs(installed: Installed) -> None:
    needed = checkout_files(*USER_DIRS) | set(USER_FILES)
    assert {"plugins/modules/iam_role.py", "roles/keyless/defaults/main.yml", "playbooks/site.yml"} <= needed
    assert sorted(needed - tarball_files(installed.tarball)) == []


def test_tarball_holds_no_git_ignored_file(installed: Installed) -> None:
    """Caches and scratch files (.hypothesis/, bench output...) are ignored by git: keep them out."""
    if not (REPO / ".git").exists():
        pytest.skip("not a git checkout")
    with tarfile.open(installed.tarball) as tar:
        files = [member.name.removeprefix("./") for member in tar.getmembers() if member.isfile()]
    files = [name for name in files if name not in ("MANIFEST.json", "FILES.json")]
    ignored = subprocess.run(
        ["git", "check-ignore", "--no-index", "--stdin"],
        input="\n".join(files),
        cwd=REPO,
        capture_output=True,
        text=True,
        check=False,
    ).stdout.split()
    assert not ignored


def test_installed_copy_lists_every_module(installed: Installed) -> None:
    listing = run(
        [str(BIN / "ansible-doc"), "-t", "module", "-l", "keyless.aws", "--json"],
        installed.env,
        installed.workdir,
    )
    assert set(json.loads(listing.stdout)) == checkout_modules()


def test_installed_modules_have_documentation(installed: Installed) -> None:
    modules = sorted(checkout_modules())
    if not modules:
        pytest.skip("plugins/modules holds no module yet")
    docs = run(
        [str(BIN / "ansible-doc"), "-t", "module", "--json", *modules], installed.env, installed.workdir
    )
    documented = json.loads(docs.stdout)
    assert set(documented) == set(modules)
    assert all(entry["doc"]["short_description"] for entry in documented.values())


@pytest.fixture(scope="module")
def aws_endpoint(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The recording moto server, so the installed modules make real API calls."""
    service = launcher.start_aws_server(tmp_path_factory.mktemp("aws"))
    try:
        yield service.url
    finally:
        service.stop()


def test_playbook_runs_against_installed_copy(installed: Installed, aws_endpoint: str) -> None:
    env = dict(installed.env)  # no AWS_ setting of the caller's: clean_env scrubbed them
    env.update(AWS_ACCESS_KEY_ID="AKIAIOSFODNN7EXAMPLE", AWS_SECRET_ACCESS_KEY="packaging-test-secret")
    env.update(
        AWS_CONFIG_FILE=str(installed.workdir / "none"),
        AWS_SHARED_CREDENTIALS_FILE=str(installed.workdir / "none"),
    )
    result = run(
        [
            str(BIN / "ansible-playbook"),
            "-i",
            "localhost,",
            str(PLAYBOOK),
            "-e",
            f"packaging_collections_path={installed.collections_path}",
            "-e",
            f"packaging_endpoint={aws_endpoint}",
        ],
        env,
        installed.workdir,
    )
    recap = play_recap(result.stdout)["localhost"]
    assert recap["failed"] == 0
    assert recap["changed"] == 1  # the role was created once, then left alone
