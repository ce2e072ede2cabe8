# Internal use only: not a public API of keyless.aws; it may change without notice.
"""Local checks for IAM names, paths, ARNs, descriptions, tags and limits, and for EC2 tags.

Every check raises ``ValidationError(field, rule)`` before any API call, so the user learns
which option is wrong and what it must satisfy. The limits and character sets are the ones
the IAM API reference states for CreateRole, CreateInstanceProfile, PutRolePolicy and TagRole;
EC2 tags follow EC2's own (the ``Tag`` type of the EC2 API reference).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from typing import Any

from ansible_collections.keyless.aws.plugins.module_utils._errors import ValidationError

PARTITIONS = ("aws", "aws-cn", "aws-us-gov", "aws-iso", "aws-iso-b")

ROLE_NAME_MAX = 64
INSTANCE_PROFILE_NAME_MAX = 128
POLICY_NAME_MAX = 128
PATH_MAX = 512
# What IAM uses when CreateRole/CreateInstanceProfile get no Path; never compared on an update.
DEFAULT_PATH = "/"
ARN_MAX = 2048
SESSION_DURATION_MIN = 3600
SESSION_DURATION_MAX = 43200
DESCRIPTION_MAX = 1000
TAGS_MAX = 50
TAG_KEY_MAX = 128
TAG_VALUE_MAX = 256
# EC2 API reference, Tag: keys "accept a maximum of 127 Unicode characters", values 256. EC2
# allows any character ("Tag restrictions", EC2 User Guide), unlike IAM.
EC2_TAG_KEY_MAX = 127
EC2_TAG_VALUE_MAX = 256

# IAM documents names as [\w+=,.@-]+; in its API reference \w means ASCII word characters only.
_NAME_CHARS = re.compile(r"[A-Za-z0-9_+=,.@-]*")
_NAME_CHARS_TEXT = "ASCII letters, digits and _+=,.@-"
_PATH = re.compile(r"/|/[\x21-\x7e]+/")
_PATH_CHARS = re.compile(r"[\x21-\x7e]*")
_DESCRIPTION_CHARS = re.compile(r"[\t\n\r\x20-\x7e\xa1-\xff]*")
_ARN = re.compile(r"arn:([^:]*):([^:]*):([^:]*):([^:]*):(.*)", re.DOTALL)
_SERVICE = re.compile(r"[a-z0-9-]+")
_REGION = re.compile(r"[a-z0-9-]*")
# AWS managed policies use the account field "aws" (arn:aws:iam::aws:policy/...).
_ACCOUNT = re.compile(r"\d{12}|aws|")
_ACCOUNT_ID = re.compile(r"\d{12}")
_TAG_PUNCTUATION = frozenset("_.:/=+-@")


def _require_string(value: object, field: str) -> str:
    if not isinstance(value, str):
        raise ValidationError(field, f"must be a string, not {type(value).__name__}")
    return value


def _check_length(value: str, field: str, maximum: int, minimum: int = 1) -> None:
    if len(value) < minimum:
        raise ValidationError(
            field, "must not be empty" if minimum == 1 else f"must be at least {minimum} characters"
        )
    if len(value) > maximum:
        raise ValidationError(field, f"must be at most {maximum} characters (is {len(value)})")


def _first_outside(value: str, allowed: re.Pattern[str]) -> str | None:
    """The first character that ``allowed`` (a pattern of a character class repeated) rejects."""
    return next((char for char in value if not allowed.fullmatch(char)), None)


def _check_chars(value: str, field: str, allowed: re.Pattern[str], description: str) -> None:
    bad = _first_outside(value, allowed)
    if bad is not None:
        raise ValidationError(field, f"must contain only {description} (found {bad!r})")


def _check_name(value: object, field: str, maximum: int) -> None:
    text = _require_string(value, field)
    _check_length(text, field, maximum)
    _check_chars(text, field, _NAME_CHARS, _NAME_CHARS_TEXT)


def validate_role_name(value: object, field: str = "name") -> None:
    """IAM role names: 1-64 characters of ``[A-Za-z0-9_+=,.@-]``."""
    _check_name(value, field, ROLE_NAME_MAX)


def validate_instance_profile_name(value: object, field: str = "name") -> None:
    """Instance profile names: 1-128 characters of ``[A-Za-z0-9_+=,.@-]``."""
    _check_name(value, field, INSTANCE_PROFILE_NAME_MAX)


def validate_policy_name(value: object, field: str = "name") -> None:
    """Policy names (inline and managed): 1-128 characters of ``[A-Za-z0-9_+=,.@-]``."""
    _check_name(value, field, POLICY_NAME_MAX)


def validate_path(value: object, field: str = "path") -> None:
    """IAM paths: ``/`` or ``/segment/.../``, 1-512 printable ASCII characters without space."""
    text = _require_string(value, field)
    _check_length(text, field, PATH_MAX)
    _check_chars(text, field, _PATH_CHARS, "printable ASCII characters other than space")
    if not _PATH.fullmatch(text):
        raise ValidationError(field, 'must be "/" or begin and end with "/" (e.g. "/service-role/")')


def _split_arn(text: str, field: str) -> tuple[str, str, str, str, str]:
    match = _ARN.fullmatch(text)
    if match is None:
        raise ValidationError(
            field, "must be an ARN: arn:<partition>:<service>:<region>:<account>:<resource>"
        )
    partition, service, region, account, resource = match.groups()
    return partition, service, region, account, resource


def _check_arn_parts(parts: tuple[str, str, str, str, str], field: str) -> None:
    partition, service, region, account, resource = parts
    if partition not in PARTITIONS:
        raise ValidationError(
            field, f"must use a known partition ({', '.join(PARTITIONS)}), not {partition!r}"
        )
    if not _SERVICE.fullmatch(service):
        raise ValidationError(field, "must name a service in lower case letters, digits and -")
    if not _REGION.fullmatch(region):
        raise ValidationError(field, "must name a region in lower case letters, digits and - (or none)")
    if not _ACCOUNT.fullmatch(account):
        raise ValidationError(
            field, f"must have a 12-digit account id, 'aws' or nothing as account, not {account!r}"
        )
    if not resource:
        raise ValidationError(field, "must name a resource after the account")


def validate_arn(
    value: object, field: str, service: str | None = None, resource_type: str | None = None
) -> None:
    """A well-formed ARN, optionally of one service and one resource type (``policy``, ``role``...)."""
    text = _require_string(value, field)
    _check_length(text, field, ARN_MAX)
    _check_chars(text, field, _PATH_CHARS, "printable ASCII characters other than space")
    parts = _split_arn(text, field)
    _check_arn_parts(parts, field)
    if service is not None and parts[1] != service:
        raise ValidationError(field, f"must be an ARN of service {service!r}, not {parts[1]!r}")
    if resource_type is not None and not parts[4].startswith(f"{resource_type}/"):
        raise ValidationError(field, f'must be an ARN whose resource starts with "{resource_type}/"')


def validate_max_session_duration(value: object, field: str = "max_session_duration") -> None:
    """MaxSessionDuration: whole seconds from one to twelve hours."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValidationError(field, f"must be an integer number of seconds, not {type(value).__name__}")
    if not SESSION_DURATION_MIN <= value <= SESSION_DURATION_MAX:
        raise ValidationError(
            field, f"must be between {SESSION_DURATION_MIN} and {SESSION_DURATION_MAX} seconds (is {value})"
        )


def validate_description(value: object, field: str = "description") -> None:
    """Role descriptions: at most 1000 characters of IAM's set (tab, newlines, Latin-1 printable)."""
    if value is None:
        return
    text = _require_string(value, field)
    _check_length(text, field, DESCRIPTION_MAX, minimum=0)
    _check_chars(text, field, _DESCRIPTION_CHARS, "printable ASCII, Latin-1 letters, tabs and newlines")


def _is_tag_char(char: str) -> bool:
    # IAM states the tag charset as [\p{L}\p{Z}\p{N}_.:/=+\-@]: Unicode letters, separators, numbers.
    return unicodedata.category(char)[0] in "LZN" or char in _TAG_PUNCTUATION


def _check_tag_text(text: str, field: str, what: str) -> None:
    bad = next((char for char in text if not _is_tag_char(char)), None)
    if bad is not None:
        raise ValidationError(
            field, f"{what} must contain only letters, digits, spaces and _.:/=+-@ (found {bad!r})"
        )


def _check_tag_key(key: object, field: str, maximum: int = TAG_KEY_MAX) -> str:
    if not isinstance(key, str):
        raise ValidationError(field, f"key must be a string, not {type(key).__name__}")
    if not key:
        raise ValidationError(field, "key must not be empty")
    if len(key) > maximum:
        raise ValidationError(field, f"key must be at most {maximum} characters (is {len(key)})")
    if key.lower().startswith("aws:"):
        raise ValidationError(
            field,
            'key must not start with "aws:": AWS reserves it for the tags it sets itself '
            "(such as aws:cloudformation:stack-name), which nobody can add, change or remove",
        )
    return key


def _check_tag_value(value: object, field: str, maximum: int = TAG_VALUE_MAX) -> str:
    if not isinstance(value, str):
        raise ValidationError(field, f"value must be a string (quote it in YAML), not {type(value).__name__}")
    if len(value) > maximum:
        raise ValidationError(field, f"value must be at most {maximum} characters (is {len(value)})")
    return value


def _check_tag_dict(tags: object, field: str) -> dict[Any, Any]:
    if not isinstance(tags, dict):
        raise ValidationError(
            field, f"must be a dictionary of tag keys and values, not {type(tags).__name__}"
        )
    return tags


def validate_tags(tags: object, field: str = "tags") -> None:
    """IAM tags: at most 50; keys 1-128 and values 0-256 characters of IAM's set; no ``aws:`` keys."""
    if tags is None:
        return
    tags = _check_tag_dict(tags, field)
    if len(tags) > TAGS_MAX:
        raise ValidationError(field, f"must have at most {TAGS_MAX} tags (has {len(tags)})")
    for key, value in tags.items():
        _check_tag_text(_check_tag_key(key, f"{field}[{key!r}]"), f"{field}[{key!r}]", "key")
        _check_tag_text(_check_tag_value(value, f"{field}[{key!r}]"), f"{field}[{key!r}]", "value")


def validate_ec2_tags(tags: object, field: str = "tags", added: tuple[str, ...] = ()) -> None:
    """EC2 tags: keys 1-127 and values 0-256 characters, any character; no ``aws:`` keys.

    At most 50 tags per resource, counting the tags the module adds itself (``added``, e.g. the
    instance's ``Name`` tag); only ``aws:`` tags do not count, and those cannot be given anyway.
    """
    if tags is None:
        return
    tags = _check_tag_dict(tags, field)
    for key, value in tags.items():
        _check_tag_key(key, f"{field}[{key!r}]", EC2_TAG_KEY_MAX)
        _check_tag_value(value, f"{field}[{key!r}]", EC2_TAG_VALUE_MAX)
    count = len(set(tags) | set(added))
    if count > TAGS_MAX:
        included = f", the {' and '.join(added)} tag{'s' if len(added) > 1 else ''} included" if added else ""
        raise ValidationError(field, f"must have at most {TAGS_MAX} tags{included} (has {count})")


def _split_policy_name(value: str, field: str) -> tuple[str, str]:
    """``service-role/Foo`` -> (``/service-role/``, ``Foo``); a leading ``/`` is optional."""
    prefix, _unused, name = value.lstrip("/").rpartition("/")
    path = f"/{prefix}/" if prefix else "/"
    validate_path(path, field)
    validate_policy_name(name, field)
    return path, name


def managed_policy_candidates(
    value: str, partition: str = "aws", account_id: str | None = None, *, field: str = "managed_policies"
) -> list[str]:
    """The ARNs a managed policy reference may mean, most specific first.

    An ARN means itself. A name (optionally with a path, ``service-role/Foo``) may be a
    customer managed policy of this account or an AWS managed policy; callers try GetPolicy
    on each candidate in order and use the first that exists.
    """
    text = _require_string(value, field)
    if text.startswith("arn:"):
        validate_arn(text, field, service="iam", resource_type="policy")
        return [text]
    if partition not in PARTITIONS:
        raise ValueError(f"unknown partition {partition!r}")
    if account_id is not None and not _ACCOUNT_ID.fullmatch(account_id):
        raise ValueError(f"account_id must be 12 digits, not {account_id!r}")
    path, name = _split_policy_name(text, field)
    owners = [account_id, "aws"] if account_id else ["aws"]
    return [f"arn:{partition}:iam::{owner}:policy{path}{name}" for owner in owners]


def validate_wait_timeouts(params: Mapping[str, Any], *options: str) -> None:
    """Every named timeout option, when given, is 0 or more seconds."""
    for option in options:
        value = params.get(option)
        if value is not None and value < 0:
            raise ValidationError(option, "must be 0 or more seconds")
