"""What SSH pipelining and ControlPersist are worth on the lab instance (sandbox/lab.py).

Run: ``python bench/lab_ssh.py [--reps 1] [--settings pipelining,persist,plain]`` from the
project's venv, as root (the lab's needs). For each SSH setting of the lab's ansible.cfg
(``lab.SSH_SETTINGS``: pipelining with ControlPersist, as a user's ansible.cfg would have;
ControlPersist only; neither), on a fresh sandbox and lab instance each time, it times the
flow's steps: ``site.yml`` (which installs the AWS CLI with apt), ``site.yml`` again (no
change: the instance side is ~40 verification tasks, each a round trip), ``teardown.yml``;
and counts the tasks that ran on the instance. Prints a table; ``--out FILE`` keeps the JSON.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "sandbox"))

from demo import run_playbook  # noqa: E402
from lab import SSH_SETTINGS  # noqa: E402
from recap import play_recap  # noqa: E402

from sandbox import Sandbox  # noqa: E402

STEPS = (("site.yml", "site.yml"), ("site.yml again", "site.yml"), ("teardown.yml", "teardown.yml"))
LABELS = tuple(label for label, playbook in STEPS)


def measure(ssh: str) -> dict[str, float | int]:
    """One sandbox and lab instance with this SSH setting: each step's seconds, instance tasks."""
    row: dict[str, float | int] = {}
    with (
        tempfile.TemporaryDirectory(prefix="keyless-bench-lab-") as tmp,
        Sandbox(Path(tmp), lab=True, ssh=ssh) as sandbox,
    ):
        vars_file = Path(tmp) / "vars.json"
        vars_file.write_text(json.dumps(sandbox.extra_vars()))
        for label, playbook in STEPS:
            started = time.monotonic()
            rc, output = run_playbook(sandbox, playbook, vars_file, 0, echo=False)
            row[label] = round(time.monotonic() - started, 1)
            if rc != 0:
                raise SystemExit(f"{playbook} failed with ssh={ssh}:\n{output[-3000:]}")
            instance = play_recap(output).get(sandbox.instance_name)
            if instance is not None:
                row[f"{label}: instance tasks"] = instance["ok"] + instance["changed"] + instance["failed"]
    return row


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--reps", type=int, default=1)
    parser.add_argument("--settings", default=",".join(SSH_SETTINGS), help="comma-separated lab.SSH_SETTINGS")
    parser.add_argument("--out", type=Path, help="also write the rows as JSON here")
    args = parser.parse_args(argv)
    rows = []
    for rep in range(args.reps):
        for ssh in args.settings.split(","):
            row = {"ssh": ssh, "rep": rep + 1, **measure(ssh)}
            rows.append(row)
            print(json.dumps(row), flush=True)
    print(f"\n{'ssh':<11} {'rep':>3} " + " ".join(f"{label:>15}" for label in LABELS))
    for row in rows:
        print(f"{row['ssh']:<11} {row['rep']:>3} " + " ".join(f"{row[label]:>13.1f} s" for label in LABELS))
    if args.out:
        args.out.write_text(json.dumps(rows, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
