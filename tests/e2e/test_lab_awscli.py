"""The awscli role's other methods on the lab instance: pip and AWS's bundle, with become.

test_site.py converges the default (the distribution's package) through the whole flow; here
each method runs alone on a fresh lab instance over SSH, as the non-root login user a cloud
image has, with nothing but the role's defaults and the method's own settings: the install
paths are root's, so the role must escalate, and the second run must change nothing. The
bundle is a fake of AWS's installer served from 127.0.0.1 (sandbox/fake_bundle.py); pip
downloads awscli from the package index.
"""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Iterator
from pathlib import Path

import launcher
import pytest
from fake_bundle import http_server, make_bundle
from lab import Lab, write_ansible_cfg
from recap import play_recap

REPO = Path(__file__).resolve().parents[2]
PLAYBOOK = REPO / "tests" / "awscli_playbook.yml"
HOST = "lab"
REGION = "eu-west-1"
BUNDLE_VERSION = "2.99.0"


@pytest.fixture
def lab(tmp_path: Path) -> Iterator[Lab]:
    with Lab(tmp_path / "lab") as instance:
        yield instance


def converge(lab: Lab, tmp_path: Path, **role_vars: str) -> tuple[int, str]:
    """The role once over SSH, with the lab's ansible.cfg; returns (rc, output)."""
    inventory = tmp_path / "inventory.json"
    inventory.write_text(json.dumps({"all": {"hosts": {HOST: lab.host_vars()}}}))
    env = launcher.clean_environment(
        {
            "ANSIBLE_CONFIG": str(write_ansible_cfg(tmp_path / "ansible.cfg", tmp_path / "cp")),
            "ANSIBLE_COLLECTIONS_PATH": str(REPO / ".build" / "collections"),
            "ANSIBLE_HOME": str(tmp_path / "ansible"),
            "ANSIBLE_NOCOLOR": "1",
            "NO_PROXY": "127.0.0.1,localhost",
        }
    )
    command = [str(Path(sys.executable).parent / "ansible-playbook"), "-i", str(inventory), str(PLAYBOOK)]
    command += ["-e", json.dumps({"awscli_region": REGION, **role_vars})]
    finished = launcher.run(command, env, REPO, 600.0, merge_stderr=True)
    return finished.rc, finished.stdout


def published(output: str) -> dict[str, str]:
    match = re.search(r'"AWSCLI_FACTS (\{.*\})"', output)
    assert match, output
    return json.loads(match.group(1).replace('\\"', '"'))


def converges_twice(lab: Lab, tmp_path: Path, **role_vars: str) -> dict[str, str]:
    """Installs (changed) the first time, changes nothing the second; the published facts."""
    rc, output = converge(lab, tmp_path, **role_vars)
    assert rc == 0, output
    assert play_recap(output)[HOST]["changed"] > 0, output
    rc, output = converge(lab, tmp_path, **role_vars)
    assert rc == 0, output
    assert play_recap(output)[HOST]["changed"] == 0, output
    return published(output)


def on_lab(lab: Lab, command: str) -> str:
    shown = lab.ssh(command)
    assert shown.returncode == 0, shown.stderr
    return shown.stdout.strip()


def test_pip_builds_its_venv_as_root_on_a_fresh_debian(lab: Lab, tmp_path: Path) -> None:
    facts = converges_twice(lab, tmp_path, awscli_install_method="pip",
                            awscli_pip_requirements=str(REPO / "requirements" / "awscli.txt"))

    assert facts == {"awscli_version": "1.46.3", "awscli_command": "/usr/local/bin/aws"}
    # python3-venv came from the distribution; the venv and the link are root's, used by admin.
    assert on_lab(lab, "dpkg-query -W -f '${Status}' python3-venv") == "install ok installed"
    assert on_lab(lab, "stat -c %U /opt/awscli-venv /usr/local/bin/aws").split() == ["root", "root"]
    assert on_lab(lab, "id -un; aws --version").startswith("admin\naws-cli/1.46.3 ")
    assert on_lab(lab, "cat ~/.aws/config") == f"[default]\nregion = {REGION}"


def test_bundle_runs_the_installer_as_root_on_a_fresh_debian(lab: Lab, tmp_path: Path) -> None:
    served = tmp_path / "served"
    served.mkdir()
    name, digest = make_bundle(served, BUNDLE_VERSION)
    with http_server(served) as base_url:
        facts = converges_twice(
            lab,
            tmp_path,
            awscli_install_method="bundle",
            awscli_bundle_version=BUNDLE_VERSION,
            awscli_bundle_checksum=f"sha256:{digest}",
            awscli_bundle_url=f"{base_url}/{name}",
        )

    assert facts == {"awscli_version": BUNDLE_VERSION, "awscli_command": "/usr/local/bin/aws"}
    # unzip came from the distribution; the installer ran as root.
    assert on_lab(lab, "dpkg-query -W -f '${Status}' unzip") == "install ok installed"
    assert on_lab(lab, "stat -c %U /usr/local/aws-cli/v2/current/bin/aws") == "root"
    assert on_lab(lab, "aws --version").startswith(f"aws-cli/{BUNDLE_VERSION} ")
