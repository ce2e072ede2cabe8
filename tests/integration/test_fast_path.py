"""The controller-side fast path: taken when it should be, and indistinguishable from the module."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import aws_state
import awscalls
import pytest
from harness import SECRET_KEY, execution_path_env
from launcher import Finished
from recap import play_recap
from steps import run_steps

PLAYBOOKS = Path(__file__).parent / "playbooks"
TRIPLE = PLAYBOOKS / "triple.yml"
CASES = PLAYBOOKS / "fast_path_cases.yml"
# Values AWS makes up on every create; everything else must match between the two paths.
TRUST_EC2 = {
    "Version": "2012-10-17",
    "Statement": [
        {"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}
    ],
}
# The three modules of triple.yml, each run as a module (AnsiballZ wrapper) on the module path.
MODULE_WRAPPERS = [
    "AnsiballZ_iam_instance_profile.py",
    "AnsiballZ_iam_role.py",
    "AnsiballZ_iam_role_policy.py",
]
VOLATILE = re.compile(r'"(create_date|role_id|instance_profile_id)": "[^"]*"')


def kept_wrappers(run_playbook, tmp_path: Path, name: str, **kwargs) -> tuple[Finished, list[str]]:
    """Run the triple keeping the files modules leave behind; the names of those for keyless.aws."""
    remote_tmp = tmp_path / f"remote-tmp-{name}"
    remote_tmp.mkdir()
    env = {"ANSIBLE_KEEP_REMOTE_FILES": "1", "ANSIBLE_REMOTE_TEMP": str(remote_tmp), **kwargs.pop("env", {})}
    result = run_playbook(TRIPLE, env=env, **kwargs)
    return result, sorted(path.name for path in remote_tmp.rglob("AnsiballZ_*") if "iam_" in path.name)


def module_wrappers(run_playbook, tmp_path: Path, name: str, **kwargs) -> list[str]:
    result, wrappers = kept_wrappers(run_playbook, tmp_path, name, **kwargs)
    assert result.rc == 0, result
    assert play_recap(result.stdout)["localhost"]["failed"] == 0
    return wrappers


def test_fast_path_starts_no_module_process(run_playbook, aws, tmp_path):
    assert module_wrappers(run_playbook, tmp_path, "fast", env=execution_path_env("fast")) == []
    wrappers = module_wrappers(run_playbook, tmp_path, "module", env=execution_path_env("module"))
    assert wrappers == MODULE_WRAPPERS


def test_the_variable_switches_the_fast_path_off(run_playbook, aws, tmp_path):
    wrappers = module_wrappers(run_playbook, tmp_path, "var", extra_vars={"keyless_aws_fast_path": False})
    assert wrappers == MODULE_WRAPPERS


def test_another_python_gets_the_module(run_playbook, aws, tmp_path):
    """Another interpreter than the controller's venv: the module runs there, with what it has."""
    other = tmp_path / "bin" / "python3"
    other.parent.mkdir()
    other.symlink_to(Path(sys.executable).resolve())  # the same binary, started outside the venv
    result, wrappers = kept_wrappers(
        run_playbook, tmp_path, "other", extra_vars={"ansible_python_interpreter": str(other)}
    )
    # Whether that interpreter has boto3 depends on the machine: asked first, then each outcome
    # is checked exactly (the triple converged, or each module said what is missing).
    asked = subprocess.run([str(other), "-c", "import boto3"], capture_output=True, check=False)
    has_boto3 = asked.returncode == 0
    if has_boto3:
        assert result.rc == 0, result
        assert wrappers == MODULE_WRAPPERS
        assert play_recap(result.stdout)["localhost"]["changed"] == 3
    else:
        assert result.rc == 2, result
        assert wrappers == ["AnsiballZ_iam_role.py"]  # the play stops at its first failure
        missing = "boto3 and botocore are required on the host that runs this module (pip install boto3)"
        assert missing in result.stdout, result


def run_cases(run_playbook, aws, tmp_path: Path, path: str) -> dict:
    """The results of fast_path_cases.yml on one path, and, under "steps", each task's calls."""
    awscalls.reset_all(aws.url)
    results_file = tmp_path / f"{path}.json"
    steps = run_steps(
        run_playbook,
        aws,
        tmp_path,
        CASES,
        extra_vars={"results_file": str(results_file)},
        env=execution_path_env(path),
    )
    assert steps.result.rc == 0, steps.result
    assert SECRET_KEY not in steps.result.stdout + steps.result.stderr
    text = results_file.read_text()
    assert SECRET_KEY not in text
    return {**json.loads(VOLATILE.sub(r'"\1": "-"', text)), "steps": steps}


@pytest.fixture
def both(run_playbook, aws, tmp_path) -> tuple[dict, dict]:
    return run_cases(run_playbook, aws, tmp_path, "fast"), run_cases(run_playbook, aws, tmp_path, "module")


def test_both_paths_give_identical_results(both):
    fast, module = ({name: value for name, value in results.items() if name != "steps"} for results in both)
    # ansible-core 2.19+ deprecates the module's exit_json(warnings=...), on the module path only.
    module["module_warning"].pop("deprecations", None)
    assert fast == module


def test_the_cases_show_what_they_claim(both, aws):
    fast = both[0]
    for path, results in zip(("fast", "module"), both, strict=True):
        steps = results["steps"]
        assert steps.check_mode() == {
            "A warning from the module in check mode": [],
            "A change previewed with check and diff mode": [],
        }, path
        # The one apply, read back from the server: what the task asked, its secret included.
        role = aws_state.new_role(
            TRUST_EC2, description=f"created with {SECRET_KEY}", tags={"origin": "environment"}
        )
        expected = {"roles": {"fast-path-role": role}, "profiles": {}, "instances": {}}
        assert steps.changed() == [
            "Credentials, region and endpoint come only from the task environment",
            "A warning from the module in check mode",
            "A change previewed with check and diff mode",
            "Write every result for the test to compare",
        ], path
        assert (
            steps.state_after("Credentials, region and endpoint come only from the task environment")
            == expected
        )
    # The module path ran last: the failed attach and the check-mode tasks left the role as it was.
    assert aws_state.world(aws.url) == expected
    assert fast["from_environment"]["changed"] is True
    assert fast["from_environment"]["role"]["description"] == "created with ********"
    assert [role["role_name"] for role in fast["from_defaults"]["roles"]] == ["fast-path-role"]
    assert fast["alias_warning"]["warnings"] == ["Both option name and its alias role_name are set."]
    assert fast["unknown_option"]["msg"].startswith(
        "Unsupported parameters for (keyless.aws.iam_role_info) module: colour."
    )
    assert fast["mutually_exclusive"]["msg"] == "parameters are mutually exclusive: name|path_prefix"
    assert fast["wrong_type"]["msg"].startswith("argument 'max_session_duration' is of type str")
    assert fast["bad_choice"]["msg"] == "value of state must be one of: present, absent, got: gone"
    assert fast["module_warning"]["warnings"] == [
        "role not-created-yet does not exist yet; assuming an earlier task creates it"
    ]
    assert fast["check_diff"]["changed"] is True
    assert fast["check_diff"]["diff"]["after"]["tags"] == {"origin": "check"}
    assert (fast["aws_error"]["error_code"], fast["aws_error"]["operation"]) == (
        "NoSuchEntity",
        "AttachRolePolicy",
    )
