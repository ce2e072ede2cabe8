"""keyless.aws.awscli, end to end on this host.

- the molecule scenario roles/awscli/molecule/pip (converge, idempotence, verify);
- the bundle method against a fake AWS CLI v2 installer served from 127.0.0.1;
- the apt method (and auto's choice of it) in check mode only: nothing is installed;
- auto's order: an aws already on PATH (a fake one), apt, a pinned bundle, pip;
- become for the install steps by default, seen through a fake sudo;
- the failures a user meets first: a missing region, an unverifiable bundle.

Every run has a temporary HOME and the PATH of a fresh Debian (plus the test's fakes), and every
test checks that the real ~/.aws did not change.
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
import yaml
from awscli_support import (
    BIN_DIR,
    ROLE_DIR,
    SYSTEM_PATH,
    Result,
    fake_command,
    isolated_env,
    playbook,
    real_home,
    run,
    tree_state,
)
from fake_bundle import http_server, make_bundle

REGION = "eu-west-1"
VERSIONS = ("2.99.0", "2.99.1")
WRONG_CHECKSUM = "sha256:" + "0" * 64
# The runs install into a temporary root: no escalation, whoever runs the tests. (As root, become
# to root would be skipped anyway, but a developer's own user would need sudo.)
NO_BECOME = {"awscli_become": "false"}

# The first task of each install method, the one that installs (bundle: in check mode).
INSTALL_TASKS = {
    "apt": "Install the awscli package",
    "pip": "Install awscli into its virtualenv",
    "bundle": "Report that the bundle would be installed",
}
# An AWS CLI v2 that is already there, as on Amazon Linux 2023.
FAKE_AWS_VERSION = "2.15.0"
FAKE_AWS = f'echo "aws-cli/{FAKE_AWS_VERSION} Python/3.11 Linux/x"\n'
# apt-cache policy on a host whose package lists have no awscli (Ubuntu 24.04's have none).
NO_APT_CANDIDATE = "printf 'awscli:\\n  Installed: (none)\\n  Candidate: (none)\\n'\n"
# sudo as Ansible calls it (sudo -H -S -n -u root /bin/sh -c '...'): log the call, run the command.
FAKE_SUDO = """echo "$*" >> '{log}'
while [ $# -gt 0 ]; do
  case "$1" in
    -u|-p|-g) shift 2 ;;
    -*) shift ;;
    *) break ;;
  esac
done
exec "$@"
"""

system_aws = pytest.mark.skipif(
    shutil.which("aws", path=os.pathsep.join(SYSTEM_PATH)) is not None,
    reason="an aws in this host's system PATH: auto would keep it")
debian_family = pytest.mark.skipif(shutil.which("dpkg-query") is None, reason="not a Debian-family host")


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


def role_vars(root: Path, method: str, **settings: str) -> dict[str, str]:
    """The variables of a run with ``method`` into the temporary ``root``, without become."""
    return {"awscli_install_method": method, "awscli_root": str(root), "awscli_region": REGION,
            **NO_BECOME, **settings}


def bundle_vars(root: Path, bundles: dict[str, tuple[str, str]], version: str,
                checksum: str | None = None) -> dict[str, str]:
    url, good_checksum = bundles[version]
    return role_vars(root, "bundle", awscli_bundle_version=version, awscli_bundle_url=url,
                     awscli_bundle_checksum=checksum or good_checksum)


def pinned_bundle(root: Path, bundles: dict[str, tuple[str, str]]) -> dict[str, str]:
    """The bundle variables alone (version, URL, checksum): what lets auto choose the bundle."""
    return {key: value for key, value in bundle_vars(root, bundles, VERSIONS[0]).items()
            if key.startswith("awscli_bundle_")}


def apt_has_awscli() -> bool:
    if not shutil.which("apt-cache"):
        return False
    policy = subprocess.run(["apt-cache", "policy", "awscli"], capture_output=True, text=True,
                            env={**os.environ, "LC_ALL": "C"}, check=False)
    return re.search(r"Candidate: [0-9]", policy.stdout) is not None


def dpkg_has(package: str) -> bool:
    """Whether ``package`` is installed on this host (what apt in check mode reports as ok)."""
    query = subprocess.run(["dpkg-query", "-W", "-f=${Status}", package], capture_output=True, text=True,
                           check=False)
    return query.stdout.strip() == "install ok installed"


def assert_installs_only(result: Result, method: str | None) -> None:
    """Only ``method``'s install task changed (None: no install task ran)."""
    for name, task in INSTALL_TASKS.items():
        expected = "changed" if name == method else "skipping"
        assert result.task_status(task) == expected, f"{task}\n{result}"


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

@system_aws
@pytest.mark.skipif(not apt_has_awscli(), reason="no apt, or its package lists have no awscli")
@pytest.mark.parametrize(("method", "pinned"), [("apt", False), ("auto", False), ("auto", True)],
                         ids=["apt", "auto", "auto-bundle-pinned"])
def test_apt_path_in_check_mode(tmp_path: Path, bundles, method: str, pinned: bool) -> None:
    """auto prefers the distribution's package to a pinned bundle."""
    root = tmp_path / "root"
    settings = role_vars(root, method)
    if pinned:
        settings |= pinned_bundle(root, bundles)

    result = playbook(tmp_path, "--check", **settings)

    assert result.rc == 0, str(result)
    # changed on a host without the package, ok on one that has it: never skipped.
    expected = "ok" if dpkg_has("awscli") else "changed"
    assert result.task_status("Install the awscli package") == expected, str(result)
    assert result.task_status(INSTALL_TASKS["pip"]) == "skipping", str(result)
    assert result.task_status(INSTALL_TASKS["bundle"]) == "skipping", str(result)
    assert facts(result)["awscli_command"] == "/usr/bin/aws"
    assert not root.exists()


# --- auto: keep what is there, else apt, else a pinned bundle, else pip ---------------------

def test_auto_keeps_an_aws_already_on_path(tmp_path: Path) -> None:
    """Amazon Linux 2023 ships AWS CLI v2 at /usr/bin/aws: auto installs nothing next to it."""
    fakes, root = tmp_path / "fakes", tmp_path / "root"
    fake_aws = fake_command(fakes, "aws", FAKE_AWS)
    settings = role_vars(root, "auto")
    kept = {"awscli_version": FAKE_AWS_VERSION, "awscli_command": str(fake_aws)}

    check = playbook(tmp_path, "--check", path_first=[fakes], **settings)
    assert check.rc == 0, str(check)
    assert_installs_only(check, None)
    assert facts(check) == kept
    assert check.task_status("Look for an aws command on PATH") == "ok", str(check)
    assert check.task_status("Ask apt whether its package lists offer the packages") == "skipping", str(check)

    first = playbook(tmp_path, path_first=[fakes], **settings)
    assert first.rc == 0, str(first)
    assert_installs_only(first, None)
    assert facts(first) == kept
    # Only the config file was written under the root: no virtualenv, no aws link.
    config = sandbox_home(root) / ".aws" / "config"
    assert [path for path in root.rglob("*") if not path.is_dir()] == [config]
    assert config.read_text() == f"[default]\nregion = {REGION}\n"

    second = playbook(tmp_path, path_first=[fakes], **settings)
    assert second.rc == 0, str(second)
    assert second.recap()["changed"] == 0, str(second)
    assert facts(second) == kept


@system_aws
@debian_family
@pytest.mark.parametrize(("pinned", "method"), [(True, "bundle"), (False, "pip")],
                         ids=["bundle-pinned", "nothing-pinned"])
def test_auto_without_an_aws_or_an_apt_package(tmp_path: Path, bundles, pinned: bool, method: str) -> None:
    """AWS's bundle only when pinned (AWS publishes no checksum to verify it against), else pip."""
    fakes, root = tmp_path / "fakes", tmp_path / "root"
    fake_command(fakes, "apt-cache", NO_APT_CANDIDATE)
    settings = role_vars(root, "auto")
    if pinned:
        settings |= pinned_bundle(root, bundles)

    result = playbook(tmp_path, "--check", path_first=[fakes], **settings)

    assert result.rc == 0, str(result)
    assert_installs_only(result, method)
    assert facts(result) == {"awscli_version": "", "awscli_command": f"{root}/usr/local/bin/aws"}
    assert result.task_status("Look for an aws command on PATH") == "ok", str(result)
    assert result.task_status("Ask apt whether its package lists offer the packages") == "ok", str(result)
    assert not root.exists()


def test_auto_with_half_a_bundle_pin_fails_early(tmp_path: Path) -> None:
    """A version without its checksum is a mistake to point out, not a reason to fall back to pip.

    In check mode: should the rule go, auto must not install this host's awscli package.
    """
    root = tmp_path / "root"

    result = playbook(tmp_path, "--check", **role_vars(root, "auto", awscli_bundle_version="2.99.0"))

    assert result.rc != 0, str(result)
    assert "awscli_bundle_checksum in the form 'sha256:<hex>' (got '')" in result.output, str(result)
    assert result.recap()["changed"] == 0
    assert not root.exists()


# --- pip: what a fresh Debian or Ubuntu lacks -------------------------------------------------

@debian_family
@pytest.mark.parametrize("venv_missing", [True, False], ids=["python-without-venv", "python-with-venv"])
def test_pip_installs_what_the_venv_needs_first_and_keeps_no_existing_aws(tmp_path: Path,
                                                                          venv_missing: bool) -> None:
    """A named method installs even with an aws on PATH; on Debian, what the venv needs comes first.

    A Python that cannot import ensurepip (a fresh Debian's, without python3-venv) gets
    python3-venv from apt; one that can is left alone.
    """
    fakes, root = tmp_path / "fakes", tmp_path / "root"
    fake_command(fakes, "aws", FAKE_AWS)
    settings = role_vars(root, "pip")
    if venv_missing:
        settings["awscli_python"] = str(fake_command(fakes, "python-without-venv", "exit 1\n"))

    result = playbook(tmp_path, "--check", path_first=[fakes], **settings)

    assert result.rc == 0, str(result)
    install = result.task_status("Install what the virtualenv needs")
    if venv_missing:
        # ok where python3-venv is installed, changed where it is not.
        assert install == ("ok" if dpkg_has("python3-venv") else "changed"), str(result)
        tasks = re.findall(r"TASK \[keyless\.aws\.awscli : ([^\]]+)\]", result.output)
        steps = ("Install what the virtualenv needs", "Install awscli into its virtualenv")
        assert [tasks.index(step) for step in steps] == sorted(tasks.index(step) for step in steps)
        assert "(item=python3-venv)" in result.output, str(result)
    else:
        assert install == "skipping", str(result)
    assert result.task_status("Look for an aws command on PATH") == "skipping", str(result)
    assert_installs_only(result, "pip")
    assert facts(result) == {"awscli_version": "", "awscli_command": f"{root}/usr/local/bin/aws"}
    assert not root.exists()


# --- become: on by default, for the install steps -------------------------------------------

def test_become_defaults_to_true_in_defaults_and_argument_spec() -> None:
    defaults = yaml.safe_load((ROLE_DIR / "defaults" / "main.yml").read_text())
    spec = yaml.safe_load((ROLE_DIR / "meta" / "argument_specs.yml").read_text())

    assert defaults["awscli_become"] is True
    assert spec["argument_specs"]["main"]["options"]["awscli_become"]["default"] is True


@pytest.mark.parametrize(("settings", "escalated"), [({}, True), (NO_BECOME, False)],
                         ids=["default", "become-false"])
def test_install_steps_run_through_sudo_unless_become_is_false(tmp_path: Path, settings: dict[str, str],
                                                               escalated: bool) -> None:
    """A fake sudo first on PATH logs every escalation and runs the command as it is.

    Ansible skips a become to the user it already is (root, in CI) unless told to allow it.
    """
    fakes, root, log = tmp_path / "fakes", tmp_path / "root", tmp_path / "sudo.log"
    fake_command(fakes, "sudo", FAKE_SUDO.format(log=log))

    result = playbook(tmp_path, "--check", path_first=[fakes],
                      environment={"ANSIBLE_BECOME_ALLOW_SAME_USER": "True"}, awscli_install_method="pip",
                      awscli_root=str(root), awscli_region=REGION, **settings)

    assert result.rc == 0, str(result)
    assert result.task_status("Install awscli into its virtualenv") == "changed", str(result)
    calls = log.read_text().splitlines() if log.exists() else []
    assert all(re.match(r"-H -S -n +-u root /bin/sh -c ", call) for call in calls), calls
    # One sudo per install step, by module: the virtualenv, the bin directory and the link (this
    # host's python3 can build a venv: no apt). The .aws directory and the config file are the
    # user's own.
    modules = [re.search(r"AnsiballZ_(\w+)\.py", call).group(1) for call in calls]
    install_steps = ["pip", "file", "file"]
    assert modules == (install_steps if escalated else []), str(result)


def test_list_tasks_shows_every_install_path(tmp_path: Path) -> None:
    result = playbook(tmp_path, "--list-tasks", awscli_install_method="apt", awscli_region=REGION)

    assert result.rc == 0, str(result)
    for task in ("Look for an aws command on PATH", "Ask apt whether its package lists offer the packages",
                 "Refresh apt's package lists, which do not offer them yet",
                 "Install the awscli package", "Install what the virtualenv needs", "Install unzip",
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
