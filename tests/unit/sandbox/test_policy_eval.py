"""The sandbox's IAM policy evaluation: what AWS documents, as the authorizer uses it."""

from __future__ import annotations

from typing import Any

import pytest
from policy_eval import Check, PolicyError, decide


def allow(**extra: Any) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", **extra}]}


ROLE = "arn:aws:iam::123456789012:role/app"


def test_allow_needs_action_and_resource() -> None:
    policy = allow(Action="iam:GetRole", Resource=ROLE)
    assert decide([policy], Check("iam:GetRole", ROLE)).allowed
    assert decide([policy], Check("IAM:getrole", ROLE)).allowed  # actions ignore case
    assert not decide([policy], Check("iam:GetRole", f"{ROLE}2")).allowed
    assert not decide([policy], Check("iam:DeleteRole", ROLE)).allowed
    assert decide([policy], Check("iam:DeleteRole", ROLE)).reason == "no identity-based policy allows"


def test_wildcards_are_only_star_and_question_mark() -> None:
    policy = allow(Action="iam:Get*", Resource="arn:aws:iam::123456789012:role/ap?")
    assert decide([policy], Check("iam:GetRolePolicy", ROLE)).allowed
    assert not decide([policy], Check("iam:GetRole", "arn:aws:iam::123456789012:role/apps")).allowed
    bracket = allow(Action="iam:GetRole", Resource="arn:aws:iam::123456789012:role/[a]pp")
    assert not decide([bracket], Check("iam:GetRole", ROLE)).allowed


def test_explicit_deny_wins() -> None:
    deny = {"Statement": [{"Effect": "Deny", "Action": "*", "Resource": ROLE, "Sid": "No"}]}
    decision = decide([allow(Action="*", Resource="*"), deny], Check("iam:GetRole", ROLE))
    assert (decision.allowed, decision.reason, decision.statement) == (False, "explicit deny", "No")


def test_not_action_and_not_resource() -> None:
    policy = allow(NotAction="iam:DeleteRole", NotResource="arn:aws:iam::*:role/admin")
    assert decide([policy], Check("iam:GetRole", ROLE)).allowed
    assert not decide([policy], Check("iam:DeleteRole", ROLE)).allowed
    assert not decide([policy], Check("iam:GetRole", "arn:aws:iam::1:role/admin")).allowed


def test_string_equals_needs_the_key_present_and_equal() -> None:
    policy = allow(
        Action="ec2:RunInstances",
        Resource="*",
        Condition={"StringEquals": {"ec2:MetadataHttpTokens": "required"}},
    )
    assert decide([policy], Check("ec2:RunInstances", "x", {"ec2:metadatahttptokens": ("required",)})).allowed
    assert not decide(
        [policy], Check("ec2:RunInstances", "x", {"ec2:MetadataHttpTokens": ("optional",)})
    ).allowed
    assert not decide([policy], Check("ec2:RunInstances", "x")).allowed


def test_negated_operators_hold_for_a_missing_key_and_if_exists_too() -> None:
    negated = allow(Action="*", Resource="*", Condition={"StringNotEquals": {"aws:ResourceTag/team": "ops"}})
    assert decide([negated], Check("ec2:StopInstances", "x")).allowed
    assert not decide([negated], Check("ec2:StopInstances", "x", {"aws:ResourceTag/team": ("ops",)})).allowed
    if_exists = allow(
        Action="*", Resource="*", Condition={"StringEqualsIfExists": {"aws:ResourceTag/team": "ops"}}
    )
    assert decide([if_exists], Check("ec2:StopInstances", "x")).allowed
    assert not decide(
        [if_exists], Check("ec2:StopInstances", "x", {"aws:ResourceTag/team": ("dev",)})
    ).allowed


def test_several_keys_are_and_several_values_are_or() -> None:
    policy = allow(
        Action="*",
        Resource="*",
        Condition={"StringEquals": {"a:k": ["1", "2"], "b:k": "x"}, "StringLike": {"c:k": "pre*"}},
    )
    context = {"a:k": ("2",), "b:k": ("x",), "c:k": ("prefix",)}
    assert decide([policy], Check("s:A", "r", context)).allowed
    assert not decide([policy], Check("s:A", "r", {**context, "b:k": ("y",)})).allowed
    assert not decide([policy], Check("s:A", "r", {**context, "c:k": ("post",)})).allowed


def test_set_qualifiers_null_and_bool() -> None:
    all_values = allow(
        Action="*", Resource="*", Condition={"ForAllValues:StringEquals": {"aws:TagKeys": ["a", "b"]}}
    )
    assert decide([all_values], Check("s:A", "r", {"aws:TagKeys": ("a", "b")})).allowed
    assert not decide([all_values], Check("s:A", "r", {"aws:TagKeys": ("a", "c")})).allowed
    any_value = allow(Action="*", Resource="*", Condition={"ForAnyValue:StringEquals": {"aws:TagKeys": "c"}})
    assert decide([any_value], Check("s:A", "r", {"aws:TagKeys": ("a", "c")})).allowed
    assert not decide([any_value], Check("s:A", "r")).allowed
    null = allow(Action="*", Resource="*", Condition={"Null": {"aws:RequestTag/x": "true"}})
    assert decide([null], Check("s:A", "r")).allowed
    assert not decide([null], Check("s:A", "r", {"aws:RequestTag/x": ("1",)})).allowed
    boolean = allow(Action="*", Resource="*", Condition={"Bool": {"aws:SecureTransport": True}})
    assert decide([boolean], Check("s:A", "r", {"aws:SecureTransport": ("true",)})).allowed


def test_an_unknown_operator_is_an_error_not_a_match() -> None:
    policy = allow(Action="*", Resource="*", Condition={"NumericLessThan": {"s:n": "3"}})
    with pytest.raises(PolicyError, match="NumericLessThan"):
        decide([policy], Check("s:A", "r", {"s:n": ("1",)}))
