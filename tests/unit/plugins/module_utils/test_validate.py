"""Names, paths, ARNs, descriptions, tags and limits: each rule accepted and rejected."""

from __future__ import annotations

import re

import pytest

from ansible_collections.keyless.aws.plugins.module_utils._errors import ValidationError
from ansible_collections.keyless.aws.plugins.module_utils._validate import (
    managed_policy_candidates,
    validate_arn,
    validate_description,
    validate_ec2_tags,
    validate_instance_profile_name,
    validate_max_session_duration,
    validate_path,
    validate_policy_name,
    validate_role_name,
    validate_tags,
)


def rejects(call, *args, match: str, **kwargs) -> ValidationError:
    """Assert that ``call`` raises ValidationError whose message matches ``match`` (a regex)."""
    with pytest.raises(ValidationError, match=match) as info:
        call(*args, **kwargs)
    return info.value


# --- names ---------------------------------------------------------------------------------

NAME_VALIDATORS = [
    (validate_role_name, 64),
    (validate_instance_profile_name, 128),
    (validate_policy_name, 128),
]


@pytest.mark.parametrize(("validator", "maximum"), NAME_VALIDATORS)
@pytest.mark.parametrize("name", ["a", "web-server", "App_Role+1=x,y.z@corp", "0123"])
def test_name_accepts_iam_charset(validator, maximum, name):
    validator(name)


@pytest.mark.parametrize(("validator", "maximum"), NAME_VALIDATORS)
def test_name_accepts_exact_maximum(validator, maximum):
    validator("a" * maximum)


@pytest.mark.parametrize(("validator", "maximum"), NAME_VALIDATORS)
def test_name_rejects_one_over_maximum(validator, maximum):
    error = rejects(validator, "a" * (maximum + 1), match=rf"^name: must be at most {maximum} characters")
    assert error.field == "name"
    assert error.rule == f"must be at most {maximum} characters (is {maximum + 1})"


@pytest.mark.parametrize(("validator", "maximum"), NAME_VALIDATORS)
def test_name_rejects_empty(validator, maximum):
    rejects(validator, "", match="^name: must not be empty$")


@pytest.mark.parametrize(("validator", "maximum"), NAME_VALIDATORS)
@pytest.mark.parametrize("bad", [" ", "/", "!", "é", "a b", "role:x", "ü"])
def test_name_rejects_outside_charset(validator, maximum, bad):
    rejects(
        validator,
        f"x{bad}",
        match=r"^name: must contain only ASCII letters, digits and _\+=,\.@- \(found ",
    )


@pytest.mark.parametrize(("validator", "maximum"), NAME_VALIDATORS)
@pytest.mark.parametrize("value", [None, 5, ["a"]])
def test_name_rejects_non_strings(validator, maximum, value):
    rejects(validator, value, match="^name: must be a string")


def test_name_uses_given_field():
    rejects(validate_role_name, "", field="role_name", match="^role_name: must not be empty$")


# --- paths ---------------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/", "/service-role/", "/a/b/c/", "///", "/" + "x" * 510 + "/", "/~!$/"])
def test_path_accepted(path):
    validate_path(path)


@pytest.mark.parametrize("path", ["service-role/", "/service-role", "noslash", "//"])
def test_path_must_begin_and_end_with_slash(path):
    rejects(validate_path, path, match='^path: must be "/" or begin and end with "/"')


def test_path_rejects_too_long():
    rejects(validate_path, "/" + "x" * 511 + "/", match="^path: must be at most 512 characters")


def test_path_rejects_empty():
    rejects(validate_path, "", match="^path: must not be empty$")


@pytest.mark.parametrize("bad", [" ", "\t", "é", "\x7f"])
def test_path_rejects_outside_printable_ascii(bad):
    rejects(
        validate_path,
        f"/a{bad}b/",
        match="^path: must contain only printable ASCII characters other than space",
    )


# --- ARNs ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "arn",
    [
        "arn:aws:iam::123456789012:role/web",
        "arn:aws-cn:iam::123456789012:role/service-role/web",
        "arn:aws-us-gov:iam::123456789012:instance-profile/web",
        "arn:aws-iso:ec2:us-iso-east-1:123456789012:instance/i-0abc",
        "arn:aws-iso-b:s3:::bucket/key",
        "arn:aws:iam::aws:policy/ReadOnlyAccess",
    ],
)
def test_arn_accepted(arn):
    validate_arn(arn, "arn")


@pytest.mark.parametrize(
    ("arn", "rule"),
    [
        ("not-an-arn", "must be an ARN: arn:<partition>"),
        ("arn:aws:iam::123456789012", "must be an ARN: arn:<partition>"),
        ("arn:aws-mars:iam::123456789012:role/x", "must use a known partition"),
        ("arn:aws::us-east-1:123456789012:role/x", "must name a service"),
        ("arn:aws:IAM::123456789012:role/x", "must name a service"),
        ("arn:aws:ec2:US_EAST:123456789012:instance/i-1", "must name a region"),
        ("arn:aws:iam::12345:role/x", "must have a 12-digit account id"),
        ("arn:aws:iam::1234567890123:role/x", "must have a 12-digit account id"),
        ("arn:aws:iam::123456789012:", "must name a resource"),
        ("arn:aws:iam::123456789012:role/a b", "must contain only printable ASCII"),
    ],
)
def test_arn_rejected(arn, rule):
    rejects(validate_arn, arn, "policy_arn", match=rf"^policy_arn: {re.escape(rule)}")


def test_arn_rejects_too_long():
    rejects(
        validate_arn,
        "arn:aws:iam::123456789012:role/" + "x" * 2048,
        "arn",
        match="^arn: must be at most 2048 characters",
    )


def test_arn_service_must_match():
    validate_arn("arn:aws:iam::123456789012:role/x", "arn", service="iam")
    rejects(
        validate_arn,
        "arn:aws:s3:::bucket",
        "arn",
        service="iam",
        match="^arn: must be an ARN of service 'iam', not 's3'$",
    )


@pytest.mark.parametrize("resource_type", ["policy", "role", "instance-profile"])
def test_arn_resource_type_must_match(resource_type):
    validate_arn(f"arn:aws:iam::123456789012:{resource_type}/x", "arn", resource_type=resource_type)
    rejects(
        validate_arn,
        f"arn:aws:iam::123456789012:{resource_type}x/x",
        "arn",
        resource_type=resource_type,
        match=f'^arn: must be an ARN whose resource starts with "{resource_type}/"$',
    )


def test_arn_rejects_non_string():
    rejects(validate_arn, 12, "arn", match="^arn: must be a string, not int$")


# --- max session duration ------------------------------------------------------------------


@pytest.mark.parametrize("seconds", [3600, 7200, 43200])
def test_session_duration_accepted(seconds):
    validate_max_session_duration(seconds)


@pytest.mark.parametrize("seconds", [3599, 0, -1, 43201])
def test_session_duration_out_of_range(seconds):
    rejects(
        validate_max_session_duration,
        seconds,
        match=rf"^max_session_duration: must be between 3600 and 43200 seconds \(is {seconds}\)$",
    )


@pytest.mark.parametrize("value", ["3600", 3600.0, True, None])
def test_session_duration_must_be_integer(value):
    rejects(validate_max_session_duration, value, match="^max_session_duration: must be an integer")


# --- description ---------------------------------------------------------------------------


@pytest.mark.parametrize("text", [None, "", "Web servers\tread S3\r\n", "Café ÿ ¡", "x" * 1000])
def test_description_accepted(text):
    validate_description(text)


def test_description_too_long():
    rejects(
        validate_description, "x" * 1001, match=r"^description: must be at most 1000 characters \(is 1001\)$"
    )


@pytest.mark.parametrize("bad", ["\x00", "\x7f", "\xa0", "Ā", "€", "😀", "\x0b"])
def test_description_outside_charset(bad):
    rejects(validate_description, f"ok{bad}", match="^description: must contain only printable ASCII")


# --- tags ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "tags",
    [
        None,
        {},
        {"Name": "web"},
        {"team/owner": "ops@example.com", "cost:center": "a_b.c=d+e-f"},
        {"Ümlaut Schlüssel": "値 ١٢٣"},
        {"k": ""},
        {"x" * 128: "y" * 256},
        {f"k{i}": "v" for i in range(50)},
    ],
)
def test_tags_accepted(tags):
    validate_tags(tags)


def test_tags_at_most_fifty():
    tags = {f"k{i}": "v" for i in range(51)}
    rejects(validate_tags, tags, match=r"^tags: must have at most 50 tags \(has 51\)$")


def test_tags_must_be_dict():
    rejects(validate_tags, [{"Key": "a", "Value": "b"}], match="^tags: must be a dictionary")


def test_tag_key_empty():
    rejects(validate_tags, {"": "v"}, match=r"^tags\[''\]: key must not be empty$")


def test_tag_key_too_long():
    key = "k" * 129
    rejects(validate_tags, {key: "v"}, match=r"^tags\['k+'\]: key must be at most 128 characters \(is 129\)$")


@pytest.mark.parametrize("key", ["aws:cloudformation:stack", "AWS:x", "Aws:y"])
def test_tag_key_reserved_prefix(key):
    rejects(validate_tags, {key: "v"}, match=r'^tags\[.*\]: key must not start with "aws:"')


def test_tag_key_may_contain_aws_elsewhere():
    validate_tags({"myaws:x": "v", "aws": "v"})


@pytest.mark.parametrize("bad", ["#", "!", "*", "<", "&", "\x00"])
def test_tag_key_charset(bad):
    rejects(validate_tags, {f"a{bad}": "v"}, match=r"^tags\[.*\]: key must contain only letters, digits")


def test_tag_value_too_long():
    rejects(validate_tags, {"k": "v" * 257}, match=r"^tags\['k'\]: value must be at most 256 characters")


@pytest.mark.parametrize("bad", ["#", "?", "%"])
def test_tag_value_charset(bad):
    rejects(validate_tags, {"k": f"v{bad}"}, match=r"^tags\['k'\]: value must contain only letters, digits")


@pytest.mark.parametrize("value", [5, True, None])
def test_tag_value_must_be_string(value):
    rejects(validate_tags, {"k": value}, match=r"^tags\['k'\]: value must be a string \(quote it in YAML\)")


def test_tag_key_must_be_string():
    rejects(validate_tags, {5: "v"}, match=r"^tags\[5\]: key must be a string, not int$")


def test_tags_use_given_field():
    rejects(validate_tags, {"": "v"}, field="role_tags", match=r"^role_tags\[''\]: key must not be empty$")


# --- EC2 tags: EC2's own rules (CreateTags "Tag" in the EC2 API Reference, "Tag restrictions") --


@pytest.mark.parametrize(
    "tags",
    [
        None,
        {},
        {"cost center": "ops (eu)", "owners": "a,b", "query": "x?y*#!&<>"},
        {"k" * 127: "v" * 256},
        {"k": ""},
        {f"k{i}": "v" for i in range(50)},
    ],
)
def test_ec2_tags_accepted(tags):
    validate_ec2_tags(tags)


def test_ec2_tag_key_at_most_127():
    rejects(
        validate_ec2_tags,
        {"k" * 128: "v"},
        match=r"^tags\['k+'\]: key must be at most 127 characters \(is 128\)$",
    )


def test_ec2_tag_value_at_most_256():
    rejects(validate_ec2_tags, {"k": "v" * 257}, match=r"^tags\['k'\]: value must be at most 256 characters")


def test_ec2_tags_at_most_fifty_counting_the_tags_the_module_adds():
    validate_ec2_tags({f"k{i}": "v" for i in range(49)}, added=("Name",))
    validate_ec2_tags({"Name": "web", **{f"k{i}": "v" for i in range(49)}}, added=("Name",))
    rejects(
        validate_ec2_tags,
        {f"k{i}": "v" for i in range(50)},
        added=("Name",),
        match=r"^tags: must have at most 50 tags, the Name tag included \(has 51\)$",
    )


@pytest.mark.parametrize("key", ["aws:cloudformation:stack-name", "AWS:x"])
def test_ec2_tag_key_reserved_prefix_is_explained(key):
    rejects(
        validate_ec2_tags,
        {key: "v"},
        match=r'^tags\[.*\]: key must not start with "aws:": AWS reserves it for the tags it sets itself',
    )


@pytest.mark.parametrize(
    ("tags", "rule"), [({"": "v"}, "key must not be empty"), ({"k": 5}, "value must be a string")]
)
def test_ec2_tags_keys_and_values_are_strings(tags, rule):
    rejects(validate_ec2_tags, tags, field="instance_tags", match=f"^instance_tags\\[.*\\]: {rule}")


# --- managed policy references -------------------------------------------------------------


def test_candidates_for_arn_is_the_arn():
    arn = "arn:aws:iam::123456789012:policy/team/Custom"
    assert managed_policy_candidates(arn, "aws", "123456789012") == [arn]


def test_candidates_for_name_try_account_then_aws():
    assert managed_policy_candidates("ReadOnlyAccess", "aws", "123456789012") == [
        "arn:aws:iam::123456789012:policy/ReadOnlyAccess",
        "arn:aws:iam::aws:policy/ReadOnlyAccess",
    ]


def test_candidates_without_account_only_aws():
    assert managed_policy_candidates("ReadOnlyAccess") == ["arn:aws:iam::aws:policy/ReadOnlyAccess"]


@pytest.mark.parametrize("value", ["service-role/AmazonEC2RoleforSSM", "/service-role/AmazonEC2RoleforSSM"])
def test_candidates_keep_path(value):
    assert managed_policy_candidates(value, "aws-cn", "123456789012") == [
        "arn:aws-cn:iam::123456789012:policy/service-role/AmazonEC2RoleforSSM",
        "arn:aws-cn:iam::aws:policy/service-role/AmazonEC2RoleforSSM",
    ]


def test_candidates_reject_bad_arn():
    rejects(
        managed_policy_candidates,
        "arn:aws:iam::123456789012:role/NotAPolicy",
        match='^managed_policies: must be an ARN whose resource starts with "policy/"$',
    )


def test_candidates_reject_other_service_arn():
    rejects(
        managed_policy_candidates, "arn:aws:s3:::bucket", match="^managed_policies: must be an ARN of service"
    )


@pytest.mark.parametrize(
    ("value", "rule"),
    [
        ("", "must not be empty"),
        ("Bad Name", "must contain only ASCII letters"),
        ("path with space/Name", "must contain only printable ASCII"),
        ("x" * 129, "must be at most 128 characters"),
    ],
)
def test_candidates_reject_bad_names(value, rule):
    rejects(
        managed_policy_candidates,
        value,
        field="managed_policies[2]",
        match=rf"^managed_policies\[2\]: {re.escape(rule)}",
    )


def test_candidates_programming_errors_are_not_user_errors():
    with pytest.raises(ValueError, match="partition"):
        managed_policy_candidates("X", "mars")
    with pytest.raises(ValueError, match="account_id"):
        managed_policy_candidates("X", "aws", "12")
