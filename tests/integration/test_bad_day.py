"""AWS on a bad day (sandbox/bad_day.py), end to end: the converge flow's first half through real
``ansible-playbook`` runs in a throttling storm, with lost create answers, twice at once, and
interrupted with Ctrl-C. Each scenario ends with exactly one role, inline policy, instance profile
holding the role and live instance using the profile, read back with the harness's own boto3
clients (exempt from the faults), and a rerun that changes nothing.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import threading
import time
from collections import Counter
from pathlib import Path

import aws_state
import awscalls
import pytest
from harness import PlaybookRunner
from launcher import Finished, Service
from recap import play_recap

PLAYBOOK = Path(__file__).parent / "playbooks" / "bad_day_flow.yml"
ROLE, POLICY, PROFILE, INSTANCE = "bad-day-role", "BadDayLogs", "bad-day-profile", "bad-day-instance"
LIVE_STATES = ["pending", "running", "stopping", "stopped"]
CREATES = ("CreateRole", "CreateInstanceProfile", "AddRoleToInstanceProfile", "RunInstances")


def assert_one_of_each(endpoint: str) -> None:
    """Exactly one role, its one inline policy, one profile holding it, one live instance using it."""
    iam, ec2 = aws_state.client(endpoint, "iam"), aws_state.client(endpoint, "ec2")
    assert [role["RoleName"] for role in iam.list_roles()["Roles"]] == [ROLE]
    assert iam.list_role_policies(RoleName=ROLE)["PolicyNames"] == [POLICY]
    profiles = iam.list_instance_profiles()["InstanceProfiles"]
    assert [(p["InstanceProfileName"], [r["RoleName"] for r in p["Roles"]]) for p in profiles] == [
        (PROFILE, [ROLE])
    ]
    reservations = ec2.describe_instances(
        Filters=[
            {"Name": "tag:Name", "Values": [INSTANCE]},
            {"Name": "instance-state-name", "Values": LIVE_STATES},
        ]
    )["Reservations"]
    instances = [instance for reservation in reservations for instance in reservation["Instances"]]
    assert len(instances) == 1, [
        (instance["InstanceId"], instance.get("ClientToken")) for instance in instances
    ]
    assert instances[0]["IamInstanceProfile"]["Arn"] == profiles[0]["Arn"]


def assert_rerun_changes_nothing(run_playbook: PlaybookRunner) -> None:
    finished = run_playbook(PLAYBOOK)
    assert finished.rc == 0, finished
    recap = play_recap(finished.stdout)["localhost"]
    assert (recap["changed"], recap["failed"]) == (0, 0), finished


def faults_since(endpoint: str, before: dict[str, int]) -> Counter[str]:
    """The faults the server injected since ``before`` (its counters run across tests)."""
    return Counter(awscalls.bad_day(endpoint)["faults"]) - Counter(before)


@pytest.fixture
def faults_before(aws: Service) -> dict[str, int]:
    return dict(awscalls.bad_day(aws.url)["faults"])


# Every 5th call starts two throttled answers (one call's first send and its retry), every 7th is a
# 5xx: about half the calls of a run fail. throttle=3 (two thirds) took minutes of backoff.
@pytest.mark.bad_day("throttle=5,throttle-burst=2,server-error=7")
def test_a_throttling_storm_converges_once(
    aws: Service, run_playbook: PlaybookRunner, faults_before: dict[str, int]
) -> None:
    finished = run_playbook(PLAYBOOK)
    assert finished.rc == 0, finished
    injected = faults_since(aws.url, faults_before)
    assert_one_of_each(aws.url)
    assert_rerun_changes_nothing(run_playbook)
    assert injected["throttle"] >= 8, injected
    assert injected["server-error"] >= 3, injected


@pytest.mark.bad_day(f"lost-response=2,lost-operations={'+'.join(CREATES)}")
def test_lost_create_answers_create_each_resource_once(
    aws: Service, run_playbook: PlaybookRunner, faults_before: dict[str, int]
) -> None:
    finished = run_playbook(PLAYBOOK)
    assert finished.rc == 0, finished
    lost = [
        call["operation"] for call in awscalls.fetch_calls(aws.url) if call.get("fault") == "lost-response"
    ]
    assert_one_of_each(aws.url)
    assert_rerun_changes_nothing(run_playbook)
    # Each create was carried out and its answer dropped the first time it was sent.
    assert sorted(lost) == sorted(CREATES)
    assert faults_since(aws.url, faults_before)["lost-response"] == len(CREATES)


@pytest.mark.bad_day("realistic")
def test_two_runs_at_once_converge_to_one_of_each(
    aws: Service, run_playbook: PlaybookRunner, faults_before: dict[str, int]
) -> None:
    results: list[Finished] = []

    def one_run() -> None:
        results.append(run_playbook(PLAYBOOK))

    threads = [threading.Thread(target=one_run) for _run in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert [finished.rc for finished in results] == [0, 0], "\n".join(map(str, results))
    injected = faults_since(aws.url, faults_before)
    assert_one_of_each(aws.url)
    assert_rerun_changes_nothing(run_playbook)
    # The realistic profile's windows were met: a fresh role or profile not yet visible, a pending
    # instance.
    assert injected["iam-not-yet-visible"] >= 1, injected
    assert injected["ec2-pending"] >= 1, injected


def wait_for_call(endpoint: str, operation: str, process: subprocess.Popen[bytes], timeout: float) -> None:
    """Until the server has answered ``operation`` (the recorder logs a call once answered)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if any(call["operation"] == operation for call in awscalls.fetch_calls(endpoint)):
            return
        if process.poll() is not None:
            raise AssertionError(f"ansible-playbook ended (rc={process.returncode}) before {operation}")
        time.sleep(0.05)
    raise AssertionError(f"no {operation} within {timeout:.0f} s")


@pytest.mark.bad_day("realistic")
def test_a_run_interrupted_with_ctrl_c_converges_when_run_again(
    aws: Service, run_playbook: PlaybookRunner, faults_before: dict[str, int]
) -> None:
    command = run_playbook.command(PLAYBOOK)
    # Ctrl-C in a terminal: SIGINT to the foreground process group (ansible-playbook, its forked
    # workers and the modules they run).
    output = command.cwd / "interrupted.log"
    with output.open("wb") as log:
        process = subprocess.Popen(
            command.argv,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            env=command.env,
            cwd=command.cwd,
            start_new_session=True,
        )
    try:
        # The instance is launched and still pending: the task waits for it when interrupted.
        wait_for_call(aws.url, "RunInstances", process, timeout=60)
        os.killpg(process.pid, signal.SIGINT)
        interrupted_rc = process.wait(timeout=30)
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait()
    # ansible-playbook's answer to KeyboardInterrupt ("User interrupted execution"), not an ending.
    assert interrupted_rc == 99, output.read_text()
    finished = run_playbook(PLAYBOOK)
    assert finished.rc == 0, finished
    assert_one_of_each(aws.url)
    assert_rerun_changes_nothing(run_playbook)
    assert faults_since(aws.url, faults_before)["ec2-pending"] >= 1
