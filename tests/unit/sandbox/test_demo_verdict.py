"""sandbox/demo.py's verdict: the evidence verify_s3.yml writes (keyless_evidence_file), read back.

The file's shape is the one the playbook's last two tasks write; the verdict must repeat the
evidence exactly and fail, with a FAILED line and a non-zero status, when any of it is missing.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import demo
import pytest

ARN = "arn:aws:sts::123456789012:assumed-role/keyless-logs-writer/i-0123456789abcdef0"
SHA = "9f2c" * 16
OTHER_SHA = "0a1b" * 16
TIMINGS = {"sandbox start": 1.94, "site.yml": 20.4, "site.yml again": 15.5, "teardown.yml": 1.1}


def evidence(**changes: Any) -> dict[str, Any]:
    """One host's evidence as verify_s3.yml writes it, with top-level ``changes``."""
    base = {
        "identity_arn": ARN,
        "role": "keyless-logs-writer",
        "instance_id": "i-0123456789abcdef0",
        "credentials": {
            "imds_role": "keyless-logs-writer",
            "code": "Success",
            "expiration": "2026-12-03T01:00:00Z",
        },
        "imds": {"endpoint": "http://127.0.0.1:40001", "tokenless_status": 401, "imdsv2_expected": True},
        "round_trip": {
            "object": "s3://keyless-demo/keyless-verify/keyless-logs-writer.txt",
            "encryption": "the bucket default",
            "uploaded": {"bytes": 4097, "sha256": SHA},
            "downloaded": {"bytes": 4097, "sha256": SHA},
        },
        "probes": {
            "list the bucket (s3:ListBucket)": "denied",
            "call IAM (iam:ListRoles)": "denied",
            "delete the object (s3:DeleteObject)": "denied",
        },
        "probe_codes": {
            "list the bucket (s3:ListBucket)": "AccessDenied",
            "call IAM (iam:ListRoles)": "AccessDenied",
            "delete the object (s3:DeleteObject)": "AccessDenied",
        },
    }
    base.update(changes)
    return base


def write(path: Path, hosts: dict[str, Any]) -> Path:
    path.write_text(json.dumps({"hosts": hosts}))
    return path


def runs(tmp_path: Path, first: Any = None, again: Any = None) -> dict[str, Path]:
    """Both site.yml runs' files; None leaves a run's file unwritten, as a run that wrote none."""
    files = {"site.yml": tmp_path / "evidence-1.json", "site.yml again": tmp_path / "evidence-2.json"}
    for (_label, path), hosts in zip(files.items(), (first, again), strict=True):
        if hosts is not None:
            write(path, hosts)
    return files


def test_the_verdict_repeats_the_evidence_then_the_times(tmp_path: Path) -> None:
    good = {"keyless-logs-writer": evidence()}
    status, lines = demo.verdict(runs(tmp_path, good, good), TIMINGS)
    assert status == 0
    assert lines == [
        "What site.yml proved on the instance:",
        "  keyless-logs-writer",
        f"    identity    {ARN}",
        "                (temporary credentials of role keyless-logs-writer from the instance metadata"
        " service, expiring 2026-12-03T01:00:00Z)",
        "    round trip  s3://keyless-demo/keyless-verify/keyless-logs-writer.txt"
        " (encryption: the bucket default)",
        f"                uploaded     4097 bytes  sha256 {SHA}",
        f"                downloaded   4097 bytes  sha256 {SHA}",
        "                identical",
        "    denied      list the bucket (s3:ListBucket) \u2192 AccessDenied",
        "                call IAM (iam:ListRoles) \u2192 AccessDenied",
        "                delete the object (s3:DeleteObject) \u2192 AccessDenied",
        "    IMDSv2      token required: a metadata read without a token answered 401",
        "site.yml again: keyless-logs-writer verified again: same identity, a new 4097-byte round trip"
        " identical, 3 calls denied",
        "Step times:",
        "  sandbox start       1.9 s",
        "  site.yml           20.4 s",
        "  site.yml again     15.5 s",
        "  teardown.yml        1.1 s",
        "  total              38.9 s",
        "PASSED: the instance used only its role's temporary credentials; nothing is left",
    ]


def test_missing_evidence_fails_loudly_naming_the_file(tmp_path: Path) -> None:
    files = runs(tmp_path, None, {"keyless-logs-writer": evidence()})
    status, lines = demo.verdict(files, TIMINGS)
    assert status == 1
    assert f"FAILED: site.yml: no evidence: verify_s3.yml did not write {files['site.yml']}" in lines
    assert not any(line.startswith("PASSED") for line in lines)
    # The times are still shown: they say how far the demo got.
    assert "  total              38.9 s" in lines


def test_a_rerun_without_evidence_fails(tmp_path: Path) -> None:
    files = runs(tmp_path, {"keyless-logs-writer": evidence()}, None)
    status, lines = demo.verdict(files, TIMINGS)
    assert status == 1
    assert (
        lines[-1]
        == f"FAILED: site.yml again: no evidence: verify_s3.yml did not write {files['site.yml again']}"
    )


def test_a_rerun_with_another_identity_fails(tmp_path: Path) -> None:
    other = ARN.replace("i-0123456789abcdef0", "i-0fedcba9876543210")
    again = {"keyless-logs-writer": evidence(identity_arn=other, instance_id="i-0fedcba9876543210")}
    status, lines = demo.verdict(runs(tmp_path, {"keyless-logs-writer": evidence()}, again), TIMINGS)
    assert status == 1
    arns = {"keyless-logs-writer": other}
    assert lines[-1] == f"FAILED: site.yml again: another identity than the first run's: {arns}"


def test_no_evidence_file_asked_for_is_a_failure() -> None:
    status, lines = demo.verdict({}, TIMINGS)
    assert (status, lines[-1]) == (1, "FAILED: no evidence file was asked for")


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("{not json", "unreadable evidence in"),
        ('{"hosts": {}}', "no host's evidence in"),
        ('{"hosts": {"web": "text"}}', "no host's evidence in"),
        ("[]", "no host's evidence in"),
    ],
)
def test_unreadable_or_empty_evidence_fails(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "evidence.json"
    path.write_text(content)
    with pytest.raises(demo.EvidenceError, match=message):
        demo.read_evidence(path)


def changed(path: tuple[str, ...], value: Any) -> dict[str, Any]:
    """The good evidence with the field at ``path`` set to ``value`` (deleted when value is ...)."""
    result = copy.deepcopy(evidence())
    target = result
    for key in path[:-1]:
        target = target[key]
    if value is ...:
        del target[path[-1]]
    else:
        target[path[-1]] = value
    return result


@pytest.mark.parametrize(
    ("path", "value", "problem"),
    [
        # An IAM user's keys, not the role's session: the whole point of the flow.
        (
            ("identity_arn",),
            "arn:aws:iam::123456789012:user/admin",
            "is not assumed-role/keyless-logs-writer/i-",
        ),
        (("identity_arn",), ARN.replace("i-0123456789abcdef0", "i-0000000000000000f"), "is not assumed-role"),
        # Another role's session on this instance: the profile holds the wrong role.
        (("identity_arn",), ARN.replace("keyless-logs-writer", "admin-role"), "is not assumed-role"),
        (("identity_arn",), ARN + "x", "is not assumed-role"),
        (("identity_arn",), ..., "identity (none) is not assumed-role"),
        (("round_trip", "downloaded", "sha256"), OTHER_SHA, "round trip: uploaded"),
        (("round_trip", "downloaded", "bytes"), 4096, "round trip: uploaded"),
        (("round_trip", "uploaded", "sha256"), "", "round trip: no size and sha256"),
        (("round_trip", "uploaded", "bytes"), 0, "round trip: no size and sha256"),
        (("round_trip", "downloaded"), ..., "round trip: no size and sha256"),
        (("probes",), {}, "no call the policy does not grant was seen denied"),
        (
            ("probes",),
            {"call IAM (iam:ListRoles)": "inconclusive"},
            "no call the policy does not grant was seen",
        ),
        (("probes", "call IAM (iam:ListRoles)"), "allowed", "call IAM (iam:ListRoles): allowed, not denied"),
        (("imds", "tokenless_status"), 200, "IMDSv2: a metadata read without a token answered 200, not 401"),
        (("imds",), ..., "IMDSv2: a metadata read without a token answered None, not 401"),
    ],
)
def test_evidence_that_does_not_show_it_all_is_named(path: tuple[str, ...], value: Any, problem: str) -> None:
    problems = demo.evidence_problems(changed(path, value))
    assert len(problems) == 1 and problem in problems[0], problems


def test_the_good_evidence_has_no_problem() -> None:
    assert demo.evidence_problems(evidence()) == []


def test_imdsv1_is_not_a_problem_when_the_run_did_not_ask_for_imdsv2(tmp_path: Path) -> None:
    relaxed = evidence(imds={"endpoint": "http://x", "tokenless_status": 200, "imdsv2_expected": False})
    assert demo.evidence_problems(relaxed) == []
    status, lines = demo.verdict(runs(tmp_path, {"h": relaxed}, {"h": relaxed}), TIMINGS)
    assert status == 0
    assert "    IMDSv2      not checked: not required by this run's settings (answered 200)" in lines


def test_an_inconclusive_probe_is_shown_as_such(tmp_path: Path) -> None:
    probes = {
        "list the bucket (s3:ListBucket)": "denied",
        "call KMS directly (kms:GenerateDataKey)": "inconclusive",
    }
    codes = {
        "list the bucket (s3:ListBucket)": "AccessDenied",
        "call KMS directly (kms:GenerateDataKey)": "NotFoundException",
    }
    hosts = {"h": evidence(probes=probes, probe_codes=codes)}
    status, lines = demo.verdict(runs(tmp_path, hosts, hosts), TIMINGS)
    assert status == 0
    assert (
        "                call KMS directly (kms:GenerateDataKey) \u2192"
        " inconclusive (NotFoundException: not found, nothing learnt)"
    ) in lines


def test_the_problems_of_a_file_fail_the_verdict(tmp_path: Path) -> None:
    bad = {"keyless-logs-writer": changed(("round_trip", "downloaded", "sha256"), OTHER_SHA)}
    files = runs(tmp_path, bad, bad)
    status, lines = demo.verdict(files, TIMINGS)
    assert status == 1
    assert lines[-2].startswith(
        f"FAILED: site.yml: the evidence in {files['site.yml']} does not show it all:"
    )
    assert "keyless-logs-writer: round trip: uploaded" in lines[-2]
