"""IAM identity-policy evaluation as AWS documents it, for the sandbox's authorizer.

moto 5.2 evaluates identity policies against ``*`` for most requests and reads no condition key
but ``sts:ExternalId``, so a policy scoped to ARNs or conditions cannot be proven with it. This
module decides one request the way IAM's policy evaluation logic does for a single identity in a
single account ("Policy evaluation logic", IAM User Guide): an explicit Deny wins, otherwise an
Allow is needed, otherwise the request is implicitly denied.

Supported: Action/NotAction, Resource/NotResource (``*`` and ``?`` wildcards; actions compared
without case), and the condition operators below, with ``...IfExists`` and the
``ForAnyValue:``/``ForAllValues:`` set qualifiers. A key missing from the request matches no
positive operator and every negated one, as in IAM. An unknown operator is an error, never a
silent match. Policy variables (``${aws:username}``) are not expanded: they match only
themselves.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

Context = Mapping[str, Sequence[str]]


@dataclass(frozen=True)
class Check:
    """One authorization IAM makes for a request: an action on a resource, with its context."""

    action: str
    resource: str
    context: Mapping[str, tuple[str, ...]] = field(default_factory=dict)


@dataclass(frozen=True)
class Decision:
    allowed: bool
    # "explicit deny", "allowed" or "no identity-based policy allows"
    reason: str
    statement: str = ""


class PolicyError(ValueError):
    """The policy uses something this evaluator does not know: nothing is assumed about it."""


def _as_list(value: Any) -> list[Any]:
    return list(value) if isinstance(value, list) else [value]


def _wildcard(pattern: str, value: str, ignore_case: bool = False) -> bool:
    """IAM's wildcards: ``*`` any run of characters, ``?`` one; nothing else is special."""
    regex = "".join(".*" if char == "*" else "." if char == "?" else re.escape(char) for char in pattern)
    return re.fullmatch(regex, value, re.DOTALL | (re.IGNORECASE if ignore_case else 0)) is not None


def _string_equals(policy: str, value: str) -> bool:
    return policy == value


def _string_equals_ignore_case(policy: str, value: str) -> bool:
    return policy.lower() == value.lower()


def _string_like(policy: str, value: str) -> bool:
    return _wildcard(policy, value)


def _bool(policy: str, value: str) -> bool:
    return policy.lower() == value.lower()


# operator -> (compare one policy value with one request value, negated)
OPERATORS = {
    "StringEquals": (_string_equals, False),
    "StringNotEquals": (_string_equals, True),
    "StringEqualsIgnoreCase": (_string_equals_ignore_case, False),
    "StringNotEqualsIgnoreCase": (_string_equals_ignore_case, True),
    "StringLike": (_string_like, False),
    "StringNotLike": (_string_like, True),
    "ArnEquals": (_string_like, False),
    "ArnLike": (_string_like, False),
    "ArnNotEquals": (_string_like, True),
    "ArnNotLike": (_string_like, True),
    "Bool": (_bool, False),
}


def _lookup(context: Context, key: str) -> list[str] | None:
    """Condition keys are case-insensitive; their values are not."""
    wanted = key.lower()
    for name, values in context.items():
        if name.lower() == wanted:
            return list(values)
    return None


def _condition_holds(operator: str, key: str, policy_values: list[Any], context: Context) -> bool:
    qualifier, _sep, name = operator.rpartition(":")
    if_exists = name.endswith("IfExists") and name != "IfExists"
    base = name.removesuffix("IfExists") if if_exists else name
    found = _lookup(context, key)
    expected = [str(value).lower() if isinstance(value, bool) else str(value) for value in policy_values]
    if base == "Null":
        # Null: true means "the key is absent", false "the key is present".
        return (found is None) == (expected[0].lower() == "true")
    if base not in OPERATORS:
        raise PolicyError(f"condition operator {operator} is not supported by the sandbox's evaluator")
    compare, negated = OPERATORS[base]
    if found is None:
        if qualifier == "ForAllValues":
            return True
        return if_exists or (negated and qualifier != "ForAnyValue")

    def one(value: str) -> bool:
        return any(compare(pattern, value) for pattern in expected)

    if qualifier == "ForAllValues":
        matched = all(one(value) for value in found)
    elif qualifier in ("ForAnyValue", ""):
        matched = any(one(value) for value in found)
    else:
        raise PolicyError(f"condition qualifier {qualifier} is not supported by the sandbox's evaluator")
    return not matched if negated else matched


def conditions_hold(conditions: Mapping[str, Mapping[str, Any]], context: Context) -> bool:
    """Every operator's every key must hold (AND); a key's values are alternatives (OR)."""
    return all(
        _condition_holds(operator, key, _as_list(values), context)
        for operator, keys in conditions.items()
        for key, values in keys.items()
    )


def _matches(statement: Mapping[str, Any], check: Check) -> bool:
    if "Action" in statement:
        action_ok = any(_wildcard(p, check.action, True) for p in _as_list(statement["Action"]))
    else:
        action_ok = not any(
            _wildcard(p, check.action, True) for p in _as_list(statement.get("NotAction", []))
        )
    if not action_ok:
        return False
    if "Resource" in statement:
        resource_ok = any(_wildcard(p, check.resource) for p in _as_list(statement["Resource"]))
    else:
        resource_ok = not any(
            _wildcard(p, check.resource) for p in _as_list(statement.get("NotResource", []))
        )
    return resource_ok and conditions_hold(statement.get("Condition", {}), check.context)


def statements(policies: Iterable[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    return [statement for policy in policies for statement in _as_list(policy.get("Statement", []))]


def decide(policies: Iterable[Mapping[str, Any]], check: Check) -> Decision:
    """Explicit deny, else allow, else implicit deny (no identity-based policy allows)."""
    allowed_by = None
    for index, statement in enumerate(statements(policies)):
        if not _matches(statement, check):
            continue
        label = statement.get("Sid") or f"statement {index + 1}"
        if statement.get("Effect") == "Deny":
            return Decision(False, "explicit deny", label)
        if statement.get("Effect") == "Allow" and allowed_by is None:
            allowed_by = label
    if allowed_by is not None:
        return Decision(True, "allowed", allowed_by)
    return Decision(False, "no identity-based policy allows")
