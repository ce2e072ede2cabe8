"""Read ansible-playbook's PLAY RECAP (stdlib only): the demo, the tests and the bench use it."""

from __future__ import annotations

import re

_RECAP_LINE = re.compile(r"^(\S+)\s+:\s+((?:\w+=\d+\s*)+)$")


def play_recap(stdout: str) -> dict[str, dict[str, int]]:
    """``{host: {"ok": 1, "changed": 0, "failed": 0, ...}}`` from the last PLAY RECAP block."""
    _unused, found, recap = stdout.rpartition("PLAY RECAP")
    hosts: dict[str, dict[str, int]] = {}
    for line in recap.splitlines() if found else []:
        match = _RECAP_LINE.match(line.strip())
        if match:
            counts = (pair.split("=") for pair in match.group(2).split())
            hosts[match.group(1)] = {name: int(value) for name, value in counts}
    return hosts
