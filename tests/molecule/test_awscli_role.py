"""keyless.aws.awscli, end to end on this host.

- the molecule scenario roles/awscli/molecule/pip (converge, idempotence, verify);
- the bundle method against a fake AWS CLI v2 installer served from 127.0.0.1;
- the apt method (and auto's choice of it) in check mode only: nothing is installed;
- the failures a user meets first: a missing region, an unverifiable bundle.

Every run has a temporary HOME, and every test checks that the real ~/.aws did not change.
The only network use is the pip scenario's one awscli download from the package index.
"""
from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from awscli_support import (
    BIN_DIR,
    ROLE_DIR,
    Result,
    http_server,
    isolated_env,
    make_bundle,
    playbook,
    real_home,
    run,
    tree_state,
)

REGION = "eu-west-1"
VERSIONS = ("2.99.0", "2.99.1")
WRONG_CHECKSUM = "sha256:" + "0" * 64


@pytest.fixture(autouse=True)
def real_aws_untouched() -> Iterator[None]:
    """Whatever a test does, the ~/.aws of the user running it stays exactly as it was."""
    path = real_home() / ".aws"
    before = tree_state(path)
    yield
    assert tree_state(path) == before, f"{path} changed"


@pytest.fixture(scope="module")
def bundles(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, tuple[str, str]]]:
    """{version: (url, checksum)} of fake bundles served by http.server on 127.0.0.1."""
    directory = tmp_path_factory.mktemp("bundles")
    made = {version: make_bundle(directory, version) for version in VERSIONS}
    with http_server(directory) as base_url:
        yield {version: (f"{base_url}/{name}", f"sha256:{digest}")
               for version, (name, digest) in made.items()}


def facts(result: Result) -> dict[str, str]:
    """awscli_version and awscli_command as the role published them."""
    match = re.search(r'"msg": ("AWSCLI_FACTS .*")', result.output)
    assert match, f"the playbook printed no facts:\n{result}"
    return json.loads(json.loads(match.group(1)).removeprefix("AWSCLI_FACTS "))


def sandbox_home(root: Path) -> Path:
    """Where the role puts ~/.aws when awscli_root is ``root`` and awscli_home is left empty."""
    return Path(f"{root}{real_home()}")


def bundle_vars(root: Path, bundles: dict[str, tuple[str, str]], version: str,
                checksum: str | None = None) -> dict[str, str]:
    url, good_checksum = bundles[version]
    return {
        "awscli_install_method": "bundle",
        "awscli_root": str(root),
        "awscli_region": REGION,
        "awscli_bundle_version": version,
        "awscli_bundle_url": url,
        "awscli_bundle_checksum": checksum or good_checksum,
    }


def apt_has_awscli() -> bool:
    if not shutil.which("apt-cache"):
        return False
    policy = subprocess.run(["apt-cache", "policy", "awscli"], capture_output=True, text=True,
                            env={**os.environ, "LC_ALL": "C"}, check=False)
    return re.search(r"Candidate: [0-9]", policy.stdout) is not None


def dpkg_has_awscli() -> bool:
    """Whether the awscli package is installed on this host (what apt in check mode reports as ok)."""
    query = subprocess.run(["dpkg-query", "-W", "-f=${Status}", "awscli"], capture_output=True, text=True,
                           check=False)
    return query.stdout.strip() == "install ok installed"


# --- pip: the molecule scenario -----------------------------------------------------------------

def test_molecule_pip_scenario(tmp_path: Path, record_property: pytest.RecordProperty) -> None:
    result = run([str(BIN_DIR / "molecule"), "test", "-s", "pip"], isolated_env(tmp_path),
                 cwd=ROLE_DIR)
    record_property("molecule_seconds", round(result.seconds, 1))
    print(f"molecule test -s pip: {result.seconds:.1f} s")

    assert result.rc == 0, str(result)
    for step in ("converge", "idempotence", "verify"):
        assert f"[pip > {step}] Executed: Successful" in result.output, str(result)
    # The role wrote under the scenario's root, never into the (temporary) HOME either.
    assert not (tmp_path / "home" / ".aws").exists()


# --- bundle: a fake installer on 127.0.0.1 ------------------------------------------------------

USER_CONFIG = ("# by hand\n[default]\nregion = us-west-2\ns3 =\n  region = nested-stays\n\n"
               "[profile other]\nregion = ap-south-1\n")
USER_CREDENTIALS = "[default]\naws_access_key_id = AKIDEXAMPLE\naws_secret_access_key = example\n"


def test_bundle_installs_once_then_only_on_a_new_version(tmp_path: Path, bundles) -> None:
    """Also: the user's config keeps its other sections, and credentials are never touched."""
    root = tmp_path / "root"
    aws_dir = sandbox_home(root) / ".aws"
    aws_dir.mkdir(parents=True)
    (aws_dir / "config").write_text(USER_CONFIG)
    (aws_dir / "credentials").write_text(USER_CREDENTIALS)
    profile = {"awscli_profile": "dev", "awscli_output": "text"}

    first = playbook(tmp_path, "--diff", **bundle_vars(root, bundles, "2.99.0"), **profile)
    assert first.rc == 0, str(first)
    assert first.task_status("Run the installer") == "changed", str(first)
    assert facts(first) == {"awscli_version": "2.99.0", "awscli_command": f"{root}/usr/local/bin/aws"}
    assert (root / "usr/local/bin/aws").resolve() == root / "usr/local/aws-cli/v2/2.99.0/bin/aws"
    expected_config = f"{USER_CONFIG}\n[profile dev]\nregion = {REGION}\noutput = text\n"
    assert (aws_dir / "config").read_text() == expected_config
    assert oct((aws_dir / "config").stat().st_mode & 0o777) == "0o600"
    assert oct(aws_dir.stat().st_mode & 0o777) == "0o700"

    second = playbook(tmp_path, **bundle_vars(root, bundles, "2.99.0"), **profile)
    assert second.rc == 0, str(second)
    assert second.recap()["changed"] == 0, str(second)
    assert second.task_status("Download the installer, checking awscli_bundle_checksum") == "skipping"

    upgrade = playbook(tmp_path, **bundle_vars(root, bundles, "2.99.1"), **profile)
    assert upgrade.rc == 0, str(upgrade)
    assert upgrade.task_status("Run the installer") == "changed", str(upgrade)
    assert facts(upgrade)["awscli_version"] == "2.99.1"

    assert (aws_dir / "config").read_text() == expected_config
    assert (aws_dir / "credentials").read_text() == USER_CREDENTIALS
    # The installer's temporary directory was removed each time.
    assert not list((tmp_path / "tmp").glob("*awscli*"))


def test_bundle_with_a_wrong_checksum_installs_nothing(tmp_path: Path, bundles) -> None:
    root = tmp_path / "root"

    result = playbook(tmp_path, **bundle_vars(root, bundles, "2.99.0", WRONG_CHECKSUM))

    assert result.rc != 0, str(result)
    assert f"awscli_bundle_checksum ({WRONG_CHECKSUM}) does not match the file at awscli_bundle_url" \
        in result.output, str(result)
    assert "Nothing was installed." in result.output
    assert "TASK [keyless.aws.awscli : Run the installer]" not in result.output
    assert not (root / "usr/local/aws-cli").exists()
    assert not (root / "usr/local/bin/aws").exists()
    assert not list((tmp_path / "tmp").glob("*awscli*"))


def test_bundle_check_mode_predicts_the_install_and_writes_nothing(tmp_path: Path, bundles) -> None:
    root = tmp_path / "root"

    result = playbook(tmp_path, "--check", **bundle_vars(root, bundles, "2.99.0"))

    assert result.rc == 0, str(result)
    assert result.task_status("Report that the bundle would be installed") == "changed", str(result)
    assert result.task_status("Download the installer, checking awscli_bundle_checksum") == "skipping"
    assert facts(result)["awscli_version"] == ""
    assert not root.exists()


# --- apt: check mode only -------------------------------------------------------------------

@pytest.mark.skipif(not apt_has_awscli(), reason="no apt, or its package lists have no awscli")
@pytest.mark.parametrize("method", ["apt", "auto"])
def test_apt_path_in_check_mode(tmp_path: Path, method: str) -> None:
    root = tmp_path / "root"

    result = playbook(tmp_path, "--check", awscli_install_method=method, awscli_root=str(root),
                      awscli_region=REGION)

    assert result.rc == 0, str(result)
    # changed on a host without the package, ok on one that has it: never skipped.
    expected = "ok" if dpkg_has_awscli() else "changed"
    assert result.task_status("Install the awscli package") == expected, str(result)
    assert result.task_status("Install awscli into its virtualenv") == "skipping"
    assert facts(result)["awscli_command"] == "/usr/bin/aws"
    assert not root.exists()


def test_list_tasks_shows_every_install_path(tmp_path: Path) -> None:
    result = playbook(tmp_path, "--list-tasks", awscli_install_method="apt", awscli_region=REGION)

    assert result.rc == 0, str(result)
    for task in ("Ask apt whether it has an awscli package", "Install the awscli package",
                 "Install awscli into its virtualenv", "Run the installer",
                 "Set region and output in the profile's section", "Run aws --version"):
        assert f"keyless.aws.awscli : {task}" in result.output, str(result)


# --- the first mistakes ---------------------------------------------------------------------

@pytest.mark.parametrize(("settings", "named"), [
    ({"awscli_install_method": "pip"}, "awscli_region"),
    ({"awscli_install_method": "bundle", "awscli_region": REGION, "awscli_bundle_version": "2.99.0"},
     "awscli_bundle_checksum"),
    ({"awscli_install_method": "pip", "awscli_region": "Europe"}, "awscli_region"),
    ({"awscli_install_method": "pip", "awscli_region": REGION, "awscli_user": "no-such-user-awscli"},
     "awscli_user 'no-such-user-awscli' is not a user"),
], ids=["no-region", "bundle-without-checksum", "bad-region", "unknown-user"])
def test_bad_variables_fail_early_naming_the_variable(tmp_path: Path, settings: dict[str, str],
                                                      named: str) -> None:
    root = tmp_path / "root"

    result = playbook(tmp_path, awscli_root=str(root), **settings)

    assert result.rc != 0, str(result)
    assert named in result.output, str(result)
    assert result.recap()["changed"] == 0
    assert not root.exists()
