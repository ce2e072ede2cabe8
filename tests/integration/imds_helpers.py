"""Helpers for the IMDS emulator tests: sandbox instances and a running ``sandbox/imds.py``.

A running emulator is a ``launcher.Service``: ``url`` is its endpoint, ``output()`` its log.
"""

from __future__ import annotations

import functools
import json
import sys
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
from bad_day import HARNESS_APP_ID
from harness import ACCESS_KEY, REGION, SANDBOX, SECRET_KEY
from launcher import Service, clean_environment, start_service

IMDS_SCRIPT = SANDBOX / "imds.py"
# Generous: on a loaded 2-core machine a shutdown can take seconds, and the tests assert that
# every emulator exits cleanly (0), which a SIGKILL after a short wait would turn into a flake
# (20 s was once too short, with the integration leg's four workers and their sandboxes busy).
IMDS_STOP_TIMEOUT = 60.0
ACCOUNT_ID = "123456789012"  # moto's default account
TOKEN_HEADER = "X-aws-ec2-metadata-token"
TTL_HEADER = "X-aws-ec2-metadata-token-ttl-seconds"
CREDENTIALS_PATH = "/latest/meta-data/iam/security-credentials/"
DUMMY_KEYS = (ACCESS_KEY, SECRET_KEY)

# Loopback only: never through a proxy from the caller's environment.
_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


# --- HTTP -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Answer:
    status: int
    body: str

    def json(self) -> dict[str, Any]:
        return json.loads(self.body)


def http(method: str, url: str, headers: dict[str, str] | None = None, body: bytes | None = None) -> Answer:
    request = urllib.request.Request(url, data=body, method=method, headers=headers or {})
    try:
        with _OPENER.open(request, timeout=20) as response:
            return Answer(response.status, response.read().decode())
    except urllib.error.HTTPError as error:
        return Answer(error.code, error.read().decode())


# --- the emulator -----------------------------------------------------------------------------


def metadata_token(imds: Service, ttl: int = 60) -> str:
    """An IMDSv2 session token (``PUT /latest/api/token``)."""
    answer = http("PUT", f"{imds.url}/latest/api/token", {TTL_HEADER: str(ttl)})
    assert answer.status == 200, answer
    return answer.body


def metadata(imds: Service, path: str, token: str | None = None) -> Answer:
    """``GET path`` from the emulator, with ``token`` when given (IMDSv1 without)."""
    return http("GET", f"{imds.url}{path}", {TOKEN_HEADER: token} if token else {})


def role_credentials(imds: Service, role: str, token: str) -> dict[str, Any]:
    answer = metadata(imds, f"{CREDENTIALS_PATH}{role}", token)
    assert answer.status == 200, answer
    return answer.json()


def imds_env(keys: tuple[str, str] | None = DUMMY_KEYS) -> dict[str, str]:
    """The caller's environment without AWS settings; ``keys`` as the emulator's own credentials."""
    own = {"AWS_ACCESS_KEY_ID": keys[0], "AWS_SECRET_ACCESS_KEY": keys[1]} if keys else {}
    # AWS's side of the instance: a kind AWS on a bad day (sandbox/bad_day.py).
    return clean_environment({**own, "AWS_SDK_UA_APP_ID": HARNESS_APP_ID})


def imds_argv(aws_endpoint: str, instance_id: str, *extra_args: str) -> list[str]:
    return [
        *(sys.executable, str(IMDS_SCRIPT), "--instance-id", instance_id, "--aws-endpoint", aws_endpoint),
        *("--region", REGION, *extra_args),
    ]


def imds_command(aws_endpoint: str, instance_id: str, port_file: Path, *extra_args: str) -> list[str]:
    """The whole command line, for a test that starts the emulator its own way."""
    return imds_argv(aws_endpoint, instance_id, "--port", "0", "--port-file", str(port_file), *extra_args)


def start_imds(
    workdir: Path,
    aws_endpoint: str,
    instance_id: str,
    keys: tuple[str, str] = DUMMY_KEYS,
    extra_args: tuple[str, ...] = (),
) -> Service:
    """Start the emulator with ``keys`` in its environment; the caller must ``stop()`` it."""
    argv = imds_argv(aws_endpoint, instance_id, *extra_args)
    # The launcher's start deadline, as for the AWS server (15 s here was once too short under load).
    return start_service("imds", argv, workdir, imds_env(keys))


def instance_env(workdir: Path, imds: Service) -> dict[str, str]:
    """What a process on the instance sees: no keys, no AWS files, only the metadata endpoint."""
    return clean_environment(
        {
            "HOME": str(workdir),
            "AWS_EC2_METADATA_SERVICE_ENDPOINT": f"{imds.url}/",
            # The emulator makes API calls per request: more than botocore's 1 s on a busy machine.
            "AWS_METADATA_SERVICE_TIMEOUT": "5",
            "AWS_CONFIG_FILE": str(workdir / "no-aws-config"),
            "AWS_SHARED_CREDENTIALS_FILE": str(workdir / "no-aws-credentials"),
            "AWS_DEFAULT_REGION": REGION,
            "NO_PROXY": "127.0.0.1,localhost",
            "no_proxy": "127.0.0.1,localhost",
        }
    )


# --- sandbox resources ------------------------------------------------------------------------


@functools.lru_cache(maxsize=32)
def _client(endpoint: str, service: str, access_key: str, secret_key: str, token: str | None) -> Any:
    """Clients are reused: building one (the EC2 model above all) costs more than most calls."""
    return boto3.client(
        service,
        endpoint_url=endpoint,
        region_name=REGION,
        aws_access_key_id=access_key,
        aws_secret_access_key=secret_key,
        aws_session_token=token,
    )


@dataclass(frozen=True)
class Sandbox:
    """boto3 clients against the AWS stand-in, and builders for instance-role set-ups."""

    endpoint: str
    keys: tuple[str, str] = DUMMY_KEYS

    def client(self, service: str, keys: tuple[str, str] | None = None, token: str | None = None) -> Any:
        return _client(self.endpoint, service, *(keys or self.keys), token)

    def create_role(self, name: str, service: str = "ec2.amazonaws.com", bucket: str | None = None) -> None:
        """A role ``service`` may assume; with ``bucket``, an inline policy for s3:GetObject in it."""
        trust = {
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Principal": {"Service": service}, "Action": "sts:AssumeRole"}],
        }
        iam = self.client("iam")
        iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(trust))
        if bucket:
            policy = {
                "Version": "2012-10-17",
                "Statement": [
                    {"Effect": "Allow", "Action": "s3:GetObject", "Resource": f"arn:aws:s3:::{bucket}/*"}
                ],
            }
            iam.put_role_policy(RoleName=name, PolicyName="read-bucket", PolicyDocument=json.dumps(policy))

    def create_profile(self, name: str, role: str | None = None) -> str:
        iam = self.client("iam")
        arn = iam.create_instance_profile(InstanceProfileName=name)["InstanceProfile"]["Arn"]
        if role:
            iam.add_role_to_instance_profile(InstanceProfileName=name, RoleName=role)
        return arn

    def launch(
        self, profile_arn: str | None = None, http_tokens: str = "required", http_endpoint: str = "enabled"
    ) -> str:
        options = {"HttpTokens": http_tokens, "HttpEndpoint": http_endpoint}
        profile = {"IamInstanceProfile": {"Arn": profile_arn}} if profile_arn else {}
        instances = self.client("ec2").run_instances(
            ImageId="ami-12345678",
            InstanceType="t3.micro",
            MinCount=1,
            MaxCount=1,
            MetadataOptions=options,
            **profile,
        )["Instances"]
        return instances[0]["InstanceId"]

    def admin_keys(self) -> tuple[str, str]:
        """An IAM user allowed everything, for when moto enforces authorization."""
        iam = self.client("iam")
        iam.create_user(UserName="sandbox-admin")
        policy = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}
        iam.put_user_policy(UserName="sandbox-admin", PolicyName="admin", PolicyDocument=json.dumps(policy))
        key = iam.create_access_key(UserName="sandbox-admin")["AccessKey"]
        return key["AccessKeyId"], key["SecretAccessKey"]
