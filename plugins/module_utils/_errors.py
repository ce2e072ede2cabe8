# Internal use only: not a public API of keyless.aws; it may change without notice.
"""One exception family for the collection: validation failures and AWS errors."""

from __future__ import annotations


class KeylessAwsError(Exception):
    """Base of every error the collection reports to the user."""

    def __init__(self, message: str, code: str | None = None, operation: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.operation = operation


class ValidationError(KeylessAwsError):
    """Bad user input, detected locally before any API call.

    ``field`` names the option (or the JSON path inside a policy document) and ``rule``
    says what the value must satisfy, so the message always reads ``<field>: <rule>``.
    """

    def __init__(self, field: str, rule: str) -> None:
        super().__init__(f"{field}: {rule}", code="ValidationError")
        self.field = field
        self.rule = rule


class AwsApiError(KeylessAwsError):
    """An AWS API call failed; ``code`` is AWS's error code (e.g. ``AccessDenied``)."""


# Codes that mean "the thing you asked about does not exist" on IAM and EC2 reads.
NOT_FOUND_CODES = frozenset(
    {
        "NoSuchEntity",
        "NoSuchEntityException",
        "InvalidInstanceID.NotFound",
        "InvalidAssociationID.NotFound",
    }
)


def error_code(err: Exception) -> str | None:
    """AWS error code of a botocore ClientError or of our own AwsApiError, else None."""
    if isinstance(err, AwsApiError):
        return err.code
    response = getattr(err, "response", None)
    if not isinstance(response, dict):
        return None
    return response.get("Error", {}).get("Code") or None


def is_not_found(err: Exception) -> bool:
    return error_code(err) in NOT_FOUND_CODES


def translate(err: Exception, operation: str) -> AwsApiError:
    """Turn a botocore error into one readable exception.

    AccessDenied (and every other code) is kept as is: a read that is denied must never be
    mistaken for "absent", or the module would go on to create what already exists.
    """
    code = error_code(err)
    if code is None:
        # BotoCoreError family: no credentials, endpoint unreachable, bad region...
        return AwsApiError(f"{operation} failed: {err}", code=type(err).__name__, operation=operation)
    message = getattr(err, "response", {}).get("Error", {}).get("Message") or str(err)
    hint = _HINTS.get(code, "")
    return AwsApiError(f"{operation} failed with {code}: {message}{hint}", code=code, operation=operation)


_HINTS = {
    "AccessDenied": " (the credentials in use lack this IAM/EC2 permission; nothing was assumed absent)",
    "AccessDeniedException": " (the credentials in use lack this permission; nothing was assumed absent)",
    "UnauthorizedOperation": " (the credentials in use lack this EC2 permission)",
    "InvalidClientTokenId": " (the access key is not known to this endpoint)",
    "SignatureDoesNotMatch": " (the secret key does not match the access key)",
    "ExpiredToken": " (the session token has expired)",
}
