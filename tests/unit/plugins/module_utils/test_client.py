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
