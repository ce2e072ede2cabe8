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

The demo ends with a verdict that repeats the evidence: verify_s3.yml writes what it proved to a
JSON file on the controller (``keyless_evidence_file``: the caller's ARN, the round trip's sizes
and checksums, each denied call's error code, the metadata service's answer without a token; no
secret), and the verdict fails, naming what is missing, when a run left no such file.
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from lab import SSH_SETTINGS
from recap import play_recap

from sandbox import REPO, Sandbox

PLAYBOOKS = REPO / "playbooks"


def run_playbook(
    sandbox: Sandbox,
    playbook: str,
    vars_file: Path,
    verbosity: int,
    echo: bool = True,
    extra: dict[str, str] | None = None,
) -> tuple[int, str]:
    """Run one playbook (printing its output as it comes when ``echo``); returns (rc, output)."""
    command = [str(Path(sandbox.python).parent / "ansible-playbook"), "-e", f"@{vars_file}"]
    command += ["-e", json.dumps(extra)] * bool(extra)
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


# The verdict: what verify_s3.yml proved, read from the evidence file it writes on the controller
# when keyless_evidence_file is set (playbooks/verify_s3.yml, last two tasks).

SHA256 = re.compile(r"[0-9a-f]{64}")


class EvidenceError(Exception):
    """The evidence file is missing, unreadable, or does not show what the verdict repeats."""


def _field(evidence: dict[str, Any], *path: str) -> Any:
    """``evidence[a][b]...``, or None where a level is missing or is not a mapping."""
    value: Any = evidence
    for key in path:
        value = value.get(key) if isinstance(value, dict) else None
    return value


def _is_copy(copy: Any) -> bool:
    """``{"bytes": N, "sha256": HEX}`` with N > 0, as verify_s3.yml writes a file's stat."""
    return (
        isinstance(copy, dict)
        and isinstance(copy.get("bytes"), int)
        and copy["bytes"] > 0
        and SHA256.fullmatch(str(copy.get("sha256"))) is not None
    )


def evidence_problems(evidence: dict[str, Any]) -> list[str]:
    """What one host's evidence fails to show; empty when it shows all the verdict repeats."""
    problems = []
    role, instance = _field(evidence, "role"), _field(evidence, "instance_id")
    arn = _field(evidence, "identity_arn") or ""
    expected = rf"arn:aws[a-z-]*:sts::\d{{12}}:assumed-role/{re.escape(str(role))}/{re.escape(str(instance))}"
    if not (role and instance and re.fullmatch(expected, arn)):
        problems.append(f"identity {arn or '(none)'} is not assumed-role/{role}/{instance}")
    uploaded, downloaded = (_field(evidence, "round_trip", side) for side in ("uploaded", "downloaded"))
    if not (_is_copy(uploaded) and _is_copy(downloaded)):
        problems.append("round trip: no size and sha256 of the uploaded and the downloaded file")
    elif uploaded != downloaded:
        problems.append(f"round trip: uploaded {uploaded}, downloaded {downloaded}")
    probes = _field(evidence, "probes")
    if not isinstance(probes, dict) or "denied" not in probes.values():
        problems.append("no call the policy does not grant was seen denied")
    else:
        problems += [
            f"{name}: {outcome}, not denied"
            for name, outcome in probes.items()
            if outcome not in ("denied", "inconclusive")
        ]
    status = _field(evidence, "imds", "tokenless_status")
    if _field(evidence, "imds", "imdsv2_expected") is not False and status != 401:
        problems.append(f"IMDSv2: a metadata read without a token answered {status}, not 401")
    return problems


def read_evidence(path: Path) -> dict[str, dict[str, Any]]:
    """``{host: evidence}`` from the file verify_s3.yml wrote; EvidenceError says what is wrong."""
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError:
        raise EvidenceError(f"no evidence: verify_s3.yml did not write {path}") from None
    except (OSError, ValueError) as error:
        raise EvidenceError(f"unreadable evidence in {path}: {error}") from None
    hosts = data.get("hosts") if isinstance(data, dict) else None
    if not isinstance(hosts, dict) or not hosts or not all(isinstance(e, dict) for e in hosts.values()):
        raise EvidenceError(f"no host's evidence in {path}")
    problems = [
        f"{host}: {problem}" for host, evidence in hosts.items() for problem in evidence_problems(evidence)
    ]
    if problems:
        raise EvidenceError(f"the evidence in {path} does not show it all: " + "; ".join(problems))
    return hosts


def host_lines(host: str, evidence: dict[str, Any]) -> list[str]:
    """The verdict's lines for one host whose evidence passed evidence_problems."""
    trip, imds, credentials = evidence["round_trip"], evidence["imds"], evidence.get("credentials", {})
    codes = evidence.get("probe_codes", {})
    lines = [
        f"  {host}",
        f"    identity    {evidence['identity_arn']}",
        f"                (temporary credentials of role {credentials.get('imds_role', evidence['role'])}"
        f" from the instance metadata service, expiring {credentials.get('expiration') or '?'})",
        f"    round trip  {trip.get('object', '?')} (encryption: {trip.get('encryption', '?')})",
    ]
    for side in ("uploaded", "downloaded"):
        copy = trip[side]
        lines.append(f"                {side:<10} {copy['bytes']:>6} bytes  sha256 {copy['sha256']}")
    lines.append("                identical")
    for index, (name, outcome) in enumerate(evidence["probes"].items()):
        code = codes.get(name) or "no error code in the answer"
        answer = code if outcome == "denied" else f"inconclusive ({code}: not found, nothing learnt)"
        lines.append(f"    {'denied' if index == 0 else '':<11} {name} \u2192 {answer}")
    status = imds["tokenless_status"]
    if status == 401:
        lines.append("    IMDSv2      token required: a metadata read without a token answered 401")
    else:
        lines.append(f"    IMDSv2      not checked: not required by this run's settings (answered {status})")
    return lines


def verdict(evidence_files: dict[str, Path], timings: dict[str, float]) -> tuple[int, list[str]]:
    """(exit status, lines): the evidence of each site.yml run named, then the step times.

    ``evidence_files`` maps a run's label to the file it was told to write; the first run's
    evidence is shown whole, a later one must exist and show the same identity.
    """
    lines: list[str] = []
    failures: list[str] = []
    shown: dict[str, dict[str, Any]] | None = None
    for label, path in evidence_files.items():
        try:
            hosts = read_evidence(path)
        except EvidenceError as error:
            failures.append(f"{label}: {error}")
            continue
        if shown is None:
            shown = hosts
            lines.append(f"What {label} proved on the instance:")
            for host, evidence in hosts.items():
                lines += host_lines(host, evidence)
        else:
            arns = {host: evidence["identity_arn"] for host, evidence in hosts.items()}
            if arns != {host: evidence["identity_arn"] for host, evidence in shown.items()}:
                failures.append(f"{label}: another identity than the first run's: {arns}")
                continue
            for host, evidence in hosts.items():
                denied = list(evidence["probes"].values()).count("denied")
                size = evidence["round_trip"]["uploaded"]["bytes"]
                lines.append(
                    f"{label}: {host} verified again: same identity, a new {size}-byte round trip"
                    f" identical, {denied} calls denied"
                )
    lines.append("Step times:")
    lines += [f"  {label:<16} {seconds:6.1f} s" for label, seconds in timings.items()]
    lines.append(f"  {'total':<16} {sum(timings.values()):6.1f} s")
    lines += [f"FAILED: {failure}" for failure in failures]
    if not evidence_files:
        lines.append("FAILED: no evidence file was asked for")
    if failures or not evidence_files:
        return 1, lines
    lines.append("PASSED: the instance used only its role's temporary credentials; nothing is left")
    return 0, lines


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
        evidence_files: dict[str, Path] = {}
        for label, playbook, must_not_change in (
            ("site.yml: provision, install the AWS CLI, verify S3 access", "site.yml", False),
            ("site.yml again: nothing may change", "site.yml", True),
            ("teardown.yml: remove everything", "teardown.yml", False),
        ):
            started = step(label)
            run = label.split(":", maxsplit=1)[0]
            extra = None
            if playbook == "site.yml":
                evidence_files[run] = root / f"evidence-{len(evidence_files) + 1}.json"
                extra = {"keyless_evidence_file": str(evidence_files[run])}
            rc, output = run_playbook(sandbox, playbook, vars_file, int(verbose), extra=extra)
            timings[run] = time.monotonic() - started
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
        # Read before the sandbox directory goes (a temporary one is removed after the demo).
        status, lines = verdict(evidence_files, timings)
    step("Verdict")
    print("\n".join(lines))
    return status


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
