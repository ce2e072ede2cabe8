"""The local sandbox: AWS (moto) and the instance metadata service on 127.0.0.1.

What it sets up, and why:
- ``aws_server.py`` (moto plus a call recorder) stands in for AWS.
- A sandbox administrator (IAM user with an allow-all inline policy and an access key) is
  created while moto's authorization enforcement is off; then enforcement is switched on.
  From then on every call is checked against IAM policies, so the instance's least-privilege
  checks see real denials, and admin credentials leaking into the "instance" would make
  the verification fail.
- ``imds.py`` emulates the metadata service of the instance named ``instance_name``: it
  finds the instance by its Name tag when asked, so it can start before the instance exists.
- The "instance" is this machine over a local connection, with its own HOME and root under
  the sandbox directory, no controller credentials, and the AWS CLI pointed at the emulator
  (``AWS_EC2_METADATA_SERVICE_ENDPOINT``) and at moto (``AWS_ENDPOINT_URL``).
- Or, with ``lab=True``, the lab instance (``lab.py``): a Debian userland over SSH with a
  non-root login user and sudo, whose own ``~/.aws/config`` names the emulator and moto, as an
  image would; the playbooks then get only the SSH connection settings of the host.
Nothing here is used by the modules: they only see the standard endpoint settings.
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

SANDBOX = Path(__file__).resolve().parent
REPO = SANDBOX.parent
sys.path.insert(0, str(SANDBOX))

from authorize import GOVERNED_TAG  # noqa: E402
from awscalls import set_enforcement  # noqa: E402
from bad_day import HARNESS_APP_ID  # noqa: E402
from lab import Lab, write_ansible_cfg  # noqa: E402
from launcher import (  # noqa: E402
    Service,
    Started,
    clean_environment,
    start_aws_server,
    start_service,
    stop_recorded,
)

REGION = "us-east-1"
CONTROLLER_USER = "keyless-controller"
BOOTSTRAP_KEY = ("AKIASANDBOXBOOTSTRAP", "sandbox-bootstrap-secret-not-a-real-key")
ADMIN_POLICY = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}
# moto's built-in Canonical images are older releases; the sandbox looks up one of those.
SANDBOX_AMI_PATTERN = "ubuntu/images/hvm-ssd/ubuntu-*-amd64-server-*"


@dataclass
class Sandbox(Started):
    """Start with ``start()``, always ``stop()`` (or use it as a context manager)."""

    root: Path
    python: str = sys.executable
    instance_name: str = "keyless-logs-writer"
    bucket: str = "keyless-sandbox-logs"
    region: str = REGION
    # The AWS server's --bad-day spec (sandbox/bad_day.py): "off", "realistic", ...
    bad_day: str = "off"
    # Reach the instance over SSH on the lab (lab.py) instead of a local connection.
    lab: bool = False
    # How the lab's ansible.cfg sets up SSH (lab.SSH_SETTINGS): as a user's would, unless measured.
    ssh: str = "pipelining"
    aws: Service | None = None
    instance: Lab | None = None
    imds: Service | None = None
    admin_key: tuple[str, str] = ("", "")
    # An identity policy for the controller: playbooks then run as the IAM user
    # CONTROLLER_USER, which has exactly this policy and which the AWS server authorizes as AWS
    # does (authorize.py). None: they run as the sandbox administrator.
    controller_policy: dict[str, Any] | None = None
    controller_key: tuple[str, str] = ("", "")
    services: list[Service] = field(default_factory=list)

    @property
    def run_dir(self) -> Path:
        return self.root / "run"

    @property
    def instance_dir(self) -> Path:
        return self.root / "instance"

    @property
    def endpoint(self) -> str:
        assert self.aws is not None
        return self.aws.url

    def _start(self) -> None:
        stop_recorded(self.run_dir)
        self.aws = start_aws_server(
            self.run_dir, preload="iam,ec2,s3,sts", python=self.python, bad_day=self.bad_day
        )
        self.services.append(self.aws)
        self.admin_key = self._bootstrap()
        imds_argv = [
            self.python,
            str(SANDBOX / "imds.py"),
            "--instance-name",
            self.instance_name,
            "--aws-endpoint",
            self.endpoint,
            "--region",
            self.region,
            "--moto-auth-toggle",
        ]
        # The emulator is AWS's side of the instance: it meets a kind AWS on a bad day.
        imds_env = clean_environment({**self._admin_env(), "AWS_SDK_UA_APP_ID": HARNESS_APP_ID})
        self.imds = start_service("imds", imds_argv, self.run_dir, imds_env)
        self.services.append(self.imds)
        set_enforcement(self.endpoint, on=True)
        if self.lab:
            self._start_lab()
            return
        for path in ("home", "root", "tmp"):
            (self.instance_dir / path).mkdir(parents=True, exist_ok=True)

    def _start_lab(self) -> None:
        """The lab instance, its image's AWS config naming moto and the emulator (lab.py)."""
        assert self.imds is not None
        self.instance = Lab(
            self.instance_dir,
            hostname=self.instance_name,
            aws_config={
                "endpoint_url": self.endpoint,
                "ec2_metadata_service_endpoint": f"{self.imds.url}/",
                # As AWS_METADATA_SERVICE_TIMEOUT does for the local instance (below).
                "metadata_service_timeout": "5",
            },
        )
        self.instance.start()
        write_ansible_cfg(self.ansible_cfg, self.root / "ansible" / "cp", ssh=self.ssh)

    def _bootstrap(self) -> tuple[str, str]:
        """With enforcement off: the sandbox administrator and the bucket."""
        import boto3

        session = boto3.session.Session(*BOOTSTRAP_KEY, region_name=self.region)
        iam = session.client("iam", endpoint_url=self.endpoint)
        iam.create_user(UserName="sandbox-admin")
        iam.put_user_policy(
            UserName="sandbox-admin", PolicyName="admin", PolicyDocument=json.dumps(ADMIN_POLICY)
        )
        key = iam.create_access_key(UserName="sandbox-admin")["AccessKey"]
        session.client("s3", endpoint_url=self.endpoint).create_bucket(Bucket=self.bucket)
        if self.controller_policy is not None:
            self.controller_key = self._create_controller(iam, self.controller_policy)
        return key["AccessKeyId"], key["SecretAccessKey"]

    @staticmethod
    def _create_controller(iam: Any, policy: dict[str, Any]) -> tuple[str, str]:
        """The controller's IAM user: only ``policy``, authorized as AWS would (authorize.py)."""
        tag = dict(zip(("Key", "Value"), GOVERNED_TAG, strict=True))
        iam.create_user(UserName=CONTROLLER_USER, Tags=[tag])
        iam.put_user_policy(UserName=CONTROLLER_USER, PolicyName="keyless-controller",
                            PolicyDocument=json.dumps(policy))
        key = iam.create_access_key(UserName=CONTROLLER_USER)["AccessKey"]
        return key["AccessKeyId"], key["SecretAccessKey"]

    def _admin_env(self) -> dict[str, str]:
        return {"AWS_ACCESS_KEY_ID": self.admin_key[0], "AWS_SECRET_ACCESS_KEY": self.admin_key[1]}

    @property
    def ansible_cfg(self) -> Path:
        return self.root / "ansible.cfg"

    def stop(self) -> None:
        if self.instance is not None:
            self.instance.stop()
            self.instance = None
        for service in reversed(self.services):
            service.stop()
        self.services.clear()
        stop_recorded(self.run_dir)

    # --- what playbooks need --------------------------------------------------------------

    def controller_environment(self) -> dict[str, str]:
        """Environment of ansible-playbook on the controller: local endpoint, the sandbox
        administrator's key, or the controller user's when there is a controller policy."""
        none = str(self.root / "no-such-file")
        lab = {"ANSIBLE_CONFIG": str(self.ansible_cfg)} if self.instance is not None else {}
        key = self.controller_key if self.controller_policy is not None else self.admin_key
        return clean_environment(
            {
                **lab,
                "AWS_ACCESS_KEY_ID": key[0],
                "AWS_SECRET_ACCESS_KEY": key[1],
                "AWS_REGION": self.region,
                "AWS_ENDPOINT_URL": self.endpoint,
                "AWS_CONFIG_FILE": none,
                "AWS_SHARED_CREDENTIALS_FILE": none,
                "ANSIBLE_COLLECTIONS_PATH": str(REPO / ".build" / "collections"),
                "ANSIBLE_LOCALHOST_WARNING": "False",
                "ANSIBLE_INVENTORY_UNPARSED_WARNING": "False",
                "ANSIBLE_RETRY_FILES_ENABLED": "False",
                "ANSIBLE_HOME": str(self.root / "ansible"),
                "ANSIBLE_LOCAL_TEMP": str(self.root / "ansible" / "tmp"),
                "NO_PROXY": "127.0.0.1,localhost",
            }
        )

    def instance_environment(self) -> dict[str, str]:
        """Environment of every process on the sandbox "instance".

        Empty key variables hide the controller's credentials (botocore skips empty ones),
        so only the metadata service can provide credentials.
        """
        home = self.instance_dir / "home"
        assert self.imds is not None
        return {
            "HOME": str(home),
            "AWS_ACCESS_KEY_ID": "",
            "AWS_SECRET_ACCESS_KEY": "",
            "AWS_SESSION_TOKEN": "",
            "AWS_CONFIG_FILE": str(home / ".aws" / "config"),
            "AWS_SHARED_CREDENTIALS_FILE": str(home / ".aws" / "no-credentials"),
            "AWS_EC2_METADATA_SERVICE_ENDPOINT": f"{self.imds.url}/",
            # The emulator asks AWS (several API calls) where EC2's metadata service answers from
            # the host: on a busy machine that can pass botocore's 1 s default.
            "AWS_METADATA_SERVICE_TIMEOUT": "5",
            "AWS_EC2_METADATA_DISABLED": "false",
            "AWS_ENDPOINT_URL": self.endpoint,
        }

    def extra_vars(self) -> dict[str, Any]:
        """Variables that point site.yml at the sandbox; drop them for real AWS."""
        return {
            "keyless_bucket": self.bucket,
            "keyless_region": self.region,
            "keyless_instance_name": self.instance_name,
            "instance_ami_name_pattern": SANDBOX_AMI_PATTERN,
            "keyless_instance_host_vars": self.instance_host_vars(),
        }

    def instance_host_vars(self) -> dict[str, Any]:
        """The lab: only how to reach it. The local instance: where its parts live instead."""
        if self.instance is not None:
            return self.instance.host_vars()
        return {
            "ansible_connection": "local",
            "ansible_python_interpreter": self.python,
            "keyless_instance_environment": self.instance_environment(),
            "keyless_verify_workdir": str(self.instance_dir / "tmp"),
            "awscli_install_method": "pip",
            "awscli_become": False,
            "awscli_python": self.python,
            # awscli and its dependencies, each download checked against its locked hash.
            "awscli_pip_requirements": str(REPO / "requirements" / "awscli.txt"),
            "awscli_root": str(self.instance_dir / "root"),
            "awscli_home": str(self.instance_dir / "home"),
        }

    def leftovers(self) -> dict[str, list[str]]:
        """Roles, instance profiles and live instances left on the server (admin view)."""
        import boto3

        session = boto3.session.Session(*self.admin_key, region_name=self.region)
        iam = session.client("iam", endpoint_url=self.endpoint)
        ec2 = session.client("ec2", endpoint_url=self.endpoint)
        reservations = ec2.describe_instances(
            Filters=[{"Name": "instance-state-name", "Values": ["pending", "running", "stopping", "stopped"]}]
        )["Reservations"]
        return {
            "roles": [role["RoleName"] for role in iam.list_roles()["Roles"]],
            "instance_profiles": [
                p["InstanceProfileName"] for p in iam.list_instance_profiles()["InstanceProfiles"]
            ],
            "instances": [i["InstanceId"] for r in reservations for i in r["Instances"]],
        }
