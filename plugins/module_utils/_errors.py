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
