"""verify_s3.yml's least-privilege probes (playbooks/tasks/denial_probes.yml) read through a fake AWS CLI.

Only AWS gives some of these answers: S3 says NoSuchBucket before it looks at permissions,
while moto checks permissions first and says AccessDenied. So the AWS CLI here is a script
that answers each probe the way the test says, and the task file runs as in verify_s3.yml.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import launcher
import pytest
import yaml
from harness import ANSIBLE_PLAYBOOK, PLAYBOOK_TIMEOUT, REPO, playbook_env

TASKS = REPO / "playbooks" / "tasks" / "denial_probes.yml"
DENIED = (254, "\nAn error occurred (AccessDenied) when calling the ListObjectsV2 operation: Access Denied\n")
NO_SUCH_BUCKET = (
    254,
    "\nAn error occurred (NoSuchBucket) when calling the PutObject operation: "
    "The specified bucket does not exist\n",
)
ALLOWED = (0, "")
UNREACHABLE = (255, '\nCould not connect to the endpoint URL: "https://s3.us-east-1.amazonaws.com/"\n')
PROBES = {"list the bucket": ["s3api", "list-objects-v2"], "write elsewhere": ["s3api", "put-object"]}

FAKE_AWS = """\
#!{python}
import json, sys
answers = json.load(open({answers!r}))
rc, stderr = answers[" ".join(sys.argv[1:3])]
sys.stderr.write(stderr)
sys.exit(rc)
"""


def probe(tmp_path: Path, answers: dict[str, tuple[int, str]]) -> launcher.Finished:
    """Runs the task file with a fake ``aws`` that answers each probe's ``argv`` as given."""
    answers_file = tmp_path / "answers.json"
    answers_file.write_text(json.dumps({" ".join(PROBES[name]): answer for name, answer in answers.items()}))
    fake_aws = tmp_path / "aws"
    fake_aws.write_text(FAKE_AWS.format(python=sys.executable, answers=str(answers_file)))
    fake_aws.chmod(0o755)
    playbook = tmp_path / "probe.yml"
    playbook.write_text(
        yaml.safe_dump(
            [
                {
                    "name": "Probes",
                    "hosts": "localhost",
                    "connection": "local",
                    "gather_facts": False,
                    "vars": {
                        "ansible_python_interpreter": sys.executable,
                        "verify_aws": str(fake_aws),
                        "verify_probe_calls": [{"name": name, "argv": PROBES[name]} for name in answers],
                    },
                    "tasks": [
                        {"name": "The probes", "ansible.builtin.include_tasks": str(TASKS)},
                        {
                            "name": "Outcomes",
                            "ansible.builtin.debug": {
                                "msg": "outcomes={{ verify_probe_outcomes | to_json }}"
                            },
                        },
                    ],
                }
            ]
        )
    )
    return launcher.run(
        [str(ANSIBLE_PLAYBOOK), str(playbook)], playbook_env(tmp_path), tmp_path, PLAYBOOK_TIMEOUT
    )


def outcomes(finished: launcher.Finished) -> dict[str, str]:
    line = next(line for line in finished.stdout.splitlines() if '"msg": "outcomes=' in line)
    return json.loads(json.loads("{" + line.strip() + "}")["msg"].removeprefix("outcomes="))


def test_denials_pass(tmp_path: Path) -> None:
    finished = probe(tmp_path, {"list the bucket": DENIED, "write elsewhere": DENIED})
    assert finished.rc == 0, str(finished)
    assert outcomes(finished) == {"list the bucket": "denied", "write elsewhere": "denied"}
    assert "inconclusive:" not in finished.stdout


def test_a_no_such_bucket_answer_is_reported_inconclusive_not_passed_or_failed(tmp_path: Path) -> None:
    finished = probe(tmp_path, {"list the bucket": DENIED, "write elsewhere": NO_SUCH_BUCKET})
    assert finished.rc == 0, str(finished)
    assert outcomes(finished) == {"list the bucket": "denied", "write elsewhere": "inconclusive"}
    reported = (
        "inconclusive: write elsewhere answered that the resource does not exist: "
        "An error occurred (NoSuchBucket)"
    )
    assert reported in finished.stdout


@pytest.mark.parametrize(
    ("answer", "message"),
    [
        (ALLOWED, "write elsewhere was allowed: the role is broader than asked"),
        (
            UNREACHABLE,
            "write elsewhere failed for another reason than a denial: Could not connect to the endpoint",
        ),
    ],
    ids=["allowed", "other-error"],
)
def test_an_allowed_probe_or_another_error_fails_naming_it(
    tmp_path: Path, answer: tuple[int, str], message: str
) -> None:
    finished = probe(tmp_path, {"list the bucket": DENIED, "write elsewhere": answer})
    assert finished.rc != 0
    assert message in finished.stdout
