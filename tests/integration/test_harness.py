"""The integration harness itself: server, call recorder, playbook runner, recap parser."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from awscalls import fetch_calls, is_mutating, mutating_calls, reset_all
from harness import ACCESS_KEY, SECRET_KEY, port_is_open
from launcher import start_aws_server
from recap import play_recap

SMOKE = Path(__file__).parent / "playbooks" / "harness_smoke.yml"


# The recorder's own test: one call, recorded once. On a bad day the first CreateRole's answer is
# lost and the call sent again (test_bad_day.py covers that).
@pytest.mark.bad_day("off")
def test_playbook_call_is_recorded_and_reset_clears_it(aws, run_playbook):
    result = run_playbook(SMOKE, extra_vars={"role_name": "harness-smoke"})

    assert result.rc == 0, result
    assert play_recap(result.stdout)["localhost"]["changed"] == 1
    calls = fetch_calls(aws.url)
    assert [(c["service"], c["operation"], c["status"]) for c in calls] == [("iam", "CreateRole", 200)]
    assert calls[0]["access_key"] == ACCESS_KEY
    assert SECRET_KEY not in json.dumps(calls)
    reset_all(aws.url)
    assert fetch_calls(aws.url) == []


def test_check_mode_run_makes_no_mutating_call(aws, run_playbook):
    result = run_playbook(SMOKE, extra_vars={"role_name": "harness-check"}, check=True)

    assert result.rc == 0, result
    assert play_recap(result.stdout)["localhost"]["skipped"] == 1
    assert mutating_calls(fetch_calls(aws.url)) == []


@pytest.mark.parametrize(
    ("operation", "mutating"),
    [
        ("CreateRole", True),
        ("PutRolePolicy", True),
        ("DeleteRole", True),
        ("TagRole", True),
        ("RunInstances", True),
        ("AssumeRole", True),
        ("PutObject", True),
        ("DeleteObjects", True),
        ("CreateBucket", True),
        ("POST /", True),
        ("", True),
        ("GetRole", False),
        ("ListRolePolicies", False),
        ("DescribeInstances", False),
        ("GetCallerIdentity", False),
        ("GetObject", False),
        ("HeadObject", False),
        ("HeadBucket", False),
        ("ListObjectsV2", False),
        ("ListBuckets", False),
        ("SimulatePrincipalPolicy", False),
        ("GET /some/path", False),
        ("Getaway", True),
    ],
)
def test_is_mutating(operation, mutating):
    assert is_mutating(operation) is mutating


def test_play_recap_parses_every_host():
    stdout = (
        "PLAY RECAP *********************************************************************\n"
        "localhost                  : ok=3    changed=1    unreachable=0    failed=0    "
        "skipped=2    rescued=0    ignored=0   \n"
        "other                      : ok=0    changed=0    unreachable=1    failed=0    "
        "skipped=0    rescued=0    ignored=0   \n"
    )
    recap = play_recap(stdout)

    assert recap["localhost"] == {
        "ok": 3,
        "changed": 1,
        "unreachable": 0,
        "failed": 0,
        "skipped": 2,
        "rescued": 0,
        "ignored": 0,
    }
    assert recap["other"]["unreachable"] == 1
    assert play_recap("no recap here") == {}


def test_stopped_server_leaves_no_process_and_no_listener(tmp_path):
    server = start_aws_server(tmp_path / "second", quiet=False)
    try:
        assert port_is_open(server.port)
        assert fetch_calls(server.url) == []
    finally:
        server.stop()

    assert server.process.poll() is not None
    assert not port_is_open(server.port)
