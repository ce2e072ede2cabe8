"""sandbox/imds.py: an instance's role credentials reach botocore and the AWS CLI as on EC2."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import quote

import imds as emulator
import pytest
from awscalls import set_enforcement
from botocore.exceptions import ClientError
from imds_helpers import (
    ACCOUNT_ID,
    CREDENTIALS_PATH,
    IMDS_SCRIPT,
    IMDS_STOP_TIMEOUT,
    TTL_HEADER,
    Sandbox,
    http,
    imds_command,
    imds_env,
    instance_env,
    metadata,
    metadata_token,
    role_credentials,
    start_imds,
)
from launcher import Service, outlived, start_service

ROLE = "app-role"
PROFILE = "app-profile"
ALLOWED_BUCKET = "app-allowed"
OTHER_BUCKET = "app-other"
AWS_CLI = Path(sys.executable).parent / "aws"

StartImds = Callable[..., Service]


@dataclass(frozen=True)
class Instance:
    instance_id: str
    profile_arn: str


@pytest.fixture
def sandbox(aws: Service) -> Sandbox:
    return Sandbox(aws.url)


@pytest.fixture
def start(aws: Service, tmp_path: Path) -> Iterator[StartImds]:
    """``start(instance_id, keys=..., extra_args=...)``; every emulator is stopped afterwards."""
    started: list[Service] = []

    def start_one(instance_id: str, **kwargs: object) -> Service:
        imds = start_imds(tmp_path / f"imds{len(started)}", aws.url, instance_id, **kwargs)
        started.append(imds)
        return imds

    yield start_one
    for imds in started:  # SIGTERM to all first: they shut down in parallel
        imds.process.terminate()
    for imds in started:
        imds.stop(IMDS_STOP_TIMEOUT)
    # Every emulator exits cleanly on SIGTERM and takes its port file with it.
    assert [imds.process.returncode for imds in started] == [0] * len(started)
    assert not [imds for imds in started if imds.port_file.exists()]


def make_instance(sandbox: Sandbox, http_tokens: str = "required") -> Instance:
    sandbox.create_role(ROLE, bucket=ALLOWED_BUCKET)
    profile_arn = sandbox.create_profile(PROFILE, ROLE)
    return Instance(sandbox.launch(profile_arn, http_tokens=http_tokens), profile_arn)


@pytest.fixture
def instance(sandbox: Sandbox) -> Instance:
    """An IMDSv2-only instance whose profile holds a role EC2 may assume."""
    return make_instance(sandbox)


def assumed_role_arn(instance_id: str, role: str = ROLE) -> str:
    return f"arn:aws:sts::{ACCOUNT_ID}:assumed-role/{role}/{instance_id}"


def role_client(sandbox: Sandbox, service: str, credentials: dict[str, str]):
    keys = (credentials["AccessKeyId"], credentials["SecretAccessKey"])
    return sandbox.client(service, keys=keys, token=credentials["Token"])


def assert_no_secrets_logged(imds: Service, *secrets: str) -> None:
    output = imds.output()
    assert "GET /latest/meta-data/iam/security-credentials/" in output
    for secret in secrets:
        assert secret not in output


# --- the trust policy decision ----------------------------------------------------------------


def _trust(principal: object, action: object = "sts:AssumeRole", effect: str = "Allow") -> dict:
    return {"Effect": effect, "Principal": principal, "Action": action}


EC2 = {"Service": "ec2.amazonaws.com"}


@pytest.mark.parametrize(
    ("statements", "allowed"),
    [
        ([_trust(EC2)], True),
        ([_trust({"Service": ["lambda.amazonaws.com", "ec2.amazonaws.com"]})], True),
        ([_trust({"Service": "lambda.amazonaws.com"})], False),
        ([_trust({"AWS": f"arn:aws:iam::{ACCOUNT_ID}:root"})], False),
        ([_trust(EC2, "STS:assumerole")], True),
        ([_trust(EC2, "sts:*")], True),
        ([_trust(EC2, "*")], True),
        ([_trust(EC2, ["sts:TagSession", "sts:Assume*"])], True),
        ([_trust(EC2, "sts:AssumeRoleWithSAML")], False),
        ([_trust(EC2), _trust(EC2, "sts:AssumeRole", "Deny")], False),
        ([_trust(EC2), _trust("*", "sts:*", "Deny")], False),
        ([_trust(EC2), {"Effect": "Deny", "Principal": EC2, "NotAction": "s3:*"}], False),
        ([_trust(EC2), _trust({"Service": "lambda.amazonaws.com"}, "sts:AssumeRole", "Deny")], True),
    ],
)
def test_trust_policy_decision(statements: list[dict], allowed: bool) -> None:
    assert emulator.ec2_may_assume({"Version": "2012-10-17", "Statement": statements}) is allowed


def test_trust_policy_as_url_encoded_text_and_single_statement() -> None:
    assert emulator.ec2_may_assume(quote(json.dumps({"Statement": _trust(EC2)})))


# --- IMDSv2 tokens and metadata ---------------------------------------------------------------


def test_token_required_and_metadata(instance: Instance, start: StartImds) -> None:
    imds = start(instance.instance_id)
    assert metadata(imds, "/latest/meta-data/instance-id").status == 401
    assert metadata(imds, "/latest/meta-data/instance-id", "not-a-token").status == 401
    token = metadata_token(imds)
    listing = metadata(imds, "/latest/meta-data/", token)
    assert listing.status == 200
    assert {"instance-id", "iam/", "placement/", "ami-id"} <= set(listing.body.splitlines())
    assert metadata(imds, "/latest/meta-data/instance-id", token).body == instance.instance_id
    assert metadata(imds, "/latest/meta-data/placement/region", token).body == "us-east-1"
    assert metadata(imds, "/latest/meta-data/placement/availability-zone", token).body.startswith("us-east-1")
    assert metadata(imds, "/latest/meta-data/instance-type", token).body == "t3.micro"
    document = metadata(imds, "/latest/dynamic/instance-identity/document", token).json()
    assert document["instanceId"] == instance.instance_id
    assert document["accountId"] == ACCOUNT_ID
    assert document["imageId"] == "ami-12345678"
    assert metadata(imds, "/latest/meta-data/no-such-thing", token).status == 404


def test_token_requests_as_on_ec2(instance: Instance, start: StartImds) -> None:
    imds = start(instance.instance_id)
    url = f"{imds.url}/latest/api/token"
    for ttl in (None, "0", "21601", "ten"):
        headers = {TTL_HEADER: ttl} if ttl else {}
        assert http("PUT", url, headers).status == 400, ttl
    assert http("PUT", url, {TTL_HEADER: "21600"}).status == 200
    assert http("PUT", url, {TTL_HEADER: "60", "X-Forwarded-For": "10.0.0.1"}).status == 403
    short = metadata_token(imds, ttl=1)
    assert metadata(imds, "/latest/meta-data/instance-id", short).status == 200
    time.sleep(1.1)
    assert metadata(imds, "/latest/meta-data/instance-id", short).status == 401


def test_optional_tokens_allow_imdsv1(sandbox: Sandbox, start: StartImds) -> None:
    instance = make_instance(sandbox, http_tokens="optional")
    imds = start(instance.instance_id)
    assert metadata(imds, "/latest/meta-data/instance-id").body == instance.instance_id
    assert metadata(imds, CREDENTIALS_PATH).body == ROLE
    assert metadata(imds, "/latest/meta-data/instance-id", "forged").status == 401


def test_disabled_endpoint_refuses_everything(sandbox: Sandbox, start: StartImds) -> None:
    instance_id = sandbox.launch(http_tokens="optional", http_endpoint="disabled")
    imds = start(instance_id)
    assert http("PUT", f"{imds.url}/latest/api/token", {TTL_HEADER: "60"}).status == 403
    assert metadata(imds, "/latest/meta-data/instance-id").status == 403


# --- role credentials -------------------------------------------------------------------------


def test_role_credentials(instance: Instance, sandbox: Sandbox, start: StartImds) -> None:
    imds = start(instance.instance_id)
    token = metadata_token(imds)
    info = metadata(imds, "/latest/meta-data/iam/info", token).json()
    assert info["Code"] == "Success"
    assert info["InstanceProfileArn"] == instance.profile_arn
    assert info["InstanceProfileId"]
    assert metadata(imds, CREDENTIALS_PATH, token).body == ROLE
    assert metadata(imds, f"{CREDENTIALS_PATH}other-role", token).status == 404

    credentials = role_credentials(imds, ROLE, token)
    assert (credentials["Code"], credentials["Type"]) == ("Success", "AWS-HMAC")
    expiration = datetime.strptime(credentials["Expiration"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
    assert expiration > datetime.now(UTC)
    identity = role_client(sandbox, "sts", credentials).get_caller_identity()
    assert identity["Arn"] == assumed_role_arn(instance.instance_id)
    # Cached: no rotation while far from expiry.
    assert role_credentials(imds, ROLE, token)["AccessKeyId"] == credentials["AccessKeyId"]
    assert_no_secrets_logged(imds, credentials["SecretAccessKey"], credentials["Token"], token)


PROVIDER_CHAIN = """
import sys, boto3
session = boto3.Session()
print(session.get_credentials().method)
print(session.client("sts", endpoint_url=sys.argv[1]).get_caller_identity()["Arn"])
"""


def test_botocore_and_aws_cli_use_the_instance_role(
    instance: Instance, aws: Service, start: StartImds, tmp_path: Path
) -> None:
    imds = start(instance.instance_id)
    env = instance_env(tmp_path, imds)
    cli_command = [str(AWS_CLI), "sts", "get-caller-identity", "--endpoint-url", aws.url]
    # Both at once: the emulator serves concurrent credential fetches.
    boto, cli = (
        subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for command in (
            [sys.executable, "-c", PROVIDER_CHAIN, aws.url],
            [*cli_command, "--output", "json"],
        )
    )
    boto_out, boto_err = boto.communicate(timeout=60)
    cli_out, cli_err = cli.communicate(timeout=60)
    assert boto.returncode == 0, boto_err
    assert boto_out.split() == ["iam-role", assumed_role_arn(instance.instance_id)]
    assert cli.returncode == 0, cli_err
    assert json.loads(cli_out)["Arn"] == assumed_role_arn(instance.instance_id)
    # Both went through IMDSv2: a token each, then the credentials, never refused.
    log = imds.output()
    assert log.count("PUT /latest/api/token 200") == 2, log
    assert log.count(f"GET /latest/meta-data/iam/security-credentials/{ROLE} 200") == 2, log
    assert " 401" not in log


def test_credentials_rotate_before_expiry(instance: Instance, start: StartImds) -> None:
    imds = start(instance.instance_id, extra_args=("--session-duration", "900", "--refresh-margin", "899"))
    token = metadata_token(imds)
    first = role_credentials(imds, ROLE, token)
    time.sleep(1.1)
    second = role_credentials(imds, ROLE, token)
    assert second["Code"] == "Success"
    assert second["AccessKeyId"] != first["AccessKeyId"]
    assert_no_secrets_logged(imds, first["SecretAccessKey"], second["SecretAccessKey"], second["Token"])


def test_profile_change_switches_role(instance: Instance, sandbox: Sandbox, start: StartImds) -> None:
    imds = start(instance.instance_id)
    token = metadata_token(imds)
    role_credentials(imds, ROLE, token)
    sandbox.create_role("next-role")
    next_profile = sandbox.create_profile("next-profile", "next-role")
    ec2 = sandbox.client("ec2")
    filters = [{"Name": "instance-id", "Values": [instance.instance_id]}]
    association = ec2.describe_iam_instance_profile_associations(Filters=filters)
    ec2.replace_iam_instance_profile_association(
        IamInstanceProfile={"Arn": next_profile},
        AssociationId=association["IamInstanceProfileAssociations"][0]["AssociationId"],
    )
    time.sleep(emulator.INSTANCE_CACHE_SECONDS + 0.1)
    assert metadata(imds, CREDENTIALS_PATH, token).body == "next-role"
    credentials = role_credentials(imds, "next-role", token)
    identity = role_client(sandbox, "sts", credentials).get_caller_identity()
    assert identity["Arn"] == assumed_role_arn(instance.instance_id, "next-role")


def test_untrusted_role_gets_no_credentials(sandbox: Sandbox, start: StartImds) -> None:
    sandbox.create_role("lambda-role", service="lambda.amazonaws.com")
    imds = start(sandbox.launch(sandbox.create_profile("lambda-profile", "lambda-role")))
    token = metadata_token(imds)
    answer = metadata(imds, f"{CREDENTIALS_PATH}lambda-role", token)
    assert answer.status == 200
    document = answer.json()
    assert document["Code"] == "AssumeRoleUnauthorizedAccess"
    assert "EC2 cannot assume the role lambda-role" in document["Message"]
    assert not {"AccessKeyId", "SecretAccessKey", "Token"} & set(document)


def test_profile_without_role_or_no_profile(sandbox: Sandbox, start: StartImds) -> None:
    empty = start(sandbox.launch(sandbox.create_profile("empty-profile")))
    token = metadata_token(empty)
    assert metadata(empty, CREDENTIALS_PATH, token).status == 404
    assert metadata(empty, "/latest/meta-data/iam/info", token).json()["Code"] == "Success"
    bare = start(sandbox.launch())
    token = metadata_token(bare)
    assert metadata(bare, "/latest/meta-data/iam/info", token).status == 404
    assert metadata(bare, CREDENTIALS_PATH, token).status == 404
    assert "iam/" not in metadata(bare, "/latest/meta-data/", token).body.splitlines()


# --- moto with authorization enforcement ------------------------------------------------------


@pytest.fixture
def enforcement(aws: Service, sandbox: Sandbox) -> Iterator[Callable[[], None]]:
    """``enforce()`` switches moto's enforcement on; it is always switched off again."""
    yield lambda: set_enforcement(aws.url, on=True)
    set_enforcement(aws.url, on=False)
    # Off again: keys moto never issued are accepted, as every other test expects.
    stranger = sandbox.client("sts", keys=("AKIAUNKNOWNUNKNOWN00", "secret"))
    assert stranger.get_caller_identity()["Account"] == ACCOUNT_ID


def test_moto_auth_toggle_with_enforcement(
    instance: Instance, sandbox: Sandbox, start: StartImds, enforcement: Callable[[], None]
) -> None:
    admin = sandbox.admin_keys()
    s3 = sandbox.client("s3", keys=admin)
    for bucket in (ALLOWED_BUCKET, OTHER_BUCKET):
        s3.create_bucket(Bucket=bucket)
        s3.put_object(Bucket=bucket, Key="data.txt", Body=b"payload")
    enforcement()
    imds = start(instance.instance_id, keys=admin, extra_args=("--moto-auth-toggle",))
    token = metadata_token(imds)
    credentials = role_credentials(imds, ROLE, token)
    assert credentials["Code"] == "Success"

    role_s3 = role_client(sandbox, "s3", credentials)
    with pytest.raises(ClientError) as denied:
        role_s3.get_object(Bucket=OTHER_BUCKET, Key="data.txt")
    assert denied.value.response["Error"]["Code"] == "AccessDenied"
    assert role_s3.get_object(Bucket=ALLOWED_BUCKET, Key="data.txt")["Body"].read() == b"payload"
    # Enforcement is back on after the emulator's AssumeRole: unknown keys are refused.
    with pytest.raises(ClientError):
        sandbox.client("sts", keys=("AKIAUNKNOWNUNKNOWN00", "secret")).get_caller_identity()
    assert_no_secrets_logged(imds, credentials["SecretAccessKey"], credentials["Token"], admin[1], token)


# --- the process ------------------------------------------------------------------------------


# Starts the emulator, waits until it listens, then exits: the emulator is orphaned.
LAUNCHER = """
import subprocess, sys, time
from pathlib import Path
port_file = Path(sys.argv[1])
child = subprocess.Popen(sys.argv[2:], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
while not port_file.exists() and child.poll() is None:
    time.sleep(0.02)
print(child.pid)
"""


def test_exits_with_its_parent(instance: Instance, aws: Service, tmp_path: Path) -> None:
    port_file = tmp_path / "port"
    command = imds_command(aws.url, instance.instance_id, port_file, "--exit-with-parent")
    launcher = subprocess.run(
        [sys.executable, "-c", LAUNCHER, str(port_file), *command],
        env=imds_env(),
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    # Generous: it returns as soon as the orphan is gone; a loaded machine can take seconds.
    assert not outlived(int(launcher.stdout), grace=30)
    assert not port_file.exists()


VALID_ARGS = ["--instance-id", "i-0", "--aws-endpoint", "http://127.0.0.1:5000", "--region", "us-east-1"]


@pytest.mark.parametrize(
    "override",
    [("--host", "0.0.0.0"), ("--host", "192.0.2.1"), ("--aws-endpoint", "http://192.0.2.1:5000")],
)
def test_refuses_addresses_off_loopback(override: tuple[str, str], capsys: pytest.CaptureFixture) -> None:
    with pytest.raises(SystemExit):
        emulator._parse_args([*VALID_ARGS, *override])
    assert "loopback" in capsys.readouterr().err


def test_own_keys_come_from_the_environment_only() -> None:
    with pytest.raises(SystemExit):  # no option takes a key: argv is visible in ps
        emulator._parse_args([*VALID_ARGS, "--aws-secret-access-key", "secret"])
    with pytest.raises(SystemExit, match="AWS_ACCESS_KEY_ID"):
        emulator._own_credentials({"AWS_SECRET_ACCESS_KEY": "secret"})
    keys = emulator._own_credentials({"AWS_ACCESS_KEY_ID": "AKIAEXAMPLE", "AWS_SECRET_ACCESS_KEY": "secret"})
    assert keys == {"aws_access_key_id": "AKIAEXAMPLE", "aws_secret_access_key": "secret"}


def test_instance_found_by_name_once_it_exists(sandbox: Sandbox, aws: Service, tmp_path: Path) -> None:
    # The demo sandbox starts the emulator before site.yml launches the instance.
    argv = [sys.executable, str(IMDS_SCRIPT), "--instance-name", "named-box", "--aws-endpoint", aws.url]
    imds = start_service("imds", [*argv, "--region", "us-east-1"], tmp_path, imds_env())
    try:
        assert metadata(imds, "/latest/meta-data/instance-id").status == 404  # no instance yet
        instance = make_instance(sandbox)
        sandbox.client("ec2").create_tags(
            Resources=[instance.instance_id], Tags=[{"Key": "Name", "Value": "named-box"}]
        )
        time.sleep(1.1)  # past the emulator's 1 s instance cache
        answer = metadata(imds, "/latest/meta-data/instance-id", metadata_token(imds))
        assert (answer.status, answer.body) == (200, instance.instance_id)
    finally:
        imds.stop(IMDS_STOP_TIMEOUT)
