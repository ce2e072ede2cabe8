"""site.yml with other settings, each from nothing on a sandbox of its own (this module's).

Apart from test_site.py's sequence so that the two modules can run side by side (``-n 2
--dist loadfile`` in the e2e leg); each test here converges and cleans up on its own.
"""

from __future__ import annotations

from pathlib import Path

import boto3
from flow import HOST, play, site

from sandbox import Sandbox

# IAM allows these in a role name besides letters and digits; "+" and "." mean something in a
# regular expression.
PUNCTUATED_ROLE = "keyless+logs=role,v1.0@team-a"


def admin(sandbox: Sandbox, service: str):
    session = boto3.session.Session(*sandbox.admin_key, region_name=sandbox.region)
    return session.client(service, endpoint_url=sandbox.endpoint)


def test_a_kms_key_encrypts_the_round_trip_and_extends_the_policy(sandbox: Sandbox, tmp_path: Path) -> None:
    """A customer managed key: the round trip uploads with SSE-KMS under it, the policy grants its use.

    moto stores the object's key id but never calls KMS for S3, so here the kms:GenerateDataKey
    and kms:Decrypt grants are not what lets the round trip through; on AWS they are.
    """
    key_arn = admin(sandbox, "kms").create_key(Description="keyless e2e")["KeyMetadata"]["Arn"]
    rc, output = site(sandbox, tmp_path, keyless_kms_key_arn=key_arn)
    assert rc == 0, output
    assert f"SSE-KMS under {key_arn}" in output
    denied = next(line for line in output.splitlines() if '"denied as expected: ' in line)
    assert "call KMS directly (kms:GenerateDataKey, not through S3)" in denied
    stored = admin(sandbox, "s3").head_object(Bucket=sandbox.bucket, Key=f"keyless-verify/{HOST}.txt")
    assert (stored.get("ServerSideEncryption"), stored.get("SSEKMSKeyId")) == ("aws:kms", key_arn)
    rc, output = play(sandbox, "teardown.yml", tmp_path)
    assert rc == 0, output
    assert sandbox.leftovers() == {"roles": [], "instance_profiles": [], "instances": []}


def test_a_role_name_with_iam_punctuation_verifies_and_tears_down(sandbox: Sandbox, tmp_path: Path) -> None:
    """``+=,.@-`` are valid in a role name; the caller check must take them literally."""
    rc, output = site(sandbox, tmp_path, keyless_role_name=PUNCTUATED_ROLE)
    assert rc == 0, output
    assert f"caller: arn:aws:sts::123456789012:assumed-role/{PUNCTUATED_ROLE}/i-" in output
    rc, output = play(sandbox, "teardown.yml", tmp_path, keyless_role_name=PUNCTUATED_ROLE)
    assert rc == 0, output
    assert sandbox.leftovers() == {"roles": [], "instance_profiles": [], "instances": []}


def test_an_instance_serving_imdsv1_is_reported_not_passed_silently(sandbox: Sandbox, tmp_path: Path) -> None:
    """keyless_expect_imdsv2: false lets the verification pass, and it says IMDSv1 is enabled."""
    imdsv1 = {"http_tokens": "optional", "http_put_response_hop_limit": 1, "http_endpoint": "enabled"}
    rc, output = site(sandbox, tmp_path, keyless_expect_imdsv2=False, instance_metadata_options=imdsv1)
    assert rc == 0, output
    assert "WARNING: IMDSv1 is enabled on i-" in output, output
    assert "IMDSv2 required: False (IMDSv1 enabled: a read without a token answered 200)" in output
    (reservation,) = admin(sandbox, "ec2").describe_instances(
        Filters=[{"Name": "instance-state-name", "Values": ["running"]}]
    )["Reservations"]
    assert reservation["Instances"][0]["MetadataOptions"]["HttpTokens"] == "optional"
    rc, output = play(sandbox, "teardown.yml", tmp_path)
    assert rc == 0, output
    assert sandbox.leftovers() == {"roles": [], "instance_profiles": [], "instances": []}
