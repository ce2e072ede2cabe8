"""The whole keyless flow on the local sandbox, end to end (``make demo``).

1. start the sandbox (moto as AWS, the metadata service emulator) on 127.0.0.1;
2. run playbooks/site.yml: role + trust policy, inline policy, instance profile, launch,
   AWS CLI on the instance, S3 verification with the instance's temporary credentials;
3. run it again: everything must be ``ok`` (no change);
4. run playbooks/teardown.yml and check that no role, profile or instance is left;
5. stop the sandbox, whatever happened.

With ``--lab`` (``make demo-lab``) the instance is the lab instance (lab.py): a Debian userland
reached over SSH as its non-root login user, the AWS CLI installed with apt and ``become``.
The lab's image is built once (about a minute) and cached.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from lab import SSH_SETTINGS
from recap import play_recap

from sandbox import REPO, Sandbox

PLAYBOOKS = REPO / "playbooks"


def run_playbook(
    sandbox: Sandbox, playbook: str, vars_file: Path, verbosity: int, echo: bool = True
) -> tuple[int, str]:
    """Run one playbook (printing its output as it comes when ``echo``); returns (rc, output)."""
    command = [str(Path(sandbox.python).parent / "ansible-playbook"), "-e", f"@{vars_file}"]
    command += [f"-{'v' * verbosity}"] * bool(verbosity) + [str(PLAYBOOKS / playbook)]
    process = subprocess.Popen(
        command,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        env=sandbox.controller_environment(),
        cwd=REPO,
        text=True,
    )
    lines = []
    assert process.stdout is not None
    for line in process.stdout:
        lines.append(line)
        if echo:
            print(line, end="", flush=True)
    return process.wait(), "".join(lines)


def step(title: str) -> float:
    print(f"\n\033[1m==> {title}\033[0m", flush=True)
    return time.monotonic()


def describe_lab(sandbox: Sandbox, timings: dict[str, float]) -> None:
    """How the playbooks reach the lab instance, and what its image was."""
    lab = sandbox.instance
    assert lab is not None and lab.image is not None
    print(f"lab image: {lab.image} ({'built now' if lab.built else 'cached'})")
    print(
        f"instance: ssh -i {lab.key} -p {lab.port} {lab.host_vars()['ansible_user']}@127.0.0.1"
        f" (host key checked against {lab.known_hosts}); ansible.cfg: {sandbox.ansible_cfg}"
    )
    if lab.built:
        timings["lab image build"] = lab.build_seconds


def show_lab_cli(sandbox: Sandbox) -> None:
    """What the first run left on the lab instance, read over SSH as its login user."""
    assert sandbox.instance is not None
    shown = sandbox.instance.ssh(
        'echo "login user: $(id -un) (uid $(id -u)), sudo for root: $(sudo -n id -un)";'
        ' echo "AWS CLI: $(command -v aws), owned by $(stat -c %U "$(command -v aws)"),'
        ' $(aws --version)";'
        " dpkg-query -W -f 'apt package: ${Package} ${Version} (${Status})\n' awscli 2>/dev/null || true"
    )
    print("\nOn the lab instance, over SSH as the playbooks' login user (apt ran as root: through become):")
    for line in (shown.stdout + shown.stderr).splitlines():
        print(f"  {line}")


def run_demo(
    root: Path, verbose: bool, bad_day: str = "off", lab: bool = False, ssh: str = "pipelining"
) -> int:
    timings: dict[str, float] = {}
    where = "the lab instance over SSH" if lab else "a local instance"
    started = step(f"Starting the sandbox (moto as AWS, metadata service emulator) on 127.0.0.1, {where}")
    with Sandbox(root, bad_day=bad_day, lab=lab, ssh=ssh) as sandbox:
        imds = sandbox.imds.url if sandbox.imds else "-"
        print(f"AWS endpoint: {sandbox.endpoint}   metadata service: {imds}   bad day: {bad_day}")
        if lab:
            describe_lab(sandbox, timings)
        vars_file = root / "sandbox-vars.json"
        vars_file.write_text(json.dumps(sandbox.extra_vars(), indent=2))
        timings["sandbox start"] = time.monotonic() - started - timings.get("lab image build", 0.0)
        for label, playbook, must_not_change in (
            ("site.yml: provision, install the AWS CLI, verify S3 access", "site.yml", False),
            ("site.yml again: nothing may change", "site.yml", True),
            ("teardown.yml: remove everything", "teardown.yml", False),
        ):
            started = step(label)
            rc, output = run_playbook(sandbox, playbook, vars_file, int(verbose))
            timings[label.split(":", maxsplit=1)[0]] = time.monotonic() - started
            if rc != 0:
                print(f"\nFAILED: {playbook} exited with {rc}")
                return rc
            changed = {
                host: counts["changed"] for host, counts in play_recap(output).items() if counts["changed"]
            }
            if must_not_change and changed:
                print(f"\nFAILED: the second run changed something: {changed}")
                return 1
            if lab and playbook == "site.yml" and not must_not_change:
                show_lab_cli(sandbox)
        left = sandbox.leftovers()
        if any(left.values()):
            print(f"\nFAILED: teardown left {left}")
            return 1
    step("Done: the instance used only its role's temporary credentials; nothing is left")
    for label, seconds in timings.items():
        print(f"  {label:<16} {seconds:6.1f} s")
    print(f"  {'total':<16} {sum(timings.values()):6.1f} s")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--dir", type=Path, help="sandbox directory (default: a new temporary one)")
    parser.add_argument("-v", "--verbose", action="store_true", help="ansible-playbook -v")
    parser.add_argument(
        "--bad-day",
        default="off",
        help="AWS on a bad day (sandbox/bad_day.py): off (default), realistic, or name=value items",
    )
    parser.add_argument(
        "--lab", action="store_true", help="the instance is the lab instance over SSH (lab.py)"
    )
    parser.add_argument(
        "--ssh",
        choices=sorted(SSH_SETTINGS),
        default="pipelining",
        help="the lab's SSH settings in ansible.cfg (default: pipelining, with ControlPersist)",
    )
    args = parser.parse_args(argv)
    if args.dir:
        args.dir.mkdir(parents=True, exist_ok=True)
        return run_demo(args.dir.resolve(), args.verbose, args.bad_day, args.lab, args.ssh)
    with tempfile.TemporaryDirectory(prefix="keyless-sandbox-") as tmp:
        return run_demo(Path(tmp), args.verbose, args.bad_day, args.lab, args.ssh)


if __name__ == "__main__":
    sys.exit(main())
