"""playbooks/controller_policy.yml renders the controller's policy for the keyless_* names, offline."""

from __future__ import annotations

import json
from pathlib import Path

import awscalls
from harness import REPO, PlaybookRunner

from ansible_collections.keyless.aws.plugins.filter.controller_policy import controller_policy

PLAYBOOK = REPO / "playbooks" / "controller_policy.yml"


def test_it_writes_the_policy_for_the_names_given(run_playbook: PlaybookRunner, tmp_path: Path) -> None:
    awscalls.reset_calls(run_playbook.endpoint)
    target = tmp_path / "controller-policy.json"
    names = {"keyless_role_name": "app-role", "keyless_profile_name": "app-profile"}
    finished = run_playbook(PLAYBOOK, {**names, "keyless_account_id": "111122223333",
                                       "keyless_region": "eu-west-1",
                                       "keyless_controller_policy_file": str(target)})
    assert finished.rc == 0, finished.stdout[-3000:]
    written = json.loads(target.read_text())
    assert written == controller_policy("app-role", "111122223333", "eu-west-1", profile_name="app-profile")
    assert written["Statement"][0]["Resource"] == "arn:aws:iam::111122223333:role/app-role"
    assert awscalls.fetch_calls(run_playbook.endpoint) == []  # rendering makes no AWS call


def test_without_an_account_id_it_says_what_is_missing(run_playbook: PlaybookRunner, tmp_path: Path) -> None:
    finished = run_playbook(PLAYBOOK, {"keyless_region": "eu-west-1"})
    assert finished.rc != 0
    assert "keyless_account_id (the 12-digit id of the account the flow runs in)" in finished.stdout
