from __future__ import annotations

import pytest

from ansible_collections.keyless.aws.plugins.module_utils._client import (
    AWS_COMMON_ARGUMENT_SPEC,
    Clients,
    aws_argument_spec,
    validate_connection_params,
)
from ansible_collections.keyless.aws.plugins.module_utils._errors import ValidationError


def test_secrets_are_no_log():
    for option in ("access_key", "secret_key", "session_token"):
        assert AWS_COMMON_ARGUMENT_SPEC[option]["no_log"] is True


def test_env_fallbacks_match_amazon_aws_names():
    assert "AWS_REGION" in AWS_COMMON_ARGUMENT_SPEC["region"]["fallback"][1]
    assert "AWS_DEFAULT_REGION" in AWS_COMMON_ARGUMENT_SPEC["region"]["fallback"][1]
    assert AWS_COMMON_ARGUMENT_SPEC["profile"]["fallback"][1][0] == "AWS_PROFILE"
    assert "aws_endpoint_url" in AWS_COMMON_ARGUMENT_SPEC["endpoint_url"]["aliases"]


def test_argument_spec_composes_and_refuses_shadowing():
    spec = aws_argument_spec(name={"type": "str", "required": True})
    assert spec["name"]["required"] is True
    assert "region" in spec
    with pytest.raises(ValueError, match="region"):
        aws_argument_spec(region={"type": "str"})


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"access_key": "AKIA1"}, "secret_key"),
        ({"secret_key": "s"}, "access_key"),
        ({"access_key": "AKIA1", "secret_key": "s", "profile": "p"}, "profile"),
        ({"endpoint_url": "127.0.0.1:5000"}, "endpoint_url"),
    ],
)
def test_connection_params_are_validated(params, field):
    with pytest.raises(ValidationError) as err:
        validate_connection_params(params)
    assert err.value.field == field


def test_client_uses_endpoint_region_and_one_client_per_service(monkeypatch):
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    params = {"access_key": "AKIAUNIT", "secret_key": "s", "endpoint_url": "http://127.0.0.1:9"}
    clients = Clients(params)
    assert clients.iam is clients.iam
    assert clients.iam.meta.endpoint_url == "http://127.0.0.1:9"
    assert clients.iam.meta.region_name == "us-east-1"  # IAM falls back to its home region
    assert clients.iam.meta.config.retries["mode"] == "standard"


def test_ec2_without_region_is_a_clear_error(monkeypatch):
    for var in ("AWS_REGION", "AWS_DEFAULT_REGION", "AWS_PROFILE", "AWS_CONFIG_FILE"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", "/nonexistent/keyless-config")
    with pytest.raises(ValidationError, match="region: is required for ec2"):
        _unused = Clients({"access_key": "AKIAUNIT", "secret_key": "s"}).ec2


def test_endpoint_from_botocore_environment(monkeypatch):
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:7")
    clients = Clients({"access_key": "AKIAUNIT", "secret_key": "s", "region": "eu-west-1"})
    assert clients.iam.meta.endpoint_url == "http://127.0.0.1:7"


# --- aws_ca_bundle and aws_config (what users behind proxies need, as amazon.aws has them) ---

KEYS = {"access_key": "AKIAUNIT", "secret_key": "s", "region": "eu-west-1"}


def http_session(client):
    """botocore's HTTP session of a client: where ``verify`` and the proxies end up."""
    return client._endpoint.http_session


def test_ca_bundle_and_aws_config_options_mirror_amazon_aws():
    assert AWS_COMMON_ARGUMENT_SPEC["aws_ca_bundle"]["type"] == "path"
    assert AWS_COMMON_ARGUMENT_SPEC["aws_ca_bundle"]["fallback"][1] == ["AWS_CA_BUNDLE"]
    assert AWS_COMMON_ARGUMENT_SPEC["aws_config"]["type"] == "dict"


def test_ca_bundle_reaches_botocore_as_verify(tmp_path):
    bundle = tmp_path / "ca.pem"
    bundle.write_text("-----BEGIN CERTIFICATE-----\n")
    clients = Clients({**KEYS, "aws_ca_bundle": str(bundle), "validate_certs": True})
    assert http_session(clients.iam)._verify == str(bundle)
    assert http_session(clients.ec2)._verify == str(bundle)


def test_validate_certs_false_wins_over_a_ca_bundle(tmp_path):
    bundle = tmp_path / "ca.pem"
    bundle.write_text("")
    assert (
        http_session(Clients({**KEYS, "aws_ca_bundle": str(bundle), "validate_certs": False}).iam)._verify
        is False
    )


def test_a_missing_ca_bundle_is_a_validation_error_before_any_call(tmp_path):
    with pytest.raises(ValidationError) as err:
        validate_connection_params({**KEYS, "aws_ca_bundle": str(tmp_path / "missing.pem")})
    assert err.value.field == "aws_ca_bundle"
    assert "missing.pem" in err.value.rule


def test_aws_config_reaches_the_client_config_keeping_the_collection_defaults():
    clients = Clients(
        {**KEYS, "aws_config": {"connect_timeout": 5, "retries": {"max_attempts": 2}, "tcp_keepalive": True}}
    )
    config = clients.ec2.meta.config
    assert (config.connect_timeout, config.read_timeout, config.tcp_keepalive) == (5, 30, True)
    # max_attempts (retries after the first try) comes from aws_config; the mode stays standard.
    assert config.retries == {"mode": "standard", "total_max_attempts": 3}  # botocore counts the first try
    assert "keyless.aws/" in config.user_agent_extra


def test_aws_config_proxies_reach_the_http_session():
    proxies = {"https": "http://proxy.example:3128"}
    clients = Clients({**KEYS, "aws_config": {"proxies": proxies}})
    assert clients.iam.meta.config.proxies == proxies
    assert (
        http_session(clients.iam)._proxy_config.proxy_url_for("https://iam.amazonaws.com/")
        == proxies["https"]
    )


@pytest.mark.parametrize(
    ("aws_config", "field"),
    [
        ({"conect_timeout": 5}, "aws_config.conect_timeout"),
        ({"retries": {"max_attempt": 2}}, "aws_config.retries"),
        ({"retries": 3}, "aws_config.retries"),
        ({"proxies": "http://proxy:3128"}, "aws_config.proxies"),
    ],
)
def test_aws_config_is_validated_naming_the_field(aws_config, field):
    with pytest.raises(ValidationError) as err:
        validate_connection_params({**KEYS, "aws_config": aws_config})
    assert err.value.field == field


def test_a_proxy_password_is_a_no_log_value_and_the_rest_of_the_url_is_not():
    from ansible_collections.keyless.aws.plugins.module_utils._client import connection_no_log_values

    aws_config = {"proxies": {"https": "http://alice:s3cr%40t@proxy:3128", "http": "http://proxy:3128"}}
    assert connection_no_log_values({"aws_config": aws_config}) == {"s3cr%40t"}
    assert connection_no_log_values({"aws_config": None}) == set()


def test_an_ignored_ca_bundle_is_not_checked(tmp_path):
    validate_connection_params(
        {**KEYS, "aws_ca_bundle": str(tmp_path / "missing.pem"), "validate_certs": False}
    )
