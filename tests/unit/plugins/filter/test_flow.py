"""The flow's filters: the partition of an ARN or region, kms:ViaService, and probe outcomes."""

from __future__ import annotations

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.keyless.aws.plugins.filter.flow import (
    FilterModule,
    kms_via_service,
    partition,
    probe_outcome,
    s3_bucket_problem,
    s3_prefix,
    s3_prefix_problem,
)

KEY = "1234abcd-12ab-34cd-56ef-1234567890ab"


def test_the_filters_are_exported_under_their_names() -> None:
    assert set(FilterModule().filters()) == {
        "partition",
        "kms_via_service",
        "probe_outcome",
        "s3_bucket_problem",
        "s3_prefix",
        "s3_prefix_problem",
    }


# --- partition ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("arn:aws:iam::123456789012:role/logsbucket-role", "aws"),
        ("arn:aws-cn:iam::123456789012:role/logsbucket-role", "aws-cn"),
        ("arn:aws-us-gov:sts::123456789012:assumed-role/r/i-0123", "aws-us-gov"),
        (f"arn:aws-cn:kms:cn-north-1:123456789012:key/{KEY}", "aws-cn"),
    ],
)
def test_partition_of_an_arn_is_its_second_field(value: str, expected: str) -> None:
    assert partition(value) == expected


def test_an_aws_cn_identity_builds_aws_cn_s3_arns() -> None:
    """What provision.yml does with the role's ARN: the bucket's ARN in the same partition."""
    role_arn = "arn:aws-cn:iam::123456789012:role/logsbucket-role"
    assert f"arn:{partition(role_arn)}:s3:::my-logs/*" == "arn:aws-cn:s3:::my-logs/*"


@pytest.mark.parametrize(
    ("region", "expected"),
    [
        ("us-east-1", "aws"),
        ("eu-central-2", "aws"),
        ("ap-southeast-7", "aws"),
        ("cn-north-1", "aws-cn"),
        ("cn-northwest-1", "aws-cn"),
        ("us-gov-west-1", "aws-us-gov"),
        ("us-gov-east-1", "aws-us-gov"),
        ("us-iso-east-1", "aws-iso"),
        ("us-isob-east-1", "aws-iso-b"),
        ("eu-isoe-west-1", "aws-iso-e"),
        ("us-isof-south-1", "aws-iso-f"),
        ("eusc-de-east-1", "aws-eusc"),
        # Like botocore, a region name no partition claims is in the aws partition.
        ("local", "aws"),
    ],
)
def test_partition_of_a_region_follows_the_partition_region_patterns(region: str, expected: str) -> None:
    assert partition(region) == expected


@pytest.mark.parametrize("value", ["", "arn:", "arn::iam::1:role/x", 42])
def test_partition_refuses_what_is_neither_an_arn_nor_a_region(value: object) -> None:
    with pytest.raises(AnsibleFilterError, match="partition"):
        partition(value)


# --- kms_via_service ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("key_arn", "expected"),
    [
        (f"arn:aws:kms:us-west-2:111122223333:key/{KEY}", "s3.us-west-2.amazonaws.com"),
        (f"arn:aws-us-gov:kms:us-gov-west-1:111122223333:key/{KEY}", "s3.us-gov-west-1.amazonaws.com"),
        (f"arn:aws-cn:kms:cn-north-1:111122223333:key/{KEY}", "s3.cn-north-1.amazonaws.com.cn"),
    ],
)
def test_kms_via_service_names_the_service_in_the_keys_region(key_arn: str, expected: str) -> None:
    assert kms_via_service(key_arn, "s3") == expected


@pytest.mark.parametrize(
    "key_arn",
    [
        "arn:aws:kms:us-west-2:111122223333:alias/logs",  # an alias does not name a key in IAM
        KEY,  # a bare key id
        "arn:aws:s3:::my-logs",
        f"arn:aws:kms::111122223333:key/{KEY}",  # no region
        "",
    ],
)
def test_kms_via_service_refuses_anything_but_a_key_arn(key_arn: str) -> None:
    with pytest.raises(AnsibleFilterError, match="key ARN"):
        kms_via_service(key_arn, "s3")


# --- probe_outcome --------------------------------------------------------------------------


def result(rc: int, stderr: str = "") -> dict[str, object]:
    return {"rc": rc, "stderr": stderr, "stdout": ""}


def aws_error(code: str, operation: str, message: str) -> str:
    """The AWS CLI's line for a service error, as it prints it to stderr."""
    return f"\nAn error occurred ({code}) when calling the {operation} operation: {message}\n"


def test_a_probe_that_succeeds_was_allowed() -> None:
    assert probe_outcome(result(0)) == "allowed"


@pytest.mark.parametrize(
    "stderr",
    [
        aws_error(
            "AccessDenied",
            "ListObjectsV2",
            "User: arn:aws:sts::123456789012:assumed-role/r/i-0 is not authorized to perform: s3:ListBucket",
        ),
        aws_error("AccessDeniedException", "GenerateDataKey", "User: ... is not authorized to perform"),
        aws_error("AccessDenied", "ListRoles", "User: ... is not authorized to perform: iam:ListRoles"),
        aws_error("UnauthorizedOperation", "DescribeInstances", "You are not authorized"),
        aws_error("403", "HeadObject", "Forbidden"),
    ],
)
def test_a_denial_of_the_caller_is_denied(stderr: str) -> None:
    assert probe_outcome(result(254, stderr)) == "denied"


@pytest.mark.parametrize(
    "stderr",
    [
        aws_error("NoSuchBucket", "PutObject", "The specified bucket does not exist"),
        aws_error("NoSuchKey", "GetObject", "The specified key does not exist."),
        aws_error("404", "HeadObject", "Not Found"),
        aws_error("NotFoundException", "GenerateDataKey", "Key 'arn:aws:kms:...' does not exist"),
        aws_error("NoSuchEntity", "GetRole", "The role with name x cannot be found."),
    ],
)
def test_a_not_found_answer_is_inconclusive_not_a_denial(stderr: str) -> None:
    assert probe_outcome(result(254, stderr)) == "inconclusive"


@pytest.mark.parametrize(
    "stderr",
    [
        '\nCould not connect to the endpoint URL: "https://s3.amazonaws.com/"\n',
        aws_error("InvalidArgument", "PutObject", "Invalid argument"),
        "aws: error: argument operation: Invalid choice",
        # A message that only mentions 403 is not an HTTP 403 answer.
        aws_error("InvalidRequest", "PutObject", "key logs/403 is invalid"),
    ],
)
def test_any_other_failure_is_failed(stderr: str) -> None:
    assert probe_outcome(result(2, stderr)) == "failed"


def test_probe_outcome_needs_a_command_result() -> None:
    with pytest.raises(AnsibleFilterError, match="rc"):
        probe_outcome({"stderr": ""})


# --- s3_bucket_problem, s3_prefix -----------------------------------------------------------


@pytest.mark.parametrize("name", ["my-logs", "abc", "logs.example.com", "a" * 63, "1-2"])
def test_a_valid_bucket_name_has_no_problem(name: str) -> None:
    assert s3_bucket_problem(name) == ""


@pytest.mark.parametrize(
    ("name", "rule"),
    [
        ("*", "must be 3 to 63 characters long"),
        ("ab", "must be 3 to 63 characters long"),
        ("a" * 64, "must be 3 to 63 characters long"),
        (
            "***",
            "must have only lowercase letters, digits, dots and hyphens, and a letter or digit at each end",
        ),
        (
            "my-*",
            "must have only lowercase letters, digits, dots and hyphens, and a letter or digit at each end",
        ),
        (
            "My-Logs",
            "must have only lowercase letters, digits, dots and hyphens, and a letter or digit at each end",
        ),
        (
            "logs/web",
            "must have only lowercase letters, digits, dots and hyphens, and a letter or digit at each end",
        ),
        (
            "my_logs",
            "must have only lowercase letters, digits, dots and hyphens, and a letter or digit at each end",
        ),
        (
            "-logs",
            "must have only lowercase letters, digits, dots and hyphens, and a letter or digit at each end",
        ),
        ("my..logs", "must not have two adjacent dots"),
        ("192.168.5.4", "must not be formatted as an IP address"),
        ("xn--logs", "must not begin or end with 'xn--' (reserved by S3)"),
        ("logs-s3alias", "must not begin or end with '-s3alias' (reserved by S3)"),
        (None, "must be 3 to 63 characters long"),
    ],
)
def test_a_bucket_name_that_breaks_a_rule_names_it(name: object, rule: str) -> None:
    assert s3_bucket_problem(name) == rule


@pytest.mark.parametrize(
    ("prefix", "expected"),
    [("", ""), ("logs", "logs/"), ("logs/", "logs/"), ("web/app", "web/app/"), ("a/b/", "a/b/")],
)
def test_a_prefix_ends_at_a_slash(prefix: str, expected: str) -> None:
    assert s3_prefix(prefix) == expected


@pytest.mark.parametrize("prefix", ["logs*", "lo?s/", "${aws:username}/", 3])
def test_a_prefix_with_a_wildcard_or_a_policy_variable_is_refused(prefix: object) -> None:
    with pytest.raises(AnsibleFilterError, match="s3_prefix: "):
        s3_prefix(prefix)


@pytest.mark.parametrize(
    ("prefix", "problem"),
    [
        ("logs/", ""),
        ("logs*", "must not hold *, which IAM reads as a wildcard or a policy variable in the ARN"),
        (
            "${aws:username}?",
            "must not hold ? or ${, which IAM reads as a wildcard or a policy variable in the ARN",
        ),
        (3, "must be a string"),
    ],
)
def test_a_prefix_problem_is_said_without_failing(prefix: object, problem: str) -> None:
    assert s3_prefix_problem(prefix) == problem
