# Internal use only: not a public API of keyless.aws; it may change without notice.
"""Policy documents: load, normalize, compare, measure and validate.

This is the one normalizer of the collection: every module compares policies with
``policies_equivalent``, so "changed" never depends on how a document is written. Diffs show
documents as IAM stores them and, when a task changes one, as the user wrote it (never the
normalized form, which would read as if the user's policy had been rewritten).
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import unquote

from ansible_collections.keyless.aws.plugins.module_utils._errors import ValidationError
from ansible_collections.keyless.aws.plugins.module_utils._validate import PARTITIONS

# "IAM JSON policy elements: Version": without a Version element IAM applies 2008-10-17, which
# (unlike 2012-10-17) does not support policy variables. A missing Version therefore equals
# "2008-10-17" only; it differs from "2012-10-17", so a module asked for 2012-10-17 updates.
DEFAULT_VERSION = "2008-10-17"
VERSIONS = ("2012-10-17", "2008-10-17")

# IAM quotas ("IAM and AWS STS quotas"): white space is not counted. "Role trust policy length"
# is 2,048 characters by default and adjustable up to 4,096 (Service Quotas), so a document
# between the two may be accepted: only IAM knows the account's quota, and it answers
# LimitExceeded ("Cannot exceed quota for ACLSizePerRole") when one is over it. Locally, past the
# default is a warning and past the highest possible quota an error. Inline policies of one role
# share an aggregate of 10,240 characters.
TRUST_POLICY_DEFAULT_QUOTA = 2048
TRUST_POLICY_MAX_SIZE = 4096
INLINE_POLICIES_MAX_TOTAL = 10240

_TOP_KEYS = ("Id", "Statement", "Version")
_STATEMENT_KEYS = (
    "Action",
    "Condition",
    "Effect",
    "NotAction",
    "NotPrincipal",
    "NotResource",
    "Principal",
    "Resource",
    "Sid",
)
_PRINCIPAL_TYPES = ("AWS", "CanonicalUser", "Federated", "Service")
_KINDS = ("identity", "trust")
_ARTICLES = {"identity": "an", "trust": "a"}
_ACTION = re.compile(r"\*|[A-Za-z0-9*?-]+:[A-Za-z0-9_*?.-]+")
_ACCOUNT_ID = re.compile(r"\d{12}")
_ROOT_ARN = re.compile(rf"arn:(?:{'|'.join(map(re.escape, PARTITIONS))}):iam::(\d{{12}}):root")

Policy = dict[str, Any]
AccountForm = Callable[[str], str]


# --- loading -------------------------------------------------------------------------------


def _parse_object(text: str, field: str) -> Policy:
    try:
        parsed = json.loads(text)
    except ValueError as exc:
        raise ValidationError(field, f"must be valid JSON ({exc})") from None
    return _require_object(parsed, field)


def _require_object(value: object, field: str) -> Policy:
    if not isinstance(value, dict):
        raise ValidationError(field, f"must be a JSON object, not {type(value).__name__}")
    return value


def load_policy(value: str | dict | None, field: str) -> Policy | None:
    """A policy option as given by the user: a dict, a JSON object as text, or None."""
    if value is None:
        return None
    if isinstance(value, str):
        return _parse_object(value, field)
    return _require_object(value, field)


def _is_json(text: str) -> bool:
    try:
        json.loads(text)
    except ValueError:
        return False
    return True


def decode_policy(value: str | dict, field: str = "policy") -> Policy:
    """A policy document as AWS returns it: a dict, JSON text, or URL-encoded JSON text.

    The IAM query API returns documents URL-encoded (RFC 3986); boto3 decodes them to dicts,
    raw HTTP responses do not. Plain JSON is tried first, so a JSON document whose strings
    contain ``%`` is never unquoted.
    """
    if isinstance(value, str):
        text = value if _is_json(value) else unquote(value)
        return _parse_object(text, field)
    return _require_object(value, field)


# --- normalizing ---------------------------------------------------------------------------
#
# Account principals: IAM stores a bare account id "123456789012" as
# "arn:<partition>:iam::123456789012:root", where the partition is the account's own. A document
# alone cannot know that partition, so the two forms of the same document use different keys:
#   * normalize_policy (display) writes bare ids as "arn:aws:iam::<id>:root" and keeps root ARNs
#     of other partitions as they are: readable, and what IAM shows in the commercial partition;
#   * the comparison key reduces every root ARN, of any partition, and every bare id to the bare
#     id, so "123456789012" equals the root ARN in aws, aws-cn and aws-us-gov alike.
# Only one partition is reachable with one set of credentials, so this cannot hide a real change.


def _display_account(value: str) -> str:
    return f"arn:aws:iam::{value}:root" if _ACCOUNT_ID.fullmatch(value) else value


def _comparison_account(value: str) -> str:
    match = _ROOT_ARN.fullmatch(value)
    return match.group(1) if match else value


def _text(value: Any) -> str:
    """Condition values and the like compare as strings: true == "true", 5 == "5"."""
    return value if isinstance(value, str) else json.dumps(value, sort_keys=True)


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _canonical_set(values: Iterable[str]) -> str | list[str]:
    """Order-insensitive, deduplicated; one item is written as a scalar, as IAM users usually do."""
    items = sorted(set(values))
    return items[0] if len(items) == 1 else items


def _normalize_principal(value: Any, account_form: AccountForm) -> Any:
    if value == "*":
        value = {"AWS": "*"}
    if not isinstance(value, dict):
        return value
    return {
        kind: _canonical_set(
            account_form(_text(item)) if kind == "AWS" else _text(item) for item in _as_list(value[kind])
        )
        for kind in sorted(value)
    }


def _normalize_condition_block(block: Any) -> Any:
    """Condition key names are case-insensitive in IAM (aws:SourceIp == aws:sourceip)."""
    if not isinstance(block, dict):
        return block
    merged: dict[str, set[str]] = {}
    for key, values in block.items():
        merged.setdefault(str(key).lower(), set()).update(_text(item) for item in _as_list(values))
    return {key: _canonical_set(merged[key]) for key in sorted(merged)}


def _normalize_condition(value: Any) -> Any:
    """Operators (StringEquals, ForAnyValue:StringLike...) are case-sensitive: kept as written."""
    if not isinstance(value, dict):
        return value
    return {operator: _normalize_condition_block(value[operator]) for operator in sorted(value)}


def _normalize_element(key: str, value: Any, account_form: AccountForm) -> Any:
    if key in ("Action", "NotAction"):
        # Action names are case-insensitive ("IAM JSON policy elements: Action").
        return _canonical_set(_text(item).lower() for item in _as_list(value))
    if key in ("Resource", "NotResource"):
        return _canonical_set(_text(item) for item in _as_list(value))
    if key in ("Principal", "NotPrincipal"):
        return _normalize_principal(value, account_form)
    if key == "Condition":
        return _normalize_condition(value)
    return value


def _normalize_statement(statement: Any, account_form: AccountForm) -> Any:
    if not isinstance(statement, dict):
        return statement
    return {key: _normalize_element(key, statement[key], account_form) for key in sorted(statement)}


def _sort_key(value: Any) -> str:
    return json.dumps(value, sort_keys=True)


def _normalize_statements(value: Any, account_form: AccountForm) -> list[Any]:
    """Statements form a set: order does not matter and identical statements collapse."""
    unique = {_sort_key(s): s for s in (_normalize_statement(s, account_form) for s in _as_list(value))}
    return [unique[key] for key in sorted(unique)]


def _normalize(doc: Policy, account_form: AccountForm) -> Policy:
    doc = copy.deepcopy(doc)
    out = {key: value for key, value in doc.items() if key != "Statement"}
    out.setdefault("Version", DEFAULT_VERSION)
    if "Statement" in doc:
        out["Statement"] = _normalize_statements(doc["Statement"], account_form)
    return {key: out[key] for key in sorted(out)}


def normalize_policy(doc: Policy) -> Policy:
    """Canonical, readable form: documents IAM treats alike give equal results.

    Keys sorted; Statement always a list, sorted and deduplicated; Action/NotAction lower-cased;
    Action/Resource/principal/condition value sets sorted, deduplicated, one item as a scalar;
    Principal "*" as {"AWS": "*"}; bare account ids as arn:aws:iam::<id>:root; condition key
    names lower-cased and values as strings; a missing Version written as "2008-10-17".
    Sid and Id are kept as written: users set them deliberately and IAM stores them.
    """
    return _normalize(doc, _display_account)


def _comparison_key(doc: Policy) -> Policy:
    return _normalize(doc, _comparison_account)


def policies_equivalent(a: dict | str | None, b: dict | str | None) -> bool:
    """True when IAM treats both documents the same; None only equals None.

    Strings may be JSON or URL-encoded JSON, as ``decode_policy`` accepts.
    """
    if a is None or b is None:
        return a is None and b is None
    return _comparison_key(decode_policy(a)) == _comparison_key(decode_policy(b))


def policy_size(doc: Policy) -> int:
    """Characters counted against IAM quotas: the document without white space between tokens."""
    return len(json.dumps(doc, separators=(",", ":"), ensure_ascii=False))


# --- validating ----------------------------------------------------------------------------


def _check_keys(value: Policy, allowed: tuple[str, ...], path: str, where: str) -> None:
    for key in value:
        if key not in allowed:
            raise ValidationError(
                f"{path}.{key}", f"is not allowed in {where} (allowed: {', '.join(allowed)})"
            )


def _check_string(value: Policy, key: str, path: str) -> None:
    if key in value and not isinstance(value[key], str):
        raise ValidationError(f"{path}.{key}", "must be a string")


def _check_version(doc: Policy, field: str) -> None:
    if "Version" in doc and doc["Version"] not in VERSIONS:
        raise ValidationError(f"{field}.Version", f'must be "{VERSIONS[0]}" or "{VERSIONS[1]}"')


def _statements(doc: Policy, field: str) -> list[tuple[str, Any]]:
    """(JSON path, statement) pairs; a single statement may be written as an object."""
    path = f"{field}.Statement"
    if "Statement" not in doc:
        raise ValidationError(path, "is required")
    value = doc["Statement"]
    if isinstance(value, dict):
        return [(path, value)]
    if not isinstance(value, list) or not value:
        raise ValidationError(path, "must be an object or a non-empty list of objects")
    return [(f"{path}[{index}]", statement) for index, statement in enumerate(value)]


def _strings(value: Any, path: str) -> list[tuple[str, str]]:
    """(JSON path, item) pairs of an element that is a string or a non-empty list of strings."""
    if isinstance(value, str):
        return [(path, value)]
    if not isinstance(value, list) or not value or not all(isinstance(item, str) for item in value):
        raise ValidationError(path, "must be a string or a non-empty list of strings")
    return [(f"{path}[{index}]", item) for index, item in enumerate(value)]


def _only_one(statement: Policy, path: str, keys: tuple[str, str]) -> str:
    present = [key for key in keys if key in statement]
    if len(present) != 1:
        found = "both" if present else "neither"
        raise ValidationError(path, f"must contain exactly one of {keys[0]} or {keys[1]} (found {found})")
    return present[0]


def _forbid(statement: Policy, path: str, keys: tuple[str, ...], kind: str) -> None:
    for key in keys:
        if key in statement:
            raise ValidationError(f"{path}.{key}", f"is not allowed in {_ARTICLES[kind]} {kind} policy")


def _check_effect(statement: Policy, path: str) -> None:
    if "Effect" not in statement:
        raise ValidationError(f"{path}.Effect", "is required")
    if statement["Effect"] not in ("Allow", "Deny"):
        raise ValidationError(f"{path}.Effect", 'must be "Allow" or "Deny"')


def _check_actions(statement: Policy, path: str) -> None:
    key = _only_one(statement, path, ("Action", "NotAction"))
    for item_path, action in _strings(statement[key], f"{path}.{key}"):
        if not _ACTION.fullmatch(action):
            raise ValidationError(item_path, f'must be "*" or "<service>:<action>", not {action!r}')


def _check_resources(statement: Policy, path: str) -> None:
    key = _only_one(statement, path, ("Resource", "NotResource"))
    for item_path, resource in _strings(statement[key], f"{path}.{key}"):
        if resource != "*" and not resource.startswith("arn:"):
            raise ValidationError(item_path, f'must be "*" or an ARN, not {resource!r}')


def _check_principal(value: Any, path: str) -> None:
    if value == "*":
        return
    if not isinstance(value, dict) or not value:
        raise ValidationError(path, f'must be "*" or an object with keys {", ".join(_PRINCIPAL_TYPES)}')
    for kind, names in value.items():
        if kind not in _PRINCIPAL_TYPES:
            raise ValidationError(
                f"{path}.{kind}", f"is not a principal type ({', '.join(_PRINCIPAL_TYPES)})"
            )
        for item_path, name in _strings(names, f"{path}.{kind}"):
            if not name:
                raise ValidationError(item_path, "must not be empty")


def _check_identity_elements(statement: Policy, path: str) -> None:
    _forbid(statement, path, ("Principal", "NotPrincipal"), "identity")
    _check_resources(statement, path)


def _check_trust_elements(statement: Policy, path: str) -> None:
    # IAM rejects Resource in a role trust policy ("Has prohibited field Resource").
    _forbid(statement, path, ("Resource", "NotResource"), "trust")
    key = _only_one(statement, path, ("Principal", "NotPrincipal"))
    _check_principal(statement[key], f"{path}.{key}")


def _is_condition_value(value: Any) -> bool:
    return isinstance(value, str | int | float | bool)


def _check_condition_block(block: Any, path: str) -> None:
    if not isinstance(block, dict):
        raise ValidationError(path, "must be an object of condition keys and values")
    seen: dict[str, str] = {}
    for key, value in block.items():
        lowered = str(key).lower()
        if lowered in seen:
            raise ValidationError(
                f"{path}.{key}", f"duplicates {seen[lowered]} (condition key names are case-insensitive)"
            )
        seen[lowered] = str(key)
        values = value if isinstance(value, list) else [value]
        if not values or not all(_is_condition_value(item) for item in values):
            raise ValidationError(
                f"{path}.{key}", "must be a string, number, boolean or a non-empty list of them"
            )


def _check_condition(value: Any, path: str) -> None:
    if not isinstance(value, dict):
        raise ValidationError(path, "must be an object of condition operators")
    for operator, block in value.items():
        _check_condition_block(block, f"{path}.{operator}")


def _check_statement(statement: Any, path: str, kind: str) -> None:
    if not isinstance(statement, dict):
        raise ValidationError(path, "must be a JSON object")
    _check_keys(statement, _STATEMENT_KEYS, path, "a statement")
    _check_string(statement, "Sid", path)
    _check_effect(statement, path)
    _check_actions(statement, path)
    if kind == "identity":
        _check_identity_elements(statement, path)
    else:
        _check_trust_elements(statement, path)
    if "Condition" in statement:
        _check_condition(statement["Condition"], f"{path}.Condition")


def _check_size(doc: Policy, field: str, limit: int) -> None:
    size = policy_size(doc)
    if size > limit:
        raise ValidationError(
            field, f"must be at most {limit} characters, not counting white space (is {size})"
        )


def validate_policy(
    doc: Any, field: str, kind: str, *, trust_size_limit: int = TRUST_POLICY_MAX_SIZE
) -> None:
    """Reject a document IAM would reject, naming the JSON path and the rule.

    ``kind`` is "identity" (inline policy: Resource, no Principal; one document cannot exceed
    the role's aggregate inline quota) or "trust" (assume role policy: Principal, no Resource,
    at most ``trust_size_limit`` characters, the highest quota IAM can grant; past the default
    quota see ``trust_policy_size_warning``).
    """
    if kind not in _KINDS:
        raise ValueError(f"kind must be one of {_KINDS}, not {kind!r}")
    document = _require_object(doc, field)
    _check_keys(document, _TOP_KEYS, field, "a policy document")
    _check_version(document, field)
    _check_string(document, "Id", field)
    for path, statement in _statements(document, field):
        _check_statement(statement, path, kind)
    _check_size(document, field, trust_size_limit if kind == "trust" else INLINE_POLICIES_MAX_TOTAL)


def trust_policy_size_warning(doc: Policy, field: str) -> str | None:
    """A warning when a trust policy is over IAM's default quota but within the highest one."""
    size = policy_size(doc)
    if size <= TRUST_POLICY_DEFAULT_QUOTA:
        return None
    return (
        f"{field}: is {size} characters, over IAM's default quota of {TRUST_POLICY_DEFAULT_QUOTA} characters "
        f"(role trust policy length, adjustable up to {TRUST_POLICY_MAX_SIZE}); unless this "
        "account's quota was raised, IAM will refuse it with LimitExceeded"
    )


def validate_inline_total(sizes: dict[str, int], field: str) -> None:
    """The inline policies of one role (name -> ``policy_size``) must fit IAM's aggregate quota."""
    total = sum(sizes.values())
    if total > INLINE_POLICIES_MAX_TOTAL:
        raise ValidationError(
            field,
            f"the inline policies of one role must total at most {INLINE_POLICIES_MAX_TOTAL} characters, "
            f"not counting white space (these {len(sizes)} total {total})",
        )
