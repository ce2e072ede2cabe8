# Internal use only: not a public API of keyless.aws; it may change without notice.
"""Argument spec for the common AWS options, and boto3 client creation from them.

Options and environment variables mirror what amazon.aws users know, so the same
``module_defaults`` and environments work. Endpoints come only from the ``endpoint_url``
option or botocore's own ``AWS_ENDPOINT_URL``/``AWS_ENDPOINT_URL_<SERVICE>`` variables:
nothing here knows about a sandbox.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ansible.module_utils.basic import env_fallback

from ansible_collections.keyless.aws.plugins.module_utils._errors import KeylessAwsError, ValidationError

COLLECTION_VERSION = "0.1.0"

# IAM is a global service; its API lives in us-east-1 for the aws partition. A region is
# still needed to sign requests, so IAM clients fall back to it when none is configured.
IAM_DEFAULT_REGION = "us-east-1"

AWS_COMMON_ARGUMENT_SPEC: dict[str, dict[str, Any]] = {
    "region": {
        "type": "str",
        "aliases": ["aws_region", "ec2_region"],
        "fallback": (env_fallback, ["AWS_REGION", "AWS_DEFAULT_REGION", "EC2_REGION"]),
    },
    "profile": {
        "type": "str",
        "aliases": ["aws_profile"],
        "fallback": (env_fallback, ["AWS_PROFILE", "AWS_DEFAULT_PROFILE"]),
    },
    "access_key": {
        "type": "str",
        "aliases": ["aws_access_key_id", "aws_access_key", "ec2_access_key"],
        "no_log": True,
        "fallback": (env_fallback, ["AWS_ACCESS_KEY_ID", "AWS_ACCESS_KEY", "EC2_ACCESS_KEY"]),
    },
    "secret_key": {
        "type": "str",
        "aliases": ["aws_secret_access_key", "aws_secret_key", "ec2_secret_key"],
        "no_log": True,
        "fallback": (env_fallback, ["AWS_SECRET_ACCESS_KEY", "AWS_SECRET_KEY", "EC2_SECRET_KEY"]),
    },
    "session_token": {
        "type": "str",
        "aliases": ["aws_session_token", "security_token", "aws_security_token"],
        "no_log": True,
        "fallback": (env_fallback, ["AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN"]),
    },
    "endpoint_url": {
        "type": "str",
        "aliases": ["aws_endpoint_url", "ec2_url"],
    },
    "validate_certs": {"type": "bool", "default": True},
}


def aws_argument_spec(**module_spec: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Compose a module's argument spec: its own options plus the common AWS ones."""
    overlap = set(module_spec) & set(AWS_COMMON_ARGUMENT_SPEC)
    if overlap:
        raise ValueError(f"module options shadow common AWS options: {sorted(overlap)}")
    spec = {name: dict(option) for name, option in AWS_COMMON_ARGUMENT_SPEC.items()}
    spec.update(module_spec)
    return spec


def validate_connection_params(params: Mapping[str, Any]) -> None:
    """Credentials come as a pair (or from a profile/the default chain), never half."""
    has_key, has_secret = bool(params.get("access_key")), bool(params.get("secret_key"))
    if has_key != has_secret:
        missing = "secret_key" if has_key else "access_key"
        raise ValidationError(missing, "access_key and secret_key must be given together")
    if params.get("profile") and has_key:
        raise ValidationError("profile", "give either profile or access_key/secret_key, not both")
    endpoint = params.get("endpoint_url")
    if endpoint and not endpoint.startswith(("http://", "https://")):
        raise ValidationError("endpoint_url", "must be an http:// or https:// URL")


class Clients:
    """One boto3 client per service per task, created on first use.

    boto3 is imported lazily: a task that fails validation never pays for the import.
    """

    def __init__(self, params: Mapping[str, Any]) -> None:
        self._params = dict(params)
        self._session: Any = None
        self._clients: dict[str, Any] = {}

    def _get_session(self) -> Any:
        if self._session is None:
            try:
                import boto3
            except ImportError as err:
                raise KeylessAwsError(
                    "boto3 and botocore are required on the host that runs this module "
                    f"(pip install boto3): {err}",
                    code="MissingDependency",
                ) from err
            self._session = boto3.session.Session(
                aws_access_key_id=self._params.get("access_key") or None,
                aws_secret_access_key=self._params.get("secret_key") or None,
                aws_session_token=self._params.get("session_token") or None,
                profile_name=self._params.get("profile") or None,
                region_name=self._params.get("region") or None,
            )
        return self._session

    def client(self, service: str) -> Any:
        if service not in self._clients:
            self._clients[service] = self._make(service)
        return self._clients[service]

    @property
    def iam(self) -> Any:
        return self.client("iam")

    @property
    def ec2(self) -> Any:
        return self.client("ec2")

    @property
    def region(self) -> str | None:
        return self._params.get("region") or self._get_session().region_name

    def _make(self, service: str) -> Any:
        session = self._get_session()  # first: it reports a missing boto3 clearly
        from botocore.config import Config

        region = self.region
        if region is None and service in ("iam", "sts"):
            region = IAM_DEFAULT_REGION
        if region is None:
            raise ValidationError("region", f"is required for {service} (or set AWS_REGION)")
        config = Config(
            retries={"mode": "standard", "max_attempts": 6},
            user_agent_extra=f"keyless.aws/{COLLECTION_VERSION}",
            connect_timeout=10,
            read_timeout=30,
        )
        kwargs: dict[str, Any] = {"region_name": region, "config": config}
        if self._params.get("endpoint_url"):
            kwargs["endpoint_url"] = self._params["endpoint_url"]
        if self._params.get("validate_certs") is False:
            kwargs["verify"] = False
        return session.client(service, **kwargs)
