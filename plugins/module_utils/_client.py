# Internal use only: not a public API of keyless.aws; it may change without notice.
"""Argument spec for the common AWS options, and boto3 client creation from them.

Options and environment variables mirror what amazon.aws users know, so the same
``module_defaults`` and environments work. Endpoints come only from the ``endpoint_url``
option or botocore's own ``AWS_ENDPOINT_URL``/``AWS_ENDPOINT_URL_<SERVICE>`` variables:
nothing here knows about a sandbox.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

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
    "aws_ca_bundle": {"type": "path", "fallback": (env_fallback, ["AWS_CA_BUNDLE"])},
    # Not no_log: that would censor every value in it (a timeout of 5 turns every "5" in the
    # output into asterisks). The one secret it can hold, a proxy URL's password, is censored
    # on its own (connection_no_log_values).
    "aws_config": {"type": "dict"},
}

# The collection's own botocore settings; aws_config overrides them key by key (retries too).
DEFAULT_CONFIG: dict[str, Any] = {
    "retries": {"mode": "standard", "max_attempts": 6},
    "connect_timeout": 10,
    "read_timeout": 30,
}
# botocore.config.Config options whose value must be a dictionary (botocore itself would fail
# later, or with an AttributeError, on anything else).
DICT_CONFIG_OPTIONS = ("retries", "proxies", "proxies_config", "s3", "client_context_params")


def aws_argument_spec(**module_spec: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Compose a module's argument spec: its own options plus the common AWS ones."""
    overlap = set(module_spec) & set(AWS_COMMON_ARGUMENT_SPEC)
    if overlap:
        raise ValueError(f"module options shadow common AWS options: {sorted(overlap)}")
    spec = {name: dict(option) for name, option in AWS_COMMON_ARGUMENT_SPEC.items()}
    spec.update(module_spec)
    return spec


def validate_connection_params(params: Mapping[str, Any]) -> None:
    """Checks of the connection options before any client exists.

    Credentials come as a pair (or from a profile/the default chain), never half; a CA bundle
    exists; aws_config holds only what botocore's ``Config`` takes.
    """
    has_key, has_secret = bool(params.get("access_key")), bool(params.get("secret_key"))
    if has_key != has_secret:
        missing = "secret_key" if has_key else "access_key"
        raise ValidationError(missing, "access_key and secret_key must be given together")
    if params.get("profile") and has_key:
        raise ValidationError("profile", "give either profile or access_key/secret_key, not both")
    endpoint = params.get("endpoint_url")
    if endpoint and not endpoint.startswith(("http://", "https://")):
        raise ValidationError("endpoint_url", "must be an http:// or https:// URL")
    bundle = verify_setting(params)
    if isinstance(bundle, str) and not os.path.exists(bundle):
        # botocore would only fail at the first HTTPS request, with an SSL error naming no option.
        raise ValidationError("aws_ca_bundle", f"no such CA bundle file or directory: {bundle}")
    if params.get("aws_config") is not None:
        validate_aws_config(params["aws_config"])


def validate_aws_config(aws_config: Mapping[str, Any]) -> None:
    """Only options of the installed botocore's ``Config``, with values it accepts."""
    config_class = _botocore_config()
    known = list(config_class.OPTION_DEFAULTS)
    for key in aws_config:
        if key not in known:
            raise ValidationError(
                f"aws_config.{key}", f"is not an option of botocore.config.Config (known: {', '.join(known)})"
            )
    for key in DICT_CONFIG_OPTIONS:
        if aws_config.get(key) is not None and not isinstance(aws_config[key], Mapping):
            raise ValidationError(f"aws_config.{key}", "must be a dictionary")
    try:
        config_class(**config_values(aws_config))
    except Exception as err:  # botocore's own checks of the values
        raise ValidationError(config_error_field(err), f"refused by botocore: {err}") from err


def config_error_field(err: Exception) -> str:
    """The aws_config option a botocore ``Config`` error is about."""
    from botocore import exceptions

    if isinstance(
        err,
        exceptions.InvalidRetryConfigurationError
        | exceptions.InvalidMaxRetryAttemptsError
        | exceptions.InvalidRetryModeError,
    ):
        return "aws_config.retries"
    if isinstance(err, exceptions.InvalidS3AddressingStyleError):
        return "aws_config.s3"
    return "aws_config"


def config_values(aws_config: Mapping[str, Any] | None) -> dict[str, Any]:
    """Arguments of botocore's ``Config``: the collection's defaults, then ``aws_config`` over them.

    ``retries`` is merged key by key (``{max_attempts: 2}`` keeps the standard retry mode) and the
    collection's user agent suffix stays in front of any the user adds.
    """
    user = dict(aws_config or {})
    values: dict[str, Any] = {**DEFAULT_CONFIG, **user}
    values["retries"] = {**DEFAULT_CONFIG["retries"], **(user.get("retries") or {})}
    agent = f"keyless.aws/{COLLECTION_VERSION}"
    values["user_agent_extra"] = (
        f"{agent} {user['user_agent_extra']}" if user.get("user_agent_extra") else agent
    )
    return values


def verify_setting(params: Mapping[str, Any]) -> bool | str | None:
    """botocore's ``verify``: False, a CA bundle path, or None for botocore's own default."""
    if params.get("validate_certs") is False:
        return False
    return params.get("aws_ca_bundle") or None


def connection_no_log_values(params: Mapping[str, Any]) -> set[str]:
    """Secrets inside connection options that no output may show: proxy URL passwords.

    ``aws_config.proxies`` maps a scheme to a proxy URL such as ``http://user:password@host:3128``.
    """
    aws_config = params.get("aws_config")
    proxies = aws_config.get("proxies") if isinstance(aws_config, Mapping) else None
    if not isinstance(proxies, Mapping):
        return set()
    secrets = set()
    for url in proxies.values():
        userinfo = urlsplit(str(url)).netloc.rpartition("@")[0]
        password = userinfo.partition(":")[2]
        if password:
            secrets.add(password)
    return secrets


def _botocore_config() -> Any:
    try:
        from botocore.config import Config
    except ImportError as err:
        raise missing_boto3(err) from err
    return Config


def missing_boto3(err: ImportError) -> KeylessAwsError:
    return KeylessAwsError(
        f"boto3 and botocore are required on the host that runs this module (pip install boto3): {err}",
        code="MissingDependency",
    )


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
                raise missing_boto3(err) from err
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
        region = self.region
        if region is None and service in ("iam", "sts"):
            region = IAM_DEFAULT_REGION
        if region is None:
            raise ValidationError("region", f"is required for {service} (or set AWS_REGION)")
        config = _botocore_config()(**config_values(self._params.get("aws_config")))
        kwargs: dict[str, Any] = {"region_name": region, "config": config}
        if self._params.get("endpoint_url"):
            kwargs["endpoint_url"] = self._params["endpoint_url"]
        verify = verify_setting(self._params)
        if verify is not None:
            kwargs["verify"] = verify
        return session.client(service, **kwargs)
