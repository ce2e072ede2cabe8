# Copyright: keyless.aws contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters of the keyless flow's playbooks: the ARNs they build and how they read a probe.

- ``partition``: the AWS partition (aws, aws-cn, aws-us-gov, ...) of an ARN or a region name.
  provision.yml builds the bucket's ARN in the partition of the role IAM returned.
- ``kms_via_service``: the value of the ``kms:ViaService`` condition key for a service in the
  Region of a KMS key ARN (``s3.us-east-1.amazonaws.com``).
- ``probe_outcome``: what an AWS CLI call that the policy must not allow answered: allowed,
  denied, inconclusive (the resource was not found, so nothing was decided about the caller's
  permissions) or failed (any other error).
- ``s3_bucket_problem``: the S3 naming rule a bucket name breaks, or "" for a valid name; a name
  that breaks none cannot change what the ARN ``arn:PARTITION:s3:::NAME/...`` matches.
- ``s3_prefix``: a key prefix that ends at a ``/`` boundary (``logs`` becomes ``logs/``, so that
  ``arn:...:BUCKET/logs/*`` does not also match ``logs-old/``); a prefix with a policy wildcard
  or variable (``*``, ``?``, ``${``) is refused; ``s3_prefix_problem`` says why, as
  ``s3_bucket_problem`` does for a bucket.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from ansible.errors import AnsibleFilterError

# Region name patterns and DNS suffixes of the partitions other than aws, as botocore's
# data/partitions.json lists them. botocore puts a region name that none of them claims in the
# aws partition, and so does partition() (new commercial regions need no update here).
PARTITIONS = (
    ("aws-cn", re.compile(r"^cn-\w+-\d+$"), "amazonaws.com.cn"),
    ("aws-us-gov", re.compile(r"^us-gov-\w+-\d+$"), "amazonaws.com"),
    ("aws-iso", re.compile(r"^us-iso-\w+-\d+$"), "c2s.ic.gov"),
    ("aws-iso-b", re.compile(r"^us-isob-\w+-\d+$"), "sc2s.sgov.gov"),
    ("aws-iso-e", re.compile(r"^eu-isoe-\w+-\d+$"), "cloud.adc-e.uk"),
    ("aws-iso-f", re.compile(r"^us-isof-\w+-\d+$"), "csp.hci.ic.gov"),
    ("aws-eusc", re.compile(r"^eusc-de-\w+-\d+$"), "amazonaws.eu"),
)
DEFAULT_PARTITION = ("aws", "amazonaws.com")
DNS_SUFFIXES = {name: suffix for name, _pattern, suffix in PARTITIONS} | dict([DEFAULT_PARTITION])

REGION = re.compile(r"^[a-z]+(-[a-z]+)+-\d+$|^[a-z]+$")
ARN = re.compile(r"^arn:(?P<partition>aws[a-z-]*):")
# arn:PARTITION:kms:REGION:ACCOUNT:key/KEY-ID. IAM policies name a KMS key by this ARN only: a
# key id, an alias name or an alias ARN in Resource controls nothing (AWS KMS Developer Guide,
# "Specifying KMS keys in IAM policy statements").
KEY_ARN = re.compile(r"^arn:(?P<partition>aws[a-z-]*):kms:(?P<region>[a-z0-9-]+):\d{12}:key/[\w-]+$")

# The AWS CLI prints a service error as "An error occurred (CODE) when calling the OP operation:
# MESSAGE"; CODE is the HTTP status when the answer had no body (HEAD requests).
ERROR_CODE = re.compile(r"An error occurred \(([^)]+)\) when calling the \w+ operation")
DENIAL_CODES = frozenset({"AccessDenied", "AccessDeniedException", "UnauthorizedOperation", "403"})
# Answers that say the resource does not exist: S3 answers NoSuchBucket for a bucket that does
# not exist before it evaluates the caller's permissions, so such an answer decides nothing.
NOT_FOUND_CODES = frozenset(
    {"NoSuchBucket", "NoSuchKey", "404", "NotFound", "NotFoundException", "NoSuchEntity"}
)


def partition(value: Any) -> str:
    """The partition of an ARN (its second field) or of a region name."""
    if isinstance(value, str):
        arn = ARN.match(value)
        if arn:
            return arn["partition"]
        if REGION.match(value):
            return next((name for name, pattern, _suffix in PARTITIONS if pattern.match(value)), "aws")
    raise AnsibleFilterError(f"partition: {value!r} is neither an ARN nor a region name")


def kms_via_service(key_arn: Any, service: str) -> str:
    """``SERVICE.REGION.DNS-SUFFIX`` for the KMS key's Region and partition.

    S3 uses a KMS key only in the key's own Region (the bucket's), so the key ARN tells where
    the requests that kms:ViaService must allow come from.
    """
    key = KEY_ARN.match(key_arn) if isinstance(key_arn, str) else None
    if key is None:
        raise AnsibleFilterError(
            f"kms_via_service: {key_arn!r} is not a KMS key ARN (arn:PARTITION:kms:REGION:ACCOUNT:key/ID)"
        )
    return f"{service}.{key['region']}.{DNS_SUFFIXES.get(key['partition'], DEFAULT_PARTITION[1])}"


def probe_outcome(result: Mapping[str, Any]) -> str:
    """allowed, denied, inconclusive or failed: how a registered AWS CLI probe ended."""
    if not isinstance(result, Mapping) or "rc" not in result:
        raise AnsibleFilterError("probe_outcome: expects a registered command result (with rc and stderr)")
    if int(result["rc"]) == 0:
        return "allowed"
    codes = set(ERROR_CODE.findall(str(result.get("stderr", ""))))
    if codes & DENIAL_CODES:
        return "denied"
    if codes & NOT_FOUND_CODES:
        return "inconclusive"
    return "failed"


# S3 general purpose bucket naming rules (Amazon S3 User Guide, "General purpose bucket naming
# rules"): 3 to 63 characters; lowercase letters, digits, dots and hyphens; a letter or digit at
# each end; no two adjacent dots; not an IPv4 address; reserved prefixes and suffixes.
BUCKET_CHARACTERS = re.compile(r"^[a-z0-9][a-z0-9.-]*[a-z0-9]$")
IPV4 = re.compile(r"^\d{1,3}(\.\d{1,3}){3}$")
RESERVED_BUCKET_PREFIXES = ("xn--", "sthree-", "amzn-s3-demo-")
RESERVED_BUCKET_SUFFIXES = ("-s3alias", "--ol-s3", ".mrap", "--x-s3", "--table-s3")
# What IAM reads in a Resource ARN rather than as a key's characters.
POLICY_SPECIALS = ("*", "?", "${")


def s3_bucket_problem(name: Any) -> str:
    """The first S3 bucket naming rule ``name`` breaks, as "must ..."; "" when it breaks none."""
    if not isinstance(name, str) or not 3 <= len(name) <= 63:
        return "must be 3 to 63 characters long"
    if not BUCKET_CHARACTERS.match(name):
        return "must have only lowercase letters, digits, dots and hyphens, and a letter or digit at each end"
    if ".." in name:
        return "must not have two adjacent dots"
    if IPV4.match(name):
        return "must not be formatted as an IP address"
    reserved = [part for part in RESERVED_BUCKET_PREFIXES if name.startswith(part)]
    reserved += [part for part in RESERVED_BUCKET_SUFFIXES if name.endswith(part)]
    if reserved:
        return f"must not begin or end with {reserved[0]!r} (reserved by S3)"
    return ""


def s3_prefix_problem(prefix: Any) -> str:
    """What makes ``prefix`` unfit for a bucket's ARN, as "must ..."; "" when nothing does."""
    if not isinstance(prefix, str):
        return "must be a string"
    specials = [token for token in POLICY_SPECIALS if token in prefix]
    if specials:
        held = " or ".join(specials)
        return f"must not hold {held}, which IAM reads as a wildcard or a policy variable in the ARN"
    return ""


def s3_prefix(prefix: Any) -> str:
    """The prefix ending at a ``/`` boundary ("" stays "": the whole bucket)."""
    problem = s3_prefix_problem(prefix)
    if problem:
        raise AnsibleFilterError(f"s3_prefix: {prefix!r} {problem}")
    return prefix if prefix == "" or prefix.endswith("/") else f"{prefix}/"


class FilterModule:
    """keyless.aws.partition, kms_via_service, probe_outcome, s3_bucket_problem, s3_prefix(_problem)."""

    def filters(self) -> dict[str, Any]:
        return {
            "partition": partition,
            "kms_via_service": kms_via_service,
            "probe_outcome": probe_outcome,
            "s3_bucket_problem": s3_bucket_problem,
            "s3_prefix": s3_prefix,
            "s3_prefix_problem": s3_prefix_problem,
        }
