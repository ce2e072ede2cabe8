"""Policy documents: loading, the normalizer and comparison, sizes and validation."""

from __future__ import annotations

import copy
import json
import random
import re
from collections.abc import Callable
from typing import Any
from urllib.parse import quote

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ansible_collections.keyless.aws.plugins.module_utils._errors import ValidationError
from ansible_collections.keyless.aws.plugins.module_utils._policy import (
    decode_policy,
    load_policy,
    normalize_policy,
    policies_equivalent,
    policy_size,
    trust_policy_size_warning,
    validate_inline_total,
    validate_policy,
)

TRUST = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "Principal": {"Service": "ec2.amazonaws.com"},
            "Action": "sts:AssumeRole",
        }
    ],
}

IDENTITY = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Sid": "ReadBucket",
            "Effect": "Allow",
            "Action": ["s3:GetObject", "s3:ListBucket"],
            "Resource": ["arn:aws:s3:::bucket", "arn:aws:s3:::bucket/*"],
        }
    ],
}


def with_statement(base: dict, **changes: Any) -> dict:
    """``base`` with its first statement updated; a value of None removes the key."""
    doc = copy.deepcopy(base)
    statement = doc["Statement"][0]
    for key, value in changes.items():
        if value is None:
            statement.pop(key, None)
        else:
            statement[key] = value
    return doc


def rejects(doc: Any, kind: str, match: str, field: str = "policy", **kwargs: Any) -> ValidationError:
    with pytest.raises(ValidationError, match=match) as info:
        validate_policy(doc, field, kind, **kwargs)
    return info.value


# --- loading -------------------------------------------------------------------------------


def test_load_none_is_none():
    assert load_policy(None, "policy") is None


def test_load_dict_is_returned():
    assert load_policy(IDENTITY, "policy") == IDENTITY


def test_load_json_text():
    assert load_policy(json.dumps(TRUST, indent=4), "assume_role_policy") == TRUST


def test_load_invalid_json_names_field():
    with pytest.raises(ValidationError, match=r"^assume_role_policy: must be valid JSON \(Expecting") as info:
        load_policy("{'Version': '2012-10-17'}", "assume_role_policy")
    assert info.value.field == "assume_role_policy"


@pytest.mark.parametrize(
    ("text", "kind"), [("[]", "list"), ('"x"', "str"), ("5", "int"), ("null", "NoneType")]
)
def test_load_json_that_is_not_an_object(text, kind):
    with pytest.raises(ValidationError, match=rf"^policy: must be a JSON object, not {kind}$"):
        load_policy(text, "policy")


def test_load_rejects_other_types():
    with pytest.raises(ValidationError, match=r"^policy: must be a JSON object, not list$"):
        load_policy([TRUST], "policy")  # type: ignore[arg-type]


def test_decode_dict_json_and_url_encoded():
    text = json.dumps(TRUST)
    assert decode_policy(TRUST) == TRUST
    assert decode_policy(text) == TRUST
    assert decode_policy(quote(text)) == TRUST


def test_decode_does_not_unquote_plain_json():
    doc = with_statement(IDENTITY, Resource="arn:aws:s3:::bucket/a%20b")
    assert decode_policy(json.dumps(doc)) == doc


def test_decode_rejects_garbage():
    with pytest.raises(ValidationError, match=r"^policy: must be valid JSON"):
        decode_policy("%7Bnot json")


# --- normalizing: examples, one per rule ----------------------------------------------------


def test_key_order_is_irrelevant_and_output_sorted():
    reordered = {
        "Statement": [dict(reversed(list(IDENTITY["Statement"][0].items())))],
        "Version": "2012-10-17",
    }
    assert policies_equivalent(IDENTITY, reordered)
    assert list(normalize_policy(reordered)) == ["Statement", "Version"]
    assert list(normalize_policy(reordered)["Statement"][0]) == ["Action", "Effect", "Resource", "Sid"]


def test_single_statement_object_equals_list():
    single = dict(TRUST, Statement=TRUST["Statement"][0])
    assert policies_equivalent(TRUST, single)
    assert normalize_policy(single)["Statement"] == normalize_policy(TRUST)["Statement"]


@pytest.mark.parametrize("key", ["Action", "NotAction", "Resource", "NotResource"])
def test_scalar_equals_one_item_list(key):
    value = "s3:GetObject" if "Action" in key else "arn:aws:s3:::bucket"
    assert policies_equivalent(
        with_statement(IDENTITY, **{key: value}), with_statement(IDENTITY, **{key: [value]})
    )


def test_value_sets_are_sorted_and_deduplicated():
    doc = with_statement(IDENTITY, Action=["s3:ListBucket", "s3:GetObject", "s3:ListBucket"])
    assert normalize_policy(doc)["Statement"][0]["Action"] == ["s3:getobject", "s3:listbucket"]
    assert policies_equivalent(doc, IDENTITY)


def test_action_names_are_case_insensitive():
    assert policies_equivalent(with_statement(TRUST, Action="STS:AssumeRole"), TRUST)
    assert normalize_policy(with_statement(TRUST, Action="STS:AssumeRole"))["Statement"][0]["Action"] == (
        "sts:assumerole"
    )


def test_resources_are_case_sensitive():
    upper = with_statement(IDENTITY, Resource="arn:aws:s3:::Bucket")
    lower = with_statement(IDENTITY, Resource="arn:aws:s3:::bucket")
    assert not policies_equivalent(upper, lower)


@pytest.mark.parametrize("key", ["Principal", "NotPrincipal"])
def test_star_principal_equals_aws_star(key):
    star = with_statement(TRUST, **{"Principal": None, key: "*"})
    aws_star = with_statement(TRUST, **{"Principal": None, key: {"AWS": "*"}})
    aws_star_list = with_statement(TRUST, **{"Principal": None, key: {"AWS": ["*"]}})
    assert policies_equivalent(star, aws_star)
    assert policies_equivalent(star, aws_star_list)
    assert normalize_policy(star)["Statement"][0][key] == {"AWS": "*"}


def test_principal_lists_are_sets():
    one = with_statement(TRUST, Principal={"Service": ["lambda.amazonaws.com", "ec2.amazonaws.com"]})
    two = with_statement(TRUST, Principal={"Service": ["ec2.amazonaws.com", "lambda.amazonaws.com"] * 2})
    assert policies_equivalent(one, two)


@pytest.mark.parametrize("partition", ["aws", "aws-cn", "aws-us-gov"])
def test_bare_account_equals_root_arn_in_every_partition(partition):
    bare = with_statement(TRUST, Principal={"AWS": "123456789012"})
    root = with_statement(TRUST, Principal={"AWS": f"arn:{partition}:iam::123456789012:root"})
    assert policies_equivalent(bare, root)


def test_display_form_writes_bare_account_as_aws_root_arn():
    bare = with_statement(TRUST, Principal={"AWS": ["123456789012", "arn:aws-cn:iam::210987654321:root"]})
    assert normalize_policy(bare)["Statement"][0]["Principal"] == {
        "AWS": ["arn:aws-cn:iam::210987654321:root", "arn:aws:iam::123456789012:root"]
    }


def test_account_forms_do_not_touch_other_principals():
    role = with_statement(TRUST, Principal={"AWS": "arn:aws:iam::123456789012:role/deployer"})
    bare = with_statement(TRUST, Principal={"AWS": "123456789012"})
    other = with_statement(TRUST, Principal={"AWS": "210987654321"})
    assert not policies_equivalent(role, bare)
    assert not policies_equivalent(bare, other)
    service = with_statement(TRUST, Principal={"Service": "123456789012"})
    assert not policies_equivalent(service, bare)


def test_condition_key_names_are_case_insensitive():
    a = with_statement(IDENTITY, Condition={"IpAddress": {"aws:SourceIp": "10.0.0.0/8"}})
    b = with_statement(IDENTITY, Condition={"IpAddress": {"AWS:SOURCEIP": "10.0.0.0/8"}})
    assert policies_equivalent(a, b)


def test_condition_operators_are_case_sensitive():
    a = with_statement(IDENTITY, Condition={"StringEquals": {"s3:prefix": "home/"}})
    b = with_statement(IDENTITY, Condition={"stringequals": {"s3:prefix": "home/"}})
    assert not policies_equivalent(a, b)


def test_condition_values_are_case_sensitive():
    a = with_statement(IDENTITY, Condition={"StringEquals": {"s3:prefix": "home/"}})
    b = with_statement(IDENTITY, Condition={"StringEquals": {"s3:prefix": "Home/"}})
    assert not policies_equivalent(a, b)


@pytest.mark.parametrize(("typed", "text"), [(True, "true"), (False, "false"), (5, "5"), (3600, "3600")])
def test_condition_values_compare_as_strings(typed, text):
    a = with_statement(IDENTITY, Condition={"Bool": {"aws:SecureTransport": typed}})
    b = with_statement(IDENTITY, Condition={"Bool": {"aws:SecureTransport": [text]}})
    assert policies_equivalent(a, b)


def test_condition_value_lists_are_sets():
    a = with_statement(IDENTITY, Condition={"StringLike": {"s3:prefix": ["a/*", "b/*"]}})
    b = with_statement(IDENTITY, Condition={"StringLike": {"s3:prefix": ["b/*", "a/*", "a/*"]}})
    assert policies_equivalent(a, b)


def test_missing_version_means_2008_only():
    missing = {key: value for key, value in TRUST.items() if key != "Version"}
    assert policies_equivalent(missing, dict(TRUST, Version="2008-10-17"))
    assert not policies_equivalent(missing, TRUST)
    assert normalize_policy(missing)["Version"] == "2008-10-17"


def test_sid_is_compared():
    assert not policies_equivalent(with_statement(IDENTITY, Sid="Other"), IDENTITY)
    assert not policies_equivalent(with_statement(IDENTITY, Sid=None), IDENTITY)


def test_id_is_compared():
    assert not policies_equivalent(dict(IDENTITY, Id="a"), IDENTITY)


def test_statements_are_an_order_insensitive_set():
    first = IDENTITY["Statement"][0]
    second = {"Effect": "Deny", "Action": "s3:DeleteObject", "Resource": "*"}
    a = dict(IDENTITY, Statement=[first, second])
    b = dict(IDENTITY, Statement=[second, first, copy.deepcopy(second)])
    assert policies_equivalent(a, b)
    assert len(normalize_policy(b)["Statement"]) == 2


def test_none_only_equals_none():
    assert policies_equivalent(None, None)
    assert not policies_equivalent(None, TRUST)
    assert not policies_equivalent(TRUST, None)
    assert not policies_equivalent({}, None)


def test_strings_and_dicts_compare():
    assert policies_equivalent(json.dumps(TRUST), TRUST)
    assert policies_equivalent(TRUST, quote(json.dumps(TRUST)))


def test_normalize_does_not_modify_its_input():
    doc = with_statement(TRUST, Principal="*", Action=["STS:AssumeRole"])
    before = copy.deepcopy(doc)
    normalize_policy(doc)
    assert doc == before


def test_normalize_keeps_unknown_elements():
    doc = dict(IDENTITY, Extra={"b": 1})
    assert normalize_policy(doc)["Extra"] == {"b": 1}


def test_size_ignores_white_space_between_tokens():
    assert policy_size(TRUST) == len(json.dumps(TRUST, separators=(",", ":")))
    assert policy_size(json.loads(json.dumps(TRUST, indent=8))) == policy_size(TRUST)


def test_size_counts_characters_not_bytes():
    assert policy_size({"Id": "é"}) == len('{"Id":"é"}')


def sized(base: dict, size: int) -> dict:
    """``base`` padded (through the first statement's Sid) to exactly ``size`` characters."""
    doc = with_statement(base, Sid="")
    doc["Statement"][0]["Sid"] = "x" * (size - policy_size(doc))
    assert policy_size(doc) == size
    return doc


def test_trust_policy_at_most_4096_characters_the_highest_quota():
    validate_policy(sized(TRUST, 4096), "assume_role_policy", "trust")
    error = rejects(
        sized(TRUST, 4097),
        "trust",
        field="assume_role_policy",
        match=r"^assume_role_policy: must be at most 4096 characters, not counting white space \(is 4097\)$",
    )
    assert error.rule.startswith("must be at most 4096 characters")


def test_trust_policy_limit_can_be_set_by_the_caller():
    rejects(
        sized(TRUST, 2049), "trust", field="assume_role_policy", match="at most 2048", trust_size_limit=2048
    )


def test_identity_policy_cannot_exceed_the_aggregate_quota():
    validate_policy(sized(IDENTITY, 10240), "policy", "identity")
    rejects(sized(IDENTITY, 10241), "identity", match="^policy: must be at most 10240 characters")


def test_inline_total_at_limit_passes():
    validate_inline_total({"a": 5000, "b": 5240}, "policies")
    validate_inline_total({}, "policies")


def test_inline_total_over_limit_names_the_limit():
    with pytest.raises(ValidationError) as info:
        validate_inline_total({"a": 5000, "b": 5241}, "policy_document")
    assert info.value.field == "policy_document"
    assert "must total at most 10240 characters" in info.value.message
    assert "these 2 total 10241" in info.value.message


# --- validation: every rule accepted and rejected -------------------------------------------


def test_valid_documents_pass():
    validate_policy(TRUST, "assume_role_policy", "trust")
    validate_policy(IDENTITY, "policy", "identity")


def test_kind_must_be_known():
    with pytest.raises(ValueError, match="kind"):
        validate_policy(TRUST, "policy", "resource")


def test_document_must_be_object():
    rejects([TRUST], "trust", match=r"^policy: must be a JSON object, not list$")


@pytest.mark.parametrize("version", ["2012-10-17", "2008-10-17"])
def test_version_accepted(version):
    validate_policy(dict(IDENTITY, Version=version), "policy", "identity")


def test_version_may_be_missing():
    validate_policy({"Statement": IDENTITY["Statement"]}, "policy", "identity")


@pytest.mark.parametrize("version", ["2012-10-18", "", 2012, None])
def test_version_rejected(version):
    rejects(
        dict(IDENTITY, Version=version),
        "identity",
        match=r'^policy\.Version: must be "2012-10-17" or "2008-10-17"$',
    )


def test_id_accepted_and_must_be_string():
    validate_policy(dict(IDENTITY, Id="my-policy"), "policy", "identity")
    rejects(dict(IDENTITY, Id=5), "identity", match=r"^policy\.Id: must be a string$")


def test_unknown_top_level_key_rejected():
    rejects(
        dict(IDENTITY, Statements=[]),
        "identity",
        match=r"^policy\.Statements: is not allowed in a policy document \(allowed: Id, Statement, Version\)",
    )


def test_statement_required():
    rejects({"Version": "2012-10-17"}, "identity", match=r"^policy\.Statement: is required$")


@pytest.mark.parametrize("statement", [[], "x", None, 5])
def test_statement_must_be_object_or_non_empty_list(statement):
    rejects(
        dict(IDENTITY, Statement=statement),
        "identity",
        match=r"^policy\.Statement: must be an object or a non-empty list of objects$",
    )


def test_statement_items_must_be_objects():
    rejects(
        dict(IDENTITY, Statement=[IDENTITY["Statement"][0], "x"]),
        "identity",
        match=r"^policy\.Statement\[1\]: must be a JSON object$",
    )


def test_single_statement_object_accepted_and_path_has_no_index():
    validate_policy(dict(TRUST, Statement=TRUST["Statement"][0]), "p", "trust")
    bad = dict(TRUST, Statement=dict(TRUST["Statement"][0], Effect="allow"))
    rejects(bad, "trust", field="p", match=r'^p\.Statement\.Effect: must be "Allow" or "Deny"$')


@pytest.mark.parametrize("effect", ["Allow", "Deny"])
def test_effect_accepted(effect):
    validate_policy(with_statement(IDENTITY, Effect=effect), "policy", "identity")


@pytest.mark.parametrize("effect", ["allow", "DENY", "Permit", "", 1])
def test_effect_rejected_names_statement_index(effect):
    doc = dict(TRUST, Statement=[TRUST["Statement"][0], dict(TRUST["Statement"][0], Effect=effect)])
    error = rejects(
        doc,
        "trust",
        field="assume_role_policy",
        match=r'^assume_role_policy\.Statement\[1\]\.Effect: must be "Allow" or "Deny"$',
    )
    assert error.field == "assume_role_policy.Statement[1].Effect"
    assert error.rule == 'must be "Allow" or "Deny"'


def test_effect_required():
    rejects(
        with_statement(IDENTITY, Effect=None),
        "identity",
        match=r"^policy\.Statement\[0\]\.Effect: is required$",
    )


def test_sid_must_be_string():
    rejects(
        with_statement(IDENTITY, Sid=1), "identity", match=r"^policy\.Statement\[0\]\.Sid: must be a string$"
    )


def test_unknown_statement_key_rejected():
    rejects(
        with_statement(IDENTITY, Actions=["s3:GetObject"]),
        "identity",
        match=r"^policy\.Statement\[0\]\.Actions: is not allowed in a statement \(allowed: Action, ",
    )


@pytest.mark.parametrize(
    "actions",
    [
        "*",
        "s3:*",
        "s3:Get*",
        "ec2:Describe?nstances",
        ["sts:AssumeRole", "sts:TagSession"],
        "execute-api:Invoke",
    ],
)
@pytest.mark.parametrize("key", ["Action", "NotAction"])
def test_actions_accepted(key, actions):
    validate_policy(with_statement(TRUST, **{"Action": None, key: actions}), "p", "trust")


@pytest.mark.parametrize(
    ("actions", "path", "rule"),
    [
        ("s3", "Action", 'must be "*" or "<service>:<action>", not \'s3\''),
        ("s3:Get Object", "Action", 'must be "*" or "<service>:<action>"'),
        (
            ["s3:GetObject", "GetObject"],
            "Action[1]",
            'must be "*" or "<service>:<action>", not \'GetObject\'',
        ),
        ([], "Action", "must be a string or a non-empty list of strings"),
        (["s3:GetObject", 5], "Action", "must be a string or a non-empty list of strings"),
        ({"s3": "GetObject"}, "Action", "must be a string or a non-empty list of strings"),
    ],
)
def test_actions_rejected(actions, path, rule):
    rejects(
        with_statement(IDENTITY, Action=actions),
        "identity",
        match=rf"^policy\.Statement\[0\]\.{re.escape(path)}: {re.escape(rule)}",
    )


def test_exactly_one_of_action_or_not_action():
    both = with_statement(IDENTITY, NotAction="s3:DeleteObject")
    neither = with_statement(IDENTITY, Action=None)
    rejects(
        both,
        "identity",
        match=r"^policy\.Statement\[0\]: must contain exactly one of Action or NotAction \(found both\)$",
    )
    rejects(
        neither,
        "identity",
        match=r"^policy\.Statement\[0\]: must contain exactly one of Action or NotAction \(found neither\)$",
    )


@pytest.mark.parametrize("key", ["Resource", "NotResource"])
@pytest.mark.parametrize("resources", ["*", "arn:aws:s3:::bucket/${aws:username}/*", ["arn:aws:s3:::a", "*"]])
def test_identity_resources_accepted(key, resources):
    validate_policy(with_statement(IDENTITY, **{"Resource": None, key: resources}), "policy", "identity")


def test_identity_requires_exactly_one_of_resource_or_not_resource():
    rejects(
        with_statement(IDENTITY, Resource=None),
        "identity",
        match=r"^policy\.Statement\[0\]: must contain exactly one of Resource or NotResource \(found neither",
    )
    rejects(
        with_statement(IDENTITY, NotResource="*"),
        "identity",
        match=r"^policy\.Statement\[0\]: must contain exactly one of Resource or NotResource \(found both\)$",
    )


@pytest.mark.parametrize(
    ("resources", "path"),
    [("bucket", "Resource"), (["*", "s3:::bucket"], "Resource[1]")],
)
def test_identity_resources_must_be_star_or_arn(resources, path):
    rejects(
        with_statement(IDENTITY, Resource=resources),
        "identity",
        match=rf'^policy\.Statement\[0\]\.{re.escape(path)}: must be "\*" or an ARN',
    )


def test_identity_resources_must_be_strings():
    rejects(
        with_statement(IDENTITY, Resource=[]),
        "identity",
        match=r"^policy\.Statement\[0\]\.Resource: must be a string or a non-empty list of strings$",
    )


@pytest.mark.parametrize("key", ["Principal", "NotPrincipal"])
def test_identity_policy_rejects_principals(key):
    rejects(
        with_statement(IDENTITY, **{key: "*"}),
        "identity",
        match=rf"^policy\.Statement\[0\]\.{key}: is not allowed in an identity policy$",
    )


@pytest.mark.parametrize("key", ["Resource", "NotResource"])
def test_trust_policy_rejects_resources(key):
    rejects(
        with_statement(TRUST, **{key: "*"}),
        "trust",
        field="assume_role_policy",
        match=rf"^assume_role_policy\.Statement\[0\]\.{key}: is not allowed in a trust policy$",
    )


@pytest.mark.parametrize("key", ["Principal", "NotPrincipal"])
@pytest.mark.parametrize(
    "principal",
    [
        "*",
        {"AWS": "*"},
        {"AWS": ["123456789012", "arn:aws:iam::123456789012:role/x"]},
        {"Service": ["ec2.amazonaws.com"]},
        {"Federated": "cognito-identity.amazonaws.com"},
        {"CanonicalUser": "79a59df900b949e55d96a1e698fbacedfd6e09d98eacf8f8d5218e7cd47ef2be"},
        {"AWS": "123456789012", "Service": "ec2.amazonaws.com"},
    ],
)
def test_trust_principals_accepted(key, principal):
    validate_policy(with_statement(TRUST, **{"Principal": None, key: principal}), "p", "trust")


def test_trust_requires_exactly_one_of_principal_or_not_principal():
    rejects(
        with_statement(TRUST, Principal=None),
        "trust",
        match=r"^policy\.Statement\[0\]: must contain exactly one of Principal or NotPrincipal \(found n",
    )
    rejects(
        with_statement(TRUST, NotPrincipal="*"),
        "trust",
        match=r"^policy\.Statement\[0\]: must contain exactly one of Principal or NotPrincipal \(found both",
    )


@pytest.mark.parametrize(
    ("principal", "path", "rule"),
    [
        ("ec2.amazonaws.com", "Principal", 'must be "*" or an object with keys AWS, CanonicalUser'),
        ({}, "Principal", 'must be "*" or an object with keys'),
        (["*"], "Principal", 'must be "*" or an object with keys'),
        ({"aws": "*"}, "Principal.aws", "is not a principal type (AWS, CanonicalUser, Federated, Service)"),
        ({"Service": []}, "Principal.Service", "must be a string or a non-empty list of strings"),
        ({"AWS": ["123456789012", ""]}, "Principal.AWS[1]", "must not be empty"),
    ],
)
def test_trust_principals_rejected(principal, path, rule):
    rejects(
        with_statement(TRUST, Principal=principal),
        "trust",
        match=rf"^policy\.Statement\[0\]\.{re.escape(path)}: {re.escape(rule)}",
    )


@pytest.mark.parametrize(
    "condition",
    [
        {},
        {"Bool": {"aws:SecureTransport": True}},
        {"NumericLessThan": {"aws:MultiFactorAuthAge": 3600}},
        {"IpAddress": {"aws:SourceIp": ["10.0.0.0/8", "192.168.0.0/16"]}},
        {
            "StringEquals": {"sts:ExternalId": "x", "aws:PrincipalTag/team": "ops"},
            "Null": {"aws:TokenIssueTime": "false"},
        },
    ],
)
def test_conditions_accepted(condition):
    validate_policy(with_statement(TRUST, Condition=condition), "p", "trust")
    validate_policy(with_statement(IDENTITY, Condition=condition), "p", "identity")


@pytest.mark.parametrize(
    ("condition", "path", "rule"),
    [
        ("aws:SecureTransport", "Condition", "must be an object of condition operators"),
        ([{"Bool": {}}], "Condition", "must be an object of condition operators"),
        ({"Bool": "true"}, "Condition.Bool", "must be an object of condition keys and values"),
        ({"Bool": ["true"]}, "Condition.Bool", "must be an object of condition keys and values"),
        (
            {"Bool": {"aws:x": None}},
            "Condition.Bool.aws:x",
            "must be a string, number, boolean or a non-empty list",
        ),
        (
            {"Bool": {"aws:x": []}},
            "Condition.Bool.aws:x",
            "must be a string, number, boolean or a non-empty list",
        ),
        ({"Bool": {"aws:x": {"a": 1}}}, "Condition.Bool.aws:x", "must be a string, number, boolean"),
        (
            {"StringEquals": {"aws:SourceVpc": "a", "AWS:SOURCEVPC": "b"}},
            "Condition.StringEquals.AWS:SOURCEVPC",
            "duplicates aws:SourceVpc (condition key names are case-insensitive)",
        ),
    ],
)
def test_conditions_rejected(condition, path, rule):
    rejects(
        with_statement(IDENTITY, Condition=condition),
        "identity",
        match=rf"^policy\.Statement\[0\]\.{re.escape(path)}: {re.escape(rule)}",
    )


# --- property-based: random valid policies, rewrites that keep meaning, edits that change it --

ACTIONS = [
    "s3:GetObject",
    "s3:PutObject",
    "s3:ListBucket",
    "s3:Get*",
    "ec2:DescribeInstances",
    "sts:AssumeRole",
    "sts:TagSession",
    "iam:PassRole",
    "logs:CreateLogStream",
    "*",
]
RESOURCES = [
    "*",
    "arn:aws:s3:::bucket-a",
    "arn:aws:s3:::bucket-a/*",
    "arn:aws:s3:::Bucket-B/Home/*",
    "arn:aws:logs:us-east-1:123456789012:log-group:/app:*",
    "arn:aws:iam::123456789012:role/deployer",
]
AWS_PRINCIPALS = [
    "123456789012",
    "210987654321",
    "arn:aws-cn:iam::111122223333:root",
    "arn:aws:iam::444455556666:root",
    "arn:aws:iam::123456789012:role/deployer",
    "*",
]
SERVICE_PRINCIPALS = ["ec2.amazonaws.com", "lambda.amazonaws.com", "ecs-tasks.amazonaws.com"]
OPERATORS = ["StringEquals", "StringLike", "Bool", "NumericLessThan", "IpAddress", "ForAnyValue:StringEquals"]
CONDITION_KEYS = [
    "aws:SourceIp",
    "aws:SecureTransport",
    "aws:PrincipalTag/Team",
    "s3:prefix",
    "sts:ExternalId",
    "aws:MultiFactorAuthAge",
]
CONDITION_VALUES = [
    "true",
    "false",
    "5",
    "3600",
    "10.0.0.0/8",
    "team-a",
    "Team-A",
    "home/*",
    7,
    42,
    True,
    False,
]
PARTITIONS = ["aws", "aws-cn", "aws-us-gov"]
ACCOUNT = re.compile(r"\d{12}")
ROOT = re.compile(r"arn:([a-z-]+):iam::(\d{12}):root")


def as_text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value)


def value_lists(pool: list, max_size: int = 3, unique_by: Callable = as_text) -> st.SearchStrategy:
    return st.lists(st.sampled_from(pool), min_size=1, max_size=max_size, unique_by=unique_by)


conditions = st.dictionaries(
    st.sampled_from(OPERATORS),
    st.dictionaries(st.sampled_from(CONDITION_KEYS), value_lists(CONDITION_VALUES), min_size=1, max_size=2),
    min_size=1,
    max_size=2,
)

principals = st.one_of(
    st.just("*"),
    st.fixed_dictionaries({"AWS": value_lists(AWS_PRINCIPALS)}),
    st.fixed_dictionaries({"Service": value_lists(SERVICE_PRINCIPALS)}),
    st.fixed_dictionaries({"AWS": value_lists(AWS_PRINCIPALS), "Service": value_lists(SERVICE_PRINCIPALS)}),
)


@st.composite
def statements(draw: st.DrawFn, kind: str, sid: str) -> dict:
    statement: dict[str, Any] = {"Sid": sid, "Effect": draw(st.sampled_from(["Allow", "Deny"]))}
    action_key = draw(st.sampled_from(["Action", "NotAction"]))
    statement[action_key] = draw(value_lists(ACTIONS, 4, str.lower))
    if kind == "identity":
        statement[draw(st.sampled_from(["Resource", "NotResource"]))] = draw(value_lists(RESOURCES, 4))
    else:
        statement[draw(st.sampled_from(["Principal", "NotPrincipal"]))] = draw(principals)
    if draw(st.booleans()):
        statement["Condition"] = draw(conditions)
    return statement


@st.composite
def policies(draw: st.DrawFn, kind: str | None = None) -> tuple[str, dict]:
    kind = kind or draw(st.sampled_from(["identity", "trust"]))
    count = draw(st.integers(1, 3))
    doc: dict[str, Any] = {"Statement": [draw(statements(kind, f"Stmt{index}")) for index in range(count)]}
    version = draw(st.sampled_from(["2012-10-17", "2008-10-17", None]))
    if version:
        doc["Version"] = version
    if draw(st.booleans()):
        doc["Id"] = "policy-id"
    return kind, doc


def statement_list(doc: dict) -> list[dict]:
    value = doc["Statement"]
    return value if isinstance(value, list) else [value]


def map_statements(doc: dict, change: Callable[[dict], None]) -> dict:
    doc = copy.deepcopy(doc)
    for statement in statement_list(doc):
        change(statement)
    return doc


# Rewrites: each returns a document IAM treats exactly like its input.


def shuffle_keys(doc: Any, rnd: random.Random) -> Any:
    if isinstance(doc, dict):
        keys = list(doc)
        rnd.shuffle(keys)
        return {key: shuffle_keys(doc[key], rnd) for key in keys}
    if isinstance(doc, list):
        return [shuffle_keys(item, rnd) for item in doc]
    return doc


def shuffle_lists(doc: Any, rnd: random.Random) -> Any:
    """Every list in a policy document is a set, so any order is the same document."""
    if isinstance(doc, dict):
        return {key: shuffle_lists(value, rnd) for key, value in doc.items()}
    if isinstance(doc, list):
        items = [shuffle_lists(item, rnd) for item in doc]
        rnd.shuffle(items)
        return items
    return doc


def wrap_or_unwrap(value: Any, rnd: random.Random) -> Any:
    if isinstance(value, list) and len(value) == 1 and rnd.random() < 0.5:
        return value[0]
    if not isinstance(value, list) and rnd.random() < 0.5:
        return [value]
    return value


def rewrap_values(doc: dict, rnd: random.Random) -> dict:
    def change(statement: dict) -> None:
        for key in ("Action", "NotAction", "Resource", "NotResource"):
            if key in statement:
                statement[key] = wrap_or_unwrap(statement[key], rnd)
        for key in ("Principal", "NotPrincipal"):
            if isinstance(statement.get(key), dict):
                statement[key] = {kind: wrap_or_unwrap(v, rnd) for kind, v in statement[key].items()}
        for block in statement.get("Condition", {}).values():
            for name in block:
                block[name] = wrap_or_unwrap(block[name], rnd)

    return map_statements(doc, change)


def random_case(text: str, rnd: random.Random) -> str:
    return "".join(char.upper() if rnd.random() < 0.5 else char.lower() for char in text)


def recase_actions(doc: dict, rnd: random.Random) -> dict:
    def change(statement: dict) -> None:
        for key in ("Action", "NotAction"):
            if key in statement:
                values = statement[key]
                cased = [
                    random_case(action, rnd) for action in (values if isinstance(values, list) else [values])
                ]
                statement[key] = cased if isinstance(values, list) else cased[0]

    return map_statements(doc, change)


def recase_condition_keys(doc: dict, rnd: random.Random) -> dict:
    def change(statement: dict) -> None:
        for operator, block in statement.get("Condition", {}).items():
            statement["Condition"][operator] = {random_case(key, rnd): value for key, value in block.items()}

    return map_statements(doc, change)


def toggle_statement_form(doc: dict, rnd: random.Random) -> dict:
    doc = copy.deepcopy(doc)
    if isinstance(doc["Statement"], dict):
        doc["Statement"] = [doc["Statement"]]
    elif len(doc["Statement"]) == 1:
        doc["Statement"] = doc["Statement"][0]
    return doc


def toggle_star_principal(doc: dict, rnd: random.Random) -> dict:
    def change(statement: dict) -> None:
        for key in ("Principal", "NotPrincipal"):
            if statement.get(key) == "*":
                statement[key] = {"AWS": rnd.choice(["*", ["*"]])}
            elif statement.get(key) in ({"AWS": "*"}, {"AWS": ["*"]}):
                statement[key] = "*"

    return map_statements(doc, change)


def toggle_account(value: str, partitions: list[str], rnd: random.Random) -> str:
    if ACCOUNT.fullmatch(value):
        return f"arn:{rnd.choice(partitions)}:iam::{value}:root"
    match = ROOT.fullmatch(value)
    return match.group(2) if match and match.group(1) in partitions else value


def account_rewrite(partitions: list[str]) -> Callable[[dict, random.Random], dict]:
    def rewrite(doc: dict, rnd: random.Random) -> dict:
        def change(statement: dict) -> None:
            for key in ("Principal", "NotPrincipal"):
                principal = statement.get(key)
                if isinstance(principal, dict) and "AWS" in principal:
                    values = principal["AWS"]
                    toggled = [
                        toggle_account(v, partitions, rnd)
                        for v in (values if isinstance(values, list) else [values])
                    ]
                    principal["AWS"] = toggled if isinstance(values, list) else toggled[0]

        return map_statements(doc, change)

    return rewrite


def retype_value(value: Any) -> Any:
    if isinstance(value, bool):
        return json.dumps(value)
    if isinstance(value, int):
        return str(value)
    if value in ("true", "false"):
        return value == "true"
    if isinstance(value, str) and value.isdigit():
        return int(value)
    return value


def retype_condition_values(doc: dict, rnd: random.Random) -> dict:
    def change(statement: dict) -> None:
        for block in statement.get("Condition", {}).values():
            for name, values in block.items():
                if isinstance(values, list):
                    block[name] = [retype_value(v) if rnd.random() < 0.5 else v for v in values]
                else:
                    block[name] = retype_value(values)

    return map_statements(doc, change)


def duplicate_parts(doc: dict, rnd: random.Random) -> dict:
    doc = copy.deepcopy(doc)
    listed = statement_list(doc)
    statement = rnd.choice(listed)
    key = "Action" if "Action" in statement else "NotAction"
    actions = statement[key] if isinstance(statement[key], list) else [statement[key]]
    statement[key] = [*actions, rnd.choice(actions).upper()]
    doc["Statement"] = [*listed, copy.deepcopy(rnd.choice(listed))]
    return doc


def toggle_default_version(doc: dict, rnd: random.Random) -> dict:
    """No Version and "2008-10-17" are the same document; "2012-10-17" is left alone."""
    doc = copy.deepcopy(doc)
    if "Version" not in doc:
        doc["Version"] = "2008-10-17"
    elif doc["Version"] == "2008-10-17":
        del doc["Version"]
    return doc


Rewrite = Callable[[dict, random.Random], dict]

# Rewrites after which even the display form (normalize_policy) is unchanged.
DISPLAY_REWRITES: list[Rewrite] = [
    shuffle_keys,
    shuffle_lists,
    rewrap_values,
    recase_actions,
    recase_condition_keys,
    toggle_statement_form,
    toggle_star_principal,
    account_rewrite(["aws"]),
    retype_condition_values,
    duplicate_parts,
    toggle_default_version,
]
# Plus the account id <-> root ARN rewrite in partitions other than aws: equivalent, but the
# display form keeps the partition that was written.
REWRITES: list[Rewrite] = [*DISPLAY_REWRITES, account_rewrite(PARTITIONS)]


def rewrite(doc: dict, rewrites: list[Rewrite], rnd: random.Random, steps: int) -> dict:
    for _unused in range(steps):
        doc = rnd.choice(rewrites)(doc, rnd)
    return doc


def as_input(doc: dict, form: str) -> dict | str:
    """The same document as a dict, JSON text, or URL-encoded JSON text."""
    if form == "json":
        return json.dumps(doc)
    if form == "urlencoded":
        return quote(json.dumps(doc))
    return doc


# Edits: each returns a document IAM treats differently from its input.


def pick(doc: dict, rnd: random.Random) -> tuple[dict, dict]:
    doc = copy.deepcopy(doc)
    return doc, rnd.choice(statement_list(doc))


def flip_effect(doc: dict, rnd: random.Random) -> dict:
    doc, statement = pick(doc, rnd)
    statement["Effect"] = "Deny" if statement["Effect"] == "Allow" else "Allow"
    return doc


def add_action(doc: dict, rnd: random.Random) -> dict:
    doc, statement = pick(doc, rnd)
    key = "Action" if "Action" in statement else "NotAction"
    statement[key] = [*statement[key], "zzz:AddedAction"]
    return doc


def change_condition(doc: dict, rnd: random.Random) -> dict:
    doc, statement = pick(doc, rnd)
    condition = statement.setdefault("Condition", {})
    if condition and rnd.random() < 0.5:
        block = condition[rnd.choice(list(condition))]
        name = rnd.choice(list(block))
        block[name] = ["changed-value", *block[name][1:]]
    elif condition and rnd.random() < 0.5:
        block = condition[rnd.choice(list(condition))]
        block["aws:AddedKey"] = "added"
    else:
        condition.setdefault("StringEquals", {})["aws:AddedKey"] = "added"
    return doc


def change_resource_or_principal(doc: dict, rnd: random.Random) -> dict:
    doc, statement = pick(doc, rnd)
    for key in ("Resource", "NotResource"):
        if key in statement:
            statement[key] = ["arn:aws:s3:::changed-bucket", *statement[key][1:]]
    for key in ("Principal", "NotPrincipal"):
        if key in statement:
            principal = statement[key] if isinstance(statement[key], dict) else {"AWS": "*"}
            statement[key] = dict(principal, Service="added.amazonaws.com")
    return doc


def add_statement(doc: dict, rnd: random.Random) -> dict:
    doc = copy.deepcopy(doc)
    listed = statement_list(doc)
    added = dict(rnd.choice(listed), Sid="AddedStatement")
    doc["Statement"] = [*listed, added]
    return doc


def change_sid(doc: dict, rnd: random.Random) -> dict:
    doc, statement = pick(doc, rnd)
    statement["Sid"] = f"{statement['Sid']}Changed"
    return doc


def change_version(doc: dict, rnd: random.Random) -> dict:
    doc = copy.deepcopy(doc)
    if doc.get("Version") == "2012-10-17":
        doc["Version"] = rnd.choice(["2008-10-17", None])
        if doc["Version"] is None:
            del doc["Version"]
    else:
        doc["Version"] = "2012-10-17"
    return doc


def recase_case_sensitive(doc: dict, rnd: random.Random) -> dict:
    """Resources, condition values and Sid are case-sensitive, unlike action and condition key names."""
    doc, statement = pick(doc, rnd)
    places: list[tuple[Any, Any]] = [(statement, "Sid")]
    for key in ("Resource", "NotResource"):
        places += [(statement[key], index) for index in range(len(statement.get(key, [])))]
    for block in statement.get("Condition", {}).values():
        places += [(values, index) for values in block.values() for index in range(len(values))]
    container, where = rnd.choice(
        [(c, w) for c, w in places if isinstance(c[w], str) and c[w].lower() != c[w].upper()]
    )
    container[where] = container[where].swapcase()
    return doc


EDITS: list[Rewrite] = [
    recase_case_sensitive,
    flip_effect,
    add_action,
    change_condition,
    change_resource_or_principal,
    add_statement,
    change_sid,
    change_version,
]

FORMS = st.sampled_from(["dict", "json", "urlencoded"])


@settings(max_examples=300, deadline=None)
@given(policies(), st.randoms(use_true_random=False))
def test_generated_policies_are_valid(kind_doc, rnd):
    kind, doc = kind_doc
    validate_policy(doc, "policy", kind, trust_size_limit=10240)
    validate_policy(rewrite(doc, REWRITES, rnd, 6), "policy", kind, trust_size_limit=10240)


@settings(max_examples=500, deadline=None)
@given(policies(), st.randoms(use_true_random=False), st.integers(1, 8), FORMS, FORMS)
def test_rewrites_are_equivalent(kind_doc, rnd, steps, form_a, form_b):
    _unused, doc = kind_doc
    rewritten = rewrite(doc, REWRITES, rnd, steps)
    assert policies_equivalent(as_input(doc, form_a), as_input(rewritten, form_b))
    assert policies_equivalent(as_input(rewritten, form_a), as_input(doc, form_b))


@settings(max_examples=300, deadline=None)
@given(policies(), st.randoms(use_true_random=False), st.integers(1, 8))
def test_display_rewrites_normalize_equal(kind_doc, rnd, steps):
    _unused, doc = kind_doc
    rewritten = rewrite(doc, DISPLAY_REWRITES, rnd, steps)
    assert normalize_policy(rewritten) == normalize_policy(doc)


@settings(max_examples=500, deadline=None)
@given(policies(), st.randoms(use_true_random=False), st.sampled_from(EDITS), st.integers(0, 4), FORMS)
def test_edits_are_not_equivalent(kind_doc, rnd, edit, steps, form):
    _unused, doc = kind_doc
    edited = rewrite(edit(doc, rnd), REWRITES, rnd, steps)
    assert not policies_equivalent(doc, as_input(edited, form))
    assert not policies_equivalent(edited, doc)


@settings(max_examples=300, deadline=None)
@given(policies(), st.randoms(use_true_random=False), st.integers(0, 8))
def test_normalize_is_idempotent_and_equivalent(kind_doc, rnd, steps):
    _unused, doc = kind_doc
    doc = rewrite(doc, REWRITES, rnd, steps)
    once = normalize_policy(doc)
    assert normalize_policy(once) == once
    assert policies_equivalent(once, doc)


@settings(max_examples=200, deadline=None)
@given(policies(), st.randoms(use_true_random=False))
def test_size_ignores_layout(kind_doc, rnd):
    _unused, doc = kind_doc
    shuffled = shuffle_keys(doc, rnd)
    assert policy_size(json.loads(json.dumps(shuffled, indent=3))) == policy_size(doc)


# --- issue 12: the trust policy quota is adjustable (2,048 by default, up to 4,096) ----------


def test_trust_policy_over_the_default_quota_is_not_refused_locally():
    validate_policy(sized(TRUST, 2049), "assume_role_policy", "trust")
    validate_policy(sized(TRUST, 4096), "assume_role_policy", "trust")


def test_trust_policy_size_warning_only_past_the_default_quota():
    assert trust_policy_size_warning(sized(TRUST, 2048), "assume_role_policy") is None
    warning = trust_policy_size_warning(sized(TRUST, 2049), "assume_role_policy")
    assert warning is not None
    assert warning.startswith("assume_role_policy: is 2049 characters, over IAM's default quota of 2048")


def test_trust_policy_size_warning_says_what_iam_will_do():
    assert trust_policy_size_warning(sized(TRUST, 2049), "assume_role_policy") == (
        "assume_role_policy: is 2049 characters, over IAM's default quota of 2048 characters "
        "(role trust policy length, adjustable up to 4096); unless this account's quota was raised, "
        "IAM will refuse it with LimitExceeded"
    )


def test_decode_names_the_field_of_a_document_that_is_not_an_object():
    with pytest.raises(ValidationError) as err:
        decode_policy([TRUST], "assume_role_policy")  # type: ignore[arg-type]
    assert str(err.value) == "assume_role_policy: must be a JSON object, not list"


def test_condition_key_names_are_written_lower_case_with_their_values_merged():
    doc = with_statement(
        IDENTITY,
        Condition={"StringEquals": {"aws:SourceAccount": "123456789012", "AWS:SourceArn": ["b", "a"]}},
    )
    assert normalize_policy(doc)["Statement"][0]["Condition"] == {
        "StringEquals": {"aws:sourceaccount": "123456789012", "aws:sourcearn": ["a", "b"]}
    }


def test_only_aws_principals_take_the_account_form():
    service = with_statement(TRUST, Principal={"Service": "123456789012"})
    assert normalize_policy(service)["Statement"][0]["Principal"] == {"Service": "123456789012"}
    assert not policies_equivalent(
        service, with_statement(TRUST, Principal={"Service": "arn:aws:iam::123456789012:root"})
    )
