from __future__ import annotations

from botocore.exceptions import ClientError, EndpointConnectionError

from ansible_collections.keyless.aws.plugins.module_utils._errors import (
    AwsApiError,
    ValidationError,
    error_code,
    is_not_found,
    translate,
)


def client_error(code, message="boom"):
    return ClientError({"Error": {"Code": code, "Message": message}}, "GetRole")


def test_validation_error_names_field_and_rule():
    err = ValidationError("max_session_duration", "must be between 3600 and 43200 seconds")
    assert str(err) == "max_session_duration: must be between 3600 and 43200 seconds"
    assert (err.field, err.code) == ("max_session_duration", "ValidationError")


def test_not_found_is_recognised_but_access_denied_is_not():
    assert is_not_found(client_error("NoSuchEntity"))
    assert not is_not_found(client_error("AccessDenied"))
    assert not is_not_found(ValueError("x"))


def test_translate_keeps_code_operation_and_message_with_hint():
    err = translate(client_error("AccessDenied", "User is not authorized"), "GetRole")
    assert isinstance(err, AwsApiError)
    assert err.code == "AccessDenied"
    assert err.operation == "GetRole"
    assert "GetRole failed with AccessDenied: User is not authorized" in err.message
    assert "nothing was assumed absent" in err.message


def test_translate_botocore_errors_without_response():
    err = translate(EndpointConnectionError(endpoint_url="http://127.0.0.1:1"), "GetRole")
    assert err.code == "EndpointConnectionError"
    assert "http://127.0.0.1:1" in err.message
    assert error_code(ValueError()) is None
