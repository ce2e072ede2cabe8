"""The whole flow as a user runs it: site.yml on the sandbox, again, broken variants, teardown.

The instance is the lab instance (sandbox/lab.py): a fresh Debian userland reached over SSH as
its non-root login user, the AWS CLI installed by the awscli role's default (``auto``: the
distribution's package) with become, the local AWS endpoint and metadata service named only in
the image's own AWS config. The playbooks get nothing but the SSH connection settings.

The tests run in order on one sandbox (module scope): each starts from what the one before
left, as a user's successive runs would. test_site_variants.py runs other settings from nothing
on a sandbox of its own (a local instance), beside this module.
"""

from __future__ import annotations

import json
import re
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from flow import HOST, play, site
from recap import play_recap

from sandbox import Sandbox

LAB = True


def issued_credentials(sandbox: Sandbox) -> dict[str, str]:
    """What the metadata emulator hands the instance now (the same cached grant)."""
    assert sandbox.imds is not None
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    token_request = urllib.request.Request(
        f"{sandbox.imds.url}/latest/api/token",
        method="PUT",
        headers={"X-aws-ec2-metadata-token-ttl-seconds": "60"},
    )
    token = opener.open(token_request, timeout=10).read().decode()
    base = f"{sandbox.imds.url}/latest/meta-data/iam/security-credentials/"
    headers = {"X-aws-ec2-metadata-token": token}
    role = opener.open(urllib.request.Request(base, headers=headers), timeout=10).read().decode().strip()
    body = opener.open(urllib.request.Request(base + role, headers=headers), timeout=10).read()
    return json.loads(body)


def test_site_converges_and_verifies(sandbox: Sandbox, tmp_path: Path) -> None:
    rc, output = site(sandbox, tmp_path)
    assert rc == 0, output
    recap = play_recap(output)
    assert recap["localhost"]["changed"] == 4  # role, policy, profile, instance
    assert recap[HOST]["failed"] == 0
    # The summary's lines, not a word a task title also holds ("... is byte-identical").
    assert re.search(r'"caller: arn:aws:sts::123456789012:assumed-role/logsbucket-role/i-[0-9a-f]+"', output)
    assert re.search(r'"round trip: [1-9][0-9]* bytes, sha256 [0-9a-f]{64}, identical"', output), output


def test_the_cli_came_from_debian_installed_with_become_by_the_login_user(sandbox: Sandbox) -> None:
    """Read on the lab itself: the distribution's awscli, installed by root via sudo, used by admin."""
    assert sandbox.instance is not None
    shown = sandbox.instance.ssh("id -un; dpkg-query -W -f '${Status} ${Version}\n' awscli; aws --version")
    assert shown.returncode == 0, shown.stderr
    user, package, version = shown.stdout.splitlines()
    assert user == "admin"
    assert re.fullmatch(r"install ok installed 2\.\d+\.\d+-\d+", package), package
    assert version.startswith("aws-cli/2."), version
    # Nothing of the controller's: no AWS_* variable in the login session, no credentials file.
    env = sandbox.instance.ssh("env; ls ~/.aws")
    assert "AWS_" not in env.stdout
    assert env.stdout.split()[-1:] == ["config"], env.stdout


def test_second_run_changes_nothing_and_leaks_no_secret_at_vvv(sandbox: Sandbox, tmp_path: Path) -> None:
    rc, output = site(sandbox, tmp_path, verbosity=3)
    assert rc == 0, output
    assert all(counts["changed"] == 0 for counts in play_recap(output).values()), play_recap(output)
    credentials = issued_credentials(sandbox)
    secrets = [credentials["SecretAccessKey"], credentials["Token"], sandbox.admin_key[1]]
    for secret in secrets:
        assert secret not in output
    # The verification's no_log tasks (IMDS credentials) ran at -vvv and their results were hidden.
    hidden = '"censored": "the output has been hidden due to the fact that \'no_log: true\' was specified'
    assert hidden in output


def test_untrusted_role_fails_with_the_reason(sandbox: Sandbox, tmp_path: Path) -> None:
    rc, output = site(sandbox, tmp_path, keyless_trusted_service="lambda.amazonaws.com")
    assert rc != 0
    assert "the instance cannot assume the role logsbucket-role" in output
    assert "AssumeRoleUnauthorizedAccess" in output


def test_too_broad_policy_fails_naming_the_action(sandbox: Sandbox, tmp_path: Path) -> None:
    # The role is meant for put/get only, but the deployed policy grants s3:*.
    rc, output = site(
        sandbox,
        tmp_path,
        keyless_policy_actions=["s3:*"],
        keyless_verify_expected_actions=["s3:PutObject", "s3:GetObject"],
    )
    assert rc != 0
    assert "deleting the object (s3:DeleteObject) was allowed: the role is broader than asked" in output


def test_imdsv1_is_refused(sandbox: Sandbox) -> None:
    assert sandbox.imds is not None
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.build_opener(urllib.request.ProxyHandler({})).open(
            f"{sandbox.imds.url}/latest/meta-data/iam/security-credentials/", timeout=10
        )
    assert refused.value.code == 401


def test_teardown_leaves_nothing_and_is_idempotent(sandbox: Sandbox, tmp_path: Path) -> None:
    rc, output = play(sandbox, "teardown.yml", tmp_path)
    assert rc == 0, output
    assert play_recap(output)["localhost"]["changed"] == 4
    assert sandbox.leftovers() == {"roles": [], "instance_profiles": [], "instances": []}
    rc, output = play(sandbox, "teardown.yml", tmp_path)
    assert rc == 0, output
    assert play_recap(output)["localhost"]["changed"] == 0
